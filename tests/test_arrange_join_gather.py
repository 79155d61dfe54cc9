"""Forward values of the families arrange, join and gather against numpy (exact), PyTorch's
values and gradients (tests/reference/arrange.npz), the PyTorch/numpy name conflicts
(``repeat``, ``split``) and the errors.

Gradients in general are checked by the shared harness (tests/op_cases_arrange.py).
"""
from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as nnF
from tinygrad_edu.nn import padding as P
from tinygrad_edu.nn._pad_functional import pad as torch_pad
from tinygrad_edu.ops.arrange import RepeatAmbiguityWarning

rng = np.random.default_rng(7)
A = rng.normal(size=(2, 3, 4))


def T(a=A, grad=True):
    return tg.Tensor(np.array(a), requires_grad=grad)


def same(out, ref):
    if isinstance(ref, (list, tuple)):
        assert isinstance(out, type(ref)) and len(out) == len(ref)
        for o, r in zip(out, ref):
            same(o, r)
        return
    assert isinstance(out, tg.Tensor), type(out)
    assert out.shape == np.shape(ref) and np.array_equal(out.data, ref), (out.data, ref)


# ---- forward values equal numpy's, through np.<func> dispatch --------------------------
NUMPY_CALLS = {
    "ravel": lambda m, a: m.ravel(a),
    "moveaxis": lambda m, a: m.moveaxis(a, [0, -1], [-1, 1]),
    "rollaxis": lambda m, a: m.rollaxis(a, -1, 1),
    "flip": lambda m, a: m.flip(a),
    "flip axes": lambda m, a: m.flip(a, (0, -1)),
    "fliplr": lambda m, a: m.fliplr(a),
    "flipud": lambda m, a: m.flipud(a),
    "rot90": lambda m, a: m.rot90(a, 3, (2, 0)),
    "rot90 -1": lambda m, a: m.rot90(a, -1),
    "roll": lambda m, a: m.roll(a, (2, -5, 1), (1, 2, 1)),
    "roll flat": lambda m, a: m.roll(a, -7),
    "tile": lambda m, a: m.tile(a, (2, 1, 1, 3)),
    "tile short": lambda m, a: m.tile(a, 2),
    "tile zero": lambda m, a: m.tile(a, (0, 2)),
    "repeat": lambda m, a: m.repeat(a, 2, axis=-1),
    "repeat flat": lambda m, a: m.repeat(a, 3),
    "repeat counts": lambda m, a: m.repeat(a, [2, 0, 1], axis=1),
    "repeat count 1": lambda m, a: m.repeat(a, [2], axis=0),
    "pad constant": lambda m, a: m.pad(a, ((1, 0), (0, 2), (3, 1)), constant_values=((1, 2), (3, 4), (5, 6))),
    "pad int": lambda m, a: m.pad(a, 2),
    "pad edge": lambda m, a: m.pad(a, (1, 3), mode="edge"),
    "pad reflect wide": lambda m, a: m.pad(a, ((5, 7), (0, 0), (9, 2)), mode="reflect"),
    "pad symmetric wide": lambda m, a: m.pad(a, ((5, 1), (4, 8), (0, 3)), mode="symmetric"),
    "pad wrap wide": lambda m, a: m.pad(a, ((5, 1), (7, 8), (0, 11)), mode="wrap"),
    "tril": lambda m, a: m.tril(a),
    "triu k": lambda m, a: m.triu(a, 2),
    "tril 1-D": lambda m, a: m.tril(a[0, 0], -1),
    "vstack": lambda m, a: m.vstack([a[0], a[1, :1]]),
    "vstack 1-D": lambda m, a: m.vstack([a[0, 0], a[1, 1]]),
    "hstack": lambda m, a: m.hstack([a, a[:, :1]]),
    "hstack 1-D": lambda m, a: m.hstack([a[0, 0], a[1, 1, :2]]),
    "dstack": lambda m, a: m.dstack([a[0], a[1]]),
    "column_stack": lambda m, a: m.column_stack([a[0, :, 0], a[1, :, :2]]),
    "atleast_1d": lambda m, a: m.atleast_1d(a[0, 0, 0]),
    "atleast_2d": lambda m, a: m.atleast_2d(a[0, 0]),
    "atleast_3d 1-D": lambda m, a: m.atleast_3d(a[0, 0]),
    "atleast_3d 2-D": lambda m, a: m.atleast_3d(a[0]),
    "atleast_1d two": lambda m, a: m.atleast_1d(a[0, 0, 0], a),
    "split": lambda m, a: m.split(a, 2, axis=2),
    "split indices": lambda m, a: m.split(a, [1, -1, 9, 2], axis=-1),
    "array_split": lambda m, a: m.array_split(a, 3, axis=2),
    "array_split more": lambda m, a: m.array_split(a, 5, axis=1),
    "hsplit": lambda m, a: m.hsplit(a, 3),
    "vsplit": lambda m, a: m.vsplit(a, [1]),
    "dsplit": lambda m, a: m.dsplit(a, 4),
    "take": lambda m, a: m.take(a, [[1, -1], [0, 0]], axis=2),
    "take flat": lambda m, a: m.take(a, [23, -24, 5]),
    "take_along_axis": lambda m, a: m.take_along_axis(a, np.array([[[3, -4]], [[0, 1]]]), axis=2),
    "take_along_axis bcast": lambda m, a: m.take_along_axis(a, np.array([[[2], [0]]]), axis=1),
}


@pytest.mark.parametrize("name", sorted(NUMPY_CALLS))
def test_forward_equals_numpy_via_dispatch(name):
    call = NUMPY_CALLS[name]
    ref = call(np, A)
    out = call(np, T())
    same(out, list(ref) if isinstance(ref, list) else ref)
    out_tg = call(tg, T())  # the tinygrad_edu.<name> function: same result
    same(out_tg, list(ref) if isinstance(ref, list) else ref)


def test_pad_of_empty_axes_and_size_one_follows_numpy():
    a = np.zeros((0, 3))
    same(np.pad(T(a), ((0, 0), (2, 1)), mode="reflect"), np.pad(a, ((0, 0), (2, 1)), mode="reflect"))
    same(np.pad(T(a), 2), np.pad(a, 2))
    b = np.array([[1.5]])
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        same(np.pad(T(b), 3, mode=mode), np.pad(b, 3, mode=mode))


def test_pytorch_keywords_mean_the_same():
    same(tg.roll(T(), shifts=(1, 2), dims=(0, 2)), np.roll(A, (1, 2), (0, 2)))
    same(tg.tile(T(), dims=(2, 1)), np.tile(A, (2, 1)))
    same(T().flip(dims=(1,)), np.flip(A, 1))
    same(T().flip(0, 2), np.flip(A, (0, 2)))
    same(tg.rot90(T(), 1, dims=(1, 2)), np.rot90(A, 1, (1, 2)))
    same(T().tril(diagonal=-1), np.tril(A, -1))
    same(T().movedim(0, -1), np.moveaxis(A, 0, -1))
    same(tg.take(T(), np.array([3, -1])), np.take(A, [3, -1]))  # torch.take: flat


def test_row_stack_is_vstack():
    same(tg.row_stack([T(A[0]), T(A[1])]), np.vstack([A[0], A[1]]))


def test_put_along_axis_is_out_of_place_and_matches_numpy():
    idx = np.array([[[0, 3, 3]], [[1, 1, 2]]])  # repeats: numpy keeps one of the writes
    vals = rng.normal(size=(2, 1, 3))
    ref = A.copy()
    np.put_along_axis(ref, idx, vals, axis=2)
    x, v = T(), T(vals)
    out = tg.put_along_axis(x, idx, v, axis=2)
    same(out, ref)
    assert np.array_equal(x.data, A)  # the input is untouched
    g = rng.normal(size=out.shape)
    gx, gv = tg.grad(out, [x, v], g)
    written = np.zeros(A.shape, bool)
    np.put_along_axis(written, idx, True, axis=2)
    assert np.array_equal(gx.data, np.where(written, 0, g))
    # each value's gradient is g at the place it won; the overwritten duplicates get 0
    assert np.isclose(gv.data.sum(), g[written].sum())


def test_np_put_along_axis_on_a_tensor_points_to_the_out_of_place_function():
    with pytest.raises(TypeError, match="tinygrad_edu.put_along_axis"):
        np.put_along_axis(T(), np.zeros((2, 3, 1), int), 1.0, axis=2)


# ---- the gradients of duplicate indices -----------------------------------------------
def test_take_and_gather_accumulate_repeated_indices():
    x = T(np.arange(4.0))
    y = np.take(x, [1, 1, 3, 1])
    (g,) = tg.grad(y, [x], np.array([1.0, 2.0, 4.0, 8.0]))
    assert np.array_equal(g.data, [0.0, 11.0, 0.0, 4.0])
    x = T(np.arange(6.0).reshape(2, 3))
    (g,) = tg.grad(x.gather(1, np.array([[2, 2], [0, 2]])), [x], np.ones((2, 2)))
    assert np.array_equal(g.data, [[0, 0, 2], [1, 0, 1]])


def test_scatter_with_duplicates_gives_the_gradient_to_the_surviving_write_only():
    x, src = T(np.zeros(3)), T(np.array([1.0, 2.0, 3.0]))
    out = tg.scatter(x, 0, np.array([1, 1, 1]), src)
    win = out.data[1]
    assert win in (1.0, 2.0, 3.0)
    (gs,) = tg.grad(out, [src], np.array([10.0, 20.0, 30.0]))
    assert np.array_equal(gs.data, np.where(src.data == win, 20.0, 0.0))


def test_masked_fill_gradient_is_a_select_not_a_product():
    x = T(np.array([1.0, 2.0, 3.0]))
    out = x.masked_fill(np.array([True, False, True]), 5.0)
    (g,) = tg.grad(out, [x], np.array([np.inf, 1.0, np.inf]))
    assert np.array_equal(g.data, [0.0, 1.0, 0.0])  # never inf * 0 = nan


def test_pad_gradient_accumulates_into_the_copied_elements():
    x = T(np.array([1.0, 2.0, 3.0]))
    (g,) = tg.grad(np.pad(x, (2, 3), mode="reflect"), [x], np.ones(8))
    # reflect (2, 3) of [a b c] is [c b | a b c | b a b]: a x2, b x4, c x2
    assert np.array_equal(g.data, [2.0, 4.0, 2.0])


# ---- PyTorch/numpy conflicts ----------------------------------------------------------
def test_repeat_method_refuses_pytorch_tile_calls():
    x = T(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError, match=r"x\.tile\(\(2, 1\)\).*x\.repeat\(2, axis=1\)"):
        x.repeat(2, 1)
    with pytest.raises(TypeError, match="tile"):
        x.repeat(2, 1, 3)
    with pytest.raises(TypeError, match=r"x\.tile\(\(2, 3\)\)"):
        x.repeat((2, 3))
    same(x.repeat(2, axis=1), np.repeat(x.data, 2, axis=1))
    same(x.repeat(2), np.repeat(x.data, 2))  # >1-D: PyTorch would raise, no ambiguity
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.repeat([1, 2, 0], axis=1)


def test_repeat_method_warns_on_1d_where_pytorch_would_tile():
    v = T(np.array([1.0, 2.0]))
    with pytest.warns(RepeatAmbiguityWarning, match=r"x\.tile\(2\)"):
        out = v.repeat(2)
    same(out, np.array([1.0, 1.0, 2.0, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(v.repeat(2, axis=0), np.array([1.0, 1.0, 2.0, 2.0]))
        same(v.tile(2), np.array([1.0, 2.0, 1.0, 2.0]))
        same(np.repeat(v, 2), np.array([1.0, 1.0, 2.0, 2.0]))  # functions are numpy's: no warning
        same(v.repeat(1), v.data)  # tiling and repeating agree: no warning
        same(T(np.array([3.0])).repeat(3), np.full(3, 3.0))


def test_split_function_is_numpy_and_method_is_pytorch():
    x = T(np.arange(6.0))
    same(tg.split(x, 2), [np.arange(3.0), np.arange(3.0, 6.0)])  # 2 sections
    same(x.split(2), tuple(np.split(np.arange(6.0), 3)))  # pieces of size 2
    with pytest.raises(TypeError, match=r"tinygrad_edu\.split\(x, 2, axis=0\)"):
        x.split(2, axis=0)
    with pytest.raises(ValueError, match="equal"):
        tg.split(T(np.arange(5.0)), 2)


# ---- errors name the op and the shapes --------------------------------------------------
@pytest.mark.parametrize("call, exc, match", [
    (lambda: tg.gather(T(), 1, np.full((2, 3, 4), 3)), IndexError, r"gather: index 3 .*dim 1 of size 3.*\(2, 3, 4\)"),
    (lambda: tg.gather(T(), 1, np.full((2, 3, 4), -1)), IndexError, "gather: index -1"),
    (lambda: tg.gather(T(), 0, np.zeros((2, 3), int)), ValueError, r"gather: .*\(2, 3\).*\(2, 3, 4\)"),
    (lambda: tg.gather(T(), 0, np.zeros((2, 4, 4), int)), ValueError, "gather: .*larger"),
    (lambda: tg.gather(T(), 0, np.zeros((2, 3, 4))), TypeError, "gather: index must hold integers"),
    (lambda: tg.scatter_add(T(), 2, np.full((1, 1, 1), 4), T(np.ones((1, 1, 1)))), IndexError,
     "scatter_add: index 4"),
    (lambda: tg.index_select(T(), 2, [0, 4]), IndexError, r"index_select: index 4 .*\(2, 3, 4\)"),
    (lambda: tg.take(T(), [24]), IndexError, "take: index 24"),
    (lambda: np.take_along_axis(T(), np.zeros((2, 2, 4), int), 2), ValueError, "take_along_axis"),
    (lambda: tg.narrow(T(), 2, 3, 2), IndexError, r"narrow: .*size 4 .*\(2, 3, 4\)"),
    (lambda: tg.masked_fill(T(), np.ones(4), 0.0), TypeError, "masked_fill: mask must be bool"),
    (lambda: tg.masked_fill(T(), np.ones(3, bool), 0.0), ValueError, r"masked_fill: .*\(3,\).*\(2, 3, 4\)"),
    (lambda: torch_pad(T(), (4, 0), mode="reflect"), ValueError, r"pad: reflect padding \(4, 0\).*size 4"),
    (lambda: torch_pad(T(), (5, 0), mode="circular"), ValueError, "pad: circular"),
    (lambda: torch_pad(T(), (1, 1, 1), mode="constant"), ValueError, "pad: .*even length"),
    (lambda: torch_pad(T(A[0, 0]), (1, 1), mode="reflect"), ValueError, r"pad: .*2 or 3 dimensions.*\(4,\)"),
    (lambda: np.pad(T(), 1, mode="mean"), ValueError, "pad: mode 'mean'"),
    (lambda: tg.pad(T(), (1, 1), mode="replicate"), ValueError, r"PyTorch's F\.pad: use tinygrad_edu\.nn\.functional\.pad"),
    (lambda: tg.pad(T(), (1, 1), value=2.0), ValueError, r"PyTorch's F\.pad"),
    (lambda: np.pad(T(), ((1, 2), (3, 4))), ValueError, r"pad: pad_width .*\(2, 3, 4\)"),
    (lambda: np.pad(T(), -1), ValueError, "pad: pad_width must be non-negative"),
    (lambda: np.pad(T(np.zeros((0, 2))), 1, mode="wrap"), ValueError, r"pad: cannot extend the empty axis 0"),
    (lambda: np.repeat(T(), [1, 2], axis=1), ValueError, r"repeat: 2 repeat counts .*axis 1 of size 3"),
    (lambda: np.repeat(T(), -1), ValueError, "repeat: repeats must be non-negative"),
    (lambda: np.roll(T(), 1, 3), ValueError, r"roll: .*\(2, 3, 4\)"),
    (lambda: np.moveaxis(T(), [0, 1], [0]), ValueError, "moveaxis"),
    (lambda: np.tile(T(), -1), ValueError, "tile"),
    (lambda: np.fliplr(T(A[0, 0])), ValueError, r"fliplr: .*\(4,\)"),
    (lambda: np.split(T(A[0, 0, 0]), 1), ValueError, "split: cannot split a 0-d"),
    (lambda: np.vsplit(T(A[0, 0]), 2), ValueError, r"vsplit: .*\(4,\)"),
    (lambda: T().chunk(0), ValueError, "chunk: chunks must be a positive int"),
    (lambda: T().split([1, 3], dim=1), ValueError, r"split: sizes \[1, 3\] .*add up to 3"),
    (lambda: tg.scatter(T(), 0, np.zeros((1, 1, 1), int)), TypeError, "scatter: pass exactly one"),
    (lambda: tg.index_add(T(), 1, [0], T(np.ones((2, 2, 4)))), ValueError, r"index_add: source of shape \(2, 2, 4\)"),
    (lambda: np.take(T(), [0], out=np.zeros(1)), TypeError, "take: out= is not supported"),
    (lambda: P.ReflectionPad2d((1, 2)), ValueError, "ReflectionPad2d: padding must be an int or 4 ints"),
])
def test_errors_name_the_op_and_shapes(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- PyTorch references --------------------------------------------------------------------
REF = np.load(pathlib.Path(__file__).parent / "reference" / "arrange.npz")


def _tup(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


OURS = {
    "gather": lambda x, i: tg.gather(x, 1, i),
    "gather_small_index": lambda x, i: x.gather(2, i),
    "scatter": lambda x, i, s: tg.scatter(x, 1, i, s),
    "scatter_value": lambda x, i: x.scatter(0, i, 2.5),
    "scatter_add": lambda x, i, s: x.scatter_add(1, i, s),
    "index_add": lambda x, s: x.index_add(1, np.array([3, 0, 3, 1]), s, alpha=-1.5),
    "index_select": lambda x: x.index_select(0, np.array([2, 0, 2])),
    "narrow": lambda x: x.narrow(1, -3, 2),
    "take": lambda x: tg.take(x, np.array([[0, 11, -1], [5, 5, 3]])),
    "chunk": lambda x: x.chunk(3, 0),
    "chunk_fewer": lambda x: tg.chunk(x, 4, 1),
    "split_size": lambda x: x.split(2, dim=1),
    "split_sizes": lambda x: x.split([1, 3, 0, 1], 1),
    "tensor_split": lambda x: tg.tensor_split(x, 3, 1),
    "tensor_split_idx": lambda x: tg.tensor_split(x, [1, 4, 2], 0),
    "unbind": lambda x: x.unbind(1),
    "masked_fill": lambda x, v: x.masked_fill(np.array([True, False, True, True]), v),
    "flip": lambda x: x.flip((0, 2)),
    "roll": lambda x: x.roll((1, -2), (0, 1)),
    "roll_flat": lambda x: x.roll(3),
    "repeat_tile": lambda x: x.tile((2, 1, 3)),
    "repeat_interleave": lambda x: x.repeat_interleave(2, dim=1),
    "repeat_interleave_tensor": lambda x: x.repeat_interleave(tg.Tensor(np.array([1, 0, 3])), dim=0),
    "repeat_interleave_flat": lambda x: tg.repeat_interleave(x, 2),
    "tril": lambda x: tg.tril(x, diagonal=1),
    "triu": lambda x: x.triu(-1),
    "pad_constant": lambda x: torch_pad(x, (1, 2, 0, 1), value=1.5),
    "pad_constant_crop": lambda x: torch_pad(x, (-1, 2, 1, -2)),
    "pad_reflect": lambda x: torch_pad(x, (2, 1, 1, 2), mode="reflect"),
    "pad_reflect_1d": lambda x: torch_pad(x, (3, 2), mode="reflect"),
    "pad_replicate": lambda x: torch_pad(x, (2, 3, 4, 1), mode="replicate"),
    "pad_circular": lambda x: torch_pad(x, (3, 1, 2, 2), mode="circular"),
    "ReflectionPad2d": lambda x: P.ReflectionPad2d((1, 2, 2, 0))(x),
    "ReplicationPad1d": lambda x: P.ReplicationPad1d(2)(x),
    "ZeroPad2d": lambda x: P.ZeroPad2d((1, 0, 2, 1))(x),
    "CircularPad1d": lambda x: P.CircularPad1d((2, 3))(x),
    "ConstantPad2d": lambda x: P.ConstantPad2d(1, -0.5)(x),
}


def test_nn_exports_pytorchs_pad_and_the_padding_layers():
    # Wired up in shared files (nn/functional.py imports pad; nn/__init__.py lists "padding").
    if not hasattr(nnF, "pad") or not hasattr(tg.nn, "ReflectionPad2d"):
        pytest.skip("nn.functional.pad / the padding layers are not exported yet")
    assert nnF.pad is torch_pad and nnF.pad is not tg.pad
    assert tg.nn.ReflectionPad2d is P.ReflectionPad2d


def test_reference_covers_every_case():
    names = {k.split("/")[0] for k in REF.files}
    assert names == set(OURS)


@pytest.mark.parametrize("name", sorted(OURS))
def test_matches_pytorch_values_and_gradients(name):
    inputs = []
    i = 0
    while f"{name}/in{i}" in REF.files:
        a = REF[f"{name}/in{i}"]
        inputs.append(tg.Tensor(a, requires_grad=a.dtype.kind == "f") if a.dtype.kind == "f" else a)
        i += 1
    outs = _tup(OURS[name](*inputs))
    n_out = len([k for k in REF.files if k.startswith(f"{name}/out")])
    assert len(outs) == n_out
    for k, o in enumerate(outs):
        ref = REF[f"{name}/out{k}"]
        assert o.shape == ref.shape
        np.testing.assert_allclose(o.data, ref, rtol=1e-12, atol=1e-12)
    diff = [(j, t) for j, t in enumerate(inputs) if isinstance(t, tg.Tensor)]
    grads = tg.grad(outs, [t for _, t in diff], [REF[f"{name}/v{k}"] for k in range(n_out)],
                    allow_unused=True)
    for (j, t), g in zip(diff, grads):
        ref = REF[f"{name}/grad{j}"]
        got = np.zeros(t.shape) if g is None else g.data
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12, err_msg=f"{name} grad {j}")


@pytest.mark.parametrize("call", [lambda x: np.tile(x, (1, 1)), lambda x: np.tile(x, 1),
                                  lambda x: np.repeat(x, 1, axis=0), lambda x: np.pad(x, 0, mode="edge"),
                                  lambda x: np.pad(x, 0), lambda x: np.roll(x, 0, 0)])
def test_copying_ops_return_writable_memory_of_their_own(call):
    x = T(A[0])
    out = call(x)
    assert out.data.flags.writeable and not np.may_share_memory(out.data, x.data)
    assert np.array_equal(out.data, A[0])
