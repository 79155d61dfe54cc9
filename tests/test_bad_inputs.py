"""The bad-input catalogue: every public entry point, fed wrong types, shapes,
dtypes, empty arrays, NaN/inf and out-of-range values.

Each row of a table is one call. It must either raise the documented
exception with a message naming what was wrong (the op, the argument, the
offending shape/dtype/value), or give the documented result (NaN propagates
as in numpy, empty reductions follow numpy). Either way, the inputs, the
parameters, optimizer state and files it was given are left unchanged: the
harness snapshots everything in the case's environment before the call and
compares after.
"""
from __future__ import annotations

import copy
import os
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import Tensor, nn, optim
from tinygrad_edu.nn import functional as F


# ---- the harness ---------------------------------------------------------------
def _snapshot(obj):
    if isinstance(obj, Tensor):
        g = obj.grad
        return ("tensor", obj.data.copy(), g.data.copy() if isinstance(g, Tensor) else copy.copy(g),
                obj.requires_grad, obj.grad_fn)
    if isinstance(obj, nn.Module):
        return ("module", {k: v.copy() for k, v in obj.state_dict().items()},
                [None if p.grad is None else p.grad.data.copy() for p in obj.parameters()], obj.training)
    if isinstance(obj, optim.Optimizer):
        return ("optim", copy.deepcopy(obj.state_dict()), [p.data.copy() for g in obj.param_groups for p in g["params"]])
    if isinstance(obj, np.ndarray):
        return ("array", obj.copy())
    if isinstance(obj, str) and os.path.isdir(obj):
        return ("dir", sorted(os.listdir(obj)))
    if isinstance(obj, str) and os.path.exists(obj):
        with open(obj, "rb") as f:
            return ("file", f.read())
    if isinstance(obj, str) and obj.endswith(".npz"):
        return ("nofile",)
    return ("other",)


def _same(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a is b or a == b


def _unchanged(env, before):
    for key, obj in env.items():
        after = _snapshot(obj)
        if before[key][0] == "nofile":
            assert not os.path.exists(obj), f"{key}: a file was created by a failed call"
        else:
            assert _same(before[key], after), f"{key} was changed by the call"


def run_case(make_env, call, expect, match=None):
    """Build the environment, snapshot it, make the call, check the outcome and that nothing changed."""
    env = make_env()
    before = {k: _snapshot(v) for k, v in env.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's nan/inf warnings: documented
        if isinstance(expect, type) and issubclass(expect, BaseException):
            with pytest.raises(expect, match=match):
                call(env)
            _unchanged(env, before)
        else:
            result = call(env)
            expect(result)
            _unchanged(env, before)


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def _env_basic():
    return {"x": leaf(np.arange(6.0).reshape(2, 3)), "v": leaf([1.0, 2.0, 3.0]),
            "i": Tensor(np.arange(6).reshape(2, 3)), "arr": np.ones((2, 3))}


# ---- Tensor construction and factories -------------------------------------
CONSTRUCTION = [
    ("string", lambda e: Tensor("abc"), TypeError, r"Tensor: .*str.*dtype <U3"),
    ("None", lambda e: Tensor(None), TypeError, r"Tensor: .*NoneType.*object"),
    ("dict", lambda e: Tensor({"a": 1}), TypeError, r"Tensor: .*dict"),
    ("object", lambda e: Tensor(object()), TypeError, r"Tensor: .*object"),
    ("list of strings", lambda e: Tensor(["a", "b"]), TypeError, r"Tensor: .*dtype <U1"),
    ("ragged", lambda e: Tensor([[1.0, 2.0], [3.0]]), ValueError, r"Tensor: cannot make an array of list.*inhomogeneous"),
    ("unknown dtype", lambda e: Tensor([1.0], dtype="foo"), TypeError, r"Tensor: .*'foo'"),
    ("string to float", lambda e: Tensor(["a"], dtype=np.float64), ValueError, r"Tensor: .*'a'"),
    ("int requires grad", lambda e: Tensor([1, 2], requires_grad=True), TypeError, r"floating-point.*int64"),
    ("bool requires grad", lambda e: Tensor([True], requires_grad=True), TypeError, r"floating-point.*bool"),
    ("from_numpy list", lambda e: tg.from_numpy([1.0]), TypeError, r"from_numpy: expected np.ndarray, got list"),
    ("from_numpy strings", lambda e: tg.from_numpy(np.array(["a"])), TypeError, r"from_numpy: .*numeric.*<U1"),
    ("zeros negative", lambda e: tg.zeros(-1), ValueError, r"zeros\(-1,\): negative"),
    ("zeros str", lambda e: tg.zeros("a"), TypeError, r"zeros\('a',\)"),
    ("ones float size", lambda e: tg.ones(2.5), TypeError, r"ones\(2.5,\)"),
    ("full string", lambda e: tg.full((2,), "x"), TypeError, r"full.*numeric.*<U1"),
    ("eye negative", lambda e: tg.eye(-2), ValueError, r"eye\(-2, None\)"),
    ("arange zero step", lambda e: tg.arange(0, 5, 0), ZeroDivisionError, None),
    ("rand bad rng", lambda e: tg.rand(2, rng="seed"), TypeError, r"rand\(2,\)"),
    ("randn negative", lambda e: tg.randn(-3), ValueError, r"randn\(-3,\)"),
    ("zeros_like string array", lambda e: tg.zeros_like(np.array(["a"])), TypeError, r"zeros_like.*numeric"),
    ("requires_grad_ on int", lambda e: e["i"].requires_grad_(), TypeError, r"floating-point.*int64"),
    ("requires_grad_(False) on non-leaf", lambda e: (e["x"] * 2).requires_grad_(False), RuntimeError, r"non-leaf.*detach"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in CONSTRUCTION], ids=[c[0] for c in CONSTRUCTION])
def test_construction(call, expect, match):
    run_case(_env_basic, call, expect, match)


def test_construction_documented_results():
    # NaN and inf are stored as given; empty arrays are fine; complex is accepted (without grad:
    # complex autograd is not supported)
    t = Tensor([np.nan, np.inf, -np.inf])
    assert np.array_equal(t.data, [np.nan, np.inf, -np.inf], equal_nan=True)
    assert Tensor(np.zeros((0, 3))).shape == (0, 3)
    assert Tensor([]).shape == (0,) and Tensor([]).dtype == np.float64
    assert Tensor([1j]).dtype == np.complex128
    with pytest.raises(TypeError, match="complex autograd is not supported"):
        Tensor([1j], requires_grad=True)


# ---- ops: wrong types -------------------------------------------------------
BAD_OPERANDS = [("str", "a"), ("None", None), ("dict", {}), ("object", object()), ("list of str", ["a", "b", "c"])]

BINARY = [("add", lambda a, b: a + b), ("radd", lambda a, b: b + a), ("sub", lambda a, b: a - b),
          ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b), ("pow", lambda a, b: a ** b),
          ("maximum", lambda a, b: tg.maximum(a, b)), ("minimum", lambda a, b: tg.minimum(a, b)),
          ("matmul", lambda a, b: a @ b), ("dot", lambda a, b: tg.dot(a, b)),
          ("where", lambda a, b: tg.where(np.ones(3, bool), a, b)),
          ("clip", lambda a, b: tg.clip(a, b, None))]
_OP_NAME = {"radd": "add"}


@pytest.mark.parametrize("opname, op", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("kind, bad", BAD_OPERANDS, ids=[b[0] for b in BAD_OPERANDS])
def test_binary_ops_refuse_non_numeric_operands(opname, op, kind, bad):
    name = _OP_NAME.get(opname, opname)
    if opname == "clip" and bad is None:   # clip(x, None, None): no bound at all
        run_case(_env_basic, lambda e: op(e["v"], bad), ValueError, r"clip: at least one of a_min and a_max")
        return
    run_case(_env_basic, lambda e: op(e["v"], bad), TypeError, rf"{name}: ")


UNARY_NAMES = ["exp", "log", "log1p", "sqrt", "sin", "cos", "abs", "tanh", "sigmoid", "relu", "neg",
               "sum", "mean", "max", "min", "var", "std", "logsumexp", "softmax", "log_softmax",
               "reshape", "transpose", "squeeze", "expand_dims", "broadcast_to", "flatten", "astype"]
_EXTRA_ARGS = {"reshape": (3,), "expand_dims": (0,), "broadcast_to": ((3,),), "astype": (np.float32,)}


@pytest.mark.parametrize("name", UNARY_NAMES)
@pytest.mark.parametrize("kind, bad", BAD_OPERANDS[:4], ids=[b[0] for b in BAD_OPERANDS[:4]])
def test_tensor_first_ops_refuse_non_numeric_arguments(name, kind, bad):
    fn = getattr(tg, name)
    run_case(_env_basic, lambda e: fn(bad, *_EXTRA_ARGS.get(name, ())), TypeError, rf"{name}: expected a Tensor")


@pytest.mark.parametrize("name", ["exp", "sum", "reshape", "softmax", "sigmoid", "flatten"])
def test_tensor_first_ops_accept_numeric_array_likes_like_numpy(name):
    fn = getattr(tg, name)
    args = _EXTRA_ARGS.get(name, ())
    out = fn([1.0, 2.0, 3.0], *args)
    assert isinstance(out, Tensor) and not out.requires_grad
    ref = fn(Tensor([1.0, 2.0, 3.0]), *args)
    assert np.array_equal(out.data, ref.data)


def test_non_numeric_joins_and_conditions():
    run_case(_env_basic, lambda e: tg.stack(["a", "b"]), TypeError, r"stack: operands must be numeric")
    run_case(_env_basic, lambda e: tg.concatenate([e["v"], ["a"]]), TypeError, r"concatenate: operands must be numeric")
    run_case(_env_basic, lambda e: tg.where("abc", e["v"], 0.0), TypeError, r"where: condition .*\(dtype <U3\)")
    run_case(_env_basic, lambda e: e["v"].astype("foo"), TypeError, r"astype: 'foo' is not a numpy dtype")
    run_case(_env_basic, lambda e: e["v"].astype(np.str_), TypeError, r"astype: .*numeric dtype, got <U0")


# ---- ops: shapes, axes, indices -------------------------------------------
SHAPES = [
    ("add", lambda e: e["x"] + np.ones(4), ValueError, r"add: .*shapes \(2, 3\) and \(4,\)"),
    ("mul tensors", lambda e: e["x"] * Tensor(np.ones((3, 2))), ValueError, r"mul: .*\(2, 3\) and \(3, 2\)"),
    ("div", lambda e: e["x"] / np.ones((2, 2)), ValueError, r"div: .*\(2, 3\) and \(2, 2\)"),
    ("maximum", lambda e: tg.maximum(e["x"], np.ones(2)), ValueError, r"maximum: .*\(2, 3\) and \(2,\)"),
    ("matmul", lambda e: e["x"] @ np.ones((2, 2)), ValueError, r"matmul: shapes \(2, 3\) and \(2, 2\)"),
    ("matmul 0-d", lambda e: e["x"] @ 2.0, ValueError, r"matmul: shapes \(2, 3\) and \(\)"),
    ("dot 3-d", lambda e: tg.dot(np.ones((2, 2, 3)), e["x"]), ValueError, r"dot: shapes \(2, 2, 3\) and \(2, 3\)"),
    ("dot shapes", lambda e: tg.dot(e["x"], np.ones(2)), ValueError, r"dot: shapes \(2, 3\) and \(2,\)"),
    ("where", lambda e: tg.where(np.ones(4, bool), e["x"], 0.0), ValueError, r"where: .*\(4,\), \(2, 3\)"),
    ("clip bounds", lambda e: e["x"].clip(np.zeros(4), 1), ValueError, r"clip: bounds .*\(2, 3\)"),
    ("clip no bounds", lambda e: e["x"].clip(), ValueError, r"clip: at least one"),
    ("reshape size", lambda e: e["x"].reshape(4), ValueError, r"reshape: .*\(2, 3\) into shape \(4,\)"),
    ("reshape two -1", lambda e: e["x"].reshape(-1, -1), ValueError, r"reshape: .*\(-1, -1\)"),
    ("transpose repeated", lambda e: e["x"].transpose(0, 0), ValueError, r"transpose: axis \(0, 0\) names the same axis twice"),
    ("transpose short", lambda e: e["x"].transpose(0), ValueError, r"transpose: axes \(0,\) do not match .*\(2, 3\)"),
    ("swapaxes", lambda e: e["x"].swapaxes(0, 5), ValueError, r"swapaxes: axis \(0, 5\) is out of range"),
    ("squeeze size>1", lambda e: e["x"].squeeze(0), ValueError, r"squeeze: cannot squeeze axis 0 .*\(2, 3\)"),
    ("expand_dims", lambda e: e["x"].unsqueeze(5), ValueError, r"expand_dims: axis 5 is out of range"),
    ("broadcast_to", lambda e: tg.broadcast_to(e["x"], (3, 3)), ValueError, r"broadcast_to: .*\(2, 3\) to \(3, 3\)"),
    ("flatten", lambda e: e["x"].flatten(5), ValueError, r"flatten: axis \(5, -1\) is out of range"),
    ("concatenate shapes", lambda e: tg.concatenate([e["x"], np.ones((2, 2))]), ValueError, r"concatenate: .*\[\(2, 3\), \(2, 2\)\]"),
    ("concatenate axis", lambda e: tg.concatenate([e["x"], e["x"]], axis=4), ValueError, r"concatenate: .*axis 4"),
    ("concatenate nothing", lambda e: tg.concatenate([]), ValueError, r"concatenate: need at least one"),
    ("stack shapes", lambda e: tg.stack([e["x"], e["v"]]), ValueError, r"stack: .*\[\(2, 3\), \(3,\)\]"),
    ("stack nothing", lambda e: tg.stack([]), ValueError, r"stack: need at least one"),
    ("getitem out of range", lambda e: e["x"][5], IndexError, r"getitem: index 5 .*\(2, 3\)"),
    ("getitem too many", lambda e: e["x"][0, 0, 0], IndexError, r"getitem: .*\(2, 3\)"),
    ("getitem str", lambda e: e["x"]["a"], IndexError, r"getitem: index 'a'"),
    ("getitem float", lambda e: e["x"][1.5], IndexError, r"getitem: index 1.5"),
    ("getitem mask shape", lambda e: e["x"][np.array([True])], IndexError, r"getitem: .*boolean index"),
    ("getitem float array", lambda e: e["x"][np.array([0.0])], IndexError, r"getitem: .*integer"),
    ("max of empty", lambda e: Tensor(np.zeros((0, 2))).max(axis=0), ValueError, r"max: cannot reduce .*\(0, 2\)"),
    ("min of empty", lambda e: tg.min(np.zeros(0)), ValueError, r"min: cannot reduce"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in SHAPES], ids=[c[0] for c in SHAPES])
def test_shapes_and_indices(call, expect, match):
    run_case(_env_basic, call, expect, match)


AXIS_OPS = ["sum", "mean", "max", "min", "var", "std", "logsumexp", "softmax", "log_softmax"]


@pytest.mark.parametrize("name", AXIS_OPS)
@pytest.mark.parametrize("axis, expect, match", [
    (2, ValueError, r"axis 2 is out of range for a tensor of shape \(2, 3\)"),
    (-3, ValueError, r"axis -3 is out of range"),
    ("a", TypeError, r"axis must be an int or a tuple of ints, got 'a' \(str\)"),
    (1.5, TypeError, r"axis must be an int or a tuple of ints, got 1.5 \(float\)"),
    ((0, 0), ValueError, r"axis \(0, 0\) names the same axis twice"),
], ids=["too big", "too negative", "str", "float", "repeated"])
def test_reductions_name_the_bad_axis(name, axis, expect, match):
    run_case(_env_basic, lambda e: getattr(e["x"], name)(axis=axis), expect, rf"{name}: {match}")


def test_axis_and_dim_together():
    run_case(_env_basic, lambda e: e["x"].sum(axis=0, dim=1), TypeError, r"axis= or dim=")


# ---- ops: documented results for NaN, inf, empty and out-of-domain values --------
def _is(expected):
    def check(result):
        assert isinstance(result, Tensor)
        assert np.array_equal(result.data, expected, equal_nan=True), (result.data, expected)
    return check


nan, inf = np.nan, np.inf
DOCUMENTED = [
    ("nan propagates through add", lambda e: Tensor([nan, 1.0]) + 1, _is([nan, 2.0])),
    ("nan propagates through exp", lambda e: tg.exp(Tensor([nan])), _is([nan])),
    ("nan in sum", lambda e: Tensor([nan, 1.0]).sum(), _is(nan)),
    ("nan in max (numpy)", lambda e: Tensor([nan, 1.0]).max(), _is(nan)),
    ("nan in maximum (numpy)", lambda e: tg.maximum(Tensor([nan, 1.0]), 0.0), _is([nan, 1.0])),
    ("nan in softmax", lambda e: Tensor([nan, 1.0]).softmax(), _is([nan, nan])),
    ("inf in exp", lambda e: tg.exp(Tensor([inf, -inf])), _is([inf, 0.0])),
    ("inf in logsumexp", lambda e: tg.logsumexp(Tensor([inf, 1.0])), _is(inf)),
    ("-inf in logsumexp", lambda e: tg.logsumexp(Tensor([-inf, -inf])), _is(-inf)),
    ("-inf in softmax", lambda e: Tensor([-inf, 0.0]).softmax(), _is([0.0, 1.0])),
    ("huge in softmax", lambda e: Tensor([1e300, 0.0]).softmax(), _is([1.0, 0.0])),
    ("huge in sigmoid", lambda e: Tensor([-1e4, 1e4]).sigmoid(), _is([0.0, 1.0])),
    ("log of 0 and negative", lambda e: tg.log(Tensor([0.0, -1.0])), _is([-inf, nan])),
    ("sqrt of negative", lambda e: tg.sqrt(Tensor([-1.0])), _is([nan])),
    ("div by zero", lambda e: Tensor([1.0, -1.0, 0.0]) / 0.0, _is([inf, -inf, nan])),
    ("sum of empty", lambda e: Tensor(np.zeros((0, 3))).sum(axis=0), _is([0.0, 0.0, 0.0])),
    ("mean of empty", lambda e: Tensor(np.zeros(0)).mean(), _is(nan)),
    ("matmul of empty", lambda e: Tensor(np.zeros((0, 3))) @ np.ones((3, 2)), _is(np.zeros((0, 2)))),
    ("inner empty matmul", lambda e: Tensor(np.zeros((2, 0))) @ np.ones((0, 2)), _is(np.zeros((2, 2)))),
    ("softmax of empty axis", lambda e: Tensor(np.zeros((0, 2))).softmax(axis=0), _is(np.zeros((0, 2)))),
    ("logsumexp of empty axis", lambda e: tg.logsumexp(Tensor(np.zeros((0, 2))), axis=0), _is([-inf, -inf])),
    ("concatenate empties", lambda e: tg.concatenate([Tensor(np.zeros(0)), Tensor([1.0])]), _is([1.0])),
    ("getitem empty mask", lambda e: e["v"][np.zeros(3, bool)], _is(np.zeros(0))),
    ("int tensor arithmetic (numpy)", lambda e: e["i"] // 1 if False else e["i"] * 2, _is(np.arange(6).reshape(2, 3) * 2)),
    ("int / int gives float (numpy)", lambda e: e["i"] / 2, _is(np.arange(6).reshape(2, 3) / 2)),
    ("bool tensor sum (numpy)", lambda e: Tensor([True, True]).sum(), _is(2)),
    ("float32 * python float stays float32", lambda e: (Tensor([1.0], dtype=np.float32) * 2.5).data.dtype == np.float32,
     lambda r: r is True or bool(r)),
]


@pytest.mark.parametrize("call, check", [c[1:] for c in DOCUMENTED], ids=[c[0] for c in DOCUMENTED])
def test_documented_results(call, check):
    run_case(_env_basic, call, check)


def test_nan_gradients_propagate_and_empty_gradients_have_the_tensors_shape():
    x = leaf([nan, 1.0])
    (x * 2).sum().backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0])
    y = leaf([nan, 1.0])
    (y * y).sum().backward()
    assert np.array_equal(y.grad.data, [nan, 2.0], equal_nan=True)
    z = leaf(np.zeros((0, 3)))
    (z * 2).sum().backward()
    assert z.grad.shape == (0, 3)


# ---- autograd entry points --------------------------------------------------
AUTOGRAD = [
    ("non-scalar backward", lambda e: (e["x"] * 2).backward(), RuntimeError, r"scalar outputs.*\(2, 3\)"),
    ("backward of a constant", lambda e: Tensor([1.0]).sum().backward(), RuntimeError, r"does not require grad"),
    ("gradient of wrong shape", lambda e: (e["x"] * 2).backward(np.ones(3)), RuntimeError, r"gradient has shape \(3,\) but the output has shape \(2, 3\)"),
    ("gradient of strings", lambda e: (e["x"] * 2).backward(np.array(["a"] * 6).reshape(2, 3)), TypeError, r"backward: the gradient must be .*<U1"),
    ("gradient str", lambda e: (e["x"] * 2).backward("a"), TypeError, r"backward: the gradient must be"),
    ("grad of non-tensor input", lambda e: tg.grad((e["x"] * 2).sum(), "a"), TypeError, r"grad: input 0 is a str"),
    ("grad of constant input", lambda e: tg.grad((e["x"] * 2).sum(), Tensor([1.0])), RuntimeError, r"grad: input 0 does not require grad"),
    ("grad of unused input", lambda e: tg.grad((e["x"] * 2).sum(), e["v"]), RuntimeError, r"grad: input 0 \(shape \(3,\)\) was not used"),
    ("grad outputs count", lambda e: tg.grad((e["x"] * 2).sum(), e["x"], grad_outputs=[None, None]), ValueError, r"grad: 1 outputs but 2 grad_outputs"),
    ("grad of non-tensor output", lambda e: tg.grad([1.0], e["x"]), TypeError, r"outputs must be Tensors, got float"),
    ("hook on a constant", lambda e: Tensor([1.0]).register_hook(print), RuntimeError, r"register_hook: .*does not require grad"),
    ("hook not callable", lambda e: e["x"].register_hook(5), TypeError, r"register_hook: the hook must be callable, got int"),
    ("hook returning a wrong shape", lambda e: _hooked(e["x"], lambda g: np.ones(2)), RuntimeError, r"hook .* shape \(2,\) for a tensor of shape \(2, 3\)"),
    ("retain_grad on a constant", lambda e: Tensor([1.0]).retain_grad(), RuntimeError, r"retain_grad: .*does not require grad"),
    ("item of many", lambda e: e["x"].item(), ValueError, r"item: only one-element .*\(2, 3\)"),
    ("float of many", lambda e: float(e["x"]), ValueError, r"item: only one-element"),
    ("len of 0-d", lambda e: len(Tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor"),
    ("numpy function without rule", lambda e: np.histogram(e["x"]), TypeError, r"np.histogram is not supported"),
    ("numpy ufunc without rule", lambda e: np.spacing(e["x"]), TypeError, r"np.spacing is not supported"),
    ("numpy out=", lambda e: np.exp(e["x"], out=np.ones((2, 3))), TypeError, r"np.exp: keyword arguments \['out'\]"),
    ("freed graph", lambda e: _twice(e["x"]), RuntimeError, r"backward through the graph a second time"),
]


def _hooked(x, hook):
    y = x * 2
    y.register_hook(hook)
    y.sum().backward()


def _twice(x):
    y = (x * x).sum()
    y.backward()
    x.grad = None
    y.backward()


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in AUTOGRAD], ids=[c[0] for c in AUTOGRAD])
def test_autograd_entry_points(call, expect, match):
    run_case(_env_basic, call, expect, match)


INPLACE = [
    ("leaf that requires grad", lambda e: e["x"].__iadd__(1), RuntimeError, r"add_: a leaf tensor that requires grad"),
    ("setitem on such a leaf", lambda e: e["x"].__setitem__(0, 1.0), RuntimeError, r"setitem: a leaf tensor"),
    ("result of another shape", lambda e: e["i"].__iadd__(np.ones((2, 2, 3), dtype=np.int64)), ValueError, r"add_: the result has shape \(2, 2, 3\) but .*\(2, 3\)"),
    ("float into int", lambda e: e["i"].__imul__(1.5), ValueError, r"mul_: cannot store a float64 result in a int64 tensor"),
    ("broadcast fails", lambda e: e["i"].__isub__(np.ones(4, dtype=np.int64)), ValueError, r"sub: .*\(2, 3\) and \(4,\)"),
    ("non-numeric", lambda e: e["i"].__iadd__("a"), TypeError, r"add: unsupported operand"),
    ("read-only memory", lambda e: tg.broadcast_to(Tensor([1.0]), (3,)).__iadd__(1), ValueError, r"add_: the tensor's memory is read-only"),
    ("view while recording", lambda e: (e["x"] * 1).T.__iadd__(1), RuntimeError, r"add_: in-place ops on a view"),
    ("setitem bad index", lambda e: e["i"].__setitem__(7, 1), IndexError, r"setitem: index 7 .*\(2, 3\)"),
    ("setitem bad value shape", lambda e: e["i"].__setitem__(0, np.ones(4, dtype=np.int64)), ValueError, r"setitem: a value of shape \(4,\)"),
    ("copy_ bad shape", lambda e: e["i"].copy_(np.ones((3, 3), dtype=np.int64)), ValueError, r"setitem: a value of shape \(3, 3\)"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in INPLACE], ids=[c[0] for c in INPLACE])
def test_inplace_entry_points(call, expect, match):
    run_case(_env_basic, call, expect, match)


# ---- modules -------------------------------------------------------------------
def _env_model():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    model(np.ones((1, 3))).sum().backward()   # parameters with gradients: those must survive too
    return {"model": model, "x": leaf(np.ones((5, 3)))}


def _sd(e, **change):
    sd = e["model"].state_dict()
    sd.update(change)
    return sd


MODULES = [
    ("Linear negative size", lambda e: nn.Linear(-1, 2), ValueError, r"Linear: in_features must be >= 0, got -1"),
    ("Linear float size", lambda e: nn.Linear(2.5, 2), TypeError, r"Linear: in_features must be an integer, got float 2.5"),
    ("Linear str size", lambda e: nn.Linear(2, "a"), TypeError, r"Linear: out_features must be an integer, got str"),
    ("Linear int dtype", lambda e: nn.Linear(2, 2, dtype=np.int64), TypeError, r"floating-point.*int64"),
    ("Linear bad rng", lambda e: nn.Linear(2, 2, rng="x"), TypeError, r"rng must be None, an int seed"),
    ("Linear input width", lambda e: e["model"](np.ones((5, 2))), ValueError, r"linear: shapes \(5, 2\) and \(3, 4\) are not aligned"),
    ("Linear input 0-d", lambda e: e["model"](np.float64(1.0)), ValueError, r"linear: shapes \(\) and \(3, 4\) are not aligned"),
    ("Linear input strings", lambda e: e["model"](np.array([["a"] * 3])), TypeError, r"linear: unsupported operand types"),
    ("Sequential of non-module", lambda e: nn.Sequential(nn.Tanh(), 3), TypeError, r"Sequential: argument 1 is a int, not a Module"),
    ("Sequential index", lambda e: e["model"][7], IndexError, r"Sequential: index 7 is out of range for 3 modules"),
    ("Parameter of ints", lambda e: nn.Parameter([1, 2]), TypeError, r"floating-point.*int64"),
    ("register_parameter non-Parameter", lambda e: e["model"].register_parameter("w", Tensor([1.0])), TypeError, r"register_parameter: 'w' must be a Parameter"),
    ("add_module non-module", lambda e: e["model"].add_module("m", 3), TypeError, r"add_module: 'm' must be a Module"),
    ("forward not defined", lambda e: nn.Module()(1), NotImplementedError, r"Module must define forward"),
    ("load_state_dict missing keys", lambda e: e["model"].load_state_dict({}), KeyError, r"missing keys \['0.weight', '0.bias', '2.weight', '2.bias'\]"),
    ("load_state_dict unexpected key", lambda e: e["model"].load_state_dict(_sd(e, extra=np.ones(1))), KeyError, r"unexpected keys \['extra'\]"),
    ("load_state_dict wrong shape", lambda e: e["model"].load_state_dict(_sd(e, **{"2.bias": np.ones(3)})), ValueError, r"size mismatch for '2.bias': the checkpoint has shape \(3,\), the model has \(2,\)"),
    ("load_state_dict strings", lambda e: e["model"].load_state_dict(_sd(e, **{"0.bias": np.array(["a"] * 4)})), ValueError, r"'0.bias' is not numeric .*<U1"),
    ("load_state_dict None", lambda e: e["model"].load_state_dict(_sd(e, **{"0.bias": None})), ValueError, r"'0.bias' is not numeric \(NoneType"),
    ("load_state_dict complex", lambda e: e["model"].load_state_dict(_sd(e, **{"0.bias": np.ones(4) * 1j})), ValueError, r"'0.bias' has dtype complex128"),
    ("load_state_dict not a dict", lambda e: e["model"].load_state_dict([1, 2]), TypeError, r"load_state_dict for Sequential: expected a dict.*got list"),
    ("load_state_dict late key wrong", lambda e: e["model"].load_state_dict(_sd(e, **{"0.weight": np.zeros((3, 4)), "2.weight": np.ones(1)})), ValueError, r"'2.weight'"),
    ("Embedding float indices", lambda e: nn.Embedding(3, 2, rng=0)(np.array([0.5])), ValueError, r"embedding: indices must be integers, got dtype float64"),
    ("Embedding out of range", lambda e: nn.Embedding(3, 2, rng=0)(np.array([3, -1])), ValueError, r"embedding: indices \[-1, 3\] are out of range for 3"),
    ("Dropout p", lambda e: nn.Dropout(1.5), ValueError, r"Dropout: probability p must be a number in \[0, 1\], got 1.5"),
    ("BatchNorm1d input", lambda e: nn.BatchNorm1d(3)(np.ones((4, 2))), ValueError, r"BatchNorm1d\(3\): expected input of shape \(N, 3\)"),
    ("BatchNorm1d batch of one", lambda e: nn.BatchNorm1d(3)(np.ones((1, 3))), ValueError, r"more than 1 value per channel"),
    ("assign before Module.__init__", lambda e: type("M", (nn.Module,), {"__init__": lambda s: setattr(s, "a", 1)})(), AttributeError, r"cannot assign 'a' before Module.__init__"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in MODULES], ids=[c[0] for c in MODULES])
def test_modules(call, expect, match):
    run_case(_env_model, call, expect, match)


def test_load_state_dict_of_nan_loads_it_as_documented():
    model = nn.Linear(2, 1, rng=0)
    sd = {"weight": np.full((2, 1), np.nan), "bias": np.zeros(1)}
    model.load_state_dict(sd)
    assert np.isnan(model.weight.data).all()


# ---- losses --------------------------------------------------------------------
def _env_loss():
    return {"x": leaf(np.linspace(-1, 1, 12).reshape(4, 3)), "p": leaf([0.2, 0.9]),
            "t": np.array([0, 2, 1, 0]), "y": np.zeros((4, 3))}


LOSSES = [
    ("mse target shape", lambda e: F.mse_loss(e["x"], np.ones((4, 2))), ValueError, r"mse_loss: target shape \(4, 2\) must equal input shape \(4, 3\)"),
    ("mse target strings", lambda e: F.mse_loss(e["x"], "a"), ValueError, r"mse_loss: target must be numeric, got str"),
    ("mse reduction", lambda e: F.mse_loss(e["x"], e["y"], reduction="avg"), ValueError, r"mse_loss: reduction must be one of .*got 'avg'"),
    ("l1 string input", lambda e: F.l1_loss(np.array(["a", "b"]), np.ones(2)), ValueError, r"l1_loss: input must be numeric, got dtype <U1"),
    ("bce input out of [0,1]", lambda e: F.binary_cross_entropy(Tensor([1.5, 0.2]), np.ones(2)), ValueError, r"binary_cross_entropy: all elements of input must be in \[0, 1\], got values in \[0.2, 1.5\]"),
    ("bce target out of [0,1]", lambda e: F.binary_cross_entropy(e["p"], np.array([2.0, 0.0])), ValueError, r"binary_cross_entropy: all elements of target must be in \[0, 1\]"),
    ("bce weight shape", lambda e: F.binary_cross_entropy(e["p"], np.ones(2), weight=np.ones(3)), ValueError, r"binary_cross_entropy"),
    ("bce with logits pos_weight", lambda e: F.binary_cross_entropy_with_logits(e["p"], np.ones(2), pos_weight=np.ones(5)), ValueError, r"binary_cross_entropy_with_logits"),
    ("cross entropy class out of range", lambda e: F.cross_entropy(e["x"], np.array([0, 1, 5, 0])), ValueError, r"cross_entropy: class indices \[5\] are out of range for 3 classes"),
    ("cross entropy float target", lambda e: F.cross_entropy(e["x"], np.array([0.5, 1, 2, 0])), ValueError, r"cross_entropy: target must hold integer class indices"),
    ("cross entropy target shape", lambda e: F.cross_entropy(e["x"], np.array([0, 1])), ValueError, r"cross_entropy: for input of shape \(4, 3\) the target must have shape \(4,\)"),
    ("cross entropy label smoothing", lambda e: F.cross_entropy(e["x"], e["t"], label_smoothing=2.0), ValueError, r"label_smoothing must be in \[0, 1\], got 2.0"),
    ("cross entropy weight shape", lambda e: F.cross_entropy(e["x"], e["t"], weight=np.ones(5)), ValueError, r"cross_entropy: weight must be .*shape \(3,\).*\(5,\)"),
    ("nll negative class", lambda e: F.nll_loss(e["x"], np.array([-2, 0, 0, 0])), ValueError, r"nll_loss: class indices \[-2\] are out of range"),
    ("loss module reduction", lambda e: nn.CrossEntropyLoss(reduction="bad"), ValueError, r"CrossEntropyLoss: reduction must be one of"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_losses(call, expect, match):
    run_case(_env_loss, call, expect, match)


def test_losses_propagate_nan_as_documented():
    assert np.isnan(F.mse_loss(Tensor([np.nan, 1.0]), np.zeros(2)).item())
    assert np.isnan(F.binary_cross_entropy(Tensor([np.nan]), np.ones(1)).item())
    assert np.isnan(F.cross_entropy(Tensor([[np.nan, 0.0]]), np.array([0])).item())


# ---- optimizers and schedulers -----------------------------------------------
def _env_optim():
    p = nn.Parameter(np.array([1.0, 2.0, 3.0]))
    q = nn.Parameter(np.array([[1.0, -1.0]]))
    opt = optim.SGD([p, q], lr=0.1, momentum=0.9)
    for t in (p, q):
        t.grad = Tensor(np.ones(t.shape))
    opt.step()                               # some momentum state to keep intact
    return {"p": p, "q": q, "opt": opt}


OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop]
OPTIM_CASES = [
    ("lr negative", dict(lr=-1.0), ValueError, r"{}: invalid learning rate lr=-1.0"),
    ("lr nan", dict(lr=float("nan")), ValueError, r"{}: invalid learning rate lr=nan"),
    ("lr str", dict(lr="0.1"), TypeError, r"{}: lr must be a real number, got str '0.1'"),
    ("lr None", dict(lr=None), TypeError, r"{}: lr must be a real number, got NoneType"),
    ("weight_decay negative", dict(weight_decay=-1.0), ValueError, r"{}: invalid weight_decay=-1.0"),
    ("weight_decay str", dict(weight_decay="a"), TypeError, r"{}: weight_decay must be a real number"),
]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("kwargs, expect, match", [c[1:] for c in OPTIM_CASES], ids=[c[0] for c in OPTIM_CASES])
def test_optimizer_hyperparameters(cls, kwargs, expect, match):
    run_case(_env_optim, lambda e: cls([e["p"]], **kwargs), expect, match.format(cls.__name__))


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("params, expect, match", [
    ([], ValueError, r"{} got an empty parameter list"),
    ("tensor", TypeError, r"{}: params must be an iterable of Tensors, not a single Tensor"),
    ([1.0], TypeError, r"{}: parameter 0 is a float, not a Tensor"),
    ("twice", ValueError, r"{}: a parameter appears in more than one group or twice"),
    ("non-leaf", ValueError, r"{}: parameter 0 is not a leaf tensor"),
    ([{"lr": 0.1}], ValueError, r"{}: the parameter group \['lr'\] has no 'params' entry"),
], ids=["empty", "single tensor", "float", "twice", "non-leaf", "group without params"])
def test_optimizer_parameters(cls, params, expect, match):
    def call(e):
        ps = {"tensor": e["p"], "twice": [e["p"], e["p"]], "non-leaf": [e["p"] * 2]}.get(params, params) \
            if isinstance(params, str) else params
        return cls(ps, lr=0.1)
    run_case(_env_optim, call, expect, match.format(cls.__name__))


STEP_CASES = [   # .grad assignment is checked; these get past it through .data, the escape hatch
    ("grad of wrong shape", lambda e: setattr(e["q"].grad, "data", np.ones(3)), ValueError,
     r"SGD.step: parameter 1 of group 0 has shape \(1, 2\) but its .grad has shape \(3,\)"),
    ("grad of strings", lambda e: setattr(e["q"].grad, "data", np.array([["a", "b"]])), ValueError,
     r"SGD.step: parameter 1 .*dtype <U1"),
]


@pytest.mark.parametrize("value, expect, match", [
    (np.ones((1, 2)), TypeError, r"assigned grad must be a Tensor or None, got ndarray"),
    (Tensor(np.ones(3)), ValueError, r"assigned grad has shape \(3,\) but the tensor has shape \(1, 2\)"),
], ids=["array", "wrong shape"])
def test_assigning_a_bad_grad_raises_at_once(value, expect, match):
    run_case(_env_optim, lambda e: setattr(e["q"], "grad", value), expect, match)


@pytest.mark.parametrize("spoil, expect, match", [c[1:] for c in STEP_CASES], ids=[c[0] for c in STEP_CASES])
def test_a_bad_grad_fails_the_step_before_any_parameter_changes(spoil, expect, match):
    env = _env_optim()
    env["p"].grad = Tensor(np.ones(3))
    env["q"].grad = Tensor(np.ones((1, 2)))
    spoil(env)
    run_case(lambda: env, lambda e: e["opt"].step(), expect, match)


@pytest.mark.parametrize("bad, expect, match", [
    (5, TypeError, r"SGD.load_state_dict: expected the dict from state_dict\(\).*got int"),
    ({"state": {}}, TypeError, r"SGD.load_state_dict: expected the dict .*keys \['state'\]"),
    ({"state": {}, "param_groups": []}, ValueError, r"the saved state has 0 parameter groups, this optimizer has 1"),
    ("bad lr", ValueError, r"SGD: invalid learning rate lr=-5"),
    ("bad state shape", ValueError, r"state 'momentum_buffer' of parameter 0 has shape \(7,\), the parameter has \(3,\)"),
], ids=["int", "missing key", "no groups", "bad saved lr", "bad state shape"])
def test_optimizer_load_state_dict(bad, expect, match):
    def call(e):
        sd = bad
        if bad == "bad lr":
            sd = e["opt"].state_dict()
            sd["param_groups"][0]["lr"] = -5
        elif bad == "bad state shape":
            sd = e["opt"].state_dict()
            sd["state"][0]["momentum_buffer"] = np.ones(7)
        e["opt"].load_state_dict(sd)
    run_case(_env_optim, call, expect, match)


OTHER_OPTIM = [
    ("SGD momentum str", lambda e: optim.SGD([e["p"]], lr=0.1, momentum="a"), TypeError, r"SGD: momentum must be a real number"),
    ("SGD momentum negative", lambda e: optim.SGD([e["p"]], lr=0.1, momentum=-0.5), ValueError, r"SGD: invalid momentum=-0.5"),
    ("SGD nesterov without momentum", lambda e: optim.SGD([e["p"]], lr=0.1, nesterov=True), ValueError, r"SGD: nesterov momentum requires momentum > 0"),
    ("Adam beta out of range", lambda e: optim.Adam([e["p"]], betas=(1.0, 0.9)), ValueError, r"Adam: invalid beta parameter at index 0: 1.0"),
    ("Adam betas length", lambda e: optim.Adam([e["p"]], betas=(0.9,)), ValueError, r"Adam: betas must be a pair"),
    ("Adam eps negative", lambda e: optim.Adam([e["p"]], eps=-1e-8), ValueError, r"Adam: invalid epsilon value eps=-1e-08"),
    ("RMSprop alpha negative", lambda e: optim.RMSprop([e["p"]], alpha=-0.1), ValueError, r"RMSprop: invalid alpha=-0.1"),
    ("add_param_group not a dict", lambda e: e["opt"].add_param_group([e["p"]]), TypeError, r"SGD: a parameter group must be a dict"),
    ("StepLR step_size 0", lambda e: optim.lr_scheduler.StepLR(e["opt"], step_size=0), ValueError, r"StepLR: step_size must be a positive integer, got 0"),
    ("StepLR not an optimizer", lambda e: optim.lr_scheduler.StepLR("opt", step_size=1), TypeError, r"StepLR: str is not an Optimizer"),
    ("clip_grad_norm_ negative", lambda e: nn.utils.clip_grad_norm_([e["p"]], -1.0), ValueError, r"clip_grad_norm_: max_norm must be >= 0, got -1.0"),
    ("clip_grad_value_ nan", lambda e: nn.utils.clip_grad_value_([e["p"]], float("nan")), ValueError, r"clip_grad_value_: clip_value must be >= 0, got nan"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in OTHER_OPTIM], ids=[c[0] for c in OTHER_OPTIM])
def test_other_optimizer_entry_points(call, expect, match):
    run_case(_env_optim, call, expect, match)


# ---- checkpoints: save and load -------------------------------------------------
@pytest.fixture
def files(tmp_path):
    model = nn.Linear(3, 2, rng=0)
    good = str(tmp_path / "good.npz")
    tg.save(model.state_dict(), good)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    pickled = tmp_path / "evil.npz"
    np.savez(pickled, a=np.array([{"x": 1}], dtype=object))
    npy = tmp_path / "one.npy"
    np.save(npy, np.ones(3))
    return {"model": model, "good": good, "text": str(text), "pickled": str(pickled), "npy": str(npy),
            "new": str(tmp_path / "new.npz"), "dir": str(tmp_path)}


SAVE_LOAD = [
    ("save a list", lambda e: tg.save([1, 2], e["new"]), TypeError, r"tinygrad_edu.save: expected a dict .*got list"),
    ("save an object", lambda e: tg.save({"a": object()}, e["new"]), TypeError, r"tinygrad_edu.save: cannot save the object at a"),
    ("save a string array", lambda e: tg.save({"a": np.array(["x"])}, e["new"]), ValueError, r"non-numeric"),
    ("save over a good file, bad dict", lambda e: tg.save({"a": object()}, e["good"]), TypeError, r"cannot save the object at a"),
    ("save into a missing directory", lambda e: tg.save({"a": np.ones(1)}, os.path.join(e["dir"], "no", "x.npz")), FileNotFoundError, r"tinygrad_edu.save: cannot write .*the directory .* does not exist"),
    ("load a missing file", lambda e: tg.load(os.path.join(e["dir"], "missing.npz")), FileNotFoundError, r"missing.npz"),
    ("load a text file", lambda e: tg.load(e["text"]), ValueError, r"tinygrad_edu.load: refusing .*notes.txt.*not an .npz archive"),
    ("load pickled objects", lambda e: tg.load(e["pickled"]), ValueError, r"tinygrad_edu.load: refusing .*object array .*never unpickled"),
    ("load a single .npy", lambda e: tg.load(e["npy"]), ValueError, r"a single .npy array, not a checkpoint"),
    ("load a directory", lambda e: tg.load(e["dir"]), IsADirectoryError, None),
    ("load_state_dict of a foreign checkpoint", lambda e: nn.Linear(4, 2).load_state_dict(tg.load(e["good"])), ValueError, r"size mismatch for 'weight'"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in SAVE_LOAD], ids=[c[0] for c in SAVE_LOAD])
def test_save_and_load(files, call, expect, match):
    run_case(lambda: files, call, expect, match)


# ---- gradcheck, data loaders, schedulers ---------------------------------------
class _WrongBackward(tg.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


GRADCHECK = [
    ("fn not callable", lambda e: tg.gradcheck(5, (e["v"],)), TypeError, r"gradcheck: fn must be callable, got int"),
    ("eps zero", lambda e: tg.gradcheck(lambda a: a.sum(), (e["v"],), eps=0), ValueError, r"gradcheck: eps must be a positive finite step, got 0"),
    ("eps negative", lambda e: tg.gradcheck(lambda a: a.sum(), (e["v"],), eps=-1e-6), ValueError, r"gradcheck: eps must be a positive"),
    ("eps nan", lambda e: tg.gradcheck(lambda a: a.sum(), (e["v"],), eps=float("nan")), ValueError, r"gradcheck: eps must be a positive finite step, got nan"),
    ("eps str", lambda e: tg.gradcheck(lambda a: a.sum(), (e["v"],), eps="1e-6"), TypeError, r"gradcheck: eps must be a real number, got str"),
    ("atol negative", lambda e: tg.gradcheck(lambda a: a.sum(), (e["v"],), atol=-1), ValueError, r"gradcheck: atol must be >= 0, got -1"),
    ("rtol None", lambda e: tg.gradcheck(lambda a: a.sum(), (e["v"],), rtol=None), TypeError, r"gradcheck: rtol must be a real number, got NoneType"),
    ("nothing requires grad", lambda e: tg.gradcheck(lambda a: a.sum(), (Tensor([1.0]),)), ValueError, r"gradcheck: no input requires grad"),
    ("fn returns an array", lambda e: tg.gradcheck(lambda a: np.ones(3), (e["v"],)), TypeError, r"gradcheck: .* must return a Tensor or a tuple of Tensors, but output 0 is ndarray"),
    ("wrong backward", lambda e: tg.gradcheck(_WrongBackward.apply, (e["v"],)), tg.GradcheckError, r"_WrongBackward.apply: the analytical gradient .* does not match"),
    ("gradgradcheck fn", lambda e: tg.gradgradcheck(None, (e["v"],)), TypeError, r"gradgradcheck: fn must be callable, got NoneType"),
    ("gradgradcheck grad_outputs shape", lambda e: tg.gradgradcheck(lambda a: a * a, (e["v"],), grad_outputs=(Tensor(np.ones(2)),)), ValueError, r"gradgradcheck: grad_outputs\[0\] has shape \(2,\) but output 0 has shape \(3,\)"),
    ("numerical_jacobian eps", lambda e: tg.numerical_jacobian(lambda a: a, (e["v"],), eps=0.0), ValueError, r"numerical_jacobian: eps must be a positive"),
    ("DataLoader batch_size", lambda e: tg.data.DataLoader(np.ones((4, 2)), batch_size=0), ValueError, r"DataLoader: batch_size must be a positive integer, got 0"),
    ("DataLoader lengths", lambda e: tg.data.DataLoader(np.ones((4, 2)), np.ones(3)), ValueError, r"DataLoader: the arrays have different lengths \[4, 3\]"),
    ("DataLoader scalar", lambda e: tg.data.DataLoader(np.float64(1.0)), ValueError, r"DataLoader: array 0 is a scalar"),
    ("train_test_split size", lambda e: tg.data.train_test_split(np.ones((4, 2)), test_size=1.5), ValueError, r"train_test_split"),
]


@pytest.mark.parametrize("call, expect, match", [c[1:] for c in GRADCHECK], ids=[c[0] for c in GRADCHECK])
def test_gradcheck_and_data(call, expect, match):
    run_case(_env_basic, call, expect, match)


def test_gradcheck_returns_false_without_raising_when_asked():
    x = leaf([1.0, 2.0])
    assert tg.gradcheck(_WrongBackward.apply, (x,), raise_exception=False) is False
    assert x.grad is None and np.array_equal(x.data, [1.0, 2.0])


def test_the_harness_notices_a_changed_input():
    def spoil_then_fail(e):
        e["x"].data[0, 0] = 99.0
        raise ValueError("boom")

    with pytest.raises(AssertionError, match="x was changed"):
        run_case(_env_basic, spoil_then_fail, ValueError, "boom")
