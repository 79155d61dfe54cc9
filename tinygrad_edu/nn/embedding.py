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
        padding_idx: None or a row (negative counts from the end) that is
            initialised to 0 and gets no gradient (stays fixed in training).
        rng: None, an int seed or a ``np.random.Generator`` for the init.
        dtype: parameter dtype (float64 default).

    Init: weight ~ N(0, 1), as PyTorch (the ``padding_idx`` row 0).

    Shapes: integer indices of any shape ``S`` -> ``S + (embedding_dim,)``.

    Raises TypeError for a non-integer size, ValueError for
    ``num_embeddings < 1`` or ``embedding_dim < 0``; on call, ValueError
    for non-integer indices or indices outside
    ``[0, num_embeddings)``, listing them.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm=None, *, rng=None, dtype=np.float64):
        super().__init__()
        self.num_embeddings = as_size("Embedding", "num_embeddings", num_embeddings, 1)
        self.embedding_dim = as_size("Embedding", "embedding_dim", embedding_dim)
        if max_norm is not None:
            raise ValueError("Embedding: max_norm is not supported (it rewrites weight rows in place)")
        self.padding_idx = (None if padding_idx is None
                            else F._padding_idx("Embedding", padding_idx, self.num_embeddings))
        gen = as_generator(rng)
        weight = gen.standard_normal((self.num_embeddings, self.embedding_dim)).astype(dtype)
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0
        self.weight = Parameter(weight)

    def forward(self, idx):
        return F.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
