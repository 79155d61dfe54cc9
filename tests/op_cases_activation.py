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


_ = GAP
