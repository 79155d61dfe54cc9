"""Piecewise ops: rounding (sign, floor, round), integer division (floor_divide, mod, fmod) and
selection (clamp, fmax/fmin, nan_to_num).

Values are numpy's (``np.floor``, ``np.round`` with half-to-even, ``np.mod``
with the divisor's sign, ``np.fmod`` with the dividend's). The rounding ops
are recorded with a zero gradient wherever it is defined, as PyTorch does,
so ``sign(x) * x`` or ``floor(x).sum().backward()`` work and contribute 0
(rather than failing because the result does not require grad). ``mod`` and
``fmod`` are not constant in x: they get PyTorch's gradients, 1 for x and
``-floor(x / y)`` (mod) or ``-trunc(x / y)`` (fmod) for y.

The selections route the gradient to the value taken: fmax/fmin to the
number (not the NaN), half each on a tie; nan_to_num to the finite elements.

Also the PyTorch names built on numpy's ops: ``clamp``/``clamp_min``/
``clamp_max`` (over ``clip``), ``div(..., rounding_mode=)``, ``frac``, and the
Tensor methods ``add``/``sub``/``mul``/``div``/``pow``/... with torch's signatures.
"""
from __future__ import annotations

import numpy as np

from .._mode import guard
from ..autograd import backward_rule, record
from ..tensor import Tensor
from . import arith, elementwise
from ._common import as_operand, describe, val
from .mathfn import _binary, _unary

__all__ = ["sign", "sgn", "floor", "ceil", "round", "around", "rint", "trunc", "fix", "frac",
           "floor_divide", "mod", "remainder", "fmod", "divmod", "true_divide",
           "clamp", "clamp_min", "clamp_max", "fmax", "fmin", "nan_to_num"]


def _zeros_for(g, x):
    """A zero gradient for input ``x``: a constant (also under create_graph), shaped like ``x``."""
    shape = np.shape(val(x))
    if isinstance(g, Tensor):
        return Tensor._wrap(np.zeros(shape, g.dtype))
    return np.zeros(shape, g.dtype)


def _zero_rule(name):
    @backward_rule(name)
    def rule(g, out, inputs, saved, needs):
        return tuple(_zeros_for(g, x) if need else None for x, need in zip(inputs, needs))
    rule.__name__ = f"_{name}_backward"
    return rule


# ---- rounding: zero gradient -----------------------------------------------------------
_sign_backward = _zero_rule("sign")
_floor_backward = _zero_rule("floor")
_ceil_backward = _zero_rule("ceil")
_round_backward = _zero_rule("round")
_rint_backward = _zero_rule("rint")
_trunc_backward = _zero_rule("trunc")
_floor_divide_backward = _zero_rule("floor_divide")
_div_trunc_backward = _zero_rule("div_trunc")


def sign(x):
    """-1, 0 or 1 by the sign of x (``np.sign``; NaN stays NaN, ``torch.sign`` gives 0 there).

    Recorded with gradient 0 (PyTorch's), so it can sit in a graph.
    torch's ``sgn`` is the same function (numpy 2's sign of a complex z is
    z/|z|, as ``torch.sgn``), but complex tensors that require grad raise.
    """
    return _unary(np.sign, "sign", _sign_backward, x)


sgn = sign


def floor(x):
    """Largest integer <= x (``np.floor``); gradient 0."""
    return _unary(np.floor, "floor", _floor_backward, x)


def ceil(x):
    """Smallest integer >= x (``np.ceil``); gradient 0."""
    return _unary(np.ceil, "ceil", _ceil_backward, x)


def rint(x):
    """Nearest integer, halves to even (``np.rint``); gradient 0."""
    return _unary(np.rint, "rint", _rint_backward, x)


def trunc(x):
    """Integer part, towards 0 (``np.trunc``, torch ``trunc``/``fix``); gradient 0."""
    return _unary(np.trunc, "trunc", _trunc_backward, x)


def fix(x):
    """Round towards 0 (``np.fix``, same values as :func:`trunc`); gradient 0."""
    return _unary(np.fix, "trunc", _trunc_backward, x)


def round(x, decimals=0, out=None):
    """Round to ``decimals`` decimal places, halves to even (``np.round``); gradient 0.

    ``torch.round(x, decimals=)`` agrees (half to even, same scaling by 10**decimals).
    Raises TypeError for ``out=``.
    """
    if out is not None:
        raise TypeError("round: out= is not supported on Tensors")
    if not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, got {decimals!r}")
    return _unary(np.round, "round", _round_backward, x, decimals)


around = round


def frac(x):
    """Fractional part with the sign of x, ``x - trunc(x)`` (torch ``frac``); d/dx = 1."""
    if not isinstance(x, Tensor):
        x = as_operand("frac", x)
    return arith.sub(x, trunc(x))


# ---- integer division ------------------------------------------------------------------
def floor_divide(a, b):
    """``floor(a / b)`` as Python's ``//`` (``np.floor_divide``, torch ``floor_divide``); gradient 0."""
    return _binary(np.floor_divide, "floor_divide", _floor_divide_backward, a, b)


def mod(a, b):
    """Remainder with the sign of the divisor, ``a - b * floor(a / b)`` (``np.mod``, Python's ``%``,
    torch ``remainder``), with broadcasting.

    d/da = 1, d/db = -floor(a / b) (PyTorch's; undefined at the jumps where a/b is an integer).
    """
    return _binary(np.remainder, "mod", _mod_backward, a, b)


remainder = mod


@backward_rule("mod")
def _mod_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g if needs[0] else None,
            g * -np.floor_divide(val(a), val(b)) if needs[1] else None)


def fmod(a, b):
    """Remainder with the sign of the dividend, ``a - b * trunc(a / b)`` (``np.fmod``, C's fmod,
    torch ``fmod``), with broadcasting.

    d/da = 1, d/db = -trunc(a / b) (PyTorch's).
    """
    return _binary(np.fmod, "fmod", _fmod_backward, a, b)


@backward_rule("fmod")
def _fmod_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g if needs[0] else None,
            g * -np.trunc(np.true_divide(val(a), val(b))) if needs[1] else None)


def divmod(a, b):
    """``(floor_divide(a, b), mod(a, b))``, as Python's ``divmod`` and ``np.divmod``."""
    return floor_divide(a, b), mod(a, b)


def _trunc_divide(av, bv):
    if np.result_type(av, bv).kind in "biu":
        # integer truncating division without a float round trip (exact for int64)
        q = np.floor_divide(av, bv)
        return q + ((np.remainder(av, bv) != 0) & ((np.less(av, 0)) != (np.less(bv, 0))))
    return np.trunc(np.true_divide(av, bv))


def div(a, b, *, rounding_mode=None):
    """``a / b`` (torch ``div``): true division, or rounded with ``rounding_mode``.

    ``None``: true division (``np.true_divide``); ``'trunc'``: rounded towards
    0 (C's integer division); ``'floor'``: rounded down (``np.floor_divide``,
    Python's ``//``). The rounded modes have gradient 0, as PyTorch.

    Raises ValueError for any other rounding_mode.
    """
    if rounding_mode is None:
        return arith.div(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        return _binary(_trunc_divide, "div", _div_trunc_backward, a, b)
    raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")


def true_divide(a, b):
    """``a / b`` (``np.true_divide``, torch ``true_divide``)."""
    return arith.div(a, b)


# ---- NaN-aware selection ----------------------------------------------------------------
def fmax(a, b):
    """Elementwise maximum ignoring NaN (``np.fmax``): a NaN loses to any number.

    The gradient goes to the input whose value is taken: the larger one,
    the non-NaN one (the first if both are NaN), half each on a tie (as
    ``maximum``; ``torch.fmax`` gives a tie's gradient all to the first input).
    """
    return _binary(np.fmax, "fmax", _fmax_backward, a, b)


def fmin(a, b):
    """Elementwise minimum ignoring NaN (``np.fmin``); gradient as :func:`fmax`."""
    return _binary(np.fmin, "fmin", _fmin_backward, a, b)


def _nan_pick_backward(wins, g, inputs, needs):
    a, b = val(inputs[0]), val(inputs[1])
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    a_takes = wins(a, b) | b_nan
    b_takes = wins(b, a) | (a_nan & np.logical_not(b_nan))
    tie = np.equal(a, b)
    if guard(tie.any()):  # (a jit replay rechecks this decision)
        half = g * 0.5
        return (np.where(a_takes, g, np.where(tie, half, 0)) if needs[0] else None,
                np.where(b_takes, g, np.where(tie, half, 0)) if needs[1] else None)
    return (np.where(a_takes, g, 0) if needs[0] else None, np.where(b_takes, g, 0) if needs[1] else None)


@backward_rule("fmax")
def _fmax_backward(g, out, inputs, saved, needs):
    return _nan_pick_backward(np.greater, g, inputs, needs)


@backward_rule("fmin")
def _fmin_backward(g, out, inputs, saved, needs):
    return _nan_pick_backward(np.less, g, inputs, needs)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan`` and +-inf by ``posinf``/``neginf`` (``np.nan_to_num``).

    Infinities default to the dtype's largest finite values, as numpy and
    torch. d/dx = 1 where x is finite, 0 where a value was replaced.

    Raises TypeError when ``copy`` is not a bool: numpy's second positional
    argument is ``copy`` but ``torch.nan_to_num``'s is ``nan``, so pass
    ``nan=`` by keyword. ValueError for ``copy=False`` (in place), which a
    Tensor does not support.
    """
    if not isinstance(copy, (bool, np.bool_)):
        raise TypeError(f"nan_to_num: copy must be a bool, got {copy!r}; numpy's second positional "
                        "argument is copy (torch.nan_to_num's is nan): pass nan=... by keyword")
    if not copy:
        raise ValueError("nan_to_num: copy=False (replacing in place) is not supported on Tensors; "
                         "use the returned tensor")
    if not isinstance(x, Tensor):
        x = as_operand("nan_to_num", x)
    d = x.data
    if x.requires_grad and d.dtype.kind == "c":
        raise TypeError(f"nan_to_num: gradients of complex tensors are not supported (got {describe(x)})")
    data = np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    return record(data, _nan_to_num_backward, (x,), None, (d,))


@backward_rule("nan_to_num")
def _nan_to_num_backward(g, out, inputs, saved, needs):
    return (np.where(np.isfinite(val(inputs[0])), g, 0),)


# ---- clamp: PyTorch's names for clip ------------------------------------------------------
def clamp(x, min=None, max=None):
    """Limit x to ``[min, max]`` (torch ``clamp``): :func:`~tinygrad_edu.clip` with torch's names.

    Bounds are numbers, arrays or Tensors (broadcast against x), either may
    be None; with min > max every element becomes max, as both torch and
    numpy do. The gradient passes to x where min <= x <= max (bounds
    included) and to a Tensor bound where its value is taken.

    Raises ValueError when both bounds are None.
    """
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must not be None")
    return elementwise.clip(x, min, max)


def clamp_min(x, min):
    """``clamp(x, min=min)`` (torch ``clamp_min``)."""
    return clamp(x, min, None)


def clamp_max(x, max):
    """``clamp(x, max=max)`` (torch ``clamp_max``)."""
    return clamp(x, None, max)


# ---- numpy dispatch and Tensor methods ------------------------------------------------------
def _np_nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    return nan_to_num(x, copy, nan, posinf, neginf)


def _np_round(a, decimals=0, out=None):
    return round(a, decimals, out)


def _np_fix(x, out=None):
    if out is not None:
        raise TypeError("np.fix: out= is not supported on Tensors")
    return fix(x)


def _np_divmod(a, b):
    return divmod(a, b)


NUMPY_UFUNCS = {
    np.sign: sign, np.floor: floor, np.ceil: ceil, np.rint: rint, np.trunc: trunc,
    np.floor_divide: floor_divide, np.remainder: mod, np.fmod: fmod, np.divmod: _np_divmod,
    np.fmax: fmax, np.fmin: fmin,
}
NUMPY_FUNCTIONS = {np.round: _np_round, np.around: _np_round, np.fix: _np_fix, np.nan_to_num: _np_nan_to_num}


def _reflect(fn):
    def reflected(self, other):
        return fn(other, self)
    reflected.__name__ = f"r{fn.__name__}"
    return reflected


def _add_method(self, other, *, alpha=1):
    """``self + alpha * other`` (torch ``Tensor.add``)."""
    return arith.add(self, other if alpha == 1 else arith.mul(other, alpha))


def _sub_method(self, other, *, alpha=1):
    """``self - alpha * other`` (torch ``Tensor.sub``)."""
    return arith.sub(self, other if alpha == 1 else arith.mul(other, alpha))


def _round_method(self, decimals=0):
    return round(self, decimals)


TENSOR_METHODS = {
    "sign": sign, "sgn": sign, "floor": floor, "ceil": ceil, "round": _round_method,
    "rint": rint, "trunc": trunc, "fix": fix, "frac": frac,
    "floor_divide": floor_divide, "remainder": mod, "fmod": fmod,
    "clamp": clamp, "clamp_min": clamp_min, "clamp_max": clamp_max,
    "fmax": fmax, "fmin": fmin, "nan_to_num": nan_to_num,
    "add": _add_method, "sub": _sub_method, "mul": arith.mul, "div": arith.div,
    "true_divide": true_divide, "pow": arith.pow,
    "__floordiv__": floor_divide, "__rfloordiv__": _reflect(floor_divide),
    "__mod__": mod, "__rmod__": _reflect(mod),
    "__divmod__": divmod, "__rdivmod__": _reflect(divmod),
    "__round__": lambda self, ndigits=None: round(self, 0 if ndigits is None else ndigits),
}
