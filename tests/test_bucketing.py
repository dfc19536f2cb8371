"""Length-bucketed execution (hiercls.runtime.bucketing): the plan, and that it never
changes a row's logits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hiercls.runtime.bucketing import fixed_buckets, plan_buckets, row_lengths, run_bucketed


def plan_cost(groups, lengths, overhead) -> float:
    return sum(overhead + len(g) * max(1, int(np.max(lengths[g]))) for g in groups)


@pytest.mark.parametrize("n", [1, 2, 7, 33, 64])
@pytest.mark.parametrize("overhead", [0, 8, 32, 1e9])
def test_plan_covers_every_row_once_in_sorted_runs(n, overhead):
    lengths = np.random.default_rng(n).integers(1, 129, size=n)
    groups = plan_buckets(lengths, overhead)
    flat = np.concatenate(groups)
    assert sorted(flat.tolist()) == list(range(n))
    # Sub-batches are runs of the sorted order: no sub-batch's rows interleave another's.
    assert np.all(np.diff(lengths[flat]) >= 0)


def test_plan_is_optimal_against_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        lengths = rng.integers(1, 100, size=7)
        order = np.argsort(lengths, kind="stable")
        best = min(
            plan_cost([order[a:b] for a, b in zip((0, *cuts), (*cuts, 7))], lengths, 20)
            for k in range(7)
            for cuts in itertools.combinations(range(1, 7), k)
        )
        assert plan_cost(plan_buckets(lengths, 20), lengths, 20) == pytest.approx(best)


def test_overhead_trades_calls_for_padding():
    lengths = np.array([5, 6, 7, 60, 61, 62, 120])
    # Free calls: no padding at all.
    assert plan_cost(plan_buckets(lengths, 0), lengths, 0) == lengths.sum()
    assert [sorted(lengths[g].tolist()) for g in plan_buckets(lengths, 30)] == [[5, 6, 7], [60, 61, 62], [120]]
    assert len(plan_buckets(lengths, 1e9)) == 1


def test_max_rows_caps_every_sub_batch():
    lengths = np.full(50, 10)
    groups = plan_buckets(lengths, 1e9, max_rows=16)
    assert max(len(g) for g in groups) <= 16 and sum(len(g) for g in groups) == 50


def test_fixed_buckets_and_bad_rows():
    assert [len(g) for g in fixed_buckets(np.arange(10), 4)] == [4, 4, 2]
    with pytest.raises(ValueError, match="positive"):
        fixed_buckets(np.arange(3), 0)


def test_row_lengths_keep_inner_pads_and_all_pad_rows():
    pad = 1
    ids = np.array([[5, 6, 1, 1], [5, 1, 7, 1], [1, 1, 1, 1], [4, 4, 4, 4]])
    assert row_lengths(ids, pad).tolist() == [2, 3, 0, 4]
    with pytest.raises(ValueError, match=r"\[N, T\]"):
        row_lengths(ids[0], pad)


def test_results_come_back_in_request_order_with_each_row_cut_to_its_length():
    pad = 0
    ids = np.array([[3, 3, 3, 0], [2, 0, 0, 0], [4, 4, 4, 4], [1, 1, 0, 0]])
    seen = []

    def run(x, t):
        seen.append(x.shape)
        assert not np.all(x[:, -1] == pad), "a sub-batch was padded past its longest row"
        return x.sum(1, keepdims=True) * 10 + x.shape[1]

    out = run_bucketed(run, ids, np.zeros_like(ids), pad, call_overhead_tokens=0)
    assert out[:, 0].tolist() == [9 * 10 + 3, 2 * 10 + 1, 16 * 10 + 4, 2 * 10 + 2]
    assert sum(s[0] for s in seen) == 4


def test_bucketed_logits_equal_one_padded_batch(export_dir):
    """The real exported model: every row's logits as in one batch padded to the
    longest text (the model masks the pad id), whatever the split."""
    from hiercls.evaluation.predictor import OnnxPredictor

    predictor = OnnxPredictor(export_dir)
    sample = [
        "球队夺冠",
        "某科技公司召开发布会，正式推出新一代折叠屏手机，售价5999元起",
        "受行业下行影响，一家互联网企业宣布裁员约300人，涉及市场、销售和运营多个部门，补偿方案按N+1执行",
        "法院一审判决",
        "iPhone发布",
        "公司",
    ] * 3
    ids, types = predictor.encoder.encode(sample)
    whole = predictor.run(ids, types)
    for overhead in (0, 4, 32, 1e9):
        split = run_bucketed(predictor.run, ids, types, predictor.encoder.pad_id, overhead)
        np.testing.assert_allclose(split, whole, atol=1e-5, rtol=0)
    np.testing.assert_allclose(predictor.logits(sample, batch_size=4), whole, atol=1e-5, rtol=0)


def test_sub_batches_on_worker_threads_give_the_same_logits(export_dir):
    from hiercls.evaluation.predictor import OnnxPredictor

    texts = ["球队夺冠", "法院一审判决", "某科技公司召开发布会，正式推出新一代折叠屏手机", "iPhone发布", "公司"] * 4
    one = OnnxPredictor(export_dir, workers=1)
    two = OnnxPredictor(export_dir, workers=2)
    assert two.runner.workers == 2 and two.runner.pool is not None
    ids, types = one.encoder.encode(texts)
    whole = one.run(ids, types)
    np.testing.assert_allclose(two.runner(ids, types), whole, atol=1e-5, rtol=0)
    np.testing.assert_allclose(two.logits(texts, batch_size=3), whole, atol=1e-5, rtol=0)


def test_offline_prediction_is_not_held_to_the_serving_request_cap(export_dir):
    """A data set's thousand longest texts, encoded as one chunk, run past the
    characters one serving request may carry; offline that is no reason to refuse
    (the teacher of a distillation run once died on it)."""
    from hiercls.evaluation.predictor import OnnxPredictor
    from hiercls.runtime.guards import DEFAULT_MAX_REQUEST_CHARS

    text = "某科技公司召开发布会，正式推出新一代折叠屏手机，售价5999元起。" * 4
    texts = [text] * (DEFAULT_MAX_REQUEST_CHARS // len(text) + 50)
    assert sum(map(len, texts)) > DEFAULT_MAX_REQUEST_CHARS and len(texts) <= OnnxPredictor.CHUNK
    predictor = OnnxPredictor(export_dir)
    logits = predictor.logits(texts, batch_size=64)
    np.testing.assert_allclose(logits, np.repeat(predictor.logits(texts[:1]), len(texts), axis=0), atol=1e-5)


def test_spread_gives_every_worker_a_sub_batch_costliest_first():
    from hiercls.runtime.bucketing import spread

    lengths = np.array([10, 10, 10, 10, 50])
    groups = spread([np.arange(5)], lengths, 3)
    assert len(groups) == 3 and sorted(np.concatenate(groups).tolist()) == list(range(5))
    costs = [len(g) * lengths[g].max() for g in groups]
    assert costs == sorted(costs, reverse=True)
    assert len(spread([np.array([0])], lengths, 4)) == 1  # one row cannot be split
