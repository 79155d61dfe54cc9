"""``Flatten``: merge a range of axes into one (e.g. images to vectors before ``Linear``)."""
from __future__ import annotations

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
