"""Compare two recordings of one signature: same calls, same constants (by value)."""
from __future__ import annotations

import numpy as np

from .recorder import Slot
from .util import number_key, same_bits

__all__ = ["first_difference"]


class _Canon:
    """Objects as comparable across calls: input tensors by position, slots by first
    appearance (a recording that installed an unused .grad view numbers slots apart)."""

    def __init__(self, trace):
        self.map = {id(t): ("input", k) for k, t in enumerate(trace.inputs)}
        self.slots = {}

    def slot(self, i):
        return self.slots.setdefault(i, len(self.slots))

    def __call__(self, obj):
        return self.map.get(id(obj), obj)


def _eq(x, y, ca, cb):
    if type(x) is not type(y):
        cx, cy = ca(x), cb(y)
        return type(cx) is tuple and cx == cy
    if type(x) is Slot:
        return ca.slot(x.i) == cb.slot(y.i)
    if isinstance(x, np.ndarray):
        return same_bits(x, y)
    if type(x) in (tuple, list):
        return len(x) == len(y) and all(_eq(u, v, ca, cb) for u, v in zip(x, y))
    if type(x) is dict:
        return x.keys() == y.keys() and all(_eq(x[k], y[k], ca, cb) for k in x)
    if type(x) is float or type(x) is complex or isinstance(x, np.generic):
        return number_key(x) == number_key(y)  # bits: 0.0 is not -0.0
    cx, cy = ca(x), cb(y)
    if cx is not x or cy is not y:
        return cx == cy
    if x is y:
        return True
    try:
        return bool(x == y)
    except Exception:
        return False


def first_difference(a, b):
    """None if recordings ``a`` and ``b`` are the same program, else a description."""
    ca, cb = _Canon(a), _Canon(b)
    if len(a.ops) != len(b.ops):
        n = min(len(a.ops), len(b.ops))
        k = next((i for i in range(n) if not _same_op(a.ops[i], b.ops[i], ca, cb)), n)
        where = a.ops[k].name() if k < len(a.ops) else b.ops[k].name()
        return f"{len(a.ops)} calls, then {len(b.ops)} calls (they part at call {k}, {where})"
    for k, (p, q) in enumerate(zip(a.ops, b.ops)):
        if not _same_op(p, q, ca, cb):
            return f"call {k} ({p.name()}, at {p.where}) has {_what_differs(p, q, ca, cb)}"
    ra = {ca.slots[i]: r for i, r in a.reads.items() if i in ca.slots}
    rb = {cb.slots[i]: r for i, r in b.reads.items() if i in cb.slots}
    if set(ra) != set(rb) or not all(ra[i][0] == rb[i][0] and _eq(ra[i][1], rb[i][1], ca, cb)
                                     for i in ra):
        return "the tensors read at entry differ"
    if not _eq(a.output, b.output, ca, cb):
        return "the returned values differ"
    return None


def _what_differs(p, q, ca, cb):
    for k, (x, y) in enumerate(zip(p.args, q.args)):
        if not _eq(x, y, ca, cb):
            if isinstance(x, np.ndarray):
                return (f"a different constant as argument {k} (an array {x.shape} {x.dtype} that "
                        "was not computed from traced values)")
            return f"a different argument {k}"
    return "different keywords or results"


def _outs(op, canon):
    outs = op.outs if type(op.outs) is tuple else (op.outs,)
    return tuple(None if i is None else canon.slot(i) for i in outs)


def _same_op(p, q, ca, cb):
    return (p.kind == q.kind and _eq(p.fn, q.fn, ca, cb)
            and _eq(p.args, q.args, ca, cb) and _eq(p.kwargs, q.kwargs, ca, cb)
            and _outs(p, ca) == _outs(q, cb) and type(p.outs) is type(q.outs)
            and p.scalar == q.scalar
            and tuple(map(ca.slot, p.writes)) == tuple(map(cb.slot, q.writes)))
