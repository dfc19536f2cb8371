"""Tests for hiercls.batching: length-sorted batches and padding."""

import numpy as np
import pytest

from hiercls.batching import length_sorted_batches, pad_batch


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
