"""Elementwise math: numpy's smooth ufuncs (expm1, arctan2, hypot, sinc, ...), differentiable.

Each forward is numpy's own function, so values equal numpy's exactly; each
backward is the textbook derivative, written with numpy calls so that it
also runs on Tensors (``create_graph=True`` gives second derivatives).
Derivatives at special points follow PyTorch (``tools/autograd/derivatives.yaml``
and ``FunctionsManual.cpp``), except where noted (sinc's second derivative
at 0). Piecewise ops (floor, sign, mod, clamp, fmax, nan_to_num, ...) are
in ``rounding.py``.

Gradients are defined for real floating dtypes (complex autograd is refused
centrally, by ``autograd.record``).
"""
from __future__ import annotations

import math

import numpy as np

from .._mode import guard
from ..autograd import backward_rule, record
from ..tensor import Tensor
from . import arith, elementwise
from .arith import _binary  # the checked broadcasting binary op, shared
from ._common import as_operand, broadcast_error, describe, type_error, val

__all__ = ["expm1", "exp2", "log2", "log10", "logaddexp", "logaddexp2", "tan", "sinh", "cosh",
           "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh",
           "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "hypot", "sinc",
           "deg2rad", "rad2deg", "radians", "degrees", "fabs", "square", "cbrt",
           "reciprocal", "rsqrt", "xlogy", "negative", "positive"]

LN2, LN10 = math.log(2.0), math.log(10.0)  # Python floats: weak scalars keep float32 float32


def _unary(ufunc, name, rule, x, *args):
    """``ufunc(x, *args)`` recorded with ``rule`` (``autograd.record`` refuses complex results
    of inputs that require grad, so no op here needs its own check)."""
    if not isinstance(x, Tensor):
        x = as_operand(name, x)
    d = x.data
    return record(ufunc(d, *args), rule, (x,), None, (d,))


# ---- exponentials and logarithms -------------------------------------------------------
def expm1(x):
    """``exp(x) - 1``, accurate for small x (``np.expm1``); d/dx = exp(x) = out + 1."""
    return _unary(np.expm1, "expm1", _expm1_backward, x)


@backward_rule("expm1")
def _expm1_backward(g, out, inputs, saved, needs):
    return (g * (out + 1),)


def exp2(x):
    """``2 ** x`` (``np.exp2``); d/dx = 2**x * ln 2."""
    return _unary(np.exp2, "exp2", _exp2_backward, x)


@backward_rule("exp2")
def _exp2_backward(g, out, inputs, saved, needs):
    return (g * (out * LN2),)


def log2(x):
    """Base-2 logarithm (``np.log2``); d/dx = 1 / (x ln 2). log2(0) = -inf, log2(<0) = nan."""
    return _unary(np.log2, "log2", _log2_backward, x)


@backward_rule("log2")
def _log2_backward(g, out, inputs, saved, needs):
    return (g / (inputs[0] * LN2),)


def log10(x):
    """Base-10 logarithm (``np.log10``); d/dx = 1 / (x ln 10)."""
    return _unary(np.log10, "log10", _log10_backward, x)


@backward_rule("log10")
def _log10_backward(g, out, inputs, saved, needs):
    return (g / (inputs[0] * LN10),)


def logaddexp(a, b):
    """``log(exp(a) + exp(b))`` without overflow (``np.logaddexp``), with broadcasting.

    d/da = 1 / (1 + exp(b - a)) (a logistic sigmoid of a - b), d/db likewise:
    PyTorch's formula, finite for any finite inputs and for one infinite one.
    """
    return _binary(np.logaddexp, "logaddexp", _logaddexp_backward, a, b)


@backward_rule("logaddexp")
@np.errstate(over="ignore")  # exp(b - a) = inf correctly gives a weight of 0
def _logaddexp_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g / (1 + np.exp(b - a)) if needs[0] else None,
            g / (1 + np.exp(a - b)) if needs[1] else None)


def logaddexp2(a, b):
    """``log2(2**a + 2**b)`` without overflow (``np.logaddexp2``); d/da = 1 / (1 + 2**(b - a))."""
    return _binary(np.logaddexp2, "logaddexp2", _logaddexp2_backward, a, b)


@backward_rule("logaddexp2")
@np.errstate(over="ignore")
def _logaddexp2_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g / (1 + np.exp2(b - a)) if needs[0] else None,
            g / (1 + np.exp2(a - b)) if needs[1] else None)


# ---- trigonometric and hyperbolic --------------------------------------------------------
def tan(x):
    """Tangent (``np.tan``); d/dx = 1 + tan(x)**2."""
    return _unary(np.tan, "tan", _tan_backward, x)


@backward_rule("tan")
def _tan_backward(g, out, inputs, saved, needs):
    return (g * (1 + out * out),)


def sinh(x):
    """Hyperbolic sine (``np.sinh``); d/dx = cosh(x)."""
    return _unary(np.sinh, "sinh", _sinh_backward, x)


@backward_rule("sinh")
def _sinh_backward(g, out, inputs, saved, needs):
    return (g * np.cosh(inputs[0]),)


def cosh(x):
    """Hyperbolic cosine (``np.cosh``); d/dx = sinh(x)."""
    return _unary(np.cosh, "cosh", _cosh_backward, x)


@backward_rule("cosh")
def _cosh_backward(g, out, inputs, saved, needs):
    return (g * np.sinh(inputs[0]),)


def arcsin(x):
    """Inverse sine (``np.arcsin``, torch ``asin``); d/dx = 1 / sqrt(1 - x**2) (inf at +-1)."""
    return _unary(np.arcsin, "arcsin", _arcsin_backward, x)


@backward_rule("arcsin")
def _arcsin_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g / np.sqrt(1 - x * x),)


def arccos(x):
    """Inverse cosine (``np.arccos``, torch ``acos``); d/dx = -1 / sqrt(1 - x**2)."""
    return _unary(np.arccos, "arccos", _arccos_backward, x)


@backward_rule("arccos")
def _arccos_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (-g / np.sqrt(1 - x * x),)


def arctan(x):
    """Inverse tangent (``np.arctan``, torch ``atan``); d/dx = 1 / (1 + x**2)."""
    return _unary(np.arctan, "arctan", _arctan_backward, x)


@backward_rule("arctan")
def _arctan_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g / (1 + x * x),)


def arctan2(y, x):
    """The angle of the point (x, y), elementwise (``np.arctan2``, torch ``atan2``), broadcasting.

    d/dy = x / (x**2 + y**2), d/dx = -y / (x**2 + y**2); at the origin both
    are 0, as PyTorch gives.
    """
    return _binary(np.arctan2, "arctan2", _arctan2_backward, y, x)


@backward_rule("arctan2")
def _arctan2_backward(g, out, inputs, saved, needs):
    y, x = inputs
    r2 = x * x + y * y
    origin = np.equal(val(x), 0) & np.equal(val(y), 0)
    if guard(origin.any()):  # (a jit replay rechecks this decision)
        r2 = np.where(origin, 1, r2)
        return (np.where(origin, 0, g * (x / r2)) if needs[0] else None,
                np.where(origin, 0, g * (-y / r2)) if needs[1] else None)
    return (g * (x / r2) if needs[0] else None, g * (-y / r2) if needs[1] else None)


def arcsinh(x):
    """Inverse hyperbolic sine (``np.arcsinh``); d/dx = 1 / sqrt(x**2 + 1)."""
    return _unary(np.arcsinh, "arcsinh", _arcsinh_backward, x)


@backward_rule("arcsinh")
def _arcsinh_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g / np.sqrt(x * x + 1),)


def arccosh(x):
    """Inverse hyperbolic cosine (``np.arccosh``, x >= 1); d/dx = 1 / sqrt((x - 1)(x + 1))."""
    return _unary(np.arccosh, "arccosh", _arccosh_backward, x)


@backward_rule("arccosh")
def _arccosh_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g / np.sqrt((x - 1) * (x + 1)),)  # (x-1)(x+1), not x*x - 1: no cancellation near 1


def arctanh(x):
    """Inverse hyperbolic tangent (``np.arctanh``, |x| < 1); d/dx = 1 / (1 - x**2)."""
    return _unary(np.arctanh, "arctanh", _arctanh_backward, x)


@backward_rule("arctanh")
def _arctanh_backward(g, out, inputs, saved, needs):
    x = inputs[0]
    return (g / (1 - x * x),)


def hypot(a, b):
    """``sqrt(a**2 + b**2)`` without overflow (``np.hypot``), with broadcasting.

    d/da = a / hypot(a, b), d/db = b / hypot(a, b): nan at a = b = 0 (0/0),
    as PyTorch gives there.
    """
    return _binary(np.hypot, "hypot", _hypot_backward, a, b)


@backward_rule("hypot")
def _hypot_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g * (a / out) if needs[0] else None, g * (b / out) if needs[1] else None)


def sinc(x):
    """numpy's normalized sinc, ``sin(pi x) / (pi x)`` with sinc(0) = 1 (``np.sinc``, torch ``sinc``).

    d/dx = (cos(pi x) - sinc(x)) / x, which is 0 at x = 0 (PyTorch's value).
    Near 0 (|x| < 0.02) the derivative uses its Taylor series instead,
    avoiding the cancellation in the quotient; that also makes the second
    derivative right at 0 (-pi**2 / 3, where PyTorch gives nan).
    """
    return _unary(np.sinc, "sinc", _sinc_backward, x)


_PI2 = np.pi * np.pi
_SINC_TAYLOR = 0.02  # series to x**7: error ~1e-13 relative at the switch; the quotient's is ~1e-13 too


def _sinc_slope(x):
    """sinc'(x) for arrays, or recorded on Tensors (so its own derivative is exact)."""
    xv = val(x)
    small = np.abs(xv) < _SINC_TAYLOR
    if not guard(small.any()):
        return (np.cos(np.pi * x) - np.sinc(x)) / x
    xs = np.where(small, 1, x)  # keeps the unused quotient finite: no nan through the select
    far = (np.cos(np.pi * xs) - np.sinc(xs)) / xs
    x2 = x * x
    # d/dx of 1 - u/6 + u**2/120 - u**3/5040 + u**4/362880 with u = (pi x)**2
    near = x * (_PI2 * (-1 / 3 + _PI2 * x2 * (1 / 30 + _PI2 * x2 * (-1 / 840 + _PI2 * x2 / 45360))))
    return np.where(small, near, far)


@backward_rule("sinc")
def _sinc_backward(g, out, inputs, saved, needs):
    return (g * _sinc_slope(inputs[0]),)


def deg2rad(x):
    """Degrees to radians (``np.deg2rad``); d/dx = pi / 180."""
    return _unary(np.deg2rad, "deg2rad", _deg2rad_backward, x)


def radians(x):
    """Degrees to radians (``np.radians``, same values as :func:`deg2rad`)."""
    return _unary(np.radians, "deg2rad", _deg2rad_backward, x)


@backward_rule("deg2rad")
def _deg2rad_backward(g, out, inputs, saved, needs):
    return (g * (np.pi / 180),)


def rad2deg(x):
    """Radians to degrees (``np.rad2deg``); d/dx = 180 / pi."""
    return _unary(np.rad2deg, "rad2deg", _rad2deg_backward, x)


def degrees(x):
    """Radians to degrees (``np.degrees``, same values as :func:`rad2deg`)."""
    return _unary(np.degrees, "rad2deg", _rad2deg_backward, x)


@backward_rule("rad2deg")
def _rad2deg_backward(g, out, inputs, saved, needs):
    return (g * (180 / np.pi),)


# ---- powers -------------------------------------------------------------------------------
def fabs(x):
    """Absolute value of real numbers (``np.fabs``: a float result; complex raises TypeError).

    d/dx = sign(x), 0 at x = 0 (selected, so 0 even when the incoming gradient is inf).
    """
    return _unary(np.fabs, "fabs", elementwise._abs_backward, x)


def square(x):
    """``x * x`` (``np.square``, torch ``square``): one multiply, not a pow; d/dx = 2x."""
    return _unary(np.square, "square", _square_backward, x)


@backward_rule("square")
def _square_backward(g, out, inputs, saved, needs):
    return (g * (2 * inputs[0]),)


def cbrt(x):
    """Real cube root (``np.cbrt``, defined for negative x); d/dx = 1 / (3 cbrt(x)**2), inf at 0."""
    return _unary(np.cbrt, "cbrt", _cbrt_backward, x)


@backward_rule("cbrt")
def _cbrt_backward(g, out, inputs, saved, needs):
    return (g / (3 * (out * out)),)


def reciprocal(x):
    """``1 / x`` (``np.reciprocal``) for floating x; d/dx = -1/x**2.

    Raises TypeError for integer or bool x: numpy's reciprocal of integers
    truncates (``np.reciprocal(2) == 0``) while ``torch.reciprocal`` returns
    floats, so neither answer is given silently; use ``1 / x`` for floats.
    """
    if not isinstance(x, Tensor):
        x = as_operand("reciprocal", x)
    if x.data.dtype.kind in "biu":
        raise TypeError(f"reciprocal: integer input ({describe(x)}): numpy's reciprocal truncates to "
                        "integers (np.reciprocal(2) == 0) but torch.reciprocal returns floats; use "
                        "1 / x for floats, or np.reciprocal(np.asarray(x)) for numpy's integers")
    return _unary(np.reciprocal, "reciprocal", _reciprocal_backward, x)


@backward_rule("reciprocal")
def _reciprocal_backward(g, out, inputs, saved, needs):
    return (-g * (out * out),)


def rsqrt(x):
    """``1 / sqrt(x)`` (torch ``rsqrt``); d/dx = -1 / (2 x**1.5). Recorded as sqrt then division."""
    return arith.div(1, elementwise.sqrt(x))


def negative(x):
    """``-x`` (``np.negative``, torch ``neg``/``negative``)."""
    return arith.neg(x)


def positive(x):
    """``+x`` (``np.positive``): the tensor itself, as the unary ``+`` operator."""
    return x if isinstance(x, Tensor) else as_operand("positive", x)


def xlogy(x, y):
    """``x * log(y)``, taken as 0 where x == 0 (unless y is nan), with broadcasting (torch ``xlogy``,
    ``scipy.special.xlogy``).

    d/dx = log(y), taken as 0 where x == 0 and y <= 0; d/dy = x / y (nan at
    x = y = 0): PyTorch's.
    """
    xv, yv = val(x), val(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            prod = np.multiply(xv, np.log(yv))
        except ValueError as err:
            raise broadcast_error("xlogy", x, y, err) from None
        except TypeError as err:
            raise type_error("xlogy", (x, y), err) from None
    data = np.where(np.equal(xv, 0) & np.logical_not(np.isnan(yv)), 0, prod).astype(prod.dtype, copy=False)
    return record(data, _xlogy_backward, (x, y))


@backward_rule("xlogy")
def _xlogy_backward(g, out, inputs, saved, needs):
    x, y = inputs
    gx = gy = None
    if needs[0]:
        # 0 where x == 0 and y <= 0 (log(y) is -inf or nan there), selected
        flat = np.equal(val(x), 0) & np.less_equal(val(y), 0)
        if guard(np.any(flat)):
            gx = np.where(flat, 0, g * np.log(np.where(flat, 1, y)))
        else:
            gx = g * np.log(y)
    if needs[1]:
        gy = g * (x / y)
    return (gx, gy)


asin, acos, atan, atan2, asinh, acosh, atanh = arcsin, arccos, arctan, arctan2, arcsinh, arccosh, arctanh


NUMPY_UFUNCS = {
    np.expm1: expm1, np.exp2: exp2, np.log2: log2, np.log10: log10,
    np.logaddexp: logaddexp, np.logaddexp2: logaddexp2,
    np.tan: tan, np.sinh: sinh, np.cosh: cosh, np.arcsin: arcsin, np.arccos: arccos,
    np.arctan: arctan, np.arctan2: arctan2, np.arcsinh: arcsinh, np.arccosh: arccosh,
    np.arctanh: arctanh, np.hypot: hypot, np.deg2rad: deg2rad, np.radians: radians,
    np.rad2deg: rad2deg, np.degrees: degrees, np.fabs: fabs, np.square: square, np.cbrt: cbrt,
    np.reciprocal: reciprocal,
}
NUMPY_FUNCTIONS = {np.sinc: sinc}

TENSOR_METHODS = {name: globals()[name] for name in (
    "expm1", "exp2", "log2", "log10", "logaddexp", "logaddexp2", "tan", "sinh", "cosh",
    "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh",
    "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "hypot", "sinc",
    "deg2rad", "rad2deg", "square", "reciprocal", "rsqrt", "xlogy",
    "negative", "positive")}
TENSOR_METHODS["neg"] = arith.neg
