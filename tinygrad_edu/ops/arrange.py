"""Rearranging ops: ravel, moveaxis, rollaxis, flip(lr/ud), rot90, roll, tile, repeat
(numpy's element repeat; PyTorch's ``repeat_interleave``), pad (numpy's ``np.pad``),
tril and triu.

All but ``roll`` are compositions of the shape ops (reshape, transpose,
broadcast_to, indexing, setitem) and ``where``: they move or copy elements,
so their gradients (and second derivatives) are those ops' rules. ``roll``
has its own rule: the adjoint of a cyclic shift is the opposite shift.

The Tensor method ``repeat`` is numpy's ``ndarray.repeat``, but PyTorch's
``x.repeat(2, 3)`` means *tile*; calls that look like PyTorch's raise or
warn, naming ``tile`` and ``repeat(r, axis=)`` (see :func:`repeat_method`).
"""
from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, axis_error
from .elementwise import where
from .shape import broadcast_to, clone, getitem, reshape, setitem, transpose

__all__ = ["ravel", "moveaxis", "rollaxis", "flip", "fliplr", "flipud", "rot90", "roll", "tile",
           "repeat", "repeat_interleave", "pad", "tril", "triu", "RepeatAmbiguityWarning"]
from ._common import asarray as _asarray


def _axes(op, axis, x):
    try:
        return normalize_axis_tuple(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None


def _axis(op, axis, x):
    try:
        return normalize_axis_index(axis, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error(op, axis, x.shape, err) from None


def _along(ax, index):
    """The index tuple selecting ``index`` along axis ``ax`` (all of the other axes)."""
    return (slice(None),) * ax + (index,)


def _own(out, x):
    """``out`` with memory of its own: numpy's tile, repeat and pad return copies, and a
    read-only broadcast view (reps of 1) must not be what the user gets."""
    return clone(out) if np.may_share_memory(out.data, x.data) else out


def ravel(x, order="C"):
    """``x`` as a 1-D tensor (``np.ravel``; C order only). Shape ``(x.size,)``."""
    x = as_operand("ravel", x)
    if order != "C":
        raise ValueError(f"ravel: only order='C' is supported, got {order!r}")
    return reshape(x, (-1,))


def moveaxis(x, source, destination):
    """Move axes ``source`` to positions ``destination`` (``np.moveaxis``; ``torch.movedim``).

    The other axes keep their order. Raises ValueError naming the shape when an
    axis is out of range or repeated, or when the two lists differ in length.
    """
    x = as_operand("moveaxis", x)
    src, dst = _axes("moveaxis", source, x), _axes("moveaxis", destination, x)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source!r} and destination {destination!r} must have "
                         f"the same number of elements (tensor of shape {x.shape})")
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return transpose(x, tuple(order))


def rollaxis(x, axis, start=0):
    """Move ``axis`` so that it lies before position ``start`` (``np.rollaxis``)."""
    x = as_operand("rollaxis", x)
    n = x.ndim
    ax = _axis("rollaxis", axis, x)
    if not -n <= start <= n:
        raise ValueError(f"rollaxis: start {start} is out of range for a tensor of shape {x.shape}")
    start = start + n if start < 0 else start
    if ax < start:
        start -= 1
    if ax == start:
        return transpose(x, tuple(range(n)))
    order = [i for i in range(n) if i != ax]
    order.insert(start, ax)
    return transpose(x, tuple(order))


def flip(x, axis=None, *more, dims=None):
    """Reverse the order of elements along ``axis`` (``np.flip``; all axes when None).

    ``axis`` is an int or a tuple; PyTorch's ``x.flip(dims)`` and ``x.flip(0, 1)``
    mean the same. The result is a strided view (a basic slice), as numpy's;
    the method ``x.flip(...)`` copies, as PyTorch's. The gradient is flipped back.
    """
    x = as_operand("flip", x)
    if dims is not None:
        axis = dims
    if more:
        axis = (axis, *more)
    axes = tuple(range(x.ndim)) if axis is None else _axes("flip", axis, x)
    rev = slice(None, None, -1)
    return getitem(x, tuple(rev if i in axes else slice(None) for i in range(x.ndim)))


def fliplr(x):
    """Reverse axis 1 (``np.fliplr``). Raises ValueError for fewer than 2 dimensions."""
    x = as_operand("fliplr", x)
    if x.ndim < 2:
        raise ValueError(f"fliplr: needs at least 2 dimensions, got shape {x.shape}")
    return flip(x, 1)


def flipud(x):
    """Reverse axis 0 (``np.flipud``). Raises ValueError for a 0-d tensor."""
    x = as_operand("flipud", x)
    if x.ndim < 1:
        raise ValueError(f"flipud: needs at least 1 dimension, got shape {x.shape}")
    return flip(x, 0)


def rot90(x, k=1, axes=(0, 1), *, dims=None):
    """Rotate by 90 degrees ``k`` times in the plane ``axes``, from the first axis towards
    the second (``np.rot90``; PyTorch's ``torch.rot90(x, k, dims)`` is the same).

    A flip and a transpose, as numpy builds it. Raises ValueError if the two axes
    are equal or out of range.
    """
    x = as_operand("rot90", x)
    axes = tuple(dims) if dims is not None else tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name 2 axes, got {axes!r}")
    if x.ndim < 2:
        raise ValueError(f"rot90: needs at least 2 dimensions, got shape {x.shape}")
    a0, a1 = _axes("rot90", axes, x)
    k = int(k) % 4
    if k == 0:
        return getitem(x, Ellipsis)
    if k == 2:
        return flip(flip(x, a0), a1)
    perm = list(range(x.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(x, a1), tuple(perm))
    return flip(transpose(x, tuple(perm)), a1)


def roll(x, shift=None, axis=None, *, shifts=None, dims=None):
    """Shift elements cyclically by ``shift`` along ``axis`` (``np.roll``; ``torch.roll``).

    ``shift`` and ``axis`` may be tuples (broadcast against each other); with
    ``axis=None`` the flattened tensor is rolled and the shape restored.
    PyTorch's ``roll(shifts, dims)`` means the same. The gradient is rolled by
    ``-shift``.
    """
    x = as_operand("roll", x)
    axis = dims if dims is not None else axis
    shift = shifts if shifts is not None else shift
    if shift is None:
        raise TypeError("roll: missing the shift (numpy's shift=, PyTorch's shifts=)")
    if axis is None:
        return reshape(roll(reshape(x, (-1,)), shift, 0), x.shape)
    axes = np.atleast_1d(_asarray(axis))
    try:
        shifts, axes = np.broadcast_arrays(np.atleast_1d(_asarray(shift)), axes)
        axes = [normalize_axis_index(int(a), x.ndim) for a in axes]
    except (ValueError, TypeError) as err:
        raise ValueError(f"roll: shift {shift!r} and axis {axis!r} do not fit a tensor of shape "
                         f"{x.shape} ({err})") from None
    if shifts.dtype.kind not in "iu":
        raise TypeError(f"roll: shift must be an int or a tuple of ints, got {shift!r}")
    total = [0] * x.ndim
    for s, a in zip(shifts.tolist(), axes):
        total[a] += s
    ax = tuple(a for a in range(x.ndim) if total[a])
    sh = tuple(total[a] for a in ax)
    return record(np.roll(x.data, sh, ax) if ax else x.data.copy(), _roll_backward, (x,), (sh, ax))


@backward_rule("roll")
def _roll_backward(g, out, inputs, saved, needs):
    sh, ax = saved
    return (np.roll(g, tuple(-s for s in sh), ax) if ax else g,)


def tile(x, reps=None, *, dims=None):
    """``x`` repeated ``reps`` times along each axis as a whole (``np.tile``; PyTorch's
    ``x.tile(reps)`` and ``x.repeat(*reps)``).

    Missing axes are prepended (to ``x`` or to ``reps``), as numpy does. Built
    as reshape to ``(1, n0, 1, n1, ...)``, broadcast to ``(r0, n0, r1, n1, ...)``
    and reshape, so the gradient sums the copies.
    """
    x = as_operand("tile", x)
    reps = dims if dims is not None else reps
    if reps is None:
        raise TypeError("tile: missing reps (numpy's reps=, PyTorch's dims=)")
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    if not all(isinstance(r, (int, np.integer)) and not isinstance(r, bool) for r in reps):
        raise TypeError(f"tile: reps must be ints, got {reps!r}")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be non-negative, got {reps!r}")
    nd = max(len(reps), x.ndim)
    reps = (1,) * (nd - len(reps)) + tuple(int(r) for r in reps)
    shape = (1,) * (nd - x.ndim) + x.shape
    inter = tuple(v for n in shape for v in (1, n))
    wide = tuple(v for r, n in zip(reps, shape) for v in (r, n))
    out = reshape(broadcast_to(reshape(x, inter), wide), tuple(r * n for r, n in zip(reps, shape)))
    return _own(out, x)


def repeat(x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (``np.repeat``: ``[a, b]`` ->
    ``[a, a, b, b]``; PyTorch's ``repeat_interleave``). To repeat the whole tensor,
    ``[a, b, a, b]``, use :func:`tile`.

    ``repeats`` is an int or a 1-D array of non-negative ints, one per element
    along ``axis`` (or broadcast from length 1). With ``axis=None`` the
    flattened tensor is repeated. The gradient sums the copies of each element.

    Raises ValueError naming the shape if the counts are negative or their
    number does not fit the axis; TypeError if they are not integers.
    """
    x = as_operand("repeat", x)
    if axis is None:
        x, ax = reshape(x, (-1,)), 0
    else:
        ax = _axis("repeat", axis, x)
    r = _asarray(repeats.data if isinstance(repeats, Tensor) else repeats)
    if r.dtype.kind not in "iu" or r.ndim > 1:
        raise TypeError(f"repeat: repeats must be an int or a 1-D array of ints, got {repeats!r}")
    if (r < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative, got {repeats!r}")
    n = x.shape[ax]
    if r.ndim == 1 and r.size == 1:
        r = r.reshape(())
    if r.ndim == 0:
        k = int(r)
        wide = x.shape[:ax + 1] + (k,) + x.shape[ax + 1:]
        cols = reshape(x, x.shape[:ax + 1] + (1,) + x.shape[ax + 1:])
        return _own(reshape(broadcast_to(cols, wide), x.shape[:ax] + (n * k,) + x.shape[ax + 1:]), x)
    if r.size != n:
        raise ValueError(f"repeat: {r.size} repeat counts do not fit axis {ax} of size {n} "
                         f"(tensor of shape {x.shape})")
    return getitem(x, _along(ax, np.repeat(np.arange(n), r)))


def repeat_interleave(x, repeats, dim=None, *, output_size=None):
    """PyTorch's name for numpy's :func:`repeat`: each element ``repeats`` times along
    ``dim`` (flattened when None). ``output_size`` is checked when given."""
    out = repeat(x, repeats, dim)
    if output_size is not None and out.shape[0 if dim is None else dim] != output_size:
        raise ValueError(f"repeat_interleave: output_size={output_size} does not match the "
                         f"result's size {out.shape[0 if dim is None else dim]}")
    return out


class RepeatAmbiguityWarning(UserWarning):
    """``x.repeat(n)`` on a 1-D tensor: numpy's element repeat, not PyTorch's tile."""


def repeat_method(self, *repeats, axis=None):
    """``x.repeat(repeats, axis=None)``: numpy's ``ndarray.repeat`` (each element repeated).

    PyTorch's ``x.repeat(2, 3)`` *tiles* instead, so calls that read differently
    in the two libraries are refused or flagged, never silently wrong:

    * two or more positional arguments (``x.repeat(2, 1)``: numpy's
      ``repeat(2, axis=1)``, PyTorch's ``tile((2, 1))``): TypeError naming both
      spellings; write ``x.repeat(2, axis=1)`` or ``x.tile((2, 1))``;
    * a list or tuple of counts without ``axis`` (PyTorch's tile sizes, or
      numpy's per-element counts): TypeError; pass ``axis=`` or use ``tile``;
    * one int ``n > 1`` on a 1-D tensor of 2 or more elements without ``axis``
      (numpy ``[a, a, b, b]``, PyTorch ``[a, b, a, b]``): a
      :class:`RepeatAmbiguityWarning`; pass ``axis=0`` to confirm numpy's
      meaning, or use ``x.tile(n)``.
    """
    if not repeats:
        raise TypeError("repeat() missing the argument 'repeats'")
    if len(repeats) > 1:
        raise TypeError(
            f"Tensor.repeat{repeats}: ambiguous. This is numpy's ndarray.repeat (each element "
            f"repeated); PyTorch's x.repeat{repeats} tiles. Write x.tile({repeats}) to tile, or "
            f"x.repeat({repeats[0]}, axis={repeats[1]}) for numpy's element repeat")
    r = repeats[0]
    if axis is None and isinstance(r, (list, tuple)):
        raise TypeError(
            f"Tensor.repeat({r!r}): ambiguous without axis=. PyTorch's x.repeat({r!r}) tiles: use "
            f"x.tile({tuple(r)!r}); for numpy's per-element counts pass axis= (or use "
            "tinygrad_edu.repeat(x, counts) on the flattened tensor)")
    if axis is None and self.ndim == 1 and isinstance(r, (int, np.integer)) and r > 1 and self.size > 1:
        # (with one element, or r of 0 or 1, tiling and repeating give the same tensor)
        warnings.warn(
            f"x.repeat({r}) on a 1-D tensor repeats each element (numpy: [a, a, b, b]); "
            f"PyTorch's x.repeat({r}) tiles ([a, b, a, b]): use x.tile({r}) for that. Pass "
            "axis=0 to silence this warning", RepeatAmbiguityWarning, stacklevel=2)
    return repeat(self, r, axis)


# ---- pad ----------------------------------------------------------------------------
_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _pad_pairs(op, pad_width, x):
    """numpy's forms of ``pad_width`` (n, (n,), (before, after), ((b0, a0), ...)) as
    one ``(before, after)`` pair of ints per axis."""
    w = _asarray(pad_width.data if isinstance(pad_width, Tensor) else pad_width)
    if w.dtype.kind not in "iu":
        raise TypeError(f"{op}: pad_width must be ints, got {pad_width!r}")
    try:
        w = np.broadcast_to(w, (x.ndim, 2))
    except ValueError:
        raise ValueError(f"{op}: pad_width {pad_width!r} does not fit a tensor of shape "
                         f"{x.shape} (give n, (before, after) or one pair per axis)") from None
    if (w < 0).any():
        raise ValueError(f"{op}: pad_width must be non-negative, got {pad_width!r}")
    return [(int(b), int(a)) for b, a in w]


def pad(x, pad_width, mode="constant", **kwargs):
    """Pad ``x`` with ``pad_width`` elements before and after each axis (``np.pad``).

    Modes: ``constant`` (``constant_values``: a number, or numpy's per-axis
    pairs), ``edge`` (repeat the edge element), ``reflect`` (mirror without
    the edge: ``[c b | a b c | b a]``), ``symmetric`` (mirror with the edge)
    and ``wrap`` (periodic). Widths larger than the axis follow numpy (the
    pattern repeats). For PyTorch's ``F.pad`` see ``tinygrad_edu.nn.functional.pad``.

    Non-constant modes select source elements with one integer index per
    padded axis (``np.pad(np.arange(n), ...)`` names them), so the gradient
    of each output is added into the element it was copied from. Constant
    mode writes ``x`` into the padded background; its gradient is the
    middle of ``g``.

    Raises ValueError naming the shape for bad widths, an unknown mode or a
    non-constant mode that must extend an empty axis.
    """
    x = as_operand("pad", x)
    if mode in ("replicate", "circular") or "value" in kwargs:
        raise ValueError(
            f"pad: this is numpy's np.pad(x, pad_width, mode, constant_values=); mode {mode!r} and "
            "value= are PyTorch's F.pad: use tinygrad_edu.nn.functional.pad(x, pad, mode, value) "
            "(its widths start at the last axis), or numpy's modes 'edge' / 'wrap'")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; use one of {_PAD_MODES}")
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"},
               "symmetric": {"reflect_type"}}.get(mode, set())
    if set(kwargs) - allowed:
        raise ValueError(f"pad: unsupported keyword arguments for mode {mode!r}: "
                         f"{sorted(set(kwargs) - allowed)}")
    if kwargs.get("reflect_type", "even") != "even":
        raise ValueError(f"pad: only reflect_type='even' is supported, got {kwargs['reflect_type']!r}")
    pairs = _pad_pairs("pad", pad_width, x)
    if x.ndim == 0:  # no axis to pad (numpy's np.pad fails here; the answer is x)
        return clone(x)
    if mode == "constant":
        cv = kwargs.get("constant_values", 0)
        if isinstance(cv, Tensor):
            raise TypeError("pad: constant_values must be numbers, not a Tensor (they get no gradient)")
        background = np.pad(np.zeros(x.shape, x.dtype), pairs, mode="constant", constant_values=cv)
        inner = tuple(slice(b, b + n) for (b, _), n in zip(pairs, x.shape))
        return setitem(Tensor._wrap(background), inner, x)
    out = x
    for ax, ((b, a), n) in enumerate(zip(pairs, x.shape)):
        if b == 0 and a == 0:
            continue
        if n == 0:
            raise ValueError(f"pad: cannot extend the empty axis {ax} of a tensor of shape "
                             f"{x.shape} with mode {mode!r} (only 'constant' can)")
        out = getitem(out, _along(ax, np.pad(np.arange(n), (b, a), mode=mode)))
    return out if out is not x else clone(x)


# ---- triangles ----------------------------------------------------------------------
def _triangle(op, x, k, keep_lower):
    x = as_operand(op, x)
    if x.ndim < 1:
        raise ValueError(f"{op}: needs at least 1 dimension, got shape {x.shape}")
    k = int(k)
    rows, cols = x.shape[-2:] if x.ndim >= 2 else (x.shape[-1], x.shape[-1])
    lower = np.tri(rows, cols, k if keep_lower else k - 1, dtype=bool)
    return where(lower if keep_lower else ~lower, x, np.zeros((), x.dtype))


def tril(x, k=0, *, diagonal=None):
    """The lower triangle: elements with ``col <= row + k`` kept, the rest 0 (``np.tril``;
    ``torch.tril(x, diagonal)``). Batched over leading axes; a 1-D ``x`` is
    broadcast to a square first, as numpy does. Gradient: ``g`` where kept,
    0 elsewhere (a select)."""
    return _triangle("tril", x, k if diagonal is None else diagonal, True)


def triu(x, k=0, *, diagonal=None):
    """The upper triangle: elements with ``col >= row + k`` kept, the rest 0 (``np.triu``;
    ``torch.triu(x, diagonal)``). See :func:`tril`."""
    return _triangle("triu", x, k if diagonal is None else diagonal, False)


NUMPY_FUNCTIONS = {
    np.ravel: ravel,
    np.moveaxis: moveaxis,
    np.rollaxis: rollaxis,
    np.flip: lambda m, axis=None: flip(m, axis),
    np.fliplr: fliplr,
    np.flipud: flipud,
    np.rot90: lambda m, k=1, axes=(0, 1): rot90(m, k, axes),
    np.roll: lambda a, shift, axis=None: roll(a, shift, axis),
    np.tile: lambda A, reps: tile(A, reps),
    np.repeat: lambda a, repeats, axis=None: repeat(a, repeats, axis),
    np.pad: lambda array, pad_width, mode="constant", **kw: pad(array, pad_width, mode, **kw),
    np.tril: lambda m, k=0: tril(m, k),
    np.triu: lambda m, k=0: triu(m, k),
}

def _copying(fn):
    """PyTorch's ``Tensor.flip/fliplr/flipud/rot90`` (ndarray has no such methods) copy;
    numpy's functions return views. As methods they copy, so that PyTorch's habit of
    writing into the result never changes the tensor it came from."""
    def method(self, *args, **kwargs):
        return clone(fn(self, *args, **kwargs))
    method.__name__, method.__doc__ = fn.__name__, fn.__doc__
    return method


TENSOR_METHODS = {
    "ravel": ravel,
    "repeat": repeat_method,
    "repeat_interleave": repeat_interleave,
    "moveaxis": moveaxis,
    "movedim": moveaxis,
    "flip": _copying(flip),
    "fliplr": _copying(fliplr),
    "flipud": _copying(flipud),
    "rot90": _copying(rot90),
    "roll": roll,
    "tile": lambda self, *reps: tile(self, reps[0] if len(reps) == 1 else reps),
    "tril": tril,
    "triu": triu,
}
