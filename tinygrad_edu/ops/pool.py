"""Pooling with PyTorch's names, arguments and NCHW layouts: ``max_pool1d/2d``,
``avg_pool1d/2d``, ``adaptive_avg_pool1d/2d``, ``adaptive_max_pool1d/2d``.

Max pooling takes the maximum over each window with one strided slice
comparison per kernel offset (no loops over pixels), keeping the offset of
the winner. **Ties: the whole gradient goes to the first maximum in the
window** (row-major order), PyTorch's rule, which is also the index
``return_indices`` reports. (This differs from ``tinygrad_edu.max``, which
splits the gradient evenly among tied maxima; the pooling rule is
PyTorch's so that results and gradients compare exactly and agree with the
indices.) A NaN in a window is the window's maximum, as in PyTorch.

Average pooling is im2col (``ops/conv.py``) summed over the kernel offsets,
divided by PyTorch's divisor; adaptive pooling uses PyTorch's windows
``start = floor(i*in/out)``, ``end = ceil((i+1)*in/out)``. Both are built
from recorded ops, so they are differentiable twice.
"""
from __future__ import annotations

import functools

import numpy as np
from .._jit.traced import as_strided

from .._mode import mode as _mode
from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand
from ._im2col import Geom, im2col, scratch, tuple_arg
from .elementwise import where
from .shape import getitem, index_add

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"]
NN_FUNCTIONAL = __all__


# ---- shapes ----------------------------------------------------------------------
def _input(op, x, nd):
    x = as_operand(op, x)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input, "
                         f"got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got dtype {x.dtype} (shape {x.shape})")
    lead = (1,) if x.ndim == nd + 1 else x.shape[:1]
    x4 = x if x.ndim == 4 else x.reshape(lead + x.shape[-nd - 1:-nd] + (1,) * (2 - nd) + x.shape[-nd:])

    def back(y):
        if x.ndim == 4 or y is None:
            return y
        keep = y.shape[:1] if x.ndim == nd + 2 else ()
        return y.reshape(keep + y.shape[1:2] + y.shape[4 - nd:])
    return x, x4, back


def _pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's ``pooling_output_shape``: with ceil_mode the last window must start
    inside the input or its left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_geom(op, x, x4, nd, kernel_size, stride, padding, dilation, ceil_mode):
    k = tuple_arg(op, "kernel_size", kernel_size, nd, 1)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        tuple_arg(op, "stride", stride, nd, 1)
    p = tuple_arg(op, "padding", padding, nd, 0)
    d = tuple_arg(op, "dilation", dilation, nd, 1)
    if any(pi > ki // 2 for pi, ki in zip(p, k)):
        raise ValueError(f"{op}: padding {p} must be at most half of kernel_size {k}")
    if nd == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    n, c, h, w = x4.shape
    oh = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: input of shape {x.shape} is too small for kernel_size "
                         f"{k[2 - nd:]}, padding {p[2 - nd:]}, dilation {d[2 - nd:]}: the output "
                         f"size would be {(oh, ow)[2 - nd:]}")
    # ceil_mode windows may reach past the padding: pad the bottom/right further
    pb = max(p[0], (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - h - p[0])
    pr = max(p[1], (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - w - p[1])
    return Geom(c, h, w, k[0], k[1], s[0], s[1], d[0], d[1], p[0], pb, p[1], pr, oh, ow)


# ---- max pooling -------------------------------------------------------------------
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``.

    ``out[n, c, y, x] = max over i < kh, j < kw of xpad[n, c, y*sh + i*dh, x*sw + j*dw]``
    with ``-inf`` padding. Ties: the gradient goes to the first maximum (see
    the module docstring).

    Shapes: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C, oh, ow)`` with
    ``oh = floor((H + 2p - d(k-1) - 1)/s) + 1`` (ceil with ``ceil_mode``, the
    last window starting inside the input or left padding). ``stride``
    defaults to ``kernel_size``. With ``return_indices`` also the int64
    flat indices ``h*W + w`` of the maxima in each input plane (PyTorch's).

    Raises TypeError for a non-float input; ValueError for another rank,
    padding above half the kernel, or an empty output (shapes named).
    """
    return _max_pool("max_pool2d", input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-D max pooling, as ``torch.nn.functional.max_pool1d``: ``(N, C, L)`` or ``(C, L)``
    -> ``(N, C, Lout)``. Arguments, ties and errors as :func:`max_pool2d`."""
    return _max_pool("max_pool1d", input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _max_pool(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, x4, back = _input(op, x, nd)
    g = _pool_geom(op, x, x4, nd, kernel_size, stride, padding, dilation, ceil_mode)
    xv = x4.data
    n, c = xv.shape[:2]
    if g.pt or g.pb or g.pl or g.pr:
        xp = np.full((n, c, g.H + g.pt + g.pb, g.W + g.pl + g.pr), -np.inf, dtype=xv.dtype)
        xp[:, :, g.pt:g.pt + g.H, g.pl:g.pl + g.W] = xv
    else:
        xp = xv
    # One strided copy puts each kernel offset's values in a contiguous block: the
    # comparisons then run over long rows (on the strided views, whose rows are only
    # ow long, each comparison was 10-25x slower).
    k = g.kh * g.kw
    cols = scratch("max_pool", (k, n, c, g.oh, g.ow), xv.dtype)
    np.copyto(cols.reshape(g.kh, g.kw, n, c, g.oh, g.ow), _windows(xp, g, tiled=_tiled(xp, g)))
    # The winner's kernel offset, in the smallest integer type that holds it (flat int64
    # indices are only made for return_indices and create_graph).
    arg = np.zeros((n, c, g.oh, g.ow), dtype=np.uint8 if k <= 256 else np.intp)
    best = cols[0].copy()
    # Recording a jit step: take the NaN-aware path, which gives the same bits when
    # there is no NaN, instead of a branch on the values.
    nan_aware = _mode.tracing is not None or bool(np.isnan(xv).any())
    step = np.empty_like(arg)
    for i in range(1, k):
        v = cols[i]
        better = v > best  # strict: an equal value later in the window loses
        if nan_aware:
            better |= np.isnan(v)  # NaN wins, as in PyTorch (the last NaN of the window)
        np.maximum(best, v, out=best)  # NaN propagates
        # arg = i where better: arg + better*(i - arg), exact in modular integer arithmetic
        # (integer ops on contiguous rows; a masked assignment was 20x slower)
        np.subtract(i, arg, out=step, casting="unsafe")
        np.multiply(step, better, out=step)
        np.add(arg, step, out=arg)
    if xp is not xv and np.isneginf(xv).any():
        arg = _first_real_winner(arg, g)
    out = record(best, _max_pool_backward, (x4,), (arg, g))
    if return_indices:
        return back(out), back(Tensor._wrap(_plane_index(arg, g).astype(np.int64)))
    return back(out)


def _tiled(xp, g):
    """Do the windows tile ``xp`` exactly (stride = kernel, no dilation, no remainder)?"""
    return (g.sh == g.kh and g.sw == g.kw and g.dh == g.dw == 1
            and xp.shape[2] == g.oh * g.kh and xp.shape[3] == g.ow * g.kw)


def _windows(xp, g, writeable=False, tiled=False):
    """The strided view ``(kh, kw, N, C, oh, ow)`` of ``xp`` (N, C, Hp, Wp): no copy.

    ``tiled`` (see :func:`_tiled`): the same view made by reshape and transpose,
    which numpy copies from and into faster."""
    if tiled:
        return xp.reshape(xp.shape[:2] + (g.oh, g.kh, g.ow, g.kw)).transpose(3, 5, 0, 1, 2, 4)
    sn, sc, sy, sx = xp.strides
    return as_strided(xp, (g.kh, g.kw) + xp.shape[:2] + (g.oh, g.ow),
                      (g.dh * sy, g.dw * sx, sn, sc, g.sh * sy, g.sw * sx), writeable=writeable)


def _offset_views(xp, g):
    """For each kernel offset (row-major), the strided view of ``xp`` it sees in every window."""
    ye, xe = g.sh * (g.oh - 1) + 1, g.sw * (g.ow - 1) + 1
    for i in range(g.kh):
        for j in range(g.kw):
            yield xp[:, :, i * g.dh:i * g.dh + ye:g.sh, j * g.dw:j * g.dw + xe:g.sw]


def _first_real_winner(arg, g):
    """Where a -inf input ties with the -inf padding and the padding came first, let the
    window's first real element win instead, as PyTorch (its windows skip the padding)."""
    h = (np.arange(g.oh) * g.sh - g.pt).reshape(-1, 1) + (arg // g.kw) * g.dh
    w = (np.arange(g.ow) * g.sw - g.pl) + (arg % g.kw) * g.dw
    bad = (h < 0) | (h >= g.H) | (w < 0) | (w >= g.W)
    if not bad.any():
        return arg
    i0 = np.maximum(-((np.arange(g.oh) * g.sh - g.pt) // g.dh), 0)  # ceil((pt - y*sh) / dh)
    j0 = np.maximum(-((np.arange(g.ow) * g.sw - g.pl) // g.dw), 0)
    return np.where(bad, i0.reshape(-1, 1) * g.kw + j0, arg).astype(arg.dtype)


def _plane_index(arg, g):
    """Flat index ``h*W + w`` of each winner in its (unpadded) input plane."""
    rows = (np.arange(g.oh) * g.sh - g.pt).reshape(-1, 1) + (arg // g.kw) * g.dh
    cols = (np.arange(g.ow) * g.sw - g.pl) + (arg % g.kw) * g.dw
    return rows * g.W + cols


@backward_rule("max_pool")
def _max_pool_backward(grad, out, inputs, saved, needs):
    arg, g = saved
    n, c = arg.shape[:2]
    if isinstance(grad, Tensor):  # create_graph: a recorded scatter (its backward gathers)
        return (_scatter_max(grad, _flat_index(arg, g), (n, c, g.H, g.W), True),)
    if g.sh < g.dh * (g.kh - 1) + 1 or g.sw < g.dw * (g.kw - 1) + 1:  # windows share elements
        gxp = np.zeros((n, c, g.H + g.pt + g.pb, g.W + g.pl + g.pr), dtype=grad.dtype)
        hit = np.empty(arg.shape, dtype=bool)
        for k, view in enumerate(_offset_views(gxp, g)):
            np.equal(arg, k, out=hit)
            np.add(view, grad, out=view, where=hit)
        return (gxp[:, :, g.pt:g.pt + g.H, g.pl:g.pl + g.W],)
    # Each element is in one window at most: one fancy-index assignment at the winners'
    # flat indices (a strided copy per offset was 10x slower at CNN sizes).
    gx = np.zeros((n, c, g.H, g.W), dtype=grad.dtype)
    gx.reshape(-1)[_flat_index(arg, g, scratch("max_pool_index", arg.shape, np.intp))] = grad.reshape(-1)
    return (gx,)


def _flat_index(arg, g, out=None):
    """Flat index into the whole (unpadded) input of each window's winner (into ``out``).

    Integer arithmetic on the offsets (row ``arg // kw``, column ``arg % kw``): a lookup
    table indexed by ``arg`` (``take``) was 10x slower."""
    flat = np.empty(arg.shape, dtype=np.intp) if out is None else out
    i = arg // g.kw
    np.multiply(i, g.dh * g.W, out=flat, dtype=np.intp)
    j = arg - i * g.kw  # fits arg's dtype: i * kw <= arg
    np.add(flat, j if g.dw == 1 else j.astype(np.intp) * g.dw, out=flat, dtype=np.intp)
    np.add(flat, _window_starts(arg.shape[0], arg.shape[1], g), out=flat)
    return flat.reshape(-1)


@functools.lru_cache(maxsize=16)
def _window_starts(n, c, g):
    """Flat index of each window's first (kernel offset 0) element. The same for every
    step of a training loop: cached (read-only)."""
    base = (np.arange(n * c).reshape(n, c, 1, 1) * (g.H * g.W)
            + ((np.arange(g.oh) * g.sh - g.pt) * g.W).reshape(-1, 1) + (np.arange(g.ow) * g.sw - g.pl))
    base.flags.writeable = False
    return base


def _record_max(values, x4, idx, overlap):
    """Record an adaptive max-pool result; ``idx`` (N, C, oh, ow) indexes each input plane."""
    n, c, h, w = x4.shape
    flat = (np.arange(n * c).reshape(n, c, 1, 1) * (h * w) + idx).reshape(-1)
    return record(values, _adaptive_max_backward, (x4,), (flat, x4.shape, overlap))


@backward_rule("adaptive_max_pool")
def _adaptive_max_backward(grad, out, inputs, saved, needs):
    flat, shape, overlap = saved
    return (_scatter_max(grad, flat, shape, overlap),)


def _scatter_max(grad, flat, shape, overlap):
    """Zeros of ``shape`` with ``grad`` added at the flat positions of the maxima."""
    size = int(np.prod(shape))
    if isinstance(grad, Tensor):  # create_graph: index_add records (its backward gathers)
        return index_add(grad.reshape(-1), flat, (size,)).reshape(shape)
    z = np.zeros(size, dtype=grad.dtype)
    if overlap:  # overlapping windows can pick the same element twice: accumulate
        np.add.at(z, flat, grad.reshape(-1))
    else:
        z[flat] = grad.reshape(-1)
    return z.reshape(shape)


# ---- average pooling ------------------------------------------------------------
def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``.

    Each output is the window's sum (zero padding) divided by PyTorch's
    divisor: ``divisor_override`` if given; else with ``count_include_pad``
    the window's size clipped to the padded input (a ``ceil_mode`` window
    reaching past the padding counts less), without it the number of real
    input elements in the window.

    Shapes: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C, oh, ow)`` as
    :func:`max_pool2d` (no dilation). ``stride`` defaults to ``kernel_size``.

    Raises TypeError for a non-float input; ValueError for another rank,
    padding above half the kernel, an empty output, or a divisor_override of 0.
    """
    return _avg_pool("avg_pool2d", input, 2, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """1-D average pooling, as ``torch.nn.functional.avg_pool1d``: ``(N, C, L)`` or
    ``(C, L)`` -> ``(N, C, Lout)``. Divisor and errors as :func:`avg_pool2d`."""
    return _avg_pool("avg_pool1d", input, 1, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def _divisors(size, k, s, p, n_out, include_pad):
    start = np.arange(n_out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_pool(op, x, nd, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor):
    x, x4, back = _input(op, x, nd)
    g = _pool_geom(op, x, x4, nd, kernel_size, stride, padding, 1, ceil_mode)
    if divisor is not None:
        if isinstance(divisor, bool) or not isinstance(divisor, (int, np.integer)) or divisor == 0:
            raise ValueError(f"{op}: divisor_override must be a nonzero int, got {divisor!r}")
        div = float(divisor)
    else:
        dh = _divisors(g.H, g.kh, g.sh, g.pt, g.oh, count_include_pad)
        dw = _divisors(g.W, g.kw, g.sw, g.pl, g.ow, count_include_pad)
        div = (dh.reshape(-1, 1) * dw).astype(x.dtype)
    n = x4.shape[0]
    sums = im2col(x4, g).sum(axis=(4, 5)).reshape(n, g.oh, g.ow, g.C).transpose(0, 3, 1, 2)
    return back(sums / div)


# ---- adaptive pooling -------------------------------------------------------------
def _adaptive_windows(n_in, n_out):
    """PyTorch's windows: index (n_out, K) clamped into each window, its validity, sizes."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    end = -((-(i + 1) * n_in) // n_out)  # ceil((i+1) * in / out)
    k = int((end - start).max()) if n_out else 0
    idx = start[:, None] + np.arange(k)
    valid = idx < end[:, None]
    return np.minimum(idx, end[:, None] - 1), valid, end - start


def _adaptive_sizes(op, x4, nd, output_size):
    sizes = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or output_size is None \
        else tuple(output_size)
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    ins = x4.shape[4 - nd:]
    sizes = tuple(i if s is None else s for s, i in zip(sizes, ins))
    out = tuple_arg(op, "output_size", sizes, nd, 1)
    return ((1,) + out) if nd == 1 else out


def adaptive_avg_pool2d(input, output_size):
    """2-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output cell ``(i, j)`` averages rows ``floor(i*H/oh) .. ceil((i+1)*H/oh) - 1``
    and the same for columns (windows may overlap and differ in size).
    ``output_size``: an int or a pair; None keeps that input size.

    Shapes: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C, oh, ow)``. Raises
    TypeError/ValueError for a bad ``output_size``, rank or dtype.
    """
    return _adaptive_avg("adaptive_avg_pool2d", input, 2, output_size)


def adaptive_avg_pool1d(input, output_size):
    """1-D adaptive average pooling, as ``torch.nn.functional.adaptive_avg_pool1d``:
    ``(N, C, L)`` or ``(C, L)`` -> ``(N, C, output_size)``."""
    return _adaptive_avg("adaptive_avg_pool1d", input, 1, output_size)


def _adaptive_avg(op, x, nd, output_size):
    x, x4, back = _input(op, x, nd)
    oh, ow = _adaptive_sizes(op, x4, nd, output_size)
    n, c, h, w = x4.shape
    if h % oh == 0 and w % ow == 0:  # equal, disjoint windows: plain average pooling
        k = (h // oh, w // ow)
        return back(_avg_pool(op, x4, 2, k, k, 0, False, True, None))
    rh, vh, sh = _adaptive_windows(h, oh)
    rw, vw, sw = _adaptive_windows(w, ow)
    win = getitem(x4, (slice(None), slice(None), rh[:, None, :, None], rw[None, :, None, :]))
    valid = vh[:, None, :, None] & vw[None, :, None, :]
    sums = where(valid, win, 0).sum(axis=(4, 5))
    return back(sums / (sh.reshape(-1, 1) * sw).astype(x.dtype))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """2-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool2d``.

    Windows as :func:`adaptive_avg_pool2d`; ties and ``return_indices`` as
    :func:`max_pool2d` (gradient to the first maximum in the window).
    Shapes: ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, C, oh, ow)``.
    """
    return _adaptive_max("adaptive_max_pool2d", input, 2, output_size, return_indices)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """1-D adaptive max pooling, as ``torch.nn.functional.adaptive_max_pool1d``:
    ``(N, C, L)`` or ``(C, L)`` -> ``(N, C, output_size)``."""
    return _adaptive_max("adaptive_max_pool1d", input, 1, output_size, return_indices)


def _adaptive_max(op, x, nd, output_size, return_indices):
    x, x4, back = _input(op, x, nd)
    oh, ow = _adaptive_sizes(op, x4, nd, output_size)
    n, c, h, w = x4.shape
    rh, _, _ = _adaptive_windows(h, oh)
    rw, _, _ = _adaptive_windows(w, ow)
    kh, kw = rh.shape[1], rw.shape[1]
    # clamped indices repeat a window's last element: never before its first maximum
    win = x4.data[:, :, rh[:, None, :, None], rw[None, :, None, :]].reshape(n, c, oh, ow, kh * kw)
    nan = np.isnan(win)
    arg = np.where(nan.any(axis=-1), nan.argmax(axis=-1), win.argmax(axis=-1))
    values = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    idx = rh[np.arange(oh)[:, None], arg // kw] * w + rw[np.arange(ow), arg % kw]
    out = _record_max(values, x4, idx, True)
    if return_indices:
        return back(out), back(Tensor._wrap(idx.astype(np.int64)))
    return back(out)
