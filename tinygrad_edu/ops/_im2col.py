"""im2col and col2im: the adjoint pair of recorded ops under convolution and pooling.

``im2col`` copies every kernel window of a (padded) NCHW image out of a strided
view into columns ``(G, N, oh, ow, kh, kw, C/G)``; ``col2im`` adds columns back
into an image, overlapping windows summed. Each is the other's backward
(the pattern of ``ops/shape.py``'s getitem/index_add), so graphs built from
them are differentiable any number of times. Also here: the window geometry
shared by ``ops/conv.py`` and ``ops/pool.py``, and the scratch arrays.
"""
from __future__ import annotations

import numbers
import threading
from typing import NamedTuple

import numpy as np
from .._jit.traced import as_strided

from .._mode import mode as _mode
from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import ascontiguousarray


# ---- geometry ------------------------------------------------------------------
class Geom(NamedTuple):
    """Where the windows lie: an image of ``C`` channels and size ``H x W``, padded by
    ``pt, pb, pl, pr`` (top, bottom, left, right), kernel ``kh x kw`` with strides
    ``sh, sw`` and dilations ``dh, dw``, giving an ``oh x ow`` grid of windows."""

    C: int
    H: int
    W: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pb: int
    pl: int
    pr: int
    oh: int
    ow: int


def tuple_arg(op, name, value, n, minimum):
    """An int or a sequence of ``n`` ints, each ``>= minimum``, as a tuple of ``n`` ints."""
    vals = (value,) * n if isinstance(value, numbers.Integral) else value
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    if (vals is None or len(vals) != n
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in vals)):
        raise TypeError(f"{op}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in vals)


def out_size(size, k, s, d, p0, p1):
    """Number of windows: ``floor((size + p0 + p1 - d*(k-1) - 1) / s) + 1`` (PyTorch's formula)."""
    return (size + p0 + p1 - d * (k - 1) - 1) // s + 1


# ---- scratch memory ------------------------------------------------------------------
# Temporaries of a few MB (padded images, products before their NCHW copy, col2im
# accumulators) are reused from call to call: a fresh array that large is a fresh
# mmap from the C allocator, and its page faults cost as much as the copy that fills
# it (measured: a conv2d forward+backward took twice as long). A scratch array never
# leaves the function that asked for it; results and saved arrays are always fresh.
_scratch = threading.local()
_SCRATCH_KEEP = 32


def scratch(tag, shape, dtype):
    """An uninitialised array of ``shape``/``dtype`` reused across calls with the same
    ``tag`` (per thread). Only for temporaries that no caller ever sees."""
    if _mode.tracing is not None:  # a jit recording: a fresh buffer, a slot of the program
        return np.empty(shape, dtype)
    cache = getattr(_scratch, "cache", None)
    if cache is None:
        cache = _scratch.cache = {}
    key = (tag, shape, np.dtype(dtype))
    buf = cache.pop(key, None)
    if buf is None:
        buf = np.empty(shape, dtype)
        if len(cache) >= _SCRATCH_KEEP:
            cache.pop(next(iter(cache)))  # the least recently used
    cache[key] = buf
    return buf


# ---- im2col / col2im: an adjoint pair of recorded ops --------------------------
# The columns are kept channels-last, (G, N, oh, ow, kh, kw, C/G): the copy out of a
# channels-last padded image then moves runs of kw*C contiguous values, and col2im
# adds contiguous (ow, C) blocks; with NCHW columns both move runs of ow values only,
# and were 3-5x slower at CNN sizes.
def _padded_nhwc(x, g, fill):
    """``x`` (N, C, H, W) as a channels-last (N, Hp, Wp, C) copy inside a border of ``fill``."""
    n = x.shape[0]
    hp, wp = g.H + g.pt + g.pb, g.W + g.pl + g.pr
    if hp == g.H and wp == g.W:
        return ascontiguousarray(x.transpose(0, 2, 3, 1))
    xp = scratch("padded", (n, hp, wp, g.C), x.dtype)
    if g.pt:  # only the border is filled: the inside is overwritten next
        xp[:, :g.pt] = fill
    if g.pb:
        xp[:, g.pt + g.H:] = fill
    if g.pl:
        xp[:, :, :g.pl] = fill
    if g.pr:
        xp[:, :, g.pl + g.W:] = fill
    xp[:, g.pt:g.pt + g.H, g.pl:g.pl + g.W] = x.transpose(0, 2, 3, 1)
    return xp


def _im2col_array(x, g, groups=1, fill=0):
    xp = _padded_nhwc(x, g, fill)
    sn, sy, sx, sc = xp.strides
    cg = g.C // groups
    view = as_strided(xp, (groups, xp.shape[0], g.oh, g.ow, g.kh, g.kw, cg),
                      (sc * cg, sn, g.sh * sy, g.sw * sx, g.dh * sy, g.dw * sx, sc), writeable=False)
    return view.copy()  # one strided gather into a C-order block


def _col2im_array(cols, g):
    groups, n = cols.shape[:2]
    hp, wp = g.H + g.pt + g.pb, g.W + g.pl + g.pr
    xp = scratch("col2im", (n, hp, wp, g.C), cols.dtype)
    xp.fill(0)
    xt = xp.reshape(n, hp, wp, groups, g.C // groups).transpose(3, 0, 1, 2, 4)
    ye, xe = g.sh * (g.oh - 1) + 1, g.sw * (g.ow - 1) + 1
    for i in range(g.kh):  # one strided add per kernel offset: overlapping windows add up
        for j in range(g.kw):
            y0, x0 = i * g.dh, j * g.dw
            xt[:, :, y0:y0 + ye:g.sh, x0:x0 + xe:g.sw] += cols[:, :, :, :, i, j]
    out = np.empty((n, g.C, g.H, g.W), dtype=cols.dtype)
    np.copyto(out, xp[:, g.pt:g.pt + g.H, g.pl:g.pl + g.W].transpose(0, 3, 1, 2))
    return out


def im2col(x, g, groups=1, fill=0):
    """Columns ``(G, N, oh, ow, kh, kw, C/G)`` of image ``x`` (N, C, H, W) under geometry ``g``.

    ``G = groups`` splits the channels. The padding holds ``fill`` (0; -inf
    for max pooling) and gets no gradient. On a Tensor the op is recorded
    (backward: :func:`col2im`); on an array it returns an array (the fast
    path of backward rules).
    """
    if isinstance(x, Tensor):
        return record(_im2col_array(x.data, g, groups, fill), _im2col_backward, (x,), g)
    return _im2col_array(x, g, groups, fill)


def col2im(cols, g):
    """Image ``(N, C, H, W)`` from columns ``(G, N, oh, ow, kh, kw, C/G)``, overlaps
    added: the adjoint of :func:`im2col` (recorded on Tensors; backward: im2col).
    ``cols`` may be any strided view: the adds follow its memory layout."""
    if isinstance(cols, Tensor):
        return record(_col2im_array(cols.data, g), _col2im_backward, (cols,), (g, cols.shape[0]))
    return _col2im_array(cols, g)


@backward_rule("im2col")
def _im2col_backward(grad, out, inputs, g, needs):
    return (col2im(grad, g),)


@backward_rule("col2im")
def _col2im_backward(grad, out, inputs, saved, needs):
    return (im2col(grad, *saved),)
