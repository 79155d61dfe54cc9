"""Matrix products: ``matmul`` with ``np.matmul``'s rules, and ``dot``.

For 2-D operands the backward is the textbook pair ``dA = g @ B.T`` and
``dB = A.T @ g``; 1-D operands are treated as a row (left) or column (right)
vector and the added axis removed again; batch axes broadcast, and the
engine sums the gradient over broadcast batch axes.
"""
from __future__ import annotations

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import asarray, shape_of, type_error, val


def matmul(a, b):
    """Matrix product ``a @ b`` following ``np.matmul``.

    Shapes: (n,k)@(k,m)->(n,m); (k,)@(k,)->(); (k,)@(...,k,m)->(...,m);
    (...,n,k)@(k,)->(...,n); batch axes broadcast. Python scalars are not
    allowed (use ``*``).

    Raises ValueError naming both shapes when the inner dimensions differ
    or an operand is 0-d.
    """
    a, b, av, bv, data = _product("matmul", a, b)
    return record(data, _matmul_backward, (a, b), None, (av, bv))


def _product(op, a, b):
    """``np.matmul`` of two operands, shared by matmul and linear.

    Returns ``(a, b, a's array, b's array, product)``: constants become arrays
    (the backward needs their .ndim and .dtype), and operands of different
    dtypes are cast to a common one first (see :func:`_common_dtype`); the
    arrays returned are the cast ones, which the backward's products use.
    Raises ValueError naming the op and both shapes when they do not align.
    """
    if isinstance(a, Tensor):
        av = a.data
    else:
        a = av = _constant(op, a, (a, b))
    if isinstance(b, Tensor):
        bv = b.data
    else:
        b = bv = _constant(op, b, (a, b))
    try:
        if _dot_ok(av, bv):  # the blog's np.dot
            if av.dtype is not bv.dtype:
                # an int operand (the blog's X) cast once, as np.dot would cast it (the same
                # layout), and kept for the backward's product: one cast a step, not two
                dt = _blas_dtype(av.dtype, bv.dtype)
                av, bv = _as_dtype(av, dt), _as_dtype(bv, dt)
            # (np.dot, the same routine, when only bv is jit-traced: see _mm)
            data = av.dot(bv) if type(av) is not np.ndarray or type(bv) is np.ndarray \
                else np.dot(av, bv)
        else:
            ac, bc = (av, bv) if av.dtype is bv.dtype else _common_dtype(av, bv)
            data = ac @ bc
    except ValueError as err:
        raise ValueError(
            f"{op}: shapes {av.shape} and {bv.shape} are not aligned: the last axis of the "
            f"first must equal the second-to-last of the second ({err})"
        ) from None
    return a, b, av, bv, data


def _constant(op, x, operands):
    """A constant operand as an array; TypeError naming ``op`` if it is not numeric."""
    try:
        arr = asarray(x)  # a jit-traced array stays traced
    except (ValueError, TypeError) as err:
        raise type_error(op, operands, err) from None
    if arr.dtype.kind not in "biufc":
        raise type_error(op, operands, f"numpy makes dtype {arr.dtype} of the {type(x).__name__}")
    return arr


def _common_dtype(av, bv):
    """Cast both operands to their result dtype when they differ.

    numpy's matmul of mixed dtypes (e.g. the blog's int ``X`` with float
    weights) takes a non-BLAS loop that sums in another order than
    ``np.dot``; casting first gives the BLAS path, identical to ``np.dot``
    (and faster).
    """
    da, db = getattr(av, "dtype", None), getattr(bv, "dtype", None)
    if da is not None and da == db:
        return av, bv
    dt = np.result_type(av, bv)
    return asarray(av, dtype=dt), asarray(bv, dtype=dt)


_BLAS = (np.dtype(np.float32), np.dtype(np.float64))


def _dot_ok(a, b):
    """May ``a.dot(b)`` stand for ``a @ b``? For two 2-D arrays whose product numpy
    makes in float32 or float64: ``np.dot`` casts an integer operand to the result's
    float type and calls the same BLAS routines as ``np.matmul`` on the cast arrays,
    at a third of the call's cost (matmul is a generalized ufunc: ~0.95 us against
    ~0.33 us on a 4x4 array), which the small models pay once per product; and it
    is the blog's own call. Not for Tensors (a second-order backward runs the rule
    on them: ``@`` records)."""
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == 2 == b.ndim):
        return False
    da, db = a.dtype, b.dtype
    if da is db:
        return da in _BLAS
    return _blas_dtype(da, db) is not None


_MIXED = {}  # (dtype, dtype) -> the BLAS dtype their product is made in, or None


def _blas_dtype(da, db):
    """The dtype (float32 or float64) numpy makes the product of ``da`` and ``db``
    arrays in, None if another: cached, ``np.result_type`` costs ~0.7 us a call."""
    key = (da, db)
    if key in _MIXED:
        return _MIXED[key]
    rt = np.result_type(da, db) if da.kind in "iuf" and db.kind in "iuf" else None
    rt = rt if rt in _BLAS else None
    if len(_MIXED) < 256:  # (dtypes with metadata are distinct keys: keep it bounded)
        _MIXED[key] = rt
    return rt


def _mm(a, b):
    """``a @ b``, as ``a.dot(b)`` when :func:`_dot_ok` says it is the same product.

    A plain array's ``.dot`` method does not dispatch: when only ``b`` is an array
    a jit recording traces (a constant times a tensor), ``np.dot`` (the same
    routine) is called instead, which the recording logs."""
    if not _dot_ok(a, b):
        return a @ b
    return a.dot(b) if type(a) is not np.ndarray or type(b) is np.ndarray else np.dot(a, b)


def _grad_dot_ok(g, x):
    """The backward's products as ``np.dot`` too: ``x`` of ``g``'s dtype or an integer
    array numpy casts to it (the blog's ``X``), so the gradient keeps ``g``'s dtype.
    Not when one of them is an array a jit recording traces and the other a plain one (a
    constant operand): a plain array's ``.dot`` would not dispatch, and the general rule's
    products (:func:`_mm`: ``np.dot``, the same routine, after the same cast) are logged."""
    return type(x) is type(g) and _dot_ok(g, x) and (
        x.dtype is g.dtype or (x.dtype.kind in "iu" and _blas_dtype(x.dtype, g.dtype) is g.dtype))


def _as_dtype(x, dt):
    """``x`` as ``dt``: itself if it has it, else a copy in the same memory order (np.dot's
    own cast keeps it, and the order decides how BLAS reads the operand)."""
    return x if x.dtype is dt else x.astype(dt, order="K")


def _as_dtype_of(x, g):
    return x if x.dtype == g.dtype else x.astype(g.dtype)


def _swap(x):
    return x.T if x.ndim == 2 else np.swapaxes(x, -1, -2)


@backward_rule("matmul")
def _matmul_backward(g, out, inputs, saved, needs):
    a, b = inputs
    if _grad_dot_ok(g, a) and _grad_dot_ok(g, b):
        # the blog's calls: l2_delta.dot(syn1.T), l0.T.dot(l1_delta) (X cast by the forward)
        return (g.dot(b.T) if needs[0] else None, a.T.dot(g) if needs[1] else None)
    # an int operand is cast like the forward casts it
    if needs[1] and a.dtype is not g.dtype:
        a = _as_dtype_of(a, g)
    if needs[0] and b.dtype is not g.dtype:
        b = _as_dtype_of(b, g)
    if a.ndim >= 2 and b.ndim >= 2:
        return (_mm(g, _swap(b)) if needs[0] else None, _mm(_swap(a), g) if needs[1] else None)
    # A 1-D operand is a row vector on the left, a column on the right; give
    # the gradient that axis, use the 2-D rule, then drop the axis again.
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = np.expand_dims(g2, -2 if b.ndim != 1 else 0)
    if b.ndim == 1:
        g2 = np.expand_dims(g2, -1)
    ga = gb = None
    if needs[0]:
        ga = _mm(g2, _swap(b2))
        if a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])  # (..., 1, k) -> (..., k)
    if needs[1]:
        gb = _mm(_swap(a2), g2)
        if b.ndim == 1:
            gb = gb.reshape(gb.shape[:-1])  # (..., k, 1) -> (..., k)
    return (ga, gb)


def linear(x, weight, bias):
    """The affine map ``x @ weight + bias`` as one op (``nn.Linear``'s forward).

    Same numbers as ``matmul`` followed by ``add``, but one graph node and
    one array: the bias is added in place into the fresh product, so the
    product is not kept alive beside the result. Backward: ``g @ weight.T``,
    ``x.T @ g``, and ``g`` summed over the batch axes for the bias.

    Shapes: x ``(..., in)``, weight ``(in, out)``, bias broadcastable to
    ``(..., out)``. Raises ValueError naming the shapes when they do not fit.
    """
    x, weight, xv, wv, data = _product("linear", x, weight)
    bv = val(bias)
    try:
        if _fits_in_place(bv, data):
            np.add(data, bv, out=data)
        else:
            data = data + bv
    except ValueError as err:
        raise ValueError(f"linear: bias of shape {np.shape(bv)} does not broadcast to the output "
                         f"shape {data.shape} ({err})") from None
    except TypeError as err:
        raise type_error("linear", (x, weight, bias), err) from None
    return record(data, _linear_backward, (x, weight, bias), None, (xv, wv, bv))


def _fits_in_place(bias, out):
    """Can ``out += bias`` give exactly ``out + bias`` (same dtype, no growth by broadcasting)?"""
    dtype = getattr(bias, "dtype", None)
    if dtype is None or dtype != out.dtype:  # a Python scalar or another dtype: not in place
        return False
    bshape = bias.shape
    if len(bshape) > out.ndim:
        return False
    return all(b == 1 or b == n for b, n in zip(bshape[::-1], out.shape[::-1]))


@backward_rule("linear")
def _linear_backward(g, out, inputs, saved, needs):
    ga, gw = _matmul_backward(g, out, inputs[:2], saved, needs[:2])
    return (ga, gw, g if needs[2] else None)


def dot(a, b):
    """``np.dot``: 0-d operands multiply; up to 2-D the matrix product; N-D numpy's product.

    N-D: ``dot(a, b)[i, j, k, m] = sum(a[i, j, :] * b[k, :, m])`` (the last
    axis of ``a`` with the second-to-last of ``b``, or its only axis when
    ``b`` is 1-D); this is not :func:`matmul`'s batched product. Values are
    numpy's. ``torch.dot`` takes 1-D tensors only (same result there).
    Raises ValueError naming both shapes when they do not align.
    """
    a = a if isinstance(a, Tensor) else _constant("dot", a, (a, b))
    b = b if isinstance(b, Tensor) else _constant("dot", b, (a, b))
    av, bv = _common_dtype(val(a), val(b))
    if np.ndim(av) == 0 or np.ndim(bv) == 0:
        from .arith import mul

        return mul(a, b)
    if np.ndim(av) > 2 or np.ndim(bv) > 2:
        from .contract import dot_nd

        return dot_nd(a, b, av, bv)
    try:
        data = np.dot(av, bv)
    except ValueError as err:
        raise ValueError(f"dot: shapes {shape_of(a)} and {shape_of(b)} are not aligned ({err})") from None
    return record(data, _matmul_backward, (a, b))
