"""Python numbers in a program's ufunc calls, converted once instead of on every call.

``np.add(1, x)`` pays about 0.3 us to turn the Python ``1`` into an array of
``x``'s dtype (NEP 50's "weak" scalar), on every call: a third of the call on
a small array, and the blog's network makes nine such calls a step. The
program passes the converted 0-d array instead (``k7 = array () float64``).

Exact: for the ufuncs below, with every array operand of one floating dtype
``D``, numpy converts the Python number to ``D`` and runs the ``D, D`` loop;
given a 0-d array of ``D`` holding that converted value it runs the same loop
on the same values. The converted value is taken from numpy itself at build
time (``np.multiply(number, ones of D)``, sign of zero and NaN kept) and the
number is left as it is if ``np.asarray(number, D)`` is not that value bit
for bit, or if the conversion overflows (numpy then warns, or raises under
``np.errstate``, on each call: the replay must too). Other ufuncs (whose loop
may not be ``D, D``: ``float_power``, ``ldexp``...), integer or mixed dtypes,
and ``dtype=``/``casting=`` calls keep their numbers.
"""
from __future__ import annotations

import struct

import numpy as np

from .recorder import Slot

_pack_d = struct.Struct("<d").pack

__all__ = ["typed_numbers", "as_typed"]

_UFUNCS = {np.add, np.subtract, np.multiply, np.true_divide, np.power, np.maximum, np.minimum,
           np.fmax, np.fmin, np.greater, np.greater_equal, np.less, np.less_equal, np.equal,
           np.not_equal}
_FLOATS = {np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)}
_KWARGS_OK = {"out"}


def as_typed(number, dtype):
    """The 0-d read-only array of ``dtype`` numpy would convert the Python ``number``
    to in a ufunc call with ``dtype`` arrays, or None if that cannot be proved equal."""
    if type(number) not in (int, float) or dtype not in _FLOATS:
        return None
    # A conversion that sets a floating-point flag (a finite number overflowing to inf:
    # 70000 to float16) warns, or raises under np.errstate, on every eager call: left as
    # it is, the replay's call warns or raises the same.
    with np.errstate(all="raise"):
        try:
            weak = np.multiply(number, np.ones((), dtype))  # numpy's own conversion, times 1
            mine = np.asarray(number, dtype)
        except (OverflowError, ValueError, FloatingPointError):
            return None
    bits = np.dtype(f"u{dtype.itemsize}")
    if np.asarray(weak).dtype != dtype or np.asarray(weak).view(bits) != mine.view(bits):
        return None
    mine.flags.writeable = False
    return mine


def _dtype_of(x, values):
    if type(x) is Slot:
        x = values[x.i] if x.i < len(values) else None
    if isinstance(x, (np.ndarray, np.generic)):
        return x.dtype
    return None


def typed_numbers(ops, values, hints=None):
    """``ops`` with the Python numbers of ufunc calls replaced as the module docstring
    says; ``values``: the recorded value of each slot (for the operands' dtypes).
    ``hints``: a dict that gets ``id(array) -> "1 as float64"`` for each array made
    (the program's header names its constants)."""
    out, made = [], {}
    for op in ops:
        fn = op.fn
        if op.kind != "call" or fn not in _UFUNCS or not set(op.kwargs) <= _KWARGS_OK \
                or len(op.args) < fn.nin:
            out.append(op)
            continue
        operands = op.args[:fn.nin]
        dtypes = {_dtype_of(a, values) for a in operands if type(a) not in (int, float)}
        if len(dtypes) != 1 or None in dtypes or not any(type(a) in (int, float) for a in operands):
            out.append(op)
            continue
        dtype = dtypes.pop()
        new_args = list(op.args)
        for k, a in enumerate(operands):
            if type(a) in (int, float):
                # 0.0 and -0.0, 1 and 1.0, NaNs of two signs apart
                key = (type(a), a if type(a) is int else _pack_d(a), dtype)
                typed = made[key] = made[key] if key in made else as_typed(a, dtype)
                if typed is not None and hints is not None:
                    hints[id(typed)] = f"{a!r} as {dtype}"
                if typed is not None:
                    new_args[k] = typed
        out.append(op.derive(args=tuple(new_args)))
    return out
