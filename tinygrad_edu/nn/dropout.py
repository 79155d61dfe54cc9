"""``Dropout``: randomly zero activations during training (inverted dropout)."""
from __future__ import annotations

from . import functional as F
from ._rng import as_generator
from .module import Module


class Dropout(Module):
    """Inverted dropout (Srivastava et al. 2014), as ``torch.nn.Dropout``.

    In training mode each element is zeroed with probability ``p`` and the
    kept ones are scaled by ``1 / (1 - p)``, which keeps every element's
    expected value; in evaluation mode (``model.eval()``) it is the identity.
    See :func:`tinygrad_edu.nn.functional.dropout`.

    Args:
        p: drop probability in [0, 1] (default 0.5).
        rng: None (fresh entropy), an int seed or a ``np.random.Generator``.
            The layer keeps one Generator, so each forward draws a new mask
            and two layers made with the same seed draw the same masks.

    Raises ValueError when p is outside [0, 1].
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        self.p = F._check_p("Dropout", p)
        self.rng = as_generator(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout1d(Dropout):
    """Channel dropout for ``(N, C, L)`` or ``(C, L)``, as ``torch.nn.Dropout1d``: in training each
    channel is zeroed as a whole with probability ``p``, the rest scaled by ``1 / (1 - p)``;
    the identity in evaluation mode. See :func:`tinygrad_edu.nn.functional.dropout1d`."""

    def forward(self, x):
        return F.dropout1d(x, self.p, self.training, self.rng)


class Dropout2d(Dropout):
    """Channel dropout for ``(N, C, H, W)``, as ``torch.nn.Dropout2d``: whole feature maps are
    zeroed in training. A 3-D input raises, being ambiguous (PyTorch treats it as
    ``(N, C, L)``): use ``Dropout1d`` for that. See :func:`tinygrad_edu.nn.functional.dropout2d`."""

    def forward(self, x):
        return F.dropout2d(x, self.p, self.training, self.rng)
