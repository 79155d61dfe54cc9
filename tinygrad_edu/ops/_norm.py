"""Vector and matrix norms: numpy's ``np.linalg.norm`` and PyTorch's ``torch.norm``.

Two functions, two conventions (they agree on the default: the 2-norm of
all elements, i.e. Frobenius for a matrix):

* :func:`linalg_norm` is ``np.linalg.norm`` (and ``tinygrad_edu.linalg.norm``):
  ``ord`` on a 2-D input or a 2-tuple ``axis`` means a *matrix* norm
  (``ord=2`` spectral, ``1`` max column sum, ...).
* :func:`norm` is ``torch.norm`` (``tinygrad_edu.norm``, ``Tensor.norm``): a
  number ``p`` is always a *vector* norm over ``dim`` (all elements when
  None), so ``norm(m, 2)`` of a matrix is its Frobenius norm while
  ``np.linalg.norm(m, 2)`` is its largest singular value.

One recorded op, ``norm``, with the gradient of each kind (``x`` the input,
``n`` the norm, ``g`` the incoming gradient):

* 2-norm / Frobenius: ``g x / n``; 0 where ``n = 0`` (a subgradient, as
  PyTorch; no nan).
* 1-norm: ``g sign(x)``. inf / -inf: ``g sign(x)`` on the elements of
  largest / smallest magnitude, ties sharing it evenly.
* p-norm: ``g sign(x) |x|^(p-1) / n^(p-1)``; 0 where ``n = 0`` and, for
  p < 1, at zero elements (PyTorch's choice).
* ord 0 (the count of nonzeros) is piecewise constant: no graph.
* matrix 1 / -1 / inf / -inf: ``g sign(x)`` on the column (row) of largest /
  smallest absolute sum.
* nuclear: ``g U Vh``; spectral 2 / -2: ``g u v.T`` of the largest /
  smallest singular value (Townsend 2016; ties share nothing: distinct
  singular values assumed).
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, asarray, axis_error


def _operand(op, x):
    x = x if isinstance(x, Tensor) else as_operand(op, x)
    if x.dtype.kind == "c":
        raise TypeError(f"{op}: complex input (dtype {x.dtype}) is not supported; real only")
    return x


def _vector_kind(p):
    return {2: "l2", 1: "l1", 0: "count", math.inf: "max", -math.inf: "min"}.get(p, "p")


def linalg_norm(x, ord=None, axis=None, keepdims=False):
    """``np.linalg.norm``: vector or matrix norm, numpy's arguments and values.

    ``axis`` None: the 2-norm of all elements when ``ord`` is None, else the
    vector norm of a 1-D or the matrix norm of a 2-D input. An int axis:
    vector norms (``ord`` None/2, 1, inf, -inf, 0, any p). A 2-tuple: matrix
    norms (``ord`` None/'fro', 'nuc', 1, -1, 2, -2, inf, -inf). Gradients:
    see the module docstring. Raises ValueError (numpy's reason, naming norm
    and the shape) for an ord that does not fit.
    """
    X = _operand("norm", x)
    try:
        data = np.linalg.norm(X.data, ord, axis, keepdims)
    except (ValueError, TypeError) as err:
        raise type(err)(f"norm: ord={ord!r}, axis={axis!r} do not fit a tensor of shape "
                        f"{X.shape} ({err})") from None
    nd = X.ndim
    if axis is None:
        axes = tuple(range(nd)) if ord is None else ((0,) if nd == 1 else (0, 1))
    else:
        axes = normalize_axis_tuple(axis, nd)
    if len(axes) == 1 or (axis is None and ord is None):
        kind, param = _vector_kind(2 if ord is None else ord), ord
    elif ord in (None, "fro"):
        kind, param = "l2", None
    elif ord in ("nuc", 2, -2):
        kind, param = "spec", ord
    else:  # 1, -1: column sums (sum over the row axis); inf, -inf: row sums
        row, col = axes
        summed, extreme = (row, col) if ord in (1, -1) else (col, row)
        kind, param = "absmax", (summed, extreme)
    return _record(asarray(data), X, kind, param, axes)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """PyTorch's ``torch.norm`` (also ``Tensor.norm``); numpy's is :func:`linalg_norm`.

    ``p`` a number (None means 2): the vector p-norm over ``dim`` (an int
    or a tuple of any length; all elements when None). ``p='fro'``: the
    2-norm over ``dim`` (one or two axes, all when None). ``p='nuc'``: the
    nuclear norm over a 2-tuple ``dim`` (a 2-D input when None).
    ``keepdim`` keeps the reduced axes as size 1. Note ``norm(m, 2)`` of a
    matrix is its Frobenius norm (a vector norm, as torch), not numpy's
    spectral ``np.linalg.norm(m, 2)``. Raises ValueError for other ``p``/``dim``.
    """
    X = _operand("norm", input)
    if dtype is not None:
        raise TypeError("norm: dtype= is not supported; cast with astype first")
    dims = None if dim is None else ((dim,) if isinstance(dim, (int, np.integer)) else tuple(dim))
    if isinstance(p, str):
        if p == "fro" and (dims is None or len(dims) <= 2):
            return _vector_norm(X, 2, dims, keepdim)
        if p == "nuc" and (dims is None and X.ndim == 2 or dims is not None and len(dims) == 2):
            return linalg_norm(X, "nuc", dims or (0, 1), keepdim)
        raise ValueError(f"norm: p={p!r} with dim={dim!r} does not fit a tensor of shape {X.shape}: "
                         "'fro' takes up to 2 dims, 'nuc' exactly 2 (or a 2-D input)")
    return _vector_norm(X, 2 if p is None else p, dims, keepdim)


def vector_norm(x, axis=None, keepdims=False, ord=2):
    """``np.linalg.vector_norm``: the vector ``ord``-norm over ``axis`` (any number of axes; all when None).

    Values are numpy's; gradients as :func:`linalg_norm`'s vector norms.
    """
    X = _operand("vector_norm", x)
    return _vector_norm(X, ord, axis, keepdims, "vector_norm")


def matrix_norm(x, keepdims=False, ord="fro"):
    """``np.linalg.matrix_norm``: :func:`linalg_norm` over the last two axes."""
    return linalg_norm(_operand("matrix_norm", x), ord, (-2, -1), keepdims)


def _vector_norm(X, p, dims, keepdim, op="norm"):
    nd = X.ndim
    if isinstance(dims, list):
        dims = tuple(dims)
    try:
        axes = tuple(range(nd)) if dims is None else normalize_axis_tuple(dims, nd)
    except (ValueError, TypeError) as err:
        raise axis_error(op, dims, X.shape, err) from None
    try:
        data = np.linalg.vector_norm(X.data, axis=dims, keepdims=keepdim, ord=p)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{op}: ord={p!r} does not fit a tensor of shape {X.shape} over axes "
                        f"{axes} ({err})") from None
    return _record(asarray(data), X, _vector_kind(p), p, axes)


def _record(data, X, kind, param, axes):
    if kind == "count":  # the number of nonzeros: no gradient
        return Tensor._wrap(data)
    kshape = tuple(1 if i in axes else n for i, n in enumerate(X.shape))
    return record(data, _norm_backward, (X,), (kind, param, axes, kshape))


def _data(x):
    return x.data if isinstance(x, Tensor) else x


@backward_rule("norm")
def _norm_backward(g, out, inputs, saved, needs):
    kind, p, axes, kshape = saved
    x = inputs[0]
    gk, nk = g.reshape(kshape), out.reshape(kshape)
    xd, nd = _data(x), _data(nk)
    if kind == "l2":
        zero = nd == 0
        return (np.where(zero, 0, x * (gk / np.where(zero, 1, nk))),)
    if kind == "spec":
        return (_spectral_grad(x, gk, p, axes),)
    sign = np.sign(xd)
    if kind == "l1":
        return (sign * gk,)
    if kind in ("max", "min"):
        hit = np.abs(xd) == nd
        return (np.where(hit, (sign / np.sum(hit, axis=axes, keepdims=True)) * gk, 0),)
    if kind == "absmax":
        summed, extreme = p
        hit = np.add.reduce(np.abs(xd), axis=summed, keepdims=True) == nd
        share = sign / np.sum(hit, axis=extreme, keepdims=True)
        return (np.where(hit, share * gk, 0),)
    # general p: sign(x) |x|^(p-1) / n^(p-1)
    zero = nd == 0
    ax = np.abs(x)
    if p < 1:  # |x|^(p-1) is infinite at x = 0: those elements get 0, as PyTorch
        zero = zero | (xd == 0)
        ax = np.where(xd == 0, 1, ax)
    return (np.where(zero, 0, (sign * ax ** (p - 1)) * (gk / np.where(nd == 0, 1, nk) ** (p - 1))),)


def _spectral_grad(x, gk, ord, axes):
    """``U Vh`` (nuclear) or ``u v.T`` of the extreme singular value (2, -2), times g."""
    nd = len(x.shape)
    perm = [i for i in range(nd) if i not in axes] + list(axes)
    U, _, Vh = np.linalg.svd(np.transpose(x, perm), full_matrices=False)
    if ord == "nuc":
        gm = U @ Vh
    else:
        j = slice(0, 1) if ord == 2 else slice(-1, None)
        gm = U[..., :, j] @ Vh[..., j, :]
    return np.transpose(gm * np.transpose(gk, perm), tuple(np.argsort(perm)))
