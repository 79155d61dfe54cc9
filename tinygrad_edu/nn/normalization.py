"""``BatchNorm1d``: batch normalisation with running statistics."""
from __future__ import annotations

import numpy as np

from . import functional as F
from . import init
from ._sizes import as_size
from .module import Module
from .parameter import Parameter


class BatchNorm1d(Module):
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

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *, dtype=np.float64):
        super().__init__()
        self.num_features = as_size("BatchNorm1d", "num_features", num_features, 1)
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
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape "
                             f"(N, {self.num_features}) or (N, {self.num_features}, L), got {x.shape}")
        updating = self.training and self.track_running_stats
        if self.momentum is None:  # cumulative moving average over all batches
            factor = 1.0 / (int(self.num_batches_tracked.data) + 1) if updating else 0.0
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

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")
