"""Stochastic gradient descent, with PyTorch's update rule."""
from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    For each parameter p with gradient g (PyTorch's formulation)::

        g = g + weight_decay * p                       # L2 regularization
        b = g                  (first step)            # momentum buffer
        b = momentum * b + (1 - dampening) * g         (later steps)
        g = g + momentum * b   if nesterov else b
        p = p - lr * g

    With ``lr=1`` and no extras this is exactly the blog's ``syn += l.T.dot(delta)``
    (``lr`` is the blog's "alpha"). Nesterov momentum follows Sutskever et al.
    2013, "On the importance of initialization and momentum in deep learning".

    Raises ValueError for negative lr/momentum/weight_decay, or nesterov
    without momentum or with dampening.
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group):
        super()._check_group(group)
        for k in ("momentum", "weight_decay"):
            if not group[k] >= 0:
                raise ValueError(f"SGD: invalid {k}={group[k]} (must be >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires momentum > 0 and dampening = 0")

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; returns the closure's loss."""
        loss = self._closure(closure)
        for group in self.param_groups:
            lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
            wd, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if wd:
                    g = g + wd * p.data
                if mom:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, copy=True)
                    else:
                        buf *= mom
                        buf += (1 - damp) * g
                    g = g + mom * buf if nesterov else buf
                # lr == 1 (the blog's alpha): 1 * g is g, one call fewer per parameter
                np.subtract(p.data, g if is_one(lr) else lr * g, out=p.data, casting="unsafe")
        return loss


def is_one(lr):
    """Is ``lr`` the Python number 1 (int or float)? Multiplying by it changes no bits."""
    return (type(lr) is float or type(lr) is int) and lr == 1
