"""No leaks: graphs are freed by reference counting as soon as nothing needs them.

A graph holds its inputs (node -> input tensors) but nothing points back from
a tensor's inputs to it, so there are no reference cycles: dropping the last
reference to an output frees its whole graph at once, without waiting for the
garbage collector. The tests switch the collector off and check, with weak
references, that tensors die by reference counting alone, then that
``gc.collect()`` finds nothing left to collect.
"""
import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor, inplace, nn, optim
from tinygrad_edu import functional as F
from tinygrad_edu._mode import mode


@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


from _functions import Cube  # noqa: E402  (shared with other test files)


class Split(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        return 2 * g1 + 3 * g2


def _plain(x):
    return (x * 2).exp().sum()


def _retained(x):
    y = (x * 2).exp().sum()
    y.backward(retain_graph=True)
    return y


def _second_order(x):
    y = (x * x).sin().sum()
    (g,) = tg.grad(y, x, create_graph=True)
    g.sum().backward()
    return g


def _function(x):
    return Cube.apply(x).sum()


def _function_two_outputs(x):
    a, b = Split.apply(x)
    return (a * b).sum()


def _function_second_order(x):
    (g,) = tg.grad(Cube.apply(x).sum(), x, create_graph=True)
    return g


def _inplace(x):
    h = x * 1
    h += 1
    h[0] = x[1]
    return h.sum()


def _inplace_from_itself(x):
    h = x * 1
    h += (h * 2).sin()    # the operand's graph consumed h: rerouted, no cycle
    return h


def _hooks(x):
    h = x * 1
    h.register_hook(lambda g: g * 2)
    h.retain_grad()
    y = h.sum()
    y.backward()
    return h


def _anomaly(x):
    with tg.detect_anomaly():
        y = (x * 2).sum()
        y.backward()
    return y


def _functional(x):
    return F.hessian(lambda a: (a ** 3).sum(), x)


def _module_and_optimizer(x):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Sigmoid(), nn.Linear(3, 1, rng=1))
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    y = model(x.reshape(1, 2)).sum()
    y.backward()
    opt.step()
    return y


BUILDERS = [_plain, _retained, _second_order, _function, _function_two_outputs,
            _function_second_order, _inplace, _inplace_from_itself, _hooks, _anomaly,
            _functional, _module_and_optimizer]


@pytest.mark.parametrize("build", BUILDERS, ids=lambda f: f.__name__.strip("_"))
def test_graphs_are_freed_by_reference_counting_alone(no_gc, build):
    x = leaf([0.5, 1.5])
    out = build(x)
    ref = weakref.ref(out)
    del out
    assert ref() is None          # freed by refcount, the collector is off
    x.grad = None                 # a create_graph .grad holds a graph (see below)
    del x
    assert gc.collect() == 0      # and no cycle was left behind


def test_backward_frees_intermediate_values_while_the_output_is_still_alive(no_gc):
    x = leaf(np.ones(1000))
    e = x.exp()
    ref = weakref.ref(e)
    y = e.sum()
    del e
    assert ref() is not None      # y's graph needs it
    y.backward()
    assert ref() is None          # released by backward, though y is alive
    assert y.grad_fn is not None  # the node remains, emptied


def test_retained_graph_is_freed_when_its_output_goes_out_of_scope(no_gc):
    x = leaf(np.ones(10))
    e = x.exp()
    ref = weakref.ref(e)
    y = e.sum()
    del e
    y.backward(retain_graph=True)
    assert ref() is not None
    del y
    assert ref() is None


def test_grad_never_keeps_a_graph_alive_without_create_graph(no_gc):
    x = leaf(np.ones(10))
    e = x.exp()
    ref = weakref.ref(e)
    y = (e * e).sum()
    del e
    y.backward(retain_graph=True)
    del y
    assert ref() is None
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_create_graph_grad_holds_its_graph_until_cleared(no_gc):
    x = leaf(np.ones(10))
    e = x.sin()
    ref = weakref.ref(e)
    y = (e * e).sum()
    del e
    y.backward(create_graph=True)   # as in PyTorch: x.grad's graph refers to x
    del y
    assert x.grad.grad_fn is not None and ref() is not None
    x.grad = None                   # the documented way to release it
    assert ref() is None
    assert gc.collect() == 0


def test_write_stamps_and_mode_state_do_not_accumulate():
    before = len(inplace._stamps)
    for _ in range(500):
        t = Tensor(np.zeros(3))
        t += 1
        h = leaf([1.0]) * 1
        h += 1
        with tg.no_grad(), tg.detect_anomaly():
            pass
    del t, h
    assert len(inplace._stamps) <= before + 1
    assert mode.saved == {}


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = nn.Linear(3, 8, rng=0)
        self.l2 = nn.Linear(8, 1, rng=1)

    def forward(self, x):
        h = self.l1(x).tanh()
        h *= 0.5                       # recorded in-place op
        h[:, 0] = Cube.apply(h[:, 1].clone())
        return self.l2(h).sigmoid()


def _training_growth(model, warmup, steps):
    """Bytes still allocated after ``steps`` training steps beyond those after ``warmup``.

    The warm-up is long because Python's free lists (tuples, floats) keep
    freed objects for reuse, which tracemalloc counts as allocated until the
    lists are full (about a thousand steps here); after that, memory must
    stay flat.
    """
    rng = np.random.default_rng(0)
    X = rng.standard_normal((8, 3))
    Y = (X.sum(axis=1, keepdims=True) > 0).astype(np.float64)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step():
        opt.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        opt.step()

    tracemalloc.start()
    try:
        for _ in range(warmup):        # free lists, caches, momentum buffers
            step()
        base, _ = tracemalloc.get_traced_memory()
        for i in range(steps):
            step()
            if i % 500 == 0:
                with tg.no_grad():
                    model(X)
        now, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return now - base


def test_ten_thousand_training_steps_keep_memory_flat():
    model = nn.Sequential(nn.Linear(3, 8, rng=0), nn.Sigmoid(), nn.Linear(8, 1, rng=1))
    growth = _training_growth(model, 3000, 7000)
    # A leak of one small array or node per step would add >= 7000 * 100 bytes.
    assert growth < 32 * 1024, f"memory grew by {growth} bytes over 7000 steps"


def test_training_with_inplace_ops_and_functions_keeps_memory_flat():
    growth = _training_growth(_Net(), 1200, 600)
    assert growth < 8 * 1024, f"memory grew by {growth} bytes over 600 steps"
