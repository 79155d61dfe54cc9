"""Exercise 8 of the build-your-own-engine path: sigmoid, dot and the blog's loss (docs/learn/blog-ops.md)."""
from __future__ import annotations

import numpy as np

SLUG = "blog_ops"
ORDER = 8
TITLE = "sigmoid, dot and the blog's loss"
PAGE = "learn/blog-ops.md"
HINT = ("the blog's groupings: sigmoid's vjp is g * (s * (1 - s)); dot's is "
        "(g.dot(b.T), a.T.dot(g)); sum gives every element g: g * np.ones_like(a)")

SKELETON = '''"""Build your own engine, step 8: sigmoid, dot and the blog's loss (docs/learn/blog-ops.md).

Check: python -m tinygrad_edu.learn check blog_ops
"""
import itertools

import numpy as np

_counter = itertools.count()  # numbers every Value in creation order


class Value:
    """An array that remembers the values it was computed from."""

    # `array - value`: numpy steps aside and calls Value.__rsub__ (see blog-ops.md)
    __array_ufunc__ = None

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

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-as_value(other))

    def __radd__(self, other):  # number + Value
        return as_value(other) + self

    def __rmul__(self, other):  # number * Value
        return as_value(other) * self

    def __rsub__(self, other):  # number - Value
        return as_value(other) - self

    def __pow__(self, n):  # n: a plain number
        # TODO: self ** n, with the vjp g -> (g * (n * a ** (n - 1)),)
        raise NotImplementedError("Value.__pow__")

    def sum(self):
        # TODO: the sum of all elements (a 0-d array); every element gets g
        raise NotImplementedError("Value.sum")

    def sigmoid(self):
        # TODO: s = 1 / (1 + np.exp(-x)) as the blog writes it; slope s * (1 - s),
        # multiplied into g in the blog's grouping: g * (s * (1 - s))
        raise NotImplementedError("Value.sigmoid")

    def dot(self, other):
        # TODO: the matrix product a.dot(b); vjp g -> (g.dot(b.T), a.T.dot(g))
        raise NotImplementedError("Value.dot")


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

SOLUTION = '''"""Build your own engine, step 8: sigmoid, dot and the blog's loss (docs/learn/blog-ops.md).

Check: python -m tinygrad_edu.learn check blog_ops
"""
import itertools

import numpy as np

_counter = itertools.count()  # numbers every Value in creation order


class Value:
    """An array that remembers the values it was computed from."""

    # `array - value`: numpy steps aside and calls Value.__rsub__ (see blog-ops.md)
    __array_ufunc__ = None

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

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-as_value(other))

    def __radd__(self, other):  # number + Value
        return as_value(other) + self

    def __rmul__(self, other):  # number * Value
        return as_value(other) * self

    def __rsub__(self, other):  # number - Value
        return as_value(other) - self

    def __pow__(self, n):  # n: a plain number
        a = self.data
        return Value(a ** n, (self,), f"**{n}", lambda g: (g * (n * a ** (n - 1)),))

    def sum(self):
        a = self.data
        return Value(np.sum(a), (self,), "sum", lambda g: (g * np.ones_like(a),))

    def sigmoid(self):
        s = 1 / (1 + np.exp(-self.data))  # the blog's nonlin(x)
        return Value(s, (self,), "sigmoid", lambda g: (g * (s * (1 - s)),))

    def dot(self, other):
        other = as_value(other)
        a, b = self.data, other.data
        return Value(a.dot(b), (self, other), "dot", lambda g: (g.dot(b.T), a.T.dot(g)))


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
    z = Value(np.linspace(-4.0, 4.0, 12).reshape(4, 3))
    s = z.sigmoid()
    want = 1 / (1 + np.exp(-z.data))
    assert np.array_equal(s.data, want), (
        "sigmoid's data must be 1 / (1 + np.exp(-x)), the blog's nonlin, computed in that order")
    g = np.random.default_rng(8).standard_normal((4, 3))
    (gz,) = s.vjp(g)
    slope = want * (1 - want)
    if not np.array_equal(gz, g * slope):
        close = np.allclose(gz, g * slope, rtol=1e-12, atol=0)
        raise AssertionError(
            "sigmoid's vjp must be g * (s * (1 - s)): "
            + ("yours is right to rounding but groups the products differently (e.g. "
               "(g * s) * (1 - s)); the blog computes the slope s * (1 - s) first, and to "
               "match the blog bit for bit so must you" if close else "yours is not the slope"))
    rng = np.random.default_rng(9)
    A, B = Value(rng.standard_normal((4, 3))), Value(rng.standard_normal((3, 2)))
    P = A.dot(B)
    assert np.array_equal(P.data, A.data.dot(B.data)), "A.dot(B).data must be A.data.dot(B.data)"
    g = rng.standard_normal((4, 2))
    gA, gB = P.vjp(g)
    assert gA.shape == (4, 3) and gB.shape == (3, 2), (
        f"dot's vjp returns gradients shaped like A (4, 3) and B (3, 2), got {gA.shape}, "
        f"{gB.shape}")
    assert np.array_equal(gA, g.dot(B.data.T)) and np.array_equal(gB, A.data.T.dot(g)), (
        "dot's vjp must be (g.dot(b.T), a.T.dot(g)): the blog's l2_delta.dot(syn1.T) and "
        "l1.T.dot(l2_delta)")
    x = Value([1.0, -2.0, 3.0])
    sq = x ** 2
    assert np.array_equal(sq.data, [1.0, 4.0, 9.0]), f"x ** 2 gave {sq.data}"
    gx = np.array([1.0, 0.5, 2.0])
    assert np.array_equal(sq.vjp(gx)[0], gx * (2 * x.data)), "the vjp of x ** 2 is g * 2x"
    assert np.allclose((x ** 3).vjp(gx)[0], gx * 3 * x.data ** 2), "the vjp of x ** 3 is g * 3x^2"
    t = x.sum()
    assert np.shape(t.data) == () and t.data == 2.0, f"x.sum() is a 0-d array, 2.0; got {t.data!r}"
    (gs,) = t.vjp(np.array(0.5))
    assert np.array_equal(gs, [0.5, 0.5, 0.5]), (
        f"sum's vjp gives every element the gradient g: [0.5, 0.5, 0.5] for g = 0.5, got {gs}")
    y = np.array([[0], [1], [1], [0]])
    out = Value(s.data[:, :1])
    loss = 0.5 * ((y - out) ** 2).sum()
    assert np.array_equal(loss.data, 0.5 * np.sum((y - out.data) ** 2)), (
        "0.5 * ((y - out) ** 2).sum() must be half the sum of squared errors")
    ns.backward(loss)
    assert np.array_equal(out.grad, -(y - out.data)), (
        "for the blog's loss, dL/dout must be exactly -(y - out), minus the blog's l2_error")
