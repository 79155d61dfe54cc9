"""``Module``: the base class of layers and models, with PyTorch's API.

Parameters, buffers and submodules assigned as attributes are registered in
definition order; ``named_parameters`` walks the tree and gives dotted names
(``"0.weight"``), which are also the keys of ``state_dict``.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Mapping
from typing import Iterator, NamedTuple

import numpy as np

from ..inplace import mark_modified
from ..tensor import Tensor
from .parameter import Parameter


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` could not match."""

    missing_keys: list
    unexpected_keys: list


#: Counts changes to any module's structure: attribute assignments and deletions,
#: registrations, ``train``/``eval``, writes into the parameter, buffer and submodule
#: dicts. A jit replay's per-call check compares one number instead of walking every
#: module (``tinygrad_edu/_jit/fastcheck.py``); a module changed behind these routes
#: (``object.__setattr__``, ``vars(m)[...] = ``) is not seen by it.
STRUCTURE = [0]


def structure_changed():
    """Note a change of some module's attributes (for writes that bypass ``__setattr__``)."""
    STRUCTURE[0] += 1


class _Members(OrderedDict):
    """A module's ``_parameters``, ``_buffers`` or ``_modules``: an OrderedDict whose
    writes count as structure changes (reads are the dict's own, at C speed)."""

    __slots__ = ()

    def __setitem__(self, key, value):
        STRUCTURE[0] += 1
        super().__setitem__(key, value)

    def __delitem__(self, key):
        STRUCTURE[0] += 1
        super().__delitem__(key)

    def pop(self, *args):
        STRUCTURE[0] += 1
        return super().pop(*args)

    def popitem(self, last=True):
        STRUCTURE[0] += 1
        return super().popitem(last)

    def clear(self):
        STRUCTURE[0] += 1
        super().clear()

    def update(self, *args, **kwargs):
        STRUCTURE[0] += 1
        super().update(*args, **kwargs)

    def setdefault(self, key, default=None):
        STRUCTURE[0] += 1
        return super().setdefault(key, default)

    def move_to_end(self, key, last=True):
        STRUCTURE[0] += 1
        super().move_to_end(key, last)

    def __ior__(self, other):
        STRUCTURE[0] += 1
        return super().__ior__(other)


class Module:
    """Base class for all layers and models.

    Subclass it, assign ``Parameter``s and sub-``Module``s as attributes in
    ``__init__`` (after calling ``super().__init__()``), and define
    ``forward``; call the module like a function.

    A name registered as a parameter, buffer or submodule keeps its kind and
    its place: assigning it a value of another kind raises TypeError (as
    PyTorch; ``del`` it first to make it a plain attribute), and None
    keeps the name registered, empty.

    Example::

        class TwoLayer(Module):
            def __init__(self):
                super().__init__()
                self.hidden = Linear(3, 4)
                self.out = Linear(4, 1)

            def forward(self, x):
                return self.out(self.hidden(x).sigmoid()).sigmoid()
    """

    def __init__(self):
        STRUCTURE[0] += 1
        object.__setattr__(self, "_parameters", _Members())
        object.__setattr__(self, "_buffers", _Members())
        object.__setattr__(self, "_modules", _Members())
        object.__setattr__(self, "training", True)

    # ---- registration ---------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign '{name}' before Module.__init__() is called: "
                "call super().__init__() first in your __init__"
            )
        STRUCTURE[0] += 1
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, (Parameter, Module)):
            self._check_name(type(self).__name__, name)  # setattr(m, "a.b", ...) is possible
            store = params if isinstance(value, Parameter) else modules
            for other in (self.__dict__, params, buffers, modules):
                if other is not store:
                    other.pop(name, None)
            store[name] = value  # a re-assigned name keeps its place (state_dict order)
            return
        # As PyTorch: a registered name only takes a value of its kind (or None),
        # so that it cannot silently drop out of parameters() and state_dict.
        for store, kind, allowed in ((params, "parameter", "a Parameter"),
                                     (modules, "submodule", "a Module"),
                                     (buffers, "buffer", "a Tensor, an array")):
            if name not in store:
                continue
            if store is buffers and isinstance(value, (Tensor, np.ndarray)):
                value = value if isinstance(value, Tensor) else Tensor(value)
            elif value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign a value of type {type(value).__name__} "
                    f"to {kind} '{name}' ({allowed} or None expected); to make it a plain "
                    f"attribute instead, del the {kind} first")
            store[name] = value
            return
        if isinstance(value, (list, tuple, dict)) and _holds_modules_or_parameters(value):
            warnings.warn(
                f"{type(self).__name__}.{name}: a plain {type(value).__name__} of Modules or "
                "Parameters is not registered: its parameters are missing from parameters() and "
                "state_dict(), so they would never train or be saved. Use nn.ModuleList, "
                "nn.ModuleDict, nn.ParameterList or nn.ParameterDict instead.",
                UserWarning, stacklevel=2)
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        STRUCTURE[0] += 1
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def _check_name(self, op, name, store=None):
        """Raise unless ``name`` can be registered: state_dict keys join names with dots.

        With ``store`` (an explicit ``register_*``), the name must also be
        free: not an attribute or another kind's registered name (as PyTorch).
        """
        if not isinstance(name, str):
            raise TypeError(f"{op}: the name must be a str, got {type(name).__name__} {name!r}")
        if not name or "." in name:
            raise KeyError(f"{op}: the name must be non-empty and contain no '.', got {name!r} "
                           "(state_dict keys join the names of nested modules with dots)")
        if store is not None and name not in store and hasattr(self, name):
            raise KeyError(f"{op}: attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None):
        """Register ``param`` under ``name`` (None registers a placeholder, as PyTorch).

        Raises TypeError for a non-Parameter or a non-str name; KeyError for a
        name that is empty, contains '.', or is already another attribute.
        """
        self._check_name("register_parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor):
        """Register a non-learnable array saved in ``state_dict`` (e.g. BatchNorm's running mean).

        ``tensor`` is a Tensor, an array, or None. Name errors as :meth:`register_parameter`.
        """
        self._check_name("register_buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor

    def add_module(self, name: str, module: "Module | None"):
        """Register a submodule under ``name``. Name errors as :meth:`register_parameter`."""
        self._check_name("add_module", name, self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module, got {type(module).__name__}")
        self._modules[name] = module

    # ---- traversal ------------------------------------------------------
    def named_modules(self, prefix: str = "", memo=None) -> Iterator[tuple[str, "Module"]]:
        """Yield ``(dotted name, module)`` for this module and all below it, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator["Module"]:
        """This module and all its descendants, depth first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """Direct submodules with their attribute names."""
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self) -> Iterator["Module"]:
        """Direct submodules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, t in getattr(mod, store).items():
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted name, Parameter)`` in registration order; shared ones once."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        """Yield the Parameters (each once), e.g. to give to an optimizer."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(dotted name, buffer Tensor)``."""
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        """Yield the buffers."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients --------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and all descendants (affects Dropout, BatchNorm)."""
        for m in self.modules():
            if m.training is not bool(mode):  # (train() every step changes nothing to count)
                STRUCTURE[0] += 1
                object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Set evaluation mode, ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True):
        """Clear the gradients of all parameters: to None (default, as PyTorch >= 2.0) or to zeros."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad = Tensor._wrap(np.zeros_like(p.data))

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze all parameters."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn) -> "Module":
        """Call ``fn(m)`` on every submodule (children first) and then on self; returns self.

        The usual use is custom initialisation, as in PyTorch::

            def init(m):
                if isinstance(m, nn.Linear):
                    nn.init.zeros_(m.bias)
            model.apply(init)
        """
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, dtype=None) -> "Module":
        """Convert every floating-point parameter and buffer to ``dtype``, in place; returns self.

        ``to(np.float32)`` or ``to("float32")``; ``to("cpu")`` is accepted and
        changes nothing (arrays live in the host's memory). Integer buffers
        (e.g. ``num_batches_tracked``) keep their dtype, as in PyTorch. The
        Parameter objects stay the same (an optimizer built before keeps
        working); their ``.grad`` is converted too.

        Raises TypeError for a dtype that is not floating point, ValueError
        for any other device.
        """
        if isinstance(dtype, str) and dtype in ("cpu", "host"):
            return self
        try:
            dt = np.dtype(dtype)
        except TypeError as err:
            raise TypeError(f"Module.to: {dtype!r} is not a dtype or 'cpu' ({err})") from None
        if dt.kind != "f":
            raise TypeError(f"Module.to: only floating-point dtypes are supported, got {dt}")
        for t in [*self.parameters(), *self.buffers()]:
            if t.data.dtype.kind == "f" and t.data.dtype != dt:
                t.data = t.data.astype(dt)  # graphs recorded before keep the old array
                if t.grad is not None:
                    t.grad = Tensor._wrap(t.grad.data.astype(dt))
        return self

    def float(self) -> "Module":
        """``to(np.float32)``."""
        return self.to(np.float32)

    def double(self) -> "Module":
        """``to(np.float64)``."""
        return self.to(np.float64)

    # ---- calling --------------------------------------------------------
    def forward(self, *args, **kwargs):
        """Compute the module's output; subclasses must override it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- state ----------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of all parameters and buffers as numpy arrays, keyed by dotted name.

        Copies, so later training does not change a saved state; the dict
        can go straight to ``tinygrad_edu.save``.
        """
        state = OrderedDict()
        for prefix, mod in self.named_modules():
            for store in (mod._parameters, mod._buffers):
                for name, t in store.items():
                    if t is not None:
                        state[f"{prefix}.{name}" if prefix else name] = t.data.copy()
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Values may be arrays or Tensors; they are cast to each parameter's
        dtype (within a kind: float64 into float32 is fine, complex into real
        or float into int is refused). Everything is checked before anything
        is written, so a failed load leaves the module unchanged. A graph
        recorded before the load refuses to back-propagate afterwards (the
        values it used are gone), as after an optimizer step.

        Raises:
            KeyError: with ``strict=True``, names missing from ``state_dict``
                or unexpected in it (all of them listed).
            ValueError: a value's shape differs from the parameter's (key and
                both shapes named), a value is not numeric, or its dtype
                cannot be cast to the parameter's within its kind; a PyTorch
                tensor for a ``Linear`` weight, or a state in PyTorch's layout
                (``serialization.TorchStateDict``) for a model with ``Linear``
                layers: convert it with ``interop.from_torch_state_dict``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict for {type(self).__name__}: expected a dict of arrays "
                            f"(e.g. from state_dict() or tinygrad_edu.load), got {type(state_dict).__name__}")
        own = OrderedDict()
        in_out = set()  # the weights of Linear layers: (in, out) here, (out, in) in PyTorch
        for prefix, mod in self.named_modules():
            for store in (mod._parameters, mod._buffers):
                for name, t in store.items():
                    if t is not None:
                        key = f"{prefix}.{name}" if prefix else name
                        own[key] = t
                        if name == "weight" and getattr(mod, "_weight_is_in_out", False):
                            in_out.add(key)
        _refuse_torch_linear_weights(type(self).__name__, state_dict, in_out)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        staged = []
        for key, t in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            arr = value.data if isinstance(value, Tensor) else np.asarray(value)
            if arr.dtype.kind not in "fciub":  # before the shape: None would read as "shape ()"
                raise ValueError(f"load_state_dict for {type(self).__name__}: '{key}' is not numeric "
                                 f"({type(value).__name__} of dtype {arr.dtype})")
            if arr.shape != t.shape:
                raise ValueError(
                    f"load_state_dict for {type(self).__name__}: size mismatch for '{key}': "
                    f"the checkpoint has shape {arr.shape}, the model has {t.shape}"
                )
            if not np.can_cast(arr.dtype, t.dtype, casting="same_kind"):
                raise ValueError(f"load_state_dict for {type(self).__name__}: '{key}' has dtype "
                                 f"{arr.dtype}, which the model's {t.dtype} cannot hold without "
                                 "losing information")
            staged.append((t, arr))
        for t, arr in staged:
            t.data[...] = arr  # in place: optimizers keep referring to the same arrays
            # A graph recorded before the load must not back-propagate with the new values.
            mark_modified(arr=t.data)
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (override in layers)."""
        return ""

    def __repr__(self):
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}({extra}" if extra else f"{type(self).__name__}("
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + list(self._buffers)


def _holds_modules_or_parameters(value):
    items = value.values() if isinstance(value, dict) else value
    return any(isinstance(v, (Module, Parameter)) for v in items)


def _refuse_torch_linear_weights(owner, state_dict, keys):
    """A PyTorch tensor for a Linear weight is in PyTorch's (out, in) layout: loading it as it
    is would be silently wrong for a square layer, so it is refused with the fix. So is a whole
    state marked as PyTorch's layout (``serialization.TorchStateDict``: from
    ``interop.to_torch_state_dict`` or a ``.safetensors`` file tinygrad_edu did not write)."""
    if getattr(state_dict, "layout", None) == "torch":
        present = sorted(k for k in keys if k in state_dict)
        if present:
            raise ValueError(
                f"load_state_dict for {owner}: this state comes from "
                f"{getattr(state_dict, 'origin', 'a PyTorch-layout state dict')}, where Linear "
                f"weights are (out_features, in_features), the transpose of tinygrad_edu's "
                f"(in_features, out_features) (keys {present}); convert it with "
                "tinygrad_edu.interop.from_torch_state_dict(model, state) (a square layer would "
                "otherwise load without error and compute the wrong thing). If you know its "
                "Linear weights are already (in, out), pass dict(state)")
    for key in keys:
        value = state_dict.get(key)
        if value is not None and type(value).__module__.split(".")[0] == "torch":
            raise ValueError(
                f"load_state_dict for {owner}: '{key}' is a PyTorch tensor for a Linear weight. "
                "tinygrad_edu's Linear stores (in_features, out_features), PyTorch's "
                "(out_features, in_features): pass value.detach().numpy().T for it (a square "
                "layer would otherwise load without error and compute the wrong thing)")
