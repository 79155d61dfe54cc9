"""Regenerate conv.npz: PyTorch's convolution and pooling outputs and gradients (float64).

For every case: the inputs, the output, a random output weight ``v`` and the
gradients of ``sum(out * v)`` with respect to input, weight and bias; for
the convolutions also second derivatives: the gradients with respect to
input and weight of ``sum(grad_x * u) + sum(grad_weight * u2)``.

Needs PyTorch (``pip install torch==2.13.0``); the tests only read the .npz.
Run from the repository root: ``python tests/reference/make_conv.py``.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(0)

# name -> (function, input shape, weight shape or None, bias?, kwargs)
CONV = {
    "conv2d_plain": ("conv2d", (2, 3, 5, 5), (4, 3, 3, 3), True, {}),
    "conv2d_stride_pad": ("conv2d", (2, 3, 5, 4), (2, 3, 3, 2), True, dict(stride=2, padding=1)),
    "conv2d_tuple_args": ("conv2d", (1, 2, 6, 5), (3, 2, 2, 3), False,
                          dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))),
    "conv2d_dilation": ("conv2d", (2, 2, 7, 7), (2, 2, 3, 3), True, dict(dilation=2, padding=1)),
    "conv2d_groups": ("conv2d", (2, 4, 5, 5), (6, 2, 3, 3), True, dict(groups=2, padding=1)),
    "conv2d_depthwise": ("conv2d", (2, 3, 5, 5), (3, 1, 3, 3), True, dict(groups=3, stride=2)),
    "conv2d_same_even": ("conv2d", (1, 2, 5, 6), (3, 2, 2, 4), True, dict(padding="same")),
    "conv2d_same_dilated": ("conv2d", (1, 2, 5, 5), (2, 2, 3, 2), False,
                            dict(padding="same", dilation=(2, 3))),
    "conv2d_valid": ("conv2d", (2, 1, 4, 5), (2, 1, 4, 2), True, dict(padding="valid")),
    "conv2d_unbatched": ("conv2d", (3, 4, 4), (2, 3, 2, 2), True, dict(padding=1)),
    "conv1d_plain": ("conv1d", (2, 3, 7), (4, 3, 3), True, dict(stride=2, padding=1)),
    "conv1d_groups_dilation": ("conv1d", (2, 4, 9), (4, 2, 3), True, dict(groups=2, dilation=3)),
    "conv1d_same": ("conv1d", (1, 2, 6), (3, 2, 4), False, dict(padding="same")),
    "conv_t2d_plain": ("conv_transpose2d", (2, 3, 3, 4), (3, 2, 3, 3), True, {}),
    "conv_t2d_stride_opad": ("conv_transpose2d", (2, 2, 3, 3), (2, 3, 3, 2), True,
                             dict(stride=2, padding=1, output_padding=1)),
    "conv_t2d_tuple": ("conv_transpose2d", (1, 4, 3, 4), (4, 1, 2, 3), True,
                       dict(stride=(3, 2), padding=(1, 0), output_padding=(2, 1), groups=2,
                            dilation=(1, 2))),
    "conv_t2d_dilation_opad": ("conv_transpose2d", (2, 2, 4, 3), (2, 2, 3, 3), False,
                               dict(dilation=2, output_padding=1)),
    "conv_t2d_depthwise": ("conv_transpose2d", (2, 3, 3, 3), (3, 1, 2, 2), True,
                           dict(groups=3, stride=2)),
    "conv_t1d": ("conv_transpose1d", (2, 3, 5), (3, 2, 3), True,
                 dict(stride=3, padding=1, output_padding=2)),
    "conv_t1d_groups": ("conv_transpose1d", (1, 4, 4), (4, 1, 2), True, dict(groups=2, dilation=2)),
}

# name -> (function, input shape, kwargs, rounded values (ties)?)
POOL = {
    "max2d_k2": ("max_pool2d", (2, 3, 6, 6), dict(kernel_size=2), False),
    "max2d_overlap_pad": ("max_pool2d", (2, 2, 5, 5), dict(kernel_size=3, stride=1, padding=1), False),
    "max2d_dilation_ceil": ("max_pool2d", (1, 2, 7, 6),
                            dict(kernel_size=(2, 3), stride=(2, 2), dilation=(2, 1), ceil_mode=True), False),
    "max2d_ceil_pad_idx": ("max_pool2d", (2, 2, 5, 6),
                           dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                return_indices=True), False),
    "max2d_ties": ("max_pool2d", (2, 2, 5, 5), dict(kernel_size=3, stride=1, return_indices=True), True),
    "max2d_ties_disjoint": ("max_pool2d", (1, 2, 4, 6), dict(kernel_size=2), True),
    "max1d": ("max_pool1d", (2, 3, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                            return_indices=True), False),
    "max1d_ties": ("max_pool1d", (2, 2, 9), dict(kernel_size=4, stride=1, dilation=2), True),
    "avg2d_k2": ("avg_pool2d", (2, 3, 6, 6), dict(kernel_size=2), False),
    "avg2d_pad": ("avg_pool2d", (2, 2, 5, 5), dict(kernel_size=3, stride=2, padding=1), False),
    "avg2d_pad_exclude": ("avg_pool2d", (2, 2, 5, 5),
                          dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), False),
    "avg2d_ceil": ("avg_pool2d", (1, 2, 6, 7),
                   dict(kernel_size=(2, 3), stride=2, padding=1, ceil_mode=True), False),
    "avg2d_ceil_exclude": ("avg_pool2d", (1, 2, 6, 7),
                           dict(kernel_size=(2, 3), stride=2, padding=1, ceil_mode=True,
                                count_include_pad=False), False),
    "avg2d_divisor": ("avg_pool2d", (2, 2, 5, 5),
                      dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=4), False),
    "avg1d": ("avg_pool1d", (2, 3, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                            count_include_pad=False), False),
    "adaptive_avg2d_nondividing": ("adaptive_avg_pool2d", (2, 3, 7, 5), dict(output_size=(3, 4)), False),
    "adaptive_avg2d_none": ("adaptive_avg_pool2d", (2, 2, 7, 6), dict(output_size=(None, 4)), False),
    "adaptive_avg2d_global": ("adaptive_avg_pool2d", (2, 3, 5, 4), dict(output_size=1), False),
    "adaptive_avg2d_up": ("adaptive_avg_pool2d", (1, 2, 3, 4), dict(output_size=(5, 6)), False),
    "adaptive_avg1d": ("adaptive_avg_pool1d", (2, 3, 10), dict(output_size=4), False),
    "adaptive_max2d_nondividing": ("adaptive_max_pool2d", (2, 2, 7, 5),
                                   dict(output_size=(3, 4), return_indices=True), False),
    "adaptive_max2d_ties": ("adaptive_max_pool2d", (2, 2, 6, 7),
                            dict(output_size=(4, 3), return_indices=True), True),
    "adaptive_max1d": ("adaptive_max_pool1d", (2, 3, 10), dict(output_size=3), False),
}


def _conv_case(name, fn, xs, ws, bias, kw, data):
    x, w = rng.uniform(-1, 1, xs), rng.uniform(-1, 1, ws)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(rng.uniform(-1, 1, ws[1] * kw.get("groups", 1) if "transpose" in fn else ws[0]),
                      requires_grad=True) if bias else None
    out = getattr(F, fn)(tx, tw, tb, **kw)
    v = rng.uniform(-1, 1, tuple(out.shape))
    ins = (tx, tw) + ((tb,) if bias else ())
    grads = torch.autograd.grad((out * torch.tensor(v)).sum(), ins, create_graph=True)
    u, u2 = rng.uniform(-1, 1, xs), rng.uniform(-1, 1, ws)
    mixed = (grads[0] * torch.tensor(u)).sum() + (grads[1] * torch.tensor(u2)).sum()
    second = torch.autograd.grad(mixed, (tx, tw))
    data.update({f"{name}/x": x, f"{name}/weight": w, f"{name}/out": out.detach().numpy(),
                 f"{name}/v": v, f"{name}/grad_x": grads[0].detach().numpy(),
                 f"{name}/grad_weight": grads[1].detach().numpy(), f"{name}/u": u, f"{name}/u2": u2,
                 f"{name}/gradgrad_x": second[0].numpy(), f"{name}/gradgrad_weight": second[1].numpy(),
                 f"{name}/fn": np.array(fn), f"{name}/kwargs": np.array(json.dumps(kw))})
    if bias:
        data[f"{name}/bias"] = tb.detach().numpy()
        data[f"{name}/grad_bias"] = grads[2].detach().numpy()


def _pool_case(name, fn, xs, kw, ties, data):
    x = rng.uniform(-2, 2, xs)
    if ties:
        x = np.round(x)  # few distinct values: many windows hold several equal maxima
    tx = torch.tensor(x, requires_grad=True)
    out = getattr(F, fn)(tx, **kw)
    if kw.get("return_indices"):
        out, idx = out
        data[f"{name}/indices"] = idx.numpy()
    v = rng.uniform(-1, 1, tuple(out.shape))
    (g,) = torch.autograd.grad((out * torch.tensor(v)).sum(), tx)
    data.update({f"{name}/x": x, f"{name}/out": out.detach().numpy(), f"{name}/v": v,
                 f"{name}/grad_x": g.numpy(), f"{name}/fn": np.array(fn),
                 f"{name}/kwargs": np.array(json.dumps(kw))})


if __name__ == "__main__":
    data = {}
    for name, (fn, xs, ws, bias, kw) in CONV.items():
        _conv_case(name, fn, xs, ws, bias, kw, data)
    for name, (fn, xs, kw, ties) in POOL.items():
        _pool_case(name, fn, xs, kw, ties, data)
    data["conv_cases"] = np.array(sorted(CONV))
    data["pool_cases"] = np.array(sorted(POOL))
    path = pathlib.Path(__file__).with_name("conv.npz")
    np.savez_compressed(path, **data)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
