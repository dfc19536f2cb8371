"""The serving contract: model names, tensor names and shapes.

This is the one place these are spelled. The repository builder writes them into
every config.pbtxt, the backends read them back from their config, and clients
import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Ensemble I/O keeps the names PaddleNLP's Triton client reads.
TEXT_INPUT = "INPUT"
LABEL_OUTPUT = "label"
CONFIDENCE_OUTPUT = "confidence"
PATH_OUTPUT = "label_path"
# Between the steps.
INPUT_IDS = "input_ids"
TOKEN_TYPE_IDS = "token_type_ids"
LOGITS = "logits"
# Long-text windows only: the request text each tokenizer row (window) came from.
TEXT_INDEX = "text_index"

# Rows of `label` past a text's predictions are padding.
LABEL_PAD = -1


@dataclass(frozen=True)
class ModelNames:
    ensemble: str
    tokenizer: str
    model: str
    postprocess: str

    def all(self) -> tuple[str, str, str, str]:
        return (self.tokenizer, self.model, self.postprocess, self.ensemble)


def model_names(base: str = "seqcls") -> ModelNames:
    """``seqcls`` -> tokenizer, seqcls_model, seqcls_postprocess, ensemble seqcls.

    The tokenizer keeps PaddleNLP's plain name for the default base so existing
    repositories line up; any other base gets a prefixed one so two classifiers
    can share a repository.
    """
    if not base or not base.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"model name {base!r} must be letters, digits, '_' or '-'")
    tokenizer = "tokenizer" if base == "seqcls" else f"{base}_tokenizer"
    return ModelNames(base, tokenizer, f"{base}_model", f"{base}_postprocess")
