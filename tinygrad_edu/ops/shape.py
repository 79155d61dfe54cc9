"""Shape and indexing ops: reshape, transpose, squeeze, expand_dims, broadcast_to,
``__getitem__``, concatenate, stack, astype.

These move or select elements without arithmetic, so each backward moves
the gradient back: reshape it, transpose it by the inverse permutation, or
scatter it into zeros (adding where an index repeats).
"""
from __future__ import annotations

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..autograd import backward_rule, record
from ..tensor import Tensor, _warn_values_only
from ._common import NUMERIC_KINDS, as_operand, axis_error, check_numeric, val
from ._common import asarray as _asarray


def _same_shape_rule(g, out, inputs, saved, needs):
    return (g.reshape(inputs[0].shape),)


def reshape(x, *shape):
    """A tensor with the same data in a new shape (one dimension may be -1).

    Accepts ``reshape(2, 3)`` or ``reshape((2, 3))``. Raises ValueError
    naming both shapes when the sizes differ.
    """
    if not isinstance(x, Tensor):
        x = as_operand("reshape", x)
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        data = x.data.reshape(shape)
    except (ValueError, TypeError) as err:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} into shape {shape} ({err})") from None
    return record(data, _reshape_backward, (x,))


_reshape_backward = backward_rule("reshape")(_same_shape_rule)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes ``start_dim..end_dim`` into one (``torch.flatten``; all axes by default).

    Where the memory allows it the result is a view, as PyTorch's, but a
    read-only one: numpy's ``ndarray.flatten`` returns a copy, so writing
    into it must never change ``x`` (a write raises instead; ``clone()`` it
    to write).
    """
    if not isinstance(x, Tensor):
        x = as_operand("flatten", x)
    if x.ndim == 0:
        out = reshape(x, (1,))
    else:
        try:
            s = normalize_axis_index(start_dim, x.ndim)
            e = normalize_axis_index(end_dim, x.ndim)
        except (ValueError, TypeError) as err:
            raise axis_error("flatten", (start_dim, end_dim), x.shape, err) from None
        shape = x.shape
        out = reshape(x, shape[:s] + (int(np.prod(shape[s:e + 1])),) + shape[e + 1:])
    if out.data.base is not None:
        out.data.flags.writeable = False
    return out


def transpose(x, *axes):
    """Permute axes (``np.transpose``): reversed by default, as ``.T``.

    ``axes`` as ints or one tuple, a permutation of all the axes. The
    gradient is transposed back with the inverse permutation.

    PyTorch's ``transpose(a, b)`` swaps two axes; numpy's takes a full
    permutation. So two separate int axes (``x.transpose(-2, -1)``) are
    read as numpy's permutation only on a 2-D tensor, where they agree
    except for the identity ``(0, 1)``: that one warns (PyTorch would
    swap). On other tensors two axes raise ValueError naming
    ``swapaxes(a, b)``, the swap PyTorch meant.

    Raises ValueError for axes that are out of range, repeated or not a
    permutation.
    """
    if not isinstance(x, Tensor):
        x = as_operand("transpose", x)
    pair = len(axes) == 2 and not isinstance(axes[0], (tuple, list))  # PyTorch's transpose(a, b)?
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        axes = tuple(range(x.ndim - 1, -1, -1))
    else:
        given = axes
        try:
            axes = normalize_axis_tuple(axes, x.ndim)
        except (ValueError, TypeError) as err:
            err = axis_error("transpose", axes, x.shape, err)
            if pair:
                err = type(err)(f"{err}; to swap two axes (PyTorch's transpose{given}) use swapaxes{given}")
            raise err from None
        if len(axes) != x.ndim:
            hint = (f": numpy's transpose takes a permutation of all {x.ndim} axes; to swap two axes "
                    f"(PyTorch's transpose{given}) use swapaxes{given}" if pair else "")
            raise ValueError(f"transpose: axes {given} do not match a tensor of shape {x.shape}{hint}")
        if pair and axes == (0, 1):
            import warnings

            warnings.warn(f"transpose{given} on a 2-D tensor keeps the axes in place (numpy's permutation "
                          f"{axes}), where PyTorch's transpose{given} swaps them: use swapaxes{given}, "
                          ".T or .mT to swap, or transpose((0, 1)) for the identity", UserWarning,
                          stacklevel=2)
    return record(x.data.transpose(axes), _transpose_backward, (x,), axes)


@backward_rule("transpose")
def _transpose_backward(g, out, inputs, axes, needs):
    return (g.transpose(tuple(np.argsort(axes))),)


def swapaxes(x, axis1, axis2):
    """Swap two axes (``np.swapaxes``)."""
    if not isinstance(x, Tensor):
        x = as_operand("swapaxes", x)
    axes = list(range(x.ndim))
    try:
        a, b = normalize_axis_index(axis1, x.ndim), normalize_axis_index(axis2, x.ndim)
    except (ValueError, TypeError) as err:
        raise axis_error("swapaxes", (axis1, axis2), x.shape, err) from None
    axes[a], axes[b] = axes[b], axes[a]
    return transpose(x, tuple(axes))


def squeeze(x, axis=None, *, dim=None):
    """Remove size-1 axes (all of them, or those in ``axis``).

    Raises ValueError if a named axis is out of range or not of size 1.
    """
    if not isinstance(x, Tensor):
        x = as_operand("squeeze", x)
    axis = dim if axis is None else axis
    try:
        data = np.squeeze(x.data, axis=axis)
    except ValueError as err:
        hint = ""
        if "size not equal to one" in str(err):
            hint = ("; PyTorch's squeeze(dim) would return the tensor unchanged: write "
                    "`x.squeeze(d) if x.shape[d] == 1 else x` for that")
        raise ValueError(f"squeeze: cannot squeeze axis {axis} of a tensor of shape {x.shape} ({err}){hint}") from None
    if data is x.data:  # nothing to squeeze: numpy hands back the array itself
        data = data.view()  # a view, so in-place ops see that the memory is x's
    return record(data, _reshape_backward, (x,))


def expand_dims(x, axis):
    """Insert a size-1 axis at ``axis`` (``np.expand_dims``; int or tuple)."""
    if not isinstance(x, Tensor):
        x = as_operand("expand_dims", x)
    try:
        data = np.expand_dims(x.data, axis)
    except (ValueError, TypeError) as err:
        raise axis_error("expand_dims", axis, x.shape, err) from None
    return record(data, _reshape_backward, (x,))


def unsqueeze(x, dim):
    """PyTorch's name for :func:`expand_dims`."""
    return expand_dims(x, dim)


def broadcast_to(x, shape):
    """Broadcast ``x`` to ``shape`` (``np.broadcast_to``; the data is a read-only view).

    The backward is just the incoming gradient: the engine's shared
    unbroadcast sums it back to ``x``'s shape.
    """
    if not isinstance(x, Tensor):
        x = as_operand("broadcast_to", x)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    try:
        data = np.broadcast_to(x.data, shape)
    except ValueError as err:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape} ({err})") from None
    return record(data, _broadcast_backward, (x,))


@backward_rule("broadcast_to")
def _broadcast_backward(g, out, inputs, saved, needs):
    return (g,)


def clone(x):
    """A copy of ``x`` with its own memory that stays in the graph (d clone/dx = identity)."""
    if not isinstance(x, Tensor):
        x = as_operand("clone", x)
    return record(x.data.copy(), _clone_backward, (x,))


_clone_backward = backward_rule("clone")(lambda g, out, inputs, saved, needs: (g,))


def astype(x, dtype):
    """Convert to ``dtype`` (a differentiable cast between float dtypes).

    The gradient is cast back to ``x``'s dtype by the engine. A cast to an
    integer or bool dtype gives a tensor without gradient (as PyTorch's
    ``.to(torch.long)``): those dtypes cannot require grad.

    Raises TypeError naming the dtype if it is not a numeric numpy dtype.
    """
    if not isinstance(x, Tensor):
        x = as_operand("astype", x)
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"astype: {dtype!r} is not a numpy dtype ({err})") from None
    if dt.kind not in NUMERIC_KINDS:
        raise TypeError(f"astype: can only convert to a numeric dtype, got {dt}")
    data = x.data.astype(dt)
    if dt.kind not in "fc":
        return Tensor._wrap(data)
    return record(data, _broadcast_backward_cast, (x,))


_broadcast_backward_cast = backward_rule("astype")(lambda g, out, inputs, saved, needs: (g,))


# ---- indexing -------------------------------------------------------------
def _index_value(idx):
    """Turn Tensors inside an index into arrays; lists into arrays (numpy semantics)."""
    if isinstance(idx, tuple):
        return tuple(_index_value(i) for i in idx)
    if isinstance(idx, Tensor):
        return idx.data
    if isinstance(idx, list):
        return _asarray(idx)
    return idx


def _is_basic(idx):
    """True for indices made only of ints, slices, None and Ellipsis (no repeats possible)."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def getitem(x, idx):
    """``x[idx]`` with numpy's rules: ints, slices (with steps), None, ``...``,
    boolean masks and integer arrays.

    Backward scatters the gradient into zeros of ``x``'s shape; with integer
    arrays a repeated index receives the sum of its gradients.

    Views: basic indexing (ints, slices, None, ``...``) gives a view of
    ``x``'s memory, as numpy's and PyTorch's. That includes one int per axis
    (``x[i]`` on 1-D, ``x[i, j]`` on 2-D), a 0-d view here where numpy gives a
    scalar copy: as in PyTorch, ``t = c[1]`` then sees later writes into
    ``c``, and an in-place op on ``t`` writes into ``c`` with the graph
    (``y = h[1]; y += b`` changes ``h``; see ``inplace.py``).
    Advanced indexing (integer arrays, masks) gives a copy.

    Raises IndexError naming the index and shape when it is out of range.
    """
    meta = getattr(x, "_meta", None)
    if meta is not None and "values_only" in meta and type(idx) is int and -2 <= idx <= 1:
        _warn_values_only(x, f"indexing [{idx}] of")  # PyTorch's x.max(1)[0] means the values
    idx = _index_value(idx)
    try:
        data = x.data[idx]
    except IndexError as err:
        raise IndexError(f"getitem: index {idx!r} is invalid for a tensor of shape {x.shape} ({err})") from None
    if type(data) is not np.ndarray and not isinstance(data, np.ndarray):  # numpy's scalar for one int per axis: take the 0-d view
        data = x.data[(idx if isinstance(idx, tuple) else (idx,)) + (Ellipsis,)]
    return record(data, _getitem_backward, (x,), (idx, x.data.shape))


@backward_rule("getitem")
def _getitem_backward(g, out, inputs, saved, needs):
    # Only x's shape is needed, not its values: a later write into x must not block backward.
    idx, shape = saved
    return (index_add(g, idx, shape),)


def index_add(g, idx, shape):
    """Zeros of ``shape`` with ``g`` added at ``idx`` (numpy's ``np.add.at``).

    The adjoint of ``x[idx]``: its backward is ``g[idx]``, which is what
    makes gradients of indexing differentiable again (create_graph).
    """
    if isinstance(g, Tensor):
        return record(_scatter(g.data, idx, shape), _index_add_backward, (g,), idx)
    return _scatter(g, idx, shape)


def _scatter(g, idx, shape):
    z = np.zeros(shape, dtype=g.dtype)
    if _is_basic(idx):
        z[idx] = g
    else:
        np.add.at(z, idx, g)
    return z


@backward_rule("index_add")
def _index_add_backward(g, out, inputs, idx, needs):
    return (g[idx],)


def _may_repeat(idx):
    """True if ``idx`` holds an integer array, so one element may be selected twice."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


def setitem(x, idx, value):
    """A copy of ``x`` with ``x[idx] = value`` (numpy assignment rules; ``value`` broadcasts).

    The out-of-place form behind ``t[idx] = value``. Gradient: to ``x``,
    ``g`` with zeros where it was overwritten; to ``value``, ``g`` at the
    places it was written (summed over broadcast axes by the engine). When
    an integer-array index names an element twice, numpy keeps one of the
    written values; here the last one, and only it receives the gradient.

    Raises IndexError for an invalid index, ValueError when ``value`` does
    not broadcast to the indexed shape (both shapes named).
    """
    idx = _index_value(idx)
    v = val(value)
    data = x.data.copy()
    try:
        if _may_repeat(idx):
            # Number the written elements and let numpy's assignment pick the
            # winners; then write exactly those, so values and gradient agree.
            target = data[idx].shape
            vb = np.broadcast_to(_asarray(v), target)
            ids = np.full(data.shape, -1, dtype=np.intp)
            ids[idx] = np.arange(vb.size).reshape(target)
            hit = ids >= 0
            data[hit] = vb.reshape(-1)[ids[hit]]
            saved = (idx, target, np.flatnonzero(hit), ids[hit])
        else:
            data[idx] = v
            saved = (idx, None, None, None)
    except IndexError as err:
        raise IndexError(f"setitem: index {idx!r} is invalid for a tensor of shape {x.shape} ({err})") from None
    except ValueError as err:
        raise ValueError(f"setitem: a value of shape {np.shape(v)} cannot be assigned to "
                         f"x[{idx!r}] of a tensor of shape {x.shape} ({err})") from None
    return record(data, _setitem_backward, (x, value), saved)


@backward_rule("setitem")
def _setitem_backward(g, out, inputs, saved, needs):
    idx, target, where, winners = saved
    gx = gv = None
    if needs[0]:
        hit = np.zeros(g.shape, dtype=bool)
        hit[idx] = True
        gx = np.where(hit, 0, g)
    if needs[1]:
        if target is None:
            gv = g[idx]
        else:  # each written element gets the gradient of the place it won
            n = int(np.prod(target))
            gv = index_add(g.reshape(-1)[where], winners, (n,)).reshape(target)
    return (gx, gv)


# ---- joining --------------------------------------------------------------
def _tensors_arg(op, tensors):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: need at least one tensor")
    return tensors


def concatenate(tensors, axis=0, *, dim=None):
    """Join tensors along an existing axis (``np.concatenate``; ``torch.cat``).

    Raises ValueError naming the shapes when they differ off the axis.
    """
    axis = dim if dim is not None else axis
    tensors = _tensors_arg("concatenate", tensors)
    try:
        data = np.concatenate([val(t) for t in tensors], axis=axis)
    except (ValueError, TypeError) as err:
        shapes = [np.shape(val(t)) for t in tensors]
        raise ValueError(f"concatenate: cannot join shapes {shapes} along axis {axis} ({err})") from None
    check_numeric("concatenate", data, tensors)
    ax = normalize_axis_index(axis, data.ndim)
    sizes = np.cumsum([np.shape(val(t))[ax] for t in tensors])[:-1]
    return record(data, _concatenate_backward, tuple(tensors), (ax, sizes))


@backward_rule("concatenate")
def _concatenate_backward(g, out, inputs, saved, needs):
    ax, sizes = saved
    bounds = [0, *sizes, g.shape[ax]]
    pre = (slice(None),) * ax
    return tuple(g[pre + (slice(bounds[i], bounds[i + 1]),)] if need else None
                 for i, need in enumerate(needs))


def stack(tensors, axis=0, *, dim=None):
    """Join same-shaped tensors along a new axis (``np.stack``).

    Raises ValueError naming the shapes when they differ.
    """
    axis = dim if dim is not None else axis
    tensors = _tensors_arg("stack", tensors)
    try:
        data = np.stack([val(t) for t in tensors], axis=axis)
    except (ValueError, TypeError) as err:
        shapes = [np.shape(val(t)) for t in tensors]
        raise ValueError(f"stack: cannot stack shapes {shapes} along axis {axis} ({err})") from None
    check_numeric("stack", data, tensors)
    ax = normalize_axis_index(axis, data.ndim)
    return record(data, _stack_backward, tuple(tensors), ax)


@backward_rule("stack")
def _stack_backward(g, out, inputs, ax, needs):
    pre = (slice(None),) * ax
    return tuple(g[pre + (i,)] if need else None for i, need in enumerate(needs))
