"""Neural-network building blocks with PyTorch's names: ``Module``, ``Linear``, ``Sigmoid``, ..."""
from . import functional, utils
from .activation import Sigmoid
from .containers import Sequential
from .linear import Linear
from .module import IncompatibleKeys, Module
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Linear", "Sigmoid", "Sequential", "IncompatibleKeys", "functional",
           "utils"]
