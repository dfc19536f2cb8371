"""Texts -> padded id matrices with a HF ``tokenizers`` tokenizer (tokenizer.json).

The training side builds tokenizer.json from the checkpoint's own vocabulary
(``hiercls.modeling.fast_tokenizer``) and a test proves the ids equal PaddleNLP's. Batches
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
try:  # inside a built model repository
    from hiercls_runtime.long_text import LongText, split_windows
except ImportError:
    from hiercls.runtime.long_text import LongText, split_windows

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
        max_request_chars: int | None = guards.DEFAULT_MAX_REQUEST_CHARS,
    ) -> None:
        from tokenizers import Tokenizer

        if max_seq_length < 3:
            raise ValueError(f"max_seq_length must be at least 3, got {max_seq_length}")
        self.tokenizer_file = Path(tokenizer_file)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._untruncated = None  # built on the first encode_windows
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.max_seq_length = max_seq_length
        self.pad_id = pad_id
        self.pad_to_multiple_of = max(1, pad_to_multiple_of)
        self.max_text_chars = max_text_chars
        self.max_request_chars, self.bert_like = max_request_chars, guards.is_bert_tokenizer(self.tokenizer)

    def _clean(self, texts: Sequence[object]) -> list[str]:
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
        return clean

    @staticmethod
    def _check_content(encodings) -> None:
        for row, e in enumerate(encodings):
            if all(e.special_tokens_mask):
                raise TextError(f"text {row} has nothing to classify (only whitespace or control characters)")

    def _pad(self, rows: Sequence[tuple[Sequence[int], Sequence[int]]]) -> tuple[np.ndarray, np.ndarray]:
        longest = max(len(i) for i, _ in rows)
        m = self.pad_to_multiple_of
        width = min(self.max_seq_length, -(-longest // m) * m)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        types = np.zeros((len(rows), width), dtype=np.int64)
        for r, (i, t) in enumerate(rows):
            ids[r, : len(i)] = i
            types[r, : len(t)] = t
        return ids, types

    def encode(self, texts: Sequence[object]) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, token_type_ids), both int64 [N, T]. Raises TextError naming the row."""
        # Long texts are tokenized only as far as truncation keeps (issue 14: CPU cost).
        encodings = guards.encode_truncated(self.tokenizer, self._clean(texts), self.max_seq_length, self.bert_like)
        self._check_content(encodings)
        return self._pad([(e.ids, e.type_ids) for e in encodings])

    def _encode_untruncated(self, texts: Sequence[object]) -> list:
        if self._untruncated is None:
            from tokenizers import Tokenizer

            # A second tokenizer, so that ``encode`` keeps truncating.
            self._untruncated = Tokenizer.from_file(str(self.tokenizer_file))
            self._untruncated.no_padding()
            self._untruncated.no_truncation()
        return self._untruncated.encode_batch(self._clean(texts))

    def token_counts(self, texts: Sequence[object]) -> list[int]:
        """Tokens of each text, special tokens included, without truncation."""
        return [len(e.ids) for e in self._encode_untruncated(texts)]

    def encode_windows(self, texts: Sequence[object], long_text: LongText) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(input_ids, token_type_ids [R, T], text_index [R]): every text as its
        overlapping windows (``long_text``), R >= N rows, text_index naming each row's
        text. A text that fits is one row, equal to its ``encode`` row."""
        encodings = self._encode_untruncated(texts)
        self._check_content(encodings)
        rows, index = [], []
        for t, e in enumerate(encodings):
            windows = split_windows(e.ids, e.type_ids, e.special_tokens_mask, self.max_seq_length, long_text)
            rows += windows
            index += [t] * len(windows)
        ids, types = self._pad(rows)
        return ids, types, np.asarray(index, dtype=np.int64)
