"""Statistics: nansum, nanmean, average, ptp, median, nanmedian, quantile, percentile.

All are compositions of recorded ops (select, sum, divide, and the
selections of ``ops/sorting.py``), so they need no backward rules of their
own and second derivatives come for free. The forward values equal numpy's
bit for bit: the same arithmetic in the same order.

* NaN-skipping reductions *select* (``where(isnan(x), 0, x)``): the gradient
  at a NaN entry is exactly 0, never ``0 * nan``.
* Order statistics (median, quantile) pick elements of a stable sort
  (``np.argsort(stable=True)``); the gradient goes to the picked elements,
  split between the two neighbours of an interpolated quantile as numpy's
  ``'linear'`` method weighs them: ``(1 - gamma)`` and ``gamma``. At ties the
  elements at the picked positions of the stable order (the earlier ones in
  the input first) receive the gradient; it is not shared among equal values.

PyTorch's ``median``/``nanmedian`` return the *lower* of the two middle
values of an even-sized slice (and, with ``dim=``, a ``(values, indices)``
pair), numpy's the mean of the two. ``tinygrad_edu.median``/``np.median``
are numpy's; the methods ``Tensor.median``/``Tensor.nanmedian`` (which exist
only in PyTorch) raise TypeError naming both ways (PyTorch's value is
``quantile(t, 0.5, method='lower')``).
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .._mode import guard
from ..tensor import Tensor
from ._common import as_operand, axis_args, axis_error
from .elementwise import where as _select
from .reduce import max as _max, mean as _mean, min as _min, sum as _sum
from .shape import astype, reshape, transpose
from .sorting import take_along

__all__ = ["nansum", "nanmean", "average", "ptp", "median", "nanmedian", "quantile", "percentile"]
from ._common import asarray as _asarray


def _no(op, **given):
    bad = sorted(k for k, v in given.items() if v is not None and v is not False)
    if bad:
        raise TypeError(f"{op}: {', '.join(k + '=' for k in bad)} not supported on Tensors")


def _floating(x):
    return x.dtype.kind == "f"


# ---- NaN-skipping sums and means ----------------------------------------------------------
def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None, *,
           dim=None, keepdim=None):
    """Sum over ``axis`` treating NaN as 0 (``np.nansum``; ``torch.nansum``).

    The gradient is 1 at every non-NaN element and exactly 0 at NaN
    elements (a select). Shape as :func:`tinygrad_edu.sum`.
    """
    _no("nansum", dtype=dtype, out=out, initial=initial, where=where)
    x = as_operand("nansum", a)
    if x.dtype.kind not in "fc":  # no NaN in integers
        return _sum(x, axis, keepdims, dim=dim, keepdim=keepdim)
    return _sum(_zero_nans(x), axis, keepdims, dim=dim, keepdim=keepdim)


def _zero_nans(x):
    nan = np.isnan(x.data)
    return _select(nan, 0, x) if guard(nan.any()) else x


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None, dim=None,
            keepdim=None):
    """Mean over ``axis`` of the non-NaN elements (``np.nanmean``; ``torch.nanmean``).

    ``sum of non-NaN / count of non-NaN``; an all-NaN slice gives NaN with
    numpy's RuntimeWarning "Mean of empty slice". Gradient: ``1/count`` at
    non-NaN elements, exactly 0 at NaN elements (selected, so an all-NaN
    slice sends no inf or NaN back).
    """
    _no("nanmean", dtype=dtype, out=out, where=where)
    x = as_operand("nanmean", a)
    if x.dtype.kind not in "fc":
        return _mean(x, axis, keepdims, dim=dim, keepdim=keepdim)
    nan = np.isnan(x.data)
    if not guard(nan.any()):
        return _mean(x, axis, keepdims, dim=dim, keepdim=keepdim)
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    tot = _sum(_select(nan, 0, x), axis, keepdims)
    cnt = np.sum(~nan, axis=axis, keepdims=keepdims)
    empty = cnt == 0
    if guard(empty.any()):
        warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=2)
        # divide by 1 there and select NaN: no 0/0 in the forward, no g/0 in the backward
        return _select(empty, np.nan, tot / np.where(empty, 1, cnt).astype(x.dtype))
    return tot / cnt.astype(x.dtype)


def average(a, axis=None, weights=None, returned=False, *, keepdims=False):
    """Weighted mean ``sum(a * w, axis) / sum(w, axis)`` (``np.average``).

    ``weights`` (None: the plain mean) is an array or a Tensor, which gets a
    gradient too; it has ``a``'s shape, or the shape of ``a`` along ``axis``
    (an int or a tuple). ``returned=True`` also returns the sum of the
    weights, broadcast to the result's shape (as numpy).

    Raises TypeError when the shapes differ and ``axis`` is None,
    ValueError when ``weights`` does not fit ``a`` along ``axis``,
    ZeroDivisionError when the weights of a slice sum to zero (numpy's
    errors).
    """
    x = as_operand("average", a)
    if weights is None:
        avg = _mean(x, axis, keepdims)
        if not returned:
            return avg
        scl = np.full(avg.shape, x.size / max(avg.size, 1), dtype=avg.dtype)
        return avg, Tensor._wrap(scl)
    w = weights if isinstance(weights, Tensor) else as_operand("average", weights)
    if x.dtype.kind in "biu":
        rd = np.result_type(x.dtype, w.dtype, "f8")
    else:
        rd = np.result_type(x.dtype, w.dtype)
    x = x if x.dtype == rd else astype(x, rd)
    w = w if w.dtype == rd else astype(w, rd)
    if w.shape != x.shape:
        if axis is None:
            raise TypeError(f"average: axis must be specified when the shapes of a {x.shape} and "
                            f"weights {w.shape} differ")
        try:
            axes = normalize_axis_tuple(axis, x.ndim)
        except (ValueError, TypeError) as err:
            raise axis_error("average", axis, x.shape, err) from None
        if w.shape != tuple(x.shape[ax] for ax in axes):
            raise ValueError(f"average: the shape of weights {w.shape} must match the shape of a "
                             f"{x.shape} along axis {axis}")
        w = reshape(transpose(w, tuple(np.argsort(axes))),
                    tuple(s if i in axes else 1 for i, s in enumerate(x.shape)))
    scl = _sum(w, axis, keepdims)
    if np.any(scl.data == 0.0):
        raise ZeroDivisionError("average: weights sum to zero, can't be normalized")
    avg = _sum(x * w, axis, keepdims) / scl
    if returned:
        if scl.shape != avg.shape:
            scl = scl + np.zeros(avg.shape, dtype=scl.dtype)  # broadcast, keeping the graph
        return avg, scl
    return avg


def ptp(a, axis=None, out=None, keepdims=False):
    """Range ``max - min`` over ``axis`` (``np.ptp``); ties share the gradient as max/min do."""
    _no("ptp", out=out)
    x = as_operand("ptp", a)
    return _max(x, axis, keepdims) - _min(x, axis, keepdims)


# ---- order statistics --------------------------------------------------------------------
def _slices(op, x, axis, keepdims):
    """``x`` with the reduced axes moved last and merged: (Tensor (..., n), n, output shape)."""
    if axis is None:
        return reshape(x, (-1,)), x.size, (1,) * x.ndim if keepdims else ()
    try:
        axes = normalize_axis_tuple(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    n = int(np.prod([x.shape[i] for i in axes]))
    moved = transpose(x, kept + axes) if kept + axes != tuple(range(x.ndim)) else x
    flat = reshape(moved, tuple(x.shape[i] for i in kept) + (n,))
    out = tuple(1 if i in axes else s for i, s in enumerate(x.shape)) if keepdims else \
        tuple(x.shape[i] for i in kept)
    return flat, n, out


def _pick(xt, order, pos):
    """The elements at sorted positions ``pos`` (..., k) of each slice: a recorded selection."""
    pos = np.broadcast_to(pos, xt.shape[:-1] + pos.shape[-1:])
    # a NaN slice, an odd count (nanmedian) or equal quantiles pick one position twice
    # guard(): a jit recording logs this decision on values, and each replay rechecks it
    unique = pos.shape[-1] < 2 or guard(np.all(np.diff(np.sort(pos, axis=-1), axis=-1)))
    return take_along(xt, np.take_along_axis(order, pos, axis=-1), -1, unique)


def _numpy_only(op, fn, x, *args, **kw):
    """Integer and bool inputs have no gradient: numpy's own result, wrapped."""
    if x.dtype.kind == "c":
        raise TypeError(f"{op}: complex tensors are not supported (no order on complex numbers)")
    return Tensor._wrap(_asarray(fn(x.data, *args, **kw)))


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median over ``axis`` (``np.median``): the middle element of each sorted
    slice, or the MEAN of the two middle elements when its size is even.

    Not PyTorch's ``torch.median``, which returns the lower middle element
    (use ``quantile(a, 0.5, method='lower')`` for that). A slice holding NaN
    gives NaN. Gradient: 1 to the middle element, or 1/2 to each of the two
    (stable order at ties). An empty slice gives NaN with numpy's warning.
    """
    _no("median", out=out)
    x = as_operand("median", a)
    if not _floating(x):
        return _numpy_only("median", np.median, x, axis=axis, keepdims=keepdims)
    xt, n, shape = _slices("median", x, axis, keepdims)
    if n == 0:
        return _mean(x, axis, keepdims)
    order = np.argsort(xt.data, axis=-1, stable=True)
    pos = np.array([(n - 1) // 2, n // 2] if n % 2 == 0 else [n // 2])
    pos = _nan_last(xt, order, pos)
    v = _pick(xt, order, pos)
    mid = (v[..., 0] + v[..., 1]) / 2 if n % 2 == 0 else v[..., 0]
    return reshape(mid, shape)


def _nan_last(xt, order, pos):
    """Positions per slice; a slice holding NaN (sorted last) picks its last element only."""
    n = xt.shape[-1]
    pos = np.broadcast_to(pos, xt.shape[:-1] + pos.shape[-1:])
    has_nan = np.isnan(np.take_along_axis(xt.data, order[..., -1:], axis=-1))
    return np.where(has_nan, n - 1, pos)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """Median of the non-NaN elements over ``axis`` (``np.nanmedian``; mean of the
    two middle ones for an even count, unlike ``torch.nanmedian``).

    An all-NaN slice gives NaN with numpy's warning "All-NaN slice
    encountered" and sends no gradient. Gradient otherwise as :func:`median`.
    """
    _no("nanmedian", out=out)
    x = as_operand("nanmedian", a)
    if not _floating(x):
        return _numpy_only("nanmedian", np.nanmedian, x, axis=axis, keepdims=keepdims)
    xt, n, shape = _slices("nanmedian", x, axis, keepdims)
    if n == 0:
        return _mean(x, axis, keepdims)
    order = np.argsort(xt.data, axis=-1, stable=True)  # NaN last: the first cnt are the numbers
    cnt = np.sum(~np.isnan(xt.data), axis=-1)
    pos = np.stack([np.maximum((cnt - 1) // 2, 0), cnt // 2], axis=-1)
    pos = np.minimum(pos, n - 1)
    v = _pick(xt, order, pos)
    even = cnt % 2 == 0
    with np.errstate(over="ignore"):  # (lo + hi) overflows only where the odd branch is taken
        mid = _select(even, (v[..., 0] + v[..., 1]) / 2, v[..., 0])
    empty = cnt == 0
    if guard(empty.any()):
        warnings.warn("All-NaN slice encountered", RuntimeWarning, stacklevel=2)
        mid = _select(empty, np.nan, mid)
    return reshape(mid, shape)


_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
             *, weights=None, interpolation=None, dim=None, keepdim=None):
    """The ``q``-th quantiles over ``axis`` (``np.quantile``; ``torch.quantile``).

    ``q`` in [0, 1]: a number or an array (not a Tensor that requires grad:
    no gradient flows to ``q``). Methods: numpy's default ``'linear'``
    (Hyndman & Fan's definition 7: virtual index ``(n-1) q``, interpolated
    between its two neighbours as numpy's ``_lerp``), ``'lower'``,
    ``'higher'``, ``'nearest'``, ``'midpoint'``; PyTorch's
    ``interpolation=``, ``dim=``, ``keepdim=`` are aliases. Shape:
    ``q.shape`` followed by the reduced shape (as numpy). A slice holding
    NaN gives NaN. Gradient: ``1 - gamma`` to the lower neighbour and
    ``gamma`` to the upper one (stable order at ties).

    Raises ValueError for q outside [0, 1], an unsupported method or an
    empty slice; TypeError for ``weights=``.
    """
    weak = type(q) in (int, float)
    return _quantile("quantile", a, q, weak, axis, out, method, keepdims, weights, interpolation,
                     dim, keepdim)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None, interpolation=None, dim=None, keepdim=None):
    """The ``q``-th percentiles (``np.percentile``): :func:`quantile` of ``q / 100``."""
    weak = type(q) in (int, float)
    q = np.true_divide(_q_value("percentile", q), 100)
    return _quantile("percentile", a, q, weak, axis, out, method, keepdims, weights,
                     interpolation, dim, keepdim)


def _q_value(op, q):
    if isinstance(q, Tensor):
        if q.requires_grad:
            raise TypeError(f"{op}: q is a Tensor that requires grad; no gradient flows to q, "
                            "so pass q.detach() (or an array)")
        return q.data
    return q


def _quantile(op, a, q, weak, axis, out, method, keepdims, weights, interpolation, dim, keepdim):
    _no(op, out=out, weights=weights)
    if interpolation is not None:
        method = interpolation
    if method not in _METHODS:
        raise ValueError(f"{op}: method {method!r} is not supported; use one of {_METHODS}")
    axis, keepdims = axis_args(axis, keepdims, dim, keepdim)
    x = as_operand(op, a)
    qa = np.asanyarray(_q_value(op, q))
    if qa.dtype.kind not in "biuf" or qa.size and not (qa.min() >= 0 and qa.max() <= 1):
        raise ValueError(f"{op}: quantiles must be in the range [0, 1]" +
                         (" (percentiles in [0, 100])" if op == "percentile" else ""))
    if not _floating(x):
        qa_arg = float(qa) if weak else qa
        return _numpy_only(op, np.quantile, x, qa_arg, axis=axis, method=method, keepdims=keepdims)
    xt, n, shape = _slices(op, x, axis, keepdims)
    if n == 0:
        raise ValueError(f"{op}: cannot take a quantile of an empty slice (tensor of shape {x.shape})")
    order = np.argsort(xt.data, axis=-1, stable=True)
    flat_q = qa.reshape(-1)
    vi = (n - 1) * flat_q  # numpy's virtual index for these five methods
    if method in ("lower", "higher", "nearest"):
        rounded = {"lower": np.floor, "higher": np.ceil, "nearest": np.around}[method](vi)
        res = _pick(xt, order, _nan_last(xt, order, rounded.astype(np.intp)))
    else:
        if method == "midpoint":
            vi = 0.5 * (np.floor(vi) + np.ceil(vi))
        prev = np.floor(vi)
        nxt = prev + 1
        # numpy's _get_indexes: at or past the last element both neighbours are the last one
        top = vi >= n - 1
        prev[top], nxt[top] = -1, -1
        prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
        gamma = np.asanyarray(vi - prev, dtype=vi.dtype)
        if method == "midpoint":
            gamma = np.where(vi % 1 == 0, 0.0, 0.5).astype(vi.dtype)
        prev, nxt = prev % n, nxt % n
        lo = _pick(xt, order, _nan_last(xt, order, prev))
        hi = _pick(xt, order, _nan_last(xt, order, nxt))
        res = _lerp(lo, hi, float(gamma[0]) if weak else gamma)
    # (..., nq) -> q's shape first, then the reduced shape
    res = transpose(res, (res.ndim - 1,) + tuple(range(res.ndim - 1)))
    return reshape(res, qa.shape + tuple(shape))


def _lerp(a, b, t):
    """numpy's ``_lerp``: ``a + (b - a) t``, or ``b - (b - a)(1 - t)`` where t >= 0.5."""
    diff = b - a
    if isinstance(t, float):
        return b - diff * (1 - t) if t >= 0.5 else a + diff * t
    return _select(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _median_method(self, *args, **kwargs):
    raise TypeError(
        "Tensor.median is PyTorch's name with a different meaning: torch.median returns the LOWER "
        "of the two middle values (and a (values, indices) pair with dim=), numpy's np.median "
        "their mean. Use tinygrad_edu.median(t, axis) or np.median(t) for numpy's, or "
        "tinygrad_edu.quantile(t, 0.5, axis, method='lower') for PyTorch's value")


def _nanmedian_method(self, *args, **kwargs):
    raise TypeError(
        "Tensor.nanmedian is PyTorch's name with a different meaning: torch.nanmedian returns the "
        "LOWER of the two middle non-NaN values, numpy's np.nanmedian their mean. Use "
        "tinygrad_edu.nanmedian(t, axis) or np.nanmedian(t) for numpy's")


def _quantile_method(self, q, dim=None, keepdim=False, *, interpolation="linear", axis=None,
                     keepdims=None, method=None):
    """``t.quantile(q, dim=None, keepdim=False, interpolation='linear')`` (``torch.Tensor.quantile``)."""
    if axis is not None:
        dim = axis
    return quantile(self, q, dim, keepdims=keepdim if keepdims is None else keepdims,
                    method=method or interpolation)


NUMPY_FUNCTIONS = {
    np.nansum: nansum,
    np.nanmean: nanmean,
    np.average: average,
    np.ptp: ptp,
    np.median: median,
    np.nanmedian: nanmedian,
    np.quantile: quantile,
    np.percentile: percentile,
}

TENSOR_METHODS = {
    "nansum": nansum,
    "nanmean": nanmean,
    "quantile": _quantile_method,
    "median": _median_method,
    "nanmedian": _nanmedian_method,
}
