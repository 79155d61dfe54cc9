"""Shared helpers of tests/test_jit*.py: run a training step eagerly and jitted, compare every bit.

A *rig* is what one training run needs: ``rig.step(*inputs)`` (the function
to jit: it uses ``rig.model`` and ``rig.opt`` from its scope), and optionally
``rig.gens`` (random generators whose states must advance identically).
``make()`` builds a fresh rig, the same every time it is called (everything
seeded), so the eager run and the jitted run start from identical states.
"""
from __future__ import annotations

import importlib.util
import pathlib
from types import SimpleNamespace

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """``examples/<name>.py`` as a module (the examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"{name}_example_jit", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rig(step, model, opt, gens=()):
    return SimpleNamespace(step=step, model=model, opt=opt, gens=tuple(gens))


def _arrays(out):
    """The numpy arrays of what a step returned (a Tensor, or a tuple/list of them), copied."""
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in _arrays(o)]
    if out is None:
        return [None]
    return [np.array(out.data, copy=True)]


def snapshot(r, out) -> dict:
    """Everything a step leaves behind: outputs, parameters, grads, buffers, optimizer state,
    generator states; arrays copied."""
    snap = {f"out {i}": a for i, a in enumerate(_arrays(out))}
    for name, value in r.model.state_dict().items():  # parameters and buffers
        snap[f"state {name}"] = np.array(value, copy=True)
    for name, p in r.model.named_parameters():
        snap[f"grad {name}"] = None if p.grad is None else np.array(p.grad.data, copy=True)
    if r.opt is not None:
        index = {id(p): f"{i}.{j}" for i, g in enumerate(r.opt.param_groups)
                 for j, p in enumerate(g["params"])}
        for i, g in enumerate(r.opt.param_groups):
            snap[f"group {i}"] = {k: v for k, v in g.items() if k != "params"}
            for p in g["params"]:
                for k, v in r.opt.state.get(p, {}).items():
                    snap[f"opt {index[id(p)]} {k}"] = np.array(v, copy=True)
    for i, gen in enumerate(r.gens):
        snap[f"rng {i}"] = gen.bit_generator.state
    return snap


def same_bits(x, y) -> bool:
    """Equal dtype, shape and bytes: unlike ``np.array_equal``, 0.0 and -0.0 differ (a sign a
    later division or ``copysign`` reveals) and NaNs must carry the same payload."""
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)  # (0-d arrays become 1-d)
    if x.dtype.hasobject:
        return np.array_equal(x, y)
    return np.array_equal(x.view(np.uint8), y.view(np.uint8))


def differences(a: dict, b: dict) -> list:
    """What differs between two snapshots, bit for bit (dtype included)."""
    problems = []
    if set(a) != set(b):
        return [f"keys differ: only eager {sorted(set(a) - set(b))}, only jit {sorted(set(b) - set(a))}"]
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
                problems.append(f"{k}: {type(x).__name__} vs {type(y).__name__}")
            elif x.dtype != y.dtype or x.shape != y.shape or not same_bits(x, y):
                problems.append(f"{k}: not bit for bit equal ({x.dtype}{x.shape} vs {y.dtype}{y.shape})")
        elif x != y:
            problems.append(f"{k}: {x!r} vs {y!r}")
    return problems


def run(make, inputs, steps, *, jit, between=None, carry=False):
    """``steps`` steps of a fresh rig; returns (snapshots, rig, the function called).

    ``inputs(i)`` gives step i's arguments (``inputs(i, previous_output)`` with
    ``carry``: e.g. a recurrent state returned by the step before);
    ``between(rig, i)`` runs before step i (a scheduler step, a hyperparameter
    edit, a mode switch).
    """
    r = make()
    fn = tg.jit(r.step) if jit else r.step
    snaps, out = [], None
    for i in range(steps):
        if between is not None:
            between(r, i)
        out = fn(*(inputs(i, out) if carry else inputs(i)))
        snaps.append(snapshot(r, out))
    return snaps, r, fn


def assert_jit_equals_eager(make, inputs, steps=30, between=None, carry=False):
    """Run eagerly, then jitted (from the same start), and compare after every step.

    Returns the jitted function (to inspect its cache) and the jitted rig.
    """
    eager, _, _ = run(make, inputs, steps, jit=False, between=between, carry=carry)
    jitted, r, fn = run(make, inputs, steps, jit=True, between=between, carry=carry)
    for i, (a, b) in enumerate(zip(eager, jitted)):
        problems = differences(a, b)
        assert not problems, f"step {i + 1} of {steps}: jit differs from eager: " + "; ".join(problems[:6])
    # The comparison is not vacuous: training moved the parameters.
    first, last = eager[0], eager[-1]
    assert any(k.startswith("state") and not np.array_equal(first[k], last[k]) for k in first)
    return fn, r


def batches(arrays, size, *, labels=None):
    """``inputs(i)`` cycling through consecutive batches of ``arrays`` (fresh Tensors each call)."""
    n = len(arrays)

    def inputs(i):
        start = (i * size) % (n - size + 1)
        x = tg.Tensor(arrays[start:start + size])
        if labels is None:
            return (x,)
        return x, tg.Tensor(labels[start:start + size])
    return inputs


def small(seed=0, dtype=np.float64, dropout=False):
    """A 4-6-2 MLP with SGD and a training step ``step(x, y)`` returning the loss."""
    layers = [nn.Linear(4, 6, rng=seed, dtype=dtype), nn.Tanh()]
    layers += [nn.Dropout(0.5, rng=seed)] if dropout else []
    model = nn.Sequential(*layers, nn.Linear(6, 2, rng=seed + 1, dtype=dtype))
    opt = optim.SGD(model.parameters(), lr=0.1)
    return rig(mse_step(model, opt), model, opt)


def mse_step(model, opt):
    """The everyday training step ``step(x, y)`` of ``model`` and ``opt`` (found by the jit
    in its closure): zero_grad, mean squared error, backward, step; returns the loss."""
    def step(x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss
    return step


def data(n=8, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return tg.Tensor(rng.standard_normal((n, 4)).astype(dtype)), tg.Tensor(rng.standard_normal((n, 2)).astype(dtype))
