"""``copy.deepcopy`` and ``pickle`` of tensors, modules and optimizers.

Plain Python semantics: a deep copy is independent and equal; a pickled
tensor comes back as a leaf (graphs are never serialised); a Parameter stays
a Parameter; an optimizer's state follows the copied parameters. Checkpoint
files stay in the safe ``.npz`` format (``tinygrad_edu.save`` refuses
arbitrary objects and ``load`` never unpickles), so pickle is for in-process
copies and trusted transport only.
"""
import copy
import pickle

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim


def pickle_copy(obj):
    return pickle.loads(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


COPIERS = [copy.deepcopy, pickle_copy]
COPIER_IDS = ["deepcopy", "pickle"]


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
@pytest.mark.parametrize("make", [
    lambda: Tensor([1.0, 2.0]),
    lambda: Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True),
    lambda: Tensor(3.5, requires_grad=True),
    lambda: Tensor(np.zeros((0, 2))),
    lambda: Tensor(np.arange(4)),
    lambda: Tensor([True, False]),
    lambda: tg.from_numpy(np.arange(10.0)[::3]),
], ids=["float64", "float32 requires grad", "0-d", "empty", "int", "bool", "strided view"])
def test_tensor_copies_are_equal_independent_leaves(clone, make):
    t = make()
    c = clone(t)
    assert type(c) is Tensor and c is not t
    assert c.dtype == t.dtype and c.shape == t.shape and np.array_equal(c.data, t.data)
    assert c.requires_grad == t.requires_grad and c.is_leaf and c.grad is None
    assert type(c.data) is np.ndarray and not np.shares_memory(c.data, t.data)
    if c.size:
        c.data.flat[0] = 0 if c.data.flat[0] else 1   # independent memory
        assert not np.array_equal(c.data, t.data)


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
def test_a_non_leaf_copies_to_a_leaf_and_the_original_graph_still_works(clone):
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 2)
    c = clone(y)
    assert c.is_leaf and c.requires_grad and c.grad_fn is None
    assert np.array_equal(c.data, [1.0, 4.0])
    c.sum().backward()               # a leaf of its own
    assert np.array_equal(c.grad.data, [1.0, 1.0]) and x.grad is None
    y.sum().backward()
    assert np.array_equal(x.grad.data, 2 * 2 * x.data)   # the original graph, hook included


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
def test_grad_is_copied_as_a_plain_tensor(clone):
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    c = clone(x)
    assert np.array_equal(c.grad.data, x.grad.data) and c.grad is not x.grad
    assert not np.shares_memory(c.grad.data, x.grad.data)


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
def test_a_parameter_stays_a_parameter(clone):
    p = nn.Parameter(np.array([1.0, 2.0]))
    frozen = nn.Parameter(np.array([3.0]), requires_grad=False)
    cp, cf = clone((p, frozen))
    assert type(cp) is nn.Parameter and cp.requires_grad
    assert type(cf) is nn.Parameter and not cf.requires_grad
    assert np.array_equal(cp.data, p.data)


def test_deepcopy_keeps_sharing_within_one_copy():
    a = Tensor([1.0, 2.0])
    d = a.detach()                    # shares a's array object
    ca, cd = copy.deepcopy((a, d))
    assert ca.data is cd.data         # sharing preserved inside the copy, as Python's deepcopy does
    assert not np.shares_memory(ca.data, a.data)


def _model():
    return nn.Sequential(nn.Linear(3, 5, rng=0), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.2, rng=3),
                         nn.Linear(5, 2, rng=1))


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
def test_a_module_copies_into_an_independent_equal_module(clone):
    m = _model()
    m(np.random.default_rng(0).standard_normal((8, 3)))   # updates BatchNorm's running statistics
    m.eval()
    c = clone(m)
    assert type(c) is type(m) and c is not m and not c.training
    sd, csd = m.state_dict(), c.state_dict()
    assert sd.keys() == csd.keys() and all(np.array_equal(sd[k], csd[k]) for k in sd)
    assert all(type(p) is nn.Parameter for p in c.parameters())
    assert all(cp is not p for cp, p in zip(c.parameters(), m.parameters()))
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert np.array_equal(c(x).data, m(x).data)
    # training the copy leaves the original alone
    c.train()
    opt = optim.SGD(c.parameters(), lr=0.5)
    c(x).sum().backward()
    opt.step()
    assert all(np.array_equal(m.state_dict()[k], sd[k]) for k in sd)
    assert any(not np.array_equal(c.state_dict()[k], sd[k]) for k in sd)
    assert all(p.grad is None for p in m.parameters())


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 2, rng=0)
        self.b = nn.Linear(2, 2, rng=1)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(self.a(x))


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
def test_tied_parameters_stay_tied_in_the_copy(clone):
    c = clone(Tied())
    assert c.a.weight is c.b.weight
    assert len(list(c.parameters())) == 3


@pytest.mark.parametrize("clone", COPIERS, ids=COPIER_IDS)
@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: optim.AdamW(ps, lr=0.01),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
], ids=["SGD", "Adam", "AdamW", "RMSprop"])
def test_an_optimizer_copied_with_its_model_continues_bit_identically(clone, make_opt):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    opt = make_opt(list(model.parameters()))

    def train(m, o, steps):
        for _ in range(steps):
            o.zero_grad()
            ((m(X) - Y) ** 2).mean().backward()
            o.step()

    train(model, opt, 3)                   # momentum / moment estimates exist now
    m2, o2 = clone((model, opt))
    assert {id(p) for p in o2.state} == {id(p) for p in m2.parameters()}
    assert o2.param_groups[0]["params"][0] is next(iter(m2.parameters()))
    train(model, opt, 4)
    train(m2, o2, 4)
    for p, q in zip(model.parameters(), m2.parameters()):
        assert np.array_equal(p.data, q.data)


def test_an_optimizer_copied_alone_gets_its_own_parameters():
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = Tensor([1.0, 1.0])
    opt.step()
    o2 = copy.deepcopy(opt)
    q = o2.param_groups[0]["params"][0]
    assert q is not p and np.array_equal(q.data, p.data)
    assert np.array_equal(o2.state[q]["momentum_buffer"], opt.state[p]["momentum_buffer"])
    o2.step()
    assert not np.array_equal(q.data, p.data)    # only the copy moved


def test_a_scheduler_copied_with_its_optimizer_follows_the_copy():
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=1.0)
    sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    o2, s2 = copy.deepcopy((opt, sched))
    s2.step()
    assert s2.optimizer is o2
    assert o2.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["lr"] == 1.0


def test_checkpoints_stay_npz_and_never_pickle(tmp_path):
    model = _model()
    path = tmp_path / "ckpt.npz"
    tg.save({"model": model.state_dict(), "w": Tensor([1.0, 2.0])}, path)
    with open(path, "rb") as f:
        assert f.read(2) == b"PK"             # a zip of .npy arrays
    loaded = tg.load(path)
    assert type(loaded["w"]) is np.ndarray and np.array_equal(loaded["w"], [1.0, 2.0])
    with pytest.raises(TypeError, match="cannot save the Sequential at model"):
        tg.save({"model": model}, tmp_path / "no.npz")   # a module object is not a state dict
    assert not (tmp_path / "no.npz").exists()
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(model))
    with pytest.raises(ValueError, match="pickle file; loading it could run arbitrary code"):
        tg.load(pickled)
