"""Exercise 2 of the build-your-own-engine path: + and * with their local derivatives (docs/learn/derivatives.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "local_derivatives"
ORDER = 2
TITLE = "+ and * with their local derivatives"
PAGE = "learn/derivatives.md"
HINT = ("d(a + b)/da = 1, so + passes g on unchanged to both; d(a * b)/da = b, so a gets g * b "
        "and b gets g * a")

# step 1's engine with vjps: only the returns of + and * are left to write
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS, P.value_class(
    P.INIT, P.REPR, P.ADD_HEAD + '''        # TODO: give Value(...) a vjp: a function of g (dL/d(self + other))
        # returning (dL/dself, dL/dother).
        raise NotImplementedError("the vjp of +")
''', P.MUL_HEAD + '''        # TODO: the product with a vjp: g -> (dL/dself, dL/dother).
        raise NotImplementedError("the vjp of *")
'''), P.AS_VALUE)

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS,
                         P.value_class(P.INIT, P.REPR, P.ADD, P.MUL), P.AS_VALUE)


def check(ns):
    Value = ns.Value
    a = Value([1.0, 2.0, 3.0])
    b = Value([4.0, 5.0, 6.0])
    assert a.vjp is None and a.grad is None, (
        "a Value made from data alone is a leaf: its vjp is None, and its grad starts as None")
    g = np.array([0.5, -1.0, 2.0])
    c = a + b
    assert callable(c.vjp), "a + b must carry a vjp: a function of g"
    grads = c.vjp(g)
    assert len(grads) == 2, f"the vjp of + returns one gradient per parent (2), got {len(grads)}"
    assert np.array_equal(grads[0], g) and np.array_equal(grads[1], g), (
        f"the vjp of + must return (g, g): d(a + b)/da = d(a + b)/db = 1; with g = {g} "
        f"it returned {grads}")
    d = a * b
    assert callable(d.vjp), "a * b must carry a vjp: a function of g"
    ga, gb = d.vjp(g)
    if np.array_equal(ga, g * a.data) and np.array_equal(gb, g * b.data):
        raise AssertionError("the vjp of * is swapped: dL/da = g * b (a's partner), "
                             "dL/db = g * a")
    assert np.array_equal(ga, g * b.data) and np.array_equal(gb, g * a.data), (
        f"the vjp of a * b must return (g * b, g * a); with a = {a.data}, b = {b.data}, "
        f"g = {g} it returned ({ga}, {gb})")
    # the vjp uses the data of the product's own inputs, not whatever a and b hold later
    e = a * 3
    assert np.array_equal(e.vjp(g)[0], g * 3.0), "the vjp of a * 3 must return g * 3 for a"
