"""Compatibility shims that let PaddleSlim 2.6.0's OFA (DynaBERT) run on Paddle 3.x.

PaddleSlim 2.6.0 is the newest release and is broken on the Paddle we pin (3.3.1) in
two places, both in ``paddleslim/nas/ofa/layers.py``:

1. ``SuperEmbedding.__init__`` and ``SuperLayerNorm.__init__`` pass ``sparse,
   weight_attr, name`` (resp. ``weight_attr, bias_attr, name``) positionally to
   ``paddle.nn.Embedding`` / ``paddle.nn.LayerNorm``, which take them as keyword-only
   arguments since Paddle 3.0:
   ``TypeError: Embedding.__init__() takes from 3 to 6 positional arguments but 7 were given``
   (raised from ``Convert(...).convert(model)``).
2. ``SuperLayerNorm.forward`` unpacks three values from ``paddle._C_ops.layer_norm``,
   which returns one tensor since Paddle 2.6:
   ``ValueError: too many values to unpack (expected 3)``.

``apply()`` patches those three methods on PaddleSlim's own classes (so every
reference, including the ones inside ``Convert``, sees them) and nothing else. It is
idempotent and checks the installed versions: drop this module when a PaddleSlim
release fixes both points.
"""

from __future__ import annotations

import inspect

PATCHED_FLAG = "_hiercls_compat"


def _needs_keyword_init(cls) -> bool:
    """True when ``cls.__init__`` takes ``weight_attr`` only as a keyword (Paddle >= 3)."""
    param = inspect.signature(cls.__init__).parameters.get("weight_attr")
    return param is not None and param.kind is inspect.Parameter.KEYWORD_ONLY


def _super_embedding_init(
    self,
    num_embeddings,
    embedding_dim,
    candidate_config=None,
    padding_idx=None,
    sparse=False,
    weight_attr=None,
    name=None,
):
    import paddle

    paddle.nn.Embedding.__init__(
        self, num_embeddings, embedding_dim, padding_idx, sparse=sparse, weight_attr=weight_attr, name=name
    )
    candidate_config = candidate_config or {}
    self.candidate_config = candidate_config
    self.cur_config = None
    self.expand_ratio = candidate_config.get("expand_ratio")
    self.base_output_dim = self._embedding_dim
    if self.expand_ratio is not None:
        self.base_output_dim = int(self._embedding_dim / max(self.expand_ratio))


def _super_layer_norm_init(self, normalized_shape, epsilon=1e-05, weight_attr=None, bias_attr=None, name=None):
    import paddle

    paddle.nn.LayerNorm.__init__(
        self, normalized_shape, epsilon, weight_attr=weight_attr, bias_attr=bias_attr, name=name
    )
    self.cur_config = None


def _super_layer_norm_forward(self, input):
    import paddle.nn.functional as F

    # Same semantics as PaddleSlim's: normalise the last dim over the first
    # `feature_dim` entries of weight and bias.
    feature_dim = int(input.shape[-1])
    weight = None if self.weight is None else self.weight[:feature_dim]
    bias = None if self.bias is None else self.bias[:feature_dim]
    self.cur_config = {"prune_dim": feature_dim}
    return F.layer_norm(input, [feature_dim], weight=weight, bias=bias, epsilon=self._epsilon)


def apply() -> list[str]:
    """Patch PaddleSlim's OFA layers where the installed Paddle needs it; returns what
    was patched (empty when nothing was needed or it was already done)."""
    import paddle
    from paddleslim.nas.ofa import layers

    patched: list[str] = []
    if getattr(layers, PATCHED_FLAG, False):
        return patched
    if _needs_keyword_init(paddle.nn.Embedding):
        layers.SuperEmbedding.__init__ = _super_embedding_init
        patched.append("SuperEmbedding.__init__")
    if _needs_keyword_init(paddle.nn.LayerNorm):
        layers.SuperLayerNorm.__init__ = _super_layer_norm_init
        patched.append("SuperLayerNorm.__init__")
    # _C_ops.layer_norm returns a single tensor from Paddle 2.6 on; the functional
    # API is stable across versions, so always use it.
    layers.SuperLayerNorm.forward = _super_layer_norm_forward
    patched.append("SuperLayerNorm.forward")
    setattr(layers, PATCHED_FLAG, True)
    return patched
