"""Exercise 5 of the build-your-own-engine path: Ordering: a topological order, without recursion (docs/learn/ordering.md)."""
from __future__ import annotations

import sys

import numpy as np

from . import _parts as P

SLUG = "topo_order"
ORDER = 5
TITLE = "Ordering: a topological order, without recursion"
PAGE = "learn/ordering.md"
HINT = ("seen = {root}; stack = [root]; while stack: pop a value, push its parents you have not "
        "seen; then sorted(seen, key=lambda v: v.seq, reverse=True)")

# step 4's engine with numbered Values (written once, in _parts.py) plus topo_order
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER,
                         P.value_class(P.INIT_SEQ, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.BACKWARD_IN_ORDER, P.TOPO_ORDER_HEAD + '''    # TODO: collect root and all its ancestors with a loop and a stack (no recursion),
    # then sort them by .seq, largest first.
    raise NotImplementedError("topo_order")
''', P.BACKWARD)

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER,
                         P.value_class(P.INIT_SEQ, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.BACKWARD_IN_ORDER, P.TOPO_ORDER, P.BACKWARD)


def check(ns):
    Value = ns.Value
    first, second = Value(1.0), Value(2.0)
    assert second.seq > first.seq, "a Value created later must have a larger .seq"
    rng = np.random.default_rng(5)
    a, b, c, d = (Value(rng.standard_normal(3)) for _ in range(4))
    ab = a * b
    unrelated = a * 10.0  # created in between, not used by L
    cd = c + d
    L = ab * cd
    order = ns.topo_order(L)
    assert len(order) == len(set(map(id, order))), "topo_order lists a value twice"
    assert {id(v) for v in order} == {id(v) for v in (L, ab, cd, a, b, c, d)}, (
        "topo_order(L) must list L and exactly the values L depends on (here L, a*b, c+d, "
        "a, b, c, d), not values that L does not use")
    assert order[0] is L, "topo_order(L) starts with L itself"
    position = {id(v): k for k, v in enumerate(order)}
    for v in order:
        for p in v.parents:
            assert position[id(v)] < position[id(p)], (
                f"a value must come before its parents: {v!r} is listed after its parent {p!r}")
    ns.backward(L)
    assert np.array_equal(a.grad, cd.data * b.data) and np.array_equal(c.grad, ab.data), (
        "backward(L) must fill the gradients: dL/da = (c + d) * b, dL/dc = a * b")
    assert unrelated.grad is None, "backward(L) must not touch values L does not depend on"
    depth = min(5 * sys.getrecursionlimit(), 50_000)  # far beyond Python's default 1,000
    x = Value(1.0)
    h = x
    for _ in range(depth):
        h = h * 1.0
    try:
        ns.backward(h)
    except RecursionError:
        raise AssertionError(
            f"on a chain of {depth} multiplications, topo_order hit Python's recursion limit: "
            "walk the graph with a loop and a stack, not with recursion") from None
    assert x.grad == 1.0, f"at the bottom of a chain of * 1.0, x.grad should be 1, got {x.grad}"
