"""Build a HF ``tokenizers`` tokenizer.json equivalent to PaddleNLP's ErnieTokenizer.

ErnieTokenizer is BERT's basic tokenizer (clean text, split CJK characters and
punctuation, optional lower-casing with accent stripping) followed by WordPiece.
The fast version lets the Triton tokenizer backend run without paddle; the
parity test in tests/test_tokenizer_parity.py holds the two together.
"""

from __future__ import annotations

import json
from pathlib import Path

from hiercls.runtime.artifacts import TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, VOCAB_FILE
from hiercls.runtime.io import atomic_write_text


def read_vocab(vocab_file: str | Path) -> dict[str, int]:
    vocab: dict[str, int] = {}
    with open(vocab_file, encoding="utf-8") as f:
        for i, line in enumerate(f):
            token = line.rstrip("\n")
            if token and token not in vocab:
                vocab[token] = i
    return vocab


def build_wordpiece_tokenizer(
    vocab_file: str | Path,
    do_lower_case: bool = True,
    unk_token: str = "[UNK]",
    cls_token: str = "[CLS]",
    sep_token: str = "[SEP]",
):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = read_vocab(vocab_file)
    for special in (unk_token, cls_token, sep_token):
        if special not in vocab:
            raise ValueError(f"{vocab_file}: special token {special} is missing from the vocabulary")
    tok = Tokenizer(models.WordPiece(vocab, unk_token=unk_token, max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=do_lower_case
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{cls_token}:0 $A:0 {sep_token}:0",
        special_tokens=[(cls_token, vocab[cls_token]), (sep_token, vocab[sep_token])],
    )
    return tok


def write_tokenizer_json(checkpoint_dir: str | Path, output_dir: str | Path) -> Path:
    """Write output_dir/tokenizer.json: the checkpoint's own tokenizer.json if it has
    one (encoders whose training tokenizer already is a HF tokenizer), else one
    built from its WordPiece vocab.txt."""
    checkpoint_dir = Path(checkpoint_dir)
    own = checkpoint_dir / TOKENIZER_FILE
    if own.is_file():
        out = Path(output_dir) / TOKENIZER_FILE
        atomic_write_text(out, own.read_text(encoding="utf-8"))
        return out
    vocab_file = checkpoint_dir / VOCAB_FILE
    if not vocab_file.is_file():
        raise FileNotFoundError(
            f"{vocab_file} not found: the checkpoint must hold a WordPiece vocab.txt "
            "(save it with tokenizer.save_pretrained)"
        )
    config_file = checkpoint_dir / TOKENIZER_CONFIG_FILE
    config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    tok = build_wordpiece_tokenizer(vocab_file, do_lower_case=config.get("do_lower_case", True))
    out = Path(output_dir) / TOKENIZER_FILE
    atomic_write_text(out, tok.to_str())
    return out


def pre_tokenize(text: str, do_lower_case: bool = True) -> list[str]:
    """The words WordPiece sees: BERT normalisation and splitting, no vocabulary."""
    from tokenizers import normalizers, pre_tokenizers

    norm = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=do_lower_case
    )
    return [w for w, _ in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(norm.normalize_str(text))]
