"""Request limits (hiercls/runtime/guards.py): text and request caps by bytes and
characters, reading long texts only as far as truncation keeps, and the model step's
checks on id matrices that a direct caller sends (issue 14, defects 6 and "inner
models callable directly")."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest

from hiercls.modeling.fast_tokenizer import build_wordpiece_tokenizer
from hiercls.runtime import guards
from hiercls.runtime.artifacts import TOKENIZER_FILE
from hiercls.runtime.guards import IdLimits, LimitError, check_id_matrices, check_request_size
from hiercls.runtime.tokenization import TextEncoder, TextError

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "我", "爱", "北", "京", "hello", "world", "##s", "a", "b", "##b"]


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory):
    d = tmp_path_factory.mktemp("tok")
    (d / "vocab.txt").write_text("".join(f"{t}\n" for t in VOCAB), encoding="utf-8")
    path = d / TOKENIZER_FILE
    build_wordpiece_tokenizer(d / "vocab.txt").save(str(path))
    return path


# -- texts and requests -----------------------------------------------------------------


def test_text_over_the_byte_limit_is_refused_before_decoding():
    with pytest.raises(LimitError, match=r"text 1 has 80001 bytes, over the limit of 80000"):
        check_request_size([b"ok", b"\xff" * 80_001], max_text_chars=20_000, max_request_chars=100_000)


def test_request_over_the_total_limit_is_refused():
    texts = ["我" * 20_000] * 6  # every text within its own limit, 120,000 characters in all
    with pytest.raises(LimitError, match="120000 characters of text in all, over the limit of 100000"):
        check_request_size(texts, max_text_chars=20_000, max_request_chars=100_000)
    with pytest.raises(LimitError, match="bytes of text, over the limit of 400000"):
        check_request_size([t.encode() for t in texts] * 2, max_text_chars=20_000, max_request_chars=100_000)
    check_request_size(texts[:5], max_text_chars=20_000, max_request_chars=100_000)


def test_encoder_raises_text_errors_for_the_limits(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=16, max_text_chars=100, max_request_chars=150)
    with pytest.raises(TextError, match="over the limit of 400"):
        enc.encode([b"a" * 401])
    with pytest.raises(TextError, match="in all, over the limit of 150"):
        enc.encode(["a" * 100, "b" * 100])


def _random_text(rng: random.Random, n: int) -> str:
    alphabet = rng.choice(
        [
            "我爱北京 hello worlds ab,.!",
            "ab b\x0b\x1c",  # control characters BERT deletes: not word breaks
            "a\u0301 b\u3000é",  # combining marks, ideographic space
            "我 x",
            "hellohellohello ",  # long words, few tokens per character
            "         a",  # whitespace runs
        ]
    )
    return "".join(rng.choice(alphabet) for _ in range(n))


def test_long_texts_give_the_same_ids_as_reading_them_whole(tokenizer_file):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_file))
    tok.enable_truncation(max_length=32)
    assert guards.is_bert_tokenizer(tok)
    rng = random.Random(0)
    texts = [_random_text(rng, rng.randint(200, 3_000)) for _ in range(400)]
    fast = guards.encode_truncated(tok, texts, 32, bert_like=True)
    full = tok.encode_batch(texts)
    assert [e.ids for e in fast] == [e.ids for e in full]
    assert [e.type_ids for e in fast] == [e.type_ids for e in full]


def test_a_full_request_of_long_texts_costs_little(tokenizer_file):
    """Defect 6: 64 texts of 20,000 characters took 3.35 s. Now a request holds at most
    max_request_chars characters, and a long text is read only as far as truncation keeps."""
    enc = TextEncoder(tokenizer_file, max_seq_length=128)
    with pytest.raises(TextError, match="in all"):
        enc.encode(["我爱北京 " * 4_000] * 64)
    long = ["我爱北京 hello " * 1_800] * 5  # 99,000 characters: the most one request may hold
    t0 = time.perf_counter()
    enc.encode(long)
    long_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    enc.encode(["我爱北京 hello"] * 5)
    short_s = time.perf_counter() - t0
    assert long_s < 0.25, f"a full request of long texts took {long_s:.3f}s (short: {short_s:.4f}s)"


# -- the model step ---------------------------------------------------------------------

LIMITS = IdLimits(max_seq_length=16, vocab_size=100)


@pytest.mark.parametrize(
    "ids, types, message",
    [
        (np.zeros((2, 17), np.int64), np.zeros((2, 17), np.int64), "17 columns, over max_seq_length 16"),
        (np.full((1, 4), 100, np.int64), np.zeros((1, 4), np.int64), r"must lie in 0..99, got 100..100"),
        (np.full((1, 4), -1, np.int64), np.zeros((1, 4), np.int64), "must lie in 0..99"),
        (np.zeros((1, 4), np.int64), np.ones((1, 4), np.int64), "token_type_ids must be 0"),
        (np.zeros((1, 4), np.int64), np.zeros((1, 5), np.int64), "must match"),
        (np.zeros((4,), np.int64), np.zeros((4,), np.int64), r"must be \[N, T\]"),
        (np.zeros((1, 4), np.float32), np.zeros((1, 4), np.int64), "must be integers"),
        (np.zeros((1, 0), np.int64), np.zeros((1, 0), np.int64), "no columns"),
    ],
    ids=["too-wide", "id-over-vocab", "negative-id", "second-segment", "shape-mismatch", "1-d", "float", "empty"],
)
def test_model_step_refuses_what_the_tokenizer_never_sends(ids, types, message):
    with pytest.raises(LimitError, match=message):
        check_id_matrices(ids, types, LIMITS)


def test_model_step_accepts_what_the_tokenizer_sends(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=16)
    ids, types = enc.encode(["我爱北京", "hello worlds " * 20])
    out_ids, out_types = check_id_matrices(ids.astype(np.int32), types, IdLimits(16, len(VOCAB)))
    assert out_ids.dtype == np.int64 and (out_ids == ids).all() and (out_types == 0).all()
    # Unknown limits (an older repository): only the shape checks apply.
    check_id_matrices(np.full((1, 600), 10**6), np.zeros((1, 600), np.int64), IdLimits.from_params({}))
