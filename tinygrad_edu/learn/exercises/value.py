"""Exercise 1 of the build-your-own-engine path: A value that remembers its inputs (docs/learn/value.md)."""
from __future__ import annotations

import numpy as np

from . import _parts as P

SLUG = "value"
ORDER = 1
TITLE = "A value that remembers its inputs"
PAGE = "learn/value.md"
HINT = "a Value only stores things: np.asarray(data, dtype=float), the tuple of parents, the op"

INIT_DEF = '    def __init__(self, data, parents=(), op=""):\n'

# skeleton and solution differ only in the bodies of __init__, + and *; the rest is _parts.py's
SKELETON = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS, P.value_class(
    INIT_DEF + '''        # TODO: keep data as a float64 array (np.asarray(..., dtype=float)),
        # and parents (a tuple of Values) and op (a short string) as they are.
        raise NotImplementedError("Value.__init__")
''', P.REPR, '''    def __add__(self, other):
        # TODO: the sum as a Value, remembering (self, other) and the op "+".
        # other may be a plain number or array: as_value(other) wraps it.
        raise NotImplementedError("Value.__add__")
''', '''    def __mul__(self, other):
        # TODO: the product, remembering (self, other) and the op "*".
        raise NotImplementedError("Value.__mul__")
'''), P.AS_VALUE)

SOLUTION = P.engine_file(P.header(ORDER, TITLE, PAGE, SLUG), P.IMPORTS, P.value_class(
    INIT_DEF + P.FIELDS, P.REPR,
    P.ADD_HEAD + '''        return Value(self.data + other.data, (self, other), "+")
''', P.MUL_HEAD + '''        return Value(a * b, (self, other), "*")
'''), P.AS_VALUE)


def check(ns):
    Value = ns.Value
    a = Value([1, 2, 3])
    assert isinstance(a.data, np.ndarray) and a.data.dtype == np.float64, (
        f"Value([1, 2, 3]).data should be a float64 numpy array, got {a.data!r}: "
        "convert with np.asarray(data, dtype=float) (the blog's X is integers)")
    assert a.parents == () and a.op == "", (
        "a Value made from data alone has parents () and op \"\", got "
        f"parents={a.parents!r}, op={a.op!r}")
    b = Value([10.0, 20.0, 30.0])
    c = a + b
    assert isinstance(c, Value), f"a + b should be a Value, got {type(c).__name__}"
    assert np.array_equal(c.data, [11.0, 22.0, 33.0]), f"(a + b).data is {c.data!r}"
    assert c.op == "+", f"(a + b).op should be \"+\", got {c.op!r}"
    assert isinstance(c.parents, tuple), (
        f"(a + b).parents should be a tuple, (self, other), got a {type(c.parents).__name__}")
    assert len(c.parents) == 2 and c.parents[0] is a and c.parents[1] is b, (
        "(a + b).parents should be the tuple (a, b) of the Values themselves (not copies)")
    d = a * b
    assert np.array_equal(d.data, [10.0, 40.0, 90.0]) and d.op == "*", (
        f"a * b should have data [10, 40, 90] and op \"*\", got {d.data!r}, {d.op!r}")
    assert d.parents[0] is a and d.parents[1] is b, "(a * b).parents should be (a, b)"
    e = a * 2
    assert isinstance(e, Value) and np.array_equal(e.data, [2.0, 4.0, 6.0]), (
        "a * 2 should be a Value with data [2, 4, 6]: wrap the plain number 2 with as_value")
    assert isinstance(e.parents[1], Value) and np.array_equal(e.parents[1].data, 2.0), (
        "in a * 2, the number 2 should become a Value, the second parent")
    f = (a + b) * a
    assert f.parents[0].parents[1] is b and f.parents[1] is a, (
        "(a + b) * a should remember a + b and a, and a + b should remember b")
