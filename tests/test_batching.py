"""Tests for hiercls.data.batching: length-sorted batches and padding."""

import numpy as np
import pytest

from hiercls.data.batching import group_by_length, length_sorted_batches, pad_batch


@pytest.mark.parametrize("n, batch_size", [(1, 1), (10, 3), (64, 8), (100, 7), (5, 100)])
def test_batches_cover_every_index_once(n, batch_size):
    rng = np.random.default_rng(n)
    lengths = rng.integers(1, 50, n).tolist()
    batches = list(length_sorted_batches(lengths, batch_size))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(n))
    assert len(batches) == -(-n // batch_size)
    assert all(1 <= len(b) <= batch_size for b in batches)
    assert all(len(b) == batch_size for b in batches[:-1])
    # Sorted by length within and across batches.
    ordered = [lengths[i] for i in flat]
    assert ordered == sorted(lengths)
    for a, b in zip(batches, batches[1:]):
        assert max(lengths[i] for i in a) <= min(lengths[i] for i in b)


def test_hand_example_and_stable_ties():
    batches = list(length_sorted_batches([5, 1, 3, 1, 9, 3], 4))
    assert [b.tolist() for b in batches] == [[1, 3, 2, 5], [0, 4]]


def test_empty_and_bad_batch_size():
    assert list(length_sorted_batches([], 4)) == []
    for bad in (0, -1):
        with pytest.raises(ValueError, match="batch_size"):
            list(length_sorted_batches([1, 2], bad))


def test_pad_batch():
    out = pad_batch([[1, 2, 3], [4], [5, 6]])
    assert out.dtype == np.int64
    assert out.tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]]
    assert pad_batch([[7, 8], [9]], pad_id=-1).tolist() == [[7, 8], [9, -1]]
    assert pad_batch([np.array([1, 2])]).tolist() == [[1, 2]]


def test_group_by_length_keeps_every_text_and_shrinks_padding():
    lengths = np.random.default_rng(0).integers(5, 128, 1000)
    order = np.random.default_rng(1).permutation(1000)
    grouped = group_by_length(order, lengths, 32, np.random.default_rng(2), window=10)
    assert sorted(grouped.tolist()) == list(range(1000))
    widest = [lengths[grouped[i : i + 32]].max() for i in range(0, 1000, 32)]
    random_widest = [lengths[order[i : i + 32]].max() for i in range(0, 1000, 32)]
    assert np.mean(widest) < 0.8 * np.mean(random_widest)
    assert len(set(map(len, np.array_split(grouped, range(32, 1000, 32))))) <= 2  # 31 full batches + the rest
    # Batches are shuffled: not one long ascending run.
    firsts = [lengths[grouped[i]] for i in range(0, 960, 32)]
    assert firsts != sorted(firsts)
    again = group_by_length(order, lengths, 32, np.random.default_rng(2), window=10)
    np.testing.assert_array_equal(grouped, again)  # a resumed run sees the same batches


def test_paddle_gets_every_core_unless_told():
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = "import hiercls, os; print(os.environ['OMP_NUM_THREADS'])"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "PADDLE_TRAINERS_NUM")}
    run = lambda **extra: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, check=True
    ).stdout.strip()
    cores = os.cpu_count() or 1
    assert run() == str(cores)
    assert run(PADDLE_TRAINERS_NUM="2") == str(max(1, cores // 2))
    assert run(OMP_NUM_THREADS="1") == "1"
