"""tinygrad_edu.save / load of .safetensors files: round trips, refused files, atomic writes.

Needs the ``safetensors`` package (the ``safetensors`` extra); skipped without
it, except the test of the error that names the extra.
"""
import json
import os
import pickle
import struct
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import _safetensors, nn, optim
from tinygrad_edu.serialization import TorchStateDict, load_metadata


@pytest.fixture
def st_numpy():
    return pytest.importorskip("safetensors.numpy")


def _cnn():
    return nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(8, 8, rng=1))


def _listing(d):
    return sorted(os.listdir(d))


def _raw(header, data=b""):
    """A safetensors file's bytes from a header dict and the data bytes."""
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


# ---- round trips ------------------------------------------------------------------
def test_model_round_trip_is_exact(tmp_path, st_numpy):
    model = _cnn()
    model.train()(tg.tensor(np.random.default_rng(0).standard_normal((2, 1, 4, 4))))  # running stats move
    p = tmp_path / "model.safetensors"
    tg.save(model.state_dict(), p)
    back = tg.load(p)
    assert type(back) is dict and set(back) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape and np.array_equal(back[k], v), k
    twin = _cnn()
    twin[3].weight.data[...] = 0
    twin.load_state_dict(back)
    x = tg.tensor(np.ones((1, 1, 4, 4)))
    assert np.array_equal(twin.eval()(x).data, model.eval()(x).data)
    plain = st_numpy.load_file(str(p))  # any safetensors reader gets the same arrays
    assert all(np.array_equal(plain[k], v) for k, v in back.items())


def test_dtypes_shapes_and_layouts_round_trip(tmp_path, st_numpy):
    rng = np.random.default_rng(1)
    state = {
        "f16": rng.standard_normal(3).astype(np.float16), "f32": rng.standard_normal((2, 3)).astype(np.float32),
        "f64_t": rng.standard_normal((3, 4)).T,  # not C-contiguous
        "big": rng.standard_normal(4).astype(">f8"),  # big-endian
        "i64_0d": np.array(7, dtype=np.int64), "u8": np.arange(5, dtype=np.uint8),
        "i32": np.arange(-2, 2, dtype=np.int32), "bool": np.array([True, False]),
        "empty": np.zeros((2, 0)), "c64": np.array([1 + 2j], dtype=np.complex64),
        "tensor": tg.tensor([1.5, 2.5]), "nan": np.array([np.nan, np.inf, -0.0]),
    }
    p = tmp_path / "x.SAFETENSORS"  # the suffix in any case
    tg.save(state, p)
    back = tg.load(p)
    for k, v in state.items():
        v = v.data if isinstance(v, tg.Tensor) else v
        assert back[k].dtype == v.dtype.newbyteorder("=") and back[k].shape == v.shape, k
        assert np.array_equal(back[k], v, equal_nan=v.dtype.kind == "f"), k
    assert np.signbit(back["nan"][2])


def test_metadata_round_trips_strings(tmp_path, st_numpy):
    p = tmp_path / "m.safetensors"
    tg.save({"w": np.ones(2)}, p, metadata={"epoch": "3", "note": "héllo"})
    assert load_metadata(p) == {"tinygrad_edu.layout": "tinygrad_edu", "epoch": "3", "note": "héllo"}
    with pytest.raises(TypeError, match="str to str"):
        tg.save({"w": np.ones(2)}, p, metadata={"epoch": 3})
    with pytest.raises(ValueError, match="reserved"):
        tg.save({"w": np.ones(2)}, p, metadata={"tinygrad_edu.layout": "torch"})
    with pytest.raises(ValueError, match="metadata= is for .safetensors"):
        tg.save({"w": np.ones(2)}, tmp_path / "m.npz", metadata={"a": "b"})
    with pytest.raises(ValueError, match="not a .safetensors file"):
        load_metadata(tmp_path / "m.npz")


def test_file_without_our_mark_loads_as_pytorch_layout(tmp_path, st_numpy):
    p = tmp_path / "foreign.safetensors"
    st_numpy.save_file({"0.weight": np.eye(2), "0.bias": np.zeros(2)}, str(p))
    state = tg.load(p)
    assert isinstance(state, TorchStateDict) and "did not write" in state.origin
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"did not write.*\['0.weight'\].*dict\(state\)"):
        model.load_state_dict(state)
    model.load_state_dict(dict(state))  # the explicit way to say "it is already (in, out)"
    nn.Sequential(nn.BatchNorm1d(2)).load_state_dict(  # no Linear weight: nothing to get wrong
        TorchStateDict({"0.weight": np.ones(2), "0.bias": np.zeros(2), "0.running_mean": np.zeros(2),
                        "0.running_var": np.ones(2), "0.num_batches_tracked": np.array(0)}))


# ---- what a safetensors file cannot hold --------------------------------------------
@pytest.mark.parametrize("state, exc, match", [
    ({"opt": {"lr": np.ones(1)}}, TypeError, r"flat dict of arrays only.*\.npz"),
    ({"step": 3}, TypeError, "is a int, not an array"),
    ({"name": "x"}, TypeError, "is a str, not an array"),
    ({"w": None}, TypeError, "NoneType"),
    ({"w": [np.ones(2)]}, TypeError, "is a list"),
    ({1: np.ones(2)}, TypeError, "key 1 is a int"),
    ({"__metadata__": np.ones(2)}, ValueError, "reserved"),
    ({"c": np.ones(2, complex)}, ValueError, "dtype complex128.*npz"),
    ({"o": np.array([object()])}, ValueError, "dtype object"),
    ({"s": np.array(["a"])}, ValueError, "dtype <U1"),
])
def test_unsupported_values_raise_before_writing(tmp_path, state, exc, match):
    p = tmp_path / "ck.safetensors"
    p.write_bytes(b"old")
    with pytest.raises(exc, match=match):
        tg.save(state, p)
    assert p.read_bytes() == b"old" and _listing(tmp_path) == ["ck.safetensors"]


def test_optimizer_state_error_says_how_to_save_it(tmp_path):
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters())
    with pytest.raises(TypeError, match=r"opt.state_dict\(\), 'opt.npz'"):
        tg.save(opt.state_dict(), tmp_path / "opt.safetensors")


def test_missing_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad_edu\[safetensors\]"'):
        tg.save({"w": np.ones(2)}, tmp_path / "w.safetensors")
    with pytest.raises(ImportError, match=r"tinygrad_edu\[safetensors\]"):
        tg.load(tmp_path / "w.safetensors")
    assert _listing(tmp_path) == []


# ---- atomic writes ------------------------------------------------------------------
def test_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch, st_numpy):
    p = tmp_path / "ck.safetensors"
    tg.save({"a": np.zeros(1000)}, p)
    old = p.read_bytes()
    written = []

    def crash_halfway(f, data):
        f.write(data[:len(data) // 2])
        written.append(len(data) // 2)
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(_safetensors, "_write_chunks", crash_halfway)
    with pytest.raises(OSError, match="simulated"):
        tg.save({"a": np.ones(1000)}, p)
    assert written and p.read_bytes() == old
    assert _listing(tmp_path) == ["ck.safetensors"]  # no temp file left behind
    monkeypatch.undo()
    assert np.array_equal(tg.load(p)["a"], np.zeros(1000))


def test_chunked_write_covers_the_whole_file(tmp_path, monkeypatch, st_numpy):
    monkeypatch.setattr(_safetensors, "_CHUNK", 7)  # many chunks, the last one short
    p = tmp_path / "ck.safetensors"
    tg.save({"a": np.arange(10.0)}, p)
    assert np.array_equal(tg.load(p)["a"], np.arange(10.0))


# ---- refused files -------------------------------------------------------------------
@pytest.mark.parametrize("extra", ["", "x" * 200])  # the second: header length 0x180, first byte pickle's 0x80
def test_truncated_files_are_refused_naming_the_file(tmp_path, st_numpy, extra):
    good = tmp_path / "good.safetensors"
    tg.save({"a": np.arange(100.0), "b": np.ones(3)}, good, metadata={"pad": extra})
    data = good.read_bytes()
    assert extra == "" or data[0] == 0x80
    for cut, match in [(0, "truncated"), (5, "truncated"), (20, "truncated: its header"),
                       (len(data) - 5, "truncated: tensor")]:
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=f"refusing '.*cut{cut}.safetensors': .*{match}"):
            tg.load(p)


def _exploit(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "PWNED"), "w"))
    return Exploit()


def test_foreign_files_are_refused(tmp_path, st_numpy):
    cases = {"npz": "zip archive", "pickle": "pickle file", "npy": "single .npy", "noise": "not a safetensors file",
             "text": "not a safetensors file", "zero": "not a safetensors file"}
    tg.save({"a": np.ones(2)}, tmp_path / "a.npz")
    os.rename(tmp_path / "a.npz", tmp_path / "npz.safetensors")
    with open(tmp_path / "pickle.safetensors", "wb") as f:
        pickle.dump({"w": _exploit(tmp_path)}, f)
    np.save(tmp_path / "npy.npy", np.ones(2))
    os.rename(tmp_path / "npy.npy", tmp_path / "npy.safetensors")
    (tmp_path / "noise.safetensors").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "text.safetensors").write_bytes(b"hello world, this is not a tensor file")
    (tmp_path / "zero.safetensors").write_bytes(bytes(8) + b'{"a": 1}')  # header length 0
    for name, match in cases.items():
        with pytest.raises(ValueError, match=f"refusing '.*{name}.safetensors': .*{match}"):
            tg.load(tmp_path / f"{name}.safetensors")
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("header, data, match", [
    ({"a": "hello"}, b"", "entry 'a' is not a tensor description"),
    ({"a": {"dtype": "F64", "shape": [1]}}, b"", "entry 'a' is not a tensor description"),
    ({"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"\0\0", r"BF16.*bfloat16.*float\(\)"),
    ({"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "should span 16 bytes"),
    ({"a": {"dtype": "F64", "shape": [-1], "data_offsets": [0, 8]}}, b"\0" * 8, "invalid shape"),
    ({"__metadata__": {"a": 1}}, b"", "__metadata__ is not a dict of strings"),
    ([1, 2], b"", "not a safetensors file"),
    ({"a": {"dtype": "F64", "shape": [2**62, 4], "data_offsets": [0, 8]}}, b"\0" * 8, "should span"),
    ({"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},
      "b": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, "library could not read it"),
])
def test_bad_headers_are_refused(tmp_path, st_numpy, header, data, match):
    p = tmp_path / "bad.safetensors"
    p.write_bytes(_raw(header, data))
    with pytest.raises(ValueError, match=f"refusing '.*bad.safetensors': .*{match}"):
        tg.load(p)


def test_mismatched_state_leaves_the_model_unchanged(tmp_path, st_numpy):
    model = _cnn()
    sd = model.state_dict()
    sd["3.weight"] = np.zeros((8, 9))
    sd["1.running_mean"] = np.full(2, 5.0)
    p = tmp_path / "m.safetensors"
    tg.save(sd, p)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"size mismatch for '3.weight'.*\(8, 9\).*\(8, 8\)"):
        model.load_state_dict(tg.load(p))
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
    del sd["3.weight"]
    tg.save(sd, p)
    with pytest.raises(KeyError, match=r"missing keys \['3.weight'\]"):
        model.load_state_dict(tg.load(p))
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
