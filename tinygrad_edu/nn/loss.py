"""Loss modules: ``MSELoss``, ``L1Loss``, ``BCELoss``, ``BCEWithLogitsLoss``, ``CrossEntropyLoss``, ``NLLLoss``.

Each is called as ``loss_fn(input, target)`` and wraps the function of the
same meaning in :mod:`tinygrad_edu.nn.functional`, where the formulas and
errors are documented. PyTorch's reference:
https://pytorch.org/docs/stable/nn.html#loss-functions.

``reduction`` is checked when the module is built: anything but ``"mean"``,
``"sum"`` or ``"none"`` raises ValueError. Class weights and ``pos_weight``
are registered as buffers (so they are in ``state_dict``), as PyTorch; a
non-numeric one raises TypeError (``CrossEntropyLoss("sum")`` passes "sum"
as the weight: give ``reduction=`` by name).
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from ._loss_functional import check_reduction
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(type(self).__name__, reduction)


def _buffer_value(loss, name, x):
    if x is None:
        return None
    arr = np.asarray(x.data if hasattr(x, "data") else x)
    if arr.dtype.kind not in "biuf":
        hint = f"; pass the reduction by name, reduction={x!r}" if isinstance(x, str) else ""
        raise TypeError(f"{loss}: {name} must be a numeric array, a Tensor or None, got "
                        f"{type(x).__name__} {x!r:.40}{hint}")
    return arr.astype(np.float64)


class MSELoss(_Loss):
    """Mean squared error ``(x - y)**2`` averaged (or summed) over all elements.

    Shapes: input and target of the same shape. See :func:`~tinygrad_edu.nn.functional.mse_loss`.
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error ``|x - y|``. See :func:`~tinygrad_edu.nn.functional.l1_loss`."""

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1], log terms clamped at -100.

    Use after a ``Sigmoid``; ``BCEWithLogitsLoss`` on raw scores is more
    accurate. See :func:`~tinygrad_edu.nn.functional.binary_cross_entropy`.

    Args:
        weight: optional per-element rescaling, broadcastable to the input.
        reduction: "mean" | "sum" | "none".
    """

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_value(type(self).__name__, "weight", weight))

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable for logits of any size.

    See :func:`~tinygrad_edu.nn.functional.binary_cross_entropy_with_logits`.

    Args:
        weight: optional per-element rescaling, broadcastable to the input.
        reduction: "mean" | "sum" | "none".
        pos_weight: optional weight of positive examples (e.g. ``(C,)``).
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_value(type(self).__name__, "weight", weight))
        self.register_buffer("pos_weight", _buffer_value(type(self).__name__, "pos_weight", pos_weight))

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class NLLLoss(_Loss):
    """Negative log-likelihood of class indices, for log-probability inputs.

    See :func:`~tinygrad_edu.nn.functional.nll_loss`.

    Args:
        weight: optional per-class weights ``(C,)``.
        ignore_index: target value to skip (default -100).
        reduction: "mean" | "sum" | "none".
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _buffer_value(type(self).__name__, "weight", weight))
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits ``(N, C)`` (or ``(N, C, d1, ...)``) and integer class indices.

    Stable for logits of any size. See :func:`~tinygrad_edu.nn.functional.cross_entropy`.

    Args:
        weight: optional per-class weights ``(C,)``.
        ignore_index: target value to skip (default -100).
        reduction: "mean" | "sum" | "none".
        label_smoothing: in [0, 1]; mixes the target with the uniform
            distribution (PyTorch's formula).

    Raises ValueError for an invalid reduction or label_smoothing.
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing!r}")
        self.register_buffer("weight", _buffer_value(type(self).__name__, "weight", weight))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)
