"""Containers: ``Sequential``."""
from __future__ import annotations

from .module import Module


class Sequential(Module):
    """Modules applied one after another: ``Sequential(a, b)(x) == b(a(x))``.

    Submodules are named ``"0"``, ``"1"``, ... (so parameters are
    ``"0.weight"``); indexable (ints, negative ints, slices give a new
    Sequential), iterable, and has ``len``.
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
            return Sequential(*mods[idx])
        try:
            return mods[idx]
        except IndexError:
            raise IndexError(f"Sequential: index {idx} is out of range for {len(mods)} modules") from None

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        """Add a module at the end."""
        self.add_module(str(len(self)), module)
        return self
