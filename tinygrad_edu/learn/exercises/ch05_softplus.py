"""Chapter 5, exercise 1: a Function of your own, checked (docs/custom-ops.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch05_softplus"
ORDER = 105.1
TITLE = "Softplus as a Function, with first and second derivatives checked"
PAGE = "custom-ops.md"
HINT = ("softplus(x) = log(1 + exp(x)) = np.logaddexp(0, x); its slope is sigmoid(x); "
        "write backward with Tensor operations (x.sigmoid()) so that it can be differentiated again")

SKELETON = '''"""Chapter 5, exercise 1: a Function of your own, checked (docs/custom-ops.md).

Check: python -m tinygrad_edu.learn check ch05_softplus
"""
import numpy as np

import tinygrad_edu as tg


class Softplus(tg.Function):
    """softplus(x) = log(1 + exp(x)), a smooth ReLU."""

    @staticmethod
    def forward(ctx, x):
        # TODO: save x for backward; return log(1 + exp(x.data)) without overflow
        # for large x (np.logaddexp(0, a) computes log(exp(0) + exp(a)) stably).
        raise NotImplementedError("Softplus.forward")

    @staticmethod
    def backward(ctx, grad):
        # TODO: the slope of softplus is sigmoid(x). Use Tensor operations
        # (x.sigmoid(), *) so that second derivatives work too.
        raise NotImplementedError("Softplus.backward")


def softplus(x):
    return Softplus.apply(x)
'''

SOLUTION = '''"""Chapter 5, exercise 1: a Function of your own, checked (docs/custom-ops.md).

Check: python -m tinygrad_edu.learn check ch05_softplus
"""
import numpy as np

import tinygrad_edu as tg


class Softplus(tg.Function):
    """softplus(x) = log(1 + exp(x)), a smooth ReLU."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x.data)       # log(1 + e^x), no overflow for large x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x.sigmoid()              # a Tensor op: recorded under create_graph


def softplus(x):
    return Softplus.apply(x)
'''


def check(ns):
    import tinygrad_edu as tg

    x0 = np.array([-800.0, -3.0, -0.5, 0.0, 0.5, 3.0, 800.0])
    x = tg.Tensor(x0, requires_grad=True)
    with np.errstate(over="raise"):
        try:
            y = ns.softplus(x)
        except FloatingPointError:
            raise AssertionError("softplus overflowed for x = 800: compute log(1 + exp(x)) "
                                 "as np.logaddexp(0, x)") from None
    assert isinstance(y, tg.Tensor) and y.grad_fn is not None, (
        "softplus(x) should return a recorded Tensor: call Softplus.apply(x)")
    want = np.logaddexp(0.0, x0)
    assert np.allclose(y.data, want, rtol=1e-12, atol=0), (
        f"softplus values are wrong: got {y.data}, want log(1 + exp(x)) = {want}")
    y.sum().backward()
    slope = 1 / (1 + np.exp(-np.clip(x0, -700, 700)))
    assert x.grad is not None and np.allclose(x.grad.data, slope, rtol=1e-12, atol=1e-300), (
        f"the gradient should be sigmoid(x) = {slope}, got "
        f"{None if x.grad is None else x.grad.data}")
    xs = tg.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert tg.gradcheck(ns.softplus, xs, raise_exception=False), "gradcheck fails"
    assert tg.gradgradcheck(ns.softplus, xs, raise_exception=False), (
        "gradgradcheck fails: the second derivative is wrong. Write backward with Tensor "
        "operations (x.sigmoid()), not on x.data, so that it is recorded under create_graph")
