"""Long texts (hiercls.runtime.long_text): windows, folding, the offline predictor with
the option on and off, and the served ensemble built with it through a real tritonserver."""

from __future__ import annotations

import numpy as np
import pytest

from hiercls.repository.triton_config import RepositorySpec, render, repository_configs
from hiercls.runtime.long_text import LongText, fold_windows, split_windows, window_spans
from tests.conftest import run_cli

SHORT = ["球队夺冠", "法院一审判决", "某科技公司召开发布会，正式推出新一代折叠屏手机，售价5999元起", "iPhone发布"]
LONG = (
    "受行业下行影响，一家互联网企业宣布裁员约300人，涉及市场、销售和运营多个部门。" * 6 + "球队夺冠，法院一审判决。" * 8
)


def test_windows_overlap_by_the_stride_and_cover_the_text():
    spans = window_spans(100, 30, 8, max_windows=99)
    assert spans[0] == (0, 30) and spans[-1][1] == 100
    for (_, e0), (s1, e1) in zip(spans, spans[1:]):
        assert e0 - s1 == 8  # consecutive windows share exactly `stride` tokens
        assert e1 - s1 <= 30
    assert window_spans(20, 30, 8, 99) == [(0, 20)]  # fits: one window
    assert len(window_spans(1000, 30, 8, 3)) == 3  # capped
    with pytest.raises(ValueError, match="smaller than"):
        window_spans(100, 30, 30, 9)


def test_split_windows_repeats_the_special_tokens():
    ids = [101, 1, 2, 3, 4, 5, 6, 7, 102]
    mask = [1, 0, 0, 0, 0, 0, 0, 0, 1]
    windows = split_windows(ids, [0] * 9, mask, max_seq_length=5, long_text=LongText(9, stride=1))
    assert [w for w, _ in windows] == [[101, 1, 2, 3, 102], [101, 3, 4, 5, 102], [101, 5, 6, 7, 102]]
    assert split_windows(ids, [0] * 9, mask, 9, LongText(9, 1)) == [(ids, [0] * 9)]


def test_fold_windows_max_and_mean():
    probs = np.array([[0.1, 0.9], [0.5, 0.2], [0.3, 0.4], [0.7, 0.0]], dtype=np.float32)
    index = np.array([0, 1, 1, 2])
    np.testing.assert_allclose(fold_windows(probs, index, "max"), [[0.1, 0.9], [0.5, 0.4], [0.7, 0.0]])
    np.testing.assert_allclose(fold_windows(probs, index, "mean"), [[0.1, 0.9], [0.4, 0.3], [0.7, 0.0]])
    with pytest.raises(ValueError, match="no window"):
        fold_windows(probs, np.array([0, 0, 2, 2]), "max")
    with pytest.raises(ValueError, match="pool"):
        LongText(2, pool="median")


def test_encoder_windows_equal_truncation_when_a_text_fits(export_dir):
    from hiercls.evaluation.predictor import OnnxPredictor

    encoder = OnnxPredictor(export_dir).encoder
    ids, types = encoder.encode(SHORT + [LONG])
    wids, wtypes, index = encoder.encode_windows(SHORT + [LONG], LongText(8, stride=16))
    n = len(SHORT)
    assert index[:n].tolist() == list(range(n)) and (index[n:] == n).all() and len(index) > n + 1
    width = ids.shape[1]
    np.testing.assert_array_equal(wids[: n + 1, :width], ids)  # short texts, and the long one's first window
    np.testing.assert_array_equal(wtypes[: n + 1, :width], types)


@pytest.mark.parametrize("pool", ["max", "mean"])
def test_predictor_one_answer_per_text_same_as_truncation_when_texts_fit(export_dir, pool):
    from hiercls.evaluation.predictor import OnnxPredictor

    off = OnnxPredictor(export_dir)
    on = OnnxPredictor(export_dir, long_text=LongText(8, stride=16, pool=pool))
    np.testing.assert_array_equal(on.probs(SHORT), off.probs(SHORT))
    assert [p.labels for p in on.predict(SHORT)] == [p.labels for p in off.predict(SHORT)]
    texts = [SHORT[0], LONG, SHORT[1]]
    got = on.predict(texts)
    assert [p.text for p in got] == texts
    rows, index = on.window_logits(texts)
    assert len(rows) > len(texts) and sorted(set(index.tolist())) == [0, 1, 2]


def test_paddle_predictor_windows_match_onnx_windows(checkpoint, export_dir):
    from hiercls.evaluation.predictor import OnnxPredictor, PaddlePredictor

    lt = LongText(8, stride=16)
    texts = [SHORT[0], LONG]
    paddle_probs = PaddlePredictor(checkpoint, long_text=lt).probs(texts)
    np.testing.assert_allclose(paddle_probs, OnnxPredictor(export_dir, long_text=lt).probs(texts), atol=1e-4)


def test_default_configs_have_no_long_text_wiring():
    default = repository_configs(RepositorySpec(num_labels=3, max_seq_length=16))
    assert not any("text_index" in render(c) or "long_text" in render(c) for c in default.values())
    on = repository_configs(RepositorySpec(num_labels=3, max_seq_length=16, long_text_windows=4, long_text_stride=4))
    ensemble = render(on["seqcls"])
    assert ensemble.count('"text_index"') == 4  # tokenizer output map and postprocess input map, key and value
    assert on["seqcls_model"].max_batch_size == 256 and on["seqcls"].max_batch_size == 64
    with pytest.raises(ValueError, match="stride"):
        RepositorySpec(num_labels=3, max_seq_length=16, long_text_windows=4, long_text_stride=14)


def test_evaluate_cli_with_windows(export_dir, sample_dir, tmp_path):
    out = run_cli(
        "training/evaluate.py",
        "--dataset_dir",
        str(sample_dir),
        "--params_path",
        str(export_dir),
        "--backend",
        "onnx",
        "--long_text_windows",
        "4",
        "--long_text_stride",
        "8",
        "--bad_case_path",
        str(tmp_path / "bad.txt"),
    )
    assert "micro" in out.stdout


@pytest.fixture(scope="module")
def long_text_server(export_dir, tmp_path_factory):
    from hiercls.serving.server import TritonServer

    repo = tmp_path_factory.mktemp("repo_long") / "model_repository"
    run_cli(
        "builders/build_repository.py",
        "--export_dir",
        str(export_dir),
        "--output_dir",
        str(repo),
        "--max_batch_size",
        "8",
        "--preferred_batch_size",
        "4",
        "8",
        "--long_text_windows",
        "6",
        "--long_text_stride",
        "16",
        "--long_text_pool",
        "mean",
    )
    with TritonServer(repo, log_file=tmp_path_factory.mktemp("triton_long") / "log") as server:
        yield server


def test_served_windows_fold_back_to_one_answer_per_text_as_offline(long_text_server, export_dir):
    from hiercls.client import SeqClsClient
    from hiercls.evaluation.predictor import OnnxPredictor

    texts = [SHORT[0], LONG, SHORT[2], LONG[::-1], SHORT[3]] + [LONG] * 3  # 8 texts: 4 long, > 8 rows
    offline = OnnxPredictor(export_dir, long_text=LongText(6, stride=16, pool="mean")).predict(texts)
    truncated = OnnxPredictor(export_dir).predict(texts)
    with SeqClsClient(long_text_server.grpc_url) as client:
        served = client.predict(texts, batch_size=8)
    assert [p.text for p in served] == texts
    for s, o in zip(served, offline):
        assert s.labels == o.labels
        np.testing.assert_allclose(s.confidences, o.confidences, atol=1e-4)
    for i in (0, 2, 4):  # texts that fit: the truncated answer
        assert served[i].labels == truncated[i].labels
        np.testing.assert_allclose(served[i].confidences, truncated[i].confidences, atol=1e-4)
