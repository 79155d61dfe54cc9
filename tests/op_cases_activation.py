"""Harness cases for the activation and normalization families (ops/activation.py,
ops/normalization.py): gradcheck, gradgradcheck and float32 for each.

Activations draw values at least GAP away from their kinks (0, the clip
bounds, +-3 of hardswish, +-lambda of the shrinks); normalisers draw inputs
whose values are pairwise GAP apart (so no group has a variance near 0
unless it has a single element), over normalized shapes of every length,
size-1 groups and size-0 batches included.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_edu as tg
from op_cases import GAP, case, gapped_leaves, leaf, small_shape
from tinygrad_edu.nn import functional as F


# ---- normalisers --------------------------------------------------------------------
def _x(draw, shape, dtype):
    (x,) = gapped_leaves(draw, [shape], dtype)[1]
    return x


def _affine(draw, shape, dtype, with_bias=True):
    """Optional weight/bias leaves of ``shape`` (each present or None)."""
    w = leaf(draw, shape, dtype) if draw(st.booleans()) else None
    b = leaf(draw, shape, dtype) if with_bias and draw(st.booleans()) else None
    return w, b


def _with_params(fn, x, params):
    """``(fn over the Tensors that exist, those Tensors)``: None parameters stay None."""
    present = [p for p in params if p is not None]

    def call(xt, *ps):
        it = iter(ps)
        return fn(xt, *[next(it) if p is not None else None for p in params])
    return call, (x, *present)


@case("layer_norm")
def _layer_norm(draw, dtype):
    shape = small_shape(draw, min_side=1, min_dims=1)
    if draw(st.booleans()) and len(shape) > 1:
        shape = (0,) + shape[1:]  # an empty batch
    k = draw(st.integers(1, len(shape)))
    ns = shape[len(shape) - k:]
    if 0 in ns:
        ns = shape[len(shape) - 1:]
    eps = draw(st.sampled_from([1e-5, 0.1]))
    w, b = _affine(draw, ns, dtype)
    return _with_params(lambda x, w, b: F.layer_norm(x, ns, w, b, eps), _x(draw, shape, dtype), (w, b))


@case("rms_norm")
def _rms_norm(draw, dtype):
    shape = small_shape(draw, min_side=1, min_dims=1)
    k = draw(st.integers(1, len(shape)))
    ns = shape[len(shape) - k:]
    eps = draw(st.sampled_from([None, 0.1]))
    w, _ = _affine(draw, ns, dtype, with_bias=False)
    # values away from 0 so that a size-1 group is not at x = 0 (RMS norm's kink when eps is tiny)
    (x,) = gapped_leaves(draw, [shape], dtype, min_magnitude=0.2)[1]
    return _with_params(lambda x, w: F.rms_norm(x, ns, w, eps), x, (w,))


def _nc_shape(draw, min_spatial=0, max_spatial=2):
    n = draw(st.integers(1, 2))
    c = draw(st.integers(1, 4))
    spatial = tuple(draw(st.lists(st.integers(1, 3), min_size=min_spatial, max_size=max_spatial)))
    return (n, c) + spatial


@case("group_norm")
def _group_norm(draw, dtype):
    shape = _nc_shape(draw)
    c = shape[1]
    groups = draw(st.sampled_from([g for g in range(1, c + 1) if c % g == 0]))
    w, b = _affine(draw, (c,), dtype)
    return _with_params(lambda x, w, b: F.group_norm(x, groups, w, b, 1e-5), _x(draw, shape, dtype), (w, b))


@case("batch_norm (training)")
def _batch_norm(draw, dtype):
    shape = _nc_shape(draw)
    if shape[0] * int(np.prod(shape[2:])) < 2:
        shape = (2,) + shape[1:]
    w, b = _affine(draw, (shape[1],), dtype)
    return _with_params(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                        _x(draw, shape, dtype), (w, b))


@case("batch_norm (eval, running statistics)")
def _batch_norm_eval(draw, dtype):
    shape = _nc_shape(draw)
    c = shape[1]
    rm = np.linspace(-1, 1, c)
    rv = np.linspace(0.5, 2, c)
    w, b = _affine(draw, (c,), dtype)
    return _with_params(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
                        leaf(draw, shape, dtype), (w, b))


@case("instance_norm")
def _instance_norm(draw, dtype):
    shape = _nc_shape(draw, min_spatial=1)
    if int(np.prod(shape[2:])) < 2:
        shape = shape[:2] + (2,)
    w, b = _affine(draw, (shape[1],), dtype)
    return _with_params(lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                        _x(draw, shape, dtype), (w, b))



# ---- activations -----------------------------------------------------------------------
def _smooth(name, fn, **options):
    @case(name)
    def build(draw, dtype):
        return fn, (leaf(draw, small_shape(draw), dtype, **options),)


_smooth("erf", tg.erf, min_value=-3.0, max_value=3.0)
_smooth("erfc", tg.erfc, min_value=-3.0, max_value=3.0)
_smooth("Tensor.erf", lambda t: t.erf())
_smooth("gelu", F.gelu, min_value=-4.0, max_value=4.0)
_smooth("gelu (tanh)", lambda t: F.gelu(t, approximate="tanh"), min_value=-4.0, max_value=4.0)
_smooth("silu", F.silu, min_value=-30.0, max_value=30.0)
_smooth("softplus", F.softplus, min_value=-30.0, max_value=19.0)
_smooth("mish", F.mish, min_value=-30.0, max_value=30.0)
_smooth("logsigmoid", F.logsigmoid, min_value=-30.0, max_value=30.0)
_smooth("tanhshrink", F.tanhshrink, min_value=-4.0, max_value=4.0)
# elu's kink at 0 (alpha != 1), and the jump of the second derivative at 0 of celu and softsign
_smooth("elu", lambda t: F.elu(t, 1.5), min_magnitude=GAP)
_smooth("selu", F.selu, min_magnitude=GAP)
_smooth("celu", lambda t: F.celu(t, 0.5), min_magnitude=GAP)
_smooth("softsign", F.softsign, min_magnitude=GAP, min_value=-5.0, max_value=5.0)


def _kinked(name, fn, kinks, width):
    """Values within ``width`` of a kink but at least GAP from it: ``t + kink`` with |t| >= GAP."""
    @case(name)
    def build(draw, dtype):
        shape = small_shape(draw)
        n = int(np.prod(shape))
        shift = np.array(draw(st.lists(st.sampled_from(kinks), min_size=n, max_size=n)),
                         dtype=dtype).reshape(shape)
        t = leaf(draw, shape, dtype, min_value=-width, max_value=width, min_magnitude=GAP)
        return (lambda a: fn(a + shift)), (t,)


_kinked("softplus (beta, threshold)", lambda t: F.softplus(t, beta=2.0, threshold=1.0), [0.5, -1.0], 1.2)
_kinked("hardtanh", lambda t: F.hardtanh(t, -1.0, 2.0), [-1.0, 2.0], 1.4)
_kinked("relu6", F.relu6, [0.0, 6.0], 2.5)
_kinked("hardswish", F.hardswish, [-3.0, 3.0], 2.5)
_kinked("hardsigmoid", F.hardsigmoid, [-3.0, 3.0], 2.5)
_kinked("softshrink", lambda t: F.softshrink(t, 0.5), [-0.5, 0.5], 0.45)
_kinked("hardshrink", lambda t: F.hardshrink(t, 0.5), [-0.5, 0.5], 0.45)
_kinked("Tensor.hardshrink", lambda t: t.hardshrink(0.5), [-0.5, 0.5], 0.45)


@case("glu")
def _glu(draw, dtype):
    shape = list(small_shape(draw, min_dims=1))
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] = 2 * draw(st.integers(0, 2))
    x = leaf(draw, tuple(shape), dtype, min_value=-4.0, max_value=4.0)
    return (lambda t: F.glu(t, dim)), (x,)


@case("prelu")
def _prelu(draw, dtype):
    shape = small_shape(draw)
    c = shape[1] if len(shape) >= 2 else 1
    wshape = draw(st.sampled_from([(1,), (c,)]))
    x = leaf(draw, shape, dtype, min_magnitude=GAP)
    w = leaf(draw, wshape, dtype)
    return F.prelu, (x, w)
