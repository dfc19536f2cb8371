"""The serving tokenizer (HF tokenizers, no paddle) gives the training tokenizer's ids."""

from __future__ import annotations

import pytest

from hiercls.data.reading import read_texts
from hiercls.runtime.artifacts import TOKENIZER_FILE
from hiercls.runtime.tokenization import TextEncoder

TRICKY = [
    "iPhone 15 Pro发布，售价7999元！",
    "Café Déjà-vu  多个   空格\t和制表符",
    "ＡＢＣ全角字母１２３",
    "emoji 😀 与生僻字 龘龘 邛崃",
    "NBA总决赛G7：勇士 vs. 凯尔特人",
    "mixed-case WORDS and_underscores",
    "——《引号》“中文标点”…",
]


@pytest.fixture(scope="module")
def tokenizers(checkpoint, export_dir):
    from hiercls.modeling.checkpoint import load_checkpoint

    _, slow = load_checkpoint(checkpoint)
    return slow, TextEncoder(export_dir / TOKENIZER_FILE, max_seq_length=128, pad_to_multiple_of=1)


def test_identical_ids_on_every_sample_text(tokenizers, sample_dir):
    slow, fast = tokenizers
    texts = [t for name in ("train.txt", "dev.txt", "test.txt", "data.txt") for t in read_texts(sample_dir / name)]
    texts += TRICKY
    mismatches = []
    for text in texts:
        want = slow(text, max_length=128, truncation=True)["input_ids"]
        ids, types = fast.encode([text])
        if ids[0].tolist() != want or types.any():
            mismatches.append((text, want, ids[0].tolist()))
    assert not mismatches, mismatches[:3]
    assert len(texts) > 500


def test_truncation_matches(tokenizers):
    slow, fast = tokenizers
    text = "裁员" * 300
    want = slow(text, max_length=128, truncation=True)["input_ids"]
    ids, _ = fast.encode([text])
    assert ids[0].tolist() == want and len(want) == 128
