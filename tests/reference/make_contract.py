"""Regenerate contract.npz: PyTorch's values and gradients for the contract/decomp ops (float64).

Needs PyTorch (``pip install torch==2.13.0``); the tests only read the .npz.
Run from the repository root: ``python tests/reference/make_contract.py``.

CASES names each configuration: (op, input arrays, keyword arguments). For
each we store the inputs, the outputs, a random cotangent per output and the
gradient of ``sum(out * cotangent)`` for every input
(tests/test_contract_linalg.py calls our function of the same op and
arguments and compares). Eigenvector and singular-vector outputs are squared
(``V * V``): LAPACK's signs are a convention, their squares are not.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch

rng = np.random.default_rng(0)


def r(*shape):
    return rng.uniform(-2.0, 2.0, shape)


def spd(n, batch=()):
    x = r(*batch, n, n)
    return x @ np.swapaxes(x, -1, -2) + n * np.eye(n)


def separated(m, n, batch=()):
    """A perturbed diag(1, 4, 7, ...): distinct singular values / eigenvalues."""
    d = np.zeros((m, n))
    k = min(m, n)
    d[np.arange(k), np.arange(k)] = 1.0 + 3.0 * np.arange(k)
    return 0.2 * r(*batch, m, n) + d


def symmetric(n, batch=()):
    a = separated(n, n, batch)
    return 0.5 * (a + np.swapaxes(a, -1, -2))


INF = float("inf")

# name -> (op, inputs, kwargs)
CASES = {
    "bmm": ("bmm", [r(2, 3, 4), r(2, 4, 2)], {}),
    "bmm_empty": ("bmm", [r(2, 0, 3), r(2, 3, 2)], {}),
    "norm_fro": ("norm", [r(2, 3, 4)], dict(p="fro")),
    "norm_fro_dims": ("norm", [r(2, 3, 4)], dict(p="fro", dim=[0, 2], keepdim=True)),
    "norm_2_matrix": ("norm", [r(3, 4)], dict(p=2)),
    "norm_1_dims": ("norm", [r(2, 3, 4)], dict(p=1, dim=[0, 2])),
    "norm_3_dim": ("norm", [r(2, 3, 4)], dict(p=3, dim=1)),
    "norm_half": ("norm", [r(5)], dict(p=0.5)),
    "norm_inf": ("norm", [r(2, 3)], dict(p=INF, dim=1, keepdim=True)),
    "norm_neg_inf": ("norm", [r(2, 3)], dict(p=-INF)),
    "norm_nuc": ("norm", [separated(3, 2)], dict(p="nuc")),
    "norm_nuc_dims": ("norm", [separated(3, 2, (2,))], dict(p="nuc", dim=[1, 2], keepdim=True)),
    "norm_zero_vector": ("norm", [np.zeros(3)], dict(p=2)),
    "norm_zero_fro": ("norm", [np.zeros((2, 2))], dict(p="fro")),
    "diagonal": ("diagonal", [r(3, 4)], {}),
    "diagonal_offset": ("diagonal", [r(2, 3, 4)], dict(offset=1, dim1=2, dim2=0)),
    "diagonal_neg": ("diagonal", [r(4, 3, 2)], dict(offset=-2, dim1=0, dim2=1)),
    "einsum_matmul": ("einsum", [r(2, 3), r(3, 4)], dict(equation="ij,jk->ik")),
    "einsum_trace": ("einsum", [r(3, 3)], dict(equation="ii")),
    "einsum_diag": ("einsum", [r(3, 3)], dict(equation="ii->i")),
    "einsum_batch": ("einsum", [r(2, 2, 3), r(3, 4)], dict(equation="...ij,jk->...ik")),
    "einsum_three": ("einsum", [r(2, 3), r(3, 4), r(4, 2)], dict(equation="ij,jk,kl->il")),
    "einsum_implicit": ("einsum", [r(2, 3), r(3, 2)], dict(equation="ij,jk")),
    "einsum_mixed": ("einsum", [r(3, 3, 2), r(2, 3)], dict(equation="iij,ji->j")),
    "trace": ("trace", [r(3, 4)], {}),
    "tensordot": ("tensordot", [r(2, 3, 4), r(4, 3, 2)], dict(dims=[[1, 2], [1, 0]])),
    "kron": ("kron", [r(2, 3), r(2, 2)], {}),
    "inner": ("inner", [r(2, 3), r(4, 3)], {}),
    "outer": ("outer", [r(3), r(2)], {}),
    "dot": ("dot", [r(4), r(4)], {}),
    "det": ("det", [separated(3, 3, (2,))], {}),
    "slogdet": ("slogdet", [r(2, 3, 3)], {}),
    "inv": ("inv", [separated(3, 3)], {}),
    "cholesky": ("cholesky", [spd(3, (2,))], {}),
    "cholesky_upper": ("cholesky", [spd(3)], dict(upper=True)),
    "solve_matrix": ("solve", [separated(3, 3, (2,)), r(2, 3, 2)], {}),
    "solve_vector": ("solve", [separated(3, 3), r(3)], {}),
    "solve_vector_batched_a": ("solve", [separated(3, 3, (2,)), r(3)], {}),
    "eigh": ("eigh", [symmetric(3, (2,))], {}),
    "eigvalsh": ("eigvalsh", [symmetric(4)], {}),
    "svd_tall": ("svd", [separated(4, 3)], {}),
    "svd_wide_batch": ("svd", [separated(2, 3, (2,))], {}),
    "svdvals": ("svdvals", [separated(3, 2)], {}),
}


def _dims(kwargs):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def torch_op(op, ts, kw):
    kw = _dims(kw)
    L = torch.linalg
    if op == "einsum":
        return torch.einsum(kw["equation"], *ts)
    if op == "slogdet":
        sign, logabs = L.slogdet(ts[0])
        return sign * logabs
    if op == "eigh":
        w, V = L.eigh(ts[0])
        return w, V * V
    if op == "svd":
        U, S, Vh = L.svd(ts[0], full_matrices=False)
        return U * U, S, Vh * Vh
    fns = {"bmm": torch.bmm, "norm": torch.norm, "diagonal": torch.diagonal, "trace": torch.trace,
           "tensordot": torch.tensordot, "kron": torch.kron, "inner": torch.inner,
           "outer": torch.outer, "dot": torch.dot, "det": L.det, "inv": L.inv,
           "cholesky": L.cholesky, "solve": L.solve, "eigvalsh": L.eigvalsh, "svdvals": L.svdvals}
    return fns[op](*ts, **kw)


def main():
    out = {}
    for name, (op, inputs, kw) in CASES.items():
        ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
        res = torch_op(op, ts, kw)
        res = res if isinstance(res, tuple) else (res,)
        cots = [rng.standard_normal(tuple(o.shape)) for o in res]
        total = sum((o * torch.tensor(c)).sum() for o, c in zip(res, cots))
        grads = torch.autograd.grad(total, ts, allow_unused=True)
        out[f"{name}:op"] = np.array(op)
        out[f"{name}:kwargs"] = np.array(json.dumps(kw))
        for i, x in enumerate(inputs):
            out[f"{name}:in{i}"] = x
            out[f"{name}:grad{i}"] = grads[i].numpy() if grads[i] is not None else np.zeros_like(x)
        for j, (o, c) in enumerate(zip(res, cots)):
            out[f"{name}:out{j}"] = o.detach().numpy()
            out[f"{name}:cot{j}"] = c
    path = pathlib.Path(__file__).with_name("contract.npz")
    np.savez_compressed(path, **out)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
