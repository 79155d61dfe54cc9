"""tinygrad_edu.data: minibatches, train/test split, the small data sets."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinygrad_edu import blog, data
from tinygrad_edu.data import DataLoader, train_test_split
from tinygrad_edu.tensor import Tensor


def _epoch(loader):
    return [tuple(a.copy() for a in batch) for batch in loader]


# ---- DataLoader ---------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), bs=st.integers(1, 12), shuffle=st.booleans(), drop_last=st.booleans())
def test_batches_cover_each_example_once(n, bs, shuffle, drop_last):
    idx = np.arange(n)
    X = np.stack([idx, -idx], axis=1).astype(np.float64)
    loader = DataLoader(X, idx, batch_size=bs, shuffle=shuffle, drop_last=drop_last, rng=0)
    batches = _epoch(loader)
    assert len(batches) == len(loader) == (n // bs if drop_last else -(-n // bs))
    seen = np.concatenate([b[1] for b in batches]) if batches else np.array([], dtype=int)
    for xb, ib in batches:
        assert np.array_equal(xb[:, 0], ib) and np.array_equal(xb[:, 1], -ib)  # rows stay aligned
        assert len(ib) == bs or (not drop_last and ib is batches[-1][1])
    assert len(set(seen.tolist())) == len(seen)  # no repeats
    if not drop_last:
        assert sorted(seen.tolist()) == list(range(n))
    if not shuffle:
        assert np.array_equal(seen, np.arange(len(seen)))


def test_shuffle_is_reproducible_and_reshuffled_each_epoch():
    X = np.arange(50)
    a = DataLoader(X, batch_size=7, shuffle=True, rng=123)
    b = DataLoader(X, batch_size=7, shuffle=True, rng=np.random.default_rng(123))
    a1, a2 = _epoch(a), _epoch(a)
    b1, b2 = _epoch(b), _epoch(b)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(a1 + a2, b1 + b2))
    assert not np.array_equal(np.concatenate([x[0] for x in a1]), np.concatenate([x[0] for x in a2]))
    c = _epoch(DataLoader(X, batch_size=7, shuffle=True, rng=124))
    assert not np.array_equal(np.concatenate([x[0] for x in a1]), np.concatenate([x[0] for x in c]))


def test_yields_tuples_of_arrays_even_for_one_array_and_accepts_tensors():
    loader = DataLoader(Tensor(np.ones((5, 2))), batch_size=2)
    batches = list(loader)
    assert all(isinstance(b, tuple) and len(b) == 1 and isinstance(b[0], np.ndarray) for b in batches)
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.ones(5), np.ones(4)), {"batch_size": 2}, r"different lengths \[5, 4\]"),
    ((np.ones(5),), {"batch_size": 0}, "batch_size"),
    ((np.ones(5),), {"batch_size": 2.0}, "batch_size"),
    ((np.float64(3.0),), {"batch_size": 1}, "scalar"),
    ((), {"batch_size": 1}, "at least one array"),
])
def test_loader_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(*args, **kwargs)


# ---- train_test_split ---------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 60), frac=st.floats(0.01, 0.99), seed=st.integers(0, 100))
def test_split_is_a_partition_of_the_right_size(n, frac, seed):
    idx = np.arange(n)
    n_test = int(np.ceil(frac * n))
    if not 0 < n_test < n:
        with pytest.raises(ValueError, match="test_size"):
            train_test_split(idx, test_size=frac)
        return
    tr, te, tr2, te2 = train_test_split(idx, idx * 10, test_size=frac, rng=seed)
    assert len(te) == n_test and len(tr) == n - n_test
    assert sorted(np.concatenate([tr, te]).tolist()) == list(range(n))
    assert np.array_equal(tr2, tr * 10) and np.array_equal(te2, te * 10)
    again = train_test_split(idx, test_size=frac, rng=seed)
    assert np.array_equal(again[0], tr) and np.array_equal(again[1], te)


def test_split_without_shuffle_and_int_size():
    tr, te = train_test_split(np.arange(10), test_size=3, shuffle=False)
    assert np.array_equal(tr, np.arange(7)) and np.array_equal(te, np.arange(7, 10))


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(2, 30), min_size=2, max_size=5), frac=st.floats(0.1, 0.6),
       seed=st.integers(0, 100))
def test_stratified_split_keeps_class_proportions(counts, frac, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    n = len(y)
    n_test = int(np.ceil(frac * n))
    if n_test >= n:
        return
    X = np.arange(n)
    tr, te, ytr, yte = train_test_split(X, y, test_size=frac, rng=seed, stratify=y)
    assert len(te) == n_test and sorted(np.concatenate([tr, te]).tolist()) == list(range(n))
    assert np.array_equal(y[te], yte)
    quota = np.array(counts) * n_test / n
    got = np.bincount(yte, minlength=len(counts))
    assert np.all(np.abs(got - quota) < 1)  # each class within rounding of its exact share


def test_stratified_exact_case():
    y = np.array([0] * 80 + [1] * 20)
    _, yte = train_test_split(y, test_size=0.25, rng=0, stratify=y)
    assert np.bincount(yte).tolist() == [20, 5]


@pytest.mark.parametrize("kwargs, match", [
    ({"test_size": 0.0}, "test_size"),
    ({"test_size": 1.0}, "test_size"),
    ({"test_size": 10}, "test_size"),
    ({"test_size": "a"}, "test_size"),
    ({"stratify": np.zeros(10), "shuffle": False}, "shuffle"),
    ({"stratify": np.zeros(9)}, "stratify"),
    ({"stratify": np.array([0] * 9 + [1])}, r"classes \[1\]"),
])
def test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(np.arange(10), **kwargs)


def test_split_length_mismatch():
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split(np.arange(10), np.arange(9))


# ---- data sets ----------------------------------------------------------------------
def test_blog_tables():
    X, y = data.blog_part1()
    assert X.dtype == y.dtype == np.float64 and X.shape == (4, 3) and y.shape == (4, 1)
    assert np.array_equal(X, blog.X) and np.array_equal(y[:, 0], X[:, 0])
    X2, y2 = data.blog_part2()
    assert np.array_equal(X2, X) and np.array_equal(y2[:, 0], np.logical_xor(X[:, 0], X[:, 1]))
    X[0, 0] = 7  # fresh copies: the blog's constants are not changed
    assert blog.X[0, 0] == 0


def test_xor():
    X, y = data.xor(64, noise=0.0, rng=0)
    assert X.shape == (64, 2) and y.shape == (64,) and y.dtype == np.int64
    assert np.all((X == 0) | (X == 1))
    assert np.array_equal(y, X[:, 0].astype(int) ^ X[:, 1].astype(int))
    assert set(y.tolist()) == {0, 1}
    Xn, yn = data.xor(64, noise=0.1, rng=0)
    assert np.array_equal(yn, y) and 0 < np.abs(Xn - X).max() < 1


def test_spirals():
    X, y = data.spirals(50, 4, noise=0.0, rng=0)
    assert X.shape == (200, 2) and np.array_equal(np.bincount(y), [50] * 4)
    r = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(r, np.tile(np.linspace(0, 1, 50), 4), atol=1e-15)


def test_moons():
    X, y = data.moons(101, noise=0.0, rng=0)
    assert X.shape == (101, 2) and np.bincount(y).tolist() == [50, 51]
    np.testing.assert_allclose(np.linalg.norm(X[y == 0], axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(X[y == 1] - [1.0, 0.5], axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("fn", [data.xor, data.moons, lambda n, noise, rng: data.spirals(n, 3, noise, rng)])
def test_generators_are_reproducible(fn):
    a, b, c = fn(30, 0.2, 5), fn(30, 0.2, 5), fn(30, 0.2, 6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("call, match", [
    (lambda: data.xor(0), "n must be"),
    (lambda: data.moons(10, noise=-1), "noise"),
    (lambda: data.spirals(10, 0), "n_classes"),
    (lambda: data.spirals(10, 2, noise=float("inf")), "noise"),
])
def test_generator_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---- map-style datasets ----------------------------------------------------------------
def test_tensor_dataset_loader_equals_the_array_form():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = data.TensorDataset(X, Tensor(y))
    assert len(ds) == 10 and all(np.array_equal(a, b) for a, b in zip(ds[3], (X[3], y[3])))
    a = list(data.DataLoader(ds, batch_size=4, shuffle=True, rng=5))
    b = list(data.DataLoader(X, y, batch_size=4, shuffle=True, rng=5))
    assert len(a) == len(b) == 3
    assert all(np.array_equal(u, v) for ba, bb in zip(a, b) for u, v in zip(ba, bb))


def test_a_list_of_pairs_is_collated_like_pytorch():
    pairs = [(np.full(3, float(i)), i % 2) for i in range(5)]
    batches = list(data.DataLoader(pairs, batch_size=2))
    assert len(batches) == 3
    xb, yb = batches[0]
    assert xb.shape == (2, 3) and np.array_equal(xb[1], np.full(3, 1.0)) and np.array_equal(yb, [0, 1])
    assert batches[-1][0].shape == (1, 3)
    dicts = [{"x": np.ones(2) * i, "label": i} for i in range(4)]
    (batch,) = list(data.DataLoader(dicts, batch_size=4))
    assert set(batch) == {"x", "label"} and batch["x"].shape == (4, 2)


def test_a_custom_dataset_class_and_collate_fn():
    class Squares:
        def __len__(self):
            return 7

        def __getitem__(self, i):
            if not 0 <= i < 7:
                raise IndexError(i)
            return np.array([i, i * i], dtype=float)

    batches = list(data.DataLoader(Squares(), batch_size=3, drop_last=True))
    assert len(batches) == 2 and np.array_equal(batches[1][:, 1], [9.0, 16.0, 25.0])
    sums = list(data.DataLoader(Squares(), batch_size=4, collate_fn=lambda s: sum(v[1] for v in s)))
    assert sums == [14.0, 77.0]


def test_collation_errors_name_the_problem():
    with pytest.raises(ValueError, match="different shapes"):
        list(data.DataLoader([(np.ones(2),), (np.ones(3),)], batch_size=2))
    with pytest.raises(TypeError, match="collate_fn="):
        list(data.DataLoader([("a", 1), ("b", 2)], batch_size=2))
    with pytest.raises(TypeError, match="applies to a dataset"):
        data.DataLoader(np.ones(3), collate_fn=list)
    # a nested list of numbers is still an array (not a dataset of samples)
    (xb,), = list(data.DataLoader([[1.0, 2.0], [3.0, 4.0]], batch_size=2))
    assert xb.shape == (2, 2)
