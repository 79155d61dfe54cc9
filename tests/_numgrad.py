"""Central finite differences for the layer and loss tests (float64).

A local helper until a shared gradcheck harness exists. ``check_grads``
compares the gradient autograd gives for ``sum(w * fn(*inputs))`` (a random
cotangent ``w``, so every output element counts with a different weight)
with ``(f(x + h) - f(x - h)) / 2h`` element by element; ``check_second_order``
does the same for the gradient itself, built with ``create_graph=True``.
"""
from __future__ import annotations

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import Tensor


def _cotangent(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _numeric(f, arrays, i, eps):
    """d f / d arrays[i] by central differences; f maps a list of arrays to a float."""
    base = [np.array(a, dtype=np.float64) for a in arrays]
    x = base[i]
    out = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        old = x[j]
        x[j] = old + eps
        hi = f(base)
        x[j] = old - eps
        lo = f(base)
        x[j] = old
        out[j] = (hi - lo) / (2 * eps)
    return out


def check_grads(fn, *arrays, wrt=None, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0):
    """Assert that autograd's gradients of ``fn`` match central differences.

    ``fn`` takes Tensors (one per array) and returns a Tensor. ``wrt`` lists
    the indices of the inputs to check (default: all). Returns the analytic
    gradients.
    """
    wrt = range(len(arrays)) if wrt is None else wrt
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    ts = [Tensor(a, requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    out = fn(*ts)
    w = _cotangent(out.shape, seed)
    (out * w).sum().backward()

    def f(arrs):
        with tg.no_grad():
            return float((np.asarray(fn(*[Tensor(a) for a in arrs]).data) * w).sum())

    grads = []
    for i in wrt:
        num = _numeric(f, arrays, i, eps)
        got = ts[i].grad.data
        assert got.shape == arrays[i].shape and got.dtype == np.float64
        np.testing.assert_allclose(got, num, atol=atol, rtol=rtol, err_msg=f"gradient of input {i}")
        grads.append(got)
    return grads


def check_second_order(fn, *arrays, wrt=0, eps=1e-5, atol=1e-5, rtol=1e-4, seed=0):
    """Assert that the create_graph gradient of ``fn`` w.r.t. input ``wrt`` is itself
    differentiated correctly (a Hessian-vector product against finite
    differences of the first gradient)."""
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    w = None

    def first_grad(arrs, create_graph):
        nonlocal w
        ts = [Tensor(a, requires_grad=(i == wrt)) for i, a in enumerate(arrs)]
        out = fn(*ts)
        if w is None:
            w = _cotangent(out.shape, seed)
        (g,) = tg.grad((out * w).sum(), ts[wrt], create_graph=create_graph)
        return ts[wrt], g

    x, g = first_grad(arrays, True)
    v = _cotangent(g.shape, seed + 1)
    (hv,) = tg.grad((g * v).sum(), x)

    def f(arrs):
        return float((first_grad(arrs, False)[1].data * v).sum())

    num = _numeric(f, arrays, wrt, eps)
    np.testing.assert_allclose(hv.data, num, atol=atol, rtol=rtol, err_msg="second-order gradient")
