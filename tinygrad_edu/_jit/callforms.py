"""Cheaper spellings of the same numpy calls, for calls whose per-call cost is all overhead.

* Arithmetic on numpy scalars (a loss's ``0.5 * total``): ``np.multiply``
  on two scalars goes through the ufunc machinery (~0.5 us); the scalar's own
  operator (``operator.mul``) computes in C on the two numbers (~0.05 us).
  For float32/float64 scalars and ``+ - * /`` both are one IEEE operation on
  the same two values of the same dtype (a Python number converted by NEP 50's
  rule, as the ufunc converts it), so the bits are the same; checked again on
  the recorded values when the program is built.
* A reduction over every axis, ``np.add.reduce(x, axis=(0, 1), keepdims=False)``
  (what ``sum()`` of a 2-D tensor records), as ``np.add.reduce(x, None)``:
  numpy turns both into the same set of reduced axes; positional arguments
  skip the keyword parsing.
* ``+ - * /`` of a small integer (or bool) array and a float array (the
  blog's ``y - l2`` with integer labels): numpy casts the integers to the
  float dtype inside the call, through a buffered loop that costs ~0.6 us to
  set up; the program casts them first (``astype``, the same conversion) and
  calls the ufunc on two float arrays, the same loop on the same values.
"""
from __future__ import annotations

import operator

import numpy as np

from .recorder import Slot

__all__ = ["scalar_operators", "full_reductions", "cast_first"]

_OPERATORS = {np.add: operator.add, np.subtract: operator.sub, np.multiply: operator.mul,
              np.true_divide: operator.truediv}
_SCALARS = (np.float32, np.float64)


def _value(x, values):
    """The operand as the replay sees it: a slot kept as a scalar is a numpy scalar
    (the recording holds it as a 0-d array)."""
    if type(x) is not Slot:
        return x
    v = values[x.i]
    return v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v


def scalar_operators(ops, as_scalar, values):
    """``ops`` with two-scalar ``+ - * /`` ufunc calls as the scalars' operators.

    ``as_scalar``: the slots that stay numpy scalars at replay (codegen's
    ``_scalar_ok``); ``values``: the recorded value of each slot."""
    out = []
    for op in ops:
        fn = _OPERATORS.get(op.fn) if op.kind == "call" and not op.kwargs else None
        if fn is None or len(op.args) != 2 or not _scalar_operands(op.args, as_scalar, values):
            out.append(op)
            continue
        a, b = (_value(x, values) for x in op.args)
        with np.errstate(all="ignore"):
            want, got = op.fn(a, b), fn(a, b)
        if type(want) is not type(got) or not (want.tobytes() == got.tobytes()):
            out.append(op)
            continue
        out.append(op.derive(fn=fn))
    return out


def _scalar_operands(args, as_scalar, values):
    """Both operands numpy float32/float64 scalars of one type, or one of them a Python
    float or a small int (exact in float32, so no conversion can round it twice)."""
    types = set()
    for x in args:
        if type(x) is Slot:
            v = _value(x, values)
            if x.i not in as_scalar or type(v) not in _SCALARS:
                return False
            types.add(type(v))
        elif type(x) is float or (type(x) is int and abs(x) <= 2 ** 24):
            continue
        else:
            return False
    return len(types) == 1


def full_reductions(ops, values):
    """``ops`` with ``<ufunc>.reduce(x, axis=<every axis in order>, keepdims=False)`` (or
    without ``keepdims``) as ``<ufunc>.reduce(x, None)``."""
    out = []
    for op in ops:
        owner = getattr(op.fn, "__self__", None) if op.kind == "call" else None
        if not (isinstance(owner, np.ufunc) and op.fn.__name__ == "reduce" and len(op.args) == 1
                and type(op.args[0]) is Slot and set(op.kwargs) <= {"axis", "keepdims"}
                and op.kwargs.get("keepdims", False) is False and "axis" in op.kwargs):
            out.append(op)
            continue
        x = values[op.args[0].i]
        axis = op.kwargs["axis"]
        if not isinstance(x, np.ndarray) or type(axis) is not tuple \
                or axis != tuple(range(x.ndim)) or not x.ndim:
            out.append(op)
            continue
        out.append(op.derive(args=(op.args[0], None), kwargs={}))
    return out


_CASTING = {np.add, np.subtract, np.multiply, np.true_divide}
_SMALL = 2048  # elements: above, the ufunc's buffered cast costs no more than a cast copy


def cast_first(ops, values):
    """``ops`` with the integer operand of the ``+ - * /`` calls the module docstring
    describes cast first by an ``astype`` call into a new slot (appended to ``values``,
    the recorded values, with its recorded value); the slot is never written."""
    written = {w for op in ops for w in op.writes if w is not None}
    out = []
    for op in ops:
        if op.kind != "call" or op.fn not in _CASTING or op.kwargs or len(op.args) != 2:
            out.append(op)
            continue
        vals = [values[a.i] if type(a) is Slot and a.i < len(values) else None for a in op.args]
        kinds = [v.dtype.kind if isinstance(v, np.ndarray) else None for v in vals]
        k = 0 if kinds[0] in ("b", "i", "u") else 1 if kinds[1] in ("b", "i", "u") else None
        if k is None or kinds[1 - k] != "f" or op.args[k].i in written \
                or vals[k].size > _SMALL or vals[k].ndim == 0:
            out.append(op)
            continue
        dt = vals[1 - k].dtype
        if np.result_type(vals[k].dtype, dt) is not dt:  # (int64 with float32 makes float64)
            out.append(op)
            continue
        i = len(values)
        values.append(np.ndarray.astype(np.ndarray.view(vals[k], np.ndarray), dt))
        cast = op.derive(fn=np.ndarray.astype, args=(op.args[k], dt), kwargs={}, outs=i)
        cast.scalar = ()
        args = list(op.args)
        args[k] = Slot(i)
        out += [cast, op.derive(args=tuple(args))]
    return out
