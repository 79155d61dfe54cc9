"""Exercise 4 of the build-your-own-engine path: The chain rule as a loop (docs/learn/chain-rule.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "chain_loop"
ORDER = 4
TITLE = "The chain rule as a loop"
PAGE = "learn/chain-rule.md"
HINT = ("grads = {root: np.ones_like(root.data)}; for v in order: v.grad = grads[v], then "
        "zip(v.parents, v.vjp(v.grad)) gives each parent its gradient")

# step 2's engine (written once, in _parts.py) plus this step's backward_in_order
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS,
                         P.value_class(P.INIT, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.BACKWARD_IN_ORDER_HEAD + '''    # TODO: start from dL/droot = ones; for each value v of order: its gradient is
    # complete now, so set v.grad; then (unless v.vjp is None) pass it to v's parents
    # through v.vjp. Keep the gradients reached so far in a dict {value: array}.
    raise NotImplementedError("backward_in_order")
''')

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS,
                         P.value_class(P.INIT, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.BACKWARD_IN_ORDER)


def check(ns):
    Value = ns.Value
    x = Value([1.0, -2.0])
    y = x * 2
    z = y * 3
    w = z + 1
    ns.backward_in_order(w, [w, z, y, x])
    assert w.grad is not None and np.array_equal(w.grad, [1.0, 1.0]), (
        f"the root's gradient is ones (dw/dw = 1), got w.grad = {w.grad}")
    assert np.array_equal(z.grad, [1.0, 1.0]) and np.array_equal(y.grad, [3.0, 3.0]), (
        f"in w = (x * 2) * 3 + 1: dw/dz = 1 and dw/dy = 3, got z.grad = {z.grad}, "
        f"y.grad = {y.grad}")
    assert np.array_equal(x.grad, [6.0, 6.0]), (
        f"the chain rule multiplies the local derivatives: dw/dx = 1 * 3 * 2 = 6, "
        f"got x.grad = {x.grad}")
    rng = np.random.default_rng(4)
    a, b, c, d = (Value(rng.standard_normal(4)) for _ in range(4))
    ab, cd = a * b, c + d
    L = ab * cd
    ns.backward_in_order(L, [L, cd, ab, a, b, c, d])
    assert np.array_equal(a.grad, cd.data * b.data), (
        "in L = (a * b) * (c + d): dL/da = (c + d) * b, passed through a * b; "
        f"got a.grad = {a.grad}")
    assert np.array_equal(c.grad, ab.data) and np.array_equal(d.grad, ab.data), (
        f"in L = (a * b) * (c + d): dL/dc = dL/dd = a * b; got {c.grad} and {d.grad}")
