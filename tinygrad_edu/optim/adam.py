"""Adam, with PyTorch's update rule (and AMSGrad)."""
from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


def check_betas(name, betas):
    """Raise ValueError unless ``betas`` is a pair of numbers in [0, 1)."""
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}") from None
    for i, b in enumerate((b1, b2)):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {b} (must be in [0, 1))")


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: per-parameter step sizes from running moments.

    Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization" (ICLR),
    Algorithm 1; AMSGrad from Reddi, Kale & Kumar 2018, "On the Convergence
    of Adam and Beyond". For each parameter p with gradient g, at step
    t = 1, 2, ... (state ``step``, ``exp_avg`` m, ``exp_avg_sq`` v, all
    starting at zero)::

        g = g + weight_decay * p                 # L2 penalty, coupled (see AdamW)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v)   and use v_max for v  if amsgrad
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The last line is PyTorch's arrangement of the paper's bias-corrected
    ``p - lr * m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - beta1**t)``
    and ``v_hat = v / (1 - beta2**t)``: equal in exact arithmetic, and the
    one PyTorch computes.

    Args:
        params: Tensors (e.g. ``model.parameters()``) or parameter-group dicts.
        lr: step size (>= 0).
        betas: decay rates (beta1, beta2) of the moment averages, each in [0, 1).
        eps: added to the denominator for numerical stability (>= 0).
        weight_decay: L2 penalty coefficient (>= 0), added to the gradient.
        amsgrad: use the running maximum of v (AMSGrad).

    The update is in place on ``p.data``; parameters whose ``grad`` is None
    are skipped (their state does not advance). Arrays are updated in the
    parameter's dtype.

    Raises:
        ValueError: a hyperparameter out of range (named, with its value).
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas,
                                      eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def _check_group(self, group):
        super()._check_group(group)
        name = type(self).__name__
        if not group["eps"] >= 0:
            raise ValueError(f"{name}: invalid epsilon value eps={group['eps']} (must be >= 0)")
        if not group["weight_decay"] >= 0:
            raise ValueError(f"{name}: invalid weight_decay={group['weight_decay']} (must be >= 0)")
        check_betas(name, group["betas"])

    def step(self, closure=None):
        """Apply one Adam update to every parameter that has a gradient; returns the closure's loss."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = np.zeros_like(p.data)
                    state["exp_avg_sq"] = np.zeros_like(p.data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = np.zeros_like(p.data)
                t = state["step"] = int(state["step"]) + 1
                if wd:
                    if self._decoupled:
                        # AdamW: shrink the weights directly, outside the adaptive scaling.
                        np.multiply(p.data, 1 - lr * wd, out=p.data, casting="unsafe")
                    else:
                        g = g + wd * p.data
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * (g * g)
                if amsgrad:
                    vmax = state.setdefault("max_exp_avg_sq", np.zeros_like(p.data))
                    np.maximum(vmax, v, out=vmax)
                    v = vmax
                step_size = lr / (1 - beta1 ** t)
                denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
                np.subtract(p.data, step_size * (m / denom), out=p.data, casting="unsafe")
        return loss
