"""ag.data: batches and DataLoader."""
import numpy as np
import pytest

import autograd_c as ag


def test_batches_in_order_and_types():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    out = list(ag.data.batches(X, y, batch_size=4))
    assert [len(b[1]) for b in out] == [4, 4, 2]
    assert isinstance(out[0][0], ag.Tensor) and out[0][0].dtype == np.float64
    assert isinstance(out[0][1], np.ndarray)
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in out]), X)
    assert [b.shape for b in ag.data.batches(X, batch_size=5)] == [(5, 2), (5, 2)]


def test_shuffle_is_seeded_and_a_permutation():
    X = np.arange(30.0)[:, None]
    y = np.arange(30)
    a = [yb for _, yb in ag.data.batches(X, y, batch_size=7, shuffle=True, seed=3)]
    b = [yb for _, yb in ag.data.batches(X, y, batch_size=7, shuffle=True, seed=3)]
    c = [yb for _, yb in ag.data.batches(X, y, batch_size=7, shuffle=True, seed=4)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not all(np.array_equal(p, q) for p, q in zip(a, c))
    assert sorted(np.concatenate(a).tolist()) == list(range(30))
    for xb, yb in ag.data.batches(X, y, batch_size=7, shuffle=True, seed=3):
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb)  # rows stay aligned


def test_drop_last_and_errors():
    X = np.zeros((10, 3))
    assert len(list(ag.data.batches(X, batch_size=4, drop_last=True))) == 2
    with pytest.raises(ValueError, match="same length"):
        list(ag.data.batches(X, np.zeros(9), batch_size=2))
    with pytest.raises(ValueError, match="batch_size"):
        list(ag.data.batches(X, batch_size=0))
    with pytest.raises(ValueError, match="at least one"):
        list(ag.data.batches(batch_size=2))


def test_dataloader_reiterates_with_new_orders():
    X = np.arange(12.0)[:, None]
    dl = ag.data.DataLoader(X, batch_size=5, shuffle=True, seed=0)
    assert len(dl) == 3
    e1 = np.concatenate([b.numpy()[:, 0] for b in dl])
    e2 = np.concatenate([b.numpy()[:, 0] for b in dl])
    assert sorted(e1) == sorted(e2) == list(range(12)) and not np.array_equal(e1, e2)
    assert len(ag.data.DataLoader(X, batch_size=5, drop_last=True)) == 2
    ints = list(ag.data.DataLoader(X, batch_size=12, to_tensor=False))
    assert isinstance(ints[0], np.ndarray)
