"""Exact rewrites of a recording before it becomes a program (codegen.py).

Each keeps every bit of every result: dead calls are dropped, calls on
constants only are folded into constants, a call numpy answered with its own
argument is dropped, equal fresh calls are merged, and cross-entropy's label
range guards are merged into one test.
"""
from __future__ import annotations

import numpy as np

from .recorder import Slot

__all__ = ["live_ops", "fold_constants", "peephole", "merge_range_guards", "escaping"]


def _slots_in(x, acc):
    if type(x) is Slot:
        acc.add(x.i)
    elif type(x) in (tuple, list):
        for v in x:
            _slots_in(v, acc)
    elif type(x) is dict:
        for v in x.values():
            _slots_in(v, acc)
    return acc


def _outs(op):
    if op.outs is None:
        return ()
    return op.outs if type(op.outs) is tuple else (op.outs,)


def live_ops(ops, output):
    """Dead-code elimination: the ops whose results reach the output or a write."""
    live = _slots_in(output, set())
    kept = []
    for op in reversed(ops):
        outs = _outs(op)
        if op.effect or any(i in live for i in outs if i is not None):
            kept.append(op)
            _slots_in(op.args, live)
            _slots_in(op.kwargs, live)
            live.update(w for w in op.writes if w is not None)
    kept.reverse()
    return kept, live


def _replace(x, consts):
    if type(x) is Slot:
        return consts.get(x.i, x)
    if type(x) in (tuple, list):
        return type(x)(_replace(v, consts) for v in x)
    if type(x) is dict:
        return {k: _replace(v, consts) for k, v in x.items()}
    return x


def fold_constants(trace):
    """Calls that depend on no input or state (the seed gradient of ``backward``, a
    broadcast of 0.5...) run once: their recorded results become constants.

    Exact because the recording computed them with the same calls on the same
    constants. Only done when every later use of a folded array is a plain input
    of a ufunc call (a fresh result): a shared constant is then never written, nor
    seen by the user. Otherwise nothing is folded.
    """
    folded = set()
    group = []
    for op in trace.ops:
        if op.kind != "call":
            continue
        used = _slots_in(op.args, set()) | _slots_in(op.kwargs, set())
        if used <= folded and set(op.writes) <= (folded | set(_outs(op)) | used):
            if all(w in folded for w in op.writes):
                group.append(op)
                folded.update(i for i in _outs(op) if i is not None)
    if not group:
        return trace.ops
    in_group = set(map(id, group))
    needed = set()
    for op in trace.ops:
        if id(op) in in_group:
            continue
        used = (_slots_in(op.args, set()) | _slots_in(op.kwargs, set())) & folded
        if not used:
            continue
        # out= is fine when the constant is only read: a ufunc writes its out= alone
        if (op.kind != "call" or not isinstance(op.fn, np.ufunc) or used & set(op.writes)
                or used & _slots_in(op.kwargs.get("out"), set())):
            return trace.ops
        needed |= used
    if _slots_in(trace.output, set()) & folded:
        return trace.ops
    values = trace.values
    consts = {}
    for i in needed:
        v = values[i]
        consts[i] = np.ndarray.view(v, np.ndarray) if isinstance(v, np.ndarray) else v
    out = []
    for op in trace.ops:
        if id(op) in in_group:
            continue
        if consts and op.kind == "call":
            op = op.derive(args=_replace(op.args, consts), kwargs=_replace(op.kwargs, consts))
        out.append(op)
    return out


# Calls that return their first argument itself when numpy recorded so (the
# recording saw the result is the argument): a no-op at replay too, because
# the dtypes that decide it are fixed by the signature.
_IDENTITY_WHEN_SAME = {np.ndarray.astype, np.asarray, np.asanyarray}


def _fresh_result(op):
    """Does ``op`` return a new array sharing no memory with its arguments?"""
    if op.kind != "call" or op.writes or "out" in op.kwargs:
        return False
    fn = op.fn
    if isinstance(fn, np.ufunc):
        return True
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, np.ufunc) and fn.__name__ in ("reduce", "accumulate"):
        return True
    if fn is np.ndarray.dot:  # without out= (its third argument): a new product
        return len(op.args) == 2
    if fn is np.ndarray.astype:  # copy=True (the default) always copies
        copy = op.kwargs.get("copy", op.args[4] if len(op.args) > 4 else True)
        return copy is True
    return False


def _same_const(a, b):
    """Equal as call arguments: slots by number, literals by type and repr (``0.0`` is
    not ``-0.0``, ``1`` is not ``1.0`` nor ``True``; NaN never matches), containers
    item by item, anything else (arrays, dtypes, callables) only if the same object."""
    if type(a) is not type(b):
        return False
    if type(a) is Slot:
        return a.i == b.i
    if type(a) in (tuple, list):
        return len(a) == len(b) and all(map(_same_const, a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_const(a[k], b[k]) for k in a)
    if type(a) in (int, float, bool, str, type(None)):
        return a == b and repr(a) == repr(b)
    return a is b


def escaping(ops, output):
    """Slots whose memory is written, becomes ``.data``/``.grad``, or is returned, and
    every slot that result may be a view of (propagated back through calls that are
    not known to make fresh arrays)."""
    bad = _slots_in(output, set())
    for op in ops:
        bad.update(w for w in op.writes if w is not None)
        if op.kind in ("setdata", "setgrad", "macro", "draw"):
            _slots_in(op.args, bad)
    for op in reversed(ops):
        if not _fresh_result(op) and any(i in bad for i in _outs(op) if i is not None):
            _slots_in(op.args, bad)
            _slots_in(op.kwargs, bad)
    return bad


def peephole(ops, output):
    """Exact rewrites of the call list.

    * A call numpy answered with its own first argument (``astype(copy=False)``
      to the dtype it has, ``np.asarray`` of an array) is dropped: the slot
      already holds that object.
    * Common subexpressions: a call equal to an earlier one (same callable, the
      same slots and constants, see :func:`_same_const`) that makes a fresh array
      (ufuncs without ``out=``, their reductions, ``astype`` copies) is replaced
      by the earlier result, if nothing is written, rebound or drawn between the
      two calls (so the arguments hold the same values, and the same callable on
      the same values gives the same bits) and neither result is written,
      returned or becomes a ``.data``/``.grad`` (or a view of one of those): no
      one can tell the two arrays were one.
    Anything else is kept as recorded.
    """
    bad = escaping(ops, output)
    rename = {}
    seen = []  # candidate earlier calls since the last write
    out = []
    for op in ops:
        if rename and op.kind != "macro":
            op = op.derive(args=_replace(op.args, rename), kwargs=_replace(op.kwargs, rename))
        if (op.kind == "call" and op.fn in _IDENTITY_WHEN_SAME and not op.writes
                and type(op.outs) is int and op.args and type(op.args[0]) is Slot
                and op.args[0].i == op.outs):
            continue
        if op.kind != "call" or op.writes or op.kind == "draw":
            if op.kind != "guard":
                seen = []
            out.append(op)
            continue
        # (where=: the result's unselected elements are whatever the memory held)
        if _fresh_result(op) and type(op.outs) is int and op.outs not in bad \
                and "where" not in op.kwargs:
            twin = next((q for q in seen if q.fn is op.fn and q.scalar == op.scalar
                         and _same_const(q.args, op.args) and _same_const(q.kwargs, op.kwargs)),
                        None)
            if twin is not None:
                rename[op.outs] = Slot(twin.outs)
                continue
            seen.append(op)
        out.append(op)
    return out


def _in_range(x, stop):
    """``0 <= x < stop`` for every element of the signed-integer array ``x`` (non-empty),
    with one reduction: a negative value viewed as unsigned is at least 2**(bits-1)."""
    return bool(np.maximum.reduce(x.view(x.dtype.str.replace("i", "u")), axis=None) < stop)


def _producer(ops, k, slot):
    for j in range(k - 1, -1, -1):
        if _outs(ops[j]) and slot in _outs(ops[j]):
            return j
    return None


def _match(op, fn, nargs):
    return op.kind == "call" and op.fn is fn and len(op.args) == nargs and not op.writes


def merge_range_guards(ops, values):
    """Exact rewrite of the label checks the engine guards (cross-entropy, nll):

    * ``min(x) >= 0`` and ``max(x) < c`` on a signed-integer ``x`` (two reductions,
      two comparisons, two guards) become one guard ``_in_range(x, c)`` (one
      reduction of ``x`` viewed unsigned): the same condition, failing at the
      place of the first one, with the program in the same state;
    * a later guard ``any(x == k)`` expected False, for an int ``k < 0``, is then
      implied (every element is >= 0) and dropped.
    Only when nothing but pure calls and guards lies between them (so ``x`` holds
    the same values) and the intermediate results are used by nothing else.
    """
    used = {}
    for op in ops:
        for i in _slots_in(op.args, set()) | _slots_in(op.kwargs, set()):
            used[i] = used.get(i, 0) + 1
    out = list(ops)
    drop = set()
    for k, op in enumerate(out):
        if op.kind != "guard" or op.kwargs["expected"] is not True:
            continue
        b = _producer(out, k, op.args[0].i)
        if b is None or not _match(out[b], np.greater_equal, 2) or out[b].args[1] != 0 \
                or type(out[b].args[1]) is not int or type(out[b].args[0]) is not Slot:
            continue
        a = _producer(out, b, out[b].args[0].i)
        if a is None or out[a].fn != np.minimum.reduce or out[a].kwargs != {"axis": None} \
                or len(out[a].args) != 1 or type(out[a].args[0]) is not Slot or out[a].writes:
            continue
        x = out[a].args[0].i
        if not (isinstance(values[x], np.ndarray) and values[x].dtype.kind == "i"
                and values[x].size):
            continue
        # the max guard: the next guard after k, with only pure calls in between
        m = next((j for j in range(k + 1, len(out)) if out[j].kind != "call" or out[j].writes),
                 None)
        if m is None or out[m].kind != "guard" or out[m].kwargs["expected"] is not True:
            continue
        d = _producer(out, m, out[m].args[0].i)
        if d is None or d < k or not _match(out[d], np.less, 2) or type(out[d].args[1]) is not int \
                or not 0 <= out[d].args[1] < 2 ** 31 or type(out[d].args[0]) is not Slot:
            continue
        c = _producer(out, d, out[d].args[0].i)
        if c is None or c < k or out[c].fn != np.maximum.reduce or out[c].kwargs != {"axis": None} \
                or out[c].args != (Slot(x),):
            continue
        if any(used.get(i, 0) != 1 for i in (out[a].outs, out[b].outs, out[c].outs, out[d].outs)):
            continue
        out[b] = out[b].derive(fn=_in_range, args=(Slot(x), out[d].args[1]), kwargs={})
        out[b].scalar = ()  # _in_range answers a Python bool
        drop.update((a, c, d, m))
        # an implied ignore_index test: any(x == k) with k < 0, expected False
        for j in range(m + 1, len(out)):
            g = out[j]
            if g.kind != "guard":
                if g.kind != "call" or g.writes:
                    break
                continue
            if g.kwargs["expected"] is not False:
                continue
            f = _producer(out, j, g.args[0].i)
            if f is None or not _match(out[f], np.ndarray.any, 1) or type(out[f].args[0]) is not Slot \
                    or out[f].kwargs:
                continue
            e = _producer(out, f, out[f].args[0].i)
            if e is not None and _match(out[e], np.equal, 2) and out[e].args[0] == Slot(x) \
                    and type(out[e].args[1]) is int and out[e].args[1] < 0 and not out[e].kwargs:
                drop.add(j)
        break
    return [op for k, op in enumerate(out) if k not in drop]
