"""Arithmetic: ``+ - * / **`` and negation, with numpy broadcasting.

Each rule returns the gradient shaped like the broadcast result; the engine
sums it back to each input's shape (``autograd.unbroadcast``).
"""
from __future__ import annotations

import numpy as np

from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, broadcast_error, type_error, val


def _binary(ufunc, name, rule, a, b):
    # val() inlined: this is the per-op hot path
    av = a.data if isinstance(a, Tensor) else a
    bv = b.data if isinstance(b, Tensor) else b
    try:
        data = ufunc(av, bv)
    except ValueError as err:
        raise broadcast_error(name, a, b, err) from None
    except TypeError as err:  # a string, None, an object: numpy has no loop for it
        raise type_error(name, (a, b), err) from None
    if data.dtype.kind not in "biufc":  # e.g. numpy's string concatenation
        raise type_error(name, (a, b), f"the result would have dtype {data.dtype}")
    return record(data, rule, (a, b), None, (av, bv))


def add(a, b):
    """Elementwise ``a + b`` with broadcasting; d/da = d/db = 1."""
    return _binary(np.add, "add", _add_backward, a, b)


@backward_rule("add")
def _add_backward(g, out, inputs, saved, needs):
    return (g if needs[0] else None, g if needs[1] else None)


def sub(a, b):
    """Elementwise ``a - b`` with broadcasting; d/da = 1, d/db = -1."""
    return _binary(np.subtract, "sub", _sub_backward, a, b)


@backward_rule("sub")
def _sub_backward(g, out, inputs, saved, needs):
    return (g if needs[0] else None, -g if needs[1] else None)


def mul(a, b):
    """Elementwise ``a * b`` with broadcasting; d/da = b, d/db = a."""
    return _binary(np.multiply, "mul", _mul_backward, a, b)


@backward_rule("mul")
def _mul_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g * b if needs[0] else None, g * a if needs[1] else None)


def div(a, b):
    """Elementwise true division ``a / b``; d/da = 1/b, d/db = -a/b**2."""
    return _binary(np.true_divide, "div", _div_backward, a, b)


@backward_rule("div")
def _div_backward(g, out, inputs, saved, needs):
    a, b = inputs
    return (g / b if needs[0] else None, -g * a / (b * b) if needs[1] else None)


def neg(a):
    """Elementwise ``-a``."""
    if not isinstance(a, Tensor):
        a = as_operand("neg", a)
    return record(np.negative(a.data), _neg_backward, (a,), None, (a.data,))


@backward_rule("neg")
def _neg_backward(g, out, inputs, saved, needs):
    return (-g,)


def pow(a, b):
    """Elementwise power ``a ** b``; either operand may be a Tensor.

    d/da = b * a**(b-1); d/db = a**b * log(a), taken as 0 where a == 0 and
    b >= 0 (PyTorch's convention, so 0**b with b > 0 has a finite gradient).
    """
    return _binary(np.power, "pow", _pow_backward, a, b)


@backward_rule("pow")
def _pow_backward(g, out, inputs, saved, needs):
    a, b = inputs
    ga = gb = None
    if needs[0]:
        if isinstance(b, (int, float)) and b == 2:
            ga = g * (2 * a)  # the common square: skip a pow
        elif isinstance(b, (int, float)) and b == 0:
            ga = g * 0
        else:
            ga = g * (b * a ** (b - 1))
    if needs[1]:
        a_arr, b_arr = np.asarray(val(a)), np.asarray(val(b))
        with np.errstate(divide="ignore", invalid="ignore"):
            safe = (a_arr == 0) & (b_arr >= 0)
            log_a = np.log(np.where(safe, 1, a)) if safe.any() else np.log(a)
        gb = g * (out * log_a)
    return (ga, gb)
