"""Tests for hiercls.runtime.tokenization.TextEncoder with a tiny WordPiece tokenizer.json."""

from pathlib import Path

import numpy as np
import pytest

from hiercls.modeling.fast_tokenizer import build_wordpiece_tokenizer
from hiercls.runtime.artifacts import TOKENIZER_FILE
from hiercls.runtime.tokenization import TextEncoder, TextError

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "我", "爱", "北", "京", "hello", "world", "##s"]
PAD, UNK, CLS, SEP, WO, AI, BEI, JING, HELLO, WORLD, S = range(len(VOCAB))


@pytest.fixture(scope="module")
def tokenizer_file(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tok")
    (d / "vocab.txt").write_text("".join(f"{t}\n" for t in VOCAB), encoding="utf-8")
    path = d / TOKENIZER_FILE
    build_wordpiece_tokenizer(d / "vocab.txt").save(str(path))
    return path


def test_ids_and_padding_to_multiple(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=32, pad_to_multiple_of=4)
    ids, types = enc.encode(["我爱北京", "我", "Hello worlds"])
    # longest row is 6 tokens -> rounded up to 8
    assert ids.dtype == np.int64 and types.dtype == np.int64
    assert ids.shape == (3, 8) and types.shape == (3, 8)
    assert ids.tolist() == [
        [CLS, WO, AI, BEI, JING, SEP, PAD, PAD],
        [CLS, WO, SEP, PAD, PAD, PAD, PAD, PAD],
        [CLS, HELLO, WORLD, S, SEP, PAD, PAD, PAD],
    ]
    assert not types.any()


def test_exact_multiple_is_not_padded_further(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=32, pad_to_multiple_of=3)
    ids, _ = enc.encode(["我爱北京"])  # 6 tokens
    assert ids.shape == (1, 6)
    enc1 = TextEncoder(tokenizer_file, max_seq_length=32, pad_to_multiple_of=0)  # treated as 1
    assert enc1.encode(["我", "我爱"])[0].shape == (2, 4)


def test_width_follows_batch_not_global(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=64, pad_to_multiple_of=16)
    assert enc.encode(["我"])[0].shape == (1, 16)
    assert enc.encode(["我" * 15])[0].shape == (1, 32)  # 17 tokens -> 32


def test_width_capped_at_max_seq_length(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=10, pad_to_multiple_of=8, pad_id=PAD)
    ids, _ = enc.encode(["我爱北京我", "我爱北京我爱北京"])  # 7 and 10 tokens; 16 capped to 10
    assert ids.shape == (2, 10)
    assert ids[0].tolist() == [CLS, WO, AI, BEI, JING, WO, SEP, PAD, PAD, PAD]
    assert ids[1].tolist() == [CLS, WO, AI, BEI, JING, WO, AI, BEI, JING, SEP]


def test_truncation_keeps_cls_and_sep(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=8, pad_to_multiple_of=16)
    ids, _ = enc.encode(["我爱" * 20, "我"])
    assert ids.shape == (2, 8)
    assert ids[0].tolist() == [CLS, WO, AI, WO, AI, WO, AI, SEP]
    assert ids[1].tolist() == [CLS, WO, SEP, PAD, PAD, PAD, PAD, PAD]


def test_custom_pad_id(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=16, pad_id=-1, pad_to_multiple_of=4)
    ids, _ = enc.encode(["我爱北京", "我"])
    assert ids[1].tolist() == [CLS, WO, SEP, -1, -1, -1, -1, -1]


def test_bytes_and_unknown_words(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=16, pad_to_multiple_of=1)
    ids, _ = enc.encode(["我爱".encode(), np.str_("上海"), np.bytes_("北京".encode())])
    assert ids.tolist() == [[CLS, WO, AI, SEP], [CLS, UNK, UNK, SEP], [CLS, BEI, JING, SEP]]


@pytest.mark.parametrize(
    "bad, row, what",
    [
        ("", 1, "text 1 is empty"),
        (" \t\n\u3000", 1, "text 1 is empty"),
        (b"", 1, "text 1 is empty"),
        (b"\xe6\x88", 1, "text 1 is not valid UTF-8"),
        (b"ok\xff", 1, "text 1 is not valid UTF-8"),
        (None, 1, "text 1 is a NoneType"),
        (123, 1, "text 1 is a int"),
    ],
)
def test_text_errors_name_the_row(tokenizer_file, bad, row, what):
    enc = TextEncoder(tokenizer_file, max_seq_length=16)
    with pytest.raises(TextError) as e:
        enc.encode(["我爱", bad, "北京"])
    assert what in str(e.value)
    assert isinstance(e.value, ValueError)


def test_invalid_utf8_message_gives_byte_offset(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=16)
    with pytest.raises(TextError, match=r"text 0 is not valid UTF-8 \(invalid start byte at byte 2\)"):
        enc.encode([b"ok\xff"])


def test_no_texts(tokenizer_file):
    with pytest.raises(TextError, match="no texts"):
        TextEncoder(tokenizer_file, max_seq_length=16).encode([])


def test_max_seq_length_too_small(tokenizer_file):
    with pytest.raises(ValueError, match="at least 3"):
        TextEncoder(tokenizer_file, max_seq_length=2)


def test_long_text_is_truncated(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=128, pad_to_multiple_of=16)
    text = "我爱北京hello " * 1_500  # 15,000 characters: under the limit
    ids, types = enc.encode([text, "我"])
    assert ids.shape == (2, 128) and types.shape == (2, 128)
    assert ids[0, 0] == CLS and ids[0, -1] == SEP
    assert ids[0, 1:6].tolist() == [WO, AI, BEI, JING, HELLO]
    assert (ids[0] != PAD).all()


def test_text_over_the_character_limit_is_refused(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=128)
    with pytest.raises(TextError, match=r"text 1 has 100000 characters, over the limit of 20000"):
        enc.encode(["我", "我" * 100_000])


def test_control_characters_only_is_refused(tokenizer_file):
    enc = TextEncoder(tokenizer_file, max_seq_length=16)
    with pytest.raises(TextError, match="text 0 has nothing to classify"):
        enc.encode(["\x00\x01\x02"])


@pytest.mark.parametrize("kind", ["leading_whitespace", "long_unknown_words"])
def test_character_cut_does_not_change_tokens(tokenizer_file, kind):
    enc = TextEncoder(tokenizer_file, max_seq_length=16, pad_to_multiple_of=1)
    if kind == "leading_whitespace":
        text = " " * (64 * 16) + "我爱北京"
    else:
        text = ("x" * 200 + " ") * 20  # each 200-char word is one [UNK]
    expected = enc.tokenizer.encode(text).ids  # same tokenizer, same truncation, no character cut
    ids, _ = enc.encode([text])
    assert ids[0].tolist() == expected
