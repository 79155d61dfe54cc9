"""The mathfn and rounding families: numpy's values exactly, PyTorch's derivatives at special points.

The harness (op_cases_mathfn.py) checks every op's gradients against finite
differences away from kinks; here: forward values equal numpy's bit for bit,
derivatives at the special points against PyTorch's (tests/reference/mathfn.npz,
written by make_mathfn.py), masked gradients that must stay nan-free, and errors.
"""
from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor

REF = np.load(pathlib.Path(__file__).parent / "reference" / "mathfn.npz")


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def grads(fn, *values):
    """fn's output and the gradients of sum(out) with respect to each input (arrays)."""
    xs = [leaf(v) for v in values]
    out = fn(*xs)
    return out.data, [g.data for g in tg.grad(out.sum(), xs)]


# ---- forward: numpy's values exactly ----------------------------------------------------------
RNG = np.random.default_rng(0)
X = RNG.uniform(-3, 3, (4, 5))
UNIT = RNG.uniform(-0.95, 0.95, (4, 5))
POS = RNG.uniform(0.1, 4, (4, 5))
UNARY = [
    ("expm1", X), ("exp2", X), ("log2", POS), ("log10", POS), ("tan", X), ("sinh", X), ("cosh", X),
    ("arcsin", UNIT), ("arccos", UNIT), ("arctan", X), ("arcsinh", X), ("arccosh", POS + 1),
    ("arctanh", UNIT), ("sinc", X), ("deg2rad", X), ("rad2deg", X), ("radians", X), ("degrees", X),
    ("fabs", X), ("square", X), ("cbrt", X), ("reciprocal", X), ("sign", X), ("floor", X),
    ("ceil", X), ("rint", X), ("trunc", X), ("fix", X), ("round", X), ("around", X),
    ("nan_to_num", X),
]
BINARY = ["logaddexp", "logaddexp2", "arctan2", "hypot", "fmax", "fmin", "floor_divide", "mod",
          "remainder", "fmod"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,values", UNARY, ids=[n for n, _ in UNARY])
def test_unary_values_equal_numpy_exactly(name, values, dtype):
    x = values.astype(dtype)
    expect = getattr(np, name)(x)
    for out in (getattr(tg, name)(leaf(x, dtype)), getattr(np, name)(leaf(x, dtype))):
        assert out.dtype == expect.dtype and np.array_equal(out.data, expect), name
        assert out.requires_grad  # recorded, even the piecewise-constant ones


@pytest.mark.parametrize("name", BINARY)
def test_binary_values_equal_numpy_exactly_with_broadcasting(name):
    a, b = X, RNG.uniform(0.5, 2, (5,)) * np.sign(RNG.uniform(-1, 1, (5,)))
    expect = getattr(np, name)(a, b)
    for out in (getattr(tg, name)(leaf(a), leaf(b)), getattr(np, name)(leaf(a), b),
                getattr(np, name)(a, leaf(b))):
        assert np.array_equal(out.data, expect), name


def test_operators_and_methods_equal_numpy():
    a, b = X, RNG.uniform(0.5, 2, (4, 1))
    ta = leaf(a)
    assert np.array_equal((ta // b).data, a // b) and np.array_equal((ta % b).data, a % b)
    assert np.array_equal((2.5 // ta).data, 2.5 // a) and np.array_equal((2.5 % ta).data, 2.5 % a)
    q, r = divmod(ta, b)
    assert np.array_equal(q.data, a // b) and np.array_equal(r.data, a % b)
    q, r = np.divmod(ta, b)
    assert np.array_equal(q.data, a // b) and np.array_equal(r.data, a % b)
    assert np.array_equal(round(ta).data, np.round(a)) and np.array_equal(round(ta, 1).data, np.round(a, 1))
    assert np.array_equal(ta.round(2).data, np.round(a, 2)) and np.array_equal(np.round(ta, 2).data, np.round(a, 2))
    assert np.array_equal(ta.frac().data, a - np.trunc(a))
    assert np.array_equal(ta.clamp(-1, 1).data, np.clip(a, -1, 1))
    assert np.array_equal(ta.add(b, alpha=2).data, a + 2 * b) and np.array_equal(ta.sub(b, alpha=2).data, a - 2 * b)
    assert np.array_equal(ta.mul(b).data, a * b) and np.array_equal(ta.true_divide(b).data, a / b)
    assert np.array_equal(ta.pow(2).data, a ** 2) and np.array_equal(ta.neg().data, -a)
    assert np.array_equal(tg.xlogy(ta, b).data, a * np.log(b))
    assert np.array_equal(ta.abs().data, np.abs(a)) and np.array_equal(ta.sgn().data, np.sign(a))


def test_integer_values_follow_numpy():
    a, b = np.array([-7, -6, -1, 0, 1, 6, 7]), np.array([2, -3, 2, 3, -2, 4, 3])
    ta = Tensor(a)
    for name in ("floor_divide", "mod", "fmod"):
        out = getattr(tg, name)(ta, b)
        assert out.dtype == a.dtype and np.array_equal(out.data, getattr(np, name)(a, b))
    assert np.array_equal(tg.sign(ta).data, np.sign(a)) and tg.floor(ta).dtype == np.floor(a).dtype


# ---- PyTorch's values and gradients ------------------------------------------------------------
TORCH = {
    "remainder": tg.remainder, "fmod": tg.fmod,
    "div_trunc": lambda a, b: tg.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda a, b: a.div(b, rounding_mode="floor"),
    "floor_divide": tg.floor_divide, "int_remainder": tg.remainder, "int_fmod": tg.fmod,
    "int_div_trunc": lambda a, b: tg.div(a, b, rounding_mode="trunc"),
    "int_div_floor": lambda a, b: tg.div(a, b, rounding_mode="floor"),
    "clamp": lambda a: tg.clamp(a, 0.0, 1.0), "clamp_min": lambda a: a.clamp_min(0.0),
    "clamp_max": lambda a: tg.clamp_max(a, 1.0), "clamp_tensor": tg.clamp, "clamp_crossed": tg.clamp,
    "sign": tg.sign, "round": tg.round, "round_decimals": lambda a: a.round(1),
    "round_decimals_negative": lambda a: tg.round(a, -1), "floor": tg.floor, "ceil": tg.ceil,
    "trunc": tg.trunc, "frac": tg.frac, "sinc": tg.sinc, "sinc_at_0": np.sinc,
    "logaddexp": tg.logaddexp, "logaddexp2": tg.logaddexp2, "logaddexp_hess": tg.logaddexp,
    "hypot": tg.hypot, "atan2": tg.atan2, "atan2_hess": np.arctan2, "xlogy": tg.xlogy, "nan_to_num": tg.nan_to_num,
    "nan_to_num_values": lambda a: tg.nan_to_num(a, nan=2.0, posinf=9.0, neginf=-9.0),
    "fmax": tg.fmax, "fmin": tg.fmin, "maximum_tie": tg.maximum, "asin": tg.asin, "acosh": tg.acosh,
    "atanh": tg.atanh, "exp2": tg.exp2, "log2": tg.log2, "rsqrt": tg.rsqrt, "square": tg.square,
    "sqrt_relu": lambda a: tg.sqrt(tg.relu(a)), "relu_pow_half": lambda a: tg.relu(a) ** 0.5,
    "sqrt_clamp": lambda a: tg.sqrt(tg.clip(a, 0.0, None)),
    "sqrt_maximum": lambda a: tg.sqrt(tg.maximum(a, np.zeros(4))),
    "pow_tensor_exponent": lambda a, b: a ** b, "pow_scalar_zero": lambda a: a ** 0,
}
CASES = sorted({k.split("/")[0] for k in REF.files})


def test_every_reference_case_is_checked():
    assert set(CASES) == set(TORCH)


def _close(ours, theirs, what, atol=1e-300):
    assert ours.shape == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=atol, equal_nan=True, err_msg=what)


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_match_pytorch(case):
    n_in = sum(1 for k in REF.files if k.startswith(f"{case}/in"))
    ins = [REF[f"{case}/in{i}"] for i in range(n_in)]
    xs = [Tensor(x, requires_grad=x.dtype.kind == "f") for x in ins]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's 0/0 and log(0) where torch agrees
        out = TORCH[case](*xs)
        # values are numpy's: they may differ from torch's in the last bit (logaddexp2(-1, -1) is 0
        # in numpy, -4.8e-17 in torch)
        _close(out.data, REF[f"{case}/out"], f"{case}: value", atol=1e-15)
        if f"{case}/g" not in REF.files:
            return
        hess = f"{case}/hess0" in REF.files
        gs = tg.grad(out, xs, Tensor(REF[f"{case}/g"]), create_graph=hess)
        for i, g in enumerate(gs):
            _close(g.data, REF[f"{case}/grad{i}"], f"{case}: gradient of input {i}")
        if hess:
            (h,) = tg.grad(gs[0].sum(), xs[0])
            _close(h.data, REF[f"{case}/hess0"], f"{case}: second derivative")


# ---- derivatives at the special points -----------------------------------------------------------
def test_piecewise_constant_ops_have_zero_gradient_and_sit_in_graphs():
    x = leaf([-2.5, -0.5, 0.0, 0.5, 1.7])
    for fn in (tg.sign, tg.floor, tg.ceil, tg.round, tg.rint, tg.trunc, tg.fix,
               lambda a: a // 2.0, lambda a: 3.0 // a, lambda a: tg.div(a, 2.0, rounding_mode="trunc")):
        x.grad = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            fn(x).sum().backward()
        assert np.array_equal(x.grad.data, np.zeros(5)), fn
    # sign(x) * x == |x|: the gradient is sign(x), all of it from the product rule's second term
    x.grad = None
    (tg.sign(x) * x).sum().backward()
    assert np.array_equal(x.grad.data, np.sign(x.data))


def test_mod_and_fmod_gradients_follow_pytorch_with_broadcasting():
    x, y = leaf([[-7.5], [7.5]]), leaf([2.0, -2.0])
    (x % y).sum().backward()
    assert np.array_equal(x.grad.data, [[2.0], [2.0]])
    assert np.array_equal(y.grad.data, -np.floor_divide([[-7.5], [7.5]], [2.0, -2.0]).sum(0))
    x.grad = y.grad = None
    tg.fmod(x, y).sum().backward()
    assert np.array_equal(y.grad.data, -np.trunc(np.divide([[-7.5], [7.5]], [2.0, -2.0])).sum(0))


def test_sinc_derivatives_at_and_near_zero():
    x = leaf([0.0, 1e-9, -0.0199, 0.0201, 0.5])
    (g,) = tg.grad(tg.sinc(x).sum(), x, create_graph=True)
    d = x.data
    exact = np.where(d == 0, 0, (np.cos(np.pi * d) - np.sinc(d)) / np.where(d == 0, 1, d))
    assert g.data[0] == 0.0
    np.testing.assert_allclose(g.data[2:], exact[2:], rtol=1e-10)
    np.testing.assert_allclose(g.data[1], -np.pi ** 2 / 3 * 1e-9, rtol=1e-12)  # the quotient loses it
    (h,) = tg.grad(g.sum(), x)
    assert np.isclose(h.data[0], -np.pi ** 2 / 3, rtol=1e-14)  # torch: nan
    assert np.all(np.isfinite(h.data))


def test_fmax_gradient_goes_to_the_number_and_ties_split():
    a, b = leaf([1.0, np.nan, 3.0, 2.0, np.nan]), leaf([2.0, 1.0, np.nan, 2.0, np.nan])
    tg.fmax(a, b).sum().backward()
    assert np.array_equal(a.grad.data, [0.0, 0.0, 1.0, 0.5, 1.0])
    assert np.array_equal(b.grad.data, [1.0, 1.0, 0.0, 0.5, 0.0])
    a.grad = b.grad = None
    np.fmin(a, b).sum().backward()
    assert np.array_equal(a.grad.data, [1.0, 0.0, 1.0, 0.5, 1.0])
    assert np.array_equal(b.grad.data, [0.0, 1.0, 0.0, 0.5, 0.0])


def test_exact_first_derivatives():
    d = X
    x = leaf(d)
    for fn, expect in [(tg.square, 2 * d), (tg.expm1, np.expm1(d) + 1), (tg.deg2rad, np.full_like(d, np.pi / 180)),
                       (tg.tan, 1 + np.tan(d) * np.tan(d)), (tg.sinh, np.cosh(d)), (tg.frac, np.ones_like(d))]:
        x.grad = None
        fn(x).sum().backward()
        assert np.array_equal(x.grad.data, expect), fn


# ---- masked gradients: 0, never nan, first and second order ---------------------------------------
MASKED = {
    "sqrt(relu(x))": lambda a: tg.sqrt(tg.relu(a)),
    "sqrt(clip(x, 0, None))": lambda a: tg.sqrt(tg.clip(a, 0.0, None)),
    "sqrt(clamp(x, min=0))": lambda a: tg.sqrt(a.clamp(min=0.0)),
    "sqrt(maximum(x, 0))": lambda a: tg.sqrt(tg.maximum(a, 0.0)),
    "sqrt(minimum(-x, 0) * -1)": lambda a: tg.sqrt(-tg.minimum(-a, 0.0)),
    "relu(x) ** 0.5": lambda a: tg.relu(a) ** 0.5,
    "sqrt(nan_to_num(log(x)))": lambda a: tg.sqrt(tg.nan_to_num(tg.log(tg.relu(a) + 1), nan=0.0)),
    "sqrt(where(x > 0, x, 0))": lambda a: tg.sqrt(tg.where(a.data > 0, a, 0.0)),
    "sqrt(fmax(x, 0))": lambda a: tg.sqrt(tg.fmax(a, 0.0)),
}


@pytest.mark.parametrize("name", MASKED)
def test_masked_gradients_are_zero_not_nan_where_x_is_negative(name):
    x = leaf([-2.0, -0.5, 1.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        (g,) = tg.grad(MASKED[name](x).sum(), x, create_graph=True)
        assert np.array_equal(g.data[:2], [0.0, 0.0]) and np.all(np.isfinite(g.data)), g.data
        (h,) = tg.grad(g.sum(), x)
    assert np.array_equal(h.data[:2], [0.0, 0.0]) and np.all(np.isfinite(h.data)), h.data


def test_abs_at_zero_selects_zero_even_under_an_infinite_gradient():
    # torch gives nan here (its abs backward multiplies by sign(x)); selecting gives the subgradient 0
    x = leaf([-4.0, 0.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tg.sqrt(tg.abs(x)).sum().backward()
    assert np.array_equal(x.grad.data, [-0.25, 0.0, 0.25])


def test_pow_at_zero_has_pytorchs_zero_gradients():
    a, b = leaf([0.0, 0.0, 2.0, 0.0]), leaf([0.0, 1.0, 0.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 * inf, no log(0) computed
        (a ** b).sum().backward()
    assert np.array_equal(a.grad.data, [0.0, 1.0, 0.0, 0.0])
    assert np.array_equal(b.grad.data, [0.0, 0.0, np.log(2.0), 0.0])
    x = leaf([0.0, 3.0])
    (g,) = tg.grad((x ** 0).sum(), x, create_graph=True)
    assert np.array_equal(g.data, [0.0, 0.0])


# ---- errors --------------------------------------------------------------------------------------
def test_integer_to_negative_integer_power_raises():
    with pytest.raises(ValueError, match="integers to negative integer powers are not allowed"):
        Tensor([2, 3]) ** -1
    with pytest.raises(ValueError, match="integers to negative integer powers"):
        tg.pow(Tensor([2]), np.array([-2]))
    with pytest.raises(ValueError, match="could not be broadcast"):
        Tensor([1.0, 2.0]) ** Tensor([1.0, 2.0, 3.0])


def test_pytorch_habits_that_numpy_reads_differently_raise():
    with pytest.raises(TypeError, match="numpy's second positional argument is copy"):
        tg.nan_to_num(Tensor([np.nan]), 0.5)
    with pytest.raises(ValueError, match="copy=False"):
        tg.nan_to_num(Tensor([np.nan]), copy=False)
    with pytest.raises(TypeError, match="torch.reciprocal returns floats"):
        tg.reciprocal(Tensor([2, 4]))
    with pytest.raises(TypeError, match="torch.reciprocal returns floats"):
        np.reciprocal(Tensor([2]))


def test_bad_arguments_raise_naming_the_op():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor'"):
        tg.div(x, 2.0, rounding_mode="round")
    with pytest.raises(ValueError, match="clamp: at least one of min and max"):
        x.clamp()
    with pytest.raises(ValueError, match="hypot: operands could not be broadcast"):
        tg.hypot(x, np.ones(3))
    with pytest.raises(TypeError, match="fmod: unsupported operand types"):
        tg.fmod(x, "a")
    with pytest.raises(TypeError, match="round: decimals must be an int"):
        tg.round(x, 1.5)
    with pytest.raises(TypeError, match="logaddexp: unsupported operand"):
        tg.logaddexp(x, None)
    with pytest.raises(TypeError, match="expm1: expected a Tensor or a numeric array-like"):
        tg.expm1("x")


def test_complex_inputs_have_no_gradient_but_compute():
    # complex autograd is refused where the tensor is made (and centrally in record)...
    with pytest.raises(TypeError, match="complex"):
        Tensor(np.array([1 + 1j]), requires_grad=True)
    x = Tensor(np.array([0.5]), requires_grad=True)
    with pytest.raises(TypeError, match="complex"):
        tg.expm1(x) * 1j
    # ...while complex values without gradient go through these ops as numpy's
    z = Tensor(np.array([3 + 4j]))
    for fn, ref in ((tg.expm1, np.expm1), (tg.sinc, np.sinc), (np.square, np.square),
                    (tg.nan_to_num, np.nan_to_num)):
        assert np.array_equal(fn(z).data, ref(z.data))
    assert np.array_equal(tg.sign(z).data, [0.6 + 0.8j])  # numpy 2's sign: z/|z|


def test_large_masked_gradients_take_the_fast_product_only_when_it_is_exact():
    # above 2048 elements relu/maximum/clip multiply by the mask when the gradient is finite
    x = leaf(np.linspace(-1, 1, 20001))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for fn in (tg.relu, lambda a: tg.maximum(a, 0.0), lambda a: tg.clip(a, 0.0, None)):
            x.grad = None
            tg.sqrt(fn(x)).sum().backward()  # inf gradient at x <= 0
            assert np.all(np.isfinite(x.grad.data[x.data < 0])) and np.all(x.grad.data[x.data < 0] == 0)
            x.grad = None
            fn(x).backward(np.full(x.shape, 2.0))
            assert np.array_equal(x.grad.data, np.where(x.data > 0, 2.0, np.where(x.data == 0, x.grad.data, 0)))


def test_torch_method_names_exist_and_agree_with_the_functions():
    x = leaf([0.3, 0.6])
    for name in ("exp2", "log2", "log10", "expm1", "atan2", "arctan2", "asin", "acos", "atan", "asinh",
                 "atanh", "frac", "rsqrt", "square", "abs", "neg", "negative", "sign", "sgn", "floor",
                 "ceil", "round", "trunc", "fix", "xlogy", "hypot", "logaddexp", "fmax", "fmin", "clamp",
                 "clamp_min", "clamp_max", "nan_to_num", "reciprocal", "div", "mul", "add", "sub", "pow",
                 "true_divide", "floor_divide", "remainder", "fmod", "sinc", "deg2rad", "rad2deg"):
        assert callable(getattr(Tensor, name)), name
    assert np.array_equal((x + 1).acosh().data, np.arccosh(x.data + 1))
    assert np.array_equal(x.atan2(x).data, np.arctan2(x.data, x.data))
    assert np.array_equal(x.remainder(0.25).data, np.mod(x.data, 0.25))
