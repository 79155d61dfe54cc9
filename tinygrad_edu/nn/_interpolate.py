"""``interpolate``: resize (N, C, L) or (N, C, H, W) inputs, as ``torch.nn.functional.interpolate``.

Resizing is separable: each spatial axis is resampled on its own, by picking
source positions (``nearest``) or by mixing the two neighbours of each
source position (``linear``; ``bilinear`` is linear along H, then along W).
The source positions are PyTorch's (``aten/src/ATen/native/UpSample.h``):

* ``nearest``: ``src = min(floor(dst * scale), in - 1)``;
* ``nearest-exact``: ``src = min(floor((dst + 0.5) * scale), in - 1)``;
* ``linear``, ``align_corners=False``: ``src = max((dst + 0.5) * scale - 0.5, 0)``;
* ``linear``, ``align_corners=True``: ``src = dst * (in - 1) / (out - 1)``;

with ``scale = in / out``, or ``1 / scale_factor`` when a scale factor is
given (and ``recompute_scale_factor`` is not set). PyTorch's CPU kernels
(2.13) ignore the factor on some axes, and so do we: an axis whose size does
not change is copied in the linear modes and in 2-D ``nearest``, and 2-D
``nearest`` doubling an axis takes ``src = dst // 2`` (``scale_factor=1.3``
on 3 pixels gives 3 pixels, the input itself, not a resampling by 1/1.3). Picking is indexing and
mixing is multiply-add, so gradients (to the input only) and second
derivatives come from those ops: the gradient of a source element is the sum
over the outputs that used it, weighted as they used it.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops.shape import getitem
from ..tensor import Tensor

__all__ = ["interpolate"]
from ..ops._common import asarray as _asarray


_MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "linear": (1,), "bilinear": (2,),
          "trilinear": (3,)}


def _sizes(op, spatial, size, scale_factor, recompute):
    """Output sizes and the scale used for source positions, per spatial axis."""
    n = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    if size is not None:
        out = [int(size)] * n if np.ndim(size) == 0 else [int(s) for s in size]
        if len(out) != n:
            raise ValueError(f"{op}: size {size} must have {n} entries for {n} spatial axes")
        scales = [i / o if o else 0.0 for i, o in zip(spatial, out)]
    else:
        factors = [float(scale_factor)] * n if np.ndim(scale_factor) == 0 else [float(f) for f in scale_factor]
        if len(factors) != n:
            raise ValueError(f"{op}: scale_factor {scale_factor} must have {n} entries for {n} spatial axes")
        if any(not f > 0 for f in factors):
            raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor}")
        out = [int(math.floor(i * f)) for i, f in zip(spatial, factors)]
        scales = ([i / o if o else 0.0 for i, o in zip(spatial, out)] if recompute
                  else [1.0 / f for f in factors])
    if any(o <= 0 for o in out):
        raise ValueError(f"{op}: the output size {tuple(out)} must be positive (input spatial {spatial})")
    return out, scales


def _take(x, axis, idx):
    return getitem(x, (slice(None),) * axis + (idx,))


def _nearest(x, axis, n_in, n_out, scale, exact):
    dst = np.arange(n_out, dtype=np.float64)
    src = np.floor((dst + 0.5) * scale if exact else dst * scale).astype(np.intp)
    return _take(x, axis, np.minimum(src, n_in - 1))


def _linear(x, axis, n_in, n_out, scale, align_corners):
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.intp), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = (src - i0).astype(x.dtype).reshape((n_out,) + (1,) * (x.ndim - axis - 1))
    return _take(x, axis, i0) * (1 - lam) + _take(x, axis, i1) * lam


def interpolate(input, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                recompute_scale_factor=None, antialias: bool = False):
    """Resize the spatial axes of ``input`` (``torch.nn.functional.interpolate``).

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``, floating point.
        size: the output spatial size (an int for every axis, or one per axis).
        scale_factor: multiplier of the spatial size (a number or one per axis);
            exactly one of ``size`` and ``scale_factor``.
        mode: ``'nearest'`` (PyTorch's default and its legacy rounding),
            ``'nearest-exact'``, ``'linear'`` (3-D input), ``'bilinear'``
            (4-D), ``'trilinear'`` (5-D).
        align_corners: linear modes only: map corner pixel centres onto each
            other (True) or pixel edges (False, the default).
        recompute_scale_factor: with ``scale_factor``, compute source
            positions from the rounded output size instead of the factor.

    Returns a Tensor ``(N, C, *size)`` of the input's dtype.

    Raises:
        ValueError: an unknown mode or one that does not fit the input's rank,
            ``align_corners`` with a nearest mode, both or neither of ``size``
            and ``scale_factor``, a non-positive output size.
        NotImplementedError: ``antialias=True`` or modes 'bicubic' and 'area'
            (use ``adaptive_avg_pool2d`` for 'area').
    """
    op = "interpolate"
    x = input if isinstance(input, Tensor) else Tensor._wrap(_asarray(input))
    if mode in ("bicubic", "area") or antialias:
        raise NotImplementedError(f"{op}: mode={mode!r}, antialias={antialias} are not implemented; "
                                  "'nearest', 'nearest-exact', 'linear', 'bilinear' and 'trilinear' are")
    if mode not in _MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; expected one of {sorted(_MODES)}")
    spatial_dims = x.ndim - 2
    if spatial_dims not in _MODES[mode]:
        raise ValueError(f"{op}: mode {mode!r} needs a {_MODES[mode][0] + 2}-D input "
                         f"(N, C, spatial...), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise ValueError(f"{op}: input must be floating point, got dtype {x.dtype}")
    linear = mode in ("linear", "bilinear", "trilinear")
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners applies to the linear modes only, not {mode!r}")
    spatial = x.shape[2:]
    out, scales = _sizes(op, spatial, size, scale_factor, bool(recompute_scale_factor))
    for k, (n_in, n_out, scale) in enumerate(zip(spatial, out, scales)):
        axis = k + 2
        # PyTorch's kernels' shortcuts, which do not look at the factor (see the module docstring)
        if n_out == n_in and (linear or (mode == "nearest" and spatial_dims == 2)):
            scale = 1.0
        elif n_out == 2 * n_in and mode == "nearest" and spatial_dims == 2:
            scale = 0.5
        if linear:
            x = _linear(x, axis, n_in, n_out, scale, bool(align_corners))
        else:
            x = _nearest(x, axis, n_in, n_out, scale, mode == "nearest-exact")
    return x
