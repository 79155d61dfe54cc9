"""Activations and normalisers: PyTorch reference values (tests/reference/activation.npz, made by
make_activation.py), erf's accuracy, PyTorch's derivatives at kinks, modules (state_dict names,
running statistics, eval mode) and errors."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

REF = np.load(Path(__file__).parent / "reference" / "activation.npz")
TIGHT = dict(rtol=1e-10, atol=1e-13)
ACTIVATIONS = json.loads(str(REF["act_labels"]))
# PyTorch computes d/dx hardsigmoid as g * (1.0f / 6.0f): 1/6 rounded to float32 (relative
# error 3e-8); ours is g / 6. Elsewhere the two agree to rounding.
LOOSER = {"hardsigmoid": dict(rtol=1e-7, atol=1e-13)}


def _act_fn(name):
    return getattr(tg, name) if name in ("erf", "erfc") else getattr(F, name)


# ---- PyTorch reference values ------------------------------------------------------------
@pytest.mark.parametrize("label, name, kw", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_matches_pytorch(label, name, kw):
    x = tg.Tensor(REF["act_x"], requires_grad=True)
    y = _act_fn(name)(x, **kw)
    np.testing.assert_allclose(y.data, REF[f"act/{label}/y"], **TIGHT)
    (gx,) = tg.grad(y, x, REF["act_g"], create_graph=True)
    np.testing.assert_allclose(gx.data, REF[f"act/{label}/gx"], **LOOSER.get(label, TIGHT))
    if f"act/{label}/ggx" in REF:
        ggx = tg.grad(gx, x, REF["act_v"], allow_unused=True)[0] if gx.requires_grad else None
        ggx = np.zeros_like(x.data) if ggx is None else ggx.data
        np.testing.assert_allclose(ggx, REF[f"act/{label}/ggx"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("label, fn", [("glu_dim1", lambda a: F.glu(a, 1)), ("glu_last", lambda a: F.glu(a, -1)),
                                       ("prelu_channel", F.prelu), ("prelu_shared", F.prelu)])
def test_glu_and_prelu_match_pytorch(label, fn):
    ins = [tg.Tensor(REF[f"{label}/in{i}"], requires_grad=True)
           for i in range(2) if f"{label}/in{i}" in REF]
    y = fn(*ins)
    np.testing.assert_allclose(y.data, REF[f"{label}/y"], **TIGHT)
    grads = tg.grad(y, ins, REF[f"{label}/gy"])
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g.data, REF[f"{label}/g{i}"], **TIGHT)


def _norm_call(label, x, w, b):
    args = json.loads(str(REF[f"norm/{label}/args"]))
    if label.startswith("layer_norm"):
        return F.layer_norm(x, tuple(args["normalized_shape"]), w, b, args["eps"])
    if label.startswith("rms_norm"):
        return F.rms_norm(x, tuple(args["normalized_shape"]), w, args["eps"])
    if label.startswith("group_norm"):
        return F.group_norm(x, args["num_groups"], w, b, args["eps"])
    raise AssertionError(label)


NORMS = ["layer_norm_34", "layer_norm_4_plain", "rms_norm_4", "rms_norm_34", "group_norm_1",
         "group_norm_3", "group_norm_6", "group_norm_2_nospatial"]


def _params(label):
    return [tg.Tensor(REF[f"norm/{label}/{n}"], requires_grad=True) if f"norm/{label}/{n}" in REF else None
            for n in ("weight", "bias")]


def _check_norm(label, y, x, w, b):
    np.testing.assert_allclose(y.data, REF[f"norm/{label}/y"], **TIGHT)
    wanted = [t for t in (x, w, b) if t is not None]
    grads = tg.grad(y, wanted, REF[f"norm/{label}/gy"])
    np.testing.assert_allclose(grads[0].data, REF[f"norm/{label}/gx"], **TIGHT)
    k = 1
    for name, p in (("weight", w), ("bias", b)):
        if p is not None:
            np.testing.assert_allclose(grads[k].data, REF[f"norm/{label}/g{name}"], **TIGHT)
            k += 1


@pytest.mark.parametrize("label", NORMS)
def test_normalizer_matches_pytorch(label):
    x = tg.Tensor(REF[f"norm/{label}/x"], requires_grad=True)
    w, b = _params(label)
    _check_norm(label, _norm_call(label, x, w, b), x, w, b)


def test_batch_norm_training_step_and_eval_match_pytorch():
    label = "norm/batch_norm_train"
    x = tg.Tensor(REF[f"{label}/x"], requires_grad=True)
    w, b = _params("batch_norm_train")
    rm, rv = REF[f"{label}/running_mean0"].copy(), REF[f"{label}/running_var0"].copy()
    y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-4)
    _check_norm("batch_norm_train", y, x, w, b)
    np.testing.assert_allclose(rm, REF[f"{label}/running_mean1"], **TIGHT)
    np.testing.assert_allclose(rv, REF[f"{label}/running_var1"], **TIGHT)

    label = "norm/batch_norm_eval"
    x = tg.Tensor(REF[f"{label}/x"], requires_grad=True)
    w, b = _params("batch_norm_eval")
    y = F.batch_norm(x, REF[f"{label}/running_mean"], REF[f"{label}/running_var"], w, b)
    _check_norm("batch_norm_eval", y, x, w, b)


def test_batchnorm2d_module_matches_pytorch():
    xb = REF["norm/batch_norm_train/x"]
    bn = nn.BatchNorm2d(3, momentum=None)
    for k in range(2):
        bn(xb * (k + 1) - k)
    np.testing.assert_allclose(bn.running_mean.data, REF["bn2d_module/running_mean"], **TIGHT)
    np.testing.assert_allclose(bn.running_var.data, REF["bn2d_module/running_var"], **TIGHT)
    assert int(bn.num_batches_tracked.data) == int(REF["bn2d_module/num_batches_tracked"])
    np.testing.assert_allclose(bn.eval()(xb).data, REF["bn2d_module/eval_y"], **TIGHT)


def test_instance_norm_matches_pytorch():
    label = "norm/instance_norm"
    x = tg.Tensor(REF[f"{label}/x"], requires_grad=True)
    w, b = _params("instance_norm")
    rm, rv = REF[f"{label}/running_mean0"].copy(), REF[f"{label}/running_var0"].copy()
    y = F.instance_norm(x, rm, rv, w, b, use_input_stats=True, momentum=0.3, eps=1e-5)
    _check_norm("instance_norm", y, x, w, b)
    np.testing.assert_allclose(rm, REF[f"{label}/running_mean1"], **TIGHT)
    np.testing.assert_allclose(rv, REF[f"{label}/running_var1"], **TIGHT)


# ---- erf ---------------------------------------------------------------------------------
def test_erf_and_erfc_are_accurate_to_a_few_ulp():
    x = np.concatenate([np.linspace(-27, 27, 200_001), np.geomspace(1e-300, 27, 4001),
                        -np.geomspace(1e-300, 27, 4001)])
    e, c = tg.erf(x).data, tg.erfc(x).data
    re = np.array([math.erf(v) for v in x])
    rc = np.array([math.erfc(v) for v in x])
    nz = re != 0
    assert np.array_equal(e[~nz], re[~nz])
    assert np.max(np.abs(e - re)[nz] / np.abs(re[nz])) < 1e-15
    normal = rc > np.finfo(np.float64).tiny  # below it erfc is subnormal: absolute precision only
    assert np.max(np.abs(c - rc)[normal] / rc[normal]) < 2e-15
    assert np.max(np.abs(c - rc)[~normal]) < 1e-320


def test_erf_special_values_symmetry_and_dtypes():
    assert np.array_equal(tg.erf(np.array([0.0, np.inf, -np.inf])).data, [0.0, 1.0, -1.0])
    assert np.array_equal(tg.erfc(np.array([0.0, np.inf, -np.inf])).data, [1.0, 0.0, 2.0])
    assert np.isnan(tg.erf(np.nan).item()) and np.isnan(tg.erfc(np.nan).item())
    x = np.linspace(0, 6, 1001)
    assert np.array_equal(tg.erf(-x).data, -tg.erf(x).data)
    assert tg.erf(np.float32([0.5, 3.0])).dtype == np.float32
    assert tg.erf(np.array([1, 2])).dtype == np.float64
    assert tg.erf(tg.Tensor(0.5)).shape == ()
    with pytest.raises(TypeError, match="erf"):
        tg.erf(np.array([1j]))


def test_erf_derivative_is_exactly_the_gaussian():
    x = tg.Tensor(np.linspace(-5, 5, 101), requires_grad=True)
    tg.erf(x).sum().backward()
    assert np.array_equal(x.grad.data, 2 / math.sqrt(math.pi) * np.exp(-(x.data * x.data)))
    x.grad = None
    tg.erfc(x).sum().backward()
    assert np.array_equal(x.grad.data, -2 / math.sqrt(math.pi) * np.exp(-(x.data * x.data)))


# ---- activations: kinks, stability, one fused node --------------------------------------------
@pytest.mark.parametrize("fn, x, slope", [
    (F.hardtanh, [-1.0, 1.0, 0.999], [0.0, 0.0, 1.0]),
    (F.relu6, [0.0, 6.0, 3.0], [0.0, 0.0, 1.0]),
    (F.hardswish, [-3.0, 3.0, 0.0], [0.0, 1.0, 0.5]),
    (F.hardsigmoid, [-3.0, 3.0, 0.0], [0.0, 0.0, 1 / 6]),
    (F.softshrink, [-0.5, 0.5, 0.6], [0.0, 0.0, 1.0]),
    (F.hardshrink, [-0.5, 0.5, -0.6], [0.0, 0.0, 1.0]),
    (lambda t: F.elu(t, 2.0), [0.0, -0.0], [2.0, 2.0]),
    (lambda t: F.celu(t, 2.0), [0.0], [1.0]),
    (lambda t: F.prelu(t, np.array([0.3])), [0.0, -0.0, 1e-300], [0.3, 0.3, 1.0]),
])
def test_derivatives_at_kinks_follow_pytorch(fn, x, slope):
    # PyTorch's choices, the same as in activation.npz (made by PyTorch)
    t = tg.Tensor(np.array(x), requires_grad=True)
    fn(t).sum().backward()
    assert np.array_equal(t.grad.data, slope)


@pytest.mark.parametrize("fn", [F.hardtanh, F.relu6, F.hardsigmoid, F.hardswish, F.softshrink,
                                F.hardshrink])
def test_masked_gradients_select_so_inf_does_not_become_nan(fn):
    t = tg.Tensor([-50.0, 50.0], requires_grad=True)
    y = fn(t)
    (g,) = tg.grad(y, t, np.array([np.inf, np.inf]))
    assert not np.any(np.isnan(g.data))


def test_smooth_activations_are_stable_far_out():
    x = tg.Tensor([-1e4, -800.0, 800.0, 1e4], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, forward or backward
        for fn in (F.softplus, F.logsigmoid, F.silu, F.mish, F.gelu, F.elu, F.selu, F.celu,
                   lambda t: F.gelu(t, approximate="tanh"), lambda t: F.softplus(t, 0.5, 1e3)):
            y = fn(x)
            (g,) = tg.grad(y.sum(), x, create_graph=True)
            (gg,) = tg.grad(g.sum(), x)
            assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(g.data)), fn
            assert np.all(np.isfinite(gg.data)), fn
    assert np.array_equal(F.logsigmoid(x).data[2:], [-0.0, -0.0])
    assert np.array_equal(F.softplus(x).data, [0.0, 0.0, 800.0, 1e4])


@pytest.mark.parametrize("name", ["gelu", "silu", "softplus", "elu", "selu", "celu", "mish", "hardtanh",
                                  "hardswish", "hardsigmoid", "logsigmoid", "softsign", "tanhshrink",
                                  "softshrink", "hardshrink"])
def test_each_activation_is_one_recorded_op(name):
    x = tg.Tensor(np.linspace(-2, 2, 5), requires_grad=True)
    y = getattr(F, name)(x)
    assert y._ctx.inputs[0] is x and y.dtype == np.float64
    assert getattr(F, name)(x.data.astype(np.float32)).dtype == np.float32


def test_layer_norm_is_one_recorded_op_and_normalises():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((3, 5)) * 4 + 2, requires_grad=True)
    y = F.layer_norm(x, 5)
    assert y._ctx.name == "normalize" and y._ctx.inputs[0] is x
    np.testing.assert_allclose(y.data.mean(axis=1), 0, atol=1e-15)
    np.testing.assert_allclose(y.data.var(axis=1), x.data.var(axis=1) / (x.data.var(axis=1) + 1e-5))


# ---- modules ---------------------------------------------------------------------------------
def test_module_parameter_and_buffer_names_are_pytorchs():
    names = lambda m: list(m.state_dict())  # noqa: E731
    assert names(nn.LayerNorm(4)) == ["weight", "bias"]
    assert names(nn.LayerNorm((2, 4), bias=False)) == ["weight"]
    assert names(nn.LayerNorm(4, elementwise_affine=False)) == []
    assert names(nn.RMSNorm(4)) == ["weight"]
    assert names(nn.GroupNorm(2, 4)) == ["weight", "bias"]
    assert names(nn.InstanceNorm1d(3)) == []
    assert names(nn.InstanceNorm2d(3, affine=True, track_running_stats=True)) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert names(nn.BatchNorm2d(3)) == names(nn.BatchNorm3d(3)) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    p = nn.PReLU(3)
    assert names(p) == ["weight"] and np.array_equal(p.weight.data, [0.25] * 3)
    assert nn.LayerNorm((2, 4)).weight.shape == (2, 4) and nn.GroupNorm(2, 6).bias.shape == (6,)


def test_a_pytorch_state_dict_loads_as_is():
    rng = np.random.default_rng(1)
    state = {"weight": rng.standard_normal(3), "bias": rng.standard_normal(3),
             "running_mean": rng.standard_normal(3), "running_var": rng.uniform(1, 2, 3),
             "num_batches_tracked": np.array(7, dtype=np.int64)}
    bn = nn.BatchNorm2d(3)
    bn.load_state_dict(state)
    x = rng.standard_normal((2, 3, 2, 2))
    shape = (1, 3, 1, 1)
    ref = ((x - state["running_mean"].reshape(shape)) / np.sqrt(state["running_var"].reshape(shape) + 1e-5)
           * state["weight"].reshape(shape) + state["bias"].reshape(shape))
    np.testing.assert_allclose(bn.eval()(x).data, ref, rtol=1e-13)
    ln = nn.LayerNorm(3)
    ln.load_state_dict({"weight": state["weight"], "bias": state["bias"]})
    assert np.array_equal(ln.weight.data, state["weight"])


def test_batchnorm2d_running_stats_and_eval_mode():
    rng = np.random.default_rng(2)
    bn = nn.BatchNorm2d(2, momentum=0.5)
    x = rng.standard_normal((3, 2, 4, 4)) * 3 + 1
    bn(x)
    np.testing.assert_allclose(bn.running_mean.data, 0.5 * x.mean(axis=(0, 2, 3)), rtol=1e-13)
    np.testing.assert_allclose(bn.running_var.data, 0.5 + 0.5 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-13)
    assert int(bn.num_batches_tracked.data) == 1
    bn.eval()
    before = bn.state_dict()
    whole = bn(x).data
    assert np.array_equal(bn(x[1:2]).data, whole[1:2])  # per sample in eval
    for k, v in bn.state_dict().items():
        assert np.array_equal(v, before[k]), k


def test_instance_norm_modules():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 5))
    m = nn.InstanceNorm1d(3)
    ref = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(m(x).data, ref, rtol=1e-12)
    np.testing.assert_allclose(m(x[0]).data, ref[0], rtol=1e-12)  # unbatched (C, L)
    t = nn.InstanceNorm2d(3, track_running_stats=True, momentum=1.0)
    x4 = rng.standard_normal((2, 3, 2, 3))
    t(x4)
    np.testing.assert_allclose(t.running_mean.data, x4.mean(axis=(2, 3)).mean(0), rtol=1e-12)
    np.testing.assert_allclose(t.running_var.data, x4.var(axis=(2, 3), ddof=1).mean(0), rtol=1e-12)
    t.eval()
    shape = (1, 3, 1, 1)
    np.testing.assert_allclose(t(x4).data, (x4 - t.running_mean.data.reshape(shape))
                               / np.sqrt(t.running_var.data.reshape(shape) + 1e-5), rtol=1e-12)


def test_activation_modules_apply_their_function():
    x = np.linspace(-4, 4, 9)
    for m, f in [(nn.GELU("tanh"), lambda t: F.gelu(t, approximate="tanh")), (nn.SiLU(), F.silu),
                 (nn.Softplus(2, 5), lambda t: F.softplus(t, 2, 5)), (nn.ELU(0.5), lambda t: F.elu(t, 0.5)),
                 (nn.CELU(2.0), lambda t: F.celu(t, 2.0)), (nn.SELU(), F.selu), (nn.Mish(), F.mish),
                 (nn.Hardtanh(-2, 3), lambda t: F.hardtanh(t, -2, 3)), (nn.ReLU6(), F.relu6),
                 (nn.Hardswish(), F.hardswish), (nn.Hardsigmoid(), F.hardsigmoid),
                 (nn.LogSigmoid(), F.logsigmoid), (nn.Softsign(), F.softsign), (nn.Tanhshrink(), F.tanhshrink),
                 (nn.Softshrink(1.0), lambda t: F.softshrink(t, 1.0)),
                 (nn.Hardshrink(1.0), lambda t: F.hardshrink(t, 1.0)), (nn.GLU(0), lambda t: F.glu(t[:8], 0))]:
        xin = x[:8] if isinstance(m, nn.GLU) else x
        assert np.array_equal(m(xin).data, f(x).data), m
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    assert repr(nn.Softshrink()) == "Softshrink(0.5)" and repr(nn.PReLU()) == "PReLU(num_parameters=1)"
    assert repr(nn.LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.GroupNorm(2, 4)) == "GroupNorm(2, 4, eps=1e-05, affine=True)"


def test_prelu_module_learns_one_slope_per_channel():
    p = nn.PReLU(2)
    x = tg.Tensor(np.array([[[-1.0, 2.0], [-3.0, -4.0]]]))
    p(x).sum().backward()
    assert np.array_equal(p.weight.grad.data, [-1.0, -7.0])


# ---- dropout1d/2d, embedding padding_idx, one_hot, Unflatten ------------------------------------
def test_channel_dropout_zeroes_whole_channels():
    x = np.ones((4, 6, 5))
    y = F.dropout1d(x, 0.5, rng=0).data
    per_channel = y.reshape(4, 6, 5)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # constant along L
    y2 = nn.Dropout2d(0.25, rng=1)(np.ones((2, 3, 4, 4))).data
    assert np.all(y2.min(axis=(2, 3)) == y2.max(axis=(2, 3)))
    assert np.array_equal(nn.Dropout2d(0.25).eval()(np.ones((1, 3, 2, 2))).data, np.ones((1, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"dropout2d: expected a 4-D .* got shape \(2, 3\)"):
        F.dropout2d(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"dropout2d: a 3-D input .* use dropout1d"):
        nn.Dropout2d()(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="probability p"):
        F.dropout1d(np.ones((2, 3)), 1.5)


def test_embedding_padding_idx_row_starts_at_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=-1, rng=0)
    assert emb.padding_idx == 4 and np.array_equal(emb.weight.data[4], [0.0] * 3)
    assert repr(emb) == "Embedding(5, 3, padding_idx=4)"
    idx = np.array([[4, 1, 4], [1, 0, 2]])
    out = emb(idx)
    assert np.array_equal(out.data, emb.weight.data[idx])
    out.backward(np.full(out.shape, np.inf))
    g = emb.weight.grad.data
    assert np.array_equal(g[4], [0.0] * 3) and np.array_equal(g[3], [0.0] * 3) and np.all(np.isinf(g[1]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(5, 3, padding_idx=5)
    with pytest.raises(ValueError, match="max_norm"):
        F.embedding(idx, emb.weight, max_norm=1.0)


def test_embedding_padding_idx_and_one_hot_match_pytorch():
    w = tg.Tensor(REF["embedding/weight"], requires_grad=True)
    y = F.embedding(REF["embedding/idx"], w, padding_idx=-1)
    assert np.array_equal(y.data, REF["embedding/y"])
    y.backward(REF["embedding/gy"])
    np.testing.assert_allclose(w.grad.data, REF["embedding/gweight"], **TIGHT)
    for key, n in (("one_hot/y", -1), ("one_hot/y7", 7)):
        out = F.one_hot(REF["one_hot/idx"], n)
        assert out.dtype == REF[key].dtype and np.array_equal(out.data, REF[key])


def test_one_hot():
    out = F.one_hot(np.array([[0, 2], [1, 2]]))
    assert out.dtype == np.int64 and out.shape == (2, 2, 3) and not out.requires_grad
    assert np.array_equal(out.data, np.eye(3, dtype=np.int64)[[[0, 2], [1, 2]]])
    assert F.one_hot(tg.Tensor(np.array([1])), num_classes=4).shape == (1, 4)
    with pytest.raises(ValueError, match="smaller than num_classes=2"):
        F.one_hot(np.array([0, 3]), 2)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(np.array([-1, 0]))
    with pytest.raises(ValueError, match="integers"):
        F.one_hot(np.array([0.5]))


def test_unflatten():
    x = tg.Tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    m = nn.Unflatten(1, (3, -1))
    y = m(x)
    assert y.shape == (2, 3, 4) and np.array_equal(y.data, x.data.reshape(2, 3, 4))
    y.sum().backward()
    assert x.grad.shape == (2, 12)
    assert repr(m) == "Unflatten(dim=1, unflattened_size=(3, -1))"
    assert nn.Unflatten(-1, (2, 2, 3))(x).shape == (2, 2, 2, 3)
    with pytest.raises(ValueError, match=r"Unflatten: .*\(5, 2\).*size 12"):
        nn.Unflatten(1, (5, 2))(x)


# ---- errors name the op and the shapes ------------------------------------------------------
@pytest.mark.parametrize("call, exc, match", [
    (lambda: F.group_norm(np.ones((2, 6, 3)), 4), ValueError, r"group_norm: .*divisible.*\(2, 6, 3\).*num_groups=4"),
    (lambda: nn.GroupNorm(4, 6), ValueError, r"GroupNorm: num_channels=6 must be divisible by num_groups=4"),
    (lambda: nn.GroupNorm(2, 4)(np.ones((2, 6))), ValueError, r"GroupNorm\(2, 4\): expected .*\(N, 4, \*\), got \(2, 6\)"),
    (lambda: F.layer_norm(np.ones((2, 3)), (4,)), ValueError, r"layer_norm: given normalized_shape=\[4\].*\[\*, 4\].*\(2, 3\)"),
    (lambda: F.layer_norm(np.ones((2, 3)), (2, 3, 1)), ValueError, r"layer_norm: given normalized_shape"),
    (lambda: nn.LayerNorm(4)(np.ones((3, 5))), ValueError, r"layer_norm: .*\(3, 5\)"),
    (lambda: F.layer_norm(np.ones((2, 3)), 3, np.ones(4)), ValueError, r"layer_norm: weight must have shape \(3,\), got \(4,\)"),
    (lambda: F.rms_norm(np.ones((2, 3), dtype=np.int64), 3), TypeError, r"rms_norm: expected a floating-point input"),
    (lambda: F.batch_norm(np.ones(3), None, None, training=True), ValueError, r"batch_norm: expected input of shape \(N, C, \*\), got \(3,\)"),
    (lambda: nn.BatchNorm2d(3)(np.ones((2, 3, 4))), ValueError, r"BatchNorm2d\(3\): expected input of shape \(N, 3, H, W\), got \(2, 3, 4\)"),
    (lambda: F.instance_norm(np.ones((2, 3, 1))), ValueError, r"instance_norm: expected more than 1 spatial element"),
    (lambda: nn.InstanceNorm1d(3)(np.ones((2, 4, 5))), ValueError, r"InstanceNorm1d\(3\): expected .*got \(2, 4, 5\)"),
    (lambda: F.glu(np.ones((2, 3))), ValueError, r"glu: halving dimension must be even, but dimension 1 is size 3"),
    (lambda: F.glu(np.ones(())), ValueError, r"glu: does not support 0-d"),
    (lambda: F.prelu(np.ones((2, 3)), np.ones(2)), ValueError, r"prelu: weight must have 1 or C=3 elements.*\(2,\).*\(2, 3\)"),
    (lambda: F.hardtanh(np.ones(2), 1.0, -1.0), ValueError, r"hardtanh: max_val must be greater"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, r"Hardtanh: max_val must be greater"),
    (lambda: F.gelu(np.ones(2), approximate="erf"), ValueError, r"gelu: approximate must be 'none' or 'tanh'"),
    (lambda: F.celu(np.ones(2), 0.0), ValueError, r"celu: alpha must not be 0"),
    (lambda: F.softshrink(np.ones(2), -0.5), ValueError, r"softshrink: lambd must be >= 0"),
    (lambda: F.elu(np.ones(2), inplace=True), ValueError, r"elu: inplace=True is not supported"),
    (lambda: nn.ReLU6(inplace=True), ValueError, r"ReLU6: inplace=True is not supported"),
    (lambda: F.silu(np.array([1, 2])), TypeError, r"silu: expected a floating-point input"),
])
def test_errors_name_the_op_and_shapes(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
