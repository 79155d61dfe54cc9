"""Checkpoints: ``save(state_dict, path)`` and ``load(path)`` in a numpy ``.npz`` file that never unpickles.

A path ending in ``.safetensors`` is written and read in the safetensors
format instead (a flat dict of arrays, read by PyTorch and Hugging Face
tools; the ``safetensors`` extra), see :mod:`tinygrad_edu._safetensors`.
The rest of this docstring describes the ``.npz`` layout.

File layout (format version 1)
------------------------------
The file is an ordinary uncompressed ``.npz`` (a zip of ``.npy`` members,
as ``np.savez`` writes), so ``np.load(path)`` can read it too:

* **One array per value.** Every leaf of the (possibly nested) dict is one
  member. Its name is the path of dict keys / list positions from the top,
  joined by ``/``, each part percent-encoded (``urllib.parse.quote`` with no
  safe characters; an empty key is written ``%``; when two keys give the
  same name, the int 1 and the str "1", the later leaves get ``#2``,
  ``#3``... appended, a character the encoding never produces). A Module's
  ``state_dict`` therefore keeps its keys verbatim: ``"0.weight"``,
  ``"0.bias"``; an optimizer's state dict becomes ``"state/0/exp_avg"``,
  ``"state/0/step"``, ``"param_groups/0/lr"``, ``"param_groups/0/betas/1"``.
  Python numbers are stored as 0-d arrays (int -> int64, float -> float64,
  bool -> bool, complex -> complex128), strings as 0-d unicode arrays.
* **Metadata** in the member ``__tinygrad_edu__`` (a key reserved for it): a
  0-d unicode array holding JSON ``{"format": "tinygrad_edu.checkpoint",
  "version": 1, "tree": ...}``. The tree records the structure so that
  ``load`` gives back what was saved: dicts (keys str or int, in order),
  lists, tuples, None, and for each leaf its member name and Python type.

What ``load`` returns equals what was saved, except that Tensors come back
as numpy arrays and dict subclasses (``OrderedDict``) as plain dicts.

Safety: ``load`` reads every member with ``allow_pickle=False`` and refuses
(ValueError) a file that is a pickle, a member that is not a ``.npy`` array,
or an object array, so a checkpoint from an untrusted source cannot run
code. A plain ``.npz`` without the metadata member (e.g. from
``np.savez(path, w=w)``) loads as a flat dict of its arrays.

Atomicity: ``save`` writes a temporary file in the target's directory,
fsyncs it, and ``os.replace``-s it over the target, so a crash or error
mid-save leaves the previous file intact and no partial file behind.
"""
from __future__ import annotations

import json
import numbers
import os
import secrets
import zipfile
from collections.abc import Mapping
from urllib.parse import quote

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "load_metadata", "TorchStateDict", "FORMAT_VERSION"]

#: The version of the layout written by :func:`save`; :func:`load` reads versions up to it.
FORMAT_VERSION = 1
_FORMAT = "tinygrad_edu.checkpoint"
_META = "__tinygrad_edu__"
_NUMERIC = "biufc"  # bool, signed/unsigned int, float, complex
_SCALARS = {"int": "i", "float": "f", "bool": "b", "complex": "c", "str": "U"}


class TorchStateDict(dict):
    """A plain dict of arrays in **PyTorch's layout**: ``Linear`` weights are ``(out, in)``.

    Returned by ``interop.to_torch_state_dict`` and by :func:`load` for a
    state in PyTorch's layout (a ``.safetensors`` file that tinygrad_edu did
    not write is taken to be one: its layout is unknown, and PyTorch's is
    the usual). ``Module.load_state_dict`` refuses it for a model with
    ``Linear`` layers, because loading ``(out, in)`` weights as ``(in, out)``
    would be silently wrong for a square layer: convert it with
    ``interop.from_torch_state_dict(model, state)``. :func:`save` records the
    layout in the file, so it survives a round trip. ``dict(state)`` drops
    the mark (for a state you know is in tinygrad_edu's layout).

    Attributes:
        layout: ``"torch"``.
        origin: where the state came from, for error messages.
    """

    layout = "torch"

    def __init__(self, *args, origin="a PyTorch-layout state dict", **kwargs):
        super().__init__(*args, **kwargs)
        self.origin = origin


# ---- writing --------------------------------------------------------------
def _member(path):
    return "/".join(quote(str(p), safe="") or "%" for p in path)


def _flatten(obj, path, arrays, active):
    """Return the JSON tree of ``obj`` and put its leaves in ``arrays`` (member name -> array)."""
    where = "/".join(map(str, path)) or "the top level"
    if isinstance(obj, (Mapping, list, tuple)):
        if id(obj) in active:
            raise ValueError(f"tinygrad_edu.save: the value at {where} contains itself")
        active.add(id(obj))
        try:
            if isinstance(obj, Mapping):
                items = []
                for k, v in obj.items():
                    if isinstance(k, (numbers.Integral, np.integer)) and not isinstance(k, (bool, np.bool_)):
                        k = int(k)
                    elif not isinstance(k, str):
                        raise TypeError(f"tinygrad_edu.save: dict key {k!r} at {where} is a "
                                        f"{type(k).__name__}; keys must be str or int")
                    if not path and k == _META:
                        raise ValueError(f"tinygrad_edu.save: the key {_META!r} is reserved for metadata")
                    items.append([k, _flatten(v, path + [k], arrays, active)])
                return {"dict": items}
            kind = "tuple" if isinstance(obj, tuple) else "list"
            return {kind: [_flatten(v, path + [i], arrays, active) for i, v in enumerate(obj)]}
        finally:
            active.discard(id(obj))
    if obj is None:
        return {"none": None}
    name = _member(path)
    if name in arrays:  # keys 1 and "1" have the same path: number the later ones
        name = next(f"{name}#{i}" for i in range(2, len(arrays) + 3) if f"{name}#{i}" not in arrays)
    if isinstance(obj, (Tensor, np.ndarray)):
        arr = np.asarray(obj.data if isinstance(obj, Tensor) else obj)
        if arr.dtype.kind not in _NUMERIC:
            raise ValueError(f"tinygrad_edu.save: the array at {where} has non-numeric dtype {arr.dtype}; "
                             "only bool, integer, float and complex arrays can be saved")
        arrays[name] = arr
        return {"array": name}
    if isinstance(obj, np.generic):
        if obj.dtype.kind not in _NUMERIC:
            raise ValueError(f"tinygrad_edu.save: the value at {where} has non-numeric dtype {obj.dtype}")
        arrays[name] = np.asarray(obj)
        return {"scalar": name, "type": "numpy"}
    if isinstance(obj, bool):
        arrays[name], kind = np.asarray(obj, dtype=np.bool_), "bool"
    elif isinstance(obj, int):
        if not -2**63 <= obj < 2**63:
            raise ValueError(f"tinygrad_edu.save: the integer at {where} does not fit in int64")
        arrays[name], kind = np.asarray(obj, dtype=np.int64), "int"
    elif isinstance(obj, float):
        arrays[name], kind = np.asarray(obj, dtype=np.float64), "float"
    elif isinstance(obj, complex):
        arrays[name], kind = np.asarray(obj, dtype=np.complex128), "complex"
    elif isinstance(obj, str):
        if obj.endswith("\0"):  # numpy's unicode arrays drop trailing NULs
            raise ValueError(f"tinygrad_edu.save: the string at {where} ends with a NUL character, "
                             "which a numpy string array cannot hold")
        arrays[name], kind = np.asarray(obj, dtype=np.str_), "str"
    else:
        raise TypeError(f"tinygrad_edu.save: cannot save the {type(obj).__name__} at {where}; values "
                        "must be arrays, Tensors, numbers, strings, None, or dicts/lists/tuples of them")
    return {"scalar": name, "type": kind}


def _write_npz(fileobj, arrays):
    """Write ``arrays`` (member name -> array) as an uncompressed npz, as ``np.savez`` does."""
    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, arr in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)


def _open_temp(directory, base):
    """Create a new temp file next to the target (so ``os.replace`` is a rename on one filesystem)."""
    while True:
        tmp = os.path.join(directory, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            # 0o666 masked by the umask: the mode an ordinary new file would get.
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue


def _atomic_write(path, op, write):
    """Call ``write(f)`` on a new temporary file next to ``path``, fsync it and rename it over ``path``.

    On any error the temporary file is removed and ``path`` is untouched: a
    crash or error mid-write leaves the previous file intact. The new file
    keeps an existing file's permission bits.
    """
    directory, base = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):  # say so before the temporary file's name appears in an error
        raise FileNotFoundError(f"{op}: cannot write {path!r}: the directory "
                                f"{directory!r} does not exist")
    tmp, fd = _open_temp(directory, base)
    try:
        with os.fdopen(fd, "wb") as f:
            try:
                os.fchmod(f.fileno(), os.stat(path).st_mode & 0o7777)
            except (FileNotFoundError, AttributeError):  # no old file; no fchmod on Windows
                pass
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _is_safetensors(path):
    return path.lower().endswith(".safetensors")


def save(state_dict, path, *, metadata=None):
    """Write ``state_dict`` to ``path`` atomically: ``.npz`` (the default) or ``.safetensors``.

    The format is chosen by the suffix: a path ending in ``.safetensors``
    (any case) is written in the safetensors format (a flat dict of arrays,
    read by PyTorch and Hugging Face tools; needs the ``safetensors``
    package: ``pip install "tinygrad_edu[safetensors]"``), see
    :mod:`tinygrad_edu._safetensors`. Any other path gets the ``.npz``
    layout described in this module's docstring, numpy only.

    Args:
        state_dict: a dict such as ``model.state_dict()``, ``optimizer.state_dict()``,
            ``scheduler.state_dict()``, or a dict of several of them (nested
            dicts, lists and tuples of arrays, Tensors, numbers, strings, None).
            A ``.safetensors`` file holds a flat ``{str: array}`` dict only.
        path: the file to write (str or PathLike), exactly as given: no
            suffix is added. An existing file is replaced only once
            the new one is completely written and synced to disk, and keeps
            its permission bits.
        metadata: ``.safetensors`` only: a ``{str: str}`` dict stored in the
            file's ``__metadata__`` (read back by :func:`load_metadata`).

    Raises:
        TypeError: ``state_dict`` is not a dict; a value of an unsupported
            type, or a dict key that is not a str or int (with its location);
            for ``.safetensors``, a nested or non-array value.
        ValueError: a non-numeric array, an int outside int64, a string
            ending with a NUL character, a structure that contains itself,
            the reserved top-level key ``"__tinygrad_edu__"``; ``metadata``
            for a ``.npz`` file; a dtype safetensors cannot hold.
        ImportError: ``.safetensors`` without the ``safetensors`` package.
        OSError: from the filesystem (e.g. a missing directory).

    All checks run before anything is written; on any error the target is
    untouched and no temporary file is left.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError("tinygrad_edu.save: expected a dict (e.g. model.state_dict()), "
                        f"got {type(state_dict).__name__}")
    path = os.fspath(path)
    if _is_safetensors(path):
        from . import _safetensors

        return _safetensors.save(state_dict, path, metadata)
    if metadata is not None:
        raise ValueError(f"tinygrad_edu.save: metadata= is for .safetensors files, not {path!r}; "
                         "an .npz checkpoint holds strings in the dict itself")
    arrays = {}
    tree = _flatten(state_dict, [], arrays, set())
    meta = {"format": _FORMAT, "version": FORMAT_VERSION, "tree": tree}
    if getattr(state_dict, "layout", None) == "torch":  # to_torch_state_dict's output: say so in the file
        meta["layout"] = "torch"
    meta = json.dumps(meta, allow_nan=False)
    arrays = {_META: np.asarray(meta, dtype=np.str_), **arrays}
    _atomic_write(path, "tinygrad_edu.save", lambda f: _write_npz(f, arrays))


# ---- reading --------------------------------------------------------------
def _refuse(path, why):
    return ValueError(f"tinygrad_edu.load: refusing {path!r}: {why}")


def _read_members(path):
    """All ``.npy`` members of the zip at ``path`` as arrays, read without unpickling."""
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(6)
        if head.startswith(b"\x93NUMPY"):
            why = "it is a single .npy array, not a checkpoint (.npz archive)"
        elif head[:1] == b"\x80":
            why = "it is a pickle file; loading it could run arbitrary code, so it is never unpickled"
        else:
            why = "it is not an .npz archive (not a zip file)"
        raise _refuse(path, why)
    members = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if info.filename.endswith("/data.pkl"):  # torch.save: <name>/data.pkl
                    raise _refuse(path, "it is a PyTorch torch.save checkpoint (pickled Python objects); "
                                        "it is never unpickled. In PyTorch, save the weights with "
                                        "safetensors.torch.save_file(model.state_dict(), "
                                        "'model.safetensors') and use "
                                        "tinygrad_edu.interop.from_torch_state_dict")
                if not info.filename.endswith(".npy"):
                    raise _refuse(path, f"member {info.filename!r} is not a .npy array")
                with zf.open(info) as fh:
                    try:
                        arr = np.lib.format.read_array(fh, allow_pickle=False)
                    except ValueError as e:
                        if "pickle" in str(e) or "Object arrays" in str(e):
                            raise _refuse(path, f"member {info.filename!r} holds an object array (pickled "
                                                "Python objects); it is never unpickled") from None
                        raise _refuse(path, f"member {info.filename!r} is not a valid .npy array: {e}") from None
                members[info.filename[:-4]] = arr
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as e:
        raise _refuse(path, f"the archive is corrupt or truncated ({e})") from None
    return members


def _unflatten(node, members, used, path):
    bad = _refuse(path, "its metadata does not match its arrays (corrupt checkpoint)")
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise bad
    if "dict" in node:
        out = {}
        for item in node["dict"]:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
                raise bad
            out[item[0]] = _unflatten(item[1], members, used, path)
        return out
    if "list" in node or "tuple" in node:
        seq = [_unflatten(n, members, used, path) for n in node.get("list", node.get("tuple", []))]
        return seq if "list" in node else tuple(seq)
    if "none" in node:
        return None
    name = node.get("array", node.get("scalar"))
    if not isinstance(name, str) or name not in members:
        raise bad
    used.add(name)
    arr = members[name]
    if "array" in node:
        return arr
    kind = node.get("type")
    if arr.ndim != 0 or (kind != "numpy" and _SCALARS.get(kind) != arr.dtype.kind):
        raise bad
    value = arr[()]
    return {"int": int, "float": float, "bool": bool, "complex": complex, "str": str}.get(kind, lambda v: v)(value)


def load(path) -> dict:
    """Read a checkpoint written by :func:`save` (``.npz``), or a ``.safetensors`` file; never unpickles.

    Args:
        path: str or PathLike of the file. A name ending in ``.safetensors``
            is read as safetensors (needs the ``safetensors`` package, see
            :mod:`tinygrad_edu._safetensors`), any other as ``.npz``.

    Returns:
        The saved dict (nested dicts, lists, tuples, numbers, strings and
        None as saved; arrays and Tensors as numpy arrays). A plain ``.npz``
        without tinygrad_edu metadata gives ``{name: array}``. A state in
        PyTorch's layout (saved from ``interop.to_torch_state_dict``, or a
        ``.safetensors`` file tinygrad_edu did not write) comes back as a
        :class:`TorchStateDict`, which ``Module.load_state_dict`` refuses
        for ``Linear`` weights (convert it with
        ``tinygrad_edu.interop.from_torch_state_dict``).

    Raises:
        ValueError: the file is a pickle, a single ``.npy``, not a zip, a
            truncated or corrupt archive, holds an object array or a member
            that is not a ``.npy`` array, or was written by a newer format
            version. The message starts with ``tinygrad_edu.load: refusing``.
        FileNotFoundError: no such file.
    """
    path = os.fspath(path)
    if _is_safetensors(path):
        from . import _safetensors

        return _safetensors.load(path)
    members = _read_members(path)
    if _META not in members:
        return members
    meta_arr = members.pop(_META)
    try:
        if meta_arr.ndim != 0 or meta_arr.dtype.kind != "U":
            raise ValueError
        meta = json.loads(str(meta_arr[()]))
        fmt, version, tree = meta["format"], meta["version"], meta["tree"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise _refuse(path, f"its {_META!r} metadata entry is not valid") from None
    if fmt != _FORMAT or not isinstance(version, int):
        raise _refuse(path, f"its metadata names format {fmt!r} version {version!r}, not {_FORMAT!r}")
    if version > FORMAT_VERSION:
        raise _refuse(path, f"it was written in format version {version}; this tinygrad_edu reads "
                            f"versions up to {FORMAT_VERSION} (upgrade tinygrad_edu)")
    used = set()
    try:
        out = _unflatten(tree, members, used, path)
    except RecursionError:
        raise _refuse(path, "its metadata is nested too deeply") from None
    if not isinstance(out, dict) or used != set(members):
        raise _refuse(path, "its metadata does not match its arrays (corrupt checkpoint)")
    if meta.get("layout") == "torch":
        out = TorchStateDict(out, origin=f"the file {path!r}, saved from to_torch_state_dict")
    return out


def load_metadata(path) -> dict:
    """The ``{str: str}`` metadata of a ``.safetensors`` file (its ``__metadata__``; {} if none), keys sorted.

    Includes the key ``"tinygrad_edu.layout"`` (``"tinygrad_edu"`` or ``"torch"``)
    in files written by :func:`save`. Raises ValueError for a path that does
    not end in ``.safetensors`` (an ``.npz`` checkpoint keeps such strings in
    its dict) and the errors of :func:`load` for a bad file.
    """
    path = os.fspath(path)
    if not _is_safetensors(path):
        raise ValueError(f"tinygrad_edu.load_metadata: {path!r} is not a .safetensors file; "
                         "an .npz checkpoint keeps strings in its dict (tinygrad_edu.load)")
    from . import _safetensors

    return dict(sorted(_safetensors.read_header(path)[1].items()))  # the file's order is arbitrary
