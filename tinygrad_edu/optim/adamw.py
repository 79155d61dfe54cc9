"""AdamW: Adam with decoupled weight decay, as PyTorch."""
from __future__ import annotations

from .adam import Adam


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization" (ICLR).
    Adam adds ``weight_decay * p`` to the gradient, so the decay is rescaled
    by Adam's per-parameter step size and weights with large gradients are
    barely regularised; AdamW instead shrinks the weights directly, before
    the Adam step (state ``step``, ``exp_avg`` m, ``exp_avg_sq`` v)::

        p = p * (1 - lr * weight_decay)          # i.e. p -= lr * weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g      # (max over steps if amsgrad)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Same arguments as :class:`Adam`, except ``weight_decay`` defaults to
    ``1e-2`` and is never added to the gradient. Parameters whose ``grad``
    is None are skipped (not decayed either).

    Raises:
        ValueError: a hyperparameter out of range (named, with its value).
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
