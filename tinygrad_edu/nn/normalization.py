"""Normalisation layers: ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``, ``RMSNorm``,
``InstanceNorm1d/2d``, with PyTorch's parameter and buffer names (``weight``, ``bias``,
``running_mean``, ``running_var``, ``num_batches_tracked``) so PyTorch state_dicts load as is."""
from __future__ import annotations

import numpy as np

from .._mode import mode as _mode
from . import functional as F
from . import init
from ._sizes import as_size
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    """The shared body of ``BatchNorm1d/2d/3d`` (they differ only in the input ranks accepted)."""

    _ranks = ()
    _axes = ("L",)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, dtype=np.float64):
        super().__init__()
        self.num_features = as_size(type(self).__name__, "num_features", num_features, 1)
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype=dtype))
            self.bias = Parameter(np.zeros(c, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dtype))
            self.register_buffer("running_var", np.ones(c, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """Running mean to 0, running variance to 1, batch count to 0 (in place)."""
        # nn.init's fills mark the write, so a graph recorded before refuses to back-propagate.
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self):
        """Reset the running statistics and the affine parameters (weight 1, bias 0)."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        x = F.as_tensor(x)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of shape "
                             f"{self._expected()}, got {x.shape}")
        updating = self.training and self.track_running_stats
        if self.momentum is None:  # cumulative moving average over all batches
            if not updating:
                factor = 0.0
            elif _mode.tracing is None:
                factor = 1.0 / (int(self.num_batches_tracked.data) + 1)
            else:  # the same division on the 0-d count, recorded by the jit (int() would read it)
                factor = 1.0 / (self.num_batches_tracked.data + 1)
        else:
            factor = self.momentum
        # PyTorch's rule: batch statistics in training, and in eval too when
        # there are no running statistics to use.
        use_batch = self.training or self.running_mean is None
        stats = self.running_mean, self.running_var
        if self.training and not self.track_running_stats:
            stats = None, None
        y = F.batch_norm(x, *stats, self.weight, self.bias, use_batch, factor, self.eps)
        if updating:  # after F.batch_norm succeeded, so a failed call changes nothing
            self.num_batches_tracked.data += 1
        return y

    def _expected(self):
        c = self.num_features
        return " or ".join(f"(N, {c}{''.join(', ' + a for a in self._axes[:r - 2])})" for r in self._ranks)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over a 2-D or 3-D input (Ioffe & Szegedy 2015,
    "Batch Normalization: Accelerating Deep Network Training by Reducing
    Internal Covariate Shift"), as ``torch.nn.BatchNorm1d``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` per channel.

    - Training mode: ``mean``/``var`` are the batch statistics over the batch
      (and length) axes, with the biased variance; the running statistics are
      updated as ``running = (1 - momentum) * running + momentum * batch``
      using the *unbiased* batch variance (PyTorch's convention), and
      ``num_batches_tracked`` is incremented.
    - Evaluation mode (``eval()``): the running statistics are used, so the
      output of one sample does not depend on the rest of the batch.

    Args:
        num_features: C, the number of channels (axis 1 of the input).
        eps: added to the variance (default 1e-5).
        momentum: weight of each new batch in the running averages (default
            0.1); None makes them cumulative averages of all batches seen
            (factor ``1 / num_batches_tracked``).
        affine: learn a per-channel ``weight`` (init 1) and ``bias`` (init 0).
        track_running_stats: keep ``running_mean`` (init 0), ``running_var``
            (init 1) and ``num_batches_tracked`` as buffers (saved in
            ``state_dict``); if False, batch statistics are used in both modes.
        dtype: dtype of parameters and running statistics (float64 default).

    Shapes: input ``(N, C)`` or ``(N, C, L)`` -> output of the same shape.

    Raises TypeError for a non-integer ``num_features`` and ValueError
    below 1; on call, ValueError for an input of another rank or channel
    count, or, in training, a batch with a single value per channel; the
    running statistics are then left unchanged.
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images ``(N, C, H, W)``, as ``torch.nn.BatchNorm2d``.

    Statistics per channel over ``N, H, W``; arguments, modes, buffers and
    errors as :class:`BatchNorm1d`.
    """

    _ranks = (4,)
    _axes = ("H", "W")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of volumes ``(N, C, D, H, W)``, as ``torch.nn.BatchNorm3d``.

    Statistics per channel over ``N, D, H, W``; otherwise as :class:`BatchNorm1d`.
    """

    _ranks = (5,)
    _axes = ("D", "H", "W")


def _normalized_shape(layer, normalized_shape):
    if isinstance(normalized_shape, bool):
        raise TypeError(f"{layer}: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}")
    if isinstance(normalized_shape, (int, np.integer)):
        normalized_shape = (normalized_shape,)
    try:
        return tuple(as_size(layer, "normalized_shape", n) for n in normalized_shape)
    except TypeError:
        raise TypeError(f"{layer}: normalized_shape must be an int or a tuple of ints, "
                        f"got {normalized_shape!r}") from None


class LayerNorm(Module):
    """Layer normalisation (Ba, Kiros & Hinton 2016), as ``torch.nn.LayerNorm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias`` with the mean and
    biased variance of each sample over the last ``len(normalized_shape)``
    axes; the same in training and evaluation (no running statistics).

    Args:
        normalized_shape: int or tuple, the trailing axes normalised.
        eps: added to the variance (default 1e-5).
        elementwise_affine: learn ``weight`` (init 1) of shape
            ``normalized_shape`` and, with ``bias=True``, ``bias`` (init 0).
        bias: learn a bias (only with ``elementwise_affine``).
        dtype: parameter dtype (float64 default).

    Shapes: ``(*, *normalized_shape)`` -> the same.

    Raises TypeError/ValueError for a bad ``normalized_shape``; on call,
    ValueError naming the shapes when the input's trailing axes differ.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, *, dtype=np.float64):
        super().__init__()
        self.normalized_shape = _normalized_shape("LayerNorm", normalized_shape)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """Weight to 1, bias to 0 (in place)."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """Root-mean-square normalisation (Zhang & Sennrich 2019), as ``torch.nn.RMSNorm``.

    ``y = x / sqrt(mean(x^2) + eps) * weight`` over the last
    ``len(normalized_shape)`` axes; no centring and no bias.

    Args:
        normalized_shape: int or tuple, the trailing axes normalised.
        eps: None (default: ``np.finfo(x.dtype).eps`` of the input, as PyTorch) or a float.
        elementwise_affine: learn ``weight`` (init 1) of shape ``normalized_shape``.
        dtype: parameter dtype (float64 default).

    Errors as :class:`LayerNorm`.
    """

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True,
                 *, dtype=np.float64):
        super().__init__()
        self.normalized_shape = _normalized_shape("RMSNorm", normalized_shape)
        self.eps = None if eps is None else float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        """Weight to 1 (in place)."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018), as ``torch.nn.GroupNorm``.

    The ``num_channels`` channels of ``(N, C, *)`` are split into
    ``num_groups`` groups; each sample's group is normalised over its
    channels and positions, then a per-channel ``weight``/``bias`` apply.
    The same in training and evaluation.

    Args:
        num_groups: number of groups; must divide ``num_channels``.
        num_channels: C.
        eps: added to the variance (default 1e-5).
        affine: learn ``weight`` (init 1) and ``bias`` (init 0) of shape ``(C,)``.
        dtype: parameter dtype (float64 default).

    Raises ValueError when ``num_groups`` does not divide ``num_channels``;
    on call, ValueError for an input whose axis 1 is not ``num_channels``.
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 *, dtype=np.float64):
        super().__init__()
        self.num_groups = as_size("GroupNorm", "num_groups", num_groups, 1)
        self.num_channels = as_size("GroupNorm", "num_channels", num_channels, 1)
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={self.num_channels} must be divisible by "
                             f"num_groups={self.num_groups}")
        self.eps = float(eps)
        self.affine = bool(affine)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype=dtype))
            self.bias = Parameter(np.zeros(self.num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """Weight to 1, bias to 0 (in place)."""
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, x):
        x = F.as_tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected input of "
                             f"shape (N, {self.num_channels}, *), got {x.shape}")
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(_BatchNorm):
    """The shared body of ``InstanceNorm1d/2d``: PyTorch's defaults ``affine=False``,
    ``track_running_stats=False``; an unbatched input (one rank less) is accepted."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = False, track_running_stats: bool = False, *, dtype=np.float64):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype=dtype)

    def forward(self, x):
        x = F.as_tensor(x)
        batched = self._ranks[-1]
        if x.ndim not in self._ranks or x.shape[x.ndim - batched + 1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of shape "
                             f"{self._expected()}, got {x.shape}")
        xb = x if x.ndim == batched else x.reshape((1,) + x.shape)
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum  # as PyTorch
        y = F.instance_norm(xb, self.running_mean, self.running_var, self.weight, self.bias,
                            use_input_stats, momentum, self.eps)
        return y if x.ndim == batched else y.reshape(x.shape)

    def _expected(self):
        c, axes = self.num_features, ", ".join(self._axes)
        return f"(N, {c}, {axes}) or ({c}, {axes})"


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation (Ulyanov et al. 2016) of ``(N, C, L)`` or unbatched ``(C, L)``,
    as ``torch.nn.InstanceNorm1d``.

    Each sample's channel is normalised over L (biased variance). With
    ``affine`` a per-channel ``weight``/``bias``; with
    ``track_running_stats`` the running mean/variance (batch averages of the
    per-instance statistics, unbiased variance) are updated in training and
    used in evaluation. Defaults ``affine=False``, ``track_running_stats=False``
    as PyTorch. Raises ValueError on call for another rank or channel count.
    """

    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of ``(N, C, H, W)`` or unbatched ``(C, H, W)``, as
    ``torch.nn.InstanceNorm2d``; otherwise as :class:`InstanceNorm1d`."""

    _ranks = (3, 4)
    _axes = ("H", "W")
