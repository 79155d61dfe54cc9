"""Convolution and pooling: PyTorch's values (tests/reference/conv.npz), shape rules,
errors that name the op and shapes, and the layers' parameter layouts."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.nn import functional as F

REF = np.load(pathlib.Path(__file__).parent / "reference" / "conv.npz")
RTOL = 1e-10


def close(got, want, what):
    got = np.asarray(got.data if isinstance(got, tg.Tensor) else got)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, PyTorch {want.shape}"
    scale = max(np.abs(want).max(), 1e-300) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * scale, err_msg=what)


def _case(name):
    return {k.split("/", 1)[1]: REF[k] for k in REF.files if k.startswith(name + "/")}


@pytest.mark.parametrize("name", [str(n) for n in REF["conv_cases"]])
def test_convolutions_match_pytorch(name):
    c = _case(name)
    kw = json.loads(str(c["kwargs"]))
    x = tg.Tensor(c["x"], requires_grad=True)
    w = tg.Tensor(c["weight"], requires_grad=True)
    ins = (x, w) + ((tg.Tensor(c["bias"], requires_grad=True),) if "bias" in c else ())
    out = getattr(F, str(c["fn"]))(*ins, **kw)
    close(out, c["out"], f"{name} output")
    grads = tg.grad((out * c["v"]).sum(), ins, create_graph=True)
    close(grads[0], c["grad_x"], f"{name} input gradient")
    close(grads[1], c["grad_weight"], f"{name} weight gradient")
    if "bias" in c:
        close(grads[2], c["grad_bias"], f"{name} bias gradient")
    mixed = (grads[0] * c["u"]).sum() + (grads[1] * c["u2"]).sum()
    second = tg.grad(mixed, (x, w))
    close(second[0], c["gradgrad_x"], f"{name} second derivative (input)")
    close(second[1], c["gradgrad_weight"], f"{name} second derivative (weight)")


@pytest.mark.parametrize("name", [str(n) for n in REF["pool_cases"]])
def test_pooling_matches_pytorch(name):
    """Ties included: the gradient goes to the first maximum, as PyTorch's."""
    c = _case(name)
    kw = json.loads(str(c["kwargs"]))
    x = tg.Tensor(c["x"], requires_grad=True)
    out = getattr(F, str(c["fn"]))(x, **kw)
    if kw.get("return_indices"):
        out, idx = out
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(idx.data, c["indices"])
    close(out, c["out"], f"{name} output")
    (g,) = tg.grad((out * c["v"]).sum(), (x,))
    close(g, c["grad_x"], f"{name} input gradient")


def test_max_pool_tie_sends_the_whole_gradient_to_the_first_maximum():
    x = tg.Tensor(np.array([[[[1.0, 3.0, 3.0, 0.0]]]]), requires_grad=True)
    F.max_pool2d(x, (1, 4)).sum().backward()
    assert np.array_equal(x.grad.data, [[[[0.0, 1.0, 0.0, 0.0]]]])


# ---- shape rules ----------------------------------------------------------------
@pytest.mark.parametrize("h,k,s,p,d", [(5, 3, 1, 0, 1), (5, 3, 2, 1, 1), (7, 2, 3, 2, 2), (4, 4, 1, 0, 1)])
def test_conv2d_output_size_formula(h, k, s, p, d):
    x, w = np.zeros((2, 3, h, h + 1)), np.zeros((4, 3, k, k))
    out = F.conv2d(x, w, stride=s, padding=p, dilation=d)
    size = lambda n: (n + 2 * p - d * (k - 1) - 1) // s + 1  # noqa: E731
    assert out.shape == (2, 4, size(h), size(h + 1))


def test_same_padding_keeps_the_size_and_unbatched_inputs_stay_unbatched():
    assert F.conv2d(np.zeros((3, 5, 6)), np.zeros((2, 3, 2, 4)), padding="same").shape == (2, 5, 6)
    assert F.conv1d(np.zeros((3, 7)), np.zeros((2, 3, 4)), padding="same").shape == (2, 7)
    assert F.conv_transpose2d(np.zeros((3, 4, 4)), np.zeros((3, 2, 3, 3)), stride=2,
                              output_padding=1).shape == (2, 10, 10)
    assert F.max_pool2d(np.zeros((3, 4, 4)), 2).shape == (3, 2, 2)
    assert F.adaptive_avg_pool1d(np.zeros((3, 7)), 3).shape == (3, 3)


def test_conv_transpose_is_the_adjoint_of_conv():
    rng = np.random.default_rng(0)
    x, w, y = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), None
    cx = F.conv2d(x, w, stride=2, padding=1, dilation=(1, 2), groups=2)
    y = rng.standard_normal(cx.shape)
    ty = F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=(0, 1), dilation=(1, 2), groups=2)
    assert ty.shape == x.shape
    np.testing.assert_allclose((cx.data * y).sum(), (x * ty.data).sum(), rtol=1e-12)


def test_fold_is_the_adjoint_of_unfold_and_counts_overlaps():
    ones = np.ones((1, 1, 4, 4))
    cols = F.unfold(ones, 3, padding=1)
    assert cols.shape == (1, 9, 16)
    counts = F.fold(cols, (4, 4), 3, padding=1).data[0, 0]
    assert np.array_equal(counts, [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])


def test_adaptive_output_size_none_keeps_the_input_size():
    assert F.adaptive_max_pool2d(np.zeros((1, 2, 5, 7)), (None, 3)).shape == (1, 2, 5, 3)


def test_float32_stays_float32():
    x = tg.Tensor(np.ones((1, 2, 4, 4), np.float32), requires_grad=True)
    conv = nn.Conv2d(2, 3, 3, padding=1, rng=0, dtype=np.float32)
    y = F.avg_pool2d(F.max_pool2d(conv(x), 2, 1), 2, 1)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == np.float32


# ---- errors ----------------------------------------------------------------------
@pytest.mark.parametrize("call, kind, words", [
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((2, 3, 3, 3))), ValueError,
     ["conv2d", "(2, 3, 3, 3)", "(1, 4, 5, 5)", "3 channels"]),
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2), ValueError,
     ["conv2d", "out channels 3", "groups=2"]),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), groups=2), ValueError,
     ["conv2d", "groups=2"]),
    (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 5, 5))), ValueError,
     ["conv2d", "larger than the padded input", "(3, 3)", "(5, 5)"]),
    (lambda: F.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), dilation=2), ValueError,
     ["conv2d", "(5, 5)"]),
    (lambda: F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding="same", stride=2),
     ValueError, ["conv2d", "same", "stride"]),
    (lambda: F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), padding="full"), ValueError,
     ["conv2d", "'full'"]),
    (lambda: F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 3, 3))), ValueError,
     ["conv2d", "4-D weight", "(1, 3, 3)"]),
    (lambda: F.conv2d(np.zeros((5, 5)), np.zeros((1, 1, 3, 3))), ValueError, ["conv2d", "(5, 5)"]),
    (lambda: F.conv1d(np.zeros((1, 2, 5)), np.zeros((1, 2, 3)), np.zeros(2)), ValueError,
     ["conv1d", "bias", "(1,)", "(2,)"]),
    (lambda: F.conv2d(np.zeros((1, 1, 5, 5), int), np.zeros((1, 1, 3, 3), int)), TypeError,
     ["conv2d", "floating"]),
    (lambda: F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), stride=0), ValueError,
     ["conv2d", "stride"]),
    (lambda: F.conv_transpose2d(np.zeros((1, 2, 3, 3)), np.zeros((2, 1, 3, 3)), stride=2,
                                output_padding=2), ValueError, ["conv_transpose2d", "output_padding"]),
    (lambda: F.conv_transpose2d(np.zeros((1, 3, 3, 3)), np.zeros((2, 1, 3, 3))), ValueError,
     ["conv_transpose2d", "(2, 1, 3, 3)", "(1, 3, 3, 3)"]),
    (lambda: F.conv_transpose2d(np.zeros((1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), padding=1), ValueError,
     ["conv_transpose2d", "not positive"]),
    (lambda: F.fold(np.zeros((1, 6, 4)), (3, 3), 2), ValueError, ["fold", "(1, 6, 4)"]),
    (lambda: F.fold(np.zeros((1, 4, 5)), (3, 3), 2), ValueError, ["fold", "5 columns", "4 windows"]),
    (lambda: F.unfold(np.zeros((1, 2, 2, 2)), 3), ValueError, ["unfold", "(1, 2, 2, 2)"]),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), ValueError, ["max_pool2d", "half"]),
    (lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 3), ValueError, ["max_pool2d", "(1, 1, 2, 2)"]),
    (lambda: F.avg_pool2d(np.zeros((1, 1, 4, 4)), 2, divisor_override=0), ValueError,
     ["avg_pool2d", "divisor_override"]),
    (lambda: F.max_pool1d(np.zeros((1, 1, 4, 4)), 2), ValueError, ["max_pool1d", "(1, 1, 4, 4)"]),
    (lambda: F.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4)), (2, 2, 2)), ValueError,
     ["adaptive_avg_pool2d", "output_size"]),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4), int), 2), TypeError, ["max_pool2d", "int64"]),
])
def test_errors_name_the_op_and_shapes(call, kind, words):
    with pytest.raises(kind) as err:
        call()
    for word in words:
        assert word in str(err.value), f"{word!r} not in {err.value}"


# ---- layers ----------------------------------------------------------------------------
def test_conv_layers_have_pytorch_layouts_and_names():
    conv = nn.Conv2d(4, 6, (3, 2), groups=2, rng=0)
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    assert list(conv.state_dict()) == ["weight", "bias"]
    t = nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False, rng=0)
    assert t.weight.shape == (4, 3, 3, 3) and t.bias is None
    assert nn.Conv1d(2, 3, 5, rng=0).weight.shape == (3, 2, 5)
    assert nn.ConvTranspose1d(2, 3, 5, rng=0).weight.shape == (2, 3, 5)


def test_conv_init_bound_is_one_over_sqrt_fan_in():
    conv = nn.Conv2d(8, 16, 3, rng=0)
    bound = 1 / np.sqrt(8 * 9)
    for p in (conv.weight.data, conv.bias.data):
        assert np.abs(p).max() <= bound and np.abs(p).max() > 0.9 * bound
    assert np.array_equal(nn.Conv2d(8, 16, 3, rng=1).weight.data, nn.Conv2d(8, 16, 3, rng=1).weight.data)
    assert nn.Conv2d(2, 2, 1, rng=0, dtype=np.float32).weight.dtype == np.float32


def test_a_pytorch_state_dict_loads_as_is():
    rng = np.random.default_rng(0)
    state = {"weight": rng.standard_normal((6, 2, 3, 3)), "bias": rng.standard_normal(6)}
    conv = nn.Conv2d(4, 6, 3, padding=1, groups=2, rng=0)
    conv.load_state_dict(state)
    x = rng.standard_normal((1, 4, 5, 5))
    np.testing.assert_allclose(conv(x).data, F.conv2d(x, state["weight"], state["bias"], padding=1, groups=2).data)
    with pytest.raises(ValueError):
        conv.load_state_dict({"weight": state["weight"].transpose(1, 0, 2, 3), "bias": state["bias"]})


def test_layer_reprs_read_like_pytorch():
    assert repr(nn.Conv2d(3, 8, 3, stride=2, padding=1, rng=0)) == \
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert repr(nn.Conv1d(2, 4, 3, padding="same", bias=False, rng=0)) == \
        "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same, bias=False)"
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AdaptiveAvgPool2d((None, 3))) == "AdaptiveAvgPool2d(output_size=(None, 3))"


def test_layer_errors():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="same"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")


def test_pool_layers_call_their_functions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 5))
    np.testing.assert_array_equal(nn.MaxPool2d(3, 2, 1, ceil_mode=True)(x).data,
                                  F.max_pool2d(x, 3, 2, 1, ceil_mode=True).data)
    out, idx = nn.MaxPool1d(2, return_indices=True)(x[:, :, 0])
    assert out.shape == idx.shape == (2, 3, 2)
    np.testing.assert_array_equal(nn.AvgPool2d(2, count_include_pad=False, padding=1)(x).data,
                                  F.avg_pool2d(x, 2, padding=1, count_include_pad=False).data)
    assert nn.AvgPool1d(2)(x[:, :, 0]).shape == (2, 3, 2)
    assert nn.AdaptiveAvgPool2d(1)(x).shape == (2, 3, 1, 1)
    assert nn.AdaptiveAvgPool1d(4)(x[:, :, 0]).shape == (2, 3, 4)
    assert nn.AdaptiveMaxPool2d((2, 3))(x).shape == (2, 3, 2, 3)
    assert nn.AdaptiveMaxPool1d(2, return_indices=True)(x[:, :, 0])[1].shape == (2, 3, 2)


def test_a_small_cnn_trains():
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16, 2, rng=0))
    x = rng.standard_normal((8, 1, 4, 4))
    y = (x[:, 0, :2].sum(axis=(1, 2)) > 0).astype(np.int64)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_max_pool_of_minus_inf_next_to_the_padding_picks_the_first_real_element():
    # PyTorch's windows skip the padding, so an all -inf window's maximum is its first real
    # element (the windows at column 0 see only -inf; values from torch 2.13)
    x = tg.Tensor(np.array([[[[-np.inf, -np.inf, 1.0], [-np.inf, -np.inf, 2.0]]]]), requires_grad=True)
    out, idx = F.max_pool2d(x, (3, 2), stride=1, padding=1, return_indices=True)
    assert np.array_equal(idx.data, [[[[0, 0, 5, 5], [0, 0, 5, 5]]]])
    out.backward(np.ones(out.shape))
    assert np.array_equal(x.grad.data, [[[[4.0, 0.0, 0.0], [0.0, 0.0, 4.0]]]])


def test_results_and_gradients_never_share_the_reused_scratch_memory():
    rng = np.random.default_rng(0)
    w = tg.Tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    xs = [tg.Tensor(rng.standard_normal((2, 3, 5, 5)), requires_grad=True) for _ in range(2)]
    outs = [F.max_pool2d(F.conv2d(x, w, padding=1), 2) for x in xs]
    first = outs[0].data.copy()
    outs[1].sum().backward()  # the same shapes again: every scratch array is reused
    grad = xs[1].grad.data.copy()
    outs[0].sum().backward()
    assert np.array_equal(outs[0].data, first)
    assert np.array_equal(xs[1].grad.data, grad)
    for a, b in ((outs[0], outs[1]), (xs[0].grad, xs[1].grad)):
        assert not np.shares_memory(a.data, b.data)


def test_float32_data_into_a_float64_conv_promotes_as_numpy():
    # as every other op here (numpy's rules): it used to raise while Linear and LSTM promoted
    conv = nn.Conv2d(2, 3, 3, padding=1, rng=0)  # float64 parameters
    x = tg.Tensor(np.random.default_rng(0).normal(size=(1, 2, 4, 4)).astype(np.float32), requires_grad=True)
    y = conv(x)
    assert y.dtype == np.float64
    ref = conv(tg.Tensor(x.data.astype(np.float64)))
    assert np.array_equal(y.data, ref.data)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and conv.weight.grad.dtype == np.float64
