"""Pooling layers with PyTorch's names and arguments: ``MaxPool1d/2d``,
``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``AdaptiveMaxPool1d/2d``.
They hold no parameters; each calls the function of ``ops/pool.py`` named in
its docstring (shapes, tie rule and errors are documented there)."""
from __future__ import annotations

from ..ops import pool as _pool
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class _MaxPoolNd(Module):
    _fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, x):
        return type(self)._fn(x, self.kernel_size, self.stride, self.padding, self.dilation,
                              self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling layer, as ``torch.nn.MaxPool2d`` (see ``F.max_pool2d``;
    the gradient of tied maxima goes to the first, PyTorch's rule)."""
    _fn = staticmethod(_pool.max_pool2d)


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling layer, as ``torch.nn.MaxPool1d`` (see ``F.max_pool1d``)."""
    _fn = staticmethod(_pool.max_pool1d)


class AvgPool2d(Module):
    """2-D average pooling layer, as ``torch.nn.AvgPool2d`` (see ``F.avg_pool2d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, bool(ceil_mode)
        self.count_include_pad, self.divisor_override = bool(count_include_pad), divisor_override

    def forward(self, x):
        return _pool.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """1-D average pooling layer, as ``torch.nn.AvgPool1d`` (see ``F.avg_pool1d``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x):
        return _pool.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptivePool(Module):
    _fn = None

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return type(self)._fn(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"


class _AdaptiveMax(_AdaptivePool):
    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        self.return_indices = bool(return_indices)

    def forward(self, x):
        return type(self)._fn(x, self.output_size, self.return_indices)


class AdaptiveAvgPool2d(_AdaptivePool):
    """2-D adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool2d``
    (``output_size``: int or pair, None keeps the input size; see ``F.adaptive_avg_pool2d``)."""
    _fn = staticmethod(_pool.adaptive_avg_pool2d)


class AdaptiveAvgPool1d(_AdaptivePool):
    """1-D adaptive average pooling layer, as ``torch.nn.AdaptiveAvgPool1d``."""
    _fn = staticmethod(_pool.adaptive_avg_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMax):
    """2-D adaptive max pooling layer, as ``torch.nn.AdaptiveMaxPool2d`` (see ``F.adaptive_max_pool2d``)."""
    _fn = staticmethod(_pool.adaptive_max_pool2d)


class AdaptiveMaxPool1d(_AdaptiveMax):
    """1-D adaptive max pooling layer, as ``torch.nn.AdaptiveMaxPool1d``."""
    _fn = staticmethod(_pool.adaptive_max_pool1d)
