"""Build-time numbers for the serving guards (hiercls/runtime/guards.py)."""

from __future__ import annotations

from pathlib import Path


def tokenizer_vocab_size(tokenizer_file: str | Path) -> int:
    """Every id the tokenizer step can emit is below this (0 if there is no tokenizer.json)."""
    if not Path(tokenizer_file).is_file():
        return 0
    from tokenizers import Tokenizer

    return int(Tokenizer.from_file(str(tokenizer_file)).get_vocab_size(with_added_tokens=True))
