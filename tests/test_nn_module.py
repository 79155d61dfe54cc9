"""nn.Module, Parameter, Linear, Sequential and SGD: PyTorch's API and semantics."""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(3, 4, rng=0)
        self.scale = nn.Parameter(np.ones(4))
        self.act = nn.Sigmoid()
        self.second = nn.Linear(4, 2, bias=False, rng=1)

    def forward(self, x):
        return self.second(self.act(self.first(x)) * self.scale)


def test_registration_order_and_dotted_names():
    net = nn.Sequential(Block(), nn.Linear(2, 1))
    names = [n for n, _ in net.named_parameters()]
    assert names[-2:] == ["1.weight", "1.bias"] and names[0].startswith("0.")
    assert [type(c).__name__ for c in net.children()] == ["Block", "Linear"]
    assert len(list(net.modules())) == 1 + 1 + 3 + 1


def test_parameters_are_registered_in_definition_order():
    m = Block()
    assert list(m._modules) == ["first", "act", "second"]
    assert list(m._parameters) == ["scale"]
    assert [n for n, _ in m.named_parameters()] == ["scale", "first.weight", "first.bias", "second.weight"]


def test_shared_parameter_listed_once():
    lin = nn.Linear(2, 2)
    net = nn.Sequential(lin, lin)
    assert len(list(net.parameters())) == 2


def test_parameter_requires_grad_and_rejects_integers():
    p = nn.Parameter([1.0, 2.0])
    assert p.requires_grad and p.is_leaf and isinstance(p, Tensor)
    with pytest.raises(TypeError):
        nn.Parameter([1, 2])


def test_module_init_must_be_called_first():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter([1.0])

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_linear_layout_is_in_by_out_and_matches_x_at_w_plus_b():
    lin = nn.Linear(3, 2, rng=np.random.default_rng(0))
    assert lin.weight.shape == (3, 2) and lin.bias.shape == (2,)
    x = np.random.default_rng(1).normal(size=(5, 3))
    assert np.array_equal(lin(x).data, x @ lin.weight.data + lin.bias.data)
    k = 1 / np.sqrt(3)
    assert np.all(np.abs(lin.weight.data) <= k)
    assert np.array_equal(nn.Linear(3, 2, rng=7).weight.data, nn.Linear(3, 2, rng=7).weight.data)
    with pytest.raises(ValueError, match=r"linear.*\(5, 4\).*\(3, 2\)"):
        lin(np.ones((5, 4)))


def test_zero_grad_train_eval():
    m = Block()
    m(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.eval()
    assert not m.training and not m.first.training
    m.train()
    assert m.training and m.second.training


def test_state_dict_round_trip_and_copies():
    a, b = Block(), Block()
    b.first.weight.data[...] = 0
    sd = a.state_dict()
    assert list(sd) == [n for n, _ in a.named_parameters()]
    sd_first = sd["first.weight"]
    a.first.weight.data[...] += 1  # a snapshot, not a view
    assert not np.array_equal(sd_first, a.first.weight.data)
    w_obj = b.first.weight.data
    b.load_state_dict(sd)
    assert np.array_equal(b.first.weight.data, sd_first)
    assert b.first.weight.data is w_obj  # loaded in place


def test_failed_load_changes_nothing_and_names_keys():
    m = Block()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    sd = m.state_dict()
    sd["first.weight"] = np.zeros((3, 4))
    sd["second.weight"] = np.zeros((5, 5))  # wrong shape, after a good one
    with pytest.raises(ValueError, match=r"second.weight.*\(5, 5\).*\(4, 2\)"):
        m.load_state_dict(sd)
    assert all(np.array_equal(v, m.state_dict()[k]) for k, v in before.items())
    sd = m.state_dict()
    del sd["scale"]
    sd["extra"] = np.ones(1)
    with pytest.raises(KeyError, match=r"missing keys \['scale'\].*unexpected keys \['extra'\]"):
        m.load_state_dict(sd)
    result = m.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra"]


def test_repr_shows_the_tree():
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid())
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=3, out_features=4, bias=False)\n"
        "  (1): Sigmoid()\n"
        ")"
    )


def test_sequential_indexing():
    layers = [nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1)]
    net = nn.Sequential(*layers)
    assert len(net) == 3 and net[0] is layers[0] and net[-1] is layers[2]
    assert list(net) == layers and isinstance(net[1:], nn.Sequential) and len(net[1:]) == 2
    with pytest.raises(IndexError):
        net[3]
    with pytest.raises(TypeError, match="argument 0"):
        nn.Sequential(np.ones(2))


def test_sgd_plain_step_and_skips_params_without_grad():
    a, b = nn.Parameter([1.0, 2.0]), nn.Parameter([3.0])
    opt = optim.SGD([a, b], lr=0.5)
    (a * a).sum().backward()
    opt.step()
    assert np.array_equal(a.data, [1.0 - 0.5 * 2.0, 2.0 - 0.5 * 4.0])
    assert np.array_equal(b.data, [3.0]) and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_sgd_momentum_nesterov_weight_decay_follow_pytorch():
    p0 = np.array([1.0, -2.0])
    grads = [np.array([0.5, 1.0]), np.array([-1.0, 0.25]), np.array([2.0, 2.0])]
    for nesterov in (False, True):
        p = nn.Parameter(p0)
        opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=nesterov)
        ref, buf = p0.copy(), None
        for g in grads:
            p.grad = Tensor(g)
            opt.step()
            d = g + 0.01 * ref
            buf = d.copy() if buf is None else 0.9 * buf + d
            step = d + 0.9 * buf if nesterov else buf
            ref = ref - 0.1 * step
        np.testing.assert_allclose(p.data, ref, rtol=1e-15)


def test_sgd_bad_hyperparameters():
    p = nn.Parameter([1.0])
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)


def test_sgd_state_dict_round_trip_continues_identically():
    def run(steps, resume_at=None):
        p = nn.Parameter([1.0, 2.0])
        opt = optim.SGD([p], lr=0.1, momentum=0.9)
        for i in range(steps):
            if i == resume_at:
                sd, pdata = opt.state_dict(), p.data.copy()
                p = nn.Parameter(pdata)
                opt = optim.SGD([p], lr=0.1, momentum=0.9)
                opt.load_state_dict(sd)
            p.grad = Tensor(np.array([np.sin(i), np.cos(i)]))
            opt.step()
        return p.data

    assert np.array_equal(run(6), run(6, resume_at=3))


def test_a_pytorch_tensor_for_a_linear_weight_is_refused_with_the_fix():
    # PyTorch's Linear weight is (out, in); ours (in, out): a square layer would load silently wrong.
    import types

    torch_like = types.new_class("Tensor", exec_body=lambda ns: ns.update(
        __module__="torch", __array__=lambda self, dtype=None, copy=None: np.eye(3)))
    layer = nn.Linear(3, 3)
    before = layer.weight.data.copy()
    with pytest.raises(ValueError, match=r"'weight' is a PyTorch tensor for a Linear weight.*\.T"):
        layer.load_state_dict({"weight": torch_like(), "bias": np.zeros(3)})
    assert np.array_equal(layer.weight.data, before)  # nothing was written
    layer.load_state_dict({"weight": np.eye(3), "bias": np.zeros(3)})  # arrays load as they are
