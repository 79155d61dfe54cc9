"""Regenerate tests/reference/activation.npz: what PyTorch computes for the activations (values,
first and second derivatives, at kinks too), erf/erfc, and the normalisers (values, gradients of
input and affine parameters, running statistics after a training step).

    python tests/reference/make_activation.py     (needs torch; the tests only load the .npz)

Layout: ``act/<label>/{y,gx,ggx}`` for each activation in ACTIVATIONS (applied to ``act_x`` with
upstream gradient ``act_g``; ``ggx``, where PyTorch has a double backward, is d/dx of sum(gx * act_v));
``norm/<label>/...`` for each normaliser, with its inputs stored next to the results and its
arguments as a JSON string ``norm/<label>/args``.
"""
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(20261203)
ref = {}


def put(name, t):
    ref[name] = t.detach().numpy().copy() if isinstance(t, torch.Tensor) else np.asarray(t)


# ---- elementwise activations, at their kinks and far out ----------------------------------
# celu's alpha is 0.5: PyTorch rounds 1/alpha to float32 inside celu (1/0.5 is exact there).
ACTIVATIONS = [
    ("gelu", "gelu", {}), ("gelu_tanh", "gelu", {"approximate": "tanh"}), ("silu", "silu", {}),
    ("softplus", "softplus", {}), ("softplus_b2_t3", "softplus", {"beta": 2.0, "threshold": 3.0}),
    ("elu", "elu", {"alpha": 1.5}), ("selu", "selu", {}), ("celu", "celu", {"alpha": 0.5}),
    ("mish", "mish", {}), ("hardtanh", "hardtanh", {"min_val": -1.0, "max_val": 2.0}),
    ("relu6", "relu6", {}), ("hardswish", "hardswish", {}), ("hardsigmoid", "hardsigmoid", {}),
    ("logsigmoid", "logsigmoid", {}), ("softsign", "softsign", {}), ("tanhshrink", "tanhshrink", {}),
    ("softshrink", "softshrink", {"lambd": 0.5}), ("hardshrink", "hardshrink", {"lambd": 0.5}),
    ("leaky_relu", "leaky_relu", {"negative_slope": 0.1}), ("erf", "erf", {}), ("erfc", "erfc", {}),
]
x = np.array([-40.0, -30.0, -20.0, -6.25, -3.5, -3.0, -2.5, -1.0, -0.5, -0.3, -1e-3, -0.0, 0.0,
              1e-3, 0.3, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 6.0, 6.5, 20.5, 30.0, 40.0])
g = rng.uniform(-1, 1, x.shape)
v = rng.uniform(-1, 1, x.shape)
put("act_x", x), put("act_g", g), put("act_v", v)
ref["act_labels"] = np.array(json.dumps(ACTIVATIONS))
for label, name, kw in ACTIVATIONS:
    fn = getattr(torch, name) if name in ("erf", "erfc") else getattr(F, name)
    tx = torch.tensor(x, requires_grad=True)
    y = fn(tx, **kw)
    (gx,) = torch.autograd.grad(y, tx, torch.tensor(g), create_graph=True)
    put(f"act/{label}/y", y), put(f"act/{label}/gx", gx)
    try:
        (ggx,) = torch.autograd.grad(gx, tx, torch.tensor(v), allow_unused=True)
    except RuntimeError:  # no double backward in PyTorch (hardsigmoid, ...): nothing to store
        continue
    put(f"act/{label}/ggx", torch.zeros_like(tx) if ggx is None else ggx)


# ---- activations with a second operand -------------------------------------------------
def with_grads(label, fn, inputs, g_shape_of=None):
    ts = [torch.tensor(a, requires_grad=True) for a in inputs]
    y = fn(*ts)
    gy = rng.uniform(-1, 1, tuple(y.shape))
    grads = torch.autograd.grad(y, ts, torch.tensor(gy))
    for i, a in enumerate(inputs):
        put(f"{label}/in{i}", a)
    put(f"{label}/y", y), put(f"{label}/gy", gy)
    for i, gr in enumerate(grads):
        put(f"{label}/g{i}", gr)


xg = rng.standard_normal((2, 4, 3))
with_grads("glu_dim1", lambda a: F.glu(a, 1), [xg])
with_grads("glu_last", lambda a: F.glu(a, -1), [rng.standard_normal((3, 2))])
xp = rng.standard_normal((2, 3, 4))
xp[0, :, 0] = 0.0  # prelu's kink: the slope applies at 0
with_grads("prelu_channel", F.prelu, [xp, rng.uniform(0, 0.5, 3)])
with_grads("prelu_shared", F.prelu, [xp, np.array([0.2])])


# ---- normalisers -----------------------------------------------------------------------
def norm_case(label, fn, x, params, args):
    """Value and gradients of fn(x, *params) (params None stay None); args stored as JSON."""
    ref[f"norm/{label}/args"] = np.array(json.dumps(args))
    put(f"norm/{label}/x", x)
    tx = torch.tensor(x, requires_grad=True)
    tps = [None if p is None else torch.tensor(p, requires_grad=True) for p in params]
    y = fn(tx, *tps)
    gy = rng.uniform(-1, 1, tuple(y.shape))
    put(f"norm/{label}/y", y), put(f"norm/{label}/gy", gy)
    wanted = [tx] + [p for p in tps if p is not None]
    grads = torch.autograd.grad(y, wanted, torch.tensor(gy))
    put(f"norm/{label}/gx", grads[0])
    k = 1
    for name, p in zip(("weight", "bias"), tps):
        if p is not None:
            put(f"norm/{label}/{name}", p), put(f"norm/{label}/g{name}", grads[k])
            k += 1


x = rng.standard_normal((2, 3, 4)) * 2 + 1
norm_case("layer_norm_34", lambda a, w, b: F.layer_norm(a, (3, 4), w, b, 1e-5), x,
          [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))], {"normalized_shape": [3, 4], "eps": 1e-5})
norm_case("layer_norm_4_plain", lambda a, w, b: F.layer_norm(a, (4,), eps=1e-3), x, [None, None],
          {"normalized_shape": [4], "eps": 1e-3})
norm_case("rms_norm_4", lambda a, w, b: F.rms_norm(a, (4,), w), x, [rng.standard_normal(4), None],
          {"normalized_shape": [4], "eps": None})
norm_case("rms_norm_34", lambda a, w, b: F.rms_norm(a, (3, 4), w, eps=1e-3), x,
          [rng.standard_normal((3, 4)), None], {"normalized_shape": [3, 4], "eps": 1e-3})
xg = rng.standard_normal((2, 6, 3)) * 3 - 1
for groups in (1, 3, 6):
    norm_case(f"group_norm_{groups}", lambda a, w, b, k=groups: F.group_norm(a, k, w, b, 1e-5), xg,
              [rng.standard_normal(6), rng.standard_normal(6)], {"num_groups": groups, "eps": 1e-5})
norm_case("group_norm_2_nospatial", lambda a, w, b: F.group_norm(a, 2, w, b, 1e-5),
          rng.standard_normal((3, 4)), [rng.standard_normal(4), rng.standard_normal(4)],
          {"num_groups": 2, "eps": 1e-5})

# batch_norm: a training step (output, gradients, running statistics after it), then eval
xb = rng.standard_normal((4, 3, 2, 2)) * 2 + 0.5
rm0, rv0 = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
rm, rv = torch.tensor(rm0), torch.tensor(rv0)
put("norm/batch_norm_train/running_mean0", rm0), put("norm/batch_norm_train/running_var0", rv0)
norm_case("batch_norm_train",
          lambda a, w, b: F.batch_norm(a, rm, rv, w, b, training=True, momentum=0.2, eps=1e-4),
          xb, [rng.standard_normal(3), rng.standard_normal(3)], {"momentum": 0.2, "eps": 1e-4})
put("norm/batch_norm_train/running_mean1", rm), put("norm/batch_norm_train/running_var1", rv)
norm_case("batch_norm_eval",
          lambda a, w, b: F.batch_norm(a, torch.tensor(rm0), torch.tensor(rv0), w, b, training=False),
          xb, [rng.standard_normal(3), rng.standard_normal(3)], {})
put("norm/batch_norm_eval/running_mean", rm0), put("norm/batch_norm_eval/running_var", rv0)
# BatchNorm2d module: two training steps (momentum None: cumulative average), then eval
bn = torch.nn.BatchNorm2d(3, momentum=None)
for k in range(2):
    bn(torch.tensor(xb * (k + 1) - k))
put("bn2d_module/running_mean", bn.running_mean), put("bn2d_module/running_var", bn.running_var)
put("bn2d_module/num_batches_tracked", bn.num_batches_tracked)
put("bn2d_module/eval_y", bn.eval()(torch.tensor(xb)))

# instance_norm with running statistics (batch average of per-instance statistics)
xi = rng.standard_normal((2, 3, 5)) * 2
rm, rv = torch.tensor(rm0), torch.tensor(rv0)
norm_case("instance_norm",
          lambda a, w, b: F.instance_norm(a, rm, rv, w, b, use_input_stats=True, momentum=0.3, eps=1e-5),
          xi, [rng.standard_normal(3), rng.standard_normal(3)], {"momentum": 0.3, "eps": 1e-5})
put("norm/instance_norm/running_mean0", rm0), put("norm/instance_norm/running_var0", rv0)
put("norm/instance_norm/running_mean1", rm), put("norm/instance_norm/running_var1", rv)

# embedding with padding_idx (that row gets no gradient), one_hot
idx = np.array([[4, 1, 4], [1, 0, 2]])
w = rng.standard_normal((5, 3))
tw = torch.tensor(w, requires_grad=True)
e = F.embedding(torch.tensor(idx), tw, padding_idx=-1)
ge = rng.uniform(-1, 1, tuple(e.shape))
e.backward(torch.tensor(ge))
put("embedding/idx", idx), put("embedding/weight", w), put("embedding/y", e), put("embedding/gy", ge)
put("embedding/gweight", tw.grad)
put("one_hot/idx", idx), put("one_hot/y", F.one_hot(torch.tensor(idx))), put("one_hot/y7", F.one_hot(torch.tensor(idx), 7))

out = Path(__file__).with_name("activation.npz")
np.savez_compressed(out, **ref)
print(f"wrote {out} ({out.stat().st_size} bytes, {len(ref)} arrays)")
