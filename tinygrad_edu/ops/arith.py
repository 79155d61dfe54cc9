"""Arithmetic: ``+ - * / **`` and negation, with numpy broadcasting.

Each rule returns the gradient shaped like the broadcast result; the engine
sums it back to each input's shape (``autograd.unbroadcast``).
"""
from __future__ import annotations

import numpy as np

from .._mode import guard
from ..autograd import backward_rule, record
from ..tensor import Tensor
from ._common import as_operand, broadcast_error, describe, type_error, val
from ._common import asarray as _asarray


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


def div(a, b, *, rounding_mode=None):
    """Elementwise division ``a / b`` with broadcasting; d/da = 1/b, d/db = -a/b**2.

    ``rounding_mode`` as ``torch.div``: None is true division (the ``/``
    operator, ``np.true_divide``); ``'trunc'`` rounds the quotient towards 0
    and ``'floor'`` down (``np.floor_divide``, Python's ``//``), both with
    gradient 0 (see ``ops/rounding.py``). Raises ValueError for another mode.
    """
    if rounding_mode is not None:
        from .rounding import div as rounded_div
        return rounded_div(a, b, rounding_mode=rounding_mode)
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

    d/da = b * a**(b-1), taken as 0 where a == b == 0 (0 * inf otherwise);
    d/db = a**b * log(a), taken as 0 where a == 0 and b >= 0.
    Both are PyTorch's conventions (``pow_backward_self``/``_exponent`` in
    its ``FunctionsManual.cpp``); the zeros are selected, never ``g * 0``.

    Raises ValueError for integers to negative integer powers (as numpy:
    ``2 ** -1`` has no integer value; use a float base), and for operands
    that do not broadcast.
    """
    av = a.data if isinstance(a, Tensor) else a
    bv = b.data if isinstance(b, Tensor) else b
    try:
        data = np.power(av, bv)
    except ValueError as err:
        if "negative integer powers" in str(err):
            raise ValueError(f"pow: integers to negative integer powers are not allowed "
                             f"(base {describe(a)}, exponent {describe(b)}); use a float base, "
                             f"e.g. x.astype(np.float64) ** n") from None
        raise broadcast_error("pow", a, b, err) from None
    except TypeError as err:
        raise type_error("pow", (a, b), err) from None
    if data.dtype.kind not in "biufc":
        raise type_error("pow", (a, b), f"the result would have dtype {data.dtype}")
    return record(data, _pow_backward, (a, b), None, (av, bv))


def _zeros(g):
    """Zeros shaped like gradient ``g`` (a constant, also under create_graph)."""
    if isinstance(g, Tensor):
        return Tensor._wrap(np.zeros(g.shape, g.dtype))
    return np.zeros_like(g)


@backward_rule("pow")
def _pow_backward(g, out, inputs, saved, needs):
    a, b = inputs
    ga = gb = None
    if needs[0]:
        if isinstance(b, (int, float)):
            if b == 2:
                ga = g * (2 * a)  # the common square: skip a pow
            elif b == 0:
                ga = _zeros(g)
            else:
                ga = g * (b * a ** (b - 1))
        else:
            # b * a**(b-1) is 0 * inf at a = b = 0: select 0 there. Only there: at
            # a != 0 the formula is 0 by itself and its derivative in b is right.
            both_zero = np.equal(val(b), 0) & np.equal(val(a), 0)
            if guard(both_zero.any()):  # (a jit replay rechecks this decision)
                b_safe = np.where(both_zero, 1, b)
                ga = np.where(both_zero, 0, g * (b * a ** (b_safe - 1)))
            else:
                ga = g * (b * a ** (b - 1))
    if needs[1]:
        a_arr, b_arr = _asarray(val(a)), _asarray(val(b))
        safe = (a_arr == 0) & (b_arr >= 0)
        if guard(safe.any()):
            gb = np.where(safe, 0, g * (out * np.log(np.where(safe, 1, a))))
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.log(a)
            gb = g * (out * log_a)
    return (ga, gb)
