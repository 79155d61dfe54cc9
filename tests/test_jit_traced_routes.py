"""Arrays the engine makes from jit-traced ones stay traced, so a replay recomputes them.

A plain copy or view of a traced array (``np.asarray``, ``np.array``) made inside the
library is a constant to the recording: when calls 1 and 2 (the recordings) see the same
values it is replayed stale, silently. Each test makes the recordings agree and the later
calls differ, and compares the replays with eager bit for bit; the sweep does it for every
op of the gradient harness (tests/op_cases*.py).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg

from _jit_helpers import same_bits


_W = tg.Tensor(np.ones(3), requires_grad=True)


@pytest.mark.parametrize("fn", [
    lambda x: x * _W > 3,  # returned
    lambda x: np.greater(x * _W, 3),  # through numpy's dispatch
    lambda x: 3 <= x * _W,
    lambda x: (x * _W >= 3.0) * 0.5,  # then an op with only a Python number
    lambda x: ((x * _W).sum() > 9) + 0,  # 0-d
    lambda x: tg.Tensor._wrap(np.asarray((x * _W).data)[1:]),  # a plain view, returned
], ids=["gt", "np.greater", "reflected", "times-number", "0-d", "plain-view"])
def test_comparisons_are_replayed_not_frozen(fn):
    """The recordings (inputs 1 and 2) give all-False; the replays must follow the input.
    Fault: comparisons made ``np.asarray`` of their traced result, a plain view that the
    recording took for a constant (replayed stale: False for 4, silently); a returned
    plain view of a recorded array was a constant too. Fix: tensor._compare and
    _protocol._compare keep the traced result (ops._common.asarray); arguments._output
    returns such a view as the view the replay makes."""
    f = tg.jit(fn)
    for v in (1.0, 2.0, 4.0, 5.0, 1.0, 4.0):
        x = tg.Tensor(np.full(3, v))
        got, want = f(x), fn(x)
        assert same_bits(got.data, want.data), (v, got, want)
    assert f.cache_info().hits == 4


class _Double(tg.Function):
    @staticmethod
    def forward(ctx, x):
        return x.data * 2  # a numpy array: apply wraps it

    @staticmethod
    def backward(ctx, g):
        return g.data * 2


def _function_output_times_a_number(x):
    _W.grad = None
    y = _Double.apply(x * _W)
    (y * 3.0).sum().backward()  # the rule of `* 3.0` gets the Function's gradient
    return y * 0.5, _W.grad * 1.0


def _backward_with_an_array_gradient(x):
    _W.grad = None
    (x * _W).backward(x.data * 0.5)  # a traced ndarray as the gradient: cast by the engine
    return _W.grad * 1.0


@pytest.mark.parametrize("fn", [_function_output_times_a_number, _backward_with_an_array_gradient])
def test_arrays_the_engine_wraps_stay_traced(fn):
    """Same fault as above in tinygrad_edu.Function (its forward's and backward's arrays
    went through np.asarray) and in backward(gradient=ndarray) (np.asarray, then a plain
    cast). Fix: ops._common.asarray there (function.py, autograd._seed_gradients)."""
    f = tg.jit(fn)
    for v in (1.0, 1.0, 3.0, 4.0, -2.0):
        x = tg.Tensor(np.full(3, v))
        for got, want in zip(f(x), fn(x)):
            assert same_bits(got.data, want.data), (v, got, want)
    assert f.cache_info().hits == 3


# ---- every op of the gradient harness, jitted: replays follow new values ------------------

def _sweep_case(name):
    from hypothesis import HealthCheck
    from op_cases import CASES

    box = {}

    @settings(max_examples=1, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def draw(data):
        box["case"] = data.draw(CASES[name].strategy(np.float64))

    draw()
    return box["case"]


def _op_names():
    from op_cases import CASES
    return sorted(CASES)


@pytest.mark.parametrize("name", _op_names())
def test_every_op_replays_what_eager_computes(name):
    """Each harness op in a jitted step ``sum(op(xs) * w)`` + backward: calls 1 and 2 (the
    recordings) see the same xs and w, later calls others. A value the recording froze
    (a plain copy made inside the library: cumprod's and the LSTM's backward did) is
    replayed stale, silently; refusing to record (TraceError) is allowed here."""
    fn, inputs = _sweep_case(name)
    arrays = [t.data.copy() for t in inputs]
    n = len(arrays)

    def step(*args):
        xs, ws = args[:n], args[n:]
        outs = fn(*xs)
        outs = [o for o in (outs if isinstance(outs, (tuple, list)) else (outs,)) if isinstance(o, tg.Tensor)]
        terms = [(o * w).sum() for o, w in zip(outs, ws) if o.dtype.kind in "fc"]
        if terms and any(t.requires_grad for t in terms):
            sum(terms[1:], terms[0]).backward()
        return tuple(outs) + tuple(x.grad for x in xs if x.grad is not None)

    probe = fn(*[tg.Tensor(a, requires_grad=True) for a in arrays])
    probe = [o for o in (probe if isinstance(probe, (tuple, list)) else (probe,)) if isinstance(o, tg.Tensor)]

    def call(k):
        grow = 1 if k < 2 else 1 + 0.01 * k
        xs = [tg.Tensor(a * grow if a.dtype.kind == "f" else a, requires_grad=True) for a in arrays]
        ws = [tg.Tensor(np.full(o.shape, [1.0, 1.0, 1.5, 0.7, 1.2][k])) for o in probe]
        return xs + ws

    f = tg.jit(step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(5):
            try:
                got = f(*call(k))
            except tg.TraceError:
                assert k < 2, "refused after recording"
                return
            want = step(*call(k))
            assert len(got) == len(want)
            for a, b in zip(got, want):
                assert same_bits(a.data, b.data), f"call {k + 1}: replay differs from eager"
    assert f.cache_info().hits == 3
