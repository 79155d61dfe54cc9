"""W2 and W3: one training step of a ReLU MLP with cross-entropy loss, float32.

W2 is 64 -> 128 -> 10 with batch 64: small matrices, so per-op overhead
still matters. W3 is 784 -> 1024 -> 1024 -> 10 with batch 512: the matrix
products dominate, and a framework can at best tie with hand-written numpy.
W5 measures the peak memory of one W3 step with the trainers defined here.

Loss: mean over the batch of ``-log softmax(logits)[label]`` (integer
labels), i.e. PyTorch's ``F.cross_entropy``. Update: plain SGD,
``p -= lr * grad``. Weights start from the same arrays in every contender
(PyTorch's default init, U(-k, k) with k = 1/sqrt(fan_in)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .harness import Trainer, compare, to_float

LR = 0.1


@dataclass(frozen=True)
class Problem:
    """Inputs ``x`` (batch, sizes[0]) float32, ``labels`` (batch,) int64, and initial
    ``params``: a list of (weight (n_in, n_out), bias (n_out,)) float32 pairs."""

    x: np.ndarray
    labels: np.ndarray
    params: list


def make_problem(sizes, batch, seed=0) -> Problem:
    """A random classification batch and initial weights for an MLP of layer ``sizes``."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    labels = rng.integers(0, sizes[-1], batch)
    params = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        k = 1 / np.sqrt(n_in)
        params.append((rng.uniform(-k, k, (n_in, n_out)).astype(np.float32),
                       rng.uniform(-k, k, n_out).astype(np.float32)))
    return Problem(x, labels, params)


W2 = dict(name="W2 MLP 64-128-10, ReLU, cross-entropy, batch 64, SGD (float32): one training step",
          sizes=(64, 128, 10), batch=64, check_steps=3)
W3 = dict(name="W3 MLP 784-1024-1024-10, ReLU, cross-entropy, batch 512, SGD (float32): one training step",
          sizes=(784, 1024, 1024, 10), batch=512, check_steps=1)


def numpy_by_hand(problem: Problem, lr=LR) -> Trainer:
    """The reference: forward and backward written out in numpy, blog style."""
    params = [(w.copy(), b.copy()) for w, b in problem.params]
    x, labels = problem.x, problem.labels
    n = len(x)
    rows = np.arange(n)

    def step():
        # Forward, keeping each layer's input for the backward pass.
        hs = [x]
        for w, b in params[:-1]:
            hs.append(np.maximum(hs[-1] @ w + b, 0))
        w, b = params[-1]
        logits = hs[-1] @ w + b
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        loss = -(shifted[rows, labels] - np.log(s[:, 0])).mean()
        # Backward: d loss / d logits = (softmax - one_hot(labels)) / n.
        d = e / s
        d[rows, labels] -= 1
        d /= n
        for i in reversed(range(len(params))):
            w, b = params[i]
            dw = hs[i].T @ d
            db = d.sum(axis=0)
            if i:
                d = (d @ w.T) * (hs[i] > 0)  # relu'(z) = 1 where relu(z) > 0
            w -= lr * dw
            b -= lr * db
        return loss

    def reset():
        for (w, b), (w0, b0) in zip(params, problem.params):
            w[...], b[...] = w0, b0

    return Trainer(step, lambda: _flat(params), reset)


def _flat(params):
    out = {}
    for i, (w, b) in enumerate(params):
        out[f"w{i}"], out[f"b{i}"] = w, b
    return out


def tinygrad_edu_mlp(problem: Problem, jit=False) -> Trainer:
    """nn.Linear layers with ``.relu()``, cross-entropy, optim.SGD.

    Uses ``nn.CrossEntropyLoss`` when tinygrad_edu has it, else
    ``-log_softmax(logits)[arange(n), labels].mean()``. ``jit``: the step
    ``train_step(x, labels)`` wrapped in ``tinygrad_edu.jit``, the labels an
    int64 Tensor input (the everyday form).
    """
    import tinygrad_edu as tg
    from tinygrad_edu import nn, optim

    layers = [nn.Linear(*w.shape, rng=0, dtype=np.float32) for w, _ in problem.params]

    def reset():
        for layer, (w, b) in zip(layers, problem.params):
            layer.weight.data[...], layer.bias.data[...] = w, b

    reset()
    opt = optim.SGD([p for layer in layers for p in layer.parameters()], lr=LR)
    x, labels = tg.Tensor(problem.x), problem.labels
    loss_fn = tinygrad_edu_cross_entropy(len(labels))

    def train_step(x, labels):
        opt.zero_grad()
        h = x
        for layer in layers[:-1]:
            h = layer(h).relu()
        loss = loss_fn(layers[-1](h), labels)
        loss.backward()
        opt.step()
        return loss

    if jit:
        train_step, labels = tg.jit(train_step), tg.Tensor(labels)
    return Trainer(lambda: train_step(x, labels), lambda: _flat([(layer.weight.data, layer.bias.data) for layer in layers]),
                   reset)


def tinygrad_edu_cross_entropy(n):
    """The loss function the tinygrad_edu contender uses (see :func:`tinygrad_edu_mlp`)."""
    from tinygrad_edu import nn

    if hasattr(nn, "CrossEntropyLoss"):
        return nn.CrossEntropyLoss()
    rows = np.arange(n)

    def cross_entropy(logits, labels):
        logp = logits.log_softmax(axis=-1)
        return -logp[rows, labels].mean()

    return cross_entropy


def cross_entropy_variant() -> str:
    """Which cross-entropy the tinygrad_edu contender uses, for the report."""
    from tinygrad_edu import nn

    return ("nn.CrossEntropyLoss" if hasattr(nn, "CrossEntropyLoss")
            else "log_softmax + integer-array indexing")


def torch_mlp(torch, problem: Problem) -> Trainer:
    """The same MLP in PyTorch: nn.Linear/nn.ReLU in nn.Sequential, F.cross_entropy, SGD."""
    nn = torch.nn
    linears = [nn.Linear(*w.shape) for w, _ in problem.params]

    def reset():
        with torch.no_grad():
            for layer, (w, b) in zip(linears, problem.params):
                layer.weight.copy_(torch.from_numpy(w.T))
                layer.bias.copy_(torch.from_numpy(b))

    reset()
    mods = [m for layer in linears for m in (layer, nn.ReLU())]
    model = nn.Sequential(*mods[:-1])
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, labels = torch.from_numpy(problem.x), torch.from_numpy(problem.labels)
    cross_entropy = torch.nn.functional.cross_entropy

    def step():
        opt.zero_grad()
        loss = cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        return loss

    def state():
        return _flat([(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linears])

    return Trainer(step, state, reset)


def results_of(problem, steps):
    """A function giving a trainer's first loss and its parameter updates after ``steps`` steps.

    The updates (parameters minus their initial values) are compared rather
    than the parameters themselves: with a small learning rate the
    parameters barely move, and a wrong gradient would hide in them.
    """
    init = _flat(problem.params)

    def results(trainer):
        out = {"loss": to_float(trainer.step())}
        for _ in range(steps - 1):
            trainer.step()
        for k, v in trainer.state().items():
            out["update " + k] = np.asarray(v, dtype=np.float64) - init[k]
        return out

    return results


def compare_to_reference(name, got, want):
    # float32 summed in different orders (BLAS blocking) differs by ~1e-6
    # relative; an update element near zero is judged on its array's scale.
    def split(r):
        return {"loss": r["loss"]}, {k: v for k, v in r.items() if k != "loss"}

    (got_loss, got_updates), (want_loss, want_updates) = split(got), split(want)
    return (compare(got_loss, want_loss, rtol=1e-5, atol_frac=0)
            + compare(got_updates, want_updates, rtol=1e-3, atol_frac=1e-4))
