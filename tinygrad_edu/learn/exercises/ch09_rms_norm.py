"""Chapter 9, exercise: RMSNorm's backward pass by hand (docs/attention.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch09_rms_norm"
ORDER = 109.1
TITLE = "RMSNorm backwards: derive and write its gradients"
PAGE = "attention.md"
HINT = ("with r = sqrt(mean(x**2) + eps), x_hat = x / r, g_hat = g * gamma: "
        "dx = (g_hat - x_hat * mean(g_hat * x_hat)) / r; dgamma sums g * x_hat over every axis but the last")

# skeleton and solution share the header and the forward pass; only the backward's body differs
PRELUDE = '''"""Chapter 9, exercise: RMSNorm's backward pass by hand (docs/attention.md).

Check: python -m tinygrad_edu.learn check ch09_rms_norm
"""
import numpy as np


def rms_norm(x, gamma, eps):
    """y = gamma * x / r with r = sqrt(mean(x**2) + eps), over the last axis."""
    r = np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)
    return gamma * x / r


def rms_norm_backward(x, gamma, g, eps):
'''

SKELETON = PRELUDE + '''    """The gradients (dx, dgamma) of sum(rms_norm(x, gamma, eps) * g).

    x, g: (..., D); gamma: (D,). dx has x's shape, dgamma gamma's.
    """
    # TODO: the two paths from x to y: directly, and through r.
    raise NotImplementedError("rms_norm_backward")
'''

SOLUTION = PRELUDE + '''    """The gradients (dx, dgamma) of sum(rms_norm(x, gamma, eps) * g)."""
    r = np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)
    x_hat = x / r
    g_hat = g * gamma                                  # the gradient reaching x_hat
    # directly through x / r, and through r, whose slope is dr/dx_i = x_i / (D r)
    dx = (g_hat - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)) / r
    dgamma = (g * x_hat).reshape(-1, x.shape[-1]).sum(axis=0)   # gamma is used by every row
    return dx, dgamma
'''


def check(ns):
    import tinygrad_edu as tg
    from tinygrad_edu.nn import functional as F

    rng = np.random.default_rng(9)
    for shape, eps in (((4, 6), 1e-5), ((2, 3, 5), 1e-2)):
        x = rng.standard_normal(shape)
        gamma = rng.standard_normal(shape[-1])
        g = rng.standard_normal(shape)
        xt = tg.Tensor(x, requires_grad=True)
        gt = tg.Tensor(gamma, requires_grad=True)
        F.rms_norm(xt, (shape[-1],), gt, eps=eps).backward(tg.Tensor(g))
        result = ns.rms_norm_backward(x, gamma, g, eps)
        assert isinstance(result, tuple) and len(result) == 2, "return (dx, dgamma)"
        dx, dgamma = (np.asarray(a) for a in result)
        assert dx.shape == x.shape, f"dx should have x's shape {x.shape}, got {dx.shape}"
        assert dgamma.shape == gamma.shape, (
            f"dgamma should have gamma's shape {gamma.shape} (summed over every other axis), "
            f"got {dgamma.shape}")
        assert np.allclose(dgamma, gt.grad.data, rtol=1e-10, atol=1e-12), (
            f"dgamma is wrong for x of shape {shape}: it is the sum of g * x / r over all rows")
        if not np.allclose(dx, xt.grad.data, rtol=1e-10, atol=1e-12):
            direct = g * gamma / np.sqrt((x ** 2).mean(axis=-1, keepdims=True) + eps)
            if np.allclose(dx, direct, rtol=1e-10, atol=1e-12):
                raise AssertionError("dx has only the direct path g * gamma / r; r depends on x too "
                                     "(dr/dx_i = x_i / (D r)): add that path")
            raise AssertionError(f"dx is wrong for x of shape {shape} and eps={eps}")
