"""Normalisation layers' functions: layer_norm, rms_norm, group_norm, batch_norm, instance_norm.

Names and signatures follow ``torch.nn.functional``. Each normaliser is ONE
recorded op, :func:`_normalize`, with a closed-form backward rule instead of
a chain of recorded means, subtractions and square roots. With
``x_hat = (x - mean) / sigma`` over the normalised axes (``sigma =
sqrt(var + eps)``, biased variance), ``y = x_hat * weight + bias`` and
``h = g * weight`` (g the incoming gradient), the rule is

    dx = (h - mean(h) - x_hat * mean(h * x_hat)) / sigma
    dweight = sum(g * x_hat),   dbias = sum(g)

(the standard batch/layer-norm backward: Ioffe & Szegedy 2015, "Batch
Normalization", section 3; Ba, Kiros & Hinton 2016, "Layer Normalization").
RMS norm (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization")
does not centre: ``x_hat = x / sqrt(mean(x^2) + eps)`` and
``dx = (h - x_hat * mean(h * x_hat)) / sigma``.

The rule is written with numpy functions and Tensor methods only; under
``create_graph=True`` it recomputes ``x_hat`` and ``sigma`` from the input
Tensor, so the backward is itself recorded and second derivatives are exact.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, describe

NN_FUNCTIONAL = ["layer_norm", "rms_norm", "group_norm", "batch_norm", "instance_norm"]


class _Plan(NamedTuple):
    """How :func:`_normalize` sees its input.

    ``vshape``: the input reshaped for the statistics (group norm splits C
    into (G, C/G)); ``axes``: the axes of ``vshape`` the statistics run over;
    ``pshape``: weight/bias reshaped to broadcast against ``vshape``;
    ``psum``: the axes of ``vshape`` summed for the parameters' gradients;
    ``center``: subtract the mean (False: RMS norm).
    """

    vshape: tuple
    axes: tuple
    pshape: tuple
    psum: tuple
    eps: float
    center: bool


def _stats(xv, plan):
    """``(x_hat, 1/sigma)`` of ``xv`` (already in ``plan.vshape``); arrays or Tensors alike."""
    n = max(1, math.prod(plan.vshape[a] for a in plan.axes))  # n = 0 only for an empty output
    if plan.center:
        xc = xv - xv.sum(axis=plan.axes, keepdims=True) / n
    else:
        xc = xv
    rstd = 1 / np.sqrt((xc * xc).sum(axis=plan.axes, keepdims=True) / n + plan.eps)
    return xc * rstd, rstd


def _normalize(x, weight, bias, plan):
    """``x_hat * weight + bias`` with ``x_hat`` normalised as ``plan`` says: one recorded op."""
    xv = x.data.reshape(plan.vshape)
    xhat, rstd = _stats(xv, plan)
    y = xhat
    if weight is not None:
        y = y * weight.data.reshape(plan.pshape)
    if bias is not None:
        y = y + bias.data.reshape(plan.pshape)
    if y is xhat:  # no affine: the output must not share the saved x_hat's memory
        y = xhat.copy()
    return record(y.reshape(x.shape), _normalize_backward, (x, weight, bias), (plan, xhat, rstd))


@backward_rule("normalize")
def _normalize_backward(g, out, inputs, saved, needs):
    x, weight, bias = inputs
    plan, xhat, rstd = saved
    if isinstance(x, Tensor):  # create_graph: x_hat and sigma as recorded functions of x
        xhat, rstd = _stats(x.reshape(plan.vshape), plan)
    gv = g.reshape(plan.vshape)
    gx = gw = gb = None
    if needs[0]:
        n = max(1, math.prod(plan.vshape[a] for a in plan.axes))
        h = gv if weight is None else gv * weight.reshape(plan.pshape)
        proj = xhat * ((h * xhat).sum(axis=plan.axes, keepdims=True) / n)
        if plan.center:
            gx = (h - h.sum(axis=plan.axes, keepdims=True) / n - proj) * rstd
        else:
            gx = (h - proj) * rstd
        gx = gx.reshape(x.shape)
    if needs[1]:
        gw = (gv * xhat).sum(axis=plan.psum).reshape(weight.shape)
    if needs[2]:
        gb = gv.sum(axis=plan.psum).reshape(bias.shape)
    return gx, gw, gb


# ---- argument checks ---------------------------------------------------------------
def _float_input(op, x):
    x = as_operand(op, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {describe(x)}")
    return x


def _param(op, name, p, shape):
    """``p`` (weight or bias) as a Tensor of exactly ``shape``, or None."""
    if p is None:
        return None
    p = as_operand(op, p)
    if p.shape != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {tuple(shape)}, got {p.shape}")
    return p


def _as_shape(op, normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        return (int(normalized_shape),)
    try:
        shape = tuple(int(n) for n in normalized_shape)
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, "
                        f"got {normalized_shape!r}") from None
    if not shape:
        raise ValueError(f"{op}: normalized_shape must name at least one axis, got {normalized_shape!r}")
    return shape


def _trailing_plan(op, x, normalized_shape, eps, center):
    shape = _as_shape(op, normalized_shape)
    k = len(shape)
    if x.shape[x.ndim - k:] != shape or x.ndim < k:
        raise ValueError(f"{op}: given normalized_shape={list(shape)}, expected input with shape "
                         f"[*, {', '.join(map(str, shape))}], but got input of shape {x.shape}")
    axes = tuple(range(x.ndim - k, x.ndim))
    return shape, _Plan(x.shape, axes, shape, tuple(range(x.ndim - k)), float(eps), center)


# ---- the functions ------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Layer normalisation (Ba, Kiros & Hinton 2016), as ``torch.nn.functional.layer_norm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with mean and
    biased variance over the last ``len(normalized_shape)`` axes.

    Args:
        input: float Tensor or array of shape ``(*, *normalized_shape)``.
        normalized_shape: int or tuple: the trailing axes normalised.
        weight, bias: None or Tensors of shape ``normalized_shape``.
        eps: added to the variance.

    Returns a Tensor of ``input``'s shape and dtype.

    Raises ValueError when the trailing axes of ``input`` are not
    ``normalized_shape`` or weight/bias have another shape; TypeError for a
    non-float input.
    """
    x = _float_input("layer_norm", input)
    shape, plan = _trailing_plan("layer_norm", x, normalized_shape, eps, True)
    return _normalize(x, _param("layer_norm", "weight", weight, shape),
                      _param("layer_norm", "bias", bias, shape), plan)


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None):
    """Root-mean-square normalisation (Zhang & Sennrich 2019), as ``torch.nn.functional.rms_norm``.

    ``y = x / sqrt(mean(x^2) + eps) * weight`` over the last
    ``len(normalized_shape)`` axes (no centring, no bias). ``eps=None``
    means ``np.finfo(input.dtype).eps``, PyTorch's default.

    Shapes, errors: as :func:`layer_norm`.
    """
    x = _float_input("rms_norm", input)
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    shape, plan = _trailing_plan("rms_norm", x, normalized_shape, eps, False)
    return _normalize(x, _param("rms_norm", "weight", weight, shape), None, plan)


def _channels(op, x, min_ndim=2):
    if x.ndim < min_ndim:
        raise ValueError(f"{op}: expected an input of shape (N, C, ...) with at least {min_ndim} "
                         f"dimensions, got {x.shape}")
    return x.shape[1]


def _channel_plan(x, axes, eps):
    rest = (1,) * (x.ndim - 2)
    psum = (0,) + tuple(range(2, x.ndim))
    return _Plan(x.shape, axes, (x.shape[1],) + rest, psum, float(eps), True)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5):
    """Group normalisation (Wu & He 2018), as ``torch.nn.functional.group_norm``.

    The C channels of ``(N, C, *)`` are split into ``num_groups`` groups of
    C / num_groups consecutive channels; each sample's group is normalised
    over its channels and spatial positions (biased variance), then
    ``weight``/``bias`` of shape ``(C,)`` scale and shift each channel.
    ``num_groups = 1`` is layer norm over ``(C, *)``; ``num_groups = C`` is
    instance norm.

    Raises ValueError when C is not divisible by ``num_groups``, the input
    has fewer than 2 axes, or weight/bias are not ``(C,)``.
    """
    x = _float_input("group_norm", input)
    c = _channels("group_norm", x)
    if isinstance(num_groups, bool) or not isinstance(num_groups, (int, np.integer)) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if c % num_groups:
        raise ValueError(f"group_norm: expected the number of channels to be divisible by "
                         f"num_groups, but got input of shape {x.shape} and num_groups={num_groups}")
    gs, rest = int(num_groups), x.shape[2:]
    vshape = (x.shape[0], gs, c // gs) + rest
    axes = tuple(range(2, len(vshape)))
    psum = (0,) + tuple(range(3, len(vshape)))
    plan = _Plan(vshape, axes, (gs, c // gs) + (1,) * len(rest), psum, float(eps), True)
    return _normalize(x, _param("group_norm", "weight", weight, (c,)),
                      _param("group_norm", "bias", bias, (c,)), plan)


def _running(op, name, t, c):
    """A running-statistics array of shape (C,), to be updated in place."""
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray) or arr.shape != (c,):
        raise ValueError(f"{op}: {name} must be an array or Tensor of shape ({c},), "
                         f"got {type(t).__name__} of shape {np.shape(arr)}")
    return arr


def _affine_constant(x, mean, var, weight, bias, eps):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` with constant per-channel statistics."""
    cshape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    dtype = x.dtype
    invstd = (1 / np.sqrt(var + eps)).astype(dtype).reshape(cshape)
    y = (x - mean.astype(dtype).reshape(cshape)) * invstd
    if weight is not None:
        y = y * weight.reshape(cshape)
    if bias is not None:
        y = y + bias.reshape(cshape)
    return y


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalisation (Ioffe & Szegedy 2015), as ``torch.nn.functional.batch_norm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel (axis 1)
    of an input ``(N, C, *)`` of any rank >= 2.

    In training, ``mean`` and ``var`` are the batch statistics over every axis
    but 1, with the *biased* variance (divide by n); the gradient flows
    through them (one fused op). The running statistics, if given, are
    updated in place as ``running = (1 - momentum) * running + momentum *
    batch`` where the variance used is the *unbiased* one (divide by n - 1),
    exactly as PyTorch. Not in training, ``mean``/``var`` are
    ``running_mean``/``running_var`` (constants).

    Args:
        input: ``(N, C, *)`` float Tensor or array.
        running_mean, running_var: arrays or Tensors of shape ``(C,)``, or
            None (then ``training`` must be True).
        weight, bias: ``(C,)`` Tensors (learnable scale and shift) or None.
        training: use batch statistics and update the running ones.
        momentum: weight of the new batch in the running averages.
        eps: added to the variance for stability.

    Raises:
        ValueError: input has fewer than 2 axes; a running statistic, weight
            or bias has the wrong shape; training with one value per channel
            (its variance is undefined; an empty batch gives an empty result); not training without running
            statistics. Nothing is updated when an error is raised.
    """
    x = _float_input("batch_norm", input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    c = x.shape[1]
    rm = None if running_mean is None else _running("batch_norm", "running_mean", running_mean, c)
    rv = None if running_var is None else _running("batch_norm", "running_var", running_var, c)
    weight = _param("batch_norm", "weight", weight, (c,))
    bias = _param("batch_norm", "bias", bias, (c,))
    if not training:
        if rm is None or rv is None:
            raise ValueError("batch_norm: running_mean and running_var are required when training=False")
        return _affine_constant(x, rm, rv, weight, bias, eps)
    n = math.prod(x.shape[:1] + x.shape[2:])
    if n == 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    y = _normalize(x, weight, bias, _channel_plan(x, axes, eps))
    if n == 0:  # an empty batch: an empty result, running statistics unchanged (PyTorch's)
        return y
    # Only now that nothing can fail: update the running statistics in place.
    keep = 1 - momentum
    if isinstance(momentum, np.ndarray):
        # a 0-d float64 (BatchNorm's cumulative average while a jit records): cast as numpy
        # casts a Python float operand, so the update is the eager one bit for bit
        dt = (rm if rm is not None else rv).dtype
        keep, momentum = keep.astype(dt), momentum.astype(dt)
    if rm is not None:
        rm[...] = keep * rm + momentum * x.data.mean(axis=axes)
    if rv is not None:
        rv[...] = keep * rv + momentum * x.data.var(axis=axes, ddof=1)
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats: bool = True, momentum: float = 0.1, eps: float = 1e-5):
    """Instance normalisation (Ulyanov et al. 2016), as ``torch.nn.functional.instance_norm``.

    Each sample's channel of ``(N, C, *)`` is normalised over its spatial
    axes (biased variance), then scaled and shifted by ``(C,)``
    weight/bias. With ``use_input_stats`` (the default) the running
    statistics, if given, are updated in place with the batch average of the
    per-instance means and unbiased variances, as PyTorch; with
    ``use_input_stats=False`` the running statistics normalise instead
    (constants).

    Raises ValueError for fewer than 3 axes, a single spatial value per
    instance when using input statistics, parameters or running statistics
    not of shape ``(C,)``, or ``use_input_stats=False`` without running
    statistics.
    """
    x = _float_input("instance_norm", input)
    c = _channels("instance_norm", x, 3)
    rm = None if running_mean is None else _running("instance_norm", "running_mean", running_mean, c)
    rv = None if running_var is None else _running("instance_norm", "running_var", running_var, c)
    weight = _param("instance_norm", "weight", weight, (c,))
    bias = _param("instance_norm", "bias", bias, (c,))
    if not use_input_stats:
        if rm is None or rv is None:
            raise ValueError("instance_norm: running_mean and running_var are required when "
                             "use_input_stats=False")
        return _affine_constant(x, rm, rv, weight, bias, eps)
    axes = tuple(range(2, x.ndim))
    if math.prod(x.shape[2:]) <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, "
                         f"got input of shape {x.shape}")
    y = _normalize(x, weight, bias, _channel_plan(x, axes, eps))
    if x.shape[0]:
        if rm is not None:
            rm[...] = (1 - momentum) * rm + momentum * x.data.mean(axis=axes).mean(axis=0)
        if rv is not None:
            rv[...] = (1 - momentum) * rv + momentum * x.data.var(axis=axes, ddof=1).mean(axis=0)
    return y
