"""Round 4 of adversarial tests: the jit's fast path, typed numbers, buffers, SGD's lr == 1.

Each test is a fault found by attacking today's changes (or a guard against one);
jitted steps are compared with eager ones bit for bit (tests/_jit_helpers.py).
"""
from __future__ import annotations

import types

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim

from _jit_helpers import data, differences, mse_step, rig, run, small


def _compare(make, inputs, steps, between=None):
    """Every step's snapshot of a jitted run equals the eager run's; returns the jitted fn."""
    eager, _, _ = run(make, inputs, steps, jit=False, between=between)
    jitted, _, fn = run(make, inputs, steps, jit=True, between=between)
    for i, (a, b) in enumerate(zip(eager, jitted)):
        problems = differences(a, b)
        assert not problems, f"step {i + 1}: jit differs from eager: " + "; ".join(problems[:4])
    return fn


def _at(k, change):
    def between(r, i):
        if i == k:
            change(r)
    return between


def _mse_step(model, opt):
    return mse_step(model, opt)


class _Act(nn.Module):
    """A layer holding a function and a tuple as plain attributes (a common pattern)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2, rng=0)
        self.act = tg.tanh
        self.scale = (2.0,)

    def forward(self, x):
        return self.act(self.lin(x)) * self.scale[0]


def _act_rig():
    model = _Act()
    opt = optim.SGD(model.parameters(), lr=0.1)
    return rig(_mse_step(model, opt), model, opt)


X, Y = data()


def _xy(i):
    return X, Y


# ---- what a module, a global or an optimizer holds, changed between replays ----------

@pytest.mark.parametrize("change", [
    lambda r: setattr(r.model, "act", tg.sigmoid),      # a function attribute replaced
    lambda r: setattr(r.model, "scale", (3.0,)),        # a tuple of numbers replaced
    lambda r: setattr(r.model.lin, "forward", lambda t, f=r.model.lin.forward: f(t) * 2.0),
    lambda r: setattr(r.model, "__class__", _Act2),     # the class swapped
], ids=["function", "tuple", "forward added", "class"])
def test_module_attributes_that_are_not_numbers_are_keyed(change):
    # Fault: the key held only the Python numbers a step can see (and only the
    # attributes present at discovery), so a replaced function, tuple or class, or
    # an attribute added later, replayed the program recorded with the old one.
    fn = _compare(_act_rig, _xy, 8, _at(4, change))
    assert fn.cache_info().records == 4


class _Act2(_Act):
    def forward(self, x):
        return tg.sigmoid(self.lin(x))


CFG = types.ModuleType("adversarial_round4_config")  # a config module: `import config`


@pytest.mark.parametrize("attr, value", [("SCALE", 3.0), ("SCALE", 2), ("ACT", np.sin)])
def test_a_config_modules_attributes_are_keyed(attr, value):
    # Fault: ``config.SCALE`` (a module's attribute the step reads) was frozen into
    # the program: discovery looked at the global ``config``, not into it.
    def make():
        CFG.SCALE, CFG.ACT = 2.0, np.tanh
        r = small()
        model, opt = r.model, r.opt

        def step(x, y):
            opt.zero_grad()
            loss = ((CFG.ACT(model(x)) * CFG.SCALE - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        return rig(step, model, opt)

    fn = _compare(make, _xy, 8, _at(4, lambda r: setattr(CFG, attr, value)))
    assert fn.cache_info().records == 4


def test_a_param_groups_params_list_replaced_is_keyed():
    # Fault: group["params"] = [...] (a new list) was not watched: the replay kept
    # updating the parameters of the old list.
    def keep_first_layer(r):
        r.opt.param_groups[0]["params"] = list(r.opt.param_groups[0]["params"])[:2]
    fn = _compare(small, _xy, 8, _at(4, keep_first_layer))
    assert fn.cache_info().records == 4


def _reads_lr_rig(how):
    r = small()
    model, opt = r.model, r.opt

    def step(x, y):
        opt.zero_grad()
        group = opt.param_groups[0]
        lr = dict(group)["lr"] if how == "copy" else group["lr"]
        loss = ((model(x) - y) ** 2).mean() + lr * (model[0].weight ** 2).sum()
        loss.backward()
        opt.step()
        return (loss, tg.Tensor(np.asarray(group.get("lr")))) if how == "return" else loss
    return rig(step, model, opt)


@pytest.mark.parametrize("how", ["index", "return", "copy"])
def test_a_hyperparameter_the_step_reads_itself_is_keyed(how):
    # Fault: param_groups' values are read live by opt.step() and so not keyed; a step
    # reading group["lr"] itself froze the value into the program, and a later change
    # (a scheduler) replayed the stale one silently.
    def decay(r, i):
        r.opt.param_groups[0]["lr"] = 0.1 if i < 5 else 0.05
    fn = _compare(lambda: _reads_lr_rig(how), _xy, 9, decay)
    assert fn.cache_info().hits >= 3


def test_a_scheduler_alone_still_replays():
    # The lr that only opt.step() reads stays out of the key: one program, every lr.
    def halve(r, i):
        r.opt.param_groups[0]["lr"] = 0.5 ** i
    fn = _compare(small, _xy, 8, halve)
    assert fn.cache_info().records == 2


def _halving_step(orig, model):
    def step(*args):
        for p in model.parameters():
            if p.grad is not None:
                p.grad.data *= 0.5  # e.g. a clipping or scaling wrapper added later
        return orig(*args)
    return step


class _NoStep(optim.SGD):
    def step(self, closure=None):
        return None


@pytest.mark.parametrize("how", ["instance", "class", "__class__"])
def test_sgd_step_patched_after_the_program_was_written(how):
    # Faults: plain SGD is written out into the program, checked to be SGD.step only
    # when the program was built: a step patched on the class (or the class swapped)
    # later was ignored by every replay. And a wrapper patched on the instance was
    # applied twice by the replays (its work recorded, then opt.step() called the
    # wrapper again). Now the optimizer's class and step are in the key, and the
    # program calls the step function the recording intercepted.
    saved = optim.SGD.step

    def patch(r):
        if how == "instance":
            r.opt.step = _halving_step(r.opt.step, r.model)
        elif how == "class":
            optim.SGD.step = lambda self, closure=None, f=saved: _halving_step(
                lambda: f(self), r.model)()
        else:
            r.opt.__class__ = _NoStep
    try:
        fn = _compare(small, _xy, 8, _at(4, patch))
    finally:
        optim.SGD.step = saved
    assert fn.cache_info().records == 4


# ---- numbers told apart by their bits, not their values ------------------------------

NAN = float("nan")
NEG_NAN = -NAN  # the sign bit set: numpy passes it on (x * nan keeps the NaN's sign)


def _bits(a):
    a = np.asarray(a)
    return a.dtype, a.shape, a.tobytes()


def _eager_vs_jit(f, calls):
    """Run ``f`` on each call's arguments eagerly, then jitted; the outputs' bits."""
    def outs(g):
        return [[_bits(t.data) for t in (o if isinstance(o, tuple) else (o,))]
                for o in (g(*c()) for c in calls)]
    jf = tg.jit(f)
    assert outs(f) == outs(jf)
    return jf


X3 = tg.Tensor(np.arange(1.0, 7.0).reshape(2, 3))


@pytest.mark.parametrize("first, then", [(0.0, -0.0), (-0.0, 0.0), (NAN, NEG_NAN)])
def test_number_arguments_keyed_by_bits(first, then):
    # Fault: arguments were keyed by value (0.0 == -0.0, same hash): the program
    # recorded with 0.0 replayed for -0.0.
    jf = _eager_vs_jit(lambda x, c: x * c, [lambda: (X3, first)] * 3 + [lambda: (X3, then)] * 3)
    assert jf.cache_info().hits >= 2


def test_closure_nan_sign_is_keyed():
    # Fault: the scope's numbers were keyed by repr(), and repr(-nan) == 'nan'.
    box = {"c": NAN}

    def f(x):
        return x * box["c"]

    def call(c):
        def go():
            box["c"] = c
            return (X3,)
        return go
    _eager_vs_jit(f, [call(NAN)] * 3 + [call(NEG_NAN)] * 3)


def test_two_nans_of_one_program_stay_apart():
    # Fault: numbers.py converted each Python number once per repr(): -nan got nan's
    # 0-d array.
    _eager_vs_jit(lambda x: (x * NAN, x * NEG_NAN), [lambda: (X3,)] * 4)


def test_scope_array_changed_only_in_the_sign_of_zero():
    # Fault: a scope array copied inside the step (a constant of the program) was
    # checked against its recorded value by value: 0.0 -> -0.0 in place went unseen.
    offset = np.zeros(3)

    def f(x):
        return x * tg.Tensor(offset.copy())

    def call(z):
        def go():
            offset[0] = z
            return (X3,)
        return go
    _eager_vs_jit(f, [call(0.0)] * 3 + [call(-0.0)] * 3)


# ---- arrays the step copies, held in containers ---------------------------------------

class _Ns:
    pass


class _Holds(nn.Module):
    """A layer keeping a constant array inside a container attribute."""

    def __init__(self, hold, get):
        super().__init__()
        self.lin = nn.Linear(4, 2, rng=0)
        self.hold, self.get = hold, get

    def forward(self, x):
        return self.lin(x) * tg.Tensor(self.get(self.hold).copy())


def _holder(kind):
    c = np.array([1.0, 2.0])
    if kind == "tuple":
        return (c,), lambda h: h[0]
    if kind == "list":
        return [c], lambda h: h[0]
    if kind == "dict":
        return {"c": c}, lambda h: h["c"]
    ns = _Ns()
    ns.c = c
    return ns, lambda h: h.c


@pytest.mark.parametrize("kind", ["tuple", "list", "dict", "object"])
def test_an_array_in_a_modules_container_changed_in_place(kind):
    # Fault: only arrays held directly by a module or the scope were checked for
    # in-place changes; one in a tuple, list, dict or plain object attribute of a
    # module (or a tuple in the closure) was copied into the program once and replayed
    # stale.
    def make():
        model = _Holds(*_holder(kind))
        opt = optim.SGD(model.parameters(), lr=0.1)
        return rig(_mse_step(model, opt), model, opt)
    fn = _compare(make, _xy, 8, _at(4, lambda r: r.model.get(r.model.hold).__setitem__(0, 5.0)))
    assert fn.cache_info().records == 4


def test_an_array_in_a_closure_tuple_changed_in_place():
    hold = (np.array([1.0, 2.0]),)

    def f(x):
        return x[:, :2] * tg.Tensor(hold[0].copy())

    def call(v):
        def go():
            hold[0][0] = v
            return (X3,)
        return go
    _eager_vs_jit(f, [call(1.0)] * 3 + [call(5.0)] * 3)


# ---- gradients that only the eager calls would give ----------------------------------

def test_backward_into_a_model_passed_as_an_argument_is_refused():
    # Fault: with no optimizer in the step (whose step() refuses such a model), the
    # eager calls gave the argument model's parameters their .grad and the replays
    # silently did not (the model is not in the scope the jit captures).
    lin = nn.Linear(3, 1, rng=0)

    @tg.jit
    def grads_of(model, x):
        model.zero_grad()
        loss = (model(x) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(tg.TraceError, match="enclosing scope"):
        grads_of(lin, X3)
    assert lin.weight.grad is None


class _Box:
    def __init__(self, t):
        self.t = t


@pytest.mark.parametrize("holder", ["module", "object", "function"])
def test_tensors_reached_through_an_argument_are_refused(holder):
    # Fault: a tensor reached through an argument that is not a Tensor (a module, a
    # plain object, a function closing over one) was a constant of the program:
    # `.data` rebound after the recordings (a hand-written update) went unseen.
    lin = nn.Linear(3, 1, rng=0)
    box = _Box(tg.Tensor(np.ones(3)))
    arg, use = {"module": (lin, lambda a, x: a(x)),
                "object": (box, lambda a, x: x * a.t),
                "function": (lambda x: x * box.t, lambda a, x: a(x))}[holder]
    jf = tg.jit(lambda a, x: use(a, x).sum())
    with pytest.raises(tg.TraceError, match="enclosing scope"):
        jf(arg, X3)


def test_backward_into_the_graph_of_an_input_is_refused():
    # Fault: an input computed outside from a tensor requiring grad: eager backward
    # reaches that tensor (w0.grad), the replays did not.
    lin = nn.Linear(3, 1, rng=0)
    w0 = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)

    @tg.jit
    def step(x):
        loss = (lin(x) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(tg.TraceError, match="x.detach"):
        step(w0 * 2.0)
    w0.grad = None
    for _ in range(3):
        step((w0 * 2.0).detach())  # the remedy the message names
    assert w0.grad is None and step.cache_info().hits == 1


def test_a_leaf_made_inside_the_step_still_records():
    # Made by each call, its .grad seen by no one: allowed.
    lin = nn.Linear(3, 3, rng=0)

    def step(x):
        w = tg.Tensor(np.full((3, 2), 0.5), requires_grad=True)
        loss = ((lin(x) @ w) ** 2).sum()
        loss.backward()
        return loss, lin.weight.grad

    jf = tg.jit(step)
    for _ in range(4):
        lin.weight.grad = None
        want = [np.array(t.data) for t in step(X3)]
        lin.weight.grad = None
        got = [np.array(t.data) for t in jf(X3)]
        assert all(_bits(a) == _bits(b) for a, b in zip(want, got))
    assert jf.cache_info().hits >= 1


def test_a_wrapper_set_on_an_adam_instance_runs_once_per_replay():
    # Fault: the program replayed Adam as `opt.step()`, which called the instance's
    # wrapper again after the recording had logged the wrapper's own work (the
    # gradients halved twice).
    def make():
        r = small()
        opt = optim.Adam(r.model.parameters(), lr=0.01)
        opt.step = _halving_step(opt.step, r.model)
        return rig(_mse_step(r.model, opt), r.model, opt)
    fn = _compare(make, _xy, 6)
    assert fn.cache_info().hits == 4
