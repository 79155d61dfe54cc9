"""Convolution layers with PyTorch's names, parameter layouts and default init:
``Conv1d``, ``Conv2d``, ``ConvTranspose1d``, ``ConvTranspose2d``.

Unlike this package's ``Linear`` (whose weight is ``(in, out)``), these keep
PyTorch's layouts, so a PyTorch ``state_dict`` loads as is:
``Conv*d.weight`` is ``(out_channels, in_channels/groups, *kernel_size)`` and
``ConvTranspose*d.weight`` is ``(in_channels, out_channels/groups, *kernel_size)``.
"""
from __future__ import annotations

import math

import numpy as np

from ..ops import conv as _conv
from ..ops._im2col import tuple_arg
from ._rng import as_generator
from ._sizes import as_size
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]


class _ConvNd(Module):
    _nd = 2
    _transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", output_padding=0, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        name, nd = type(self).__name__, self._nd
        self.in_channels = as_size(name, "in_channels", in_channels, 1)
        self.out_channels = as_size(name, "out_channels", out_channels, 1)
        self.groups = as_size(name, "groups", groups, 1)
        for what, n in (("in_channels", self.in_channels), ("out_channels", self.out_channels)):
            if n % self.groups:
                raise ValueError(f"{name}: {what}={n} must be divisible by groups={self.groups}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.kernel_size = tuple_arg(name, "kernel_size", kernel_size, nd, 1)
        self.stride = tuple_arg(name, "stride", stride, nd, 1)
        self.dilation = tuple_arg(name, "dilation", dilation, nd, 1)
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int or tuple"
                                 + ("" if self._transposed else ", 'same' or 'valid'")
                                 + f", got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride})")
            self.padding = padding
        else:
            self.padding = tuple_arg(name, "padding", padding, nd, 0)
        self.output_padding = tuple_arg(name, "output_padding", output_padding, nd, 0)
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), +1/sqrt(fan_in))
        # with fan_in = weight.shape[1] * prod(kernel_size), and the bias the same bound.
        fan_in = shape[1] * math.prod(self.kernel_size)
        k = 1 / math.sqrt(fan_in) if fan_in else 0.0
        gen = as_generator(rng)
        self.weight = Parameter(gen.uniform(-k, k, shape).astype(dtype))
        if bias:
            self.bias = Parameter(gen.uniform(-k, k, (self.out_channels,)).astype(dtype))
        else:
            self.register_parameter("bias", None)

    def extra_repr(self):
        nd = self._nd
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


_ARGS = """
    Args:
        in_channels, out_channels: channel counts (both divisible by ``groups``).
        kernel_size, stride, dilation: an int or a tuple (one per spatial axis).
        padding: an int or tuple{same}.
        groups: split the channels into this many independent convolutions
            (``groups == in_channels``: depthwise).
        bias: learn a ``bias`` of shape ``(out_channels,)``.
        padding_mode: only ``'zeros'`` (others raise ValueError).{opad}
        rng: None, an int seed, or a ``np.random.Generator`` for the init.
        dtype: parameter dtype (float64 default; float32 for speed).

    Init (PyTorch's default, ``kaiming_uniform_(a=sqrt(5))``; He et al. 2015):
    weight and bias ~ U(-k, k), k = 1/sqrt(weight.shape[1] * prod(kernel_size)).

    Raises TypeError/ValueError for bad sizes, channels not divisible by
    ``groups``, unknown padding; on call, the errors of the functional form.
"""


class Conv2d(_ConvNd):
    __doc__ = """2-D convolution layer, as ``torch.nn.Conv2d``: ``F.conv2d(x, weight, bias, ...)``.

    ``weight``: ``(out_channels, in_channels/groups, kh, kw)``; input
    ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, out_channels, oh, ow)``.
""" + _ARGS.format(same=", 'same' (stride 1) or 'valid'", opad="")

    def forward(self, x):
        p = self._parameters
        return _conv.conv2d(x, p["weight"], p["bias"], self.stride, self.padding, self.dilation,
                            self.groups)


class Conv1d(_ConvNd):
    __doc__ = """1-D convolution layer, as ``torch.nn.Conv1d``: ``weight`` ``(out, in/groups, k)``;
    input ``(N, C, L)`` or ``(C, L)`` -> ``(N, out_channels, Lout)``.
""" + _ARGS.format(same=", 'same' (stride 1) or 'valid'", opad="")
    _nd = 1

    def forward(self, x):
        p = self._parameters
        return _conv.conv1d(x, p["weight"], p["bias"], self.stride, self.padding, self.dilation,
                            self.groups)


_OPAD = """
        output_padding: extra rows/columns at the bottom/right of the output
            (smaller than stride or dilation)."""


class ConvTranspose2d(_ConvNd):
    __doc__ = """2-D transposed convolution layer, as ``torch.nn.ConvTranspose2d``.

    ``weight``: ``(in_channels, out_channels/groups, kh, kw)`` (PyTorch's
    layout); input ``(N, C, H, W)`` or ``(C, H, W)`` -> ``(N, out_channels,
    (H-1)*s - 2p + d(k-1) + output_padding + 1, ...)``. PyTorch's
    ``forward(x, output_size=...)`` is not supported: pass ``output_padding``.
""" + _ARGS.format(same="", opad=_OPAD)
    _transposed = True

    def forward(self, x):
        p = self._parameters
        return _conv.conv_transpose2d(x, p["weight"], p["bias"], self.stride, self.padding,
                                      self.output_padding, self.groups, self.dilation)


class ConvTranspose1d(_ConvNd):
    __doc__ = """1-D transposed convolution layer, as ``torch.nn.ConvTranspose1d``:
    ``weight`` ``(in, out/groups, k)``; ``(N, C, L)`` or ``(C, L)`` -> ``(N, out_channels, Lout)``.
""" + _ARGS.format(same="", opad=_OPAD)
    _nd = 1
    _transposed = True

    def forward(self, x):
        p = self._parameters
        return _conv.conv_transpose1d(x, p["weight"], p["bias"], self.stride, self.padding,
                                      self.output_padding, self.groups, self.dilation)
