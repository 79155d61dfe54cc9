"""Exercise 8 of the build-your-own-engine path: sigmoid, dot and the blog's loss (docs/learn/blog-ops.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "blog_ops"
ORDER = 8
TITLE = "sigmoid, dot and the blog's loss"
PAGE = "learn/blog-ops.md"
HINT = ("the blog's groupings: sigmoid's vjp is g * (s * (1 - s)); dot's is "
        "(g.dot(b.T), a.T.dot(g)); sum gives every element g: g * np.ones_like(a)")

# step 7's engine plus the blog's ops (written once, in _parts.py); their bodies are the TODOs
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER, P.value_class(
    P.ARRAY_UFUNC, P.INIT_SEQ, P.REPR, P.ADD, P.MUL, P.OPERATORS,
    P.POW_HEAD + '''        # TODO: self ** n, with the vjp g -> (g * (n * a ** (n - 1)),)
        raise NotImplementedError("Value.__pow__")
''', P.SUM_HEAD + '''        # TODO: the sum of all elements (a 0-d array); every element gets g
        raise NotImplementedError("Value.sum")
''', P.SIGMOID_HEAD + '''        # TODO: s = 1 / (1 + np.exp(-x)) as the blog writes it; slope s * (1 - s),
        # multiplied into g in the blog's grouping: g * (s * (1 - s))
        raise NotImplementedError("Value.sigmoid")
''', P.DOT_HEAD + '''        # TODO: the matrix product a.dot(b); vjp g -> (g.dot(b.T), a.T.dot(g))
        raise NotImplementedError("Value.dot")
'''), *P.BLOG_ENGINE_TAIL)

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS_COUNTER, P.BLOG_VALUE,
                         *P.BLOG_ENGINE_TAIL)


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
