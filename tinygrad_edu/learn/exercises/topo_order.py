"""Exercise 5 of the build-your-own-engine path: Ordering: a topological order, without recursion (docs/learn/ordering.md)."""
from __future__ import annotations

import sys

import numpy as np

SLUG = "topo_order"
ORDER = 5
TITLE = "Ordering: a topological order, without recursion"
PAGE = "learn/ordering.md"
HINT = ("seen = {root}; stack = [root]; while stack: pop a value, push its parents you have not "
        "seen; then sorted(seen, key=lambda v: v.seq, reverse=True)")

SKELETON = '''"""Build your own engine, step 5: Ordering: a topological order, without recursion (docs/learn/ordering.md).

Check: python -m tinygrad_edu.learn check topo_order
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
            grads[p] = g


def topo_order(root):
    """root and every value it depends on, newest first: each before its parents."""
    # TODO: collect root and all its ancestors with a loop and a stack (no recursion),
    # then sort them by .seq, largest first.
    raise NotImplementedError("topo_order")


def backward(root):
    """Fill .grad of root and of every value root depends on."""
    backward_in_order(root, topo_order(root))
'''

SOLUTION = '''"""Build your own engine, step 5: Ordering: a topological order, without recursion (docs/learn/ordering.md).

Check: python -m tinygrad_edu.learn check topo_order
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


def check(ns):
    Value = ns.Value
    first, second = Value(1.0), Value(2.0)
    assert second.seq > first.seq, "a Value created later must have a larger .seq"
    rng = np.random.default_rng(5)
    a, b, c, d = (Value(rng.standard_normal(3)) for _ in range(4))
    ab = a * b
    unrelated = a * 10.0  # created in between, not used by L
    cd = c + d
    L = ab * cd
    order = ns.topo_order(L)
    assert len(order) == len(set(map(id, order))), "topo_order lists a value twice"
    assert {id(v) for v in order} == {id(v) for v in (L, ab, cd, a, b, c, d)}, (
        "topo_order(L) must list L and exactly the values L depends on (here L, a*b, c+d, "
        "a, b, c, d), not values that L does not use")
    assert order[0] is L, "topo_order(L) starts with L itself"
    position = {id(v): k for k, v in enumerate(order)}
    for v in order:
        for p in v.parents:
            assert position[id(v)] < position[id(p)], (
                f"a value must come before its parents: {v!r} is listed after its parent {p!r}")
    ns.backward(L)
    assert np.array_equal(a.grad, cd.data * b.data) and np.array_equal(c.grad, ab.data), (
        "backward(L) must fill the gradients: dL/da = (c + d) * b, dL/dc = a * b")
    assert unrelated.grad is None, "backward(L) must not touch values L does not depend on"
    depth = min(5 * sys.getrecursionlimit(), 50_000)  # far beyond Python's default 1,000
    x = Value(1.0)
    h = x
    for _ in range(depth):
        h = h * 1.0
    try:
        ns.backward(h)
    except RecursionError:
        raise AssertionError(
            f"on a chain of {depth} multiplications, topo_order hit Python's recursion limit: "
            "walk the graph with a loop and a stack, not with recursion") from None
    assert x.grad == 1.0, f"at the bottom of a chain of * 1.0, x.grad should be 1, got {x.grad}"
