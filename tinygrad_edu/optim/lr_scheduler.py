"""Learning-rate schedulers with PyTorch's semantics: ``StepLR``, ``ExponentialLR``,
``CosineAnnealingLR`` here, and ``LambdaLR``, ``MultiplicativeLR``, ``LinearLR``, ``OneCycleLR``,
``SequentialLR``, ``ReduceLROnPlateau`` (from ``lr_schedules.py``).

Usage, as in PyTorch: call ``scheduler.step()`` once per epoch, after the
epoch's ``optimizer.step()`` calls::

    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_one_epoch(model, opt)
        sched.step()

A scheduler writes each parameter group's ``"lr"``. ``step()`` updates it
*recursively* from the current value (PyTorch's "chainable" form, so
schedulers compose and manual changes to ``lr`` carry on), while
``step(epoch)`` jumps with the closed form of ``_get_closed_form_lr``. The two
agree up to floating-point rounding.
"""
from __future__ import annotations

import math
import numbers

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR",
           "MultiplicativeLR", "LinearLR", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau"]


class LRScheduler:
    """Base class: tracks ``last_epoch`` and sets every group's ``lr`` on ``step()``.

    Args:
        optimizer: the :class:`~tinygrad_edu.optim.Optimizer` whose groups' ``lr`` to drive.
        last_epoch: index of the last epoch; -1 (default) starts a fresh
            schedule: each group's ``initial_lr`` is set to its current ``lr``.
            To resume, pass the epoch reached, with ``initial_lr`` already in
            the groups (e.g. restored by ``optimizer.load_state_dict``).

    Construction performs the first ``step()`` (to ``last_epoch = 0``), as
    PyTorch does. Subclasses implement ``get_lr()`` (recursive form) and
    optionally ``_get_closed_form_lr()``.

    Raises:
        TypeError: ``optimizer`` is not an Optimizer.
        KeyError: resuming (``last_epoch != -1``) without ``initial_lr`` in a group.
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{type(self).__name__}: param 'initial_lr' is not specified in "
                                   f"param_groups[{i}] when resuming an optimizer (last_epoch={last_epoch})")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._step_count = 0
        self.step()

    def get_lr(self) -> list:
        """The learning rates for ``self.last_epoch``, computed from the groups' current ``lr``."""
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The learning rates set by the last ``step()``, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None):
        """Advance one epoch (or jump to ``epoch``, with the closed form) and set each group's ``lr``."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = int(epoch)
            closed = getattr(self, "_get_closed_form_lr", None)
            values = closed() if closed is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Every attribute except the optimizer (numbers and lists: ``tinygrad_edu.save`` can store it)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict):
        """Restore attributes saved by :meth:`state_dict`.

        Does not touch the optimizer's ``lr`` (restore the optimizer's own
        state dict for that, as in PyTorch).

        Raises ValueError, before changing anything, for a key this scheduler
        does not have or a ``base_lrs`` whose length differs from the number
        of parameter groups.
        """
        unknown = [k for k in state_dict if k == "optimizer" or k not in self.__dict__]
        if unknown:
            raise ValueError(f"{type(self).__name__}.load_state_dict: unexpected keys {unknown}")
        n = len(self.optimizer.param_groups)
        if "base_lrs" in state_dict and len(state_dict["base_lrs"]) != n:
            raise ValueError(f"{type(self).__name__}.load_state_dict: {len(state_dict['base_lrs'])} "
                             f"base_lrs saved, the optimizer has {n} parameter groups")
        self.__dict__.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in state_dict.items()})

    def _lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self.get_last_lr()})"


def _check_positive(cls, name, value, integer=False):
    ok = isinstance(value, numbers.Integral) if integer else isinstance(value, numbers.Real)
    if not ok or isinstance(value, bool) or not value > 0 or not math.isfinite(value):
        kind = "a positive integer" if integer else "a positive finite number"
        raise ValueError(f"{cls}: {name} must be {kind}, got {value!r}")


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    Closed form: ``lr(epoch) = base_lr * gamma ** (epoch // step_size)``.

    Raises ValueError if ``step_size`` is not a positive integer or ``gamma``
    not a positive finite number.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _check_positive("StepLR", "step_size", step_size, integer=True)
        _check_positive("StepLR", "gamma", gamma)
        self.step_size, self.gamma = int(step_size), gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch.

    Closed form: ``lr(epoch) = base_lr * gamma ** epoch``.

    Raises ValueError if ``gamma`` is not a positive finite number.
    """

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        _check_positive("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return self._lrs()
        return [lr * self.gamma for lr in self._lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base learning rate down to ``eta_min`` over ``T_max`` epochs.

    Loshchilov & Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm
    Restarts" (ICLR), eq. 5, without the restarts. Closed form::

        lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Past ``T_max`` the rate climbs back up (a cosine of period ``2 * T_max``),
    as in PyTorch. ``step()`` uses PyTorch's recursive form::

        lr_t = eta_min + (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))

    (with PyTorch's special case where the denominator vanishes).

    Raises ValueError if ``T_max`` is not a positive integer or ``eta_min`` is negative.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_positive("CosineAnnealingLR", "T_max", T_max, integer=True)
        if not eta_min >= 0:
            raise ValueError(f"CosineAnnealingLR: eta_min must be >= 0, got {eta_min!r}")
        self.T_max, self.eta_min = int(T_max), eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return self._lrs()
        if self._step_count == 1 and t > 0:  # resumed mid-schedule: no previous lr to recurse from
            return [eta + (base - eta) * (1 + math.cos(t * math.pi / T)) / 2 for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:  # the recursion's denominator is zero here
            return [lr + (base - eta) * (1 - math.cos(math.pi / T)) / 2
                    for lr, base in zip(self._lrs(), self.base_lrs)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta) + eta
                for lr in self._lrs()]

    def _get_closed_form_lr(self):
        t, T, eta = self.last_epoch, self.T_max, self.eta_min
        return [eta + (base - eta) * (1 + math.cos(math.pi * t / T)) / 2 for base in self.base_lrs]


from .lr_schedules import (LambdaLR, LinearLR, MultiplicativeLR, OneCycleLR,  # noqa: E402
                           ReduceLROnPlateau, SequentialLR)
