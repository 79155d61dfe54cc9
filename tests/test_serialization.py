"""tinygrad_edu.save / load: round trips, refusal of unsafe files, atomic writes."""
import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim, serialization
from tinygrad_edu.tensor import Tensor


def _net(seed=0):
    return nn.Sequential(nn.Linear(4, 6, rng=seed), nn.Sigmoid(), nn.Linear(6, 3, rng=seed + 1))


def _assert_same(a, b, where="top"):
    assert type(a) is type(b), f"{where}: {type(a)} vs {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}/{i}")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True), where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where


def _listing(d):
    return sorted(os.listdir(d))


# ---- round trips ------------------------------------------------------------------
def test_model_round_trip_predicts_identically(tmp_path):
    net = _net()
    tg.save(net.state_dict(), tmp_path / "model.npz")
    sd = tg.load(tmp_path / "model.npz")
    _assert_same(dict(net.state_dict()), sd)
    fresh = _net(seed=7)
    X = np.random.default_rng(0).standard_normal((5, 4))
    assert not np.array_equal(fresh(X).data, net(X).data)
    fresh.load_state_dict(sd)
    assert np.array_equal(fresh(X).data, net(X).data)


def test_optimizer_state_round_trip_keeps_python_types(tmp_path):
    net = _net()
    opt = optim.Adam(net.parameters(), lr=0.01, amsgrad=True)
    X = np.ones((2, 4))
    (net(X) ** 2).sum().backward()
    opt.step()
    sd = opt.state_dict()
    tg.save(sd, tmp_path / "opt.npz")
    back = tg.load(tmp_path / "opt.npz")
    _assert_same(sd, back)
    assert back["state"][0]["step"] == 1 and type(back["state"][0]["step"]) is int
    assert back["param_groups"][0]["betas"] == (0.9, 0.999)


def test_odd_keys_and_values_round_trip(tmp_path):
    weird = {
        "": np.arange(3),
        "a/b": {"~": np.float32(1.5), "%": np.array(2.0), "%25": [1, 2.5, True, None, "text"]},
        "é unicode ✓": (np.array([], dtype=np.int8), np.ones((2, 3), dtype=">f8")[:, ::2]),
        0: {1: -2**63, 2: complex(1, -2), 3: float("inf"), 4: float("nan")},
        "0": np.array([True, False]),
        "f16": np.arange(4, dtype=np.float16), "u8": np.arange(4, dtype=np.uint8),
        "c64": np.array([1 + 2j], dtype=np.complex64),
        "tensor_becomes_array": Tensor([1.0, 2.0]),
    }
    tg.save(weird, tmp_path / "w.npz")
    back = tg.load(tmp_path / "w.npz")
    expected = dict(weird, tensor_becomes_array=np.array([1.0, 2.0]))
    _assert_same(expected, back)


def test_layout_is_readable_with_plain_numpy(tmp_path):
    net = _net()
    opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    (net(np.ones((1, 4))) ** 2).sum().backward()
    opt.step()
    tg.save({"model": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ck")
    assert _listing(tmp_path) == ["ck"]  # written exactly at the path given, no suffix added
    with np.load(tmp_path / "ck", allow_pickle=False) as f:
        assert np.array_equal(f["model/0.weight"], net[0].weight.data)
        assert np.array_equal(f["optimizer/state/0/momentum_buffer"], opt.state[net[0].weight]["momentum_buffer"])
        assert f["optimizer/param_groups/0/lr"] == 0.1
        assert '"version": 1' in str(f["__tinygrad_edu__"])
    tg.save(net.state_dict(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        assert sorted(f.files) == sorted(["__tinygrad_edu__", "0.weight", "0.bias", "2.weight", "2.bias"])


def test_plain_npz_loads_as_flat_dict(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.arange(3), b=np.ones(2))
    back = tg.load(tmp_path / "plain.npz")
    assert sorted(back) == ["b", "w"] and np.array_equal(back["w"], np.arange(3))


def test_path_objects_and_overwrite(tmp_path):
    p = tmp_path / "x.npz"
    tg.save({"a": np.zeros(2)}, str(p))
    tg.save({"a": np.ones(2)}, p)
    assert np.array_equal(tg.load(str(p))["a"], np.ones(2))
    assert _listing(tmp_path) == ["x.npz"]


def test_existing_permissions_are_kept(tmp_path):
    p = tmp_path / "private.npz"
    tg.save({"a": np.zeros(1)}, p)
    os.chmod(p, 0o600)
    tg.save({"a": np.ones(1)}, p)
    assert os.stat(p).st_mode & 0o777 == 0o600


# ---- unsafe and broken files ----------------------------------------------------------
class _Exploit:
    """Unpickling this creates the marker file: proof that code ran."""

    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _exploit(tmp_path):
    e = _Exploit()
    e.marker = str(tmp_path / "PWNED")
    return e


def test_pickle_file_is_refused_and_never_run(tmp_path):
    p = tmp_path / "evil.pt"
    with open(p, "wb") as f:
        pickle.dump({"weight": _exploit(tmp_path)}, f)
    with pytest.raises(ValueError, match="refusing .*pickle"):
        tg.load(p)
    assert not (tmp_path / "PWNED").exists()


def test_npz_with_object_array_is_refused_and_never_run(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, weight=np.ones(2), payload=np.array([_exploit(tmp_path)], dtype=object))
    with pytest.raises(ValueError, match="refusing .*object array"):
        tg.load(p)
    assert not (tmp_path / "PWNED").exists()


def test_object_array_under_a_valid_metadata_is_refused(tmp_path):
    p = tmp_path / "ck.npz"
    tg.save({"a": np.ones(2)}, p)
    with zipfile.ZipFile(p, "a") as zf:  # smuggle a pickle in as an extra array
        with zf.open("b.npy", "w") as fh:
            np.lib.format.write_array(fh, np.array([_exploit(tmp_path)], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="refusing .*object array"):
        tg.load(p)
    assert not (tmp_path / "PWNED").exists()


def test_non_npy_member_and_single_npy_and_garbage_are_refused(tmp_path):
    p = tmp_path / "z.npz"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("data.pkl", pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a .npy array"):
        tg.load(p)
    np.save(tmp_path / "one.npy", np.ones(3))
    with pytest.raises(ValueError, match="single .npy"):
        tg.load(tmp_path / "one.npy")
    (tmp_path / "g.npz").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not an .npz"):
        tg.load(tmp_path / "g.npz")


def test_truncated_file_is_refused(tmp_path):
    p = tmp_path / "ck.npz"
    tg.save({"a": np.arange(1000.0)}, p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="refusing"):
        tg.load(p)


@pytest.mark.parametrize("meta, match", [
    ('{"format": "tinygrad_edu.checkpoint", "version": 99, "tree": {"dict": []}}', "version 99"),
    ('{"format": "other", "version": 1, "tree": {"dict": []}}', "format"),
    ("not json", "metadata"),
    ('{"format": "tinygrad_edu.checkpoint", "version": 1, "tree": {"array": "missing"}}', "corrupt"),
    ('{"format": "tinygrad_edu.checkpoint", "version": 1, "tree": ' + '{"list": [' * 5000 + ']}' * 5000 + "}",
     "metadata"),
])
def test_bad_metadata_is_refused(tmp_path, meta, match):
    p = tmp_path / "ck.npz"
    np.savez(p, __tinygrad_edu__=np.asarray(meta))
    with pytest.raises(ValueError, match=match):
        tg.load(p)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        tg.load("/nonexistent/dir/ck.npz")


# ---- atomic writes -------------------------------------------------------------------
def test_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "ck.npz"
    tg.save({"a": np.zeros(10), "b": np.zeros(10)}, p)
    old = p.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def crash_on_second_array(fh, arr, **kw):
        calls.append(1)
        if len(calls) == 3:  # metadata, "a", then half of "b"
            fh.write(b"\x93NUMPY partial")
            raise OSError("disk full (simulated)")
        return real(fh, arr, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", crash_on_second_array)
    with pytest.raises(OSError, match="simulated"):
        tg.save({"a": np.ones(10), "b": np.ones(10)}, p)
    assert len(calls) == 3
    assert p.read_bytes() == old
    assert _listing(tmp_path) == ["ck.npz"]  # no temp file left behind
    monkeypatch.undo()
    assert np.array_equal(tg.load(p)["b"], np.zeros(10))


def test_crash_in_fsync_or_rename_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "ck.npz"
    tg.save({"a": np.zeros(3)}, p)
    old = p.read_bytes()
    for name in ("fsync", "replace"):
        with monkeypatch.context() as m:
            def boom(*a, **k):
                raise OSError(f"{name} failed (simulated)")
            m.setattr(serialization.os, name, boom)
            with pytest.raises(OSError, match="simulated"):
                tg.save({"a": np.ones(3)}, p)
        assert p.read_bytes() == old and _listing(tmp_path) == ["ck.npz"]


def test_crash_on_first_save_leaves_nothing(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        tg.save({"a": np.ones(3)}, tmp_path / "new.npz")
    assert _listing(tmp_path) == []


def _cyclic():
    d = {"a": []}
    d["a"].append(d)
    return d


@pytest.mark.parametrize("value, exc, match", [
    ({"a": np.array([object()], dtype=object)}, ValueError, "non-numeric dtype object"),
    ({"a": np.array(["x", "y"])}, ValueError, "non-numeric"),
    ({"a": {"b": {1, 2}}}, TypeError, "set at a/b"),
    ({"a": len}, TypeError, "builtin_function_or_method"),
    ({(1, 2): np.ones(1)}, TypeError, "key"),
    ({True: np.ones(1)}, TypeError, "key"),
    ({"a": 2**64}, ValueError, "int64"),
    ({"__tinygrad_edu__": 1}, ValueError, "reserved"),
    (_cyclic(), ValueError, "contains itself"),
    ([np.ones(1)], TypeError, "expected a dict"),
])
def test_bad_values_raise_before_writing(tmp_path, value, exc, match):
    p = tmp_path / "ck.npz"
    tg.save({"a": np.zeros(2)}, p)
    old = p.read_bytes()
    with pytest.raises(exc, match=match):
        tg.save(value, p)
    assert p.read_bytes() == old and _listing(tmp_path) == ["ck.npz"]


def test_missing_directory_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        tg.save({"a": np.ones(1)}, tmp_path / "nope" / "ck.npz")
    assert _listing(tmp_path) == []
