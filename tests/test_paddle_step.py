"""The Paddle Inference model step (build_repository.py --runtime paddle): unit checks
of the runner and the spec, and parity with the ONNX step through a real tritonserver."""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from hiercls.client import SeqClsClient
from hiercls.data.reading import read_texts
from hiercls.repository.triton_config import RepositorySpec, model_config, render
from hiercls.runtime import contract
from tests.conftest import build_test_repository

TEXTS = [
    "球队夺冠",
    "某科技公司召开发布会，正式推出新一代折叠屏手机，售价5999元起",
    "法院一审判决",
    "受行业下行影响，一家互联网企业宣布裁员约300人，涉及市场、销售和运营多个部门，补偿方案按N+1执行",
    "iPhone发布",
    "法院判决" * 100,  # truncated to max_seq_length
]


def test_paddle_runtime_is_cpu_only_and_leaves_onnx_configs_alone():
    with pytest.raises(ValueError, match="cpu target only"):
        RepositorySpec(num_labels=3, max_seq_length=16, target="gpu", runtime="paddle")
    with pytest.raises(ValueError, match="runtime must be"):
        RepositorySpec(num_labels=3, max_seq_length=16, runtime="tensorflow")
    onnx = render(model_config(RepositorySpec(num_labels=3, max_seq_length=16)))
    assert "paddle" not in onnx
    paddle = render(model_config(RepositorySpec(num_labels=3, max_seq_length=16, runtime="paddle", paddle_mkldnn=True)))
    assert 'key: "paddle_mkldnn"' in paddle and 'string_value: "true"' in paddle


@pytest.mark.parametrize("mkldnn", [False, True], ids=["native", "onednn"])
def test_paddle_runner_matches_onnx_runner_offline(export_dir, mkldnn):
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.runtime.paddle_runner import BucketedPaddleRunner

    onnx = OnnxPredictor(export_dir, workers=2)
    ids, types = onnx.encoder.encode(TEXTS * 3)
    runner = BucketedPaddleRunner(export_dir, onnx.encoder.pad_id, workers=2, mkldnn=mkldnn)
    assert runner.workers == 2 and runner.predictors.qsize() == 2  # one predictor per worker
    np.testing.assert_allclose(runner(ids, types), onnx.runner(ids, types), atol=1e-4, rtol=0)
    # Concurrent callers never share a predictor.
    with cf.ThreadPoolExecutor(4) as pool:
        for out in pool.map(lambda _: runner(ids, types, max_rows=3), range(8)):
            np.testing.assert_allclose(out, onnx.runner(ids, types), atol=1e-4, rtol=0)
    runner.close()


@pytest.fixture(scope="session")
def paddle_repository(export_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("repo_paddle") / "model_repository"
    return build_test_repository(export_dir, out, "--runtime", "paddle")


@pytest.fixture(scope="module")
def paddle_server(paddle_repository, tmp_path_factory):
    from hiercls.serving.server import TritonServer

    with TritonServer(paddle_repository, log_file=tmp_path_factory.mktemp("triton_paddle") / "log") as server:
        yield server


def test_paddle_repository_holds_the_static_graph(paddle_repository):
    version = paddle_repository / "seqcls_model" / "1"
    assert (version / "inference.json").is_file() and (version / "inference.pdiparams").is_file()
    assert not (version / "model.onnx").exists()
    assert "BucketedPaddleRunner" in (version / "model.py").read_text()
    spec = json.loads((paddle_repository / "repository.json").read_text())["spec"]
    assert spec["runtime"] == "paddle" and spec["target"] == "cpu"


def model_logits(url: str, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
    client = grpcclient.InferenceServerClient(url)
    inputs = []
    for name, x in ((contract.INPUT_IDS, ids), (contract.TOKEN_TYPE_IDS, types)):
        inp = grpcclient.InferInput(name, list(x.shape), "INT64")
        inp.set_data_from_numpy(x)
        inputs.append(inp)
    return client.infer("seqcls_model", inputs).as_numpy(contract.LOGITS)


def test_served_paddle_step_matches_served_onnx_step(paddle_server, triton_server, export_dir, sample_dir):
    from hiercls.evaluation.predictor import OnnxPredictor

    texts = TEXTS + read_texts(sample_dir / "data.txt")
    ids, types = OnnxPredictor(export_dir).encoder.encode(texts[:16])
    # The model steps alone: logits within 1e-4.
    paddle_logits = model_logits(paddle_server.grpc_url, ids, types)
    onnx_logits = model_logits(triton_server.grpc_url, ids, types)
    assert np.abs(paddle_logits - onnx_logits).max() <= 1e-4
    # The whole ensemble: same answers on every text.
    with SeqClsClient(paddle_server.grpc_url) as p, SeqClsClient(triton_server.grpc_url) as o:
        served_paddle, served_onnx = p.predict(texts, batch_size=7), o.predict(texts, batch_size=7)
    assert [s.labels for s in served_paddle] == [s.labels for s in served_onnx]
    for a, b in zip(served_paddle, served_onnx):
        np.testing.assert_allclose(a.confidences, b.confidences, atol=1e-4, rtol=0)


def test_served_paddle_step_batches_concurrent_requests(paddle_server, export_dir):
    from hiercls.evaluation.predictor import OnnxPredictor

    offline = {p.text: p.labels for p in OnnxPredictor(export_dir).predict(TEXTS)}

    def one(i: int):
        with SeqClsClient(paddle_server.grpc_url) as c:
            return c.predict([TEXTS[i % len(TEXTS)]])[0]

    with cf.ThreadPoolExecutor(8) as pool:
        for r in pool.map(one, range(24)):
            assert r.labels == offline[r.text]
