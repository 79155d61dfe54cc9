"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .module import Module
from .parameter import Parameter


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b)(x) == b(a(x))``.

    Submodules are named ``"0"``, ``"1"``, ... (so parameters are
    ``"0.weight"``); indexable (ints, negative ints, slices give a new
    Sequential whose modules keep their names, as PyTorch's), iterable, and
    has ``len``.
    """

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
            self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            # the slice keeps the modules' names, as PyTorch's: seq[1:].state_dict() has
            # "2.weight" where it came from "2", so checkpoints of slices match PyTorch's
            part = Sequential()
            for name, m in list(self._modules.items())[idx]:
                part.add_module(name, m)
            return part
        try:
            return mods[idx]
        except IndexError:
            raise IndexError(f"Sequential: index {idx} is out of range for {len(mods)} modules") from None

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        """Add a module at the end, named by its position (the next free number after a
        slice, whose names have gaps: PyTorch's would replace a module of that name)."""
        k = len(self)
        while str(k) in self._modules:
            k += 1
        self.add_module(str(k), module)
        return self


def _index(op, idx, n):
    """``idx`` as a position in ``range(n)`` (negatives count from the end), or IndexError."""
    if not isinstance(idx, (int, np.integer)) or isinstance(idx, bool):
        raise TypeError(f"{op}: indices must be integers or slices, got {type(idx).__name__}")
    i = int(idx) + n if idx < 0 else int(idx)
    if not 0 <= i < n:
        raise IndexError(f"{op}: index {idx} is out of range for {n} entries")
    return i


class ModuleList(Module):
    """A list of Modules whose parameters belong to the owner (``torch.nn.ModuleList``).

    A plain Python list of layers is invisible to ``parameters()`` and
    ``state_dict()``, so its layers would never train or be saved; a
    ModuleList registers each entry under its position (``"0"``, ``"1"``,
    ...), giving keys such as ``"layers.0.weight"`` as in PyTorch. It has no
    ``forward``: iterate over it in yours.

    Supports ``len``, iteration, indexing (ints, negative ints; a slice gives
    a new ModuleList), item assignment, ``append``, ``extend``, ``insert``,
    ``+=`` and ``del``. Raises TypeError for an entry that is not a Module.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _check(self, op, m):
        if not isinstance(m, Module):
            raise TypeError(f"ModuleList.{op}: expected a Module, got {type(m).__name__}")
        return m

    def _renumber(self, mods):
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return type(self)(mods[idx])
        return mods[_index("ModuleList", idx, len(mods))]

    def __setitem__(self, idx, module):
        i = _index("ModuleList", idx, len(self))
        self._modules[str(i)] = self._check("__setitem__", module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index("ModuleList", idx, len(mods))]
        self._renumber(mods)  # positions stay 0..n-1, as PyTorch

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList([*self, *other])

    def append(self, module: Module) -> "ModuleList":
        """Add ``module`` at the end."""
        self._modules[str(len(self))] = self._check("append", module)
        return self

    def extend(self, modules) -> "ModuleList":
        """Append every module of an iterable (checked before any is added)."""
        mods = [self._check("extend", m) for m in modules]
        for m in mods:
            self.append(m)
        return self

    def insert(self, index: int, module: Module):
        """Insert ``module`` before position ``index`` (as ``list.insert``)."""
        mods = list(self._modules.values())
        mods.insert(index, self._check("insert", module))
        self._renumber(mods)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it in your module's forward")


class ModuleDict(Module):
    """A dict of Modules, registered under their keys (``torch.nn.ModuleDict``).

    Keys are strings without '.' (they become part of state_dict names);
    insertion order is kept. Supports ``[]``, ``in``, ``len``, iteration
    over keys, ``keys``/``values``/``items``, ``update``, ``pop`` and ``del``.
    Raises TypeError for a value that is not a Module, KeyError for a bad key.
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}")
        return self._modules[key]

    def __setitem__(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: the value for {key!r} must be a Module, got {type(module).__name__}")
        self._check_name("ModuleDict", key)
        self._modules[key] = module

    def __delitem__(self, key):
        del self._modules[key]

    def __contains__(self, key):
        return key in self._modules

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def keys(self):
        """The keys, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """``(key, module)`` pairs, in insertion order."""
        return self._modules.items()

    def pop(self, key):
        """Remove ``key`` and return its module."""
        return self._modules.pop(key)

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def update(self, modules):
        """Add ``(key, module)`` pairs from a mapping or an iterable of pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, m in pairs:
            self[key] = m

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): index it in your module's forward")


class ParameterList(Module):
    """A list of Parameters registered on the owner (``torch.nn.ParameterList``).

    Entries are named ``"0"``, ``"1"``, ...; a Tensor or array that is not a
    Parameter is wrapped in one (as PyTorch). Supports ``len``, iteration,
    indexing, item assignment, ``append`` and ``extend``.
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    @staticmethod
    def _param(value):
        return value if isinstance(value, Parameter) else Parameter(value)

    def __getitem__(self, idx):
        ps = list(self._parameters.values())
        if isinstance(idx, slice):
            return type(self)(ps[idx])
        return ps[_index("ParameterList", idx, len(ps))]

    def __setitem__(self, idx, value):
        i = _index("ParameterList", idx, len(self))
        self._parameters[str(i)] = self._param(value)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __iadd__(self, values):
        return self.extend(values)

    def append(self, value) -> "ParameterList":
        """Add a Parameter (or wrap a Tensor/array in one) at the end."""
        self._parameters[str(len(self))] = self._param(value)
        return self

    def extend(self, values) -> "ParameterList":
        """Append every value of an iterable."""
        for v in [self._param(v) for v in values]:
            self.append(v)
        return self

    def extra_repr(self):
        return "\n".join(f"({i}): Parameter of shape {p.shape} and dtype {p.dtype}"
                         for i, p in enumerate(self))

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward()")


class ParameterDict(Module):
    """A dict of Parameters registered under their keys (``torch.nn.ParameterDict``).

    Values that are not Parameters are wrapped in one. Supports ``[]``,
    ``in``, ``len``, iteration over keys, ``keys``/``values``/``items``,
    ``update``, ``pop`` and ``del``.
    """

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key):
        if key not in self._parameters:
            raise KeyError(f"ParameterDict: no parameter named {key!r}")
        return self._parameters[key]

    def __setitem__(self, key, value):
        self._check_name("ParameterDict", key)
        self._parameters[key] = value if isinstance(value, Parameter) else Parameter(value)

    def __delitem__(self, key):
        del self._parameters[key]

    def __contains__(self, key):
        return key in self._parameters

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def keys(self):
        """The keys, in insertion order."""
        return self._parameters.keys()

    def values(self):
        """The parameters, in insertion order."""
        return self._parameters.values()

    def items(self):
        """``(key, parameter)`` pairs, in insertion order."""
        return self._parameters.items()

    def pop(self, key):
        """Remove ``key`` and return its parameter."""
        return self._parameters.pop(key)

    def update(self, parameters):
        """Add ``(key, value)`` pairs from a mapping or an iterable of pairs."""
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, v in pairs:
            self[key] = v

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterDict has no forward()")
