"""Regenerate interop.npz and interop_cnn.safetensors: PyTorch models' weights and outputs.

Needs PyTorch (``pip install torch==2.13.0``, CPU wheel) and safetensors; the
tests only read the files. Run from the repository root:
``python tests/reference/make_interop.py``.

For every architecture in ``tests/interop_models.py`` (built from the same
code as the twin there), the PyTorch model is made in float64 with a fixed
seed; its parameters are perturbed (so that zero or one initialisations,
e.g. biases and norm weights, are not special) and its normalisation layers
run a few batches in training mode (so that running statistics and
``num_batches_tracked`` are not their initial values). Then, in evaluation
mode, it runs on fixed inputs. Stored under ``<name>/``: ``keys`` (the
state_dict's keys, in order), ``sd/<key>`` (its values), ``in/<i>`` (inputs)
and ``out`` (the output). ``interop_cnn.safetensors`` is the CNN's state_dict
written by ``safetensors.torch.save_file`` (float64, PyTorch's layout), for
the test that reads PyTorch's own file.
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import torch
from safetensors.torch import save_file

HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from interop_models import BUILDERS, INPUTS  # noqa: E402


def inputs(name, rng):
    spec = INPUTS[name]
    if spec[0] == "tokens":
        return [torch.from_numpy(rng.integers(0, spec[2], spec[1]))]
    return [torch.from_numpy(rng.standard_normal(shape)) for shape in spec]


def main():
    out = {}
    rng = np.random.default_rng(2026)
    for seed, (name, build) in enumerate(BUILDERS.items()):
        torch.manual_seed(seed)
        model = build(torch.nn).double()
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.1 * torch.randn_like(p))
            model.train()
            for _ in range(3):  # running statistics away from their initial values
                model(*inputs(name, rng))
        model.eval()
        xs = inputs(name, rng)
        with torch.no_grad():
            y = model(*xs)
        sd = model.state_dict()
        out[f"{name}/keys"] = np.array(list(sd), dtype=np.str_)
        for k, v in sd.items():
            out[f"{name}/sd/{k}"] = v.numpy()
        for i, x in enumerate(xs):
            out[f"{name}/in/{i}"] = x.numpy()
        out[f"{name}/out"] = y.numpy()
        if name == "cnn":
            save_file({k: v.contiguous() for k, v in sd.items()}, HERE / "interop_cnn.safetensors",
                      metadata={"format": "pt"})
    np.savez_compressed(HERE / "interop.npz", **out)


if __name__ == "__main__":
    main()
