"""Buffers allocated once: small intermediate results written with ``out=`` on every replay.

On a small array most of a numpy call's cost is overhead, and making the
result array is part of it: ``np.add(a, b, buf)`` is ~50 ns faster than
``np.add(a, b)`` on a 4x4 array, ``a.dot(w, buf)`` ~100-190 ns faster than
``a.dot(w)``. The program gives each small intermediate result its own
buffer, made once when the program is built, and passes it as the call's
output.

Exact: a ufunc writes the same values wherever its output lives, and
``ndarray.dot`` with ``out`` runs the same BLAS call into it. Each buffer has
the layout (strides) of the array the recording got, so later calls that read
it (a product summing in memory order) see the same memory layout.

Safe: only results nobody can hold after the call get a buffer. Not one that
is written, returned, bound to a ``.data`` or ``.grad`` or given to an
optimizer, nor anything such an array may be a view of (codegen's
``_escaping``); not scalars; not reductions (their 0-d results would change
kind). Above 16 KiB, allocation is a small part of a call, and a buffer held
between calls would be memory the eager step frees: those are not buffered.
Two threads replaying one program at once would share the buffers: the
program takes a lock without waiting, and a call that finds it taken runs
the same program without buffers.
"""
from __future__ import annotations

import numpy as np

__all__ = ["buffer_plan", "MAX_BYTES"]

MAX_BYTES = 1 << 14


def buffer_plan(ops, escaping, values):
    """``{slot: buffer}`` for the calls of ``ops`` whose single fresh result may be written
    into a buffer (see the module docstring); ``escaping``: the slots that must stay
    fresh arrays; ``values``: the recorded value of each slot."""
    plan = {}
    for op in ops:
        i = op.outs
        if op.kind != "call" or type(i) is not int or i in escaping or op.scalar or op.writes \
                or op.kwargs or i >= len(values):
            continue
        v = values[i]
        if type(v) is not np.ndarray and not isinstance(v, np.ndarray):
            continue
        if v.ndim == 0 or not 0 < v.nbytes < MAX_BYTES:
            continue
        fn = op.fn
        if isinstance(fn, np.ufunc) and fn.nout == 1 and len(op.args) == fn.nin \
                and fn.signature is None:
            buf = np.empty_like(np.ndarray.view(v, np.ndarray))  # (keeps a C or F layout)
        elif fn is np.ndarray.dot and len(op.args) == 2 and v.flags.c_contiguous:
            buf = np.empty(v.shape, v.dtype)  # dot's out must be C-contiguous
        else:
            continue
        if buf.strides == v.strides and buf.dtype == v.dtype:
            plan[i] = buf
    return plan
