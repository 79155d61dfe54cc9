"""In-place operations (``+=``, ``-=``, ``*=``, ``/=``, ``t[idx] = v``) and version checks.

An in-place op overwrites memory that the graph may still need. PyTorch's
answer, which we follow, is a version counter: every in-place write bumps
one, each recorded op notes the counter when it is created, and backward
refuses (RuntimeError naming the op) to use a tensor or an array that was
overwritten after an op recorded it. So an in-place op can make backward
fail, but never makes it silently wrong.

How it is kept cheap: one global clock counts in-place writes; each graph
node stores the clock at its creation. If the clock has not moved when
backward reaches the node (the usual case), nothing was overwritten and no
check runs. Otherwise :func:`check_node` looks at the write stamps of the
node's inputs and output: per Tensor object (it was rebound by an in-place
op) and per memory buffer (an in-place write through a view, ``detach()``,
or an optimizer step).

The in-place op itself is the out-of-place op applied to a snapshot of the
old value, after which the tensor takes over the result's data (written
into its own memory) and graph node. Hooks registered before the write stay
with the snapshot, so they receive the gradient with respect to the old
value, as in PyTorch; ``retain_grad`` follows the tensor (the new value). ``.data`` writes bypass all of this:
they are the documented unsafe escape hatch.
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

from ._mode import mode
from .tensor import Tensor

__all__ = ["clock", "mark_modified", "check_node", "inplace"]

_ticks = itertools.count(1)  # next() is atomic under the GIL: safe across threads
_clock = [0]            # number of in-place writes so far; read by every new Node
_stamps: dict = {}      # id(memory owner) -> (weakref to it, clock at its last write)


def clock() -> int:
    """The current in-place write clock."""
    return _clock[0]


def _owner(arr):
    """The array that owns ``arr``'s memory (numpy collapses view chains to it)."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _forget(key):
    def drop(_ref):
        entry = _stamps.get(key)
        if entry is not None and entry[0]() is None:
            del _stamps[key]
    return drop


def mark_modified(arr=None, tensor=None):
    """Record that ``arr``'s memory and/or the Tensor ``tensor`` were just written in place.

    Optimizers mark the parameters they update, so a graph retained from
    before the step refuses to back-propagate with the new weights.
    """
    now = _clock[0] = next(_ticks)
    if arr is not None:
        owner = _owner(arr)
        entry = _stamps.get(id(owner))
        ref = entry[0] if entry is not None and entry[0]() is owner else weakref.ref(owner, _forget(id(owner)))
        _stamps[id(owner)] = (ref, now)
    if tensor is not None:
        tensor._meta_dict()["written_at"] = now


def mark_tensors_modified(tensors):
    """Stamp several Tensors as written in place by one update (one clock tick for all)."""
    now = _clock[0] = next(_ticks)
    for t in tensors:
        meta = t._meta
        if meta is None:
            meta = t._meta = {}
        meta["written_at"] = now


def _memory_written_after(arr, when):
    owner = _owner(arr)
    entry = _stamps.get(id(owner))
    return entry is not None and entry[0]() is owner and entry[1] > when


def check_node(node, out):
    """Raise RuntimeError if anything ``node`` recorded was overwritten after it recorded it."""
    when = node.clock
    for k, x in enumerate(node.inputs):
        if isinstance(x, Tensor):
            written = x._meta is not None and x._meta.get("written_at", -1) > when
            if written or _memory_written_after(x.data, when):
                _raise(node, f"input {k} (shape {x.shape})")
        elif isinstance(x, np.ndarray) and _memory_written_after(x, when):
            _raise(node, f"input {k} (a constant array of shape {x.shape})")
    if _memory_written_after(out.data, when):
        _raise(node, f"its output (shape {out.shape})")


def _raise(node, what):
    raise RuntimeError(
        f"one of the values needed for gradient computation has been modified by an "
        f"in-place operation: {what} of '{node.name}' was overwritten after '{node.name}' "
        f"recorded it. Use an out-of-place op (x = x + y instead of x += y), or clone() first."
    )


def inplace(t, op, name, *args):
    """Apply out-of-place ``op(t, *args)`` and write the result into ``t`` itself.

    Raises:
        RuntimeError: ``t`` is a leaf that requires grad (outside no_grad), or
            a view of another tensor's memory while gradients flow.
        ValueError: the result's shape differs from ``t``'s (in place cannot
            broadcast ``t`` itself) or its dtype cannot be cast to ``t``'s.
    """
    grad_on = mode.grad_enabled
    if grad_on and t.requires_grad and t._ctx is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be modified in place (its "
            "gradient would refer to a value that no longer exists). Do it under "
            "tinygrad_edu.no_grad(), or use an out-of-place op."
        )
    recording = grad_on and (t.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
    if recording and t.data.base is not None and t._ctx is not None:
        raise RuntimeError(
            f"{name}: in-place ops on a view (the result of reshape, transpose, indexing...) "
            "are not supported while gradients flow, because the viewed tensor's graph "
            "would not see the change; use an out-of-place op or clone() first."
        )
    old = Tensor._wrap(t.data.copy() if recording else t.data)
    if recording:
        old.requires_grad, old._ctx = t.requires_grad, t._ctx
    # t += t must read the old t on both sides, not the tensor being rebound
    result = op(old, *(old if a is t else a for a in args))
    if result.shape != t.shape:
        raise ValueError(
            f"{name}: the result has shape {result.shape} but the tensor modified in place "
            f"has shape {t.shape}; in place, only the other operand can broadcast"
        )
    if not np.can_cast(result.dtype, t.dtype, casting="same_kind"):
        raise ValueError(
            f"{name}: cannot store a {result.dtype} result in a {t.dtype} tensor in place; "
            f"convert first (t = t.astype(...))"
        )
    np.copyto(t.data, result.data, casting="same_kind")
    mark_modified(t.data, t)
    if recording:
        t._ctx, t.requires_grad = result._ctx, result.requires_grad
        if t._ctx is not None:
            t._ctx.clock = _clock[0]  # its output is this write, not a later one
        if t._meta is not None and t._meta.get("hooks"):
            # As PyTorch: hooks registered so far belong to the old value, so they
            # get the gradient with respect to it (retain_grad follows the new one).
            old._meta = {"hooks": t._meta.pop("hooks")}
    return t
