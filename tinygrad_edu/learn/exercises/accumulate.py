"""Exercise 6 of the build-your-own-engine path: A value used twice: add the gradients (docs/learn/used-twice.md)."""
from __future__ import annotations

import numpy as np

SLUG = "accumulate"
ORDER = 6
TITLE = "A value used twice: add the gradients"
PAGE = "learn/used-twice.md"
HINT = "grads[p] = grads[p] + g if p in grads else g"

SKELETON = '''"""Build your own engine, step 6: A value used twice: add the gradients (docs/learn/used-twice.md).

Check: python -m tinygrad_edu.learn check accumulate
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


def backward_in_order(root, order):
    """Fill .grad of every value in order (each listed after all the values that use it)."""
    grads = {root: np.ones_like(root.data)}  # dL/dv of the values reached so far
    for v in order:
        v.grad = grads[v]
        if v.vjp is None:
            continue  # a leaf: nothing to pass on
        for p, g in zip(v.parents, v.vjp(v.grad)):
            # TODO: a value used twice gets a gradient from each use:
            # both must count.
            grads[p] = g


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

SOLUTION = '''"""Build your own engine, step 6: A value used twice: add the gradients (docs/learn/used-twice.md).

Check: python -m tinygrad_edu.learn check accumulate
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


def backward_in_order(root, order):
    """Fill .grad of every value in order (each listed after all the values that use it)."""
    grads = {root: np.ones_like(root.data)}  # dL/dv of the values reached so far
    for v in order:
        v.grad = grads[v]
        if v.vjp is None:
            continue  # a leaf: nothing to pass on
        for p, g in zip(v.parents, v.vjp(v.grad)):
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
