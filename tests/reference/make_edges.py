"""Regenerate tests/reference/edges.npz: PyTorch's values and gradients of var and std where
``n - correction <= 0`` or the spread is zero (a size-1 axis, an empty axis, equal values).

    python tests/reference/make_edges.py     (needs torch; the tests only load the .npz)

Layout: ``<op>/<label>/{x,y,gx}`` with ``gx`` the gradient of ``y.sum()``; the case's axis and
correction are in ``<op>/<label>/args`` as ``[axis or -99 for None, correction]``. Only cases where
torch's two backward paths (dim given or not) agree are stored: see tests/test_regressions.py.
"""
import warnings
from pathlib import Path

import numpy as np
import torch

warnings.simplefilter("ignore")  # torch warns about degrees of freedom <= 0, as numpy
CASES = [  # label, x, axis (None: all), correction
    ("one_ddof1", [3.0], None, 1), ("one_ddof1_axis", [3.0], 0, 1), ("one_ddof0", [3.0], 0, 0),
    ("equal_ddof1", [2.0, 2.0, 2.0], 0, 1), ("equal_ddof0", [2.0, 2.0], None, 0),
    ("rows_size1_ddof1", [[1.0], [3.0]], 1, 1), ("rows_mixed", [[1.0, 2.0], [3.0, 3.0]], 1, 0),
    ("rows_mixed_ddof1", [[1.0, 2.5], [3.0, 3.0]], 1, 1),
    ("n_eq_ddof_axis", [1.0, 2.0, 4.0], 0, 3), ("empty", np.zeros(0), None, 0),
    ("empty_axis", np.zeros((0, 3)), 0, 1), ("empty_other", np.zeros((3, 0)), 0, 1),
]
ref = {}
for op in ("var", "std"):
    for label, xv, axis, corr in CASES:
        x = torch.tensor(np.asarray(xv, dtype=np.float64), requires_grad=True)
        fn = getattr(torch, op)
        y = fn(x, correction=corr) if axis is None else fn(x, dim=axis, correction=corr)
        y.sum().backward()
        key = f"{op}/{label}"
        ref[key + "/x"] = np.asarray(xv, dtype=np.float64)
        ref[key + "/y"] = y.detach().numpy().copy()
        ref[key + "/gx"] = x.grad.numpy().copy()
        ref[key + "/args"] = np.array([-99 if axis is None else axis, corr])
np.savez_compressed(Path(__file__).with_name("edges.npz"), **ref)
