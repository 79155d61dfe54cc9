"""Harness cases for ``ops/conv.py`` and ``ops/pool.py`` (convolution, im2col, pooling).

Small shapes (N 0-2, C 1-3, H/W 3-5) and every option: stride, padding
(ints, pairs, 'same', 'valid'), dilation, groups (incl. depthwise),
output_padding, ceil_mode, count_include_pad, divisor_override, adaptive
sizes that do not divide. Max pooling draws pairwise GAP-apart values, so no
window has a tie (finite differences across a tie measure nothing).
"""
from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from op_cases import case, gapped_leaves, leaf

from tinygrad_edu.nn import functional as F
from tinygrad_edu.ops.pool import _pool_out


def _out(size, k, s, d, p0, p1=None):
    return (size + p0 + (p0 if p1 is None else p1) - d * (k - 1) - 1) // s + 1


def _conv_case(draw, dtype, nd, transposed):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cg, og = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    if groups == 3:
        cg = og = 1  # depthwise
    n = draw(st.integers(0, 2))
    spatial = tuple(draw(st.integers(3, 5)) for _ in range(nd))
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    pad_kind = draw(st.sampled_from(["int", "tuple", "same", "valid"] if not transposed else ["int", "tuple"]))
    if pad_kind == "same" and any(x != 1 for x in s):
        pad_kind = "tuple"
    if pad_kind == "int":
        padding = draw(st.integers(0, 2))
        pads = (padding,) * nd
    elif pad_kind == "tuple":
        pads = padding = tuple(draw(st.integers(0, 2)) for _ in range(nd))
    else:
        padding, pads = pad_kind, ((0,) * nd if pad_kind == "valid" else None)
    batch = (n,) if draw(st.booleans()) or n != 1 else ()
    if not transposed:
        if pads is not None:
            assume(all(_out(i, kk, ss, dd, p) >= 1 for i, kk, ss, dd, p in zip(spatial, k, s, d, pads)))
        x = leaf(draw, batch + (groups * cg,) + spatial, dtype)
        w = leaf(draw, (groups * og, cg) + k, dtype)
        b = leaf(draw, (groups * og,), dtype) if draw(st.booleans()) else None
        fn = F.conv2d if nd == 2 else F.conv1d
        return (lambda x, w, *b: fn(x, w, *b, stride=s, padding=padding, dilation=d, groups=groups),
                (x, w) + ((b,) if b is not None else ()))
    opad = tuple(draw(st.integers(0, max(ss, dd) - 1)) for ss, dd in zip(s, d))
    assume(all((i - 1) * ss - 2 * p + dd * (kk - 1) + q + 1 >= 1
               for i, ss, p, dd, kk, q in zip(spatial, s, pads, d, k, opad)))
    x = leaf(draw, batch + (groups * cg,) + spatial, dtype)
    w = leaf(draw, (groups * cg, og) + k, dtype)
    b = leaf(draw, (groups * og,), dtype) if draw(st.booleans()) else None
    fn = F.conv_transpose2d if nd == 2 else F.conv_transpose1d
    return (lambda x, w, *b: fn(x, w, *b, stride=s, padding=padding, output_padding=opad,
                                groups=groups, dilation=d),
            (x, w) + ((b,) if b is not None else ()))


@case("conv2d")
def _conv2d(draw, dtype):
    return _conv_case(draw, dtype, 2, False)


@case("conv1d")
def _conv1d(draw, dtype):
    return _conv_case(draw, dtype, 1, False)


@case("conv_transpose2d")
def _conv_t2d(draw, dtype):
    return _conv_case(draw, dtype, 2, True)


@case("conv_transpose1d")
def _conv_t1d(draw, dtype):
    return _conv_case(draw, dtype, 1, True)


def _window_args(draw):
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    return k, d, p, s


@case("unfold")
def _unfold(draw, dtype):
    k, d, p, s = _window_args(draw)
    h, w = draw(st.integers(3, 5)), draw(st.integers(3, 5))
    assume(_out(h, k[0], s[0], d[0], p[0]) >= 1 and _out(w, k[1], s[1], d[1], p[1]) >= 1)
    x = leaf(draw, (draw(st.integers(0, 2)), draw(st.integers(1, 3)), h, w), dtype)
    return (lambda x: F.unfold(x, k, dilation=d, padding=p, stride=s)), (x,)


@case("fold")
def _fold(draw, dtype):
    k, d, p, s = _window_args(draw)
    h, w = draw(st.integers(3, 5)), draw(st.integers(3, 5))
    oh, ow = _out(h, k[0], s[0], d[0], p[0]), _out(w, k[1], s[1], d[1], p[1])
    assume(oh >= 1 and ow >= 1)
    x = leaf(draw, (draw(st.integers(0, 2)), draw(st.integers(1, 2)) * k[0] * k[1], oh * ow), dtype)
    return (lambda x: F.fold(x, (h, w), k, dilation=d, padding=p, stride=s)), (x,)


def _pool_args(draw, nd, dilation=True):
    k = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(draw(st.integers(0, kk // 2)) for kk in k)
    d = tuple(draw(st.integers(1, 2)) if dilation else 1 for _ in range(nd))
    return k, s, p, d, draw(st.booleans())


def _pool_shape(draw, nd, k, s, p, d, ceil):
    spatial = tuple(draw(st.integers(3, 4)) for _ in range(nd))
    assume(all(_pool_out(i, kk, ss, pp, dd, ceil) >= 1 for i, kk, ss, pp, dd in zip(spatial, k, s, p, d)))
    return (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + spatial


def _max_pool_case(nd):
    @case(f"max_pool{nd}d")
    def build(draw, dtype):
        k, s, p, d, ceil = _pool_args(draw, nd)
        _, (x,) = gapped_leaves(draw, [_pool_shape(draw, nd, k, s, p, d, ceil)], dtype)
        fn = F.max_pool2d if nd == 2 else F.max_pool1d
        return (lambda x: fn(x, k, s, p, d, ceil_mode=ceil)), (x,)


_max_pool_case(1)
_max_pool_case(2)


def _avg_pool_case(nd):
    @case(f"avg_pool{nd}d")
    def build(draw, dtype):
        k, s, p, _, ceil = _pool_args(draw, nd, dilation=False)
        x = leaf(draw, _pool_shape(draw, nd, k, s, p, (1,) * nd, ceil), dtype)
        include = draw(st.booleans())
        if nd == 1:
            return (lambda x: F.avg_pool1d(x, k, s, p, ceil, include)), (x,)
        div = draw(st.sampled_from([None, None, 3]))
        return (lambda x: F.avg_pool2d(x, k, s, p, ceil, include, div)), (x,)


_avg_pool_case(1)
_avg_pool_case(2)


def _adaptive_case(nd, kind):
    @case(f"adaptive_{kind}_pool{nd}d")
    def build(draw, dtype):
        spatial = tuple(draw(st.integers(3, 5)) for _ in range(nd))
        size = tuple(draw(st.sampled_from([None, 1, 2, 3, 4])) for _ in range(nd))
        shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + spatial
        fn = getattr(F, f"adaptive_{kind}_pool{nd}d")
        if kind == "max":
            _, (x,) = gapped_leaves(draw, [shape], dtype)
        else:
            x = leaf(draw, shape, dtype)
        return (lambda x: fn(x, size if nd == 2 else size[0])), (x,)


for _nd in (1, 2):
    for _kind in ("avg", "max"):
        _adaptive_case(_nd, _kind)
