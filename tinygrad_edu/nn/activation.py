"""Activation modules: ``ReLU``, ``LeakyReLU``, ``Tanh``, ``Sigmoid``, ``Softmax``, ``LogSoftmax``,
``GELU``, ``SiLU``, ``Softplus``, ``ELU``, ``SELU``, ``CELU``, ``Mish``, ``Hardtanh``, ``ReLU6``,
``Hardswish``, ``Hardsigmoid``, ``LogSigmoid``, ``Softsign``, ``Tanhshrink``, ``Softshrink``,
``Hardshrink``, ``GLU`` and ``PReLU`` (the only one with a parameter).

Each wraps the function of the same name in :mod:`tinygrad_edu.nn.functional`;
they have no parameters and behave the same in training and evaluation.
Inputs may be Tensors or arrays; the output has the input's shape.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import functional as F
from ._sizes import as_size
from .module import Module
from .parameter import Parameter


class ReLU(Module):
    """Elementwise ``max(x, 0)`` (Nair & Hinton 2010); the derivative at 0 is 0, as PyTorch."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """Elementwise ``x if x > 0 else negative_slope * x`` (Maas et al. 2013).

    Args:
        negative_slope: slope for x <= 0 (default 0.01, as PyTorch).
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Tanh(Module):
    """Elementwise hyperbolic tangent; d/dx = 1 - tanh(x)**2."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """Elementwise ``1 / (1 + exp(-x))``, the blog's ``nonlin`` (see :func:`tinygrad_edu.sigmoid`)."""

    def forward(self, x):
        return F.sigmoid(x)


def _axis_arg(cls, axis, dim):
    if axis is not None and dim is not None:
        raise TypeError(f"{cls}: pass either axis= or dim=, not both")
    axis = dim if axis is None else axis
    return -1 if axis is None else int(axis)


def _warn_implicit(module, x):
    """PyTorch's ``nn.Softmax()`` without ``dim`` normalises dim 0 of a 3-D input and dim 1
    of a 4-D or larger one (its deprecated implicit choice); ours the last axis. The same
    code would give other values silently: warn, naming the fix."""
    ndim = getattr(x, "ndim", np.ndim(x))
    if getattr(module, "_implicit", False) and ndim >= 3:
        name = type(module).__name__
        warnings.warn(f"{name}() without dim on a {ndim}-D input normalises the last axis; "
                      f"PyTorch's {name}() would use dim={0 if ndim == 3 else 1}. Pass dim= "
                      f"explicitly ({name}(dim=-1) keeps this behaviour)", UserWarning, stacklevel=3)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``axis`` (default the last), stable for any logits.

    Args:
        axis: the axis that sums to 1; ``dim=`` is accepted as PyTorch's name.

    Without an axis on an input of 3 or more dimensions it warns (UserWarning):
    PyTorch's ``Softmax()`` would normalise dim 0 (3-D) or dim 1 (4-D and more).
    """

    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        self.axis = _axis_arg("Softmax", axis, dim)
        self._implicit = axis is None and dim is None

    def forward(self, x):
        _warn_implicit(self, x)
        return F.softmax(x, self.axis)

    def extra_repr(self):
        return f"dim={self.axis}"


class LogSoftmax(Module):
    """``x - logsumexp(x)`` along ``axis`` (default the last): log-probabilities, stable.

    Args:
        axis: the normalised axis; ``dim=`` is accepted as PyTorch's name.

    Without an axis on an input of 3 or more dimensions it warns, as :class:`Softmax`.
    """

    def __init__(self, axis: int | None = None, *, dim: int | None = None):
        super().__init__()
        self.axis = _axis_arg("LogSoftmax", axis, dim)
        self._implicit = axis is None and dim is None

    def forward(self, x):
        _warn_implicit(self, x)
        return F.log_softmax(x, self.axis)

    def extra_repr(self):
        return f"dim={self.axis}"


# ---- the activations of ops/activation.py ---------------------------------------------
def _inplace(cls, inplace):
    if inplace:
        raise ValueError(f"{cls}: inplace=True is not supported (ops return a new Tensor)")
    return False


class _Simple(Module):
    """An activation without arguments: ``forward`` applies ``F.<_fn>``."""

    _fn = ""

    def forward(self, x):
        return getattr(F, self._fn)(x)


class _InplaceArg(_Simple):
    """An activation whose PyTorch constructor takes only ``inplace`` (True is refused)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = _inplace(type(self).__name__, inplace)


class GELU(Module):
    """Gaussian error linear unit, ``x * Phi(x)`` (Hendrycks & Gimpel 2016), as ``torch.nn.GELU``.

    Args:
        approximate: ``"none"`` (exact, via erf) or ``"tanh"``.
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_InplaceArg):
    """``x * sigmoid(x)`` (swish), as ``torch.nn.SiLU``."""

    _fn = "silu"


class Mish(_InplaceArg):
    """``x * tanh(softplus(x))`` (Misra 2019), as ``torch.nn.Mish``."""

    _fn = "mish"


class SELU(_InplaceArg):
    """Scaled ELU (Klambauer et al. 2017), as ``torch.nn.SELU``."""

    _fn = "selu"


class Hardswish(_InplaceArg):
    """``x * relu6(x + 3) / 6`` (MobileNetV3), as ``torch.nn.Hardswish``."""

    _fn = "hardswish"


class Hardsigmoid(_InplaceArg):
    """``relu6(x + 3) / 6``, as ``torch.nn.Hardsigmoid``."""

    _fn = "hardsigmoid"


class LogSigmoid(_Simple):
    """``log(sigmoid(x))``, stable for any x, as ``torch.nn.LogSigmoid``."""

    _fn = "logsigmoid"


class Softsign(_Simple):
    """``x / (1 + |x|)``, as ``torch.nn.Softsign``."""

    _fn = "softsign"


class Tanhshrink(_Simple):
    """``x - tanh(x)``, as ``torch.nn.Tanhshrink``."""

    _fn = "tanhshrink"


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``, as ``torch.nn.Softplus``.

    Args:
        beta: sharpness (default 1).
        threshold: above ``beta x > threshold`` the output is ``x`` (default 20).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    """``x`` if x > 0 else ``alpha * (exp(x) - 1)`` (Clevert et al. 2015), as ``torch.nn.ELU``.

    Args:
        alpha: the negative saturation value (default 1).
        inplace: must be False.
    """

    _fn = "elu"

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = alpha
        self.inplace = _inplace(type(self).__name__, inplace)

    def forward(self, x):
        return getattr(F, self._fn)(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class CELU(ELU):
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))`` (Barron 2017), as ``torch.nn.CELU``.

    Raises ValueError (on call) for ``alpha = 0``.
    """

    _fn = "celu"


class Hardtanh(Module):
    """``x`` clipped to ``[min_val, max_val]``, as ``torch.nn.Hardtanh``; gradient 0 at the bounds.

    Raises ValueError when ``max_val < min_val``.
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if max_val < min_val:
            raise ValueError(f"{type(self).__name__}: max_val must be greater than or equal to "
                             f"min_val, got min_val={min_val}, max_val={max_val}")
        self.min_val, self.max_val = min_val, max_val
        self.inplace = _inplace(type(self).__name__, inplace)

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}"


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``, as ``torch.nn.ReLU6``; gradient 0 at 0 and at 6."""

    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return ""


class Softshrink(Module):
    """``x - lambd`` above lambd, ``x + lambd`` below -lambd, else 0, as ``torch.nn.Softshrink``."""

    _fn = "softshrink"

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, x):
        return getattr(F, self._fn)(x, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Softshrink):
    """``x`` where ``|x| > lambd``, else 0, as ``torch.nn.Hardshrink``."""

    _fn = "hardshrink"


class GLU(Module):
    """Gated linear unit ``a * sigmoid(b)`` over the halves of axis ``dim``, as ``torch.nn.GLU``."""

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.glu(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """Parametric ReLU (He et al. 2015): ``x`` for x > 0 else ``weight * x``, as ``torch.nn.PReLU``.

    Args:
        num_parameters: 1 (one slope shared by all channels) or C (one per
            channel, axis 1 of the input).
        init: initial slope (default 0.25).
        dtype: parameter dtype (float64 default).

    Parameter ``weight`` of shape ``(num_parameters,)``.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, *, dtype=np.float64):
        super().__init__()
        self.num_parameters = as_size("PReLU", "num_parameters", num_parameters, 1)
        self.init = float(init)
        self.weight = Parameter(np.full(self.num_parameters, self.init, dtype=dtype))

    def reset_parameters(self):
        """Every slope back to ``init`` (in place)."""
        from .init import constant_

        constant_(self.weight, self.init)

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
