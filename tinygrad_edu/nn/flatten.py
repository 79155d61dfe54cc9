"""``Flatten``: merge a range of axes into one (e.g. images to vectors before ``Linear``);
``Unflatten``: split one axis into several."""
from __future__ import annotations

import math

import numpy as np

from ..ops.shape import reshape
from . import functional as F
from .module import Module


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` (inclusive) into one, as ``torch.nn.Flatten``.

    The default keeps the batch axis: ``(N, 8, 8) -> (N, 64)``. The gradient
    is reshaped back.

    Args:
        start_dim: first axis to merge (default 1).
        end_dim: last axis to merge (default -1, the last).

    Raises ValueError (on call) naming the shape if an axis is out of range.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x):
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``: ``(N, 12)`` with
    ``Unflatten(1, (3, 4))`` -> ``(N, 3, 4)``. One size may be -1 (inferred). The gradient is
    reshaped back.

    Args:
        dim: the axis to split (negative counts from the end).
        unflattened_size: tuple of ints whose product is the size of that axis.

    Raises TypeError/ValueError for a bad ``unflattened_size``; on call,
    ValueError naming the shapes when the sizes do not multiply to the axis.
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim = int(dim)
        sizes = tuple(unflattened_size)
        if not sizes or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) for n in sizes):
            raise TypeError(f"Unflatten: unflattened_size must be a non-empty tuple of ints, "
                            f"got {unflattened_size!r}")
        if sum(n == -1 for n in sizes) > 1 or any(n < -1 for n in sizes):
            raise ValueError(f"Unflatten: unflattened_size may hold one -1 and otherwise sizes >= 0, "
                             f"got {unflattened_size!r}")
        self.unflattened_size = tuple(int(n) for n in sizes)

    def forward(self, x):
        x = F.as_tensor(x)
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"Unflatten: dim {self.dim} is out of range for input of shape {x.shape}")
        d = self.dim % x.ndim
        n, sizes = x.shape[d], self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if -1 in sizes:
            if known == 0 or n % known:
                raise ValueError(f"Unflatten: cannot split axis {d} of size {n} (input {x.shape}) "
                                 f"into {sizes}")
            sizes = tuple(n // known if s == -1 else s for s in sizes)
        elif known != n:
            raise ValueError(f"Unflatten: unflattened_size {sizes} multiplies to {known}, but axis {d} "
                             f"of input {x.shape} has size {n}")
        return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
