"""ModuleList, ModuleDict, ParameterList, ParameterDict, Module.apply/to, and the plain-list warning."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim


class Stack(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(n)])
        self.heads = nn.ModuleDict({"a": nn.Linear(2, 1), "b": nn.Linear(2, 3)})
        self.scales = nn.ParameterList([tg.ones(2), np.full(2, 2.0)])
        self.extra = nn.ParameterDict({"shift": tg.zeros(2)})

    def forward(self, x):
        for layer, s in zip(self.layers, self.scales):
            x = layer(x) * s
        x = x + self.extra["shift"]
        return self.heads["a"](x).sum() + self.heads["b"](x).sum()


def test_container_entries_are_registered_trained_and_saved():
    m = Stack(2)
    keys = list(m.state_dict())
    assert keys == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                    "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias",
                    "scales.0", "scales.1", "extra.shift"]
    assert len(list(m.parameters())) == len(keys)
    before = {k: v.copy() for k, v in m.state_dict().items()}
    opt = optim.SGD(m.parameters(), lr=0.1)
    m(np.ones((3, 2))).backward()
    opt.step()
    after = m.state_dict()
    assert all(not np.array_equal(before[k], after[k]) for k in keys)
    fresh = Stack(2)
    fresh.load_state_dict(after)
    assert all(np.array_equal(fresh.state_dict()[k], after[k]) for k in keys)


def test_module_list_behaves_like_a_list():
    a, b, c = nn.Linear(1, 1), nn.Tanh(), nn.ReLU()
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert list(ml) == [a, b, c] and len(ml) == 3 and ml[-1] is c
    assert isinstance(ml[1:], nn.ModuleList) and list(ml[1:]) == [b, c]
    ml.insert(0, nn.Sigmoid())
    assert [type(m).__name__ for m in ml] == ["Sigmoid", "Linear", "Tanh", "ReLU"]
    del ml[0]
    assert list(ml) == [a, b, c] and list(ml._modules) == ["0", "1", "2"]
    ml[1] = nn.Identity()
    assert isinstance(ml[1], nn.Identity)
    ml += [nn.Tanh()]
    assert len(ml) == 4
    with pytest.raises(TypeError, match="expected a Module"):
        ml.append(np.ones(2))
    with pytest.raises(IndexError, match="out of range"):
        ml[7]
    with pytest.raises(NotImplementedError, match="iterate"):
        ml(1.0)


def test_module_dict_and_parameter_dict_keys():
    md = nn.ModuleDict([("x", nn.Tanh())])
    md["y"] = nn.ReLU()
    assert list(md) == ["x", "y"] and "y" in md and len(md) == 2
    assert [k for k, _ in md.items()] == ["x", "y"]
    md.pop("x")
    assert list(md.keys()) == ["y"]
    with pytest.raises(KeyError, match="no module named"):
        md["x"]
    with pytest.raises(KeyError, match="contain no '.'"):
        md["a.b"] = nn.ReLU()
    with pytest.raises(TypeError, match="must be a Module"):
        md["z"] = 3
    pd = nn.ParameterDict({"w": np.ones(3)})
    assert isinstance(pd["w"], nn.Parameter) and pd["w"].requires_grad


def test_a_plain_list_of_layers_warns_and_names_the_fix():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(2, 2)]

    with pytest.warns(UserWarning, match="ModuleList"):
        m = Bad()
    assert list(m.parameters()) == []  # the reason for the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Fine(nn.Module):
            def __init__(self):
                super().__init__()
                self.sizes = [2, 3]
                self.names = {"a": 1}
        Fine()


def test_apply_visits_children_then_self():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 1)))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Linear", "Sequential", "Sequential"]

    def zero_bias(m):
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    net.apply(zero_bias)
    assert not net[0].bias.data.any() and not net[1][0].bias.data.any()


def test_to_float_double_convert_parameters_in_place():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    params = list(net.parameters())
    assert net.float() is net
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert net[1].running_mean.dtype == np.float32
    out = net(np.ones((4, 2), dtype=np.float32))
    assert out.dtype == np.float32
    out.sum().backward()
    assert all(p.grad.dtype == np.float32 for p in net.parameters())
    net.double()
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in net.parameters())
    assert net.to("cpu") is net
    with pytest.raises(TypeError, match="floating-point"):
        net.to(np.int64)
    with pytest.raises(TypeError, match="not a dtype"):
        net.to("cuda")
