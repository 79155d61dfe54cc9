"""RMSprop, with PyTorch's update rule."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: divide the gradient by a running RMS of its size.

    Hinton, Srivastava & Swersky 2012, "Neural Networks for Machine Learning",
    lecture 6e (Coursera); the centered variant is Graves 2013, "Generating
    Sequences With Recurrent Neural Networks", eq. 38-45. For each parameter
    p with gradient g (state ``square_avg`` v, ``grad_avg`` a if centered,
    ``momentum_buffer`` b if momentum, all starting at zero; ``step`` counts
    updates)::

        g = g + weight_decay * p                  # L2 penalty
        v = alpha * v + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g           # centered only
        d = sqrt(v - a * a) + eps   if centered   # estimate of the gradient's std
        d = sqrt(v) + eps           otherwise
        b = momentum * b + g / d ;  p = p - lr * b    if momentum > 0
        p = p - lr * g / d                            otherwise

    Args:
        params: Tensors (e.g. ``model.parameters()``) or parameter-group dicts.
        lr: step size (>= 0). alpha: smoothing constant (>= 0).
        eps: added to the denominator (>= 0). weight_decay: L2 coefficient (>= 0).
        momentum: momentum factor (>= 0). centered: normalise by the
            estimated variance instead of the raw second moment.

    Updates ``p.data`` in place; parameters whose ``grad`` is None are skipped.

    Raises:
        ValueError: a hyperparameter out of range (named, with its value).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_group(self, group):
        super()._check_group(group)
        for k in ("alpha", "eps", "weight_decay", "momentum"):
            if not group[k] >= 0:
                raise ValueError(f"RMSprop: invalid {k}={group[k]} (must be >= 0)")

    def step(self, closure=None):
        """Apply one RMSprop update to every parameter that has a gradient; returns the closure's loss."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mom, centered = group["weight_decay"], group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["square_avg"] = np.zeros_like(p.data)
                state["step"] = int(state["step"]) + 1
                if wd:
                    g = g + wd * p.data
                v = state["square_avg"]
                v *= alpha
                v += (1 - alpha) * (g * g)
                if centered:
                    a = state.setdefault("grad_avg", np.zeros_like(p.data))
                    a *= alpha
                    a += (1 - alpha) * g
                    denom = np.sqrt(v - a * a) + eps
                else:
                    denom = np.sqrt(v) + eps
                if mom > 0:
                    b = state.setdefault("momentum_buffer", np.zeros_like(p.data))
                    b *= mom
                    b += g / denom
                    np.subtract(p.data, lr * b, out=p.data, casting="unsafe")
                else:
                    np.subtract(p.data, lr * (g / denom), out=p.data, casting="unsafe")
        return loss
