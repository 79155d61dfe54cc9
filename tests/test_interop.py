"""PyTorch weights in and out (tinygrad_edu.interop), against PyTorch's numbers.

tests/reference/interop.npz (written by tests/reference/make_interop.py, which
has PyTorch) holds, for each architecture of tests/interop_models.py, PyTorch's
state_dict (float64) and its outputs on fixed inputs in evaluation mode. The
same builder code makes the twin here. torch is never imported.
"""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from interop_models import BUILDERS
from tinygrad_edu import interop
from tinygrad_edu.serialization import TorchStateDict

HERE = pathlib.Path(__file__).parent / "reference"
REF = np.load(HERE / "interop.npz")
NAMES = list(BUILDERS)


def torch_sd(name):
    return {str(k): REF[f"{name}/sd/{k}"] for k in REF[f"{name}/keys"]}


def inputs(name):
    out, i = [], 0
    while f"{name}/in/{i}" in REF:
        x = REF[f"{name}/in/{i}"]
        out.append(tg.tensor(x) if x.dtype.kind == "f" else x)
        i += 1
    return out


def run(model, name):
    with tg.no_grad():
        return np.asarray(model.eval()(*inputs(name)).data)


def loaded(name):
    model = BUILDERS[name](tg.nn)
    model.load_state_dict(interop.from_torch_state_dict(model, torch_sd(name)))
    return model


@pytest.mark.parametrize("name", NAMES)
def test_pytorch_weights_give_pytorch_outputs(name):
    np.testing.assert_allclose(run(loaded(name), name), REF[f"{name}/out"], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
def test_weights_go_back_to_pytorch_unchanged(name):
    sd = interop.to_torch_state_dict(loaded(name))
    ref = torch_sd(name)
    assert isinstance(sd, TorchStateDict) and list(sd) == list(ref)  # PyTorch's keys, in its order
    for k, v in ref.items():
        assert sd[k].dtype == v.dtype and sd[k].flags.c_contiguous, k
        assert np.array_equal(sd[k], v), k


@pytest.mark.parametrize("name", NAMES)
def test_a_fresh_model_exports_pytorch_keys_and_shapes(name):
    sd = interop.to_torch_state_dict(BUILDERS[name](tg.nn))
    assert list(sd) == list(REF[f"{name}/keys"])
    assert {k: v.shape for k, v in sd.items()} == {k: v.shape for k, v in torch_sd(name).items()}


def torch_style_mlp(sd, x):
    """PyTorch's Linear semantics (y = x W^T + b) with numpy, on an exported state dict."""
    h = np.tanh(x @ sd["0.weight"].T + sd["0.bias"])
    h = np.maximum(h @ sd["2.weight"].T + sd["2.bias"], 0)
    return h @ sd["4.weight"].T + sd["4.bias"]


def test_trained_weights_survive_the_trip_bit_for_bit():
    model = BUILDERS["mlp"](tg.nn)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 8)), rng.standard_normal((16, 3))
    for _ in range(3):
        opt.zero_grad()
        ((model(tg.tensor(x)) - y) ** 2).mean().backward()
        opt.step()
    sd = interop.to_torch_state_dict(model)
    xr = REF["mlp/in/0"]
    # what PyTorch computes with these weights (its layout: x @ W.T) is what the model computes
    np.testing.assert_allclose(torch_style_mlp(sd, xr), run(model, "mlp"), rtol=0, atol=1e-12)
    twin = BUILDERS["mlp"](tg.nn)
    twin.load_state_dict(interop.from_torch_state_dict(twin, sd))
    assert np.array_equal(run(twin, "mlp"), run(model, "mlp"))


def test_square_linear_weights_are_found_by_type_not_shape():
    ref = torch_sd("mlp")
    x = REF["mlp/in/0"]
    wrong = BUILDERS["mlp"](tg.nn)
    raw = {k: (v.T if k == "4.weight" else v) for k, v in ref.items()}  # only the 8x3 one fixed
    wrong.load_state_dict(raw)  # the 8x8 weights fit as they are: loads, computes the wrong thing
    assert not np.allclose(run(wrong, "mlp"), REF["mlp/out"])
    converted = interop.from_torch_state_dict(wrong, ref)
    assert np.array_equal(converted["0.weight"], ref["0.weight"].T)
    assert np.array_equal(converted["0.bias"], ref["0.bias"])


class FakeTorchTensor:
    """Enough of a torch tensor for the duck typing: detach() -> cpu() -> numpy()."""

    def __init__(self, arr, fail=False):
        self.arr, self.fail, self.calls = arr, fail, []

    def detach(self):
        self.calls.append("detach")
        return self

    def cpu(self):
        self.calls.append("cpu")
        return self

    def numpy(self):
        if self.fail:
            raise TypeError("Got unsupported ScalarType BFloat16")
        return self.arr


def test_tensors_with_numpy_method_are_converted():
    fakes = {k: FakeTorchTensor(v) for k, v in torch_sd("mlp").items()}
    model = BUILDERS["mlp"](tg.nn)
    model.load_state_dict(interop.from_torch_state_dict(model, fakes))
    np.testing.assert_allclose(run(model, "mlp"), REF["mlp/out"], rtol=0, atol=1e-10)
    assert fakes["0.weight"].calls == ["detach", "cpu"]
    fakes["2.bias"] = FakeTorchTensor(None, fail=True)
    with pytest.raises(TypeError, match=r"'2.bias'.*BFloat16.*float\(\)"):
        interop.from_torch_state_dict(model, fakes)


def test_dtypes_are_kept_and_cast_on_load():
    ref = {k: v.astype(np.float32) for k, v in torch_sd("blog").items()}
    model = BUILDERS["blog"](tg.nn)
    conv = interop.from_torch_state_dict(model, ref)
    assert all(v.dtype == np.float32 for v in conv.values())
    model.load_state_dict(conv)
    assert model[0].weight.dtype == np.float64
    assert np.array_equal(model[0].weight.data, ref["0.weight"].T.astype(np.float64))
    bn = torch_sd("cnn")
    assert interop.from_torch_state_dict(BUILDERS["cnn"](tg.nn), bn)["1.num_batches_tracked"].dtype == np.int64
    small = BUILDERS["cnn"](tg.nn).float()
    assert interop.to_torch_state_dict(small)["5.weight"].dtype == np.float32


def test_missing_and_unexpected_keys_are_listed():
    model = BUILDERS["cnn"](tg.nn)
    sd = torch_sd("cnn")
    del sd["1.running_var"]
    sd["6.weight"] = np.ones(3)
    with pytest.raises(KeyError, match=r"missing keys \['1.running_var'\].*unexpected keys \['6.weight'\]"):
        interop.from_torch_state_dict(model, sd)
    wrapped = {"module." + k: v for k, v in torch_sd("cnn").items()}
    with pytest.raises(KeyError, match="starts with 'module.'"):
        interop.from_torch_state_dict(model, wrapped)


def test_shape_mismatch_names_key_and_both_shapes():
    model = BUILDERS["blog"](tg.nn)
    sd = torch_sd("blog")
    sd["0.weight"] = sd["0.weight"].T  # (3, 4): our layout, not PyTorch's (4, 3)
    with pytest.raises(ValueError, match=r"'0.weight'.*\(3, 4\).*needs \(4, 3\)"):
        interop.from_torch_state_dict(model, sd)
    cnn = BUILDERS["cnn"](tg.nn)
    sd = torch_sd("cnn")
    sd["0.weight"] = np.zeros((4, 1, 5, 5))
    with pytest.raises(ValueError, match=r"'0.weight'.*\(4, 1, 5, 5\).*\(4, 1, 3, 3\)"):
        interop.from_torch_state_dict(cnn, sd)


class Scale(tg.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = tg.nn.Parameter(np.ones((2, 2)))

    def forward(self, x):
        return x @ self.w


def test_a_module_of_unknown_layout_is_refused_by_name():
    model = tg.nn.Sequential(tg.nn.Linear(2, 2), Scale())
    with pytest.raises(TypeError, match=r"'1.w' of Scale.*same_layout"):
        interop.to_torch_state_dict(model)
    with pytest.raises(TypeError, match=r"'1.w' of Scale"):
        interop.from_torch_state_dict(model, {})
    sd = interop.to_torch_state_dict(model, same_layout=(Scale,))
    assert np.array_equal(sd["1.w"], model[1].w.data)
    assert np.array_equal(sd["0.weight"], model[0].weight.data.T)
    with pytest.raises(TypeError, match=r"'0.0' of ParameterList"):
        interop.to_torch_state_dict(tg.nn.Sequential(tg.nn.ParameterList([tg.nn.Parameter(np.ones(2))])))


def test_failed_conversion_and_refused_state_leave_the_model_unchanged():
    model = BUILDERS["mlp"](tg.nn)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    sd = torch_sd("mlp")
    sd["4.bias"] = np.zeros(4)
    with pytest.raises(ValueError):
        model.load_state_dict(interop.from_torch_state_dict(model, sd))
    with pytest.raises(ValueError, match="from_torch_state_dict"):
        model.load_state_dict(interop.to_torch_state_dict(BUILDERS["mlp"](tg.nn)))
    after = model.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)


def test_non_numeric_and_non_array_values_are_refused():
    model = BUILDERS["blog"](tg.nn)
    sd = torch_sd("blog")
    with pytest.raises(TypeError, match="'0.weight' is a list"):
        interop.from_torch_state_dict(model, {**sd, "0.weight": [[1.0]]})
    with pytest.raises(ValueError, match="'0.weight' has dtype complex128"):
        interop.from_torch_state_dict(model, {**sd, "0.weight": sd["0.weight"].astype(complex)})
    with pytest.raises(TypeError, match="nn.Module"):
        interop.to_torch_state_dict(sd)


def test_npz_keeps_the_pytorch_layout_mark(tmp_path):
    sd = interop.to_torch_state_dict(loaded("blog"))
    tg.save(sd, tmp_path / "t.npz")
    back = tg.load(tmp_path / "t.npz")
    assert isinstance(back, TorchStateDict)
    model = BUILDERS["blog"](tg.nn)
    with pytest.raises(ValueError, match="from_torch_state_dict"):
        model.load_state_dict(back)
    model.load_state_dict(interop.from_torch_state_dict(model, back))
    np.testing.assert_allclose(run(model, "blog"), REF["blog/out"], rtol=0, atol=1e-10)


def test_pickles_and_other_paths_are_refused(tmp_path):
    model = BUILDERS["blog"](tg.nn)
    p = tmp_path / "model.pt"
    p.write_bytes(b"\x80\x04anything")
    with pytest.raises(ValueError, match=r"refusing .*model.pt.*save_file"):
        interop.from_torch_state_dict(model, p)
    with pytest.raises(ValueError, match="not a .safetensors file"):
        interop.from_torch_state_dict(model, str(tmp_path / "model.npz"))


# ---- files: needs the safetensors package ---------------------------------------------
def test_pytorch_safetensors_file_loads_through_the_converter():
    pytest.importorskip("safetensors")
    path = HERE / "interop_cnn.safetensors"  # written by safetensors.torch.save_file
    model = BUILDERS["cnn"](tg.nn)
    before = model.state_dict()
    state = tg.load(path)
    assert isinstance(state, TorchStateDict)
    with pytest.raises(ValueError, match=r"did not write.*from_torch_state_dict"):
        model.load_state_dict(state)  # a PyTorch habit that would be wrong: refused
    assert all(np.array_equal(v, model.state_dict()[k]) for k, v in before.items())
    model.load_state_dict(interop.from_torch_state_dict(model, path))
    np.testing.assert_allclose(run(model, "cnn"), REF["cnn/out"], rtol=0, atol=1e-10)
    assert tg.serialization.load_metadata(path) == {"format": "pt"}


def test_exported_safetensors_file_is_what_pytorch_reads(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    model = loaded("transformer")
    path = tmp_path / "model.safetensors"
    tg.save(interop.to_torch_state_dict(model), path)
    plain = st_numpy.load_file(str(path))  # the bytes safetensors.torch.load_file reads
    ref = torch_sd("transformer")
    assert set(plain) == set(ref) and all(np.array_equal(plain[k], v) for k, v in ref.items())
    assert tg.serialization.load_metadata(path)["tinygrad_edu.layout"] == "torch"
    twin = BUILDERS["transformer"](tg.nn)
    twin.load_state_dict(interop.from_torch_state_dict(twin, path))
    assert np.array_equal(run(twin, "transformer"), run(model, "transformer"))


def test_own_layout_safetensors_file_is_refused_by_the_converter(tmp_path):
    pytest.importorskip("safetensors")
    model = loaded("mlp")
    path = tmp_path / "own.safetensors"
    tg.save(model.state_dict(), path)
    with pytest.raises(ValueError, match=r"already in this package's \(in, out\) layout"):
        interop.from_torch_state_dict(model, path)
    twin = BUILDERS["mlp"](tg.nn)
    twin.load_state_dict(tg.load(path))  # its own layout loads directly
    assert np.array_equal(run(twin, "mlp"), run(model, "mlp"))
