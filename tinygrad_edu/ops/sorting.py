"""Sorting: ``sort``, ``argsort`` (numpy) and ``topk`` (PyTorch).

Every differentiable op here is a *selection*: numpy finds the order
(``np.argsort``, always stable) and :func:`take_along` picks the values out
of the input. So the gradient goes back through the permutation (a
scatter, :func:`put_along`), and second derivatives come for free, because
the two are recorded ops, each the other's backward.
At ties the stable order decides which element receives the gradient (the
earlier one first).

``sort`` — one name, two libraries. numpy's ``np.sort(a, axis=-1)`` returns
the sorted values; ``torch.sort(input, dim=-1, descending=False)`` returns a
``(values, indices)`` pair; ``ndarray.sort()`` sorts in place and returns
None while ``torch.Tensor.sort()`` returns the pair. Here:

* ``tinygrad_edu.sort(t)``, ``np.sort(t)``, ``tinygrad_edu.sort(t, axis=0)``:
  numpy's, the sorted values (a Tensor).
* ``tinygrad_edu.sort(t, dim=...)`` or ``descending=...``, and the method
  ``t.sort(dim=..., descending=...)``: PyTorch's ``(values, indices)``
  namedtuple. Those keywords exist only in PyTorch, so the caller's intent is
  clear.
* ``t.sort()`` and ``t.sort(0)``: ambiguous (numpy would sort ``t`` in place
  and return None, PyTorch would return the pair), so it raises TypeError
  naming both alternatives instead of guessing.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, axis_error
from .shape import reshape

__all__ = ["sort", "argsort", "topk"]

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
from ._common import asarray as _asarray


def along_index(idx, axis):
    """The index tuple that picks ``idx`` along ``axis``: ``x[along_index(i, ax)]``
    is ``np.take_along_axis(x, i, ax)`` as integer-array indexing."""
    parts = []
    for i, n in enumerate(idx.shape):
        if i == axis:
            parts.append(idx)
        else:
            shp = [1] * idx.ndim
            shp[i] = n
            parts.append(np.arange(n).reshape(shp))
    return tuple(parts)


def take_along(x, idx, axis, unique=True):
    """``np.take_along_axis(x, idx, axis)``, recorded: the selection behind sort, topk,
    cummax, median and quantile.

    ``idx`` (integer array, ``x``'s number of dimensions) picks elements
    along ``axis``. ``unique`` promises that no element is picked twice (a
    permutation or part of one), so the backward can write the gradient
    with one assignment instead of an accumulating ``np.add.at``.
    """
    idx = _asarray(idx, dtype=np.intp)
    axis = normalize_axis_index(axis, max(idx.ndim, 1))
    return record(np.take_along_axis(x.data, idx, axis), _take_along_backward, (x,),
                  (idx, axis, unique))


@backward_rule("take_along")
def _take_along_backward(g, out, inputs, saved, needs):
    return (put_along(g, saved, inputs[0].shape),)


def put_along(g, saved, shape):
    """Zeros of ``shape`` with ``g`` added at the places ``take_along`` picked: its adjoint.

    Recorded when ``g`` is a Tensor (create_graph), with ``take_along`` as
    its own backward, so gradients of gradients flow.
    """
    if isinstance(g, Tensor):
        return record(_scatter_along(g.data, saved, shape), _put_along_backward, (g,), saved)
    return _scatter_along(g, saved, shape)


def _scatter_along(g, saved, shape):
    idx, axis, unique = saved
    z = np.zeros(shape, dtype=g.dtype)
    if unique:
        np.put_along_axis(z, idx, g, axis)
    else:  # an element picked several times collects every gradient
        np.add.at(z, along_index(idx, axis), g)
    return z


@backward_rule("put_along")
def _put_along_backward(g, out, inputs, saved, needs):
    idx, axis, unique = saved
    return (take_along(g, idx, axis, unique) if isinstance(g, Tensor) else
            np.take_along_axis(g, idx, axis),)


def _axis(op, x, axis):
    try:
        return normalize_axis_index(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None


def sort_order(d, axis, descending=False):
    """The stable sorting permutation of array ``d`` along ``axis`` (normalised).

    Ascending puts NaN last (numpy); descending puts NaN first (PyTorch, which
    ranks NaN above every number) and keeps equal elements in their original
    order: the stable ascending order of the reversed input, reversed.
    """
    if not descending:
        return np.argsort(d, axis=axis, stable=True)
    rev = (slice(None),) * axis + (slice(None, None, -1),)
    return (d.shape[axis] - 1) - np.argsort(d[rev], axis=axis, stable=True)[rev]


_KINDS = (None, "quicksort", "mergesort", "heapsort", "stable")


def _check_kind(op, kind):
    """numpy's third positional argument is ``kind=``; PyTorch's (``sort(x, dim, True)``)
    is ``descending``: a bool there would be silently ignored, so it raises."""
    if isinstance(kind, str) and kind.lower() in _KINDS[1:] or kind is None:
        return
    raise TypeError(f"{op}: kind={kind!r} is not a numpy sort kind ({', '.join(map(repr, _KINDS[1:]))}); "
                    f"the third positional argument is numpy's kind=, not PyTorch's descending: "
                    f"write {op}(t, dim=d, descending=True)")


def _torch_form(op, x, dim):
    """PyTorch's ops work on 0-d tensors with dim 0 or -1: view them as (1,)."""
    if x.ndim == 0:
        _axis(op, reshape(x, (1,)), dim)
        return reshape(x, (1,)), 0, True
    return x, _axis(op, x, dim), False


def sort(x, axis=-1, kind=None, order=None, *, stable=None, dim=None, descending=None):
    """Sorted values along ``axis`` (``np.sort``; -1 by default, None flattens).

    With PyTorch's keywords ``dim=`` or ``descending=`` it is ``torch.sort``
    instead and returns the namedtuple ``(values, indices)`` (int64
    indices; NaN ranks above every number, as in PyTorch).

    The sort is always stable (``kind``/``stable`` are accepted and change
    nothing); the values are selected from ``x``, so the gradient goes back
    through the permutation, and equal elements receive it in their stable
    order. Shapes: values like ``x`` (flattened for ``axis=None``).

    Raises ValueError for an axis out of range, TypeError for ``order=``
    (structured arrays), for ``axis=`` and ``dim=`` together, or for a ``kind``
    that is not a numpy sort kind (PyTorch's ``sort(x, dim, True)``: use ``descending=``).
    """
    if order is not None:
        raise TypeError("sort: order= (fields of structured arrays) is not supported on Tensors")
    _check_kind("sort", kind)
    x = as_operand("sort", x)
    if dim is not None or descending is not None:
        if axis != -1:
            raise TypeError("sort: pass either axis= (numpy: returns values) or dim= (PyTorch: "
                            "returns (values, indices)), not both")
        return _sort_pair("sort", x, -1 if dim is None else dim, bool(descending))
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    ax = _axis("sort", x, axis)
    return take_along(x, sort_order(x.data, ax), ax)


def _sort_pair(op, x, dim, descending):
    xs, ax, scalar = _torch_form(op, x, dim)
    idx = sort_order(xs.data, ax, descending)
    values = take_along(xs, idx, ax)
    if scalar:
        values, idx = reshape(values, ()), idx.reshape(())
    return SortResult(values, Tensor._wrap(idx.astype(np.int64)))


def argsort(x, axis=-1, kind=None, order=None, *, stable=None, dim=None, descending=False):
    """The indices that sort ``x`` along ``axis`` (``np.argsort``; None flattens).

    PyTorch's ``dim=`` and ``descending=`` are accepted. Always stable. The
    result is an int64 Tensor without gradient (indices are not
    differentiable). Raises TypeError for a ``kind`` that is not a numpy sort
    kind (PyTorch's ``argsort(x, dim, True)``: use ``descending=``).
    """
    if order is not None:
        raise TypeError("argsort: order= (fields of structured arrays) is not supported on Tensors")
    _check_kind("argsort", kind)
    x = as_operand("argsort", x)
    if dim is not None:
        if axis != -1:
            raise TypeError("argsort: pass either axis= or dim=, not both")
        axis = dim
    d = x.data
    if axis is None:
        d, axis = d.reshape(-1), 0
    ax = _axis("argsort", d, axis)
    return Tensor._wrap(sort_order(d, ax, descending).astype(np.int64))


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or, with ``largest=False``, smallest) values along ``dim``
    (``torch.topk``): the namedtuple ``(values, indices)``.

    Values come out sorted (largest first, or smallest first), also for
    ``sorted=False`` where PyTorch leaves the order unspecified. NaN ranks
    above every number, as in PyTorch. At ties the element with the lower
    index comes first; PyTorch's choice among tied elements is an
    implementation detail (its CPU kernel picks e.g. indices [2, 4, 1] for
    the three 3s in [1, 3, 3, 2, 3, 0]), so only the values are guaranteed
    to agree there. The gradient goes to the selected elements.

    Raises ValueError if ``k`` is not in ``[0, size of dim]``.
    """
    x = as_operand("topk", x)
    xs, ax, scalar = _torch_form("topk", x, dim)
    n = xs.shape[ax]
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= n:
        raise ValueError(f"topk: k={k!r} is out of range for dimension {dim} of size {n} "
                         f"(tensor of shape {x.shape})")
    idx = sort_order(xs.data, ax, descending=largest)[(slice(None),) * ax + (slice(0, k),)]
    values = take_along(xs, idx, ax)
    if scalar:
        if k == 1:  # PyTorch: the top 1 of a 0-d tensor is 0-d
            values, idx = reshape(values, ()), idx.reshape(())
    return TopkResult(values, Tensor._wrap(idx.astype(np.int64)))


def _sort_method(self, *args, axis=None, kind=None, order=None, dim=None, descending=None,
                 stable=None):
    """``t.sort(dim=-1, descending=False)``: PyTorch's ``(values, indices)`` namedtuple.

    ``t.sort()`` without ``dim=``/``descending=`` is ambiguous (numpy's
    ``ndarray.sort`` sorts in place and returns None; PyTorch's returns the
    pair) and raises TypeError naming the alternatives.
    """
    if args or (dim is None and descending is None):
        raise TypeError(
            "Tensor.sort() is ambiguous: numpy's ndarray.sort() sorts in place and returns None, "
            "PyTorch's Tensor.sort() returns (values, indices). Use tinygrad_edu.sort(t, axis) or "
            "np.sort(t, axis) for the sorted values (numpy), or t.sort(dim=-1) / "
            "t.sort(dim=..., descending=...) for PyTorch's (values, indices)")
    if axis is not None or kind is not None or order is not None:
        raise TypeError("Tensor.sort: with dim=/descending= (PyTorch's form) numpy's axis=, "
                        "kind= and order= do not apply")
    return _sort_pair("sort", self, -1 if dim is None else dim, bool(descending))


NUMPY_FUNCTIONS = {
    np.sort: lambda a, axis=-1, kind=None, order=None, *, stable=None: sort(a, axis, kind, order=order),
    np.argsort: lambda a, axis=-1, kind=None, order=None, *, stable=None: argsort(a, axis, kind, order),
}

TENSOR_METHODS = {
    "sort": _sort_method,
    "argsort": argsort,
    "topk": topk,
}
