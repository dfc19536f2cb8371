"""Width-pruned ERNIE models: sizes, shrinking a model, and loading a pruned checkpoint.

DynaBERT keeps, in every layer, the first ``width_mult`` share of attention heads and
feed-forward neurons after they were sorted by importance. A pruned model is a plain
``ErnieForSequenceClassification`` whose attention projections and FFN are narrower:

- the FFN width is ERNIE's own ``intermediate_size``, so it lives in config.json;
- the attention width is not expressible in ERNIE's config (q/k/v are always
  hidden x hidden), so a pruned checkpoint's config.json carries a ``dynabert`` entry
  (``PRUNED_KEY``) with the kept head count, and ``load_pruned_model`` narrows the
  projections before loading the weights.

``is_checkpoint`` / ``load_checkpoint`` follow the interface of ``hiercls.modeling.encoders``,
whose ``checkpoint_module`` lets every loader of checkpoints (export, predictors,
evaluation) open a pruned one. No PaddleSlim here: loading and exporting a pruned
checkpoint needs Paddle and PaddleNLP only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from hiercls.runtime.artifacts import MODEL_CONFIG_FILE, WEIGHTS_FILE

PRUNED_KEY = "dynabert"


def parse_width_mult(text: str) -> float:
    """'3/4', '2/3', '0.5' -> a float in (0, 1]; a clear error otherwise."""
    try:
        value = float(Fraction(str(text).strip()))
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"--width_mult {text!r} is not a fraction such as 3/4, 2/3, 1/2 or 0.75") from None
    if not 0 < value <= 1:
        raise ValueError(f"--width_mult {text!r} must lie in (0, 1]")
    return value


# Widths offered when one is refused: the simple fractions PaddleNLP's documentation
# and DynaBERT's paper use, narrowest last. Any k/heads fits; these are the ones to name.
CANDIDATE_WIDTHS = tuple(
    Fraction(t) for t in ("7/8", "5/6", "3/4", "2/3", "5/8", "1/2", "3/8", "1/3", "1/4", "1/6", "1/8")
)


def width_text(width_mult: float) -> str:
    """0.6666666666666666 -> '2/3' (as the user would have typed it)."""
    f = Fraction(width_mult).limit_denominator(64)
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def keeps_whole_heads(hidden_size: int, num_heads: int, width_mult: float) -> bool:
    """True when ``width_mult`` narrows the model to whole heads. Checked the way
    PaddleSlim slices (int(width * dim) columns), so that float rounding that would
    cut a head short is refused too."""
    head_dim = hidden_size // num_heads
    heads = int(num_heads * width_mult)
    return heads >= 1 and int(hidden_size * width_mult) == heads * head_dim


def width_dir_name(width_mult: float) -> str:
    """Output folder of one width, as PaddleNLP names it (width_mult_0.75)."""
    return f"width_mult_{round(width_mult, 2)}"


@dataclass(frozen=True)
class PrunedShape:
    width_mult: float
    num_attention_heads: int  # kept per layer
    head_dim: int
    intermediate_size: int  # kept FFN neurons per layer

    @property
    def attention_dim(self) -> int:
        return self.num_attention_heads * self.head_dim

    def as_dict(self) -> dict:
        return {
            "width_mult": self.width_mult,
            "num_attention_heads": self.num_attention_heads,
            "head_dim": self.head_dim,
            "intermediate_size": self.intermediate_size,
        }


def pruned_shape(hidden_size: int, num_heads: int, intermediate_size: int, width_mult: float) -> PrunedShape:
    """The sub-network PaddleSlim's OFA trains for ``width_mult``: the first
    int(width * dim) columns of q/k/v and FFN, which must be whole heads."""
    head_dim = hidden_size // num_heads
    heads = int(num_heads * width_mult)
    if not keeps_whole_heads(hidden_size, num_heads, width_mult):
        raise ValueError(
            f"--width_mult {width_mult:.4g} does not keep whole attention heads of this model "
            f"({num_heads} heads of {head_dim}: {hidden_size} x {width_mult:.4g} = {hidden_size * width_mult:g}); "
            f"choose a width w with {num_heads} x w a whole number"
        )
    return PrunedShape(width_mult, heads, head_dim, max(1, int(intermediate_size * width_mult)))


def shape_of(model, width_mult: float) -> PrunedShape:
    cfg = model.config
    return pruned_shape(cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size, width_mult)


def fitting_widths(hidden_size: int, num_heads: int) -> list[str]:
    """The widths below 1 that keep whole heads of a model: the usual ones from
    ``CANDIDATE_WIDTHS`` or, when none of those fits (5 heads, 7 heads ...), every k/heads."""
    fits = [w for w in CANDIDATE_WIDTHS if keeps_whole_heads(hidden_size, num_heads, float(w))]
    if not fits:
        fits = [
            Fraction(k, num_heads)
            for k in range(num_heads - 1, 0, -1)
            if keeps_whole_heads(hidden_size, num_heads, k / num_heads)
        ]
    return [width_text(float(w)) for w in fits]


def check_widths(params_dir: str | Path, widths: list[float]) -> dict[float, PrunedShape]:
    """The pruned shape of every width, read from the checkpoint's config.json alone (no
    weights, no Paddle), so that a width that splits a head is refused before anything
    is loaded. Raises ValueError with a one-line message naming the widths that fit."""
    cfg_file = Path(params_dir) / MODEL_CONFIG_FILE
    if not cfg_file.is_file():
        raise ValueError(f"{cfg_file} not found: --params_dir must be a checkpoint folder written by training/train.py")
    cfg = json.loads(cfg_file.read_text(encoding="utf-8"))
    if PRUNED_KEY in cfg:
        raise ValueError(f"{params_dir} is already pruned: prune the fine-tuned full-width checkpoint")
    try:
        hidden, heads, ffn = (int(cfg[k]) for k in ("hidden_size", "num_attention_heads", "intermediate_size"))
    except KeyError as e:
        raise ValueError(f"{cfg_file} has no {e.args[0]}: DynaBERT pruning here supports ERNIE checkpoints") from None
    shapes = {}
    for w in widths:
        if not keeps_whole_heads(hidden, heads, w):
            fits = fitting_widths(hidden, heads)
            raise ValueError(
                f"--width_mult {width_text(w)} does not keep whole attention heads of {cfg_file} "
                f"({heads} heads: {heads} x {width_text(w)} = {heads * w:.4g}); "
                + (f"widths that fit: {', '.join(fits)}" if fits else f"{heads} head(s) leave no narrower width")
            )
        shapes[w] = pruned_shape(hidden, heads, ffn, w)
    return shapes


def shrink_attention(model, heads: int, head_dim: int) -> None:
    """Narrow q/k/v/out_proj of every layer to ``heads`` heads, in place (random
    weights: load a pruned state dict afterwards)."""
    import paddle.nn as nn

    dim = heads * head_dim
    for layer in model.base_model.encoder.layers:
        attn = layer.self_attn
        hidden = attn.q_proj.weight.shape[0]
        attn.q_proj = nn.Linear(hidden, dim)
        attn.k_proj = nn.Linear(attn.k_proj.weight.shape[0], dim)
        attn.v_proj = nn.Linear(attn.v_proj.weight.shape[0], dim)
        attn.out_proj = nn.Linear(dim, hidden)
        # head_dim stays; paddle's MultiHeadAttention reshapes with num_heads x head_dim.
        attn.num_heads = heads
        attn.head_dim = head_dim


def build_pruned_model(config: dict, shape: PrunedShape):
    """An ErnieForSequenceClassification of the pruned shape (random weights)."""
    from paddlenlp.transformers import ErnieConfig, ErnieForSequenceClassification

    cfg = dict(config)
    cfg["intermediate_size"] = shape.intermediate_size
    cfg[PRUNED_KEY] = shape.as_dict()
    model = ErnieForSequenceClassification(ErnieConfig(**cfg))
    shrink_attention(model, shape.num_attention_heads, shape.head_dim)
    return model


def slice_state_dict(full: dict, target: dict) -> dict:
    """The leading rows/columns of each full-width tensor, to the target's shapes.
    DynaBERT sorted heads and neurons by importance, so the leading ones are the kept ones."""
    out = {}
    for key, ref in target.items():
        if key not in full:
            raise KeyError(f"pruned model parameter {key} has no counterpart in the full model")
        src, shape = full[key], list(ref.shape)
        if len(shape) not in (1, 2) or len(src.shape) != len(shape):
            raise ValueError(f"{key}: cannot slice {list(src.shape)} to {shape}")
        if any(s > f for s, f in zip(shape, src.shape)):
            raise ValueError(f"{key}: pruned shape {shape} is larger than the full {list(src.shape)}")
        out[key] = src[: shape[0]] if len(shape) == 1 else src[: shape[0], : shape[1]]
    return out


def is_checkpoint(params_path: str | Path) -> bool:
    """True for a checkpoint written by training/prune.py."""
    cfg = Path(params_path) / MODEL_CONFIG_FILE
    return cfg.is_file() and PRUNED_KEY in json.loads(cfg.read_text(encoding="utf-8"))


def load_checkpoint(params_path: str | Path):
    """(model, tokenizer) of a pruned checkpoint."""
    from paddlenlp.transformers import AutoTokenizer

    return load_pruned_model(params_path), AutoTokenizer.from_pretrained(str(params_path))


def load_pruned_model(params_path: str | Path):
    """The model of a checkpoint written by training/prune.py, every weight checked."""
    import paddle

    params_path = Path(params_path)
    config = json.loads((params_path / MODEL_CONFIG_FILE).read_text(encoding="utf-8"))
    info = config[PRUNED_KEY]
    shape = PrunedShape(
        float(info["width_mult"]),
        int(info["num_attention_heads"]),
        int(info["head_dim"]),
        int(info["intermediate_size"]),
    )
    model = build_pruned_model(config, shape)
    weights = params_path / WEIGHTS_FILE
    if not weights.is_file():
        raise FileNotFoundError(f"{params_path}: no {WEIGHTS_FILE}")
    state = paddle.load(str(weights))
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    bad = [k for k in own if k in state and list(state[k].shape) != list(own[k].shape)]
    if missing or bad:
        raise ValueError(
            f"{params_path}: weights do not fit the pruned shape {shape.as_dict()} "
            f"(missing {missing[:3]}, wrong shape {bad[:3]})"
        )
    model.set_state_dict(state)
    model.eval()
    return model
