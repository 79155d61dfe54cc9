"""W4: the cost of one recorded op, from a long chain of elementwise ops on a 1-element tensor.

The chain alternates ``x = x * 1.0001`` and ``x = x + 0.0001``. On one
element numpy's arithmetic is nearly free, so the time per op is the
framework's bookkeeping: creating the result, recording the node, and in
the backward pass walking the graph and applying the rule. Forward and
backward are timed separately and divided by the number of ops.

The reference is a plain numpy tape (:class:`Tape`): the least a
reverse-mode autodiff in Python can do, one closure per op appended to a
list and called in reverse. The same chain at 10^4, 10^5 and 10^6 ops
shows whether the time grows linearly with the length (no recursion, no
quadratic bookkeeping).
"""
from __future__ import annotations

import numpy as np

from .harness import elapsed, stamp

NAME = "W4 chain of x*1.0001, x+0.0001 on 1 element (float64): time per op"
MUL, ADD = 1.0001, 0.0001


class Var:
    """A value on the tape and its gradient (None until the backward pass reaches it)."""

    __slots__ = ("value", "grad")

    def __init__(self, value):
        self.value = value
        self.grad = None


class Tape:
    """A minimal reverse-mode autodiff: a list of closures, run backwards.

    Each op computes its value with numpy and appends a closure that adds
    the op's vector-Jacobian product into its input's ``grad``.
    """

    def __init__(self):
        self.backs = []

    def mul(self, x: Var, c: float) -> Var:
        out = Var(x.value * c)
        self.backs.append(lambda: _accumulate(x, out.grad * c))
        return out

    def add(self, x: Var, c: float) -> Var:
        out = Var(x.value + c)
        self.backs.append(lambda: _accumulate(x, out.grad))
        return out

    def backward(self, y: Var):
        y.grad = np.ones_like(y.value)
        for back in reversed(self.backs):
            back()


def _accumulate(x, g):
    x.grad = g if x.grad is None else x.grad + g


def numpy_tape(n):
    """The reference: the chain on a :class:`Tape`."""
    tape = Tape()
    x0 = x = Var(np.array([1.0]))
    t0 = stamp()
    for _ in range(n // 2):
        x = tape.mul(x, MUL)
        x = tape.add(x, ADD)
    fwd = elapsed(t0)
    t1 = stamp()
    tape.backward(x)
    return dict(fwd=fwd, bwd=elapsed(t1), value=x.value, grad=x0.grad)


def tinygrad_edu_chain(n):
    """The chain on a tinygrad_edu Tensor, then ``backward()``."""
    import tinygrad_edu as tg

    x0 = x = tg.Tensor(np.array([1.0]), requires_grad=True)
    t0 = stamp()
    for _ in range(n // 2):
        x = x * MUL
        x = x + ADD
    fwd = elapsed(t0)
    t1 = stamp()
    x.backward()
    return dict(fwd=fwd, bwd=elapsed(t1), value=x.data, grad=x0.grad.data)


def torch_chain(torch, n):
    """The chain on a torch tensor, then ``backward()``."""
    x0 = x = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    t0 = stamp()
    for _ in range(n // 2):
        x = x * MUL
        x = x + ADD
    fwd = elapsed(t0)
    t1 = stamp()
    x.backward()
    return dict(fwd=fwd, bwd=elapsed(t1), value=x.detach().numpy().copy(),
                grad=x0.grad.numpy().copy())


def exact_gradient(n):
    """d x_n / d x_0 = 1.0001 ** (n/2): each multiply scales it, each add leaves it."""
    return MUL ** (n // 2)


def per_op_sampler(chain, n):
    """A sampler for :func:`harness.interleave`: ``{"fwd", "bwd"}`` seconds per op."""
    def sample():
        r = chain(n)
        return {"fwd": r["fwd"] / n, "bwd": r["bwd"] / n}
    return sample
