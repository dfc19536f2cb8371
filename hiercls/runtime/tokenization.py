"""Texts -> padded id matrices with a HF ``tokenizers`` tokenizer (tokenizer.json).

The training side builds tokenizer.json from the checkpoint's own vocabulary
(``hiercls.fast_tokenizer``) and a test proves the ids equal PaddleNLP's. Batches
are padded to their own longest text, rounded up to a multiple of
``pad_to_multiple_of`` so that Triton's dynamic batcher, which only merges
requests of equal shape, finds partners more often.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

try:  # request-size guards (issue 14)
    from hiercls_runtime import guards
except ImportError:
    from hiercls.runtime import guards

TOKENIZER_FILE = "tokenizer.json"
# Texts are truncated to max_seq_length tokens; this bounds what a request may send.
DEFAULT_MAX_TEXT_CHARS = 20_000


class TextError(ValueError):
    """A text the model cannot take (empty, not UTF-8, not a string)."""


def as_text(value: object, row: int) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TextError(f"text {row} is not valid UTF-8 ({e.reason} at byte {e.start})") from None
    if not isinstance(value, str):
        raise TextError(f"text {row} is a {type(value).__name__}, expected a UTF-8 string")
    if not value.strip():
        raise TextError(f"text {row} is empty")
    return value


class TextEncoder:
    def __init__(
        self,
        tokenizer_file: str | Path,
        max_seq_length: int,
        pad_id: int = 0,
        pad_to_multiple_of: int = 16,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_request_chars: int = guards.DEFAULT_MAX_REQUEST_CHARS,
    ) -> None:
        from tokenizers import Tokenizer

        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be at least 3, got {max_seq_length}")
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.max_seq_length = max_seq_length
        self.pad_id = pad_id
        self.pad_to_multiple_of = max(1, pad_to_multiple_of)
        self.max_text_chars = max_text_chars
        self.max_request_chars, self.bert_like = max_request_chars, guards.is_bert_tokenizer(self.tokenizer)

    def encode(self, texts: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, token_type_ids), both int64 [N, T]. Raises TextError naming the row."""
        if len(texts) == 0:
            raise TextError("no texts in the request")
        guards.check_request_size(texts, self.max_text_chars, self.max_request_chars, TextError)
        clean = [as_text(t, row) for row, t in enumerate(texts)]
        for row, text in enumerate(clean):
            if len(text) > self.max_text_chars:
                # Refused rather than cut: cutting by characters can drop the very tokens
                # truncation would keep (long whitespace runs), and a text this size is
                # more likely a client bug than a document to classify by its start.
                raise TextError(
                    f"text {row} has {len(text)} characters, over the limit of {self.max_text_chars} "
                    "(max_text_chars); split or shorten it"
                )
        encodings = guards.encode_truncated(self.tokenizer, clean, self.max_seq_length, self.bert_like)
        for row, e in enumerate(encodings):
            if all(e.special_tokens_mask):
                raise TextError(f"text {row} has nothing to classify (only whitespace or control characters)")
        longest = max(len(e.ids) for e in encodings)
        m = self.pad_to_multiple_of
        width = min(self.max_seq_length, -(-longest // m) * m)
        ids = np.full((len(clean), width), self.pad_id, dtype=np.int64)
        types = np.zeros((len(clean), width), dtype=np.int64)
        for r, e in enumerate(encodings):
            ids[r, : len(e.ids)] = e.ids
            types[r, : len(e.type_ids)] = e.type_ids
        return ids, types
