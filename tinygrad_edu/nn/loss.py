"""Loss modules: ``MSELoss``, ``L1Loss``, ``BCELoss``, ``BCEWithLogitsLoss``, ``CrossEntropyLoss``,
``NLLLoss``, ``KLDivLoss``, ``HuberLoss``, ``SmoothL1Loss``, ``SoftMarginLoss``, ``MarginRankingLoss``,
``CosineEmbeddingLoss``, ``TripletMarginLoss``, ``PoissonNLLLoss``, ``GaussianNLLLoss`` (and
``PairwiseDistance``).

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
from ..ops._common import asarray as _asarray


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_reduction(type(self).__name__, reduction)


def _buffer_value(loss, name, x):
    if x is None:
        return None
    arr = _asarray(x.data if hasattr(x, "data") else x)
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


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence of log-probability inputs. See :func:`~tinygrad_edu.nn.functional.kl_div`.

    ``reduction="batchmean"`` gives the true KL divergence per sample;
    PyTorch's default ``"mean"`` averages over all elements.
    """

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        Module.__init__(self)
        if reduction != "batchmean":
            check_reduction("KLDivLoss", reduction)
        self.reduction, self.log_target = reduction, bool(log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, self.reduction, self.log_target)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta``. See :func:`~tinygrad_edu.nn.functional.huber_loss`."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """Smooth L1 loss with threshold ``beta``. See :func:`~tinygrad_edu.nn.functional.smooth_l1_loss`."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class SoftMarginLoss(_Loss):
    """Logistic loss for targets in {1, -1}. See :func:`~tinygrad_edu.nn.functional.soft_margin_loss`."""

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, self.reduction)


class MarginRankingLoss(_Loss):
    """``max(0, -y (x1 - x2) + margin)``. See :func:`~tinygrad_edu.nn.functional.margin_ranking_loss`."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class CosineEmbeddingLoss(_Loss):
    """Cosine similarity loss. See :func:`~tinygrad_edu.nn.functional.cosine_embedding_loss`."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class TripletMarginLoss(_Loss):
    """Triplet loss on p-norm distances. See :func:`~tinygrad_edu.nn.functional.triplet_margin_loss`."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean"):
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood. See :func:`~tinygrad_edu.nn.functional.poisson_nll_loss`."""

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                 reduction: str = "mean"):
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, input, target):
        return F.poisson_nll_loss(input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood. See :func:`~tinygrad_edu.nn.functional.gaussian_nll_loss`."""

    def __init__(self, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` over the last axis. See :func:`~tinygrad_edu.nn.functional.pairwise_distance`."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """Cosine similarity along ``dim``. See :func:`~tinygrad_edu.nn.functional.cosine_similarity`."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
