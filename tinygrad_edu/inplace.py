"""In-place operations (``+=``, ``-=``, ``*=``, ``/=``, ``t[idx] = v``) and version checks.

An in-place op overwrites memory that the graph may still need. Our promise,
as PyTorch's: an in-place op may make backward raise (RuntimeError naming
the op), but never makes it silently wrong.

Three kinds of writes, told apart because they break different things:

- A *recorded* in-place op (``h += w`` while gradients flow) gives ``h`` a new
  graph node. The op is the out-of-place op applied to a snapshot of the old
  value; the snapshot keeps ``h``'s old node, and ``h`` takes the result's
  node, with the result written into ``h``'s own memory. Ops recorded
  earlier that consumed ``h`` refer to the Tensor object ``h``, so during
  backward :func:`check_node` sends their gradient to the snapshot ("the
  version of ``h`` they saw"), and their rules read the snapshot's values.
  So ``y = h * 3; h *= 2`` back-propagates correctly through both. Hooks
  registered on ``h`` before the write stay with the snapshot, so they get
  the gradient with respect to the old value, as in PyTorch; ``retain_grad``
  follows the tensor (the new value).
- An *untracked* write (in-place under ``no_grad``, through ``detach()``, an
  optimizer step, ``load_state_dict``, gradient accumulation) changes values
  without changing any graph. A node whose rule reads a value that changed
  after it was recorded raises; one that does not read it (``add`` needs
  neither input's value) is unaffected, as in PyTorch.
- ``.data`` writes bypass all of this: the documented unsafe escape hatch.

Bookkeeping. A global clock counts writes (under a lock, so it never runs
backwards when threads write at once). Each graph node stores the clock at
its creation (``Node.clock``); while the clock has not moved, backward skips
every check (the usual case, so checks cost nothing in plain training).
Each written memory buffer has a stamp (its last write, and its recent
recorded writes); each Tensor rebound by a recorded op keeps the list of its
versions (write time, the snapshot, the buffer's previous stamp), as long as
the tensor lives. Which values a rule reads is found once per rule from its
code (does it mention ``out`` / ``inputs`` at all), conservatively: per rule,
not per input, so ``mul(v, 2)`` counts as reading ``v`` where PyTorch
would know it does not.

Views. A recorded write into memory that other graph tensors view (a
``reshape`` of ``h``, then ``h += w``) changes their values but not their
graph; :func:`check_edge` refuses a gradient that would flow through such a
view into an op that read it after the write (reading it before is fine).
A recorded in-place op on a view made by basic indexing (``t = base[idx]``:
ints, slices; ``base[i] += v`` goes through one) writes through, as
PyTorch's: it becomes the recorded ``base[idx] = op(t, ...)`` on ``base``
(:func:`_write_through`), and ``t`` the recorded ``base[idx]`` of the new
value. A recorded in-place op on any other view of other memory (reshape,
transpose, a view taken under no_grad) is refused outright. Not tracked (we
have no general view tracking): a view taken while its base needed no grad
(``v = base[0]``) sees a later recorded write into ``base`` as new values
without graph, like a ``detach()`` alias.
"""
from __future__ import annotations

import dis
import threading
import weakref

import numpy as np

from ._mode import mode
from .tensor import Tensor

__all__ = ["clock", "mark_modified", "mark_tensors_modified", "check_node", "check_edge", "inplace"]

_lock = threading.RLock()  # re-entrant: a weakref callback may fire while it is held
_clock = [0]               # number of writes so far; read by every new Node
_stamps: dict = {}         # id(memory owner) -> [weakref to it, last write, recent recorded writes, older bound]


def clock() -> int:
    """The current in-place write clock (number of writes since import)."""
    return _clock[0]


def _owner(arr):
    """The array that owns ``arr``'s memory (numpy collapses view chains to it)."""
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _forget(key):
    def drop(_ref):
        with _lock:
            entry = _stamps.get(key)
            if entry is not None and entry[0]() is None:
                del _stamps[key]
    return drop


_KEEP = 16  # recorded writes remembered per buffer (older ones: see entry[3])


def _write(arr, recorded=False):
    """Stamp a write of ``arr``'s memory; return (this write's time, the memory's previous write time)."""
    owner = _owner(arr)
    key = id(owner)
    with _lock:
        now = _clock[0] = _clock[0] + 1
        entry = _stamps.get(key)
        if entry is None or entry[0]() is not owner:  # new, or a dead array's id reused
            entry = _stamps[key] = [weakref.ref(owner, _forget(key)), 0, [], 0]
        prev = entry[1]
        entry[1] = now
        if recorded:
            times = entry[2]
            times.append(now)
            if len(times) > _KEEP:
                entry[3] = times.pop(0)  # the latest forgotten recorded write
    return now, prev


def _stamp(arr, when):
    """Give a fresh array (a snapshot) the last-write time ``when`` of the memory it copies."""
    key = id(arr)
    with _lock:
        _stamps[key] = [weakref.ref(arr, _forget(key)), when, [], 0]


def mark_modified(arr=None, tensor=None):
    """Record an untracked in-place write of ``arr``'s memory (or of ``tensor.data``).

    Library code that writes a Tensor's data in place outside the graph
    (optimizer steps, ``load_state_dict``, gradient accumulation) calls this,
    so that a graph recorded before the write refuses to back-propagate with
    the new values. Returns the write's clock time.
    """
    if arr is None:
        if tensor is None:
            raise TypeError("mark_modified: pass an array or a tensor")
        arr = tensor.data
    return _write(arr)[0]


def mark_tensors_modified(tensors):
    """Record untracked in-place writes of several Tensors' data by one update (one clock tick).

    Optimizers call this after a step: a graph recorded before the step
    then refuses to back-propagate with the new values, also through
    ``detach()``'d aliases of the parameters.
    """
    with _lock:
        now = _clock[0] = _clock[0] + 1
        for t in tensors:
            arr = t.data
            owner = arr if arr.base is None else _owner(arr)
            key = id(owner)
            entry = _stamps.get(key)
            if entry is None or entry[0]() is not owner:
                entry = _stamps[key] = [weakref.ref(owner, _forget(key)), 0, [], 0]
            entry[1] = now
    return now


def _entry(arr):
    owner = _owner(arr)
    entry = _stamps.get(id(owner))
    return entry if entry is not None and entry[0]() is owner else None


def _written_after(arr, when):
    entry = _entry(arr)
    return entry is not None and entry[1] > when


# ---- which values a backward rule reads -----------------------------------
def _reads(rule):
    """(reads its inputs' values, reads its output's value) for a backward rule.

    Found from the rule's code: a rule that never mentions its ``inputs``
    (or ``out``) parameter cannot read it. Anything unusual (no code object,
    ``*args``, a nested function capturing it, ``locals()``) counts as
    reading both, which only makes the check stricter.
    """
    flags = getattr(rule, "_tg_reads", None)
    if flags is None:
        flags = _analyse(rule)
        try:
            rule._tg_reads = flags
        except (AttributeError, TypeError):
            pass
    return flags


def _analyse(rule):
    code = getattr(rule, "__code__", None)
    if code is None or code.co_argcount < 5 or "locals" in code.co_names or "vars" in code.co_names:
        return True, True
    out_name, inputs_name = code.co_varnames[1], code.co_varnames[2]
    used = set(code.co_cellvars)  # captured by an inner function: assume read
    for ins in dis.get_instructions(code):
        arg = ins.argval
        if isinstance(arg, str):
            used.add(arg)
        elif isinstance(arg, tuple):  # LOAD_FAST_LOAD_FAST (3.13+) names two locals
            used.update(a for a in arg if isinstance(a, str))
    return inputs_name in used, out_name in used


# ---- the check run by the engine -------------------------------------------
def check_node(node, out):
    """Make ``node`` safe to back-propagate after writes that happened since it was recorded.

    Called by the engine only when the write clock moved since the node's
    creation. Inputs rebound by a recorded in-place op are replaced (in
    ``node.inputs``) by their snapshot from the node's time. Raises
    RuntimeError naming the op if a value its rule reads was overwritten,
    if its output's memory got a recorded write through another tensor (so
    ``out``'s value no longer matches its graph), or if a rebound input's
    snapshot is gone.
    """
    when = node.clock
    reads_in, reads_out = _reads(node.rule)
    inputs = node.inputs
    new = None
    for k, x in enumerate(inputs):
        if isinstance(x, Tensor):
            versions = x._meta.get("versions") if x._meta is not None else None
            if versions and versions[-1][0] > when:
                y = _version_at(node, k, x, versions, when, reads_in)
                if y is not x:
                    new = list(inputs) if new is None else new
                    new[k] = y
            elif reads_in and _written_after(x.data, when):
                _raise(node, f"input {k} (shape {x.shape})")
        elif reads_in and isinstance(x, np.ndarray) and _written_after(x, when):
            _raise(node, f"input {k} (a constant array of shape {x.shape})")
    if reads_out and _written_after(out.data, when):
        _raise(node, f"its output (shape {out.shape})")
    saved_arrays = getattr(node.saved, "_saved_arrays", None)  # a Function's ctx
    if saved_arrays is not None:
        for k, arr in enumerate(saved_arrays()):
            if _written_after(arr, when):
                _raise(node, f"saved tensor {k} (shape {arr.shape})")
    if new is not None:
        node.inputs = tuple(new)
        node.vals = None  # cached input arrays: the engine re-reads them from the snapshots


def _version_at(node, k, x, versions, when, reads):
    """The tensor standing for ``x`` as it was at clock ``when`` (x itself or a snapshot)."""
    for w, snap, prev in versions:
        if w > when:
            break
    if not node.needs[k] and not reads:
        return x  # neither its graph nor its value is used
    if reads and prev > when:
        # the memory was also written (untracked) between the node and the
        # recorded write, so the snapshot does not hold the node's values
        _raise(node, f"input {k} (shape {x.shape})")
    return snap


def _raise(node, what):
    raise RuntimeError(
        f"one of the values needed for gradient computation has been modified by an "
        f"in-place operation: {what} of '{node.name}' was overwritten after '{node.name}' "
        f"recorded it. Use an out-of-place op (x = x + y instead of x += y), or clone() first."
    )


def check_edge(node, x):
    """Raise if ``x`` got its value from a write that its own graph does not describe.

    Called by the engine for a gradient going from ``node`` to ``x`` when
    ``x`` was produced at another clock time than ``node`` (so something was
    written in between). The danger: ``x`` shares memory (a view, a
    ``detach()`` alias) with a tensor that a recorded in-place op rewrote
    after ``x``'s op ran and before ``node`` read ``x``; ``x``'s value then
    came from that write, but its graph does not say so.
    """
    entry = _entry(x.data)
    if entry is None:
        return
    made, used = x._ctx.clock, node.clock
    if entry[3] > made or any(made < w <= used for w in entry[2]):
        raise RuntimeError(
            f"the output of '{x._ctx.name}' (shape {x.shape}) shares memory with a tensor that "
            f"an in-place operation rewrote after '{x._ctx.name}' ran and before '{node.name}' "
            f"used it: '{node.name}' saw the new values, but the graph of that output describes "
            "the old ones. Take the view (or detach) after the in-place op, or clone() it before."
        )


def _add_version(t, w, snapshot, prev):
    """Remember ``snapshot`` as ``t``'s value and graph before the recorded write at ``w``.

    Held strongly, as long as ``t`` lives: in one backward pass the in-place
    op's node (which also holds the snapshot) may be freed before an older
    consumer of ``t`` is reached. A snapshot is a copy of ``t``'s data only;
    the graph it points to is freed by backward as usual.
    """
    meta = t._meta_dict()
    versions = meta.setdefault("versions", [])
    if not versions:  # no op recorded before t's first node can have consumed t
        meta["born"] = snapshot._ctx.seq if snapshot._ctx is not None else -1
    versions.append((w, snapshot, prev))


_WALK_LIMIT = 1_000  # nodes per in-place op; beyond it check_node still reroutes at backward


def _reroute(t, args):
    """Point nodes in the operands' graphs that consumed ``t`` at the snapshot now.

    Without this, ``h += f(h)`` is a reference cycle: ``h`` -> its new node ->
    ``f(h)``'s graph -> ``h``, which only the garbage collector could free.
    Nodes elsewhere are rerouted by :func:`check_node` during backward (they
    hold ``t`` but are not held by it). Only nodes created after ``t``'s first
    node are visited; a node whose rule reads a value that changed since is
    left for ``check_node`` to refuse.
    """
    meta = t._meta
    versions, born = meta["versions"], meta["born"]
    stack = [a._ctx for a in args if isinstance(a, Tensor) and a._ctx is not None]
    seen = set()
    while stack and len(seen) < _WALK_LIMIT:
        node = stack.pop()
        if node.seq <= born or id(node) in seen or node.inputs is None:
            continue
        seen.add(id(node))
        inputs = node.inputs
        for k, x in enumerate(inputs):
            if x is t:
                for w, snap, prev in versions:
                    if w > node.clock:
                        break
                if not (prev > node.clock and _reads(node.rule)[0]):
                    inputs = inputs[:k] + (snap,) + inputs[k + 1:]
                    node.vals = None  # cached input arrays: re-read from the snapshot
            elif isinstance(x, Tensor) and x._ctx is not None:
                stack.append(x._ctx)
        node.inputs = inputs


# ---- the in-place op -------------------------------------------------------
def inplace(t, op, name, *args):
    """Apply out-of-place ``op(t, *args)`` and write the result into ``t`` itself.

    Raises:
        RuntimeError: ``t`` is a leaf that requires grad (outside no_grad), a
            view of one, or a view of other memory while gradients flow that is
            not a basic-indexing result of a tensor (those write through).
        ValueError: the result's shape differs from ``t``'s (in place cannot
            broadcast ``t`` itself), its dtype cannot be cast to ``t``'s, or
            ``t``'s memory is read-only.
        On error, ``t`` and the operands are unchanged.
    """
    grad_on = mode.grad_enabled
    if grad_on and t.requires_grad and t._ctx is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad cannot be modified in place (its "
            "gradient would refer to a value that no longer exists). Do it under "
            "tinygrad_edu.no_grad(), or use an out-of-place op."
        )
    recording = grad_on and (t.requires_grad or any(isinstance(a, Tensor) and a.requires_grad for a in args))
    if recording and t.data.base is not None:
        base = _indexed_base(t)
        if base is None or (base[0].requires_grad and base[0]._ctx is None):
            raise RuntimeError(_view_error(t, name))
        return _write_through(t, op, name, args, *base)
    if not t.data.flags.writeable:
        raise ValueError(
            f"{name}: the tensor's memory is read-only (e.g. a broadcast_to result, or a "
            "gradient passed to a hook); clone() it first"
        )
    if recording:
        old = Tensor._wrap(t.data.copy())
        old.requires_grad, old._ctx = t.requires_grad, t._ctx
        owner = _owner(t.data)
        # t += t must read the old t on both sides; an operand sharing t's
        # memory (t += t.T) is read before the write, so it gets a copy.
        args = tuple(old if a is t else _unaliased(a, owner) for a in args)
    else:
        old = Tensor._wrap(t.data)
    result = op(old, *args)
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
    if recording and result._ctx is not None:
        w, prev = _write(t.data, recorded=True)
        if prev:
            # The snapshot holds what t's memory held, written last at `prev`
            # (maybe by an untracked write after t's node ran): say so, so that
            # a node that reads it as its output or input checks that time.
            _stamp(old.data, prev)
        _add_version(t, w, old, prev)
        _reroute(t, args)
        t._ctx, t.requires_grad = result._ctx, True
        t._ctx.clock = w  # its output is this write; anything later is checked
        if t._meta.get("hooks"):
            # As PyTorch: hooks registered so far belong to the old value, so they
            # get the gradient with respect to it (retain_grad follows the new one).
            old._meta = {"hooks": t._meta.pop("hooks")}
    else:
        _write(t.data)
    return t


def _indexed_base(t):
    """(base, idx) when ``t`` is ``base[idx]`` by basic indexing and still views base's memory."""
    from .ops.shape import _is_basic

    node = t._ctx
    if node is None or node.inputs is None or getattr(node.rule, "op", None) != "getitem":
        return None
    base, (idx, _shape) = node.inputs[0], node.saved
    if not isinstance(base, Tensor) or not _is_basic(idx) or _owner(base.data) is not _owner(t.data):
        return None  # a snapshot (base was rewritten since), or not a view of base
    return base, idx


def _write_through(t, op, name, args, base, idx):
    """In place on ``t = base[idx]``: write into ``base`` as ``base[idx] = op(t, *args)``
    (a recorded setitem, so base gets the graph, as PyTorch's CopySlices), then make
    ``t`` the recorded ``base[idx]`` again. Earlier consumers of ``t`` keep its old
    value and graph, as for any recorded in-place op."""
    from .ops.shape import getitem, setitem

    old = Tensor._wrap(t.data.copy())
    old.requires_grad, old._ctx = t.requires_grad, t._ctx
    owner = _owner(t.data)
    args = tuple(old if a is t else _unaliased(a, owner) for a in args)
    result = op(old, *args)
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
    inplace(base, setitem, name, idx, result)  # raises (nothing written) if base is a view too
    versions = base._meta.get("versions") if base._meta else None
    if not versions or result._ctx is None:
        return t  # nothing was recorded: an untracked write, base and t already hold the values
    w, _snapshot, prev = versions[-1]
    _add_version(t, w, old, prev)
    _reroute(t, args)
    t._ctx, t.requires_grad = getitem(base, idx)._ctx, True
    if t._meta.get("hooks"):
        old._meta = {"hooks": t._meta.pop("hooks")}
    return t


def _view_error(t, name):
    base = t._ctx.inputs[0] if t._ctx is not None and t._ctx.inputs else None
    if isinstance(base, Tensor) and base.requires_grad and base._ctx is None:
        return (f"{name}: a view of a leaf tensor that requires grad (x[i] += v, x[1:] *= w on "
                "such a leaf) cannot be modified in place; do it under tinygrad_edu.no_grad(), "
                "or use out-of-place ops")
    return (f"{name}: in-place ops on a view (the result of reshape, transpose, swapaxes, an "
            "index of such a view, a view of a tensor that needed no grad when it was taken or "
            "taken under no_grad, or from_numpy of a view) are not "
            "supported while gradients flow, because the viewed memory's other tensors would not "
            "get the graph (only views made by indexing a tensor, x[i] or x[1:], write through "
            "to it); use an out-of-place op, or clone() the view first.")


def _unaliased(a, owner):
    from .ops.shape import clone

    if isinstance(a, Tensor) and _owner(a.data) is owner:
        return clone(a)
    if isinstance(a, np.ndarray) and _owner(a) is owner:
        return a.copy()
    return a
