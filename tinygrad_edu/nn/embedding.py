"""``Embedding``: a learnable lookup table from integer ids to vectors."""
from __future__ import annotations

import numpy as np

from . import functional as F
from ._rng import as_generator
from ._sizes import as_size
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, as ``torch.nn.Embedding``.

    ``Embedding(n, d)(idx) == weight[idx]``: the same as a ``Linear`` layer
    applied to one-hot vectors, without building them. The gradient of a row
    sums over every position that used it.

    Args:
        num_embeddings: size of the vocabulary (valid indices 0..n-1).
        embedding_dim: size of each vector.
        rng: None, an int seed or a ``np.random.Generator`` for the init.
        dtype: parameter dtype (float64 default).

    Init: weight ~ N(0, 1), as PyTorch.

    Shapes: integer indices of any shape ``S`` -> ``S + (embedding_dim,)``.

    Raises TypeError for a non-integer size, ValueError for
    ``num_embeddings < 1`` or ``embedding_dim < 0``; on call, ValueError
    for non-integer indices or indices outside
    ``[0, num_embeddings)``, listing them.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, rng=None, *, dtype=np.float64):
        super().__init__()
        self.num_embeddings = as_size("Embedding", "num_embeddings", num_embeddings, 1)
        self.embedding_dim = as_size("Embedding", "embedding_dim", embedding_dim)
        gen = as_generator(rng)
        self.weight = Parameter(gen.standard_normal((self.num_embeddings, self.embedding_dim)).astype(dtype))

    def forward(self, idx):
        return F.embedding(idx, self.weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
