"""Weight names between PaddleNLP's ERNIE encoder and Hugging Face's BERT.

ERNIE 3.0's encoder (and e5-small, loaded as ERNIE layers) is BERT's post-LN
encoder, so a trained model can run in PyTorch on a machine that has no Paddle
build (the lent GPU machines) and come back. Paddle's Linear stores [in, out] and
torch's [out, in]: layer matrices are transposed both ways; embeddings are not.
Pooler and classifier heads differ per model and are left to the callers.
"""

from __future__ import annotations

import numpy as np

EMBEDDINGS = {
    "word_embeddings.weight": "word_embeddings.weight",
    "position_embeddings.weight": "position_embeddings.weight",
    "token_type_embeddings.weight": "token_type_embeddings.weight",
    "layer_norm.weight": "LayerNorm.weight",
    "layer_norm.bias": "LayerNorm.bias",
}
LAYER = {
    "self_attn.q_proj": "attention.self.query",
    "self_attn.k_proj": "attention.self.key",
    "self_attn.v_proj": "attention.self.value",
    "self_attn.out_proj": "attention.output.dense",
    "linear1": "intermediate.dense",
    "linear2": "output.dense",
    "norm1": "attention.output.LayerNorm",
    "norm2": "output.LayerNorm",
}


def _pairs(num_layers: int) -> list[tuple[str, str, bool]]:
    """(ernie name, bert name without prefix, transpose?) for the whole encoder."""
    out = [(f"ernie.embeddings.{e}", f"embeddings.{b}", False) for e, b in EMBEDDINGS.items()]
    for i in range(num_layers):
        for e, b in LAYER.items():
            out.append((f"ernie.encoder.layers.{i}.{e}.weight", f"encoder.layer.{i}.{b}.weight", "norm" not in e))
            out.append((f"ernie.encoder.layers.{i}.{e}.bias", f"encoder.layer.{i}.{b}.bias", False))
    return out


def ernie_to_bert(sd: dict[str, np.ndarray], num_layers: int, prefix: str = "") -> dict[str, np.ndarray]:
    """Encoder weights of an ERNIE state dict under BERT names (``prefix`` e.g. "bert.")."""
    return {prefix + b: (sd[e].T if t else sd[e]) for e, b, t in _pairs(num_layers)}


def bert_to_ernie(w: dict[str, np.ndarray], num_layers: int, prefix: str = "") -> dict[str, np.ndarray]:
    """The inverse of ernie_to_bert."""
    return {e: (w[prefix + b].T if t else w[prefix + b]) for e, b, t in _pairs(num_layers)}
