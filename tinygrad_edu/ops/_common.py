"""Small helpers shared by the op modules."""
from __future__ import annotations

import numpy as np

from .._jit.traced import _Traced
from ..tensor import Tensor

NUMERIC_KINDS = "biufc"  # bool, int, uint, float, complex: what numpy computes with


def val(x):
    """The numpy value of an operand: a Tensor's data, anything else as is.

    Python scalars are passed to numpy unchanged so that NEP 50's weak scalar
    promotion applies (``float32 tensor * 2.0`` stays float32).
    """
    return x.data if isinstance(x, Tensor) else x


def shape_of(x):
    """Shape of an operand, for error messages (a Python scalar is ``()``)."""
    return getattr(x, "shape", None) if not isinstance(x, (list, tuple)) else "list"


def broadcast_error(op, a, b, err):
    """A ValueError for operands that numpy could not broadcast, naming the op and shapes."""
    return ValueError(
        f"{op}: operands could not be broadcast together: shapes {shape_of(a)} and "
        f"{shape_of(b)} ({err})"
    )


def describe(x):
    """How an operand reads in an error message."""
    if isinstance(x, Tensor):
        return f"Tensor of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return type(x).__name__


def type_error(op, operands, err):
    """A TypeError for operands numpy cannot compute with (strings, None, objects)."""
    kinds = ", ".join(describe(x) for x in operands)
    return TypeError(f"{op}: unsupported operand types: {kinds}; operands must be Tensors, "
                     f"numeric arrays or numbers ({err})")


def as_operand(op, x):
    """``x`` as a Tensor: Tensors as they are, numeric array-likes wrapped (no copy).

    The ops whose first argument is "the tensor" (``exp(x)``, ``sum(x)``,
    ``reshape(x, ...)``) accept arrays and numbers too, as numpy's functions
    do. Raises TypeError naming ``op`` for anything else (a string, None, a
    dict, a ragged list).
    """
    if isinstance(x, Tensor):
        return x
    try:
        arr = asarray(x)  # a jit-traced array stays traced (np.asarray: a view no recording follows)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{op}: expected a Tensor or a numeric array-like, got {describe(x)} ({err})") from None
    if arr.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"{op}: expected a Tensor or a numeric array-like, got {describe(x)} "
                        f"(numpy makes dtype {arr.dtype} of it)")
    return Tensor._wrap(arr)


def check_numeric(op, data, operands):
    """Raise TypeError naming ``op`` if a result computed from constants is not numeric."""
    if data.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"{op}: operands must be numeric, got {', '.join(describe(x) for x in operands)} "
                        f"(the result would have dtype {data.dtype})")


def axis_error(op, axis, shape, err):
    """The error for a bad ``axis``: out of range or repeated (ValueError), not an int (TypeError)."""
    if isinstance(err, TypeError):
        return TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r} "
                         f"({type(axis).__name__}) for a tensor of shape {shape}")
    if "repeated" in str(err):
        return ValueError(f"{op}: axis {axis} names the same axis twice (tensor of shape {shape})")
    return ValueError(f"{op}: axis {axis} is out of range for a tensor of shape {shape} ({err})")


def axis_args(axis, keepdims, dim, keepdim):
    """Accept PyTorch's ``dim=``/``keepdim=`` as aliases of numpy's ``axis=``/``keepdims=``."""
    if dim is not None:
        if axis is not None:
            raise TypeError("pass either axis= or dim=, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)


def ascontiguousarray(x, dtype=None):
    """``np.ascontiguousarray(x, dtype)``, keeping a jit recording's traced arrays traced."""
    if type(x) is _Traced:
        return x.astype(x.dtype if dtype is None else dtype, order="C", copy=False)
    return np.ascontiguousarray(x, dtype=dtype)


def asarray(x, dtype=None):
    """``np.asarray(x, dtype)``, except that an array a jit recording traces stays traced
    (``np.asarray`` would give a plain view, whose values the recording could not follow);
    its cast is a logged ``astype``."""
    if type(x) is _Traced:
        return x if dtype is None or x.dtype == np.dtype(dtype) else x.astype(dtype)
    return np.asarray(x, dtype=dtype)
