"""The jit's cache key and per-call check (capture.py, fastcheck.py, function.py): every
change to what a step can see either records again or replays what eager computes.

Each test changes one thing between calls (after some replays) and compares the jitted
run with an eager twin after every step, bit for bit (``same_bits``), with the number of
recordings where it says what happened.
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim

from _jit_helpers import assert_jit_equals_eager, data, mse_step, rig, same_bits, small

NAN = math.nan


# ---- the per-call check (fastcheck.py): what it compares by identity ----------------------

def _change_at(k, change):
    def between(r, i):
        if i == k:
            change(r)
    return between


def _seq_make():
    model = nn.Sequential(nn.Linear(4, 4, rng=0), nn.Tanh(), nn.Linear(4, 4, rng=1), nn.Sigmoid())
    opt = optim.SGD(model.parameters(), lr=0.3)

    return rig(mse_step(model, opt), model, opt)


def _move_to_end(r):
    mods = r.model._modules
    first = mods["0"]
    del mods["0"]
    mods["0"] = first  # the same objects, in another order: another computation


def _swap_positions(r):
    mods = r.model._modules
    mods["1"], mods["3"] = mods["3"], mods["1"]  # the same keys and objects, moved


class _Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4, rng=0)
        self.scale = 0.5
        self.shift = 1000

    def forward(self, x):
        return self.lin(x) * self.scale + self.shift / 1000


def _scaled_make():
    model = _Scaled()
    opt = optim.SGD(model.parameters(), lr=0.1)

    return rig(mse_step(model, opt), model, opt)


def _y4(i):
    x, _ = data()
    return x, tg.Tensor(np.linspace(-1, 1, 32).reshape(8, 4))


@pytest.mark.parametrize("change, records", [
    (_move_to_end, 4), (_swap_positions, 4),
    (lambda r: r.model._modules.update({"1": nn.Tanh()}), 4),  # another object, same kind
])
def test_reordering_a_sequential_records_again(change, records):
    fn, _ = assert_jit_equals_eager(_seq_make, _y4, steps=8, between=_change_at(4, change))
    assert fn.cache_info().records == records


@pytest.mark.parametrize("change, records", [
    (lambda r: setattr(r.model, "scale", float("0.5")), 2),  # equal, another object: replays
    (lambda r: setattr(r.model, "shift", int("1000")), 2),
    (lambda r: setattr(r.model.lin, "in_features", int("4")), 2),
    (lambda r: setattr(r.model, "scale", 0.25), 4),  # another value: records again
    (lambda r: setattr(r.model, "scale", 1), 4),  # 1 == 1.0 but another type
    (lambda r: setattr(r.model, "shift", 2000.0), 4),
    (lambda r: setattr(r.model.lin, "in_features", 5), 4),
])
def test_module_numbers_equal_objects_replay_other_values_record_again(change, records):
    fn, _ = assert_jit_equals_eager(_scaled_make, _y4, steps=8, between=_change_at(4, change))
    assert fn.cache_info().records == records


class _Configured(nn.Module):
    """A forward reading Python values of every kind from its module."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4, rng=0)
        self.axis = (0,)
        self.coef = [1.0, 0.5]
        self.opts = {"scale": 2.0}
        self.act = tg.tanh
        self.cfg = SimpleNamespace(shift=0.25)

    def forward(self, x):
        h = self.act(self.lin(x)) * self.coef[0] * self.opts["scale"] + self.cfg.shift
        return h.mean(axis=self.axis)


def _module_make(build):
    def make():
        model = build()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return rig(step, model, opt)
    return make


@pytest.mark.parametrize("change, records", [
    (lambda m: setattr(m, "axis", (1,)), 4),  # a tuple rebound
    (lambda m: setattr(m, "axis", tuple([0])), 2),  # an equal tuple: replays
    (lambda m: setattr(m, "axis", (-2,)), 4),  # the same axis, another value
    (lambda m: m.coef.__setitem__(0, 2.0), 4),  # a list changed in place
    (lambda m: setattr(m, "coef", [1.0, 0.25]), 4),  # rebound, first item equal
    (lambda m: m.opts.update(scale=3.0), 4),  # a dict changed in place
    (lambda m: setattr(m, "act", tg.sigmoid), 4),  # another function
    (lambda m: setattr(m.cfg, "shift", 0.5), 4),  # a plain object's attribute
    (lambda m: setattr(m, "cfg", SimpleNamespace(shift=0.25)), 4),  # another object
], ids=["tuple", "equal-tuple", "tuple-value", "list-item", "list", "dict", "function",
        "object-attr", "object"])
def test_python_values_a_module_reads_are_keyed(change, records):
    """Fault: only tensors, arrays and scalars among a module's attributes were looked at;
    a tuple (a conv's padding), list, dict, function or config object changed after
    recording replayed the stale program. Fix (_jit/capture.py): tuples of scalars are
    keyed by value, other objects searched like the scope (their containers watched) and
    keyed by identity (objects_key)."""
    fn, _ = assert_jit_equals_eager(_module_make(_Configured), _y4, steps=8,
                                    between=_change_at(4, lambda r: change(r.model)))
    assert fn.cache_info().records == records


def test_a_conv_padding_changed_after_recording():
    def build():
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.Tanh())

    def change(r):
        r.model[0].padding = (0, 0)

    x = tg.Tensor(np.linspace(-1, 1, 50).reshape(2, 1, 5, 5))
    fn, _ = assert_jit_equals_eager(_module_make(build), lambda i: (x, None), steps=8,
                                    between=_change_at(4, change))
    assert fn.cache_info().records == 4


def _fresh_weight(r, like):
    return nn.Parameter(np.linspace(-0.5, 0.5, like.data.size).reshape(like.shape))


def _swap_param_in_module(r):
    lin = r.model[0]
    lin._parameters["weight"] = _fresh_weight(r, lin.weight)  # behind __setattr__, opt keeps the old one


def _swap_param_everywhere(r):
    _swap_param_in_module(r)
    r.opt.param_groups[0]["params"][0] = r.model[0].weight


def _replace_opt_entry(r):
    # an outside parameter of the same shape takes the place of the first layer's weight
    r.opt.param_groups[0]["params"][0] = _fresh_weight(r, r.model[0].weight)


def _reverse_opt_entries(r):
    r.opt.param_groups[0]["params"].reverse()


def _drop_opt_entry(r):
    del r.opt.param_groups[0]["params"][1]


def _rebind_group_list(r):
    group = r.opt.param_groups[0]
    group["params"] = list(group["params"])[2:]  # a new list: the old one is unchanged


def _replace_group_dict(r):
    r.opt.param_groups[0] = dict(r.opt.param_groups[0], lr=0.5)


def _instance_step(r):
    r.opt.step = lambda: None  # updates nothing from now on


def _instance_zero_grad(r):
    r.opt.zero_grad = lambda: None  # gradients accumulate from now on


@pytest.mark.parametrize("change", [_swap_param_in_module, _swap_param_everywhere,
                                    _replace_opt_entry, _reverse_opt_entries, _drop_opt_entry,
                                    _rebind_group_list, _replace_group_dict, _instance_step,
                                    _instance_zero_grad])
def test_parameters_swapped_in_modules_or_the_optimizer(change):
    """Faults (now fixed in capture.discover): a group's ``params`` rebound to a new list,
    and ``step``/``zero_grad`` set on the optimizer instance, replayed the program of the
    old ones (written-out SGD updating the old list, or ignoring the new step)."""
    fn, _ = assert_jit_equals_eager(_seq_make, _y4, steps=9, between=_change_at(4, change))
    assert fn.cache_info().hits >= 3


def test_a_closure_rebound_to_another_model():
    def make():
        a, b = (nn.Sequential(nn.Linear(4, 3, rng=s), nn.Tanh(), nn.Linear(3, 4, rng=s + 1))
                for s in (0, 5))
        opt = optim.SGD(list(a.parameters()) + list(b.parameters()), lr=0.2)
        model = a

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        def use(m):
            nonlocal model
            model = m
        r = rig(step, nn.ModuleList([a, b]), opt)
        r.use, r.a, r.b = use, a, b
        return r

    def between(r, i):
        if i in (4, 9):
            r.use(r.b if i == 4 else r.a)

    fn, _ = assert_jit_equals_eager(make, _y4, steps=13, between=between)
    assert fn.cache_info().records >= 4  # b recorded (the stale program of a not replayed)


# ---- the strict scalar key (capture.read_scalars) -----------------------------------------

def test_a_closure_number_changing_type_changes_the_dtype_like_eager():
    """``bool_tensor + k``: True keeps bool, 1 makes int64, 1.0 float64 (equal numbers, equal
    hashes: a key comparing them with == would replay the wrong program)."""
    k = True

    def step(x):
        return x + k

    f = tg.jit(step)
    x = tg.Tensor(np.array([True, False, True]))
    seen = set()
    for value in [True] * 4 + [1] * 4 + [1.0] * 4 + [True] * 3 + [int("1")] * 3:
        k = value
        got, want = f(x).data, step(x).data
        assert same_bits(got, want), (value, got, want)
        seen.add(want.dtype)
    assert len(seen) == 3
    assert f.cache_info().records == 6  # three signatures; the later ones replay from the cache


def _signed_scale_make(holder):
    def make():
        r = small()
        inner_model, opt = r.model, r.opt

        def step(x, y):
            opt.zero_grad()
            loss = ((inner_model(x) - y) ** 2).mean() * holder["k"]
            loss.backward()
            opt.step()
            return loss
        r.step = step
        return r
    return make


def test_zero_and_negative_zero_scales_give_eager_signs():
    holder = {"k": 1.0}
    ks = [1.0, 1.0, 1.0, 0.0, 0.0, -0.0, -0.0, 0.0, 1.0, -0.0, -0.0, NAN, float("nan"), 1.0]

    def between(r, i):
        holder["k"] = ks[i]

    fn, _ = assert_jit_equals_eager(_signed_scale_make(holder), lambda i: data(), steps=len(ks),
                                    between=between)
    # 1.0, 0.0, -0.0 and NaN (two NaN objects: one key) are four signatures
    assert fn.cache_info().records == 8


def test_nans_of_either_sign_are_keys_of_their_own():
    """``x * k``: a NaN operand's sign reaches the result; ``repr`` writes both NaNs
    ``nan``, so a key made of it replayed the other sign. Fix: capture._strict compares
    floats by their bytes (and numbers.typed_numbers keys its constants so)."""
    w = tg.Tensor(np.ones(3), requires_grad=True)
    k = NAN

    def fn(x):
        return x * w * k, x * w + k * 2

    f = tg.jit(fn)
    x = tg.Tensor(np.ones(3))
    for k in [NAN] * 3 + [-NAN] * 3 + [float("nan")] * 2 + [-float("nan")] * 2:
        for got, want in zip(f(x), fn(x)):
            assert same_bits(got.data, want.data), k
    assert f.cache_info().records == 4 and f.cache_info().hits == 6


def test_a_module_attribute_changing_type_records_again():
    class Add(nn.Module):
        def __init__(self):
            super().__init__()
            self.k = True

        def forward(self, x):
            return x + self.k

    m = Add()
    f = tg.jit(lambda x: m(x))
    x = tg.Tensor(np.array([True, False]))
    for value in [True, True, True, 1, 1, 1, 1.0, 1.0, 1.0, -0.0, 0.0, 0.0, -0.0]:
        m.k = value
        assert same_bits(f(x).data, m(x).data), value

    class AddFirst(Add):  # the number inside a tuple: keyed as strictly
        def forward(self, x):
            return x + self.k[0]

    m = AddFirst()
    f = tg.jit(lambda x: m(x))
    for value in [(True,)] * 3 + [(1,)] * 3 + [(1.0,)] * 3 + [(-0.0,)] * 3 + [(0.0,)] * 3:
        m.k = value
        assert same_bits(f(x).data, m(x).data), value


# ---- what the step reads from its optimizer and its modules by itself ----------------------

def _hand_written_update_make(kind):
    def make():
        r = small()
        model, opt = r.model, r.opt

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            if kind == "penalty":  # an lr-scaled penalty in the loss
                loss = loss + opt.param_groups[0]["lr"] * (model[0].weight ** 2).sum()
            loss.backward()
            if kind == "update":
                for group in opt.param_groups:
                    for p in group["params"]:
                        p.data -= group["lr"] * p.grad.data
            else:
                opt.step()
            return loss
        r.step = step
        return r
    return make


@pytest.mark.parametrize("kind", ["update", "penalty"])
def test_hyperparameters_the_step_reads_itself_are_checked_at_replay(kind):
    """The step reads ``group["lr"]`` itself (not through ``opt.step()``, which the replay
    runs live): the recording holds that number as a constant, and a later change to it
    was replayed stale, silently. Fix: optim.ParamGroup tells the recording which
    hyperparameters the function read; the replay records again when one changed."""
    def between(r, i):
        if i in (4, 7):
            r.opt.param_groups[0]["lr"] = 0.05 if i == 4 else 0.025

    x, y = data()
    fn, _ = assert_jit_equals_eager(_hand_written_update_make(kind), lambda i: (x, y), steps=10,
                                    between=between)
    assert fn.cache_info().records == 6 and fn.cache_info().hits == 4


def test_a_big_container_on_a_module_is_watched_by_identity_only():
    """A vocabulary list on a model: its 10000 items must not each become a condition of
    every call's check (capture._MAX_ITEMS); rebinding it is still seen."""
    class Vocab(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2, rng=0)
            self.vocab = [str(i) for i in range(10000)]

        def forward(self, x):
            return self.lin(x) * (len(self.vocab) / 10000)

    m = Vocab()
    f = tg.jit(lambda x: m(x).sum())
    x = tg.Tensor(np.ones((3, 4)))
    for _ in range(4):
        f(x)
    assert f.cache_info().hits == 2
    source = f._fast.__globals__["_source"]
    assert source.count(" is ") < 100, source.count(" is ")
    m.vocab = m.vocab[:5000]  # rebound: the recording held len(vocab) as a constant
    assert same_bits(f(x).data, m(x).sum().data)
    assert f.cache_info().records == 3
