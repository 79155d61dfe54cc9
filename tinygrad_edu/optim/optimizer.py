"""``Optimizer``: the base class, with PyTorch's parameter groups and state_dict."""
from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Mapping
from numbers import Real

import numpy as np

from .._mode import mode as _mode
from ..inplace import mark_tensors_modified
from ..tensor import Tensor


class ParamGroup(dict):
    """A parameter group (``opt.param_groups[i]``): a dict that tells a jit recording
    which hyperparameters the traced function reads itself, outside the optimizer's
    step (a hand-written update ``p.data -= group["lr"] * p.grad.data``, an
    lr-scaled penalty). Such a number becomes a constant of the recorded program,
    so a replay checks that it is unchanged (``tinygrad_edu/_jit/function.py``);
    the optimizer's own step reads its hyperparameters at replay anyway."""

    __slots__ = ()

    def __getitem__(self, key):
        rec = _mode.tracing
        if rec is not None and key != "params":
            rec.read_group(self, key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        rec = _mode.tracing
        if rec is not None and key != "params":
            rec.read_group(self, key)
        return dict.get(self, key, default)

    def items(self):
        rec = _mode.tracing
        if rec is not None:
            for key in dict.keys(self):
                if key != "params":
                    rec.read_group(self, key)
        return dict.items(self)

    def values(self):
        return [v for _, v in self.items()]

    def copy(self):
        return dict(self.items())

    def __iter__(self):
        # (defined here, so that dict(group) and {**group} read through __getitem__
        # instead of copying the entries in C, unseen by a recording)
        return dict.__iter__(self)


@functools.lru_cache(maxsize=None)
def _numeric_hyperparameters(cls):
    """Names of ``cls.__init__``'s arguments whose default is a number (lr, momentum, eps...)."""
    return tuple(n for n, p in inspect.signature(cls.__init__).parameters.items()
                 if isinstance(p.default, Real) and not isinstance(p.default, bool))


class Optimizer:
    """Base class: holds parameter groups and per-parameter state.

    Args:
        params: an iterable of Tensors that require grad, or of dicts (param
            groups) each with a ``"params"`` list and hyperparameter overrides.
        defaults: hyperparameter defaults for every group.

    ``state[p]`` is the dict of per-parameter state (e.g. ``"exp_avg"``) of
    parameter ``p``. Subclasses implement ``step()``, updating ``p.data``
    **in place** (so the arrays a Module holds stay the same objects) and
    skipping parameters whose ``grad`` is None.

    ``copy.deepcopy`` and ``pickle`` work (the state follows the copied
    parameters); checkpoints should still go through ``state_dict`` and
    ``tinygrad_edu.save``, which never pickle.

    Raises:
        ValueError: empty parameter list, a parameter given twice.
        TypeError: something that is not a Tensor requiring grad.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None:
            @functools.wraps(step)
            def marked_step(self, *args, **kw):
                if _mode.tracing is not None:  # jit: one macro call, replayed as a real step
                    return _mode.tracing.optimizer_step(self, lambda: marked_step(self, *args, **kw),
                                                        args, kw, marked_step)
                self._check_grads()  # before any update: a bad .grad leaves every parameter as it was
                loss = step(self, *args, **kw)
                # The update was in place: a graph recorded before it must not
                # back-propagate with the new values (see inplace.py).
                mark_tensors_modified([p for group in self.param_groups for p in group["params"]
                                       if p.grad is not None])
                return loss

            cls.step = marked_step

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        # Keyed by the parameter itself (Tensors hash by identity), as PyTorch:
        # copy.deepcopy of an optimizer then maps its state to the copied parameters.
        self.state: dict = {}
        self.param_groups: list = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors, "
                            "not a single Tensor (wrap it in a list)")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict):
        """Add a group of parameters with its own hyperparameters.

        Raises TypeError if ``group`` is not a dict or a hyperparameter that
        is a number by default is not a real number; ValueError if it has no
        ``"params"`` (or see the class docstring).
        """
        name = type(self).__name__
        if not isinstance(group, Mapping):
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, "
                            f"got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"{name}: the parameter group {sorted(group)} has no 'params' entry")
        group = ParamGroup(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: parameter {i} is not a leaf tensor "
                                 "(it was computed from others); optimize the leaves")
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter appears in more than one group or twice")
            seen.add(id(p))
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        group["params"] = params
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group):
        """Validate hyperparameters (subclasses extend); raise ValueError naming the bad one.

        Here: every hyperparameter whose default is a number must be a real
        number (TypeError otherwise, before any comparison fails obscurely).
        """
        for k in _numeric_hyperparameters(type(self)):
            v = group.get(k)
            if k in group and (isinstance(v, bool) or not isinstance(v, Real)):
                raise TypeError(f"{type(self).__name__}: {k} must be a real number, got "
                                f"{type(v).__name__} {v!r}")
        if "lr" in group and not group["lr"] >= 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate lr={group['lr']}")

    def _check_grads(self):
        """Every ``.grad`` an update will read has its parameter's shape and a numeric dtype.

        ``.grad`` assignment is checked already; this catches a gradient whose
        ``.data`` was replaced (the unsafe escape hatch), before any update.
        """
        for group in self.param_groups:
            for p in group["params"]:
                g = p._grad
                if g is not None and (g.data.shape != p.data.shape or g.data.dtype.kind not in "fciub"):
                    self._grad_error()

    def _grad_error(self):
        name = type(self).__name__
        for gi, group in enumerate(self.param_groups):
            for i, p in enumerate(group["params"]):
                g = p._grad
                if g is not None and (g.data.shape != p.data.shape or g.data.dtype.kind not in "fciub"):
                    raise ValueError(f"{name}.step: parameter {i} of group {gi} has shape {p.shape} but "
                                     f"its .grad has shape {g.data.shape} and dtype {g.data.dtype}")

    def zero_grad(self, set_to_none: bool = True):
        """Clear every parameter's gradient: to None (default, as PyTorch >= 2.0) or zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad = Tensor._wrap(np.zeros_like(p.data))

    def step(self, closure=None):
        """Update the parameters once from their ``.grad``; ``closure`` re-evaluates the loss."""
        raise NotImplementedError

    def _closure(self, closure):
        if closure is None:
            return None
        from .._mode import enable_grad

        with enable_grad():
            return closure()

    # ---- state ----------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [...]}`` with parameters as indices.

        Arrays in the state are copies, so the dict is a snapshot.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            g = {k: v for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict):
        """Restore hyperparameters and state saved by :meth:`state_dict`.

        Checked before anything changes. Raises ValueError if the number of
        groups or of parameters per group differs, a state array's shape
        differs from its parameter's, or a saved hyperparameter is invalid.
        Floating-point state arrays are cast to their parameter's dtype (as
        PyTorch), so float64 moments loaded into a float32 model, or the
        reverse, continue in the model's precision.
        Accepts the dict as returned by ``tinygrad_edu.load`` too.
        """
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= set(state_dict):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected the dict from "
                            f"state_dict(), with 'state' and 'param_groups', got {type(state_dict).__name__}"
                            + (f" with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, Mapping) else ""))
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has {len(groups)} "
                             f"parameter groups, this optimizer has {len(self.param_groups)}")
        params = {}
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a saved group has "
                                 f"{len(saved['params'])} parameters, this one has {len(group['params'])}")
            params.update(zip(saved["params"], group["params"]))
        new_state = {}
        for idx, st in state_dict["state"].items():
            p = params.get(int(idx))
            if p is None:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state for unknown parameter {idx}")
            st = copy.deepcopy(st)
            for k, v in st.items():
                if not isinstance(v, np.ndarray) or k == "step":  # the step count is a scalar
                    continue
                # Every other state array is per element of its parameter: a 0-d one
                # would broadcast silently, so the shape must match exactly.
                if v.shape != p.shape:
                    raise ValueError(f"{type(self).__name__}.load_state_dict: state '{k}' of parameter "
                                     f"{idx} has shape {v.shape}, the parameter has {p.shape}")
                if v.dtype.kind in "fc" and v.dtype != p.dtype:
                    st[k] = v.astype(p.dtype)  # as PyTorch: the state follows its parameter's dtype
            new_state[p] = st
        new_groups = []
        for saved, group in zip(groups, self.param_groups):
            g = dict(group)
            g.update({k: v for k, v in saved.items() if k != "params"})
            self._check_group(g)  # bad saved hyperparameters fail here, before any change
            new_groups.append(g)
        for group, g in zip(self.param_groups, new_groups):
            group.update(g)  # in place: schedulers hold references to these dicts
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
