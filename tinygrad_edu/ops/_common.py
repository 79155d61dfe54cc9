"""Small helpers shared by the op modules."""
from __future__ import annotations

from ..tensor import Tensor


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


def axis_error(op, axis, shape, err):
    """A ValueError for an axis outside the tensor's dimensions."""
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
