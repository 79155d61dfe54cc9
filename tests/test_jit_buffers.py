"""The replay's buffers (tinygrad_edu/_jit/buffers.py) and the module structure counter
that stands for the modules in the per-call check (fastcheck.py, nn/module.py)."""
import sys
import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from _jit_helpers import mse_step
from tinygrad_edu import nn, optim
from tinygrad_edu.nn.module import STRUCTURE


def _net(seed=0):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def test_small_intermediates_are_written_into_buffers_and_the_results_stay_fresh():
    net = _net()

    @tg.jit
    def f(x):
        return (net(x) ** 2).sum(), net(x) * 2

    x = tg.Tensor(np.random.default_rng(0).standard_normal((4, 3)))
    outs = [f(x) for _ in range(5)]
    assert " b" in f.program and "buffers" in f.program  # the program writes into buffers
    # each call's returned arrays are its own: a later replay does not overwrite them
    want = (net(x) ** 2).sum().data, (net(x) * 2).data
    for loss, y in outs:
        assert np.array_equal(loss.data, want[0]) and np.array_equal(y.data, want[1])
    assert outs[2][1].data is not outs[3][1].data


def test_two_threads_replaying_one_program_get_their_own_results():
    net = _net()

    @tg.jit
    def f(x):
        h = net(x)
        return (h * h).sum(axis=1)

    rng = np.random.default_rng(1)
    xs = [tg.Tensor(rng.standard_normal((4, 3))) for _ in range(2)]
    want = [((net(x) * net(x)).sum(axis=1)).data for x in xs]
    for x in xs * 2:
        f(x)  # recorded (and a first replay) before the threads start
    errors = []

    def run(k):
        for _ in range(1500):
            got = f(xs[k]).data
            if not np.array_equal(got, want[k]):
                errors.append((k, got))
                return

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, inside replays too
    try:
        threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors


def _train(jit):
    net = _net()
    opt = optim.SGD(net.parameters(), lr=0.1)
    x = tg.Tensor(np.random.default_rng(2).standard_normal((4, 3)))
    y = tg.Tensor(np.random.default_rng(3).standard_normal((4, 2)))
    step = mse_step(net, opt)
    return net, (tg.jit(step) if jit else step), x, y


def test_module_changes_between_replays_are_seen():
    """Changes made through Module's routes (setattr, registration, train/eval, the
    parameter dicts) count in STRUCTURE: the next call does not replay a stale program."""
    changes = [
        lambda net: (tg.manual_seed(5), net.__setattr__("extra", nn.Linear(2, 2))),  # appended
        lambda net: net[0]._parameters.__setitem__("bias", None),   # a dict write
        lambda net: net[2].eval(),                                  # a training flag
        lambda net: net._modules.move_to_end("1"),                  # order of the Sequential
    ]
    for change in changes:
        (net_e, eager, x, y), (net_j, jitted, _, _) = _train(False), _train(True)
        for _ in range(4):
            assert np.array_equal(eager(x, y).data, jitted(x, y).data)
        before = STRUCTURE[0]
        change(net_e), change(net_j)
        assert STRUCTURE[0] > before
        for _ in range(3):
            a = eager(x, y).data
            b = jitted(x, y).data
            assert a.shape == b.shape and np.array_equal(a, b)
        for p, q in zip(net_e.parameters(), net_j.parameters()):
            assert np.array_equal(p.data, q.data)


def test_train_called_every_step_keeps_the_fast_path():
    net, step, x, y = _train(True)
    for _ in range(3):
        net.train()
        step(x, y)
    fast = step._fast
    before = STRUCTURE[0]
    for _ in range(5):
        net.train()  # already training: nothing changes, nothing counted
        step(x, y)
    assert STRUCTURE[0] == before and step._fast is fast and fast is not None


def test_replayed_sgd_stamps_its_writes_also_after_a_parameter_is_rebound():
    """The program's mark_tensors_modified keeps the parameters' stamp entries between
    replays (inplace.TensorsMarker): a graph recorded before a replayed update refuses
    to back-propagate, before and after a parameter's .data is given another array."""
    net = nn.Linear(3, 1, rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)

    @tg.jit
    def step(x):
        opt.zero_grad()
        loss = net(x).sum()
        loss.backward()
        opt.step()
        return loss

    x = tg.Tensor(np.ones((2, 3)))
    for rebind in (False, False, True, False):
        for _ in range(3):
            step(x)
        if rebind:
            net.weight.data = net.weight.data.copy()
        kept = (net(x) * 1.0).sum()
        step(x)
        with pytest.raises(RuntimeError, match="modified"):
            kept.backward()
