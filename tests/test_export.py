"""Export: the ONNX model's contract and its agreement with the Paddle checkpoint."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from hiercls.runtime import contract


def test_export_folder_contents(export_dir):
    for name in (
        "model.onnx",
        "inference.pdiparams",
        "tokenizer.json",
        "label.txt",
        "thresholds.json",
        "export_meta.json",
    ):
        assert (export_dir / name).is_file(), name
    meta = json.loads((export_dir / "export_meta.json").read_text())
    assert meta["num_labels"] == 20 and meta["max_seq_length"] == 128
    assert meta["onnx_parity_max_abs_diff"] < 1e-3


def test_onnx_names_are_the_contract(export_dir):
    m = onnx.load(str(export_dir / "model.onnx"))
    assert sorted(i.name for i in m.graph.input) == sorted([contract.INPUT_IDS, contract.TOKEN_TYPE_IDS])
    assert [o.name for o in m.graph.output] == [contract.LOGITS]


@pytest.mark.parametrize("batch,length", [(1, 5), (3, 17), (8, 64)])
def test_onnx_matches_paddle_for_dynamic_shapes(checkpoint, export_dir, batch, length):
    import paddle

    from hiercls.modeling.checkpoint import load_checkpoint

    model, _ = load_checkpoint(checkpoint)
    rng = np.random.default_rng(batch)
    ids = rng.integers(5, 300, size=(batch, length)).astype(np.int64)
    ids[:, 0] = 1
    ids[0, length // 2 :] = 0  # padding in one row
    with paddle.no_grad():
        x = paddle.to_tensor(ids)
        ref = model(x, token_type_ids=paddle.zeros_like(x)).numpy()
    sess = ort.InferenceSession(str(export_dir / "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run([contract.LOGITS], {contract.INPUT_IDS: ids, contract.TOKEN_TYPE_IDS: np.zeros_like(ids)})[0]
    assert got.shape == (batch, 20)
    np.testing.assert_allclose(got, ref, atol=1e-4)


def test_padding_does_not_change_a_rows_logits(export_dir):
    from hiercls.evaluation.predictor import OnnxPredictor

    p = OnnxPredictor(export_dir)
    alone = p.logits(["球队夺冠"])
    with_long_neighbour = p.logits(
        ["球队夺冠", "一家互联网企业宣布裁员约300人，涉及市场、销售和运营多个部门"], batch_size=2
    )
    np.testing.assert_allclose(alone[0], with_long_neighbour[0], atol=1e-4)


def test_parity_failure_is_reported(checkpoint, tmp_path):
    from hiercls.export.onnx import ParityError, export_checkpoint

    with pytest.raises(ParityError, match="differ"):
        export_checkpoint(checkpoint, tmp_path / "exp", tolerance=-1.0)
    assert not (tmp_path / "exp").exists()
