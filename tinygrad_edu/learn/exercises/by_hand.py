"""Exercise 3 of the build-your-own-engine path: Backward by hand on a two-node graph (docs/learn/by-hand.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "by_hand"
ORDER = 3
TITLE = "Backward by hand on a two-node graph"
PAGE = "learn/by-hand.md"
HINT = ("the order is the point: L's vjp first (it gives e.grad and c.grad), then e's vjp, "
        "which needs e.grad")

BACKWARD_BY_HAND_HEAD = '''def backward_by_hand(L):
    """Set .grad on every value of the graph L = a * b + c, starting from dL/dL = 1."""
    e, c = L.parents  # e = a * b
    a, b = e.parents
'''

# step 2's engine (written once, in _parts.py) plus this step's backward_by_hand
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS,
                         P.value_class(P.INIT, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         BACKWARD_BY_HAND_HEAD + '''    # TODO: set L.grad to ones (np.ones_like), then pass it back through L's vjp
    # to e and c, then through e's vjp to a and b.
    raise NotImplementedError("backward_by_hand")
''')

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS,
                         P.value_class(P.INIT, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         BACKWARD_BY_HAND_HEAD + '''    L.grad = np.ones_like(L.data)
    e.grad, c.grad = L.vjp(L.grad)
    a.grad, b.grad = e.vjp(e.grad)
''')


def check(ns):
    Value = ns.Value
    rng = np.random.default_rng(3)
    a, b, c = (Value(rng.standard_normal(3)) for _ in range(3))
    e = a * b
    L = e + c
    ns.backward_by_hand(L)
    ones = np.ones(3)
    for name, v in (("L", L), ("e", e), ("c", c), ("a", a), ("b", b)):
        assert v.grad is not None, f"{name}.grad is still None after backward_by_hand(L)"
    assert np.array_equal(L.grad, ones), f"L.grad should be ones (dL/dL = 1), got {L.grad}"
    assert np.array_equal(e.grad, ones) and np.array_equal(c.grad, ones), (
        f"+ passes its gradient on unchanged: e.grad and c.grad should be ones, got "
        f"{e.grad} and {c.grad}")
    assert np.array_equal(a.grad, b.data) and np.array_equal(b.grad, a.data), (
        f"dL/da = b and dL/db = a (times e.grad = 1): got a.grad = {a.grad}, b.grad = {b.grad} "
        f"for a = {a.data}, b = {b.data}")
