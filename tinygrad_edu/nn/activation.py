"""Activation modules."""
from __future__ import annotations

from . import functional as F
from .module import Module


class Sigmoid(Module):
    """Elementwise ``1 / (1 + exp(-x))``, the blog's ``nonlin`` (see :func:`tinygrad_edu.sigmoid`)."""

    def forward(self, x):
        return F.sigmoid(x)
