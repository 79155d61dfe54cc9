"""tinygrad_edu: a small, exact and fast autograd framework over numpy arrays.

Start with :class:`Tensor`; ``tinygrad_edu.nn`` has modules and
``tinygrad_edu.optim`` optimizers, ``tinygrad_edu.data`` minibatches and
small data sets, and :func:`save`/:func:`load` checkpoints. The docs walk from the blog post
"A Neural Network in 11 lines of Python" (iamtrask, 2015) to this engine.
"""
from ._mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import (Tensor, arange, eye, from_numpy, full, ones, ones_like, rand, randn,
                     zeros, zeros_like)
from .autograd import grad
from .anomaly import detect_anomaly, is_anomaly_enabled
from .function import Function
from .ops.arith import add, sub, mul, div, neg, pow
from .ops.elementwise import (exp, log, log1p, sqrt, sin, cos, abs, tanh, sigmoid, relu, maximum,
                              minimum, clip, where)
from .ops.reduce import sum, mean, max, min, amax, amin, var, std, logsumexp, softmax, log_softmax
from .ops.shape import (reshape, transpose, swapaxes, squeeze, expand_dims, unsqueeze,
                        broadcast_to, flatten, astype, concatenate, stack)
from .ops.linalg import matmul, dot
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_jacobian
from .serialization import save, load

from . import data, functional, interop, linalg, nn, optim, viz  # noqa: E402  (tg.nn.Linear, tg.optim.SGD, ...)
from . import onnx  # noqa: E402  (tg.onnx.export; the onnx package itself is imported lazily)
from .nn._rng import initial_seed, manual_seed  # noqa: E402
from ._jit import TraceError, jit  # noqa: E402

# ``tinygrad_edu.tensor`` is the submodule tinygrad_edu/tensor.py, made callable there:
# ``tg.tensor([1.0, 2.0])`` is ``torch.tensor``'s spelling of ``Tensor([1.0, 2.0])``.
from . import tensor  # noqa: E402

cat = concatenate


def _export_families():
    from .ops import families

    for mod in families():
        for name in getattr(mod, "__all__", ()):
            globals()[name] = getattr(mod, name)
            if name not in __all__:
                __all__.append(name)


__version__ = "0.1.0"

__all__ = [
    "Tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange", "eye",
    "rand", "randn", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "detect_anomaly", "is_anomaly_enabled", "Function",
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "sqrt", "sin", "cos", "abs",
    "tanh", "sigmoid", "relu", "maximum", "minimum", "clip", "where", "sum", "mean", "max", "min",
    "amax", "amin", "tensor", "manual_seed", "initial_seed",
    "var", "std", "logsumexp", "softmax", "log_softmax", "reshape", "transpose", "swapaxes",
    "squeeze", "expand_dims", "unsqueeze", "broadcast_to", "flatten", "astype", "concatenate",
    "cat", "stack", "matmul", "dot", "save", "load",
    "gradcheck", "gradgradcheck", "numerical_jacobian", "GradcheckError", "jit", "TraceError",
]
_export_families()
