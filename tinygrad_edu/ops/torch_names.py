"""PyTorch's names for ops we already have: ``permute``, ``view``, ``expand``, ``t()``,
``numel``, ``long()``, ``to(dtype)``, ``new_zeros``, ``full_like``, ``linspace``, ...

Nothing here has its own backward rule: each name is one of the shape ops
(``transpose``, ``reshape``, ``broadcast_to``, ``astype``), so gradients and
second derivatives come from those. Where numpy gives the same name another
meaning, numpy's is kept and the PyTorch habit raises or warns with the
alternative (the list is in docs/pytorch.md); the names here are all
PyTorch-only except ``view`` (numpy's ``ndarray.view(dtype)`` reinterprets
bytes: raises TypeError here) and the ``*_like`` factories (numpy's meaning,
which PyTorch shares).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..autograd import record
from ..tensor import Tensor, _factory, _shape, _values, rand, randn, zeros, zeros_like
from . import shape as _shape_ops
from ._common import as_operand, axis_error

__all__ = ["permute", "numel", "unflatten", "full_like", "empty", "empty_like", "rand_like",
           "randn_like", "linspace", "logspace"]


def _operand(op, x):
    return x if isinstance(x, Tensor) else as_operand(op, x)


def _sizes(args):
    """``f(2, 3)`` or ``f((2, 3))`` -> ``(2, 3)``."""
    return tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else tuple(args)


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


# ---- tg.tensor, Tensor.size ------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (``torch.tensor``): ``Tensor(data, requires_grad, dtype)``.

    Reached as ``tinygrad_edu.tensor(...)``: the module tinygrad_edu/tensor.py
    is callable (see the bottom of that file), so ``import tinygrad_edu.tensor``
    and ``from tinygrad_edu.tensor import Tensor`` keep working. ``device`` may
    only be None or ``"cpu"``. Raises as :class:`Tensor` does.
    """
    _check_device("tensor", device)
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _check_device(op, device):
    """Accept the only device there is (None, "cpu", "cpu:0"); raise RuntimeError naming any other."""
    if device is None or (isinstance(device, str) and (device == "cpu" or device.startswith("cpu:"))):
        return
    raise RuntimeError(f"{op}: device {device!r} is not available: tinygrad_edu runs on numpy, on the "
                       "CPU only; drop the device argument (or use 'cpu')")


class _Size(int):
    """``Tensor.size``: numpy's element count, callable as PyTorch's ``size()``/``size(dim)``."""

    def __new__(cls, n, shape):
        self = int.__new__(cls, n)
        self._shape = shape
        return self

    def __call__(self, dim=None):
        """The shape tuple (``dim`` None) or the length of axis ``dim`` (negative counts from the end).

        Raises IndexError naming the shape for a ``dim`` out of range,
        TypeError for a ``dim`` that is not an int.
        """
        if dim is None:
            return self._shape
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"size: dim must be an int, got {type(dim).__name__} {dim!r:.40}")
        n = len(self._shape)
        if not -n <= dim < n:
            raise IndexError(f"size: dim {dim} is out of range for a tensor of shape {self._shape}")
        return self._shape[dim]

    def __reduce__(self):  # pickles and copies as the plain int
        return (int, (int(self),))

    def __repr__(self):
        return int.__repr__(self)


# ---- shape -------------------------------------------------------------------
def permute(x, *dims):
    """Reorder the axes (``torch.permute``): ``dims`` (ints or one tuple) is a permutation of all axes.

    The same as numpy's ``transpose(dims)``; unlike ``transpose()``, an empty
    ``dims`` is only valid for a 0-d tensor. Raises ValueError naming the
    shape when ``dims`` is not a permutation of the axes.
    """
    x = _operand("permute", x)
    dims = _sizes(dims)
    try:
        axes = normalize_axis_tuple(dims, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error("permute", dims, x.shape, err) from None
    if len(axes) != x.ndim:
        raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} axes of a tensor "
                         f"of shape {x.shape}")
    return _shape_ops.transpose(x, axes)


def view(x, *shape):
    """The same data in a new shape, sharing memory (``torch.Tensor.view``); one size may be -1.

    As PyTorch, the result must be a view: where numpy would have to copy
    (e.g. flattening a transposed tensor) this raises ValueError naming
    ``reshape``, which copies when needed. ``view()`` with no shape is
    numpy's ``ndarray.view()``: the same shape. ``view(dtype)``, which
    reinterprets the bytes in numpy and PyTorch, is not supported: TypeError
    (use ``astype`` / ``to`` to convert the values).
    """
    x = _operand("view", x)
    if len(shape) == 1 and shape[0] is not None and not _is_int(shape[0]) \
            and not isinstance(shape[0], (tuple, list)):
        try:
            dt = np.dtype(shape[0])
        except TypeError:
            dt = None
        if dt is not None:
            raise TypeError(f"view({shape[0]!r}): reinterpreting the bytes as another dtype (numpy's "
                            "ndarray.view(dtype), PyTorch's Tensor.view(dtype)) is not supported; use "
                            f"astype({dt}) or to({dt}) to convert the values")
    shape = _sizes(shape) if shape else x.shape
    try:
        data = np.reshape(x.data, shape, copy=False)
    except TypeError as err:
        raise TypeError(f"view: the shape must be ints, got {shape!r} ({err})") from None
    except ValueError as err:
        if "copy" in str(err):
            raise ValueError(f"view: a tensor of shape {x.shape} with strides {x.data.strides} cannot be "
                             f"viewed as shape {shape} without copying; use reshape, which copies "
                             "when it must") from None
        raise ValueError(f"view: cannot view a tensor of shape {x.shape} as shape {shape} ({err})") from None
    return record(data, _shape_ops._reshape_backward, (x,))


def view_as(x, other):
    """``view(other.shape)``."""
    return view(x, tuple(np.shape(other)))


def reshape_as(x, other):
    """``reshape(other.shape)``."""
    return _shape_ops.reshape(x, tuple(np.shape(other)))


def expand(x, *sizes):
    """Broadcast to ``sizes`` (``torch.Tensor.expand``): a read-only view, no copy.

    ``sizes`` as ints or one tuple; -1 keeps that axis's size; extra sizes
    in front add new leading axes (-1 is not allowed there). Only size-1
    axes can grow. The gradient is summed back over the expanded axes (the
    rule of :func:`~tinygrad_edu.ops.shape.broadcast_to`).

    Raises ValueError naming both shapes when ``x`` cannot be expanded.
    """
    x = _operand("expand", x)
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {x.shape}: give at "
                         f"least one size per axis ({x.ndim})")
    target = []
    for i, s in enumerate(sizes):
        if not _is_int(s):
            raise TypeError(f"expand: sizes must be ints, got {sizes!r}")
        if s == -1:
            if i < lead:
                raise ValueError(f"expand: -1 is not allowed for the new leading axis {i} in {sizes} "
                                 f"(tensor of shape {x.shape})")
            s = x.shape[i - lead]
        elif s < 0:
            raise ValueError(f"expand: invalid size {s} in {sizes}")
        target.append(int(s))
    target = tuple(target)
    if not all(n == m or n == 1 for n, m in zip(x.shape, target[lead:])):
        raise ValueError(f"expand: cannot expand a tensor of shape {x.shape} to {target}: only axes of "
                         "size 1 can grow")
    return _shape_ops.broadcast_to(x, target)


def expand_as(x, other):
    """``expand(other.shape)``."""
    return expand(x, tuple(np.shape(other)))


def unflatten(x, dim, sizes):
    """Split axis ``dim`` into the axes ``sizes`` (``torch.unflatten``); one size may be -1.

    Raises ValueError naming the shape when the sizes do not multiply to the
    length of axis ``dim`` (or ``sizes`` is empty).
    """
    x = _operand("unflatten", x)
    try:
        d = normalize_axis_index(dim, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error("unflatten", dim, x.shape, err) from None
    sizes = tuple(sizes)
    known = [s for s in sizes if s != -1]
    if not sizes or not all(_is_int(s) and s >= 0 for s in known) or len(sizes) - len(known) > 1 \
            or (len(known) == len(sizes) and int(np.prod(sizes)) != x.shape[d]) \
            or (len(known) < len(sizes) and (int(np.prod(known)) == 0 or x.shape[d] % int(np.prod(known)))):
        raise ValueError(f"unflatten: cannot split axis {dim} (of size {x.shape[d]}) of a tensor of shape "
                         f"{x.shape} into sizes {sizes}")
    # -1 resolved here, from this axis alone: numpy could not infer it when another axis is empty
    sizes = tuple(x.shape[d] // int(np.prod(known)) if s == -1 else int(s) for s in sizes)
    return _shape_ops.reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def t(x):
    """The transpose of a matrix (``torch.Tensor.t``); 0-d and 1-d tensors are returned as they are.

    Raises ValueError for more than 2 dimensions (use ``.mT`` or
    ``swapaxes(-2, -1)`` for the last two axes of a batch).
    """
    x = _operand("t", x)
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dimensions, got shape {x.shape}; for the last "
                         "two axes use .mT or swapaxes(-2, -1)")
    return _shape_ops.transpose(x)


# ---- queries -------------------------------------------------------------------
def numel(x) -> int:
    """The number of elements, a plain int (``torch.numel``; numpy's ``size``)."""
    return int(np.size(x.data if isinstance(x, Tensor) else x))


def _dim(x) -> int:
    """The number of dimensions (``ndim``)."""
    return x.data.ndim


def _element_size(x) -> int:
    """Bytes per element (numpy's ``itemsize``)."""
    return x.data.itemsize


def _is_floating_point(x) -> bool:
    """True for a floating-point dtype (float16/32/64)."""
    return x.data.dtype.kind == "f"


def _is_complex(x) -> bool:
    """True for a complex dtype."""
    return x.data.dtype.kind == "c"


# ---- dtypes and devices ----------------------------------------------------------
def _cast(name, dtype):
    def method(self):
        return _shape_ops.astype(self, dtype)

    method.__name__ = name
    method.__doc__ = (f"``astype({np.dtype(dtype)})`` (PyTorch's ``{name}()``); "
                      "casts to integer/bool dtypes have no gradient.")
    return method


def to(x, *args, dtype=None, device=None, non_blocking=False, copy=False):
    """Convert the dtype (``torch.Tensor.to``): ``to(dtype)``, ``to(other)``, ``to("cpu")``, ``to(device, dtype)``.

    A dtype is anything ``np.dtype`` accepts; a Tensor gives its dtype; the
    only device is the CPU (``"cpu"``). Returns ``x`` itself when nothing
    changes (unless ``copy=True``), otherwise :func:`astype` (differentiable
    between float dtypes). ``non_blocking`` is accepted and ignored.

    Raises RuntimeError for another device (``"cuda"``), TypeError for
    something that is neither a dtype nor a device.
    """
    x = _operand("to", x)
    if len(args) > 2:
        raise TypeError(f"to: expected at most a device and a dtype, got {len(args)} arguments")
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
        elif isinstance(a, str) and not _is_dtype(a):
            device = a
        else:
            dtype = a
    if isinstance(device, str) and not device.startswith(_DEVICE_TYPES):
        raise TypeError(f"to: {device!r} is neither a numpy dtype nor a device (the only device is 'cpu')")
    _check_device("to", device)
    if dtype is None:
        return _shape_ops.clone(x) if copy else x
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"to: {dtype!r} is not a numpy dtype ({err})") from None
    if dt == x.dtype and not copy:
        return x
    return _shape_ops.astype(x, dt)


# PyTorch's device types: a string starting with one is a device (only "cpu" exists here),
# any other string that is not a dtype is a typo.
_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "vulkan", "ipu", "hpu", "mtia")


def _is_dtype(s):
    try:
        np.dtype(s)
    except TypeError:
        return False
    return True


def type_as(x, other):
    """``to(other.dtype)`` (``torch.Tensor.type_as``)."""
    return to(x, np.dtype(other.dtype))


def _contiguous(x):
    """``x`` itself if its data is C-contiguous, else a C-contiguous copy in the graph (``clone``).

    As PyTorch's, so ``x.swapaxes(1, 2).contiguous().view(b, t, c)`` works.
    """
    return x if x.data.flags.c_contiguous else _shape_ops.clone(x)


def _is_contiguous(x) -> bool:
    """True if the data is C-contiguous (row-major, no gaps)."""
    return bool(x.data.flags.c_contiguous)


def _cpu(x):
    """Return ``x``: everything lives on the CPU."""
    return x


# ---- factories ---------------------------------------------------------------------
def _new_factory(name, make):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        _check_device(name, device)
        dt = self.dtype if dtype is None else dtype
        return _factory(name, lambda: make(_shape(size), dt), size, requires_grad)

    method.__name__ = name
    return method


_new_zeros = _new_factory("new_zeros", lambda s, dt: np.zeros(s, dt))
_new_zeros.__doc__ = "Zeros of shape ``size`` with this tensor's dtype unless ``dtype`` is given (``Tensor.new_zeros``)."
_new_ones = _new_factory("new_ones", lambda s, dt: np.ones(s, dt))
_new_ones.__doc__ = "Ones of shape ``size`` with this tensor's dtype unless ``dtype`` is given (``Tensor.new_ones``)."
_new_empty = _new_factory("new_empty", lambda s, dt: np.zeros(s, dt))
_new_empty.__doc__ = "As :meth:`new_zeros` (``Tensor.new_empty``; no uninitialised memory is handed out)."


def _new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``size`` filled with ``fill_value``, with this tensor's dtype unless given (``Tensor.new_full``)."""
    _check_device("new_full", device)
    dt = self.dtype if dtype is None else dtype
    size = (size,) if _is_int(size) else tuple(size)
    return _factory("new_full", lambda: np.full(size, fill_value, dt), (size, fill_value), requires_grad)


def _new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with this tensor's dtype unless given (``Tensor.new_tensor``)."""
    _check_device("new_tensor", device)
    return Tensor(data, requires_grad=requires_grad, dtype=self.dtype if dtype is None else dtype)


def full_like(t, fill_value, dtype=None, requires_grad=False, *, shape=None) -> Tensor:
    """``fill_value`` in the shape (and dtype unless given) of ``t`` (``np.full_like``, ``torch.full_like``).

    Like numpy (and PyTorch), the value is cast to the dtype: ``full_like``
    of an int tensor with 2.5 holds 2.
    """
    a = _values(t)
    return _factory("full_like", lambda: np.full_like(a, fill_value, dtype=dtype, shape=shape),
                    (type(t).__name__, fill_value), requires_grad)


def empty(*shape, dtype=np.float64, requires_grad=False) -> Tensor:
    """As :func:`zeros` (``np.empty``/``torch.empty``, but never uninitialised memory)."""
    return zeros(*shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(t, dtype=None, requires_grad=False) -> Tensor:
    """As :func:`zeros_like` (never uninitialised memory)."""
    return zeros_like(t, dtype=dtype, requires_grad=requires_grad)


def _random_like(op, fn, t, dtype, rng, requires_grad):
    dt = np.dtype(_values(t).dtype if dtype is None else dtype)
    if dt.kind not in "fc":
        raise TypeError(f"{op}: needs a floating-point dtype, got {dt} (pass dtype=np.float64)")
    return fn(np.shape(t), rng=rng, dtype=dt, requires_grad=requires_grad)


def rand_like(t, dtype=None, rng=None, requires_grad=False) -> Tensor:
    """Uniform [0, 1) samples in the shape and dtype of ``t`` (``torch.rand_like``); ``rng`` as :func:`rand`.

    Raises TypeError for an integer or bool dtype.
    """
    return _random_like("rand_like", rand, t, dtype, rng, requires_grad)


def randn_like(t, dtype=None, rng=None, requires_grad=False) -> Tensor:
    """Standard normal samples in the shape and dtype of ``t`` (``torch.randn_like``); ``rng`` as :func:`randn`.

    Raises TypeError for an integer or bool dtype.
    """
    return _random_like("randn_like", randn, t, dtype, rng, requires_grad)


def _range_args(op, stop, num, end, steps):
    if end is not None:
        if stop is not None:
            raise TypeError(f"{op}: pass either stop or end=, not both")
        stop = end
    if steps is not None:
        num = steps
    if stop is None:
        raise TypeError(f"{op}: missing the stop (end) value")
    return stop, num


def linspace(start, stop=None, num=50, endpoint=True, dtype=None, *, end=None, steps=None,
             requires_grad=False) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (``np.linspace``).

    PyTorch's ``linspace(start, end, steps)`` reads the same; ``end=`` and
    ``steps=`` are accepted as aliases. The dtype is numpy's (float64 unless
    given), not PyTorch's float32.
    """
    stop, num = _range_args("linspace", stop, num, end, steps)
    return _factory("linspace", lambda: np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype),
                    (start, stop, num), requires_grad)


def logspace(start, stop=None, num=50, endpoint=True, base=10.0, dtype=None, *, end=None, steps=None,
             requires_grad=False) -> Tensor:
    """``base ** linspace(start, stop, num)`` (``np.logspace``; PyTorch's ``end=``/``steps=`` accepted)."""
    stop, num = _range_args("logspace", stop, num, end, steps)
    return _factory("logspace", lambda: np.logspace(start, stop, num, endpoint=endpoint, base=base,
                                                    dtype=dtype), (start, stop, num), requires_grad)


def _np_like(op, make):
    """``np.zeros_like(t)`` and friends on a Tensor: a new Tensor (no graph), numpy's arguments."""
    def call(a, *args, dtype=None, order="K", subok=True, shape=None, **kw):
        if order not in ("K", "C", "A") or kw.get("device") not in (None, "cpu"):
            raise TypeError(f"np.{op}: order={order!r} and device= are not supported on Tensors")
        return make(_values(a), *args, dtype=dtype, shape=shape)
    return call


NUMPY_FUNCTIONS = {
    np.zeros_like: _np_like("zeros_like", lambda a, dtype, shape: Tensor._wrap(np.zeros_like(a, dtype, shape=shape))),
    np.ones_like: _np_like("ones_like", lambda a, dtype, shape: Tensor._wrap(np.ones_like(a, dtype, shape=shape))),
    np.empty_like: _np_like("empty_like", lambda a, dtype, shape: Tensor._wrap(np.zeros_like(a, dtype, shape=shape))),
    np.full_like: _np_like("full_like", lambda a, v, dtype, shape: full_like(a, v, dtype, shape=shape)),
}

TENSOR_METHODS = {
    "permute": permute, "view": view, "view_as": view_as, "reshape_as": reshape_as,
    "expand": expand, "expand_as": expand_as, "unflatten": unflatten, "t": t,
    "numel": numel, "nelement": numel, "dim": _dim, "ndimension": _dim,
    "element_size": _element_size, "is_floating_point": _is_floating_point, "is_complex": _is_complex,
    "long": _cast("long", np.int64), "int": _cast("int", np.int32), "short": _cast("short", np.int16),
    "bool": _cast("bool", np.bool_), "half": _cast("half", np.float16),
    "to": to, "type_as": type_as, "contiguous": _contiguous, "is_contiguous": _is_contiguous, "cpu": _cpu,
    "swapdims": _shape_ops.swapaxes,
    "new_zeros": _new_zeros, "new_ones": _new_ones, "new_empty": _new_empty, "new_full": _new_full,
    "new_tensor": _new_tensor,
}
