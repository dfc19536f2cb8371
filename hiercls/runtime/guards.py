"""Limits on what one request may cost, checked before the work starts (numpy only).

Triton checks dtypes, ranks against the config and rows against max_batch_size, but
nothing bounds the *size* of a BYTES element or the values of an id matrix. These
checks do, for the two kinds of caller a server on a network has:

- the ensemble's tokenizer step: texts capped by bytes before they are decoded,
  and the whole request capped by characters, because tokenizing is linear in
  the characters it reads (64 texts of 20,000 characters took 3.4 s on 2 cores);
- the model step, which Triton also exposes directly (``seqcls_model``): id
  matrices must be what the tokenizer can produce (2-D int64, width at most
  max_seq_length, ids inside the vocabulary, one segment), so a direct caller can
  neither make attention quadratic in a huge width nor fail the requests that the
  dynamic batcher merged with theirs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# UTF-8 takes at most 4 bytes per character: a text over 4 x max_text_chars bytes is
# refused before it is decoded.
UTF8_MAX_BYTES_PER_CHAR = 4
# One request's texts together. At about 3 microseconds per character on one core
# this bounds a request's tokenizing to a fraction of a second (see README, "Limits").
DEFAULT_MAX_REQUEST_CHARS = 100_000


class LimitError(ValueError):
    """A request over a size limit (the client's fault, INVALID_ARG)."""


def check_request_size(
    texts: Sequence[object], max_text_chars: int, max_request_chars: int | None, error: type[Exception] = LimitError
) -> None:
    """Refuse a request whose texts are too big, by bytes first (cheap, before decoding)
    and then by characters of the whole request (max_request_chars None: no cap on the
    whole, for offline callers that chunk their own input). Raises ``error`` naming the row."""
    max_text_bytes = UTF8_MAX_BYTES_PER_CHAR * max_text_chars
    total = 0
    for row, value in enumerate(texts):
        size = len(value) if isinstance(value, (bytes, str)) else 0
        if isinstance(value, bytes) and size > max_text_bytes:
            raise error(
                f"text {row} has {size} bytes, over the limit of {max_text_bytes} "
                f"({UTF8_MAX_BYTES_PER_CHAR} bytes x {max_text_chars} characters, max_text_chars); split or shorten it"
            )
        if isinstance(value, str) and size > max_text_chars:
            raise error(
                f"text {row} has {size} characters, over the limit of {max_text_chars} "
                "(max_text_chars); split or shorten it"
            )
        total += size if isinstance(value, bytes) else 0
    if max_request_chars is None:
        return
    # A character is at least one byte: the byte total is checked first, without decoding.
    max_request_bytes = UTF8_MAX_BYTES_PER_CHAR * max_request_chars
    if total > max_request_bytes:
        raise error(f"the request has {total} bytes of text, over the limit of {max_request_bytes}")
    chars = sum(_chars(v) for v in texts)
    if chars > max_request_chars:
        raise error(
            f"the request has {chars} characters of text in all, over the limit of {max_request_chars} "
            "(max_request_chars); send fewer or shorter texts per request"
        )


def _chars(value: object) -> int:
    if isinstance(value, bytes):
        return len(value.decode("utf-8", "replace"))
    return len(value) if isinstance(value, str) else 0


# -- encoding long texts without reading all of them ----------------------------------


def _is_cjk(ch: str) -> bool:
    # The ranges BERT's normalizer (handle_chinese_chars) surrounds with spaces.
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_word_break(ch: str) -> bool:
    # Whitespace as BERT's normalizer keeps it. Not str.isspace(): \x0b, \x1c..\x1f and
    # \x85 are control characters that clean_text deletes, joining their neighbours.
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs" or _is_cjk(ch)


def safe_cut(text: str, start: int, window: int) -> int | None:
    """A position p >= start where a BERT tokenizer (BertNormalizer + BertPreTokenizer
    + WordPiece) must start a new word: text[p] is a space or a CJK character, and it
    is not followed by a combining mark. Every step of that tokenizer is local to a
    word, so the tokens of text[:p] are the first tokens of text. None if there is no
    such position in [start, start + window)."""
    for p in range(start, min(len(text), start + window)):
        ch = text[p]
        if _is_word_break(ch) and not (p + 1 < len(text) and unicodedata.combining(text[p + 1])):
            return p
    return None


def is_bert_tokenizer(tokenizer) -> bool:
    """True for the WordPiece tokenizer.json that hiercls.modeling.fast_tokenizer writes, the
    only kind for which safe_cut's reasoning holds."""
    import json

    spec = json.loads(tokenizer.to_str())
    return (
        (spec.get("normalizer") or {}).get("type") == "BertNormalizer"
        and (spec.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
        and (spec.get("model") or {}).get("type") == "WordPiece"
    )


def encode_truncated(tokenizer, texts: list[str], max_seq_length: int, bert_like: bool) -> list:
    """``tokenizer.encode_batch(texts)`` (truncation on) that reads a long text only as
    far as truncation keeps: a prefix cut at a word boundary is tokenized first, and
    only if it yields fewer than max_seq_length tokens is the whole text read. The
    result is the same encodings either way."""
    budget = 8 * max_seq_length  # characters; a token is rarely longer than a few
    if not bert_like or all(len(t) <= budget for t in texts):
        return tokenizer.encode_batch(texts)
    cut = []
    for t in texts:
        p = safe_cut(t, budget, 4 * budget) if len(t) > budget else None
        cut.append(t[:p] if p else t)
    encodings = tokenizer.encode_batch(cut)
    redo = [i for i, (t, c, e) in enumerate(zip(texts, cut, encodings)) if c is not t and len(e.ids) < max_seq_length]
    if redo:
        for i, e in zip(redo, tokenizer.encode_batch([texts[i] for i in redo])):
            encodings[i] = e
    return encodings


# -- the model step's inputs ------------------------------------------------------------


@dataclass(frozen=True)
class IdLimits:
    max_seq_length: int = 0  # 0: not checked
    vocab_size: int = 0  # 0: not checked

    @classmethod
    def from_params(cls, params: dict[str, str]) -> IdLimits:
        return cls(int(params.get("max_seq_length", 0)), int(params.get("vocab_size", 0)))


def check_id_matrices(ids: np.ndarray, types: np.ndarray, limits: IdLimits) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, token_type_ids) as int64 [N, T] if they are what the tokenizer step
    could have produced; LimitError naming the problem otherwise."""
    for name, x in (("input_ids", ids), ("token_type_ids", types)):
        if not np.issubdtype(x.dtype, np.integer):
            raise LimitError(f"{name} must be integers, got {x.dtype}")
        if x.ndim != 2:
            raise LimitError(f"{name} must be [N, T], got {list(x.shape)}")
    if ids.shape != types.shape:
        raise LimitError(f"input_ids {list(ids.shape)} and token_type_ids {list(types.shape)} must match, [N, T]")
    if ids.shape[1] == 0:
        raise LimitError("input_ids has no columns")
    if limits.max_seq_length and ids.shape[1] > limits.max_seq_length:
        raise LimitError(f"input_ids has {ids.shape[1]} columns, over max_seq_length {limits.max_seq_length}")
    if ids.size:
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or (limits.vocab_size and high >= limits.vocab_size):
            top = limits.vocab_size - 1 if limits.vocab_size else "vocab_size - 1"
            raise LimitError(f"input_ids must lie in 0..{top}, got {low}..{high}")
        if types.any():
            # The tokenizer step encodes one text per row: segment 0 throughout.
            raise LimitError("token_type_ids must be 0 (one text per row)")
    return ids.astype(np.int64, copy=False), types.astype(np.int64, copy=False)
