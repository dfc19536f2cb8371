"""Integration: a real tritonserver serving the cpu-target repository."""

from __future__ import annotations

import concurrent.futures as cf

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from hiercls.client import SeqClsClient
from hiercls.data.reading import read_texts
from hiercls.evaluation.predictor import OnnxPredictor
from hiercls.runtime import contract

MIXED_TEXTS = [
    "球队夺冠",
    "某科技公司召开发布会，正式推出新一代折叠屏手机，售价5999元起",
    "法院一审判决",
    "受行业下行影响，一家互联网企业宣布裁员约300人，涉及市场、销售和运营多个部门，补偿方案按N+1执行",
    "iPhone发布",
]


@pytest.fixture(scope="module")
def client(triton_server):
    with SeqClsClient(triton_server.grpc_url) as c:
        yield c


@pytest.fixture(scope="module")
def raw(triton_server):
    return grpcclient.InferenceServerClient(triton_server.grpc_url)


def bytes_input(rows: list[list[bytes]], name: str = contract.TEXT_INPUT) -> grpcclient.InferInput:
    data = np.array(rows, dtype=object)
    inp = grpcclient.InferInput(name, list(data.shape), "BYTES")
    inp.set_data_from_numpy(data)
    return inp


def assert_same(served, offline) -> None:
    assert len(served) == len(offline)
    for s, o in zip(served, offline):
        assert s.text == o.text
        assert s.labels == o.labels, s.text
        assert s.label_ids == o.label_ids
        np.testing.assert_allclose(s.confidences, o.confidences, atol=1e-4)


def test_every_row_matches_offline_predictions(client, export_dir):
    served = client.predict(MIXED_TEXTS)
    offline = OnnxPredictor(export_dir).predict(MIXED_TEXTS)
    assert_same(served, offline)
    # Rows differ from each other: the postprocess does not answer row 0 for all.
    assert len({tuple(p.labels) for p in served}) > 1


def test_sample_data_file_matches_offline_and_learned_something(client, export_dir, sample_dir):
    texts = read_texts(sample_dir / "data.txt")
    served = client.predict(texts, batch_size=7)  # uneven chunks on purpose
    assert_same(served, OnnxPredictor(export_dir).predict(texts))
    assert sum(bool(p.labels) for p in served) > len(texts) // 2


def test_outputs_never_violate_the_hierarchy(client, sample_dir):
    texts = read_texts(sample_dir / "dev.txt")
    for p in client.predict(texts):
        for label in p.labels:
            if "##" in label:
                assert label.rsplit("##", 1)[0] in p.labels, p


def test_paddlenlp_style_client_works_unchanged(raw):
    # What PaddleNLP's seqcls_grpc_client.py does: read names from metadata, send
    # BYTES [N, 1], read every output by name.
    meta = raw.get_model_metadata("seqcls", "1")
    inputs = [t.name for t in meta.inputs]
    outputs = [t.name for t in meta.outputs]
    assert inputs == [contract.TEXT_INPUT]
    assert {contract.LABEL_OUTPUT, contract.CONFIDENCE_OUTPUT} <= set(outputs)
    texts = ["某公司宣布裁员900余人", "卡车侧翻"]
    result = raw.infer(
        "seqcls",
        [bytes_input([[t.encode()] for t in texts], inputs[0])],
        outputs=[grpcclient.InferRequestedOutput(n) for n in outputs],
    )
    assert result.as_numpy(contract.LABEL_OUTPUT).dtype == np.int64
    assert result.as_numpy(contract.CONFIDENCE_OUTPUT).dtype == np.float32
    assert result.as_numpy(contract.LABEL_OUTPUT).shape[0] == 2


@pytest.mark.parametrize(
    "make_input, message",
    [
        (lambda: bytes_input([[b""]]), "empty"),
        (lambda: bytes_input([[b"ok text"], [b"   "]]), "text 1 is empty"),
        (lambda: bytes_input([[b"\xff\xfe bad"]]), "UTF-8"),
        (lambda: bytes_input([[b"a", b"b"]]), "shape"),
        (lambda: _int_input(), "data-type"),
        (lambda: bytes_input([[b"x"]] * 17), "batch"),  # over max_batch_size 16
    ],
    ids=["empty", "blank-row", "invalid-utf8", "wrong-shape", "wrong-dtype", "too-many-rows"],
)
def test_bad_request_gets_an_error_and_server_keeps_serving(raw, client, make_input, message):
    with pytest.raises(InferenceServerException) as e:
        raw.infer("seqcls", [make_input()])
    assert message.lower() in str(e.value).lower()
    assert client.predict(["球队夺冠"])[0].text == "球队夺冠"


def _int_input() -> grpcclient.InferInput:
    inp = grpcclient.InferInput(contract.TEXT_INPUT, [1, 1], "INT32")
    inp.set_data_from_numpy(np.array([[1]], dtype=np.int32))
    return inp


def test_long_text_is_truncated_and_huge_text_refused(client, raw, export_dir):
    text = "法院判决" * 1_000  # 4,000 characters, far over 128 tokens
    (served,) = client.predict([text])
    (offline,) = OnnxPredictor(export_dir).predict([text])
    assert served.labels == offline.labels
    with pytest.raises(InferenceServerException, match="text 0 has 300000 bytes, over the limit"):
        raw.infer("seqcls", [bytes_input([["判".encode() * 100_000]])])
    assert client.predict(["球队夺冠"])[0].text == "球队夺冠"


def test_client_splits_inputs_larger_than_max_batch_size(client):
    texts = [f"第{i}场比赛球队夺冠" for i in range(40)]
    out = client.predict(texts, batch_size=64)
    assert [p.text for p in out] == texts
    assert client.max_batch_size == 16


def test_concurrent_requests_are_batched_and_answered_correctly(triton_server, export_dir):
    texts = MIXED_TEXTS
    offline = OnnxPredictor(export_dir).predict(texts)

    def one(i: int):
        with SeqClsClient(triton_server.grpc_url) as c:
            return c.predict([texts[i % len(texts)]])[0]

    with cf.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(40)))
    for i, r in enumerate(results):
        assert r.labels == offline[i % len(texts)].labels
    stats = grpcclient.InferenceServerClient(triton_server.grpc_url).get_inference_statistics("seqcls_model")
    s = stats.model_stats[0]
    assert s.inference_count >= 40


def test_server_log_folder_is_created(cpu_repository, tmp_path):
    from hiercls.serving.server import TritonServer

    log = tmp_path / "not" / "there" / "triton.log"
    with TritonServer(cpu_repository, log_file=log) as server:
        with SeqClsClient(server.grpc_url) as c:
            assert c.predict(["球队夺冠"])[0].text == "球队夺冠"
    assert log.is_file() and log.stat().st_size > 0


def test_concurrent_texts_of_different_lengths_share_model_executions(triton_server, export_dir):
    """Ragged batching: single-text requests whose widths all differ are merged by the
    dynamic batcher (which merges only equal shapes otherwise) and every row still
    gets the offline predictor's answer."""
    base = "某科技公司召开发布会正式推出新一代折叠屏手机受行业下行影响一家互联网企业宣布裁员约300人"
    # One text per 16-token width bucket: no two requests of a round share a shape.
    texts = [(base * 3)[: 8 + 16 * k] for k in range(7)]
    offline = {p.text: p.labels for p in OnnxPredictor(export_dir).predict(texts)}
    raw = grpcclient.InferenceServerClient(triton_server.grpc_url)

    def counts() -> tuple[int, int]:
        s = raw.get_inference_statistics("seqcls_model").model_stats[0]
        return s.inference_count, s.execution_count

    def one(text: str):
        with SeqClsClient(triton_server.grpc_url) as c:
            return c.predict([text])[0]

    rows0, runs0 = counts()
    with cf.ThreadPoolExecutor(len(texts)) as pool:
        for _ in range(6):  # rounds one after another: merges happen only within a round
            for r in pool.map(one, texts):
                assert r.labels == offline[r.text]
    rows1, runs1 = counts()
    assert rows1 - rows0 == 6 * len(texts)
    assert runs1 - runs0 < rows1 - rows0, "no two requests of different widths were merged"
