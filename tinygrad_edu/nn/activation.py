"""Activation modules: ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``Softmax``, ``LogSoftmax``.

Each wraps the function of the same name in :mod:`tinygrad_edu.nn.functional`;
they have no parameters and behave the same in training and evaluation.
Inputs may be Tensors or arrays; the output has the input's shape.
"""
from __future__ import annotations

from . import functional as F
from .module import Module


class ReLU(Module):
    """Elementwise ``max(x, 0)`` (Nair & Hinton 2010); the derivative at 0 is 0, as PyTorch."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """Elementwise ``x if x > 0 else negative_slope * x`` (Maas et al. 2013).

    Args:
        negative_slope: slope for x <= 0 (default 0.01, as PyTorch).
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """Elementwise hyperbolic tangent; d/dx = 1 - tanh(x)**2."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """Elementwise ``1 / (1 + exp(-x))``, the blog's ``nonlin`` (see :func:`tinygrad_edu.sigmoid`)."""

    def forward(self, x):
        return F.sigmoid(x)


def _axis_arg(cls, axis, dim):
    if axis is not None and dim is not None:
        raise TypeError(f"{cls}: pass either axis= or dim=, not both")
    axis = dim if axis is None else axis
    return -1 if axis is None else int(axis)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default the last), stable for any logits.

    Args:
        axis: the axis that sums to 1; ``dim=`` is accepted as PyTorch's name.
    """

    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        self.axis = _axis_arg("Softmax", axis, dim)

    def forward(self, x):
        return F.softmax(x, self.axis)

    def extra_repr(self):
        return f"dim={self.axis}"


class LogSoftmax(Module):
    """``x - logsumexp(x)`` along ``axis`` (default the last): log-probabilities, stable.

    Args:
        axis: the normalised axis; ``dim=`` is accepted as PyTorch's name.
    """

    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        self.axis = _axis_arg("LogSoftmax", axis, dim)

    def forward(self, x):
        return F.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"dim={self.axis}"
