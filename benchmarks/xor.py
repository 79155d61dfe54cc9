"""W1: one training iteration of the blog's 3-layer XOR network.

"A Neural Network in 11 lines of Python" (iamtrask, 2015), part 2: inputs
X (4x3) -> 4 sigmoid units -> 1 sigmoid unit, loss 0.5 * sum((y - out)**2),
gradient descent with lr = 1, written as ``syn += l.T.dot(delta)``. The
network is so small that the time is all per-op overhead: this workload
measures what a framework costs around numpy.

tinygrad_edu reproduces the blog's arithmetic exactly, so its weights must
equal the reference's bit for bit; PyTorch only to rounding.
"""
from __future__ import annotations

import numpy as np

from .harness import Trainer, compare

NAME = "W1 XOR net 3-4-1, sigmoid, 0.5*SSE, SGD lr=1 (float64): one training iteration"
CHECK_ITERATIONS = 100

#: The blog's inputs (the third column is a bias input) and XOR targets.
X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
Y = np.array([[0], [1], [1], [0]])


def initial_weights():
    """The blog's ``np.random.seed(1)``; ``syn = 2*np.random.random(shape) - 1``, without global state."""
    rs = np.random.RandomState(1)
    return 2 * rs.random_sample((3, 4)) - 1, 2 * rs.random_sample((4, 1)) - 1


def numpy_blog():
    """The reference: the blog's code, verbatim apart from Python 3 spelling."""
    syn0, syn1 = initial_weights()

    def nonlin(x, deriv=False):
        if deriv:
            return x * (1 - x)
        return 1 / (1 + np.exp(-x))

    def step():
        nonlocal syn0, syn1  # the blog updates them with +=
        l0 = X
        l1 = nonlin(np.dot(l0, syn0))
        l2 = nonlin(np.dot(l1, syn1))
        l2_error = Y - l2
        l2_delta = l2_error * nonlin(l2, deriv=True)
        l1_error = l2_delta.dot(syn1.T)
        l1_delta = l1_error * nonlin(l1, deriv=True)
        syn1 += l1.T.dot(l2_delta)
        syn0 += l0.T.dot(l1_delta)
        return l2_error

    def reset():
        syn0[...], syn1[...] = initial_weights()

    return Trainer(step, lambda: {"syn0": syn0, "syn1": syn1}, reset)


def tinygrad_edu_net(jit=False):
    """nn.Sequential of Linear(bias=False) and Sigmoid, optim.SGD(lr=1).

    ``jit``: the training step ``train_step(x, y)`` wrapped in ``tinygrad_edu.jit``
    (calls 1 and 2 record, later calls replay).
    """
    import tinygrad_edu as tg
    from tinygrad_edu import nn, optim

    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid(),
                        nn.Linear(4, 1, bias=False), nn.Sigmoid())
    def reset():
        for layer, w in zip((net[0], net[2]), initial_weights()):
            layer.weight.data[...] = w

    reset()
    opt = optim.SGD(net.parameters(), lr=1.0)
    x, y = tg.Tensor(X), tg.Tensor(Y)

    def train_step(x, y):
        opt.zero_grad()
        loss = 0.5 * ((y - net(x)) ** 2).sum()
        loss.backward()
        opt.step()
        return loss

    if jit:
        train_step = tg.jit(train_step)
    return Trainer(lambda: train_step(x, y),
                   lambda: {"syn0": net[0].weight.data, "syn1": net[2].weight.data}, reset)


def torch_net(torch):
    """The same network in PyTorch (float64; weights stored transposed, as PyTorch does)."""
    nn = torch.nn
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid(),
                        nn.Linear(4, 1, bias=False), nn.Sigmoid()).double()

    def reset():
        with torch.no_grad():
            for layer, w in zip((net[0], net[2]), initial_weights()):
                layer.weight.copy_(torch.from_numpy(w.T))

    reset()
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    x = torch.tensor(X, dtype=torch.float64)
    y = torch.tensor(Y, dtype=torch.float64)

    def step():
        opt.zero_grad()
        loss = 0.5 * ((y - net(x)) ** 2).sum()
        loss.backward()
        opt.step()
        return loss

    def state():
        return {"syn0": net[0].weight.detach().numpy().T.copy(),
                "syn1": net[2].weight.detach().numpy().T.copy()}

    return Trainer(step, state, reset)


def results(trainer):
    """The weights after CHECK_ITERATIONS iterations from the blog's initial weights."""
    for _ in range(CHECK_ITERATIONS):
        trainer.step()
    return {k: np.array(v, copy=True) for k, v in trainer.state().items()}


def compare_to_reference(name, got, want):
    # tinygrad_edu promises the blog's exact numbers; PyTorch's sigmoid rounds differently.
    if name.startswith("tinygrad_edu"):  # eager and jit
        return compare(got, want, exact=True)
    return compare(got, want, rtol=1e-9, atol_frac=1e-12)
