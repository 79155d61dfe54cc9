"""PyTorch's names for our ops (ops/torch_names.py), the callable ``tg.tensor``, ``manual_seed``,
and the name conflicts: numpy's meaning stays, a PyTorch habit raises or warns naming the
alternative. Values that claim PyTorch's semantics are checked against tests/reference/torch_names.npz
(made by tests/reference/make_torch_names.py)."""
from __future__ import annotations

import copy
import importlib
import json
import pathlib
import pickle
import types
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.tensor import Tensor

REF = np.load(pathlib.Path(__file__).parent / "reference" / "torch_names.npz")


def arange_t(*shape, requires_grad=False):
    return Tensor(np.arange(float(np.prod(shape))).reshape(shape), requires_grad=requires_grad)


# ---- tg.tensor: the module is callable ------------------------------------------------
def test_tensor_factory_and_module_both_work():
    t = tg.tensor([[1, 2], [3, 4]], dtype=np.float32, requires_grad=True)
    assert isinstance(t, Tensor) and t.dtype == np.float32 and t.requires_grad
    data = np.ones(3)
    u = tg.tensor(data)
    data[0] = 7  # copied, as torch.tensor
    assert u.data[0] == 1
    mod = importlib.import_module("tinygrad_edu.tensor")
    assert mod is tg.tensor and isinstance(mod, types.ModuleType)
    assert mod.Tensor is Tensor and tg.tensor.Tensor is tg.Tensor
    assert np.array_equal(tg.tensor(2.5, device="cpu").data, 2.5)
    with pytest.raises(RuntimeError, match="'cuda'.*CPU only"):
        tg.tensor([1.0], device="cuda")
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
        tg.tensor([1, 2], requires_grad=True)


# ---- manual_seed: one global default generator ------------------------------------------
def test_manual_seed_reproduces_rand_and_matches_numpy_seeding():
    tg.manual_seed(123)
    a, b = tg.randn(4), tg.rand(2, 3)
    tg.manual_seed(123)
    assert np.array_equal(tg.randn(4).data, a.data) and np.array_equal(tg.rand(2, 3).data, b.data)
    g = np.random.default_rng(123)  # documented: the stream of default_rng(seed)
    assert np.array_equal(a.data, g.standard_normal(4)) and np.array_equal(b.data, g.random((2, 3)))
    assert tg.initial_seed() == 123
    assert tg.manual_seed(5) is tg.nn._rng.default_generator()


def test_manual_seed_makes_init_dropout_and_shuffling_reproducible():
    drop = nn.Dropout(0.5)  # made before seeding: it follows the reseeded generator

    def run():
        model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
        masks = [drop(tg.ones(8)).data for _ in range(2)]
        order = np.concatenate([xb.data for (xb,) in tg.data.DataLoader(np.arange(10.0), batch_size=4,
                                                                         shuffle=True)])
        return [p.data for p in model.parameters()] + masks + [order]

    tg.manual_seed(0)
    first = run()
    tg.manual_seed(0)
    second = run()
    assert all(np.array_equal(u, v) for u, v in zip(first, second))
    assert not np.array_equal(first[-3], first[-2])  # successive masks differ


def test_copied_dropout_keeps_the_global_generator():
    drop = nn.Dropout(0.5)
    for clone in (copy.deepcopy(drop), pickle.loads(pickle.dumps(drop))):
        assert clone.rng is drop.rng is tg.nn._rng.default_generator()


def test_manual_seed_bad_seeds():
    for bad, err in ((1.5, TypeError), ("0", TypeError), (True, TypeError), (-1, ValueError)):
        with pytest.raises(err, match="manual_seed"):
            tg.manual_seed(bad)


def test_an_int_rng_still_gives_its_own_stream():
    tg.manual_seed(1)
    assert np.array_equal(tg.rand(3, rng=9).data, np.random.default_rng(9).random(3))


# ---- shape methods -------------------------------------------------------------------
def test_permute_view_expand_unflatten_t_against_torch():
    x, m, c = Tensor(REF["x"]), Tensor(REF["m"]), Tensor(REF["c"])
    same = {
        "permute_2_0_1": x.permute(2, 0, 1), "view_6_4": x.view(6, 4), "view_m1": x.view(-1),
        "expand_2_m1_4": c.expand(2, -1, 4), "unflatten_2_2_m1": x.unflatten(2, (2, -1)),
        "t_m": m.t(), "transpose_m2_m1": x.swapaxes(-2, -1), "transpose_0_1_2d": m.T, "mT": x.mT,
    }
    for name, ours in same.items():
        assert np.array_equal(ours.data, REF[name]), name
    assert np.array_equal(x.permute((2, 0, 1)).data, REF["permute_2_0_1"])
    assert np.array_equal(tg.permute(x, (2, 0, 1)).data, REF["permute_2_0_1"])


def test_expand_gradient_against_torch():
    c = Tensor(REF["c"], requires_grad=True)
    (c.expand(2, 3, 4) * REF["expand_w"]).sum().backward()
    assert np.allclose(c.grad.data, REF["expand_grad"], rtol=1e-12, atol=0)


def test_permute_errors():
    x = arange_t(2, 3, 4)
    with pytest.raises(ValueError, match=r"permute: dims \(1, 0\) are not a permutation .*\(2, 3, 4\)"):
        x.permute(1, 0)
    with pytest.raises(ValueError, match=r"permute: axis \(0, 0, 1\) names the same axis twice"):
        x.permute(0, 0, 1)


def test_view_shares_memory_and_refuses_a_copy():
    x = arange_t(2, 6)
    v = x.view(3, 4)
    assert np.shares_memory(v.data, x.data) and v.shape == (3, 4)
    assert x.view().shape == x.shape and np.shares_memory(x.view().data, x.data)
    assert x.view_as(np.zeros((4, 3))).shape == (4, 3)
    with pytest.raises(ValueError, match=r"view: .*\(6, 2\).*without copying; use reshape"):
        x.T.view(-1)
    assert np.array_equal(x.T.reshape_as(np.zeros(12)).data, x.data.T.reshape(-1))
    with pytest.raises(ValueError, match=r"view: cannot view a tensor of shape \(2, 6\) as shape \(5,\)"):
        x.view(5)


@pytest.mark.parametrize("dtype", [np.float32, "float32", float, np.dtype(np.int64)])
def test_view_dtype_is_refused(dtype):
    with pytest.raises(TypeError, match=r"view\(.*\): reinterpreting the bytes .*astype"):
        arange_t(2, 2).view(dtype)


def test_expand_rules():
    c = Tensor([[1.0], [2.0]])
    e = c.expand(3, 2, 4)
    assert e.shape == (3, 2, 4) and not e.data.flags.writeable and np.shares_memory(e.data, c.data)
    assert c.expand((2, -1)).shape == (2, 1) and c.expand_as(np.zeros((2, 5))).shape == (2, 5)
    with pytest.raises(ValueError, match=r"expand: cannot expand a tensor of shape \(2, 1\) to \(3, 4\)"):
        c.expand(3, 4)
    with pytest.raises(ValueError, match=r"expand: -1 is not allowed for the new leading axis 0"):
        c.expand(-1, 2, 1)
    with pytest.raises(ValueError, match=r"expand: 1 sizes \(4,\) for a tensor of shape \(2, 1\)"):
        c.expand(4)


def test_unflatten_rules():
    x = arange_t(2, 6)
    assert x.unflatten(-1, (3, 2)).shape == (2, 3, 2) and x.unflatten(0, (-1, 1)).shape == (2, 1, 6)
    assert tg.zeros(0, 4).unflatten(1, (2, -1)).shape == (0, 2, 2)
    for bad in [(4, 2), (-1, -1), (), (4, -1)]:
        with pytest.raises(ValueError, match=rf"unflatten: cannot split axis 1 .*sizes {re_tuple(bad)}"):
            x.unflatten(1, bad)


def re_tuple(t):
    return str(t).replace("(", r"\(").replace(")", r"\)")


def test_t_and_mT():
    assert tg.tensor(3.0).t().shape == () and arange_t(4).t().shape == (4,)
    assert np.array_equal(arange_t(2, 3).t().data, np.arange(6.0).reshape(2, 3).T)
    with pytest.raises(ValueError, match=r"t: expects a tensor with <= 2 dimensions, got shape \(2, 3, 4\); .*mT"):
        arange_t(2, 3, 4).t()
    with pytest.raises(ValueError, match="mT: needs a tensor of at least 2 dimensions"):
        arange_t(3).mT


# ---- queries, dtypes, devices ----------------------------------------------------------
def test_queries():
    x = Tensor(np.zeros((2, 3), np.float32))
    assert x.numel() == x.nelement() == tg.numel(x) == 6 and type(x.numel()) is int
    assert x.dim() == x.ndimension() == 2
    assert x.element_size() == 4 and x.is_floating_point() and not x.is_complex()
    assert not Tensor([1, 2]).is_floating_point()
    assert x.is_contiguous() and not x.T.is_contiguous()
    assert np.array_equal(arange_t(2, 3, 4).swapdims(0, 2).data, np.arange(24.0).reshape(2, 3, 4).swapaxes(0, 2))


def test_casts():
    x = Tensor([1.7, -2.2], requires_grad=True)
    for name, dt in (("long", np.int64), ("int", np.int32), ("short", np.int16), ("bool", np.bool_),
                     ("half", np.float16), ("float", np.float32), ("double", np.float64)):
        assert getattr(x, name)().dtype == dt, name
    assert np.array_equal(x.long().data, [1, -2]) and not x.long().requires_grad
    assert int(Tensor(3.9)) == 3  # Python's int() is __int__, not the method


def test_to_contiguous_cpu_type_as():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert x.to(np.float64) is x and x.to("cpu") is x and x.contiguous() is x and x.cpu() is x
    k = arange_t(2, 3, 4, requires_grad=True)
    merged = k.swapaxes(1, 2).contiguous().view(2, 12)  # the attention idiom
    assert np.array_equal(merged.data, np.arange(24.0).reshape(2, 3, 4).swapaxes(1, 2).reshape(2, 12))
    (merged * np.arange(24.0).reshape(2, 12)).sum().backward()
    assert np.array_equal(k.grad.data, np.arange(24.0).reshape(2, 4, 3).swapaxes(1, 2))
    assert x.to(device="cpu", dtype="float64") is x
    y = x.to("float32")
    assert y.dtype == np.float32 and y.grad_fn is not None
    assert x.to("cpu", np.float32).dtype == np.float32
    assert x.to(Tensor([1], dtype=np.int32)).dtype == np.int32
    assert x.type_as(Tensor([1.0], dtype=np.float16)).dtype == np.float16
    c = x.to(copy=True)
    assert c is not x and not np.shares_memory(c.data, x.data)
    with pytest.raises(RuntimeError, match=r"to: device 'cuda:0' is not available.*CPU only"):
        x.to("cuda:0")
    with pytest.raises(TypeError, match=r"to: 'flaot32' is neither a numpy dtype nor a device"):
        x.to("flaot32")


def test_new_factories_inherit_dtype():
    x = Tensor([1, 2], dtype=np.int32)
    assert x.new_zeros(2, 3).dtype == np.int32 and x.new_zeros((2, 3)).shape == (2, 3)
    assert np.array_equal(x.new_ones(2).data, [1, 1]) and x.new_empty(4).shape == (4,)
    f = x.new_full((2,), 7, dtype=np.float64)
    assert f.dtype == np.float64 and np.array_equal(f.data, [7, 7])
    n = x.new_tensor([3.9, 1.0])
    assert n.dtype == np.int32 and np.array_equal(n.data, [3, 1])
    assert Tensor([1.0]).new_zeros(2, requires_grad=True).requires_grad


def test_class_constructors_are_the_factories():
    assert np.array_equal(Tensor.zeros(2, 3).data, np.zeros((2, 3)))
    assert np.array_equal(Tensor.ones((2,), dtype=np.float32).data, np.ones(2, np.float32))
    assert np.array_equal(Tensor.full((2,), 3.0).data, [3.0, 3.0])
    assert np.array_equal(Tensor.arange(4).data, np.arange(4)) and Tensor.eye(2).shape == (2, 2)
    assert np.array_equal(Tensor.rand(3, rng=0).data, np.random.default_rng(0).random(3))
    assert np.array_equal(Tensor.randn(3, rng=0).data, np.random.default_rng(0).standard_normal(3))
    assert Tensor([1.0]).zeros(2).shape == (2,)  # staticmethods: no instance argument


def test_like_factories_and_ranges():
    m = Tensor(REF["m"])
    assert np.array_equal(tg.full_like(m, 2.5).data, REF["full_like_m_2p5"])
    assert np.array_equal(tg.full_like(Tensor([1, 2]), 2.5).data, [2, 2])  # cast, as numpy and torch
    assert np.array_equal(tg.empty(2, 3).data, np.zeros((2, 3))) and tg.empty_like(m).shape == (3, 4)
    assert np.allclose(tg.linspace(0, 1, 5).data, REF["linspace_0_1_5"], rtol=1e-15, atol=0)
    assert np.allclose(tg.linspace(0, end=1, steps=5).data, REF["linspace_0_1_5"], rtol=1e-15, atol=0)
    assert np.allclose(tg.logspace(0, 2, 3).data, REF["logspace_0_2_3"], rtol=1e-14, atol=0)
    assert np.allclose(tg.logspace(0, 3, steps=4, base=2).data, REF["logspace_base2"], rtol=1e-14, atol=0)
    r = tg.randn_like(Tensor(np.zeros((2, 2), np.float32)), rng=3)
    assert r.dtype == np.float32 and r.shape == (2, 2)
    assert np.array_equal(tg.rand_like(m, rng=3).data, np.random.default_rng(3).random((3, 4)))
    with pytest.raises(TypeError, match="randn_like: needs a floating-point dtype, got int64"):
        tg.randn_like(Tensor([1, 2]))


def test_numpy_like_functions_on_tensors_give_tensors_without_graph():
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    for got, want in ((np.zeros_like(x), np.zeros((1, 2))), (np.ones_like(x), np.ones((1, 2))),
                      (np.full_like(x, 4.0), np.full((1, 2), 4.0)), (np.empty_like(x), np.zeros((1, 2))),
                      (np.zeros_like(x, dtype=np.int32, shape=(3,)), np.zeros(3, np.int32))):
        assert isinstance(got, Tensor) and not got.requires_grad and got.grad_fn is None
        assert np.array_equal(got.data, want) and got.dtype == want.dtype


# ---- conflicts ---------------------------------------------------------------------------
def test_transpose_two_axes_on_nd_raises_naming_swapaxes():
    x = arange_t(2, 3, 4)
    with pytest.raises(ValueError, match=r"transpose: axes \(-2, -1\) do not match .*use swapaxes\(-2, -1\)"):
        x.transpose(-2, -1)
    with pytest.raises(ValueError, match=r"use swapaxes\(0, 1\)"):
        tg.transpose(x, 0, 1)
    with pytest.raises(ValueError, match=r"names the same axis twice .*use swapaxes\(0, -1\)"):
        arange_t(3).transpose(0, -1)  # PyTorch: a no-op swap; numpy: a repeated axis


def test_transpose_identity_pair_on_2d_warns_and_keeps_numpy():
    m = arange_t(2, 3)
    with pytest.warns(UserWarning, match=r"transpose\(-2, -1\) on a 2-D tensor keeps the axes .*swapaxes\(-2, -1\)"):
        out = m.transpose(-2, -1)
    assert np.array_equal(out.data, m.data)  # numpy's meaning
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the forms numpy and PyTorch agree on: silent
        assert np.array_equal(m.transpose(1, 0).data, m.data.T)
        assert np.array_equal(m.transpose(-1, -2).data, m.data.T)
        assert np.array_equal(m.transpose((0, 1)).data, m.data)
        assert np.array_equal(np.transpose(m, (0, 1)).data, m.data)
        assert np.array_equal(m.T.data, m.data.T) and np.array_equal(arange_t(2, 3, 4).T.data,
                                                                      np.arange(24.0).reshape(2, 3, 4).T)


def test_size_is_an_int_and_callable():
    x = arange_t(2, 3)
    s = x.size
    assert s == 6 and isinstance(s, int) and hash(s) == hash(6) and {s: 1}[6] == 1
    assert s + 1 == 7 and type(s + 1) is int and s * 2 == 12 and -s == -6 and s // 4 == 1
    assert str(s) == repr(s) == "6" and f"{s:>3}" == "  6" and json.dumps({"n": s}) == '{"n": 6}'
    for back in (pickle.loads(pickle.dumps(s)), copy.copy(s), copy.deepcopy(s)):
        assert back == 6 and type(back) is int
    arr = np.arange(10)
    assert arr[s] == 6 and arr[:s].shape == (6,) and np.zeros(s).shape == (6,) and len(range(s)) == 6
    assert s() == (2, 3) and s(0) == 2 and s(-1) == 3 and x.size(1) == 3
    assert tg.tensor(1.0).size == 1 and tg.tensor(1.0).size() == ()
    with pytest.raises(IndexError, match=r"size: dim 2 is out of range for a tensor of shape \(2, 3\)"):
        x.size(2)
    with pytest.raises(TypeError, match="size: dim must be an int"):
        x.size(1.0)


def test_max_min_dim_keyword_gives_values_and_indices_against_torch():
    x = Tensor(REF["x"])
    for op in ("max", "min"):
        for d in (1, -1):
            r = getattr(x, op)(dim=d)
            v, i = r  # unpacks as PyTorch's return type
            assert r.values is v and r.indices is i
            assert np.array_equal(v.data, REF[f"{op}_dim{d}_values"])
            assert np.array_equal(i.data, REF[f"{op}_dim{d}_indices"]) and i.dtype == np.int64
        r = getattr(tg, op)(x, dim=0, keepdim=True)
        assert np.array_equal(r.values.data, REF[f"{op}_dim0_keep_values"])
        assert np.array_equal(r.indices.data, REF[f"{op}_dim0_keep_indices"])


def test_max_dim_ties_gradient_against_torch():
    t = Tensor(REF["ties"], requires_grad=True)
    r = t.max(dim=1)
    assert np.array_equal(r.indices.data, REF["ties_max_indices"])
    r.values.sum().backward()
    assert np.array_equal(t.grad.data, REF["ties_max_grad"])  # all to the first maximum
    t = Tensor(REF["ties"], requires_grad=True)
    r = t.min(dim=1)
    assert np.array_equal(r.indices.data, REF["ties_min_indices"])
    r.values.sum().backward()
    assert np.array_equal(t.grad.data, REF["ties_min_grad"])
    for reduce_, key in ((lambda a: a.amax(dim=1), "ties_amax_grad"), (lambda a: a.amax(), "ties_amax_all_grad"),
                         (lambda a: a.max(axis=1), "ties_amax_grad")):
        t = Tensor(REF["ties"], requires_grad=True)
        reduce_(t).sum().backward()
        assert np.array_equal(t.grad.data, REF[key]), key  # split evenly


def test_max_dim_edge_cases():
    r = tg.tensor(2.0).max(dim=0)
    assert r.values.item() == 2.0 and r.indices.item() == 0
    with pytest.raises(ValueError, match=r"max\(dim=1\): the reduced axis of a tensor of shape \(2, 0\) is empty"):
        tg.zeros(2, 0).max(dim=1)
    with pytest.raises(TypeError, match=r"max\(dim=...\) takes one int .*amax"):
        arange_t(2, 2).max(dim=(0, 1))
    with pytest.raises(ValueError, match=r"min: axis 2 is out of range"):
        arange_t(2, 2).min(dim=2)
    with pytest.raises(TypeError, match="either axis= or dim="):
        arange_t(2, 2).max(0, dim=1)


def test_positional_max_is_numpy_and_unpacking_it_warns():
    x = Tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 0.0]])
    with pytest.warns(UserWarning, match=r"iterating over \(unpacking\) x\.max\(1\), numpy.s values-only .*x\.max\(dim=1\)"):
        v, i = x.max(1)  # PyTorch habit: would silently be (row 0 max, row 1 max)
    assert (v.item(), i.item()) == (5.0, 4.0)
    with pytest.warns(UserWarning, match=r"indexing \[0\] of x\.max\(1\).*x\.max\(dim=1\)") as record:
        first = x.max(1)[0]  # PyTorch habit: the values; numpy: the max of row 0
    assert first.item() == 5.0 and len(record) == 1 and record[0].filename == __file__
    with pytest.warns(UserWarning, match=r"x\.min\(0\)") as record:
        assert len(list(tg.min(x, 0))) == 3
    assert len(record) == 1 and record[0].filename == __file__  # one warning, at the caller
    with pytest.warns(UserWarning, match=r"x\.max\(-1\)"):
        list(np.max(x, axis=-1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(x.max(axis=(1,)))  # a tuple of axes is numpy-only: no warning
        list(x)  # plain tensors iterate silently
        assert np.array_equal((x.max(1) * 2).data, [10.0, 8.0])  # using the values is silent
        assert x.max(1)[1:].shape == (1,) and x.max(0)[2].item() == 3.0  # no PyTorch reading


def test_max_of_two_tensors_is_maximum():
    a, b = Tensor([1.0, 5.0]), Tensor([3.0, 2.0])
    assert np.array_equal(tg.max(a, b).data, [3.0, 5.0]) and np.array_equal(a.min(b).data, [1.0, 2.0])
    with pytest.raises(TypeError, match="elementwise maximum; it takes no dim"):
        tg.max(a, b, dim=0)


def test_empty_dims_mean_every_axis_with_dim_and_none_with_axis():
    x = arange_t(2, 3)
    assert x.amax(dim=()).item() == 5.0  # PyTorch: () is every axis
    assert np.array_equal(x.amax(axis=()).data, x.data)  # numpy: () is none
    for op in ("sum", "mean", "var", "std", "amin", "logsumexp"):
        extra = {"ddof": 0} if op in ("var", "std") else {}  # (without it: the ddof warning)
        assert getattr(x, op)(dim=(), **extra).shape == (), op
        assert getattr(x, op)(dim=[], keepdim=True, **extra).shape == (1, 1), op
        assert getattr(x, op)(axis=()).shape == (2, 3), op
    assert x.sum(dim=()).item() == 15.0 and x.var(dim=(), unbiased=True).item() == 3.5
    assert np.array_equal(tg.amin(x, 1).data, [0.0, 3.0])


def test_squeeze_of_a_longer_axis_names_the_pytorch_difference():
    with pytest.raises(ValueError, match=r"squeeze: cannot squeeze axis 0 of a tensor of shape \(2, 3\).*"
                                         r"PyTorch's squeeze\(dim\) would return the tensor unchanged"):
        arange_t(2, 3).squeeze(0)
    with pytest.raises(ValueError, match=r"squeeze: cannot squeeze axis 4") as info:
        arange_t(2, 3).squeeze(4)
    assert "PyTorch" not in str(info.value)  # out of range is an error in both


def test_var_std_unbiased_and_keyword_only():
    x = Tensor(REF["x"])
    assert np.allclose(x.var(dim=1, unbiased=True).data, REF["var_unbiased_dim1"], rtol=1e-12, atol=0)
    assert np.allclose(x.std(dim=1, unbiased=False).data, REF["std_biased_dim1"], rtol=1e-12, atol=0)
    assert np.array_equal(tg.var(x, 1, unbiased=True).data, x.var(1, ddof=1).data)
    with pytest.raises(TypeError, match=r"std: pass keepdims=, ddof= .*by keyword.*unbiased in PyTorch"):
        x.std(1, True)
    with pytest.raises(TypeError, match="var: pass either correction= or unbiased="):
        x.var(correction=1, unbiased=True)


def test_std_and_var_with_pytorchs_dim_warn_about_the_default_correction():
    x = Tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    with pytest.warns(UserWarning, match=r"std\(dim=...\) uses numpy's default ddof=0.*correction=1"):
        out = x.std(dim=1)
    assert np.array_equal(out.data, np.std(x.data, axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.allclose(x.var(dim=1, correction=1).data, [1.0, 1.0])
        x.var(dim=1, ddof=0)
        x.std(axis=1)
