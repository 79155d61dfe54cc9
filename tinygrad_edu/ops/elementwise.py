"""Elementwise functions: exp, log, sqrt, abs, tanh, sigmoid, relu, maximum, minimum, clip, where.

Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0, and
maximum/minimum split the gradient evenly between tied inputs.

Rules that route the gradient by a mask select (``np.where(mask, g, 0)``)
rather than multiply by a 0/1 mask: the incoming gradient may be inf (the
backward of ``sqrt`` at 0), and ``inf * 0`` would turn a gradient that
belongs to nobody into nan. So ``sqrt(relu(x))`` has gradient 0, not nan,
where x < 0, as in PyTorch.
"""
from __future__ import annotations

import builtins

import numpy as np

from .._mode import guard
from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import NUMERIC_KINDS, as_operand, broadcast_error, check_numeric, describe, type_error, val
from ._common import asarray as _asarray


def _unary(ufunc, rule, x):
    if not isinstance(x, Tensor):
        x = as_operand(rule.op, x)
    d = x.data
    return record(ufunc(d), rule, (x,), None, (d,))


def exp(x):
    """Elementwise e**x; d/dx = exp(x) (the output itself)."""
    return _unary(np.exp, _exp_backward, x)


@backward_rule("exp")
def _exp_backward(g, out, inputs, saved, needs):
    return (g * out,)


def log(x):
    """Natural logarithm; d/dx = 1/x. log(0) = -inf and log(<0) = nan, as numpy (with its warning)."""
    return _unary(np.log, _log_backward, x)


@backward_rule("log")
def _log_backward(g, out, inputs, saved, needs):
    return (g / inputs[0],)


def log1p(x):
    """log(1 + x), accurate for small x; d/dx = 1/(1 + x)."""
    return _unary(np.log1p, _log1p_backward, x)


@backward_rule("log1p")
def _log1p_backward(g, out, inputs, saved, needs):
    return (g / (1 + inputs[0]),)


def sqrt(x):
    """Square root; d/dx = 1 / (2 sqrt(x)) (inf at 0, as in PyTorch)."""
    return _unary(np.sqrt, _sqrt_backward, x)


@backward_rule("sqrt")
def _sqrt_backward(g, out, inputs, saved, needs):
    return (g / (2 * out),)


def sin(x):
    """Sine; d/dx = cos(x)."""
    return _unary(np.sin, _sin_backward, x)


@backward_rule("sin")
def _sin_backward(g, out, inputs, saved, needs):
    return (g * np.cos(inputs[0]),)


def cos(x):
    """Cosine; d/dx = -sin(x)."""
    return _unary(np.cos, _cos_backward, x)


@backward_rule("cos")
def _cos_backward(g, out, inputs, saved, needs):
    return (-g * np.sin(inputs[0]),)


def abs(x):
    """Absolute value; d/dx = sign(x), which is 0 at x = 0 (PyTorch's choice)."""
    return _unary(np.abs, _abs_backward, x)


@backward_rule("abs")
def _abs_backward(g, out, inputs, saved, needs):
    x = val(inputs[0])
    # sign(x) selected, not multiplied: 0 at x = 0 even when g is inf
    return (np.where(x > 0, g, np.where(x < 0, -g, 0)),)


def tanh(x):
    """Hyperbolic tangent; d/dx = 1 - tanh(x)**2."""
    return _unary(np.tanh, _tanh_backward, x)


@backward_rule("tanh")
def _tanh_backward(g, out, inputs, saved, needs):
    return (g * (1 - out * out),)


def sigmoid(x):
    """The logistic function ``1 / (1 + exp(-x))``, computed exactly that way.

    This is the blog's ``nonlin``: same operations in the same order, so the
    values match it bit for bit; exp's overflow for very negative x (which
    correctly gives 0) is silenced. Backward multiplies by the slope grouped
    as the blog groups it, ``g * (out * (1 - out))``, which also matches it
    bit for bit (see tests/test_blog_reference.py).
    """
    if not isinstance(x, Tensor):
        x = as_operand("sigmoid", x)
    d = x.data
    return record(_blog_sigmoid(d), _sigmoid_backward, (x,), None, (d,))


@np.errstate(over="ignore")  # as a decorator it is cheaper than a `with` block per call
def _blog_sigmoid(d):
    return 1 / (1 + np.exp(-d))


@backward_rule("sigmoid")
def _sigmoid_backward(g, out, inputs, saved, needs):
    return (g * (out * (1 - out)),)


def relu(x):
    """max(x, 0); d/dx = 1 where x > 0, else 0 (0 at x = 0, as PyTorch)."""
    if not isinstance(x, Tensor):
        x = as_operand("relu", x)
    d = x.data
    return record(np.maximum(d, 0), _relu_backward, (x,), None, (d,))


@backward_rule("relu")
def _relu_backward(g, out, inputs, saved, needs):
    return (_select(val(inputs[0]) > 0, g),)


def maximum(a, b):
    """Elementwise maximum with broadcasting (``np.maximum``).

    The gradient goes to the larger input; where they tie it is split
    evenly (half each), as ``torch.maximum`` does. NaN propagates as numpy.
    """
    return _pick(np.maximum, np.greater, "maximum", _maximum_backward, a, b)


def minimum(a, b):
    """Elementwise minimum with broadcasting; ties split the gradient evenly."""
    return _pick(np.minimum, np.less, "minimum", _minimum_backward, a, b)


def _pick(ufunc, wins, name, rule, a, b):
    try:
        data = ufunc(val(a), val(b))
    except ValueError as err:
        raise broadcast_error(name, a, b, err) from None
    except TypeError as err:
        raise type_error(name, (a, b), err) from None
    check_numeric(name, data, (a, b))
    return record(data, rule, (a, b))


def _pick_backward(wins, g, inputs, needs):
    a, b = val(inputs[0]), val(inputs[1])
    # An input gets g where it wins, g/2 on a tie, 0 where it loses (selected,
    # never g * 0). With a NaN neither loses, so both get g (torch.maximum).
    tie = np.equal(a, b)
    if guard(tie.any()):  # guard(): a jit replay rechecks this fast-path decision
        g = np.where(tie, g * 0.5, g)
    return (_select(np.logical_not(wins(b, a)), g) if needs[0] else None,
            _select(np.logical_not(wins(a, b)), g) if needs[1] else None)


@backward_rule("maximum")
def _maximum_backward(g, out, inputs, saved, needs):
    return _pick_backward(np.greater, g, inputs, needs)


@backward_rule("minimum")
def _minimum_backward(g, out, inputs, saved, needs):
    return _pick_backward(np.less, g, inputs, needs)


def clip(x, a_min=None, a_max=None, *, min=None, max=None):
    """Limit values to ``[a_min, a_max]`` (``np.clip``; ``min``/``max`` as torch.clamp).

    Bounds may be numbers, arrays or Tensors (broadcast against ``x``), and
    either may be None. The gradient passes to ``x`` where
    ``a_min <= x <= a_max`` (bounds included, as torch.clamp), and to a
    Tensor bound where its value is the one taken.

    Raises ValueError when both bounds are None or they do not broadcast.
    """
    lo = min if a_min is None else a_min
    hi = max if a_max is None else a_max
    if lo is None and hi is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    if not isinstance(x, Tensor):
        x = as_operand("clip", x)
    try:
        data = np.clip(x.data, val(lo), val(hi))
    except ValueError as err:
        raise ValueError(f"clip: bounds could not be broadcast to shape {x.shape} ({err})") from None
    except TypeError as err:
        raise type_error("clip", (x, lo, hi), err) from None
    check_numeric("clip", data, (x, lo, hi))
    return record(data, _clip_backward, (x, lo, hi))


@backward_rule("clip")
def _clip_backward(g, out, inputs, saved, needs):
    x, lo, hi = (val(v) for v in inputs)
    below = False if lo is None else x < lo
    # np.clip is minimum(maximum(x, lo), hi): hi is taken wherever it is below
    # maximum(x, lo), which includes every element when lo > hi.
    above = False if hi is None else (x if lo is None else np.maximum(x, lo)) > hi
    return (_select(np.logical_not(below | above), g) if needs[0] else None,
            _select(below & np.logical_not(above), g) if needs[1] else None,
            _select(above, g) if needs[2] else None)


# The integer type of each float's width: ANDing a float's bits with all ones keeps it,
# with all zeros makes +0.0.
_BITS = {np.dtype(np.float16): np.int16, np.dtype(np.float32): np.int32,
         np.dtype(np.float64): np.int64}


def _select(mask, g):
    """``g`` where the bool ``mask`` holds, else +0.0: ``np.where(mask, g, 0)``.

    Never ``g * mask``: inf * 0 is nan, and -g * 0 is -0.0. Above about 2,000
    elements the same result is made faster from the bits: the mask as int8
    0/-1 (all ones), ANDed with ``g`` viewed as integers of its width, 6-15x
    faster than ``np.where`` on float32 (8,192 to 524,288 elements) and with no
    test of the values, so a jit replay has no branch to recheck. Tensors (a
    second-order backward runs the rule on them) and other dtypes: ``np.where``.
    """
    if isinstance(g, np.ndarray) and g.size > 2048 and isinstance(mask, np.ndarray) \
            and mask.dtype == bool:
        bits = _BITS.get(g.dtype)
        if bits is not None:
            ones = np.negative(mask.view(np.int8))
            return np.bitwise_and(g.view(bits), ones).view(g.dtype)
    return np.where(mask, g, 0)


def where(condition, x, y):
    """Elementwise ``x if condition else y`` (``np.where`` with three arguments).

    ``condition`` is a bool array or Tensor and carries no gradient; the
    gradient goes to ``x`` where it holds and to ``y`` elsewhere.
    """
    cond = _asarray(val(condition))
    if cond.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"where: condition must be a bool (or numeric) array or Tensor, got "
                        f"{describe(condition)} (dtype {cond.dtype})")
    cond = cond.astype(bool, copy=False)
    try:
        data = np.where(cond, val(x), val(y))
    except ValueError as err:
        raise ValueError(
            f"where: condition, x and y could not be broadcast together: shapes "
            f"{cond.shape}, {np.shape(val(x))} and {np.shape(val(y))} ({err})"
        ) from None
    check_numeric("where", data, (x, y))
    return record(data, _where_backward, (cond, x, y))


@backward_rule("where")
def _where_backward(g, out, inputs, saved, needs):
    cond = inputs[0]
    return (None,
            np.where(cond, g, 0) if needs[1] else None,
            np.where(cond, 0, g) if needs[2] else None)


_ = builtins  # builtins.abs/min/max stay reachable despite the op names above
