"""Functional forms of the ``nn`` layers (stateless; parameters are arguments)."""
from __future__ import annotations

import numpy as np

from ..ops.arith import add
from ..ops.elementwise import sigmoid as _sigmoid
from ..ops.linalg import matmul
from ..tensor import Tensor


def as_tensor(x):
    """``x`` as a Tensor (arrays and numbers are wrapped without copying)."""
    return x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x))


def sigmoid(x):
    """``1 / (1 + exp(-x))`` elementwise; see :func:`tinygrad_edu.sigmoid`."""
    return _sigmoid(as_tensor(x))


def linear(x, weight, bias=None):
    """``x @ weight + bias`` with weight of shape ``(in_features, out_features)``.

    Shapes: x ``(..., in)``, weight ``(in, out)``, bias ``(out,)`` -> ``(..., out)``.
    """
    y = matmul(x, weight)
    return y if bias is None else add(y, bias)
