"""Optimizers with PyTorch's names and update rules."""
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD"]
