"""Exercise 6 of the build-your-own-engine path: A value used twice: add the gradients (docs/learn/used-twice.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "accumulate"
ORDER = 6
TITLE = "A value used twice: add the gradients"
PAGE = "learn/used-twice.md"
HINT = "grads[p] = grads[p] + g if p in grads else g"

# step 5's engine (written once, in _parts.py); only backward_in_order's last line changes
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER,
                         P.value_class(P.INIT_SEQ, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.BACKWARD_IN_ORDER_HEAD + P.BACKWARD_IN_ORDER_LOOP
                         + '''            # TODO: a value used twice gets a gradient from each use:
            # both must count.
''' + P.STORE, P.TOPO_ORDER, P.BACKWARD)

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER,
                         P.value_class(P.INIT_SEQ, P.REPR, P.ADD, P.MUL), P.AS_VALUE,
                         P.BACKWARD_IN_ORDER_HEAD + P.BACKWARD_IN_ORDER_LOOP + P.ACCUMULATE,
                         P.TOPO_ORDER, P.BACKWARD)


def check(ns):
    Value = ns.Value
    x = Value(3.0)
    ns.backward(x * x)
    assert x.grad == 6.0, (
        f"for y = x * x at x = 3, dy/dx = 2x = 6, got x.grad = {x.grad}: x is both parents "
        "of the product, and the second gradient must be added to the first, not replace it")
    a = Value([1.0, 2.0])
    b = Value([10.0, 20.0])
    ns.backward(a * b + a)
    assert np.array_equal(a.grad, [11.0, 21.0]), (
        f"for L = a * b + a, dL/da = b + 1 = [11, 21] (a is used twice), got {a.grad}")
    h = a * 2
    ns.backward(h * h + h)  # h itself is used three times
    assert np.array_equal(a.grad, 2 * (2 * h.data + 1)), (
        f"for h = 2a, L = h * h + h: dL/da = 2 (2h + 1), got {a.grad}")
    c = a + a
    top = c + a
    ns.backward(top)
    assert np.array_equal(a.grad, [3.0, 3.0]) and np.array_equal(c.grad, [1.0, 1.0]) \
        and np.array_equal(top.grad, [1.0, 1.0]), (
        f"for c = a + a, L = c + a: dL/da = 3, dL/dc = dL/dL = 1; got a.grad = {a.grad}, "
        f"c.grad = {c.grad}, L.grad = {top.grad}. `+` hands the same gradient array to both "
        "parents, so adding into it in place (grads[p] += g after grads[p] = g) changes the "
        "gradients of other values too: store a copy first, or add out of place (grads[p] = grads[p] + g)")
    ns.backward(a * b + a)  # a second backward on a fresh graph gives the same again
    assert np.array_equal(a.grad, [11.0, 21.0]), (
        "each backward starts from fresh gradients: calling it again on a new graph must give "
        f"[11, 21] again, got {a.grad}")
