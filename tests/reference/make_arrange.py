"""Regenerate ``arrange.npz``: PyTorch's values and gradients for the PyTorch-named ops of the
families arrange, join and gather (gather, scatter, scatter_add, index_add, index_select,
narrow, take, chunk, split by sizes, tensor_split, unbind, masked_fill, flip, roll, repeat
(tile), repeat_interleave, tril/triu, F.pad in each mode, the padding layers).

Run from the repository root with torch installed: ``python tests/reference/make_arrange.py``.
For each case ``c`` the file holds its inputs ``c/in<i>`` (float64 or int64), the outputs
``c/out<k>``, a random cotangent ``c/v<k>`` per output, and the gradient
``c/grad<i>`` of ``sum_k <out_k, v_k>`` for every float input. The test
(``tests/test_arrange_join_gather.py``) calls our functions on the same inputs.
"""
from __future__ import annotations

import pathlib

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(1234)


def randn(*shape):
    return rng.normal(size=shape)


def perm_index(rows, n, k):
    """Rows of distinct indices (so scatter has one write per place: deterministic)."""
    return np.stack([rng.permutation(n)[:k] for _ in range(rows)])


x345 = randn(3, 4, 5)
CASES = {
    "gather": (lambda x, i: torch.gather(x, 1, i), [x345, rng.integers(0, 4, (3, 6, 5))]),
    "gather_small_index": (lambda x, i: x.gather(2, i), [x345, rng.integers(0, 5, (2, 3, 4))]),
    "scatter": (lambda x, i, s: torch.scatter(x, 1, i, s), [randn(3, 5), perm_index(3, 5, 4), randn(3, 4)]),
    "scatter_value": (lambda x, i: x.scatter(0, i, 2.5), [randn(4, 3), perm_index(3, 4, 2).T.copy()]),
    "scatter_add": (lambda x, i, s: x.scatter_add(1, i, s), [randn(3, 5), rng.integers(0, 5, (3, 7)), randn(3, 7)]),
    "index_add": (lambda x, s: x.index_add(1, torch.tensor([3, 0, 3, 1]), s, alpha=-1.5),
                  [randn(2, 4, 3), randn(2, 4, 3)]),
    "index_select": (lambda x: x.index_select(0, torch.tensor([2, 0, 2])), [randn(3, 4)]),
    "narrow": (lambda x: x.narrow(1, -3, 2), [randn(2, 5, 3)]),
    "take": (lambda x: torch.take(x, torch.tensor([[0, 11, -1], [5, 5, 3]])), [randn(3, 4)]),
    "chunk": (lambda x: x.chunk(3, 0), [randn(7, 3)]),
    "chunk_fewer": (lambda x: torch.chunk(x, 4, 1), [randn(2, 6)]),
    "split_size": (lambda x: x.split(2, dim=1), [randn(3, 5)]),
    "split_sizes": (lambda x: torch.split(x, [1, 3, 0, 1], 1), [randn(3, 5)]),
    "tensor_split": (lambda x: torch.tensor_split(x, 3, 1), [randn(2, 7)]),
    "tensor_split_idx": (lambda x: torch.tensor_split(x, [1, 4, 2], 0), [randn(6, 2)]),
    "unbind": (lambda x: x.unbind(1), [randn(2, 3, 2)]),
    "masked_fill": (lambda x, v: x.masked_fill(torch.tensor([True, False, True, True]), v),
                    [randn(3, 4), np.array(0.7)]),
    "flip": (lambda x: torch.flip(x, (0, 2)), [x345]),
    "roll": (lambda x: torch.roll(x, (1, -2), (0, 1)), [randn(3, 4)]),
    "roll_flat": (lambda x: x.roll(3), [randn(3, 4)]),
    "repeat_tile": (lambda x: x.repeat(2, 1, 3), [randn(2, 3)]),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1), [randn(2, 3)]),
    "repeat_interleave_tensor": (lambda x: x.repeat_interleave(torch.tensor([1, 0, 3]), dim=0), [randn(3, 2)]),
    "repeat_interleave_flat": (lambda x: torch.repeat_interleave(x, 2), [randn(2, 2)]),
    "tril": (lambda x: torch.tril(x, diagonal=1), [randn(2, 3, 4)]),
    "triu": (lambda x: x.triu(-1), [randn(4, 3)]),
    "pad_constant": (lambda x: F.pad(x, (1, 2, 0, 1), value=1.5), [randn(2, 3, 4)]),
    "pad_constant_crop": (lambda x: F.pad(x, (-1, 2, 1, -2)), [randn(2, 3, 4)]),
    "pad_reflect": (lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [randn(2, 3, 4)]),
    "pad_reflect_1d": (lambda x: F.pad(x, (3, 2), mode="reflect"), [randn(2, 2, 4)]),
    "pad_replicate": (lambda x: F.pad(x, (2, 3, 4, 1), mode="replicate"), [randn(1, 2, 3, 2)]),
    "pad_circular": (lambda x: F.pad(x, (3, 1, 2, 2), mode="circular"), [randn(1, 2, 3, 4)]),
    "ReflectionPad2d": (lambda x: torch.nn.ReflectionPad2d((1, 2, 2, 0))(x), [randn(2, 3, 4)]),
    "ReplicationPad1d": (lambda x: torch.nn.ReplicationPad1d(2)(x), [randn(2, 3)]),
    "ZeroPad2d": (lambda x: torch.nn.ZeroPad2d((1, 0, 2, 1))(x), [randn(1, 2, 2)]),
    "CircularPad1d": (lambda x: torch.nn.CircularPad1d((2, 3))(x), [randn(2, 1, 3)]),
    "ConstantPad2d": (lambda x: torch.nn.ConstantPad2d(1, -0.5)(x), [randn(2, 2, 3)]),
}


def main():
    data = {}
    for name, (fn, inputs) in CASES.items():
        ts = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
        outs = fn(*ts)
        outs = tuple(outs) if isinstance(outs, (tuple, list)) else (outs,)
        vs = [rng.normal(size=tuple(o.shape)) for o in outs]
        total = sum((o * torch.tensor(v)).sum() for o, v in zip(outs, vs))
        diff = [t for t in ts if t.requires_grad]
        grads = torch.autograd.grad(total, diff, allow_unused=True)
        gi = iter(grads)
        for i, (a, t) in enumerate(zip(inputs, ts)):
            data[f"{name}/in{i}"] = a
            if t.requires_grad:
                g = next(gi)
                data[f"{name}/grad{i}"] = np.zeros(a.shape) if g is None else g.numpy()
        for k, (o, v) in enumerate(zip(outs, vs)):
            data[f"{name}/out{k}"] = o.detach().numpy()
            data[f"{name}/v{k}"] = v
    path = pathlib.Path(__file__).with_name("arrange.npz")
    np.savez_compressed(path, **data)
    print(f"wrote {path} ({path.stat().st_size} bytes, {len(CASES)} cases)")


if __name__ == "__main__":
    main()
