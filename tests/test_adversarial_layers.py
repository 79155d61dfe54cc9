"""Adversarial tests of the op families and layers: each one a fault that was found
by attacking them (bad inputs, PyTorch habits, graph semantics, module state), kept
so that it stays fixed. Oracles: numpy, mathematics, or the op's own fresh result."""
from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import Tensor


def _grad_after_write(make, write):
    """x's gradient through ``make(x)`` (a tensor), with ``write(result)`` done in place
    under no_grad between the forward and the backward; None when backward refuses."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    x = Tensor(a + a.T, requires_grad=True)
    y, other = make(x)
    if write:
        with tg.no_grad():
            other *= 1.7
    try:
        y.backward(np.arange(1.0, y.data.size + 1).reshape(y.shape))
    except RuntimeError:
        return None
    return x.grad.data


# ---- saved arrays that alias a returned output --------------------------------------------
# A backward rule that keeps an array it also returned, and reads it from `saved` (not
# from `out`, which the engine checks), silently used values written into that output.
@pytest.mark.parametrize("make", [
    lambda x: (tg.linalg.eigh(x)[1], tg.linalg.eigh(x)[1]),
    lambda x: (lambda r: (r[1], r[1]))(tg.linalg.eigh(x)),
    lambda x: (lambda r: (r[1], r[0]))(tg.linalg.eigh(x)),
    lambda x: (lambda r: (r[0], r[1]))(tg.linalg.eigh(x)),
    lambda x: (lambda r: (r[0], r[1]))(tg.linalg.svd(x)),
    lambda x: (lambda r: (r[1], r[0]))(tg.linalg.svd(x)),
    lambda x: (lambda r: (r[2], r[0]))(tg.linalg.svd(x)),
    lambda x: (lambda r: (r[0], r[0]))(tg.linalg.svd(x)),
], ids=["eigh-fresh", "eigh-V-self", "eigh-V-via-w", "eigh-w-via-V", "svd-U-via-S",
        "svd-S-via-U", "svd-Vh-via-U", "svd-U-self"])
def test_writing_into_a_decomposition_output_never_changes_a_gradient(make):
    clean = _grad_after_write(make, False)
    after = _grad_after_write(make, True)
    assert after is None or np.allclose(after, clean, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("norm", [
    lambda x: F.layer_norm(x, (3,)),
    lambda x: F.rms_norm(x, (3,)),
    lambda x: F.group_norm(x, 1),
    lambda x: F.instance_norm(x),
    lambda x: F.batch_norm(x, None, None, training=True),
], ids=["layer_norm", "rms_norm", "group_norm", "instance_norm", "batch_norm"])
def test_writing_into_a_normalisation_without_affine_never_changes_a_gradient(norm):
    a = np.random.default_rng(1).standard_normal((2, 3, 3))
    g = np.random.default_rng(2).standard_normal((2, 3, 3))
    grads = []
    for write in (False, True):
        x = Tensor(a.copy(), requires_grad=True)
        y = norm(x)
        if write:
            with tg.no_grad():
                y *= 3.0
        try:
            y.backward(g)
        except RuntimeError:
            return
        grads.append(x.grad.data)
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12, atol=1e-12)


# ---- PyTorch's positional descending flag --------------------------------------------------
# torch.sort(x, 1, True) / x.argsort(1, True) sort in descending order; numpy's third
# positional argument is kind=, which was ignored: ascending results, silently.
@pytest.mark.parametrize("call", [
    lambda x: tg.argsort(x, 1, True),
    lambda x: x.argsort(1, True),
    lambda x: tg.sort(x, 1, True),
    lambda x: np.sort(x, 1, True),
    lambda x: np.argsort(x, 1, 1),
], ids=["tg.argsort", "Tensor.argsort", "tg.sort", "np.sort", "np.argsort"])
def test_a_positional_descending_flag_raises(call):
    x = Tensor(np.array([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]]))
    with pytest.raises(TypeError, match="descending"):
        call(x)


def test_numpy_sort_kinds_still_work():
    a = np.array([[1.0, 3.0, 2.0], [0.0, -1.0, 5.0]])
    for kind in (None, "quicksort", "stable", "mergesort", "heapsort"):
        assert np.array_equal(tg.argsort(Tensor(a), 1, kind).data, np.argsort(a, 1, stable=True))
        assert np.array_equal(np.sort(Tensor(a), 1, kind).data, np.sort(a, 1))


# ---- DataLoader batches ---------------------------------------------------------------------
# Without shuffle the batches were writable views into the data set: PyTorch's habit of
# normalising a batch in place (safe there: the collated batch is a copy) changed the data
# for every later epoch, silently.
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("dataset", [False, True])
def test_writing_into_a_batch_raises_and_never_changes_the_data(shuffle, dataset):
    X = np.arange(12.0).reshape(6, 2)
    before = X.copy()
    args = (tg.data.TensorDataset(X),) if dataset else (X,)
    for (xb,) in tg.data.DataLoader(*args, batch_size=4, shuffle=shuffle, rng=0):
        with pytest.raises(ValueError):
            xb /= 255
        t = Tensor(xb)
        t *= 2.0  # Tensor() copies: harmless
    assert np.array_equal(X, before)


def test_a_loader_never_drops_a_graph():
    w = Tensor(np.ones((4, 2)), requires_grad=True)
    with pytest.raises(TypeError, match="detach"):
        tg.data.DataLoader(w, batch_size=2)
    with pytest.raises(TypeError, match="detach"):
        tg.data.TensorDataset(w)
    # a dataset of samples that require grad: collated with their graph, as PyTorch's
    samples = [(w[i] * 2.0,) for i in range(4)]
    ((xb,),) = list(tg.data.DataLoader(samples, batch_size=4))
    assert isinstance(xb, Tensor) and xb.shape == (4, 2)
    xb.sum().backward()
    assert np.array_equal(w.grad.data, np.full((4, 2), 2.0))


# ---- interpolate: PyTorch's kernels ignore the scale factor on some axes -----------------------
# With scale_factor=1.3 on 3 pixels the output has 3 pixels, and PyTorch copies that axis
# (linear modes, 2-D nearest; 2-D nearest doubling an axis takes dst // 2); we resampled by
# 1/1.3, silently giving other values. Reference values: tests/reference/make_adversarial.py.
_REF = np.load(__import__("pathlib").Path(__file__).parent / "reference" / "adversarial.npz")
_INTERP = sorted({k.split("/")[0] for k in _REF.files})


@pytest.mark.parametrize("name", _INTERP)
def test_interpolate_with_a_scale_factor_that_keeps_or_doubles_a_size_matches_pytorch(name):
    import json
    kw = json.loads(str(_REF[f"{name}/kwargs"]))
    x = Tensor(_REF[f"{name}/x"].copy(), requires_grad=True)
    out = F.interpolate(x, **kw)
    np.testing.assert_allclose(out.data, _REF[f"{name}/out"], rtol=1e-10, atol=1e-12)
    if f"{name}/grad" in _REF.files:
        (out * Tensor(_REF[f"{name}/w"])).sum().backward()
        np.testing.assert_allclose(x.grad.data, _REF[f"{name}/grad"], rtol=1e-10, atol=1e-12)


# ---- nn.Softmax() without dim ---------------------------------------------------------------
# PyTorch's implicit dim is 0 for a 3-D input and 1 for 4-D (e.g. the channels of a
# segmentation head); ours is the last axis: the same code gave other values, silently.
@pytest.mark.parametrize("cls", ["Softmax", "LogSoftmax"])
def test_softmax_layer_without_dim_warns_where_pytorch_picks_another_axis(cls):
    import warnings
    layer = getattr(tg.nn, cls)()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer(np.zeros((2, 3)))  # 1-D and 2-D: PyTorch's implicit dim is the last one too
        getattr(tg.nn, cls)(dim=-1)(np.zeros((2, 3, 4)))
    for shape, torch_dim in (((2, 3, 4), 0), ((1, 2, 3, 4), 1)):
        with pytest.warns(UserWarning, match=f"dim={torch_dim}"):
            out = layer(np.zeros(shape))
        assert out.shape == shape


# ---- writes into results that PyTorch makes copies (or views) of ------------------------------
# x.flip(0), x.fliplr(), x.flipud(), x.rot90() are PyTorch-only method names, and PyTorch's
# copy; ours returned numpy's views, so writing into the result changed x, silently.
@pytest.mark.parametrize("method", [lambda x: x.flip(0), lambda x: x.flip(), lambda x: x.fliplr(),
                                    lambda x: x.flipud(), lambda x: x.rot90(), lambda x: x.rot90(2)],
                         ids=["flip(0)", "flip()", "fliplr", "flipud", "rot90", "rot90(2)"])
def test_flip_methods_copy_as_pytorch_and_keep_their_gradient(method):
    a = np.arange(6.0).reshape(2, 3)
    x = Tensor(a.copy())
    y = method(x)
    y += 100.0
    assert np.array_equal(x.data, a)
    x = Tensor(a.copy(), requires_grad=True)
    y = method(x)
    (y * Tensor(np.arange(y.data.size, dtype=float).reshape(y.shape))).sum().backward()
    assert np.array_equal(np.sort(x.grad.data.ravel()), np.arange(6.0))
    # numpy's functions keep numpy's views
    assert np.shares_memory(np.flip(x, 0).data, x.data)


# diagonal returned a writable copy: PyTorch's x.diagonal() is a view (writing into it
# changes x), numpy's a read-only view; a write into ours was lost silently.
def test_writing_into_a_diagonal_raises():
    x = Tensor(np.arange(9.0).reshape(3, 3))
    for d in (x.diagonal(), np.diagonal(x), tg.diagonal(x, 1)):
        with pytest.raises(ValueError, match="read-only"):
            d += 1.0
        with pytest.raises(ValueError):
            d[0] = 5.0
    assert np.array_equal(x.data, np.arange(9.0).reshape(3, 3))
    d = tg.diag(x)  # torch.diag copies (numpy's np.diag is a read-only view): writable, x unchanged
    d += 1.0
    assert np.array_equal(x.data, np.arange(9.0).reshape(3, 3))


# numpy's ndarray.flatten always copies; x.flatten() here returns a view, so numpy's habit of
# writing into the flattened copy changed x, silently; flatten's view is now read-only.
def test_writing_into_flatten_never_changes_the_source():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    y = x.flatten()
    try:
        y += 1.0
    except ValueError:
        pass
    assert np.array_equal(x.data, np.arange(6.0).reshape(2, 3))


# ---- Sequential slices keep their modules' names ----------------------------------------------
# PyTorch's seq[1:] keeps the names ("2.weight"); ours renumbered them, so a slice's
# checkpoint did not match PyTorch's; and appending to a slice must not replace a module.
def test_a_sequential_slice_keeps_names_and_append_never_replaces():
    nn = tg.nn
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert list(seq[1:].state_dict()) == ["2.weight", "2.bias"]
    assert list(seq[::2].state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    part = seq[1:]
    last = part[-1]
    part.append(nn.Tanh())
    assert len(part) == 3 and part[1] is last and isinstance(part[2], nn.Tanh)
    x = np.ones((4, 2))
    np.testing.assert_array_equal(seq[1:](seq[0](x)).data, seq(x).data)


# ---- batch norm of an empty batch -------------------------------------------------------------
# PyTorch returns an empty result (running statistics unchanged, the batch counted); ours
# raised "expected more than 1 value per channel" for 0 values.
def test_batch_norm_of_an_empty_batch_is_empty_and_leaves_the_running_statistics():
    bn = tg.nn.BatchNorm2d(3, momentum=None)
    x = Tensor(np.zeros((0, 3, 2, 2)), requires_grad=True)
    y = bn(x)
    y.sum().backward()
    assert y.shape == (0, 3, 2, 2) and x.grad.shape == (0, 3, 2, 2)
    assert np.array_equal(bn.running_mean.data, np.zeros(3))
    assert np.array_equal(bn.running_var.data, np.ones(3))
    a = np.arange(8.0).reshape(2, 1, 2, 2) * np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    bn(Tensor(a))  # momentum=None: the cumulative average counts the empty batch too (PyTorch's)
    np.testing.assert_allclose(bn.running_mean.data, a.mean(axis=(0, 2, 3)) / 2)
    with pytest.raises(ValueError, match="more than 1 value"):
        F.batch_norm(np.zeros((1, 3)), None, None, training=True)


# ---- NaN and inf at the edges of piecewise functions ------------------------------------------
# hardshrink/softshrink turned NaN into 0 (|nan| > lambd is False), hiding a diverged input;
# PyTorch's keep NaN. huber/smooth_l1 at d = +-inf back-propagated nan from the unselected
# quadratic branch (0 * inf); the derivative there is +-delta (+-1 for smooth_l1).
@pytest.mark.parametrize("fn", [F.hardshrink, F.softshrink])
def test_shrink_keeps_nan(fn):
    x = Tensor(np.array([np.nan, 0.2, -3.0, np.inf]), requires_grad=True)
    y = fn(x)
    assert np.isnan(y.data[0]) and y.data[1] == 0 and y.data[3] == np.inf
    y.backward(np.ones(4))
    assert np.array_equal(x.grad.data, [1.0, 0.0, 1.0, 1.0])


@pytest.mark.parametrize("loss, slope", [(lambda x, y: F.huber_loss(x, y, "sum", delta=0.5), 0.5),
                                          (lambda x, y: F.smooth_l1_loss(x, y, "sum", beta=0.5), 1.0)],
                         ids=["huber", "smooth_l1"])
def test_huber_losses_have_finite_gradients_at_infinite_inputs(loss, slope):
    x = Tensor(np.array([np.inf, -np.inf, 0.1, 2.0]), requires_grad=True)
    loss(x, Tensor(np.zeros(4))).backward()
    expected = np.array([slope, -slope, 0.1 / (0.5 if slope == 1.0 else 1.0), slope])
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


# pairwise_distance of equal inputs with eps=0 back-propagated sqrt's 0/0 = nan; PyTorch's
# norm gives the subgradient 0 at a zero difference.
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_pairwise_distance_of_equal_inputs_has_zero_gradient(p):
    a = Tensor(np.ones((2, 3)), requires_grad=True)
    d = F.pairwise_distance(a, Tensor(np.ones((2, 3))), p=p, eps=0.0)
    d.sum().backward()
    assert np.array_equal(d.data, np.zeros(2)) and np.array_equal(a.grad.data, np.zeros((2, 3)))


def test_functional_softmax_without_dim_on_3d_input_warns_like_the_module():
    F = tg.nn.functional
    x = np.zeros((2, 3, 4))
    with pytest.warns(UserWarning, match=r"softmax: no dim given for a 3-D input.*dim=0"):
        F.softmax(x)
    with pytest.warns(UserWarning, match=r"log_softmax: no dim given for a 4-D input.*dim=1"):
        F.log_softmax(np.zeros((1, 2, 3, 4)))
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.softmax(np.zeros((2, 3)))
        F.softmax(x, dim=-1)


def test_a_tuple_of_arrays_given_to_dataloader_names_the_fix():
    X, y = np.zeros((4, 2)), np.zeros(4)
    with pytest.raises(TypeError, match=r"pass them as separate arguments, DataLoader\(X, y"):
        tg.data.DataLoader((X, y), batch_size=2)
    (xb, yb), _ = list(tg.data.DataLoader(X, y, batch_size=2))
    assert xb.shape == (2, 2)
