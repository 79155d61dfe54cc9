"""Exercise 9 of the build-your-own-engine path: The blog's network on your engine, bit for bit (docs/learn/blog-network.md)."""
from __future__ import annotations

import numpy as np

from tinygrad_edu import blog

SLUG = "blog_network"
ORDER = 9
TITLE = "The blog's network on your engine, bit for bit"
PAGE = "learn/blog-network.md"
HINT = ("forward: Value(X).dot(W0).sigmoid().dot(W1).sigmoid(); loss 0.5 * ((y - l2) ** 2).sum(); "
        "backward(loss); then W.data -= W.grad")

SKELETON = '''"""Build your own engine, step 9: The blog's network on your engine, bit for bit (docs/learn/blog-network.md).

Check: python -m tinygrad_edu.learn check blog_network
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


def train(X, y, syn0, syn1, iterations):
    """The blog's loop on this engine: returns the final (syn0, syn1) as arrays."""
    # TODO: W0, W1 = Value(syn0), Value(syn1); then each iteration: the forward pass
    # (dot, sigmoid, dot, sigmoid), the loss 0.5 * ((y - l2) ** 2).sum(), backward,
    # and the step W.data -= W.grad for both weights.
    raise NotImplementedError("train")
'''

SOLUTION = '''"""Build your own engine, step 9: The blog's network on your engine, bit for bit (docs/learn/blog-network.md).

Check: python -m tinygrad_edu.learn check blog_network
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


def train(X, y, syn0, syn1, iterations):
    """The blog's loop on this engine: returns the final (syn0, syn1) as arrays."""
    W0, W1 = Value(syn0), Value(syn1)
    for _ in range(iterations):
        l1 = Value(X).dot(W0).sigmoid()
        l2 = l1.dot(W1).sigmoid()
        loss = 0.5 * ((y - l2) ** 2).sum()
        backward(loss)
        W1.data -= W1.grad  # the blog's syn1 += l1.T.dot(l2_delta)
        W0.data -= W0.grad
    return W0.data, W1.data
'''


def check(ns):
    for iterations in (1, 300):
        syn0, syn1 = blog.initial_weights((3, 4), (4, 1))
        got = ns.train(blog.X, blog.Y_PART2, syn0.copy(), syn1.copy(), iterations)
        assert len(got) == 2, "train returns (syn0, syn1)"
        w0, w1 = (np.asarray(getattr(w, "data", w)) for w in got)
        want0, want1, _ = blog.by_hand_three_layer(iterations)
        assert w0.shape == (3, 4) and w1.shape == (4, 1), (
            f"train returns syn0 (3, 4) and syn1 (4, 1), got {w0.shape} and {w1.shape}")
        if np.array_equal(w0, want0) and np.array_equal(w1, want1):
            continue
        gap = max(np.max(np.abs(w0 - want0)), np.max(np.abs(w1 - want1)))
        if gap < 1e-9:
            raise AssertionError(
                f"after {iterations} iteration(s) your weights are within {gap:.1e} of the "
                "blog's but not equal bit for bit: some backward rule groups its products "
                "differently from the blog (sigmoid: g * (s * (1 - s)); dot: g.dot(b.T) and "
                "a.T.dot(g)), or the step is not W.data -= W.grad")
        raise AssertionError(
            f"after {iterations} iteration(s) your weights are {gap:.2g} away from the blog's: "
            "check the forward pass, the loss 0.5 * ((y - l2) ** 2).sum(), and the step "
            "W.data -= W.grad (learning rate 1)")
