"""Internals of ``tinygrad_edu.jit``: the traced array's safety net, codegen, guards, caching.

The black-box behaviour (every example model, every optimizer, docs) is in
``tests/test_jit.py``; these tests pin down the mechanisms the design note in
``tinygrad_edu/_jit/__init__.py`` describes. Every comparison is exact.
"""
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import blog, nn, optim
from tinygrad_edu._jit.traced import _Traced


def _blog_world():
    net = blog.blog_network(3, 4, 1)
    opt = optim.SGD(net.parameters(), lr=1.0)

    def step(x, y):
        loss = 0.5 * ((y - net(x)) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return net, opt, step


def test_blog_net_jitted_equals_the_hand_written_backprop():
    net, _, step = _blog_world()
    f = tg.jit(step)
    x, y = tg.Tensor(blog.X), tg.Tensor(blog.Y_PART2)
    for _ in range(300):
        loss = f(x, y)
    syn0, syn1, l2 = blog.by_hand_three_layer(300)
    assert np.array_equal(net[0].weight.data, syn0)
    assert np.array_equal(net[2].weight.data, syn1)
    assert f.cache_info() == (298, 2, 1, 8)
    assert type(loss.data) is np.ndarray and loss.requires_grad
    # nothing traced is left behind in the eager world
    for p in net.parameters():
        assert type(p.data) is np.ndarray and type(p.grad.data) is np.ndarray


def test_program_is_flat_numpy_source_and_returned_loss_has_no_graph():
    _, _, step = _blog_world()
    f = tg.jit(step)
    x, y = tg.Tensor(blog.X), tg.Tensor(blog.Y_PART2)
    assert f.program is None
    for _ in range(3):
        loss = f(x, y)
    src = f.program
    assert "def program(_in):" in src and ".step()" in src and "_ret(" in src
    assert "Tensor" not in src.split("def program")[1]  # no Tensor ops: numpy calls only
    with pytest.raises(RuntimeError, match="replayed jit step"):
        loss.backward()


def test_dead_calls_are_dropped():
    w = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)

    @tg.jit
    def f(x):
        unused = tg.exp(x * 3.0)  # noqa: F841  (computed, never used)
        return (x @ w).sum()

    x = tg.Tensor(np.ones((4, 2)))
    for _ in range(3):
        out = f(x)
    assert "exp" not in f.program.split("def program")[1]
    assert np.array_equal(out.data, (x.data @ w.data).sum())


def test_a_numpy_random_draw_inside_differs_between_recordings():
    w = tg.Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def f(x):
        return (x * w * np.random.random(3)).sum()

    x = tg.Tensor(np.ones(3))
    f(x)
    with pytest.raises(tg.TraceError, match="differ"):
        f(x)
    assert type(w.data) is np.ndarray


@pytest.mark.parametrize("read", [lambda t: t.item(), lambda t: bool(t), lambda t: float(t),
                                  lambda t: print(t), lambda t: np.asarray(t), lambda t: t.numpy(),
                                  lambda t: t.tolist()])
def test_value_reads_raise_at_record_time_and_restore_state(read):
    w = tg.Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def f(x):
        s = (x * w).sum()
        read(s)
        return s

    with pytest.raises(tg.TraceError, match="inside a jitted function"):
        f(tg.Tensor(np.ones(3)))
    assert type(w.data) is np.ndarray
    assert tg.is_grad_enabled()
    from tinygrad_edu._mode import mode
    assert mode.tracing is None


def test_create_graph_and_hooks_raise():
    w = tg.Tensor(np.ones(3), requires_grad=True)

    @tg.jit
    def second_order(x):
        (g,) = tg.grad((x * w * w).sum(), w, create_graph=True)
        return g.sum()

    with pytest.raises(tg.TraceError, match="create_graph"):
        second_order(tg.Tensor(np.ones(3)))

    @tg.jit
    def hooked(x):
        y = x * w
        y.register_hook(lambda g: g * 2)
        y.sum().backward()
        return y

    with pytest.raises(tg.TraceError, match="hook"):
        hooked(tg.Tensor(np.ones(3)))


def test_an_unlogged_view_of_a_traced_array_is_refused():
    from numpy.lib.stride_tricks import as_strided as np_as_strided

    w = tg.Tensor(np.arange(4.0), requires_grad=True)

    @tg.jit
    def f(x):
        v = np_as_strided(w.data, (2,), (8,), subok=True)  # made behind the recorder's back
        return x * tg.Tensor._wrap(v)

    with pytest.raises(tg.TraceError, match="route"):
        f(tg.Tensor(np.ones(2)))


def test_a_plain_view_of_a_traced_array_is_remade_at_replay():
    w = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)

    @tg.jit
    def f(x):
        plain = np.asarray(w.data)[:, 1:]  # a plain view: the replay must see w's new values
        loss = (x * w).sum() + (x[:, 1:] * tg.Tensor._wrap(plain)).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    w2 = tg.Tensor(w.data.copy(), requires_grad=True)
    opt2 = optim.SGD([w2], lr=0.5)
    x = tg.Tensor(np.full((2, 3), 0.25))
    for _ in range(5):
        got = f(x)
        want = (x * w2).sum() + (x[:, 1:] * tg.Tensor._wrap(w2.data[:, 1:].copy())).sum()
        opt2.zero_grad()
        want.backward()
        opt2.step()
        assert np.array_equal(got.data, want.data)
    assert np.array_equal(w.data, w2.data)


def test_learning_rate_changes_are_read_at_replay():
    def world(jit):
        net, opt, step = _blog_world()
        sched = optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 / (1 + k))
        f = tg.jit(step) if jit else step
        x, y = tg.Tensor(blog.X), tg.Tensor(blog.Y_PART2)
        for _ in range(6):
            f(x, y)
            sched.step()
            opt.param_groups[0]["weight_decay"] = 0.01  # edited between calls
        return [p.data for p in net.parameters()]

    for a, b in zip(world(False), world(True)):
        assert np.array_equal(a, b)


def test_dropout_draws_follow_the_default_generator():
    def world(jit):
        tg.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Dropout(0.5), nn.Linear(8, 2, rng=1))
        opt = optim.Adam(model.parameters(), lr=0.1)

        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jit else step
        x, y = tg.Tensor(np.linspace(-1, 1, 12).reshape(3, 4)), tg.Tensor(np.array([0, 1, 1]))
        losses = [f(x, y).data.copy() for _ in range(5)]
        return losses, [p.data for p in model.parameters()], tg.nn._rng.default_generator().random()

    la, pa, ra = world(False)
    lb, pb, rb = world(True)
    assert all(np.array_equal(a, b) for a, b in zip(la, lb))
    assert all(np.array_equal(a, b) for a, b in zip(pa, pb))
    assert ra == rb  # the generator advanced exactly as eager


def test_a_failed_guard_runs_the_call_eagerly():
    def world(jit):
        model = nn.Linear(3, 4, rng=0)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y, ignore_index=2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jit else step
        x = tg.Tensor(np.arange(6.0).reshape(2, 3) / 6)
        out = [f(x, tg.Tensor(np.array(labels))).data.copy()
               for labels in ([0, 1], [1, 3], [3, 0], [2, 1], [0, 0])]
        return out, [p.data for p in model.parameters()], f

    la, pa, _ = world(False)
    lb, pb, f = world(True)
    assert all(np.array_equal(a, b) for a, b in zip(la, lb))
    assert all(np.array_equal(a, b) for a, b in zip(pa, pb))
    assert f.cache_info().hits == 2  # [2, 1] (an ignored label) ran eagerly


def test_accumulating_gradients_without_zero_grad():
    def world(jit):
        w = tg.Tensor(np.linspace(0, 1, 3), requires_grad=True)

        def step(x):
            loss = (x * w * w).sum()
            loss.backward()
            return loss

        f = tg.jit(step) if jit else step
        for k in range(5):
            f(tg.Tensor(np.full(3, float(k))))
        return w.grad.data

    assert np.array_equal(world(False), world(True))


def test_new_signatures_record_again_and_the_cache_is_bounded():
    w = tg.Tensor(np.ones(2), requires_grad=True)
    f = tg.jit(lambda x: (x * w).sum(), max_cache=2)
    for n in (1, 2, 3, 1):
        for _ in range(3):
            f(tg.Tensor(np.ones((n, 2))))
    info = f.cache_info()
    assert info.signatures == 2 and info.max_cache == 2
    assert info.records == 8 and info.hits == 4  # n=1 was evicted by n=3, so recorded again
    f.clear()
    assert f.cache_info().signatures == 0 and f.program is None


def test_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        tg.jit(3)
    with pytest.raises(ValueError, match="max_cache"):
        tg.jit(lambda x: x, max_cache=0)
    f = tg.jit(lambda x, opts: x * 2)
    with pytest.raises(TypeError, match="hashable"):
        f(tg.Tensor(np.ones(2)), {1, 2})


def test_traced_arrays_log_methods_and_refuse_reads():
    assert issubclass(_Traced, np.ndarray)
    t = np.ones(3).view(_Traced)
    with pytest.raises(tg.TraceError):
        bool(t)
    with pytest.raises(tg.TraceError):
        t.item()
    # outside a recording a traced array computes as a plain one
    assert type(t + 1) is np.ndarray and np.array_equal(t.reshape(3, 1)[:, 0], np.ones(3))


def test_a_jitted_method_finds_the_model_through_self():
    class Trainer:
        def __init__(self):
            self.model = nn.Linear(3, 2, rng=0)
            self.opt = optim.SGD(self.model.parameters(), lr=0.1)

        def eager(self, x):
            loss = (self.model(x) ** 2).sum()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            return loss

        step = tg.jit(eager)

    a, b = Trainer(), Trainer()
    x = tg.Tensor(np.linspace(0, 1, 12).reshape(4, 3))
    for _ in range(5):
        assert np.array_equal(a.step(x).data, b.eager(x).data)
    assert np.array_equal(a.model.weight.data, b.model.weight.data)
    assert a.step.cache_info().hits == 3 and a.step is a.step


# ---- the fast path of a repeated signature (function._fast_check) -------------------

def _mlp_world(seed=0):
    net = nn.Sequential(nn.Linear(3, 4, rng=seed), nn.Sigmoid(), nn.Linear(4, 2, rng=seed + 1))
    opt = optim.SGD(net.parameters(), lr=0.5)

    def step(x):
        loss = (net(x) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return net, opt, step


@pytest.mark.parametrize("change", ["training", "swap_layer", "replace_param",
                                    "arg_shape", "arg_dtype", "arg_requires_grad", "same_twice",
                                    "param_dtype", "new_group"])
def test_the_fast_path_misses_on_whatever_the_key_covers(change):
    """After replays, a change that the full cache key sees must not reuse the
    fast path's program: the jitted step stays equal to an eager twin."""
    net, opt, step = _mlp_world()
    net2, opt2, step2 = _mlp_world()
    f = tg.jit(step)
    x = tg.Tensor(np.linspace(-1, 1, 6).reshape(2, 3))
    for _ in range(4):
        assert np.array_equal(f(x).data, step2(x).data)
    assert f._fast is not None
    args = (x,)
    for n, o in ((net, opt), (net2, opt2)):
        if change == "training":
            n.eval()
        elif change == "swap_layer":
            n._modules["1"] = nn.Tanh()  # behind __setattr__'s back: only the dict changes
        elif change == "replace_param":
            n[0].weight = nn.Parameter(np.full((3, 4), 0.25))
            o.param_groups[0]["params"][0] = n[0].weight
        elif change == "param_dtype":
            n[0].weight.data = n[0].weight.data.astype(np.float32)
        elif change == "new_group":
            extra = tg.Tensor(np.ones(2), requires_grad=True)
            o.add_param_group({"params": [extra]})
    if change == "arg_shape":
        args = (tg.Tensor(np.linspace(-1, 1, 9).reshape(3, 3)),)
    elif change == "arg_dtype":
        args = (tg.Tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32)),)
    elif change == "arg_requires_grad":
        args = (tg.Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True),)
    records = f.cache_info().records
    if change == "same_twice":
        w = tg.Tensor(np.arange(1.0, 4.0), requires_grad=True)
        g = tg.jit(lambda a, b: (a * b * w).sum())
        z = tg.Tensor(np.arange(3.0))
        for _ in range(4):
            assert np.array_equal(g(z, tg.Tensor(np.ones(3))).data, np.float64(8.0))
        assert g._fast is not None
        assert np.array_equal(g(z, z).data, np.float64(0 + 1 * 2 + 4 * 3))
        return
    for _ in range(4):
        got, want = f(*args), step2(*args)
        assert np.array_equal(got.data, want.data)
    for p, q in zip(net.parameters(), net2.parameters()):
        assert np.array_equal(p.data, q.data)
    assert f.cache_info().records > records  # the change recorded again


def test_the_fast_path_misses_when_grad_mode_changes():
    w = tg.Tensor(np.arange(3.0), requires_grad=True)
    f = tg.jit(lambda x: (x * w).sum())
    x = tg.Tensor(np.ones(3))
    for _ in range(4):
        assert f(x).requires_grad
    with tg.no_grad():
        for _ in range(4):
            out = f(x)
            assert not out.requires_grad and np.array_equal(out.data, np.float64(3.0))
    assert f(x).requires_grad and f.cache_info().records == 4


# ---- SGD's update written out in the program (codegen._optimizer_step) -------------------

@pytest.mark.parametrize("edit", ["lr", "momentum", "weight_decay", "nesterov", "none"])
def test_inline_sgd_reads_hyperparameters_live_and_stays_exact(edit):
    """Plain SGD replays as numpy calls reading lr at replay; switching momentum or
    weight decay on between calls falls back to the real step: equal to eager throughout."""
    def world():
        net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 2, rng=1))
        frozen = tg.Tensor(np.ones(2), requires_grad=True)  # in the optimizer, never gets a grad
        opt = optim.SGD([{"params": list(net.parameters())[:2]},
                         {"params": list(net.parameters())[2:] + [frozen], "lr": 0.25}], lr=0.5)

        def step(x):
            loss = (net(x) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return net, opt, step, frozen

    (net, opt, step, frozen), (net2, opt2, step2, frozen2) = world(), world()
    f = tg.jit(step)
    x = tg.Tensor(np.linspace(-2, 2, 6).reshape(2, 3))
    for i in range(8):
        if i == 4:
            for o in (opt, opt2):
                if edit == "lr":
                    o.param_groups[1]["lr"] = 0.125
                elif edit == "momentum":
                    o.param_groups[0]["momentum"] = 0.9
                elif edit == "weight_decay":
                    o.param_groups[1]["weight_decay"] = 0.01
                elif edit == "nesterov":
                    o.param_groups[0].update(momentum=0.5, nesterov=True)
        if i == 6 and edit == "none":  # a .grad the program does not set, given from outside
            frozen.grad = tg.Tensor(np.full(2, 0.5))
            frozen2.grad = tg.Tensor(np.full(2, 0.5))
        assert np.array_equal(f(x).data, step2(x).data)
        for p, q in zip(net.parameters(), net2.parameters()):
            assert np.array_equal(p.data, q.data) and np.array_equal(p.grad.data, q.grad.data)
        assert np.array_equal(frozen.data, frozen2.data)
    # a .grad None in both recordings is a guard: set from outside, the step records again
    assert f.cache_info().records == (3 if edit == "none" else 2)
    assert "'lr')" in f.program and "k" in f.program.split("else:")[1]


def test_inline_sgd_marks_parameters_modified_like_the_eager_step():
    net = nn.Linear(3, 1, rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)

    @tg.jit
    def step(x):
        loss = net(x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    x = tg.Tensor(np.ones((2, 3)))
    for _ in range(3):
        step(x)
    kept = (net(x) * 1.0).sum()  # a graph recorded before a replayed update...
    step(x)
    with pytest.raises(RuntimeError, match="modified"):
        kept.backward()  # ...refuses to back-propagate with the new values, as after an eager step


@pytest.mark.parametrize("opt_cls", [optim.Adam, optim.RMSprop])
def test_other_optimizers_stay_a_macro(opt_cls):
    net = nn.Linear(3, 1, rng=0)
    opt = opt_cls(net.parameters(), lr=0.1)

    @tg.jit
    def step(x):
        loss = net(x).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step(tg.Tensor(np.ones((2, 3))))
    assert ".step()" in step.program and "'lr')" not in step.program


# ---- exact rewrites of the recorded calls (rewrites.peephole) -------------------------------

def _ops(*specs):
    from tinygrad_edu._jit.recorder import Op
    return [Op("call", fn, args, kwargs, outs=outs, writes=writes, effect=bool(writes))
            for fn, args, kwargs, outs, writes in specs]


def _fns(ops):
    return [(op.fn, op.outs) for op in ops]


def test_peephole_merges_equal_fresh_calls_and_renames_their_uses():
    from tinygrad_edu._jit.rewrites import peephole
    from tinygrad_edu._jit.recorder import Slot
    S = Slot
    ops = _ops((np.exp, (S(0),), {}, 1, ()), (np.exp, (S(0),), {}, 2, ()),
               (np.add, (S(1), S(2)), {}, 3, ()))
    out = peephole(ops, ("array", S(3)))
    assert _fns(out) == [(np.exp, 1), (np.add, 3)] and out[1].args == (S(1), S(1))


@pytest.mark.parametrize("second, why", [
    ((np.add, "S0", 0.0), "0.0 is not -0.0"),
    ((np.add, "S0", 1.0), "1.0 is not 1"),
    ((np.add, "S0", True), "True is not 1"),
    ((np.subtract, "S0", 1), "another callable"),
    ((np.add, "S1", 1), "another slot"),
])
def test_peephole_keeps_calls_that_differ_in_any_argument(second, why):
    from tinygrad_edu._jit.rewrites import peephole
    from tinygrad_edu._jit.recorder import Slot
    first = (np.add, (Slot(0), -0.0 if "0.0" in why else 1), {}, 2, ())
    fn, a, b = second
    ops = _ops(first, (fn, (Slot(int(a[1])), b), {}, 3, ()), (np.add, (Slot(2), Slot(3)), {}, 4, ()))
    assert len(peephole(ops, ("array", Slot(4)))) == 3, why


def test_peephole_refuses_a_merge_across_a_write_or_of_an_escaping_result():
    from tinygrad_edu._jit.rewrites import peephole
    from tinygrad_edu._jit.recorder import Op, Slot
    S = Slot
    # a write into the argument between the two calls: the values differ
    ops = _ops((np.exp, (S(0),), {}, 1, ()), (np.add, (S(0), 1.0), {"out": (S(0),)}, 0, (0,)),
               (np.exp, (S(0),), {}, 2, ()), (np.add, (S(1), S(2)), {}, 3, ()))
    assert len(peephole(ops, ("array", S(3)))) == 4
    # the second result is returned, or written later, or becomes a .grad: kept apart
    base = [(np.exp, (S(0),), {}, 1, ()), (np.exp, (S(0),), {}, 2, ())]
    assert len(peephole(_ops(*base), ("seq", tuple, (("array", S(1)), ("array", S(2)))))) == 2
    written = _ops(*base, (np.add, (S(2), 1.0), {"out": (S(2),)}, 2, (2,)),
                   (np.add, (S(1), S(2)), {}, 3, ()))
    assert len(peephole(written, ("array", S(3)))) == 4
    viewed = _ops(*base, (np.ndarray.transpose, (S(2),), {}, 3, ()),
                  (np.add, (S(1), 1.0), {"out": (S(3),)}, 3, (3,)), (np.add, (S(1), S(2)), {}, 4, ()))
    assert len(peephole(viewed, ("array", S(4)))) == 5  # written through a view of it
    w = tg.Tensor(np.ones(2))
    asgrad = _ops(*base) + [Op("setgrad", w, (S(2),), effect=True)]
    assert len(peephole(asgrad, ("array", S(1)))) == 3
    # where=: the unselected elements are uninitialised memory, never merged
    masked = _ops((np.exp, (S(0),), {"where": S(5)}, 1, ()), (np.exp, (S(0),), {"where": S(5)}, 2, ()),
                  (np.add, (S(1), S(2)), {}, 3, ()))
    assert len(peephole(masked, ("array", S(3)))) == 3


def test_peephole_drops_an_astype_that_returned_its_argument_only():
    from tinygrad_edu._jit.rewrites import peephole
    from tinygrad_edu._jit.recorder import Slot
    f8 = np.dtype(np.float64)
    ops = _ops((np.ndarray.astype, (Slot(0), f8), {"copy": False}, 0, ()),
               (np.ndarray.astype, (Slot(0), f8), {"copy": False}, 1, ()),  # numpy copied: kept
               (np.add, (Slot(0), Slot(1)), {}, 2, ()))
    assert _fns(peephole(ops, ("array", Slot(2)))) == [(np.ndarray.astype, 1), (np.add, 2)]


@pytest.mark.parametrize("special", [-0.0, np.nan, np.inf, -np.inf])
def test_rewritten_programs_stay_exact_with_signed_zeros_nans_and_infinities(special):
    """A step whose program merges repeated calls (two exp, two casts of the input)
    equals eager bit for bit, on inputs holding -0.0, NaN and infinities."""
    def world():
        w = tg.Tensor(np.array([0.5, -0.0, 2.0]), requires_grad=True)
        opt = optim.SGD([w], lr=0.25)

        def step(x):
            a = (x.astype(np.float64).exp() * w).sum()
            b = (x.astype(np.float64).exp() * w * w).sum()
            loss = a + b
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return w, step

    (w, step), (w2, step2) = world(), world()
    f = tg.jit(step)
    x = tg.Tensor(np.array([special, -0.0, 1.0], dtype=np.float32))
    for _ in range(5):
        with np.errstate(all="ignore"):  # inf - inf in the gradients: NaN, as in eager
            got, want = f(x), step2(x)
        assert np.array_equal(got.data, want.data, equal_nan=True)
        assert np.array_equal(np.signbit(got.data), np.signbit(want.data))
        assert np.array_equal(w.data, w2.data, equal_nan=True)
        assert np.array_equal(np.signbit(w.data), np.signbit(w2.data))
        assert np.array_equal(w.grad.data, w2.grad.data, equal_nan=True)
    body = f.program.split("def program")[1]
    exp = [k for k, d in re.findall(r"^# (k\d+) = (.+)$", f.program, re.M) if d == "np.exp"]
    assert len(re.findall(rf"\b{exp[0]}\(", body)) == 1  # the two exp were merged


def test_scalars_stay_scalars_only_where_a_ufunc_or_guard_reads_them():
    w = tg.Tensor(np.array([1.5, -0.0, 2.0], dtype=np.float32), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)

    def step(x):
        loss = (x * w).sum() * 0.5  # a reduction (a numpy scalar) read by a ufunc
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss, (x * w).sum()  # ...and one returned: a 0-d array, as eager's

    f = tg.jit(step)
    w2 = tg.Tensor(w.data.copy(), requires_grad=True)
    opt2 = optim.SGD([w2], lr=0.5)

    def step2(x):
        loss = (x * w2).sum() * 0.5
        opt2.zero_grad()
        loss.backward()
        opt2.step()
        return loss, (x * w2).sum()

    x = tg.Tensor(np.array([-0.0, np.inf, 3.0], dtype=np.float32))
    for _ in range(4):
        with np.errstate(all="ignore"):
            (a, b), (c, d) = f(x), step2(x)
        for got, want in ((a, c), (b, d)):
            assert type(got.data) is np.ndarray and got.data.dtype == want.data.dtype
            assert np.array_equal(got.data, want.data, equal_nan=True)
        assert np.array_equal(w.data, w2.data, equal_nan=True)
    body = f.program.split("def program")[1]
    assert body.count("_a(") == 2  # the two returned sums; the multiplied one stays a scalar


def test_in_range_is_the_two_label_checks_in_one():
    from tinygrad_edu._jit.rewrites import _in_range
    for dtype in (np.int8, np.int32, np.int64):
        info = np.iinfo(dtype)
        for labels, ok in (([0, 9, 3], True), ([0, 10], False), ([-1, 2], False),
                           ([info.min, 0], False), ([info.max], False), ([9], True)):
            x = np.array(labels, dtype=dtype)
            assert _in_range(x, 10) is ok is bool(x.min() >= 0 and x.max() < 10), (dtype, labels)


@pytest.mark.parametrize("labels, outcome", [
    ([0, 2, 1, 2], "replay"), ([0, -100, 1, 2], "ignored"), ([0, 3, 1, 2], "error"),
    ([0, -1, 1, 2], "error"), ([np.iinfo(np.int64).min, 0, 1, 2], "error")])
def test_merged_label_guards_fall_back_exactly_like_the_separate_ones(labels, outcome):
    def world():
        model = nn.Linear(3, 3, rng=0)
        opt = optim.SGD(model.parameters(), lr=0.5)

        def step(x, y):
            loss = nn.CrossEntropyLoss()(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return model, step

    (m, step), (m2, step2) = world(), world()
    f = tg.jit(step)
    x = tg.Tensor(np.linspace(-1, 1, 12).reshape(4, 3))
    good = tg.Tensor(np.array([0, 1, 2, 0]))
    for _ in range(3):
        assert np.array_equal(f(x, good).data, step2(x, good).data)
    body = f.program.split("def program")[1]
    assert "= _in_range" in f.program and body.count("_guard_failed") == 1  # one merged guard
    y = tg.Tensor(np.array(labels, dtype=np.int64))
    if outcome == "error":
        with pytest.raises(ValueError) as want:
            step2(x, y)
        with pytest.raises(ValueError) as got:
            f(x, y)
        assert str(got.value) == str(want.value)
    else:
        assert np.array_equal(f(x, y).data, step2(x, y).data)
    assert np.array_equal(m.weight.data, m2.weight.data) and np.array_equal(m.bias.data, m2.bias.data)
    assert np.array_equal(f(x, good).data, step2(x, good).data)


def test_large_intermediates_are_dropped_after_their_last_use_and_results_stay_exact():
    def world():
        w = tg.Tensor(np.linspace(-1, 1, 128 * 64).reshape(128, 64), requires_grad=True)
        opt = optim.SGD([w], lr=0.125)

        def step(x):
            h = (x @ w).tanh()          # (64, 64) float64: 32 KiB intermediates
            loss = (h * h).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss, h             # a large slot that is returned: kept

        return w, step

    (w, step), (w2, step2) = world(), world()
    f = tg.jit(step)
    x = tg.Tensor(np.linspace(-2, 2, 64 * 128).reshape(64, 128))
    for _ in range(4):
        (a, h), (b, h2) = f(x), step2(x)
        assert np.array_equal(a.data, b.data) and np.array_equal(h.data, h2.data)
        assert np.array_equal(w.data, w2.data) and np.array_equal(w.grad.data, w2.grad.data)
    assert "\n    del s" in f.program
