"""The ``.safetensors`` side of :func:`tinygrad_edu.save` / :func:`tinygrad_edu.load`.

The safetensors format (Hugging Face, https://github.com/huggingface/safetensors)
is the weights format PyTorch and Hugging Face tools read without unpickling:
an 8-byte little-endian header length N, N bytes of JSON naming each tensor's
dtype, shape and byte range, then the raw little-endian bytes. It holds a
**flat** ``{str: array}`` dict and a ``{str: str}`` ``__metadata__`` dict,
nothing else: no nesting, no Python numbers, strings or None. An optimizer's
``state_dict`` therefore goes to ``.npz`` (``tinygrad_edu.save(opt.state_dict(),
"opt.npz")``), which keeps its structure; saving a nested or non-array value
as ``.safetensors`` raises TypeError saying so.

The bytes are produced and read by the ``safetensors`` package
(``pip install "tinygrad_edu[safetensors]"``), imported only here, only when
a ``.safetensors`` path is used. Before the library sees a file, its header
is checked here, so a truncated file, a foreign one (an ``.npz``, a pickle,
random bytes) or one with entries that are not tensors gets an error naming
the file and the problem. Reading never executes code: the format has none.

Writes are atomic as for ``.npz``: the bytes go to a temporary file that
replaces the target only once complete and synced.

The file's metadata records the layout of the ``Linear`` weights under the
key ``"tinygrad_edu.layout"``: ``"tinygrad_edu"`` (``(in, out)``, a
``model.state_dict()``) or ``"torch"`` (``(out, in)``, from
``interop.to_torch_state_dict``). A file without that key (written by
PyTorch or anyone else) loads as a :class:`~tinygrad_edu.serialization.TorchStateDict`,
which ``load_state_dict`` refuses for ``Linear`` weights (convert it with
``interop.from_torch_state_dict``).
"""
from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Mapping

import numpy as np

from .serialization import TorchStateDict, _atomic_write, _refuse
from .tensor import Tensor

LAYOUT_KEY = "tinygrad_edu.layout"
_RESERVED_PREFIX = "tinygrad_edu."
# safetensors dtype codes <-> numpy dtypes (those numpy has: no bfloat16 or float8)
_DTYPES = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "U16": np.uint16, "I16": np.int16,
           "U32": np.uint32, "I32": np.int32, "U64": np.uint64, "I64": np.int64,
           "F16": np.float16, "F32": np.float32, "F64": np.float64, "C64": np.complex64}
_SUPPORTED = {np.dtype(t) for t in _DTYPES.values()}
_MAX_HEADER = 100_000_000  # the safetensors library's own limit
_CHUNK = 1 << 24


def _require(op):
    try:
        import safetensors.numpy as st_numpy
    except ImportError as err:
        raise ImportError(f"{op}: .safetensors files need the 'safetensors' package: "
                          'pip install "tinygrad_edu[safetensors]" (or use an .npz path, '
                          "which needs numpy only)") from err
    return st_numpy


# ---- writing ----------------------------------------------------------------------
def _flat_arrays(state, path):
    flat_only = ("a .safetensors file holds a flat dict of arrays only; save an optimizer's or "
                 "scheduler's state (or a nested dict) to .npz instead: "
                 "tinygrad_edu.save(opt.state_dict(), 'opt.npz')")
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"tinygrad_edu.save: key {key!r} is a {type(key).__name__}; "
                            f"{flat_only} with str keys")
        if key == "__metadata__":
            raise ValueError("tinygrad_edu.save: the key '__metadata__' is reserved by the "
                             "safetensors format; pass strings as metadata= instead")
        if isinstance(value, Tensor):
            arr = value.data
        elif isinstance(value, np.ndarray):
            arr = value
        else:
            raise TypeError(f"tinygrad_edu.save: the value at {key!r} is a {type(value).__name__}, "
                            f"not an array, for {path!r}: {flat_only}")
        dt = arr.dtype
        if dt.newbyteorder("=") not in _SUPPORTED:
            raise ValueError(f"tinygrad_edu.save: the array at {key!r} has dtype {dt}, which "
                             f"safetensors cannot hold with numpy (supported: bool, (u)int8-64, "
                             f"float16/32/64, complex64); save it to .npz instead")
        # little-endian, C order, as the format stores bytes
        arrays[key] = np.array(arr, dtype=dt.newbyteorder("<"), order="C", copy=None)
    return arrays


def _metadata(state, metadata):
    layout = "torch" if getattr(state, "layout", None) == "torch" else "tinygrad_edu"
    meta = {LAYOUT_KEY: layout}
    if metadata is None:
        return meta
    if not isinstance(metadata, Mapping):
        raise TypeError(f"tinygrad_edu.save: metadata must be a dict of str to str, "
                        f"got {type(metadata).__name__}")
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"tinygrad_edu.save: metadata must map str to str (safetensors "
                            f"stores strings only), got {k!r}: {type(v).__name__}")
        if k.startswith(_RESERVED_PREFIX):
            raise ValueError(f"tinygrad_edu.save: metadata keys starting with "
                             f"{_RESERVED_PREFIX!r} are reserved, got {k!r}")
        meta[k] = v
    return meta


def _write_chunks(f, data):
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        f.write(view[start:start + _CHUNK])


def save(state, path, metadata=None):
    """Write the flat dict ``state`` to the ``.safetensors`` file ``path`` (see the module docstring)."""
    arrays = _flat_arrays(state, path)
    meta = _metadata(state, metadata)
    st_numpy = _require("tinygrad_edu.save")
    data = st_numpy.save(arrays, metadata=meta)
    _atomic_write(path, "tinygrad_edu.save", lambda f: _write_chunks(f, data))


# ---- reading ----------------------------------------------------------------------
def _foreign(head):
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ("it is a zip archive (an .npz checkpoint, or PyTorch's torch.save format), not "
                "safetensors; an .npz checkpoint loads under a name ending in .npz")
    if head[:1] == b"\x80":
        return "it looks like a pickle file, not safetensors; it is never unpickled"
    if head.startswith(b"\x93NUMPY"):
        return "it is a single .npy array, not a safetensors file"
    return None


def _check_entry(path, key, entry, data_len):
    if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}):
        raise _refuse(path, f"its header entry {key!r} is not a tensor description "
                            "(dtype, shape, data_offsets)")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str):
        raise _refuse(path, f"tensor {key!r} has a dtype that is not a string: {dtype!r}")
    if dtype not in _DTYPES:
        raise _refuse(path, f"tensor {key!r} has dtype {dtype}, which numpy has no type for (e.g. "
                            "bfloat16 or float8); convert it where it was written (in PyTorch: "
                            "tensor.float()) and save again")
    ok_int = lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0  # noqa: E731
    if not (isinstance(shape, list) and all(map(ok_int, shape))
            and isinstance(offsets, list) and len(offsets) == 2 and all(map(ok_int, offsets))
            and offsets[0] <= offsets[1]):
        raise _refuse(path, f"tensor {key!r} has an invalid shape {shape!r} or data_offsets {offsets!r}")
    if offsets[1] > data_len:
        raise _refuse(path, f"it is truncated: tensor {key!r} needs data bytes up to {offsets[1]}, "
                            f"the file holds {data_len}")
    nbytes = math.prod(shape) * np.dtype(_DTYPES[dtype]).itemsize  # Python ints: no overflow
    if offsets[1] - offsets[0] != nbytes:
        raise _refuse(path, f"tensor {key!r} of shape {tuple(shape)} and dtype {dtype} should span "
                            f"{nbytes} bytes, its data_offsets span {offsets[1] - offsets[0]}")


def _read_header(path, f, size):
    """(header entries, metadata, header size) of the open file ``f``, after checking them."""
    head = f.read(8)
    n = struct.unpack("<Q", head)[0] if len(head) == 8 else None
    first = f.read(1)
    if n is None or not 2 <= n <= min(size - 8, _MAX_HEADER) or first != b"{":
        # Not the start of a safetensors file: say what it is. (Checked only now: a
        # safetensors header length can begin with any byte, e.g. pickle's 0x80.)
        if n is not None and first == b"{" and size - 8 < n <= _MAX_HEADER:
            raise _refuse(path, f"it is truncated: its header announces {n} bytes, only "
                                f"{size - 8} follow")
        if n is None:
            raise _refuse(path, f"it is truncated or not a safetensors file: {size} bytes, fewer "
                                "than the 8-byte header length")
        why = _foreign(head)
        if why:
            raise _refuse(path, why)
        raise _refuse(path, "it is not a safetensors file (its first 8 bytes are not the length "
                            "of a JSON header that follows)")
    raw = first + f.read(n - 1)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _refuse(path, "it is not a safetensors file (its header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise _refuse(path, "it is not a safetensors file (its header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise _refuse(path, "its __metadata__ is not a dict of strings")
    for key, entry in header.items():
        _check_entry(path, key, entry, size - 8 - n)
    return header, metadata, 8 + n


def read_header(path):
    """(tensor entries, metadata) of the safetensors file ``path``, checked; reads the header only."""
    with open(path, "rb") as f:
        header, metadata, _ = _read_header(path, f, os.fstat(f.fileno()).st_size)
    return header, metadata


def load(path):
    """The arrays of the ``.safetensors`` file ``path``, in the file's order (see the module docstring)."""
    st_numpy = _require("tinygrad_edu.load")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header, metadata, _ = _read_header(path, f, size)
        f.seek(0)
        data = f.read()
    try:
        arrays = st_numpy.load(data)
    except Exception as err:  # the library's SafetensorError and friends: the file is at fault
        raise _refuse(path, f"the safetensors library could not read it ({err})") from None
    out = {key: arrays[key] for key in header}
    layout = metadata.get(LAYOUT_KEY)
    if layout == "tinygrad_edu":
        return out
    origin = (f"the file {path!r}, saved from to_torch_state_dict" if layout == "torch" else
              f"the file {path!r}, which tinygrad_edu did not write (taken to be PyTorch's layout)")
    return TorchStateDict(out, origin=origin)
