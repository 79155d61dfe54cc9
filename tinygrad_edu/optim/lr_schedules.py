"""More schedulers with PyTorch's semantics: ``LambdaLR``, ``MultiplicativeLR``, ``LinearLR``,
``OneCycleLR``, ``SequentialLR`` and ``ReduceLROnPlateau``.

They are re-exported by ``tinygrad_edu.optim.lr_scheduler`` (use them from
there); this file keeps the base class's module short. Every formula is
PyTorch's (``torch/optim/lr_scheduler.py``), checked against learning rates
PyTorch computed (``tests/reference/schedulers.npz``).
"""
from __future__ import annotations

import math
import numbers
from bisect import bisect_right

from .lr_scheduler import LRScheduler, _check_positive
from .optimizer import Optimizer

__all__ = ["LambdaLR", "MultiplicativeLR", "LinearLR", "OneCycleLR", "SequentialLR",
           "ReduceLROnPlateau"]


def _per_group(cls, name, fn, optimizer):
    """One callable per parameter group (a single callable is used for all)."""
    n = len(optimizer.param_groups)
    fns = list(fn) if isinstance(fn, (list, tuple)) else [fn] * n
    if len(fns) != n:
        raise ValueError(f"{cls}: expected {n} {name} functions (one per parameter group), got {len(fns)}")
    for f in fns:
        if not callable(f):
            raise TypeError(f"{cls}: {name} must be callable, got {type(f).__name__}")
    return fns


class LambdaLR(LRScheduler):
    """``lr(epoch) = base_lr * lr_lambda(epoch)``: any schedule written as a function.

    ``lr_lambda`` is one function of the epoch (an int) or a list with one
    per parameter group. Raises TypeError for a non-callable, ValueError for
    a list of the wrong length.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"LambdaLR: {type(optimizer).__name__} is not an Optimizer")
        self.lr_lambdas = _per_group("LambdaLR", "lr_lambda", lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        """As the base class, without the functions (they cannot be saved as data)."""
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class MultiplicativeLR(LRScheduler):
    """Multiply the learning rate by ``lr_lambda(epoch)`` at every step after the first.

    ``lr(epoch) = lr(epoch - 1) * lr_lambda(epoch)``; ``lr_lambda`` as in :class:`LambdaLR`.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"MultiplicativeLR: {type(optimizer).__name__} is not an Optimizer")
        self.lr_lambdas = _per_group("MultiplicativeLR", "lr_lambda", lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch > 0:
            return [lr * f(self.last_epoch) for lr, f in zip(self._lrs(), self.lr_lambdas)]
        return self._lrs()

    def state_dict(self):
        """As the base class, without the functions."""
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps.

    Closed form: ``lr(epoch) = base_lr * (start + (end - start) * min(epoch, total_iters) / total_iters)``;
    a linear warm-up with the defaults (1/3 to 1 over 5 steps).

    Raises ValueError unless ``0 < start_factor <= 1``, ``0 <= end_factor <= 1``
    and ``total_iters`` is a positive integer.
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not (isinstance(start_factor, numbers.Real) and 0 < start_factor <= 1):
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not (isinstance(end_factor, numbers.Real) and 0 <= end_factor <= 1):
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        _check_positive("LinearLR", "total_iters", total_iters, integer=True)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, s, e, n = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [lr * s for lr in self._lrs()]
        if t > n:
            return self._lrs()
        return [lr * (1.0 + (e - s) / (n * s + (t - 1) * (e - s))) for lr in self._lrs()]

    def _get_closed_form_lr(self):
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(n, self.last_epoch) / n) for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018, "Super-Convergence", arXiv:1708.07120).

    Call ``step()`` after every *batch*. The learning rate rises from
    ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    ``total_steps``, then anneals to ``max_lr / div_factor / final_div_factor``
    (``three_phase=True``: back to the initial rate first, then down to the
    minimum, as fastai). With ``cycle_momentum`` the momentum (SGD) or
    ``beta1`` (Adam, AdamW) moves the opposite way, between
    ``max_momentum`` and ``base_momentum``. Annealing is cosine
    (``anneal_strategy='cos'``: ``end + (start - end) / 2 * (1 + cos(pi * pct))``)
    or linear. As PyTorch, the constructor overwrites each group's ``lr``
    (and ``initial_lr``) with ``max_lr / div_factor``.

    Give ``total_steps``, or ``epochs`` and ``steps_per_epoch``
    (``total_steps = epochs * steps_per_epoch``). ``max_lr`` may be a list
    with one value per parameter group.

    Raises:
        ValueError: neither ``total_steps`` nor both ``epochs`` and
            ``steps_per_epoch`` given, or not positive; ``pct_start`` outside
            [0, 1]; an unknown ``anneal_strategy``; ``cycle_momentum`` with an
            optimizer that has neither ``momentum`` nor ``betas``; stepping
            past ``total_steps``.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum=0.85, max_momentum=0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"OneCycleLR: {type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            _check_positive("OneCycleLR", "total_steps", total_steps, integer=True)
            self.total_steps = int(total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            _check_positive("OneCycleLR", "epochs", epochs, integer=True)
            _check_positive("OneCycleLR", "steps_per_epoch", steps_per_epoch, integer=True)
            self.total_steps = int(epochs) * int(steps_per_epoch)
        else:
            raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
        if not (isinstance(pct_start, numbers.Real) and 0 <= pct_start <= 1):
            raise ValueError(f"OneCycleLR: pct_start must be a number in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        T = self.total_steps
        if three_phase:
            self._phases = [(float(pct_start * T) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * T) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(float(pct_start * T) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        groups = optimizer.param_groups
        max_lrs = _group_values("max_lr", max_lr, len(groups))
        if last_epoch == -1:
            for group, m in zip(groups, max_lrs):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("OneCycleLR: optimizer must support momentum or betas with "
                                 "cycle_momentum enabled (pass cycle_momentum=False)")
            self._use_beta1 = "betas" in optimizer.defaults
            bases = _group_values("base_momentum", base_momentum, len(groups))
            maxes = _group_values("max_momentum", max_momentum, len(groups))
            if last_epoch == -1:
                for group, b, m in zip(groups, bases, maxes):
                    self._set_momentum(group, m)
                    group["max_momentum"], group["base_momentum"] = m, b
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group, value):
        if self._use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
                if step <= end or i == len(self._phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(self._anneal(group[lr0], group[lr1], pct))
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[m0], group[m1], pct))
                    break
                start = end
        return lrs


def _group_values(name, value, n):
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"OneCycleLR: expected {n} values of {name} (one per group), got {len(value)}")
        return list(value)
    return [value] * n


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another, switching at the epochs in ``milestones``.

    Typical use: a warm-up then a decay, e.g.
    ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, 95)], milestones=[5])``.
    At a milestone the next scheduler restarts from its own epoch 0 (its
    closed form), as PyTorch.

    Raises ValueError unless there is one milestone fewer than schedulers and
    every scheduler drives ``optimizer``.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"SequentialLR: {type(optimizer).__name__} is not an Optimizer")
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("SequentialLR: expects at least one scheduler")
        for i, s in enumerate(schedulers):
            if getattr(s, "optimizer", None) is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {i} ({type(s).__name__}) drives another optimizer")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                             f"milestones, got {len(milestones)}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        # Undo the first step every scheduler took when it was built, then take
        # the first one's again (PyTorch's order).
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for s in schedulers:
            s.last_epoch -= 1
        schedulers[0]._step_count = 0
        schedulers[0].step()
        self.base_lrs = schedulers[0].base_lrs
        self._last_lr = schedulers[0].get_last_lr()

    def step(self):
        """Advance one epoch in the scheduler whose turn it is."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s.step(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self):
        """Its own counters and each scheduler's state dict."""
        return {"last_epoch": self.last_epoch, "_last_lr": list(self._last_lr),
                "_milestones": list(self._milestones),
                "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict):
        """Restore what :meth:`state_dict` saved."""
        for s, sd in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(sd)
        self.last_epoch = state_dict["last_epoch"]
        self._last_lr = list(state_dict["_last_lr"])
        self._milestones = list(state_dict["_milestones"])


class ReduceLROnPlateau:
    """Multiply the learning rate by ``factor`` when a metric stops improving.

    Call ``step(metric)`` after each evaluation (e.g. with the validation
    loss). After more than ``patience`` evaluations without improvement (in
    ``mode`` 'min': lower by more than ``threshold``, relatively with
    ``threshold_mode='rel'`` or absolutely with 'abs'), every group's rate
    becomes ``max(lr * factor, min_lr)`` (changes smaller than ``eps`` are
    skipped), then ``cooldown`` evaluations pass before counting again.
    Same rules as ``torch.optim.lr_scheduler.ReduceLROnPlateau``.

    Raises ValueError for ``factor >= 1``, an unknown ``mode`` or
    ``threshold_mode``, or a ``min_lr`` list of the wrong length.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an Optimizer")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be < 1.0, got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lrs, got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _is_better(self, a, best):
        rel, thr = self.threshold_mode == "rel", self.threshold
        if self.mode == "min":
            return a < (best * (1.0 - thr) if rel else best - thr)
        return a > (best * (thr + 1.0) if rel else best + thr)

    def step(self, metrics):
        """Record one evaluation of the metric (a number or a one-element Tensor/array)."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, floor)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The learning rates after the last ``step``, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Every attribute except the optimizer."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict):
        """Restore what :meth:`state_dict` saved."""
        self.__dict__.update(state_dict)
