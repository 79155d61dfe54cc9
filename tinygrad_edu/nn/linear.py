"""``Linear``: the affine layer ``y = x @ weight + bias``; and ``Identity``."""
from __future__ import annotations

import math

import numpy as np

from ..ops.linalg import linear, matmul
from ._rng import as_generator
from ._sizes import as_size
from .functional import as_tensor
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Affine layer ``y = x @ weight + bias``.

    **Weight layout: ``weight`` has shape ``(in_features, out_features)``**, so
    it is exactly the blog's ``syn0`` and ``y = x @ weight`` reads like the
    blog's ``np.dot(l0, syn0)``. PyTorch stores the transpose
    ``(out_features, in_features)`` and computes ``x @ W.T``: transpose when
    porting weights between the two.

    Args:
        in_features, out_features: sizes of the last axis of input and output.
        bias: add a learnable ``bias`` of shape ``(out_features,)``.
        rng: None, an int seed, or a ``np.random.Generator`` for the init.
        dtype: parameter dtype (float64 default; float32 for speed).

    Init (PyTorch's default): weight and bias ~ U(-k, k) with
    k = 1/sqrt(in_features) (He et al. 2015, "Delving Deep into Rectifiers",
    with PyTorch's a=sqrt(5)). To start from the blog's weights, assign them:
    ``layer.weight.data[...] = 2*np.random.random((3, 4)) - 1``.

    Shapes: input ``(..., in_features)`` -> output ``(..., out_features)``.
    Raises TypeError for a non-integer size (e.g. 3.5) and ValueError for a
    negative one; on call, ValueError naming both shapes if the input's last
    axis is not ``in_features``.
    """

    _weight_is_in_out = True  # load_state_dict refuses PyTorch tensors for it (their layout is the transpose)

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng=None,
                 dtype=np.float64):
        super().__init__()
        in_features = self.in_features = as_size("Linear", "in_features", in_features)
        out_features = self.out_features = as_size("Linear", "out_features", out_features)
        gen = as_generator(rng)
        k = 1 / math.sqrt(in_features) if in_features else 0.0
        self.weight = Parameter(gen.uniform(-k, k, (in_features, out_features)).astype(dtype))
        if bias:
            self.bias = Parameter(gen.uniform(-k, k, (out_features,)).astype(dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        # Read the registry directly: self.weight goes through Module.__getattr__,
        # a Python-level fallback that costs more than the op on small inputs.
        params = self._parameters
        bias = params["bias"]
        if bias is None:
            return matmul(x, params["weight"])  # the blog's np.dot(l0, syn0), bit for bit
        return linear(x, params["weight"], bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged: a placeholder layer (e.g. to switch a block off).

    Accepts and ignores any constructor arguments, as ``torch.nn.Identity``.
    An array input is returned as a Tensor wrapping it (no copy).
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return as_tensor(x)
