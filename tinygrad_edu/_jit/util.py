"""Small helpers of the recorder and the replay: remaking views, naming calls and where
they were made, a failed guard, scope arrays compared with their recorded values."""
from __future__ import annotations

import os
import struct
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["_view_at", "_caller", "_fn_name", "_GuardFailed", "_guard_failed", "unchanged",
           "number_key", "same_bits"]


def _view_at(x, offset, shape, strides):
    """The view of ``x``'s memory at element ``offset`` with ``shape``/``strides``: how the
    replay remakes a view the eager code took without numpy telling the recorder."""
    if offset > 0:
        x = as_strided(x, (offset + 1,), (x.itemsize,))[offset:]
    elif offset < 0:
        x = as_strided(x, (1 - offset,), (-x.itemsize,))[-offset:]
    return as_strided(x, shape, strides)


_HERE = os.path.dirname(os.path.abspath(__file__))  # the jit package


def _caller():
    """'file:line' of the innermost frame outside the jit package (error messages)."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_HERE):
        f = f.f_back
    if f is None:
        return "?"
    return f"{os.path.relpath(f.f_code.co_filename)}:{f.f_lineno}"


def _fn_name(fn):
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


class _GuardFailed(Exception):
    """A replayed guard saw another value than the recording (``line`` of the program;
    ``clean``: nothing was written yet, so the call may rerun eagerly)."""

    def __init__(self, line, clean):
        super().__init__(line, clean)
        self.line, self.clean = line, clean


def _guard_failed(line, clean):
    raise _GuardFailed(line, clean)


def unchanged(arrays):
    """Does every ``(array, value when recorded)`` pair still hold that value, bit for bit?"""
    for a, v in arrays:
        if not same_bits(a, v):
            return False
    return True


def same_bits(a, b):
    """Do arrays ``a`` and ``b`` hold the same shape, dtype and bits? Values alone are not
    enough for floats: ``0.0 == -0.0``, and NaNs differ in sign and payload, which a
    replay holding one instead of the other would pass on."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        if a.dtype.kind == "f" and a.dtype.itemsize in (2, 4, 8):
            u = np.dtype(f"u{a.itemsize}")  # a view of the same width: any strides
            return bool(np.array_equal(a.view(u), b.view(u)))
        return a.tobytes() == b.tobytes()
    return bool(np.array_equal(a, b))


def number_key(v):
    """A key equal for two numbers only when they have the same type and bits (``1``,
    ``1.0`` and ``True`` apart, ``0.0`` and ``-0.0`` apart, a NaN equal to the same
    NaN only); None if ``v`` is not a number."""
    t = type(v)
    if t is float:
        return (t, struct.pack("<d", v))
    if t is int or t is bool:
        return (t, v)
    if t is complex:
        return (t, struct.pack("<dd", v.real, v.imag))
    if isinstance(v, np.generic):
        return (t, v.tobytes())
    return None
