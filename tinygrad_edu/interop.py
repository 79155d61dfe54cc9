"""PyTorch weights in and out: convert between a model's ``state_dict`` here and its PyTorch twin's.

A model built here from the same layers as a PyTorch model (same names,
same sizes, same order) has the same ``state_dict`` keys as the PyTorch
model, with one difference of layout: **``nn.Linear``'s weight is
``(in_features, out_features)`` here** (the blog's ``syn0``, so
``y = x @ weight``) and ``(out_features, in_features)`` in PyTorch. Every
other layer already uses PyTorch's names and layouts: convolutions,
batch/layer/group/instance/RMS norms (running statistics and
``num_batches_tracked`` included), ``Embedding``, ``PReLU``, the recurrent
layers and cells, ``MultiheadAttention``, the transformer layers (their
linear maps are :class:`~tinygrad_edu.nn.TorchLinear`, in PyTorch's layout),
and any weight held as an :class:`~tinygrad_edu.nn.parameter.OutInParameter`.

The converter finds the ``Linear`` weights **by walking the model's modules
and looking at their types** (``isinstance(m, nn.Linear)``), never by their
names or shapes: a square ``Linear`` weight has the same shape in both
layouts, and only the module type tells which one it is. A module type with
tensors of its own whose layout the converter does not know (your own
``Module`` holding a plain ``Parameter``, a ``ParameterList``) makes it
raise, naming the module; pass ``same_layout=(YourModule,)`` once you have
checked that your PyTorch twin stores those tensors the same way.

Dtypes are kept: float64 weights stay float64 (PyTorch's default is float32;
``model.load_state_dict`` here casts to the model's dtype, PyTorch's
``load_state_dict`` to its parameters' dtype: call ``torch_model.double()``
first to keep float64 there), ``num_batches_tracked`` stays int64.

Typical use::

    from tinygrad_edu import interop
    # PyTorch -> here: a dict of torch tensors, of arrays, or a .safetensors path
    model.load_state_dict(interop.from_torch_state_dict(model, torch_model.state_dict()))
    # here -> PyTorch
    sd = interop.to_torch_state_dict(model)
    torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})
    tinygrad_edu.save(sd, "model.safetensors")   # safetensors.torch.load_file reads it
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from . import nn
from .nn.attention import MultiheadAttention, TorchLinear
from .nn.conv import _ConvNd
from .nn.module import Module
from .nn.normalization import GroupNorm, LayerNorm, RMSNorm, _BatchNorm
from .nn.parameter import OutInParameter
from .nn.recurrent import _CellBase, _RNNBase
from .serialization import TorchStateDict, load
from .tensor import Tensor

__all__ = ["from_torch_state_dict", "to_torch_state_dict", "TorchStateDict", "SAME_LAYOUT"]

#: The module types whose own parameters and buffers have PyTorch's names and layouts as they are
#: (subclasses included). ``nn.Linear`` is handled apart (its weight is transposed).
SAME_LAYOUT = (_ConvNd, _BatchNorm, LayerNorm, GroupNorm, RMSNorm, nn.Embedding, nn.PReLU,
               TorchLinear, MultiheadAttention, _CellBase, _RNNBase)

_TORCH_PICKLES = (".pt", ".pth", ".bin", ".ckpt", ".pkl")


def _all_modules(model):
    """``(prefix, module)`` for every path to a submodule, a module shared by two attributes
    once per path, as PyTorch's ``state_dict`` walks them (``named_modules`` here and in
    PyTorch lists a shared module once)."""
    out, on_path = [], set()

    def walk(prefix, mod):
        if id(mod) in on_path:  # a cycle: PyTorch would recurse forever; stop here
            return
        on_path.add(id(mod))
        out.append((prefix, mod))
        for name, sub in mod._modules.items():
            if sub is not None:
                walk(f"{prefix}.{name}" if prefix else name, sub)
        on_path.discard(id(mod))

    walk("", model)
    return out


def _aliases(model):
    """``{key PyTorch also lists: key of this model's state_dict}`` for shared modules' tensors."""
    first, out = {}, {}
    for prefix, mod in _all_modules(model):
        for store in (mod._parameters, mod._buffers):
            for name, t in store.items():
                if t is not None:
                    key = f"{prefix}.{name}" if prefix else name
                    canon = first.setdefault((id(mod), name), key)
                    if canon != key:
                        out[key] = canon
    return out


def _plan(op, model, same_layout):
    """``{key: (tensor here, transpose?)}`` for every parameter and buffer, in state_dict order."""
    if not isinstance(model, Module):
        raise TypeError(f"{op}: model must be a tinygrad_edu nn.Module, got {type(model).__name__}")
    known = SAME_LAYOUT + tuple(same_layout)
    plan, unknown = {}, []
    for prefix, mod in model.named_modules():
        is_linear = isinstance(mod, nn.Linear)
        for store in (mod._parameters, mod._buffers):
            for name, t in store.items():
                if t is None:
                    continue
                key = f"{prefix}.{name}" if prefix else name
                if is_linear and name in ("weight", "bias"):
                    plan[key] = (t, name == "weight")
                elif isinstance(t, OutInParameter) or (isinstance(mod, known) and not is_linear):
                    plan[key] = (t, False)
                else:
                    unknown.append(f"'{key}' of {type(mod).__name__}")
    if unknown:
        raise TypeError(
            f"{op}: the layout of {', '.join(unknown)} is unknown to the converter (it knows "
            "nn.Linear, whose weight is the transpose of PyTorch's, and the layers in "
            "interop.SAME_LAYOUT, stored as in PyTorch). If the PyTorch twin stores these tensors "
            "exactly as this model does, pass same_layout=(ThatModuleType,)")
    return plan


def _as_array(op, key, value):
    """A numpy array from an array, a Tensor, or anything with ``.numpy()`` (e.g. a torch tensor)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "numpy"):  # duck-typed: torch tensors without importing torch
        try:
            if hasattr(value, "detach"):
                value = value.detach()
            if hasattr(value, "cpu"):
                value = value.cpu()
            arr = value.numpy()
        except Exception as err:  # e.g. bfloat16, which numpy cannot hold
            raise TypeError(f"{op}: cannot convert '{key}' ({type(value).__name__}) to a numpy "
                            f"array: {err}. In PyTorch, convert it first (e.g. tensor.float())") from None
        return np.asarray(arr)
    raise TypeError(f"{op}: '{key}' is a {type(value).__name__}; expected an array or a tensor "
                    "with a .numpy() method")


def _read_path(op, path):
    path = os.fspath(path)
    low = path.lower()
    if low.endswith(_TORCH_PICKLES):
        raise ValueError(f"{op}: refusing {path!r}: PyTorch's torch.save files are pickles, which "
                         "could run code when loaded and are never read here. In PyTorch, write "
                         "the weights with safetensors.torch.save_file(model.state_dict(), "
                         "'model.safetensors') and pass that file")
    if not low.endswith(".safetensors"):
        raise ValueError(f"{op}: {path!r} is not a .safetensors file; pass a .safetensors file "
                         "or a dict of arrays/tensors")
    state = load(path)
    if getattr(state, "layout", None) != "torch":
        raise ValueError(f"{op}: {path!r} was written by tinygrad_edu.save from a model's own "
                         "state_dict: its Linear weights are already in this package's (in, out) "
                         "layout. Load it with model.load_state_dict(tinygrad_edu.load(path))")
    return state


def _check_keys(op, model, plan, state):
    missing = [k for k in plan if k not in state]
    unexpected = [k for k in state if k not in plan]
    if not (missing or unexpected):
        return
    hint = ""
    for wrap in ("module.", "_orig_mod."):  # DataParallel / torch.compile prefixes
        if unexpected and all(k.startswith(wrap) for k in unexpected):
            hint = (f" (every unexpected key starts with {wrap!r}: strip it, "
                    f"{{k.removeprefix({wrap!r}): v for k, v in sd.items()}})")
    raise KeyError(f"{op} for {type(model).__name__}: missing keys {missing}, unexpected keys "
                   f"{unexpected}{hint}")


def from_torch_state_dict(model, state_dict, *, same_layout=()) -> dict:
    """A PyTorch ``state_dict`` converted into one ``model.load_state_dict`` takes.

    Args:
        model: the tinygrad_edu twin of the PyTorch model (same layers, names, sizes).
        state_dict: PyTorch's ``state_dict``: a dict of numpy arrays or of
            anything with ``.numpy()`` (torch tensors: ``.detach().cpu().numpy()``,
            duck-typed, torch is never imported), or the path of a
            ``.safetensors`` file written by PyTorch
            (``safetensors.torch.save_file``) or by :func:`to_torch_state_dict`
            and ``tinygrad_edu.save``.
        same_layout: extra module types whose own tensors are stored as in
            PyTorch (see the module docstring).

    Returns:
        A new dict ``{key: array}`` in ``model.state_dict()``'s key order,
        each array a copy: ``nn.Linear`` weights transposed to ``(in, out)``,
        everything else as it was; dtypes kept.

    Raises:
        KeyError: keys missing from ``state_dict`` or unexpected in it (all listed).
        ValueError: a value's shape does not fit (key and both shapes named;
            for a Linear weight, in PyTorch's ``(out, in)`` terms), a non-numeric
            value, a ``.pt``/``.pth`` pickle, or a ``.safetensors`` file that
            tinygrad_edu wrote from a model's own ``state_dict`` (already in
            this package's layout).
        TypeError: a module whose layout the converter does not know; a value
            that is neither an array nor has ``.numpy()``.
    """
    op = "from_torch_state_dict"
    plan = _plan(op, model, same_layout)
    if isinstance(state_dict, (str, os.PathLike)):
        state_dict = _read_path(op, state_dict)
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{op}: expected a state_dict (a dict) or a .safetensors path, "
                        f"got {type(state_dict).__name__}")
    aliases = _aliases(model)
    if aliases:  # a shared module: PyTorch lists its tensors under every path to it
        for key, canon in aliases.items():
            if key in state_dict and canon in state_dict and not np.array_equal(
                    _as_array(op, key, state_dict[key]), _as_array(op, canon, state_dict[canon])):
                raise ValueError(f"{op}: '{key}' and '{canon}' are the same tensor in this model "
                                 "(a module shared by two attributes) but differ in the state_dict")
        state_dict = {k: v for k, v in state_dict.items() if k not in aliases}
    _check_keys(op, model, plan, state_dict)
    out = {}
    for key, (t, transpose) in plan.items():
        arr = _as_array(op, key, state_dict[key])
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{op}: '{key}' has dtype {arr.dtype}; expected real numbers")
        if transpose:
            want = t.shape[::-1]
            if arr.shape != want:
                raise ValueError(f"{op}: size mismatch for '{key}' (a Linear weight): PyTorch's "
                                 f"has shape {arr.shape} (out_features, in_features), this model's "
                                 f"Linear{tuple(t.shape)} needs {want}")
            out[key] = np.ascontiguousarray(arr.T)
        else:
            if arr.shape != t.shape:
                raise ValueError(f"{op}: size mismatch for '{key}': PyTorch's has shape "
                                 f"{arr.shape}, this model's {t.shape}")
            out[key] = np.array(arr, copy=True)
    return out


def to_torch_state_dict(model, *, same_layout=()) -> TorchStateDict:
    """The model's weights as the ``state_dict`` its PyTorch twin loads.

    Args:
        model: a tinygrad_edu ``nn.Module``.
        same_layout: extra module types whose own tensors are stored as in
            PyTorch (see the module docstring).

    Returns:
        A :class:`~tinygrad_edu.serialization.TorchStateDict` (a dict) of
        numpy arrays (copies, C-contiguous, the model's dtypes) with PyTorch's
        keys, order and layouts: ``nn.Linear`` weights transposed to
        ``(out, in)``. In PyTorch:
        ``torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``;
        ``tinygrad_edu.save(sd, "m.safetensors")`` writes a file that
        ``safetensors.torch.load_file`` reads. ``load_state_dict`` here
        refuses it for a model with ``Linear`` layers (convert back with
        :func:`from_torch_state_dict`).

    Raises:
        TypeError: a module whose layout the converter does not know.
    """
    plan = _plan("to_torch_state_dict", model, same_layout)
    aliases = _aliases(model)
    # every path to a shared module, in PyTorch's state_dict order (its strict load wants all)
    keys = [k for k in (f"{p}.{n}" if p else n for p, m in _all_modules(model)
                        for store in (m._parameters, m._buffers)
                        for n, t in store.items() if t is not None)] if aliases else list(plan)
    return TorchStateDict(
        ((key, np.ascontiguousarray(t.data.T) if transpose else t.data.copy())
         for key, (t, transpose) in ((k, plan[aliases.get(k, k)]) for k in keys)),
        origin="to_torch_state_dict")
