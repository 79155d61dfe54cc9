"""Activation functions of ``torch.nn.functional``, and ``erf``/``erfc``.

Each is one recorded op with a closed-form backward rule (one fused formula
instead of a chain of recorded ops). The rules use numpy functions and
operators only, so under ``create_graph=True`` they record themselves and
second derivatives are exact; where a rule needs erf (GELU) it calls the
recorded :func:`erf` op on Tensors, and the numpy evaluation on arrays.

Derivatives at kinks follow PyTorch (checked against values PyTorch computed,
tests/reference/activation.npz): hardtanh/relu6/hardsigmoid have derivative 0
at their bounds, hardswish 0 at -3 and 1 at 3, the shrinks 0 at +-lambda,
elu ``alpha`` at 0 (``alpha * scale`` for selu, 1 for celu), prelu
``weight`` at 0. Masks select (``np.where``), never multiply, so an infinite
incoming gradient never meets a 0 to make nan; the inputs of exp in branches
that are not taken are replaced by 0 so that no overflow reaches a gradient.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, describe, val
from ._erf import erf_erfc

__all__ = ["erf", "erfc", "selu", "celu", "prelu", "hardshrink"]
NN_FUNCTIONAL = ["gelu", "silu", "softplus", "elu", "selu", "celu", "mish", "hardtanh", "relu6",
                 "hardswish", "hardsigmoid", "logsigmoid", "softsign", "tanhshrink", "softshrink",
                 "hardshrink", "glu", "prelu"]

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT1_2 = math.sqrt(0.5)
_PDF_COEF = 1 / math.sqrt(2 * math.pi)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _input(op, x):
    x = as_operand(op, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {describe(x)}")
    return x


def _no_inplace(op, inplace):
    if inplace:
        raise ValueError(f"{op}: inplace=True is not supported (ops return a new Tensor); "
                         f"use x = {op}(x)")


def _number(op, name, v):
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {v!r}")
    return float(v)


# ---- helpers that run on arrays (fast path) and on Tensors (create_graph) alike -------
def _split(x):
    """``x`` where ``x >= 0`` (else 0), ``x`` where ``x < 0`` (else 0), and the mask."""
    pos = val(x) >= 0
    return np.where(pos, x, 0), np.where(pos, 0, x), pos


def _sigmoid(x):
    """The logistic function without overflow: each branch's exp sees only its own side."""
    xp, xn, pos = _split(x)
    ep, en = np.exp(-xp), np.exp(xn)
    return np.where(pos, 1 / (1 + ep), en / (1 + en))


def _softplus(x):
    """``log(1 + exp(x))`` without overflow: ``x + log1p(exp(-x))`` for x >= 0."""
    xp, xn, pos = _split(x)
    return np.where(pos, xp + np.log1p(np.exp(-xp)), np.log1p(np.exp(xn)))


def _erf_any(x):
    return erf(x) if isinstance(x, Tensor) else erf_erfc(x, (True, False))[0]


# ---- erf ------------------------------------------------------------------------------
def erf(x):
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``, elementwise.

    Evaluated with W. J. Cody's rational Chebyshev approximations (Math.
    Comp. 23, 1969), accurate to a few ulp in float64 (see ``ops/_erf.py``);
    ``d/dx erf = 2/sqrt(pi) exp(-x^2)``. Integer input gives float64.
    numpy has no ``np.erf``, so this is ``tinygrad_edu.erf`` / ``Tensor.erf``
    (as ``torch.erf``). Raises TypeError for complex or non-numeric input.
    """
    x = as_operand("erf", x)
    return record(erf_erfc(x.data, (True, False))[0], _erf_backward, (x,))


@backward_rule("erf")
def _erf_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g * (_TWO_OVER_SQRT_PI * np.exp(-(x * x))),)


def erfc(x):
    """The complementary error function ``1 - erf(x)``, accurate also where it is tiny (x >> 1).

    Cody's approximations as :func:`erf`; ``d/dx erfc = -2/sqrt(pi) exp(-x^2)``.
    """
    x = as_operand("erfc", x)
    return record(erf_erfc(x.data, (False, True))[1], _erfc_backward, (x,))


@backward_rule("erfc")
def _erfc_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g * (-_TWO_OVER_SQRT_PI * np.exp(-(x * x))),)


# ---- smooth activations ---------------------------------------------------------------
def gelu(input, approximate: str = "none"):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016), as ``torch.nn.functional.gelu``.

    ``approximate="none"``: ``x * Phi(x)`` with ``Phi(x) = (1 + erf(x / sqrt 2)) / 2``;
    d/dx = ``Phi(x) + x * exp(-x^2/2) / sqrt(2 pi)``.
    ``approximate="tanh"``: ``x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Shape and dtype of the (float) input. Raises ValueError for another ``approximate``.
    """
    x = _input("gelu", input)
    d = x.data
    if approximate == "none":
        cdf = 0.5 * (1 + erf_erfc(d * _SQRT1_2, (True, False))[0])
        return record(d * cdf, _gelu_backward, (x,), cdf)
    if approximate == "tanh":
        return record(0.5 * d * (1 + np.tanh(_gelu_inner(d))), _gelu_tanh_backward, (x,))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


@backward_rule("gelu")
def _gelu_backward(g, out, inputs, cdf, needs):
    x = inputs[0]
    if isinstance(x, Tensor):
        cdf = 0.5 * (1 + erf(x * _SQRT1_2))
    return (g * (cdf + x * (_PDF_COEF * np.exp(-0.5 * (x * x)))),)


_K_BETA = math.sqrt(2 / math.pi)
_K_KAPPA = 0.044715


def _gelu_inner(x):
    return _K_BETA * (x + _K_KAPPA * (x * x * x))


@backward_rule("gelu_tanh")
def _gelu_tanh_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    t = np.tanh(_gelu_inner(x))
    slope = 0.5 * (1 + t) + (0.5 * x) * (1 - t * t) * (_K_BETA * (1 + 3 * _K_KAPPA * (x * x)))
    return (g * slope,)


def silu(input, inplace: bool = False):
    """Sigmoid linear unit / swish (Elfwing et al. 2017): ``x * sigmoid(x)``.

    d/dx = ``s * (1 + x * (1 - s))`` with ``s = sigmoid(x)``; as ``torch.nn.functional.silu``.
    """
    _no_inplace("silu", inplace)
    x = _input("silu", input)
    return record(x.data * _sigmoid(x.data), _silu_backward, (x,))


@backward_rule("silu")
def _silu_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    s = _sigmoid(x)
    return (g * (s * (1 + x * (1 - s))),)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``.

    As ``torch.nn.functional.softplus`` (Dugas et al. 2001): the linear
    branch above the threshold is PyTorch's, for numerical stability; d/dx =
    ``sigmoid(beta x)`` (1 in the linear branch).
    """
    beta = _number("softplus", "beta", beta)
    threshold = _number("softplus", "threshold", threshold)
    x = _input("softplus", input)
    d = x.data
    bx = d * beta
    over = bx > threshold
    with np.errstate(over="ignore"):
        soft = np.log1p(np.exp(np.where(over, 0, bx))) / beta
    return record(np.where(over, d, soft), _softplus_backward, (x,), (beta, threshold))


@backward_rule("softplus")
def _softplus_backward(g, out, inputs, saved, needs):
    beta, threshold = saved
    x = inputs[0]
    bx = x * beta
    bv = val(bx)
    over = bv > threshold
    # At beta x == threshold the slope is sigmoid(threshold) but, as in PyTorch's double
    # backward, constant there; above it exp never sees the (possibly huge) argument.
    s = _sigmoid(np.where(bv < threshold, bx, np.where(over, 0.0, bv)))  # exp(z) / (exp(z) + 1)
    return (np.where(over, g, g * s),)


def _elu(op, x, alpha, scale, input_scale):
    """PyTorch's ELU family: ``scale * x`` for x > 0, else ``alpha * scale * expm1(input_scale * x)``."""
    d = x.data
    pos = d > 0
    neg = alpha * scale * np.expm1(np.where(pos, 0, d) * input_scale)
    return record(np.where(pos, d * scale, neg), _elu_backward, (x,), (alpha, scale, input_scale))


@backward_rule("elu")
def _elu_backward(g, out, inputs, saved, needs):
    alpha, scale, input_scale = saved
    x = inputs[0]
    xv = val(x)
    # x enters exp only where x < 0: at x = 0 the slope is alpha * ... (as the first derivative
    # of PyTorch) but its own derivative is 0 (PyTorch's double backward there)
    slope = (alpha * scale * input_scale) * np.exp(np.where(xv < 0, x, 0) * input_scale)
    return (np.where(xv > 0, g * scale, g * slope),)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """Exponential linear unit (Clevert et al. 2015): ``x`` if x > 0 else ``alpha (exp(x) - 1)``.

    d/dx = 1 for x > 0, ``alpha exp(x)`` for x <= 0 (so ``alpha`` at 0, as PyTorch).
    """
    _no_inplace("elu", inplace)
    return _elu("elu", _input("elu", input), _number("elu", "alpha", alpha), 1.0, 1.0)


def selu(input, inplace: bool = False):
    """Scaled ELU (Klambauer et al. 2017): ``scale * elu(x, alpha)`` with
    alpha = 1.6732632423543772, scale = 1.0507009873554805 (d/dx at 0: alpha * scale)."""
    _no_inplace("selu", inplace)
    return _elu("selu", _input("selu", input), _SELU_ALPHA, _SELU_SCALE, 1.0)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    """Continuously differentiable ELU (Barron 2017): ``max(0, x) + min(0, alpha (exp(x/alpha) - 1))``.

    Raises ValueError for ``alpha = 0``. d/dx at 0 is 1.
    """
    _no_inplace("celu", inplace)
    alpha = _number("celu", "alpha", alpha)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (the formula divides by it)")
    return _elu("celu", _input("celu", input), alpha, 1.0, 1 / alpha)


def mish(input, inplace: bool = False):
    """Mish (Misra 2019): ``x * tanh(softplus(x))``.

    d/dx = ``t + x sigmoid(x) (1 - t^2)`` with ``t = tanh(softplus(x))``.
    """
    _no_inplace("mish", inplace)
    x = _input("mish", input)
    with np.errstate(over="ignore"):
        data = x.data * np.tanh(_softplus(x.data))
    return record(data, _mish_backward, (x,))


@backward_rule("mish")
def _mish_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    t = np.tanh(_softplus(x))
    return (g * (t + x * _sigmoid(x) * (1 - t * t)),)


def logsigmoid(input):
    """``log(sigmoid(x)) = -softplus(-x)``, stable for any x; d/dx = ``sigmoid(-x)``."""
    x = _input("logsigmoid", input)
    return record(-_softplus(-x.data), _logsigmoid_backward, (x,))


@backward_rule("logsigmoid")
def _logsigmoid_backward(g, out, inputs, saved, needs):
    return (g * _sigmoid(-inputs[0]),)


def softsign(input):
    """``x / (1 + |x|)``; d/dx = ``1 / (1 + |x|)^2``."""
    x = _input("softsign", input)
    return record(x.data / (1 + np.abs(x.data)), _softsign_backward, (x,))


@backward_rule("softsign")
def _softsign_backward(g, out, inputs, saved, needs):
    a = 1 + np.abs(inputs[0])
    return (g / (a * a),)


def tanhshrink(input):
    """``x - tanh(x)``; d/dx = ``tanh(x)^2``."""
    x = _input("tanhshrink", input)
    return record(x.data - np.tanh(x.data), _tanhshrink_backward, (x,))


@backward_rule("tanhshrink")
def _tanhshrink_backward(g, out, inputs, saved, needs):
    t = np.tanh(inputs[0])
    return (g * (t * t),)


# ---- piecewise-linear activations ------------------------------------------------------
def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """``x`` clipped to ``[min_val, max_val]``; d/dx = 1 strictly inside, 0 at and beyond the
    bounds (PyTorch's convention; ``np.clip``'s gradient includes the bounds).

    Raises ValueError when ``max_val < min_val``.
    """
    _no_inplace("hardtanh", inplace)
    lo, hi = _number("hardtanh", "min_val", min_val), _number("hardtanh", "max_val", max_val)
    if hi < lo:
        raise ValueError(f"hardtanh: max_val must be greater than or equal to min_val, got "
                         f"min_val={min_val}, max_val={max_val}")
    x = _input("hardtanh", input)
    return record(np.clip(x.data, lo, hi), _hardtanh_backward, (x,), (lo, hi))


@backward_rule("hardtanh")
def _hardtanh_backward(g, out, inputs, saved, needs):
    lo, hi = saved
    x = val(inputs[0])
    return (np.where((x > lo) & (x < hi), g, 0),)


def relu6(input, inplace: bool = False):
    """``min(max(x, 0), 6)`` = ``hardtanh(x, 0, 6)``; d/dx is 0 at 0 and at 6 (as PyTorch)."""
    _no_inplace("relu6", inplace)
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input, inplace: bool = False):
    """``relu6(x + 3) / 6``; d/dx = 1/6 for -3 < x < 3, else 0 (at +-3 too, as PyTorch)."""
    _no_inplace("hardsigmoid", inplace)
    x = _input("hardsigmoid", input)
    return record(np.clip(x.data + 3, 0, 6) / 6, _hardsigmoid_backward, (x,))


@backward_rule("hardsigmoid")
def _hardsigmoid_backward(g, out, inputs, saved, needs):
    x = val(inputs[0])
    return (np.where((x > -3) & (x < 3), g / 6, 0),)


def hardswish(input, inplace: bool = False):
    """``x * relu6(x + 3) / 6`` (Howard et al. 2019, MobileNetV3).

    d/dx = 0 for x <= -3, ``x/3 + 1/2`` for -3 < x < 3, 1 for x >= 3
    (PyTorch's values at the kinks: 0 at -3, 1 at 3).
    """
    _no_inplace("hardswish", inplace)
    x = _input("hardswish", input)
    d = x.data
    return record(d * np.clip(d + 3, 0, 6) / 6, _hardswish_backward, (x,))


@backward_rule("hardswish")
def _hardswish_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    xv = val(x)
    mid = np.where((xv > -3) & (xv < 3), g * (x / 3 + 0.5), 0)
    return (np.where(xv >= 3, g, mid),)


def _lambd(op, lambd):
    lambd = _number(op, "lambd", lambd)
    if lambd < 0:
        raise ValueError(f"{op}: lambd must be >= 0, got {lambd}")
    return lambd


def softshrink(input, lambd: float = 0.5):
    """``x - lambd`` above lambd, ``x + lambd`` below -lambd, else 0; d/dx = 0 on ``[-lambd, lambd]``.

    NaN stays NaN (gradient passed through), as PyTorch's.

    Raises ValueError for a negative ``lambd``.
    """
    lambd = _lambd("softshrink", lambd)
    x = _input("softshrink", input)
    d = x.data
    # "not inside [-lambd, lambd]" rather than "outside": NaN propagates, as PyTorch's
    data = np.where(np.abs(d) <= lambd, 0, d - np.sign(d) * lambd)
    return record(data.astype(d.dtype, copy=False), _shrink_backward, (x,), lambd)


def hardshrink(input, lambd: float = 0.5):
    """``x`` where ``|x| > lambd``, else 0; d/dx = 0 on ``[-lambd, lambd]`` (as PyTorch).

    NaN stays NaN (gradient passed through), as PyTorch's.

    Raises ValueError for a negative ``lambd``.
    """
    lambd = _lambd("hardshrink", lambd)
    x = _input("hardshrink", input)
    d = x.data
    return record(np.where(np.abs(d) <= lambd, 0, d).astype(d.dtype, copy=False), _shrink_backward,
                  (x,), lambd)


@backward_rule("shrink")
def _shrink_backward(g, out, inputs, lambd, needs):
    return (np.where(np.abs(val(inputs[0])) <= lambd, 0, g),)


# ---- activations with a second operand ---------------------------------------------------
def glu(input, dim: int = -1):
    """Gated linear unit (Dauphin et al. 2017): ``a * sigmoid(b)`` where ``a, b`` are the two
    halves of ``input`` along ``dim``, as ``torch.nn.functional.glu``.

    Shape: ``input`` with ``dim`` halved. Raises ValueError for a 0-d input,
    an odd size along ``dim`` or ``dim`` out of range.
    """
    x = _input("glu", input)
    if x.ndim == 0:
        raise ValueError("glu: does not support 0-d (scalar) inputs")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not -x.ndim <= dim < x.ndim:
        raise ValueError(f"glu: dim {dim!r} is out of range for an input of shape {x.shape}")
    axis = int(dim) % x.ndim
    if x.shape[axis] % 2:
        raise ValueError(f"glu: halving dimension must be even, but dimension {axis} is size "
                         f"{x.shape[axis]} (input shape {x.shape})")
    a, b = _halves(x.data, axis)
    return record(a * _sigmoid(b), _glu_backward, (x,), axis)


def _halves(x, axis):
    h = x.shape[axis] // 2
    first = (slice(None),) * axis + (slice(0, h),)
    second = (slice(None),) * axis + (slice(h, None),)
    return x[first], x[second]


@backward_rule("glu")
def _glu_backward(g, out, inputs, axis, needs):
    a, b = _halves(inputs[0], axis)
    s = _sigmoid(b)
    return (np.concatenate([g * s, g * a * (s * (1 - s))], axis=axis),)


def prelu(input, weight):
    """Parametric ReLU (He et al. 2015): ``x`` for x > 0, else ``weight * x``, as
    ``torch.nn.functional.prelu``.

    ``weight`` has 1 element (shared) or C = ``input.shape[1]`` elements (one
    per channel, axis 1; an input of fewer than 2 axes has one channel).
    d/dx = 1 for x > 0 and ``weight`` for x <= 0; d/dweight = ``x`` where x <= 0.

    Raises ValueError when ``weight`` has neither 1 nor C elements or more than 1 axis.
    """
    x = _input("prelu", input)
    w = as_operand("prelu", weight)
    c = x.shape[1] if x.ndim >= 2 else 1
    if w.ndim > 1 or w.size not in (1, c):
        raise ValueError(f"prelu: weight must have 1 or C={c} elements (channels on axis 1), "
                         f"got weight of shape {w.shape} for input of shape {x.shape}")
    pshape = (1, c) + (1,) * (x.ndim - 2) if x.ndim >= 2 and w.size == c else (1,) * x.ndim
    d = x.data
    data = np.where(d > 0, d, w.data.reshape(pshape) * d)
    return record(data, _prelu_backward, (x, w), pshape)


@backward_rule("prelu")
def _prelu_backward(g, out, inputs, pshape, needs):
    x, w = inputs
    pos = val(x) > 0
    gx = gw = None
    if needs[0]:
        gx = np.where(pos, g, g * w.reshape(pshape))
    if needs[1]:
        per = np.where(pos, 0, g * x)
        axes = tuple(i for i in range(x.ndim) if pshape[i] == 1)
        gw = per.sum(axis=axes).reshape(w.shape)
    return gx, gw


TENSOR_METHODS = {"erf": erf, "erfc": erfc, "hardshrink": hardshrink, "prelu": prelu}
