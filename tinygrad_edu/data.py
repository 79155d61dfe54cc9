"""Data: a minibatch loader, a train/test split, and small synthetic data sets.

Everything here works on numpy arrays and yields numpy arrays: the layers
take arrays directly (``model(xb)``), and a batch used as a target needs no
gradient, so wrapping it in a Tensor would only cost time. The generators
need nothing beyond numpy, so tests and examples can use them offline.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

from .blog import X as _BLOG_X, Y_PART1 as _BLOG_Y1, Y_PART2 as _BLOG_Y2
from .nn._rng import as_generator
from .tensor import Tensor

__all__ = ["DataLoader", "TensorDataset", "default_collate", "train_test_split", "blog_part1", "blog_part2", "xor", "spirals", "moons"]


def _as_arrays(name, arrays):
    """The arrays as ndarrays (Tensors give their data), checked to share a first axis."""
    if not arrays:
        raise ValueError(f"{name}: at least one array is required")
    out = []
    for i, a in enumerate(arrays):
        if isinstance(a, Tensor) and a.requires_grad:
            # the batches are plain arrays: the graph would be dropped silently
            raise TypeError(f"{name}: array {i} is a Tensor that requires grad (shape {a.shape}); "
                            "batches are numpy arrays without a graph, so pass t.detach()")
        a = a.data if isinstance(a, Tensor) else np.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"{name}: array {i} is a scalar (shape ()); arrays need a first axis to index")
        if a.dtype == object:
            raise ValueError(f"{name}: array {i} has dtype object; give numeric arrays")
        out.append(a)
    lengths = [len(a) for a in out]
    if len(set(lengths)) > 1:
        shapes = ", ".join(str(a.shape) for a in out)
        raise ValueError(f"{name}: the arrays have different lengths {lengths} (shapes {shapes}); "
                         "they must have the same size along the first axis")
    return out


class TensorDataset:
    """A map-style dataset of arrays that share their first axis (``torch.utils.data.TensorDataset``).

    ``TensorDataset(X, y)[i] == (X[i], y[i])`` as numpy arrays; ``len`` is N.
    A :class:`DataLoader` over it indexes the arrays once per batch (fast),
    not once per example. Raises ValueError as :class:`DataLoader` does for
    arrays of different lengths, scalars or object arrays, and TypeError for
    a Tensor that requires grad (the arrays keep no graph: pass ``t.detach()``).
    """

    def __init__(self, *tensors):
        self.tensors = tuple(_as_arrays("TensorDataset", tensors))

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, idx):
        return tuple(a[idx] for a in self.tensors)

    def __repr__(self):
        return f"TensorDataset({', '.join(str(a.shape) for a in self.tensors)})"


def default_collate(samples):
    """Stack a list of samples into one batch, as PyTorch's ``default_collate`` (numpy arrays here).

    Samples that are tuples or lists give a tuple with one batch per field;
    dicts give a dict (same keys); arrays, Tensors and numbers are stacked
    along a new first axis (``np.stack``), so B samples of shape S give
    ``(B, *S)``; Tensors that require grad are stacked with their graph
    (a Tensor, as PyTorch's). Raises TypeError for samples numpy cannot stack (strings,
    objects) and ValueError for fields of different shapes, naming them.
    """
    first = samples[0]
    if isinstance(first, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError(f"default_collate: samples have different numbers of fields "
                             f"({sorted({len(s) for s in samples})})")
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if any(isinstance(s, Tensor) and s.requires_grad for s in samples):
        from .ops.shape import stack  # PyTorch's collate stacks with the graph: so do we
        return stack(samples)
    arrays = [s.data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    if arrays[0].dtype.kind not in "biufc":
        raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__} "
                        f"(dtype {arrays[0].dtype}); pass collate_fn=")
    try:
        return np.stack(arrays)
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        raise ValueError(f"default_collate: samples of different shapes {shapes} cannot be stacked; "
                         "pad them or pass collate_fn=") from None


def _is_dataset(arrays):
    """One positional argument that is a map-style dataset rather than an array.

    A list or tuple counts as a dataset when its items are tuples or dicts
    (``[(x0, y0), (x1, y1), ...]``); a nested list of numbers is an array.
    """
    if len(arrays) != 1:
        return False
    d = arrays[0]
    if isinstance(d, (np.ndarray, Tensor)):
        return False
    if isinstance(d, (list, tuple)):
        if isinstance(d, tuple) and len(d) > 1 and all(isinstance(a, (np.ndarray, Tensor)) for a in d):
            shapes = [tuple(a.shape) for a in d]
            raise TypeError(f"DataLoader: got one tuple of {len(d)} arrays (shapes {shapes}); pass "
                            "them as separate arguments, DataLoader(X, y, ...), or wrap them: "
                            "DataLoader(TensorDataset(X, y), ...)")
        return len(d) > 0 and isinstance(d[0], (tuple, Mapping))
    return hasattr(d, "__getitem__") and hasattr(d, "__len__")


def _read_only(a):
    a.flags.writeable = False  # a view of the data set (or a fresh copy): never written
    return a


class DataLoader:
    """Iterate over minibatches of arrays, or of a map-style dataset.

    Two forms:

    * ``DataLoader(X, y, batch_size=32, shuffle=True, rng=0)``: one or more
      arrays that share their first axis; yields tuples ``(X[idx], y[idx])``
      for consecutive chunks ``idx`` of the example indices.
    * ``DataLoader(dataset, batch_size=32)``, as PyTorch: ``dataset`` is
      anything with ``__len__`` and ``__getitem__`` (a :class:`TensorDataset`,
      your own class, or a list of ``(x, y)`` pairs); each batch is
      ``collate_fn([dataset[i] for i in idx])``, by default
      :func:`default_collate` (a tuple of stacked numpy arrays for tuple
      samples). A :class:`TensorDataset` is indexed once per batch.

    Args:
        *arrays: arrays (or Tensors, or array-likes) with the same length N,
            or a single dataset.
        batch_size: examples per batch (a positive int); the last batch may be
            smaller unless ``drop_last``.
        shuffle: visit the examples in a new random order every epoch (every
            ``iter()``); otherwise in order.
        drop_last: drop the last, incomplete batch.
        rng: None (fresh entropy), an int seed or a ``np.random.Generator``.
            With a seed the whole sequence of epochs is reproducible: a new
            DataLoader with the same seed yields the same batches.
        collate_fn: how a list of samples becomes a batch (dataset form only).

    Yields:
        Array form: tuples of numpy arrays, one per input array, each
        ``(B, ...)``, even for a single array (``for (xb,) in DataLoader(X, ...)``);
        read-only: without shuffle they are views into the arrays (no copy),
        so an in-place write (PyTorch's ``xb /= 255``, safe there on a
        collated copy) would change the data set for every later epoch;
        it raises instead. Copy first (``xb = xb / 255``).
        Dataset form: whatever ``collate_fn`` returns.

    ``len(loader)`` is the number of batches per epoch:
    ``ceil(N / batch_size)``, or ``N // batch_size`` with ``drop_last``.

    Raises:
        ValueError: no arrays, arrays of different lengths, a scalar or
            object array, or ``batch_size`` not a positive integer.
        TypeError: ``collate_fn`` with arrays (they need no collation), or
            a Tensor that requires grad among the arrays (its graph would be
            dropped; pass ``t.detach()``).
    """

    def __init__(self, *arrays, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 rng=None, collate_fn=None):
        if (not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if _is_dataset(arrays):
            self.dataset = arrays[0]
            self.arrays = list(self.dataset.tensors) if isinstance(self.dataset, TensorDataset) else None
            self.collate_fn = default_collate if collate_fn is None else collate_fn
        else:
            if collate_fn is not None:
                raise TypeError("DataLoader: collate_fn= applies to a dataset, not to arrays "
                                "(wrap them: DataLoader(TensorDataset(X, y), collate_fn=...))")
            self.dataset = None
            self.arrays = _as_arrays("DataLoader", arrays)
            self.collate_fn = None
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = as_generator(rng)

    @property
    def num_examples(self) -> int:
        """N, the number of examples."""
        return len(self.arrays[0]) if self.arrays is not None else len(self.dataset)

    def __len__(self):
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def __iter__(self):
        n, b = self.num_examples, self.batch_size
        order = self.rng.permutation(n) if self.shuffle else None
        fast = self.arrays is not None and (self.dataset is None or self.collate_fn is default_collate)
        for k in range(len(self)):
            if fast:
                idx = slice(k * b, (k + 1) * b) if order is None else order[k * b:(k + 1) * b]
                yield tuple(_read_only(a[idx]) for a in self.arrays)
            else:
                idx = range(k * b, min((k + 1) * b, n)) if order is None else order[k * b:(k + 1) * b]
                yield self.collate_fn([self.dataset[int(i)] for i in idx])

    def __repr__(self):
        what = (type(self.dataset).__name__ if self.dataset is not None
                else ", ".join(str(a.shape) for a in self.arrays))
        return (f"DataLoader({what}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")


def _split_sizes(n, test_size):
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
        if not 0 < n_test < n:
            raise ValueError(f"train_test_split: test_size={n_test} must be in [1, {n - 1}] for "
                             f"{n} examples (both sets must be non-empty)")
    elif isinstance(test_size, numbers.Real) and not isinstance(test_size, bool):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"train_test_split: a fractional test_size must be in (0, 1), got {test_size}")
        n_test = math.ceil(test_size * n)
        if not 0 < n_test < n:
            raise ValueError(f"train_test_split: test_size={test_size} of {n} examples gives "
                             f"{n_test} test and {n - n_test} training examples; both must be non-empty")
    else:
        raise ValueError(f"train_test_split: test_size must be a float in (0, 1) or an int, got {test_size!r}")
    return n - n_test, n_test


def _stratified_test_indices(labels, n_test, gen):
    """Pick ``n_test`` indices with each class's share as close as possible to its share of the data.

    Largest-remainder apportionment: each class first gets the floor of its
    exact quota ``count * n_test / n``; the leftover places go to the classes
    with the largest fractional parts (ties to the earlier class in sorted order).
    """
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if np.any(counts < 2):
        bad = classes[counts < 2]
        raise ValueError(f"train_test_split: stratify: classes {bad.tolist()} have fewer than 2 "
                         "members, so they cannot be in both the training and test sets")
    quota = counts * n_test / len(labels)
    take = np.floor(quota).astype(np.int64)
    leftover = n_test - int(take.sum())
    order = np.argsort(-(quota - take), kind="stable")
    take[order[:leftover]] += 1
    picked = [gen.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(take)]
    return np.concatenate(picked)


def train_test_split(*arrays, test_size=0.2, rng=None, shuffle: bool = True, stratify=None):
    """Split arrays into random training and test subsets, as scikit-learn's function.

    Args:
        *arrays: arrays (or Tensors) with the same length N.
        test_size: a float in (0, 1), the fraction of examples held out
            (``ceil(test_size * N)`` of them), or an int count.
        rng: None, an int seed or a ``np.random.Generator`` (seed it for a
            reproducible split).
        shuffle: shuffle before splitting; with ``shuffle=False`` the test set
            is the last examples, in order.
        stratify: class labels of length N; the split then keeps each class's
            proportion (up to rounding) in both sets. Requires ``shuffle``.

    Returns:
        A list ``[a_train, a_test, b_train, b_test, ...]`` of numpy arrays (copies).

    Raises:
        ValueError: arrays of different lengths, a test size that leaves
            either set empty, ``stratify`` of the wrong length, with
            ``shuffle=False``, or with a class of fewer than 2 members.
    """
    arrays = _as_arrays("train_test_split", arrays)
    n = len(arrays[0])
    n_train, n_test = _split_sizes(n, test_size)
    gen = as_generator(rng)
    if stratify is not None:
        if not shuffle:
            raise ValueError("train_test_split: stratify requires shuffle=True")
        labels = stratify.data if isinstance(stratify, Tensor) else np.asarray(stratify)
        if labels.shape[:1] != (n,):
            raise ValueError(f"train_test_split: stratify has shape {labels.shape}, expected ({n},) labels")
        labels = labels.reshape(n, -1)
        if labels.shape[1] > 1:  # rows as labels (e.g. one-hot)
            labels = np.unique(labels, axis=0, return_inverse=True)[1].ravel()
        else:
            labels = labels.ravel()
        test = gen.permutation(_stratified_test_indices(labels, n_test, gen))
        mask = np.ones(n, dtype=bool)
        mask[test] = False
        train = gen.permutation(np.flatnonzero(mask))
    elif shuffle:
        perm = gen.permutation(n)
        train, test = perm[:n_train], perm[n_train:]
    else:
        train, test = np.arange(n_train), np.arange(n_train, n)
    out = []
    for a in arrays:
        out += [a[train], a[test]]
    return out


# ---- small data sets ------------------------------------------------------
def blog_part1():
    """The blog's Part 1 table: ``X`` (4, 3) float64 and ``y`` (4, 1) float64, y = the first column of X.

    From "A Neural Network in 11 lines of Python" (iamtrask, 2015); the
    values are exactly ``tinygrad_edu.blog.X`` and ``Y_PART1``, as floats.
    """
    return _BLOG_X.astype(np.float64), _BLOG_Y1.astype(np.float64)


def blog_part2():
    """The blog's Part 2 table: ``X`` (4, 3) float64 and ``y`` (4, 1) float64, y = XOR of X's first two columns."""
    return _BLOG_X.astype(np.float64), _BLOG_Y2.astype(np.float64)


def _check_n(name, **sizes):
    for k, v in sizes.items():
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name}: {k} must be a positive integer, got {v!r}")


def _check_noise(name, noise):
    if not (isinstance(noise, numbers.Real) and noise >= 0 and math.isfinite(noise)):
        raise ValueError(f"{name}: noise must be a finite number >= 0, got {noise!r}")


def xor(n: int = 200, noise: float = 0.1, rng=None):
    """Points around the four corners of the unit square, labelled by XOR of the corner's coordinates.

    Each point is a corner (0/1, 0/1) drawn uniformly, plus Gaussian noise
    of standard deviation ``noise``; its label is ``x0_corner XOR x1_corner``.
    Not linearly separable: the blog's Part 2 problem with many noisy examples.

    Returns:
        ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, 1}.

    Raises ValueError for ``n < 1`` or negative ``noise``.
    """
    _check_n("xor", n=n)
    _check_noise("xor", noise)
    gen = as_generator(rng)
    corners = (gen.random((n, 2)) < 0.5).astype(np.int64)
    X = corners + noise * gen.standard_normal((n, 2))
    return X, (corners[:, 0] ^ corners[:, 1]).astype(np.int64)


def spirals(n_per_class: int = 100, n_classes: int = 3, noise: float = 0.2, rng=None):
    """Interleaved spiral arms, one per class (the CS231n "spiral" data set).

    Arm k: radius r = linspace(0, 1, n_per_class), angle
    ``t = linspace(4k, 4(k+1), n_per_class) + noise * N(0, 1)``, point
    ``(r sin t, r cos t)``. Examples are grouped by class, in order.

    Returns:
        ``X`` (n_per_class * n_classes, 2) float64 and ``y`` (same length,) int64 in [0, n_classes).

    Raises ValueError for sizes < 1 or negative ``noise``.
    """
    _check_n("spirals", n_per_class=n_per_class, n_classes=n_classes)
    _check_noise("spirals", noise)
    gen = as_generator(rng)
    X = np.empty((n_per_class * n_classes, 2))
    y = np.repeat(np.arange(n_classes, dtype=np.int64), n_per_class)
    r = np.linspace(0.0, 1.0, n_per_class)
    for k in range(n_classes):
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n_per_class) + noise * gen.standard_normal(n_per_class)
        X[k * n_per_class:(k + 1) * n_per_class] = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return X, y


def moons(n: int = 200, noise: float = 0.1, rng=None):
    """Two interleaving half circles, as scikit-learn's ``make_moons``.

    Class 0: ``(cos s, sin s)``, class 1: ``(1 - cos s, 1 - sin s - 0.5)`` for
    s evenly spaced in [0, pi] (``n // 2`` points in class 0, the rest in
    class 1), plus Gaussian noise of std ``noise``; rows shuffled.

    Returns:
        ``X`` (n, 2) float64 and ``y`` (n,) int64 in {0, 1}.

    Raises ValueError for ``n < 1`` or negative ``noise``.
    """
    _check_n("moons", n=n)
    _check_noise("moons", noise)
    gen = as_generator(rng)
    n_out = n // 2
    n_in = n - n_out
    s_out, s_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.column_stack([np.cos(s_out), np.sin(s_out)]),
                        np.column_stack([1 - np.cos(s_in), 1 - np.sin(s_in) - 0.5])])
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    X = X + noise * gen.standard_normal(X.shape)
    perm = gen.permutation(n)
    return X[perm], y[perm]
