"""Weight initialisation, with ``torch.nn.init``'s names and formulas.

Every function fills ``t.data`` **in place** (no graph is recorded, the
array object stays the same, so optimizers keep referring to it) and returns
``t``; the write is marked as in tinygrad_edu.inplace, so backward through a
graph recorded before it raises instead of using the new values. ``t`` is a Tensor/Parameter or a numpy array. Random ones take
``rng``: None (fresh entropy), an int seed (same values every time) or a
``np.random.Generator`` (shared: successive calls differ). Values are drawn
in float64 and cast to ``t``'s dtype.

**Fan convention.** This package's ``Linear`` stores its weight as
``(in_features, out_features)``, the transpose of PyTorch's. So for a 2-D
tensor here ``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch:
``shape[1]`` and ``shape[0]``); the fans of a ``Linear`` layer are therefore
the same as PyTorch's for the same layer. A tensor of 3 or more dimensions
is a convolution weight, stored in PyTorch's layout ``(out, in/groups, *kernel)``
(``nn.Conv2d``), so its fans are PyTorch's: ``fan_in = shape[1] * prod(shape[2:])``,
``fan_out = shape[0] * prod(shape[2:])`` (``kaiming_uniform_(conv.weight)`` gives
what PyTorch gives for the same layer).
"""
from __future__ import annotations

import math

import numpy as np

from ..inplace import mark_modified
from ..tensor import Tensor
from ._rng import as_generator
from .parameter import OutInParameter

__all__ = ["calculate_gain", "uniform_", "normal_", "zeros_", "ones_", "constant_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def _array(op, t, random=False):
    arr = t.data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{op}: expected a Tensor or numpy array, got {type(t).__name__}")
    if random and arr.dtype.kind != "f":  # complex: numpy would fill the real parts only
        raise TypeError(f"{op}: random initialisation needs a real floating-point tensor, got dtype {arr.dtype}")
    if not arr.flags.writeable:
        raise ValueError(f"{op}: the tensor's array is read-only (e.g. a broadcast view)")
    return arr


def _fill(op, t, draw, random=True):
    arr = _array(op, t, random)
    if arr.size:
        arr[...] = draw(arr.shape)
        # A graph recorded before this write must not back-propagate with the new values.
        mark_modified(arr=arr)
    return t


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ============================  =======================================
    nonlinearity                  gain
    ============================  =======================================
    linear, identity, sigmoid     1
    conv*d, conv_transpose*d      1
    tanh                          5/3
    relu                          sqrt(2)
    leaky_relu                    sqrt(2 / (1 + negative_slope**2)),
                                  ``param`` = negative_slope (default 0.01)
    selu                          3/4
    ============================  =======================================

    Raises ValueError for an unknown nonlinearity or a non-numeric slope.
    """
    linear_fns = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
                  "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear_fns:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(t) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: ``Linear``'s ``(in, out)``, or a conv's ``(out, in, *kernel)``.

    2-D (this package's ``Linear`` layout): ``(shape[0], shape[1])``; an
    :class:`~tinygrad_edu.nn.parameter.OutInParameter` (the weights of the
    recurrent, attention and transformer layers, in PyTorch's ``(out, in)``
    layout): ``(shape[1], shape[0])``, as PyTorch.
    3-D and more (PyTorch's conv layout, used by ``nn.Conv1d/2d``):
    ``(shape[1] * r, shape[0] * r)`` with ``r = prod(shape[2:])``, as
    ``torch.nn.init`` computes them.

    Raises ValueError for tensors with fewer than 2 dimensions.
    """
    shape = np.shape(t.data if isinstance(t, Tensor) else t)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions, got shape {shape}")
    if len(shape) == 2:
        if isinstance(t, OutInParameter):  # PyTorch's layout, kept by the layers ported from it
            return shape[1], shape[0]
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def uniform_(t, a: float = 0.0, b: float = 1.0, rng=None):
    """Fill with samples from U(a, b). Returns ``t``. Raises ValueError if a > b."""
    if a > b:
        raise ValueError(f"uniform_: lower bound a={a} is greater than upper bound b={b}")
    gen = as_generator(rng)
    return _fill("uniform_", t, lambda shape: gen.uniform(a, b, shape))


def normal_(t, mean: float = 0.0, std: float = 1.0, rng=None):
    """Fill with samples from N(mean, std**2). Returns ``t``. Raises ValueError if std < 0."""
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    gen = as_generator(rng)
    return _fill("normal_", t, lambda shape: gen.normal(mean, std, shape))


def constant_(t, val: float):
    """Fill with the value ``val``. Returns ``t``."""
    return _fill("constant_", t, lambda shape: val, random=False)


def zeros_(t):
    """Fill with zeros. Returns ``t``."""
    return constant_(t, 0)


def ones_(t):
    """Fill with ones. Returns ``t``."""
    return constant_(t, 1)


def xavier_uniform_(t, gain: float = 1.0, rng=None):
    """Glorot/Xavier uniform init: U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``.

    Glorot & Bengio 2010, "Understanding the difficulty of training deep
    feedforward neural networks": keeps the variance of activations and of
    gradients roughly equal across layers (Var = 2 / (fan_in + fan_out)).
    Fans as in :func:`_calculate_fan_in_and_fan_out`. Returns ``t``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(t, -a, a, rng)


def xavier_normal_(t, gain: float = 1.0, rng=None):
    """Glorot/Xavier normal init: N(0, std**2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Glorot & Bengio 2010 (see :func:`xavier_uniform_`). Returns ``t``.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(t, 0.0, std, rng)


def _kaiming_std(op, t, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(t)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(fan) if fan else 0.0


def kaiming_uniform_(t, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None):
    """He/Kaiming uniform init: U(-bound, bound) with ``bound = gain * sqrt(3 / fan)``.

    He et al. 2015, "Delving Deep into Rectifiers": for ReLU-like layers the
    variance ``gain**2 / fan`` (``2 / fan`` for ReLU) keeps activations
    (``mode="fan_in"``) or gradients (``mode="fan_out"``) from shrinking or
    growing with depth. ``gain = calculate_gain(nonlinearity, a)``; ``a`` is
    the negative slope of a leaky ReLU (0: plain ReLU, gain sqrt(2)).
    Fans as in :func:`_calculate_fan_in_and_fan_out`. Returns ``t``.

    Raises ValueError for an unknown mode or nonlinearity.
    """
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound, rng)


def kaiming_normal_(t, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None):
    """He/Kaiming normal init: N(0, std**2) with ``std = gain / sqrt(fan)``.

    He et al. 2015 (see :func:`kaiming_uniform_`). Returns ``t``.
    """
    std = _kaiming_std("kaiming_normal_", t, a, mode, nonlinearity)
    return normal_(t, 0.0, std, rng)
