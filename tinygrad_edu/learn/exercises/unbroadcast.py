"""Exercise 7 of the build-your-own-engine path: Broadcasting and its reduction (docs/learn/broadcasting.md)."""
from __future__ import annotations

import numpy as np

SLUG = "unbroadcast"
ORDER = 7
TITLE = "Broadcasting and its reduction"
PAGE = "learn/broadcasting.md"
HINT = ("while g.ndim > len(shape): g = g.sum(axis=0); then for each axis where shape has a 1: "
        "g = g.sum(axis=axis, keepdims=True)")

SKELETON = '''"""Build your own engine, step 7: Broadcasting and its reduction (docs/learn/broadcasting.md).

Check: python -m tinygrad_edu.learn check unbroadcast
"""
import itertools

import numpy as np

_counter = itertools.count()  # numbers every Value in creation order


class Value:
    """An array that remembers the values it was computed from."""

    def __init__(self, data, parents=(), op="", vjp=None):
        self.data = np.asarray(data, dtype=float)  # integers become floats, once
        self.parents = parents  # the Values this one was computed from
        self.op = op  # how: "+", "*", ...
        self.vjp = vjp  # g -> one gradient per parent; None for a leaf
        self.grad = None  # dL/dself, set by backward
        self.seq = next(_counter)  # creation number: parents have smaller ones

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


def unbroadcast(g, shape):
    """Sum g down to shape: the gradient of an operand that numpy broadcast."""
    # TODO: sum away the leading axes numpy added, then sum (keepdims=True) each
    # axis where shape has a 1 and g does not.
    raise NotImplementedError("unbroadcast")


def backward_in_order(root, order):
    """Fill .grad of every value in order (each listed after all the values that use it)."""
    grads = {root: np.ones_like(root.data)}  # dL/dv of the values reached so far
    for v in order:
        v.grad = grads[v]
        if v.vjp is None:
            continue  # a leaf: nothing to pass on
        for p, g in zip(v.parents, v.vjp(v.grad)):
            g = unbroadcast(g, p.data.shape)
            grads[p] = grads[p] + g if p in grads else g


def topo_order(root):
    """root and every value it depends on, newest first: each before its parents."""
    seen, stack = {root}, [root]
    while stack:  # a loop, not recursion: no depth limit
        v = stack.pop()
        for p in v.parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=lambda v: v.seq, reverse=True)


def backward(root):
    """Fill .grad of root and of every value root depends on."""
    backward_in_order(root, topo_order(root))
'''

SOLUTION = '''"""Build your own engine, step 7: Broadcasting and its reduction (docs/learn/broadcasting.md).

Check: python -m tinygrad_edu.learn check unbroadcast
"""
import itertools

import numpy as np

_counter = itertools.count()  # numbers every Value in creation order


class Value:
    """An array that remembers the values it was computed from."""

    def __init__(self, data, parents=(), op="", vjp=None):
        self.data = np.asarray(data, dtype=float)  # integers become floats, once
        self.parents = parents  # the Values this one was computed from
        self.op = op  # how: "+", "*", ...
        self.vjp = vjp  # g -> one gradient per parent; None for a leaf
        self.grad = None  # dL/dself, set by backward
        self.seq = next(_counter)  # creation number: parents have smaller ones

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


def unbroadcast(g, shape):
    """Sum g down to shape: the gradient of an operand that numpy broadcast."""
    while g.ndim > len(shape):  # axes numpy added in front
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):  # axes of length 1 that numpy stretched
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def backward_in_order(root, order):
    """Fill .grad of every value in order (each listed after all the values that use it)."""
    grads = {root: np.ones_like(root.data)}  # dL/dv of the values reached so far
    for v in order:
        v.grad = grads[v]
        if v.vjp is None:
            continue  # a leaf: nothing to pass on
        for p, g in zip(v.parents, v.vjp(v.grad)):
            g = unbroadcast(g, p.data.shape)
            grads[p] = grads[p] + g if p in grads else g


def topo_order(root):
    """root and every value it depends on, newest first: each before its parents."""
    seen, stack = {root}, [root]
    while stack:  # a loop, not recursion: no depth limit
        v = stack.pop()
        for p in v.parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=lambda v: v.seq, reverse=True)


def backward(root):
    """Fill .grad of root and of every value root depends on."""
    backward_in_order(root, topo_order(root))
'''


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
