"""``tinygrad_edu.linalg``: the differentiable counterparts of ``np.linalg``.

The same functions that ``np.linalg.<name>(tensor)`` dispatches to, with
numpy's arguments and values (see ``tinygrad_edu/ops/decomp.py`` for the
gradient formulas and their sources). ``norm`` here is numpy's
``np.linalg.norm``; ``tinygrad_edu.norm`` / ``Tensor.norm`` is PyTorch's
``torch.norm`` (a number ``p`` there is always a vector norm).
"""
from .ops._norm import linalg_norm as norm, matrix_norm, vector_norm
from .ops.decomp import (EighResult, SlogdetResult, SVDResult, cholesky, det, eigh, eigvalsh, inv,
                         slogdet, solve, svd, svdvals)

__all__ = ["norm", "vector_norm", "matrix_norm", "det", "slogdet", "inv", "solve", "cholesky", "eigh", "eigvalsh", "svd",
           "svdvals", "SlogdetResult", "EighResult", "SVDResult"]
