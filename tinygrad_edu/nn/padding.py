"""Padding layers with PyTorch's names: ``ConstantPad1d/2d``, ``ZeroPad1d/2d``,
``ReflectionPad1d/2d``, ``ReplicationPad1d/2d``, ``CircularPad1d/2d``.

Each calls PyTorch's ``F.pad`` (``tinygrad_edu/nn/_pad_functional.py``) on the
last 1 or 2 axes (inputs ``(C, W)``/``(N, C, W)`` or ``(C, H, W)``/``(N, C, H, W)``).
No parameters.
"""
from __future__ import annotations

from ._pad_functional import pad as _pad
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ZeroPad1d", "ZeroPad2d", "ReflectionPad1d",
           "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad1d",
           "CircularPad2d"]


class _PadNd(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value=0.0):
        super().__init__()
        n = 2 * self.dims
        if isinstance(padding, int):
            padding = (padding,) * n
        padding = tuple(int(p) for p in padding)
        if len(padding) != n:
            raise ValueError(f"{type(self).__name__}: padding must be an int or {n} ints "
                             f"(left, right{', top, bottom' if self.dims == 2 else ''}), got {padding}")
        self.padding, self.value = padding, value

    def forward(self, x):
        return _pad(x, self.padding, self.mode, self.value if self.mode == "constant" else None)

    def extra_repr(self):
        extra = f", value={self.value}" if self.mode == "constant" else ""
        return f"padding={self.padding}{extra}"


def _layer(name, mode, dims, doc, zero=False):
    if zero:
        def __init__(self, padding):
            _PadNd.__init__(self, padding, 0.0)
        body = {"__init__": __init__}
    else:
        body = {}
    return type(name, (_PadNd,), {"mode": mode, "dims": dims, "__doc__": doc, **body})


_SIDES = {1: "(left, right) of the last axis", 2: "(left, right, top, bottom) of the last two axes"}


def _doc(what, dims):
    return (f"{what}. ``padding``: an int for every side, or {_SIDES[dims]} "
            f"(PyTorch's order). Shape: ``(..., W)`` -> ``(..., W + left + right)``"
            + (", ``H`` likewise." if dims == 2 else "."))


ConstantPad1d = _layer("ConstantPad1d", "constant", 1, _doc("Pad with a constant ``value``", 1))
ConstantPad2d = _layer("ConstantPad2d", "constant", 2, _doc("Pad with a constant ``value``", 2))
ZeroPad1d = _layer("ZeroPad1d", "constant", 1, _doc("Pad with zeros", 1), zero=True)
ZeroPad2d = _layer("ZeroPad2d", "constant", 2, _doc("Pad with zeros", 2), zero=True)
ReflectionPad1d = _layer("ReflectionPad1d", "reflect", 1,
                         _doc("Pad with the mirror image, edge excluded (widths < the axis)", 1))
ReflectionPad2d = _layer("ReflectionPad2d", "reflect", 2,
                         _doc("Pad with the mirror image, edge excluded (widths < the axis)", 2))
ReplicationPad1d = _layer("ReplicationPad1d", "replicate", 1, _doc("Pad by repeating the edge", 1))
ReplicationPad2d = _layer("ReplicationPad2d", "replicate", 2, _doc("Pad by repeating the edge", 2))
CircularPad1d = _layer("CircularPad1d", "circular", 1, _doc("Pad periodically (widths <= the axis)", 1))
CircularPad2d = _layer("CircularPad2d", "circular", 2, _doc("Pad periodically (widths <= the axis)", 2))
for _cls in (ConstantPad1d, ConstantPad2d, ZeroPad1d, ZeroPad2d, ReflectionPad1d, ReflectionPad2d,
             ReplicationPad1d, ReplicationPad2d, CircularPad1d, CircularPad2d):
    _cls.__module__ = __name__
