"""Exercise 3 of the build-your-own-engine path: Backward by hand on a two-node graph (docs/learn/by-hand.md)."""
from __future__ import annotations

import numpy as np

SLUG = "by_hand"
ORDER = 3
TITLE = "Backward by hand on a two-node graph"
PAGE = "learn/by-hand.md"
HINT = ("the order is the point: L's vjp first (it gives e.grad and c.grad), then e's vjp, "
        "which needs e.grad")

SKELETON = '''"""Build your own engine, step 3: Backward by hand on a two-node graph (docs/learn/by-hand.md).

Check: python -m tinygrad_edu.learn check by_hand
"""
import numpy as np


class Value:
    """An array that remembers the values it was computed from."""

    def __init__(self, data, parents=(), op="", vjp=None):
        self.data = np.asarray(data, dtype=float)  # integers become floats, once
        self.parents = parents  # the Values this one was computed from
        self.op = op  # how: "+", "*", ...
        self.vjp = vjp  # g -> one gradient per parent; None for a leaf
        self.grad = None  # dL/dself, set by backward

    def __repr__(self):
        return f"Value({self.data!r}, op={self.op!r})"

    def __add__(self, other):
        other = as_value(other)
        return Value(self.data + other.data, (self, other), "+", lambda g: (g, g))

    def __mul__(self, other):
        other = as_value(other)
        a, b = self.data, other.data
        return Value(a * b, (self, other), "*", lambda g: (g * b, g * a))


def as_value(x):
    """x itself if it is a Value, else a constant Value holding x."""
    return x if isinstance(x, Value) else Value(x)


def backward_by_hand(L):
    """Set .grad on every value of the graph L = a * b + c, starting from dL/dL = 1."""
    e, c = L.parents  # e = a * b
    a, b = e.parents
    # TODO: set L.grad to ones (np.ones_like), then pass it back through L's vjp
    # to e and c, then through e's vjp to a and b.
    raise NotImplementedError("backward_by_hand")
'''

SOLUTION = '''"""Build your own engine, step 3: Backward by hand on a two-node graph (docs/learn/by-hand.md).

Check: python -m tinygrad_edu.learn check by_hand
"""
import numpy as np


class Value:
    """An array that remembers the values it was computed from."""

    def __init__(self, data, parents=(), op="", vjp=None):
        self.data = np.asarray(data, dtype=float)  # integers become floats, once
        self.parents = parents  # the Values this one was computed from
        self.op = op  # how: "+", "*", ...
        self.vjp = vjp  # g -> one gradient per parent; None for a leaf
        self.grad = None  # dL/dself, set by backward

    def __repr__(self):
        return f"Value({self.data!r}, op={self.op!r})"

    def __add__(self, other):
        other = as_value(other)
        return Value(self.data + other.data, (self, other), "+", lambda g: (g, g))

    def __mul__(self, other):
        other = as_value(other)
        a, b = self.data, other.data
        return Value(a * b, (self, other), "*", lambda g: (g * b, g * a))


def as_value(x):
    """x itself if it is a Value, else a constant Value holding x."""
    return x if isinstance(x, Value) else Value(x)


def backward_by_hand(L):
    """Set .grad on every value of the graph L = a * b + c, starting from dL/dL = 1."""
    e, c = L.parents  # e = a * b
    a, b = e.parents
    L.grad = np.ones_like(L.data)
    e.grad, c.grad = L.vjp(L.grad)
    a.grad, b.grad = e.vjp(e.grad)
'''


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
