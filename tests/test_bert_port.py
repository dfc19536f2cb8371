"""ERNIE <-> BERT weight-name port used to run trained models in PyTorch on GPU hosts."""

from __future__ import annotations

import numpy as np

from hiercls.modeling.bert_port import bert_to_ernie, ernie_to_bert


def test_round_trip_and_transposes(checkpoint):
    import paddle

    sd = {k: v.numpy() for k, v in paddle.load(str(checkpoint / "model_state.pdparams")).items()}
    bert = ernie_to_bert(sd, num_layers=2, prefix="bert.")
    q = "ernie.encoder.layers.1.self_attn.q_proj.weight"
    np.testing.assert_array_equal(bert["bert.encoder.layer.1.attention.self.query.weight"], sd[q].T)
    np.testing.assert_array_equal(
        bert["bert.embeddings.word_embeddings.weight"], sd["ernie.embeddings.word_embeddings.weight"]
    )
    back = bert_to_ernie(bert, num_layers=2, prefix="bert.")
    encoder = {k for k in sd if k.startswith(("ernie.embeddings.", "ernie.encoder."))}
    assert set(back) == encoder - {"ernie.embeddings.task_type_embeddings.weight"}
    for k, v in back.items():
        np.testing.assert_array_equal(v, sd[k])
