"""Threads: grad mode and anomaly mode are per thread, and the engine's shared
bookkeeping (node numbering, the in-place write clock and stamps) stays
correct when threads train at the same time.

Python switches threads every 5 ms by default, and numpy releases the GIL in
its larger kernels; to interleave the threads densely, the training tests
lower the switch interval to a microsecond while they run.
"""
import sys
import threading

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor, nn, optim


@pytest.fixture
def dense_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def run_threads(*targets):
    """Run each target in its own thread, started together; re-raise the first error."""
    errors = []
    start = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                start.wait()
                fn()
            except BaseException as err:  # noqa: BLE001 - handed to the main thread
                errors.append(err)
        return run

    threads = [threading.Thread(target=wrap(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class MLP(nn.Module):
    def __init__(self, seed):
        super().__init__()
        self.l1 = nn.Linear(4, 16, rng=seed)
        self.l2 = nn.Linear(16, 1, rng=seed + 1)

    def forward(self, x):
        h = self.l1(x).tanh()
        h *= 0.5                  # recorded in-place op: moves the shared write clock
        h[:, 0] = Square.apply(h[:, 1].clone())  # clone: Square saves it, h changes below
        return self.l2(h)


def train(seed, steps):
    """Train one small MLP; returns (loss history, final parameters), all copies."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((32, 4))
    Y = np.sin(X.sum(axis=1, keepdims=True))
    model = MLP(seed)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(steps):
        opt.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        if step % 7 == 0:
            with tg.detect_anomaly():
                loss.backward()
        else:
            loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 10 == 0:
            with tg.no_grad():
                assert not model(X).requires_grad
    return losses, [p.data.copy() for p in model.parameters()]


def test_training_in_threads_is_bit_identical_to_training_one_after_the_other(dense_switching):
    seeds, steps = (1, 2, 3, 4), 300
    sequential = {s: train(s, steps) for s in seeds}
    results = {}

    def job(s):
        return lambda: results.__setitem__(s, train(s, steps))

    run_threads(*(job(s) for s in seeds))
    for s in seeds:
        losses, params = results[s]
        ref_losses, ref_params = sequential[s]
        assert losses == ref_losses
        assert all(np.array_equal(a, b) for a, b in zip(params, ref_params))


def test_no_grad_in_one_thread_does_not_affect_another():
    inside = threading.Event()
    checked = threading.Event()
    seen = {}

    def infer():
        w = Tensor([1.0, 2.0], requires_grad=True)
        with tg.no_grad():
            inside.set()
            checked.wait(10)
            seen["infer_enabled"] = tg.is_grad_enabled()
            seen["infer_records"] = (w * 2).requires_grad
        seen["infer_after"] = tg.is_grad_enabled()

    def learn():
        inside.wait(10)
        w = Tensor([1.0, 2.0], requires_grad=True)
        seen["learn_enabled"] = tg.is_grad_enabled()
        y = (w * w).sum()
        y.backward()
        seen["learn_grad"] = w.grad.data.copy()
        with tg.enable_grad():   # toggling here must not leak into the other thread
            pass
        checked.set()

    run_threads(infer, learn)
    assert seen == {"infer_enabled": False, "infer_records": False, "infer_after": True,
                    "learn_enabled": True, "learn_grad": seen["learn_grad"]}
    assert np.array_equal(seen["learn_grad"], [2.0, 4.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_anomaly_mode_in_one_thread_does_not_affect_another():
    inside = threading.Event()
    done = threading.Event()
    seen = {}

    def nan_backward():
        x = Tensor([0.0], requires_grad=True)
        return (x.sqrt() * 0).sum()   # d sqrt(0) = inf, times 0: nan

    def checker():
        with tg.detect_anomaly():
            y = nan_backward()
            inside.set()
            done.wait(10)
            with pytest.raises(RuntimeError, match="sqrt"):
                y.backward()
            seen["checker"] = tg.is_anomaly_enabled()

    def other():
        inside.wait(10)
        seen["other"] = tg.is_anomaly_enabled()
        y = nan_backward()
        assert y.grad_fn.where is None   # no stack walk recorded here
        y.backward()                     # no check on this thread: nan passes through
        done.set()

    run_threads(checker, other)
    assert seen == {"checker": True, "other": False}


def test_a_context_manager_instance_shared_by_threads_restores_each_threads_mode():
    shared = tg.no_grad()
    entered = threading.Event()
    left = threading.Event()
    after = {}

    def a():
        with shared:
            entered.set()
            left.wait(10)
        after["a"] = tg.is_grad_enabled()

    def b():
        entered.wait(10)
        with tg.no_grad():
            with shared:     # enters the same instance while grad is already off
                pass
        after["b"] = tg.is_grad_enabled()
        left.set()

    run_threads(a, b)
    assert after == {"a": True, "b": True}


def test_the_same_instance_entered_twice_restores_each_level():
    ng = tg.no_grad()
    with ng:
        with tg.enable_grad():
            with ng:
                assert not tg.is_grad_enabled()
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_a_new_thread_starts_with_grad_on_and_anomaly_off():
    seen = {}

    def probe():
        seen["grad"], seen["anomaly"] = tg.is_grad_enabled(), tg.is_anomaly_enabled()

    with tg.no_grad(), tg.detect_anomaly():
        t = threading.Thread(target=probe)
        t.start()
        t.join()
    assert seen == {"grad": True, "anomaly": False}


def test_concurrent_inplace_writes_and_checks_raise_exactly_when_they_should(dense_switching):
    def work():
        for i in range(300):
            x = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
            h = x * x
            y = h * 3            # reads the old h: routed to its snapshot
            h += x
            if i % 2:
                with tg.no_grad():
                    h.detach()[0] = 5.0   # an untracked write after the recorded one
                (y + h).sum().backward()  # add/mul after: only mul(h*3) reads old h
            else:
                (y + h).sum().backward()
            assert np.array_equal(x.grad.data, 6 * x.data + 2 * x.data + 1)
            z = x * 1
            w = z.sin()
            with tg.no_grad():
                z += 1                      # sin reads z: backward must refuse
            with pytest.raises(RuntimeError, match="'sin'"):
                w.sum().backward()

    run_threads(*(work for _ in range(4)))


def test_inference_on_a_shared_model_from_threads_matches_serial(dense_switching):
    model = MLP(7)
    X = np.random.default_rng(0).standard_normal((16, 4))
    with tg.no_grad():
        expected = model(X).data.copy()
    out = []

    def infer():
        with tg.no_grad():
            for _ in range(50):
                out.append(model(X).data.copy())

    run_threads(*(infer for _ in range(3)))
    assert len(out) == 150 and all(np.array_equal(o, expected) for o in out)
