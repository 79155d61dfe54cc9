"""Exercise 7 of the build-your-own-engine path: Broadcasting and its reduction (docs/learn/broadcasting.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "unbroadcast"
ORDER = 7
TITLE = "Broadcasting and its reduction"
PAGE = "learn/broadcasting.md"
HINT = ("while g.ndim > len(shape): g = g.sum(axis=0); then for each axis where shape has a 1: "
        "g = g.sum(axis=axis, keepdims=True)")

# step 6's engine plus unbroadcast (written once, in _parts.py); only its body is left to write
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER,
                         P.value_class(P.INIT_SEQ, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.UNBROADCAST_HEAD + '''    # TODO: sum away the leading axes numpy added, then sum (keepdims=True) each
    # axis where shape has a 1 and g does not.
    raise NotImplementedError("unbroadcast")
''', P.BACKWARD_IN_ORDER_UNBROADCAST, P.TOPO_ORDER, P.BACKWARD)

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER,
                         P.value_class(P.INIT_SEQ, P.REPR, P.ADD, P.MUL), *P.BLOG_ENGINE_TAIL)


def check(ns):
    Value = ns.Value
    got = ns.unbroadcast(np.ones((2, 3, 4)), (3, 1))
    assert got.shape == (3, 1) and np.array_equal(got, np.full((3, 1), 8.0)), (
        "unbroadcast(np.ones((2, 3, 4)), (3, 1)) should sum the new axis and the stretched one: "
        f"[[8], [8], [8]], got {got!r}")
    same = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(ns.unbroadcast(same, (2, 3)), same), (
        "unbroadcast(g, g.shape) must return g unchanged")
    total = ns.unbroadcast(np.arange(4.0), ())
    assert np.shape(total) == () and total == 6.0, (
        f"a number broadcast to shape (4,) gets the sum of g: unbroadcast(g, ()) = 6 for "
        f"g = [0, 1, 2, 3], got {total!r}")
    rng = np.random.default_rng(7)
    x = Value(rng.standard_normal((4, 3)))
    w = Value(rng.standard_normal(3))
    bias = Value(rng.standard_normal(3))
    out = x * w + bias
    ns.backward(out)
    assert bias.grad.shape == (3,) and np.array_equal(bias.grad, [4.0, 4.0, 4.0]), (
        f"out = x * w + bias with x (4, 3) and bias (3,): bias is used by all 4 rows, so "
        f"bias.grad = [4, 4, 4] of shape (3,); got {bias.grad!r}. Call unbroadcast on "
        "every gradient in backward_in_order")
    assert w.grad.shape == (3,) and np.allclose(w.grad, x.data.sum(axis=0)), (
        "w (3,) times x (4, 3): w.grad is x summed over the rows, of shape (3,)")
    c = Value(2.0)
    ns.backward(x * c)
    assert np.shape(c.grad) == () and np.isclose(c.grad, x.data.sum()), (
        "a plain number times x: its gradient is the sum of x, a 0-d array")
