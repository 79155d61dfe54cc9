"""Regression tests for faults found by trying to break the library as a demanding user would.

Each test names the fault it guards against: a silently wrong value,
gradient, dtype or state, or an unclear crash. Expected values come from
independent numpy formulas (PyTorch's documented definitions), never from
the code under test.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor

from op_cases import CASES


# ---- an op's result never is its input's own array ----------------------------
@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_op_result_is_not_an_input_array(name, data):
    # In-place ops detect "a view of another tensor" by ``data.base``; a
    # result that *is* the input's array (squeeze with nothing to squeeze
    # did this) let ``y += 1`` silently overwrite a leaf that requires grad.
    fn, inputs = data.draw(CASES[name].strategy(np.float64))
    outs = fn(*inputs)
    for o in outs if isinstance(outs, tuple) else (outs,):
        for x in inputs:
            assert o is x or o.data is not x.data, f"{name}: the result's array is an input's array"


def test_inplace_on_squeeze_of_leaf_raises_and_leaves_it():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.squeeze()  # no size-1 axis: nothing to squeeze
    with pytest.raises(RuntimeError, match="view"):
        y += 1
    assert np.array_equal(x.data, [1.0, 2.0])


def test_inplace_on_function_output_that_is_its_input():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Ident.apply(x)
    with pytest.raises(RuntimeError, match="view"):
        y += 1
    assert np.array_equal(x.data, [1.0, 2.0])
    (Ident.apply(x) * 3).sum().backward()
    assert np.array_equal(x.grad.data, [3.0, 3.0])


# ---- Module attribute registration ------------------------------------------------
def test_assigning_a_plain_tensor_to_a_parameter_name_raises():
    # It used to turn the parameter into a plain attribute: gone from
    # parameters() (so never trained) and from state_dict, silently.
    lin = tg.nn.Linear(2, 3, rng=0)
    w = lin.weight
    with pytest.raises(TypeError, match="parameter 'weight'"):
        lin.weight = Tensor(np.ones((2, 3)))
    assert lin.weight is w and [n for n, _ in lin.named_parameters()] == ["weight", "bias"]


def test_assigning_a_non_tensor_to_a_buffer_or_submodule_name_raises():
    bn = tg.nn.BatchNorm1d(2)
    with pytest.raises(TypeError, match="buffer 'num_batches_tracked'"):
        bn.num_batches_tracked = 0
    assert "num_batches_tracked" in bn.state_dict()
    seq = tg.nn.Sequential(tg.nn.ReLU())
    with pytest.raises(TypeError, match="submodule '0'"):
        setattr(seq, "0", lambda x: x)
    assert len(seq) == 1


def test_none_keeps_a_name_registered_and_reassignment_keeps_its_place():
    lin = tg.nn.Linear(2, 3, rng=0)
    lin.weight = None
    assert lin.weight is None and list(lin.state_dict()) == ["bias"]
    lin.weight = tg.nn.Parameter(np.zeros((2, 3)))
    # PyTorch's order: a re-assigned parameter stays where it was registered,
    # so state_dict and optimizer order do not depend on assignment history.
    assert list(lin.state_dict()) == ["weight", "bias"]
    bn = tg.nn.BatchNorm1d(2)
    bn.running_mean = np.full(2, 3.0)  # an array is accepted for a buffer and copied
    assert list(bn.state_dict())[2] == "running_mean"
    assert np.array_equal(bn.state_dict()["running_mean"], [3.0, 3.0])


# ---- library writes into parameters stamp the in-place clock ---------------------
def test_backward_after_load_state_dict_raises_instead_of_using_new_weights():
    # load_state_dict wrote the weights in place without telling the engine,
    # so a graph recorded before it back-propagated with the *new* weights.
    lin = tg.nn.Linear(2, 1, rng=0)
    x = Tensor([[1.0, 2.0]], requires_grad=True)
    y = lin(x).sum()
    lin.load_state_dict({k: v * 10 for k, v in lin.state_dict().items()})
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()
    assert x.grad is None


def test_backward_after_batchnorm_reset_parameters_raises():
    bn = tg.nn.BatchNorm1d(2)
    bn.weight.data[...] = 3.0
    y = bn(np.array([[1.0, 2.0], [3.0, 5.0]])).sum()
    bn.reset_parameters()
    assert np.array_equal(bn.weight.data, [1.0, 1.0])
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


@pytest.mark.parametrize("value, dtype", [(np.array([1 + 2j, 3j]), np.float64),
                                          (np.array([1.5, 2.5]), np.int64)])
def test_load_state_dict_refuses_lossy_casts(value, dtype):
    class M(tg.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("b", np.zeros(2, dtype=dtype))

    m = M()
    with pytest.raises(ValueError, match="'b' has dtype"):
        m.load_state_dict({"b": value})
    assert np.array_equal(m.b.data, [0, 0]) and m.b.dtype == dtype
    m.load_state_dict({"b": np.array([1, 2], dtype=np.int8)})  # a widening cast is fine
    assert np.array_equal(m.b.data, [1, 2]) and m.b.dtype == dtype


def test_dropout_of_integer_input():
    # Crashed with AttributeError ('numpy.float64' has no attribute 'type').
    x = np.arange(1, 1001)
    y = tg.nn.functional.dropout(x, 0.5, rng=0)
    kept = y.data != 0
    assert y.dtype == np.float64 and 0 < kept.sum() < 1000
    assert np.array_equal(y.data[kept], 2.0 * x[kept])


# ---- empty tensors through layers and losses ----------------------------------------
@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("shape, axis", [((2, 0), -1), ((0, 3), 0), ((2, 0, 3), 1)])
def test_softmax_family_over_an_empty_axis(shape, axis):
    # np.max over an empty axis raised "zero-size array to reduction operation".
    x = Tensor(np.zeros(shape), requires_grad=True)
    for f in (tg.softmax, tg.log_softmax):
        y = f(x, axis=axis)
        assert y.shape == shape
        y.sum().backward()
        assert x.grad.shape == shape
    lse = tg.logsumexp(x, axis=axis)  # log of an empty sum: -inf, as PyTorch
    assert np.array_equal(lse.data, np.full(np.sum(np.zeros(shape), axis=axis).shape, -np.inf))
    assert tg.nn.Softmax(dim=axis)(np.zeros(shape)).shape == shape


# ---- checkpoints ------------------------------------------------------------------
def test_save_keeps_int_and_str_keys_that_spell_the_same(tmp_path):
    # {1: a, "1": b} mapped both leaves to the member "1": b was loaded for both.
    f = tmp_path / "c.npz"
    state = {1: np.array([1.0]), "1": np.array([2.0]), "s": {0: 3.0, "0": 4.0, 1: {"a": 5}, "1": {"a": 6}}}
    tg.save(state, f)
    back = tg.load(f)
    assert list(back) == [1, "1", "s"] and list(back["s"]) == [0, "0", 1, "1"]
    assert np.array_equal(back[1], [1.0]) and np.array_equal(back["1"], [2.0])
    assert back["s"] == {0: 3.0, "0": 4.0, 1: {"a": 5}, "1": {"a": 6}}
    assert set(np.load(f)) >= {"1", "1#2", "s/0", "s/0#2"}  # still a plain npz


def test_save_refuses_a_string_numpy_would_truncate(tmp_path):
    f = tmp_path / "c.npz"
    tg.save({"s": "kept"}, f)
    with pytest.raises(ValueError, match="NUL"):
        tg.save({"s": "ab\0"}, f)
    assert tg.load(f) == {"s": "kept"}
    tg.save({"s": "a\0b"}, f)  # an inner NUL survives
    assert tg.load(f) == {"s": "a\0b"}


def test_gradcheck_names_the_function_subclass():
    class WrongCube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x * x  # should be 3 x**2

    x = Tensor(np.array([0.5, 1.5]), requires_grad=True)
    with pytest.raises(tg.GradcheckError, match=r"failed for .*WrongCube\.apply"):
        tg.gradcheck(WrongCube.apply, (x,))


@pytest.mark.parametrize("make", [lambda: tg.nn.CrossEntropyLoss("sum"), lambda: tg.nn.BCELoss("none"),
                                  lambda: tg.nn.BCEWithLogitsLoss(pos_weight="mean")])
def test_loss_module_with_the_reduction_in_the_weight_slot(make):
    # Raised numpy's bare "could not convert string to float: 'sum'".
    with pytest.raises(TypeError, match="weight must be a numeric array.*reduction="):
        make()


# ---- optimizer state ------------------------------------------------------------------
@pytest.mark.parametrize("saved, model", [(np.float32, np.float64), (np.float64, np.float32)])
def test_optimizer_state_loaded_follows_the_parameter_dtype(saved, model):
    # Float32 moments loaded into a float64 model stayed float32 for good
    # (the in-place updates keep an array's dtype): silently less precise.
    def run(dtype, steps, state=None):
        p = tg.nn.Parameter(np.array([1.0, -2.0], dtype=dtype))
        opt = tg.optim.Adam([p], lr=0.1)
        if state is not None:
            opt.load_state_dict(state)
        for _ in range(steps):
            p.grad = Tensor((p.data * 3).astype(dtype))
            opt.step()
        return p, opt

    _, opt = run(saved, 2)
    p, opt2 = run(model, 2, opt.state_dict())
    for k in ("exp_avg", "exp_avg_sq"):
        assert opt2.state[p][k].dtype == model


def test_optimizer_state_of_the_wrong_shape_is_refused():
    p = tg.nn.Parameter(np.ones(3))
    opt = tg.optim.SGD([p], lr=0.1, momentum=0.9)
    bad = {"state": {0: {"momentum_buffer": np.array(5.0)}}, "param_groups": opt.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match="momentum_buffer"):
        opt.load_state_dict(bad)  # a 0-d buffer used to broadcast silently over all 3 elements
    assert opt.state == {}


# ---- grad mode -------------------------------------------------------------------------
def test_set_grad_enabled_as_a_plain_call_switches_the_mode():
    # As PyTorch; it used to do nothing unless used in a with block.
    assert tg.is_grad_enabled()
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
        assert not (Tensor([1.0], requires_grad=True) * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        with tg.set_grad_enabled(True):
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def inference():
        return tg.is_grad_enabled()

    assert tg.is_grad_enabled()  # decorating changed nothing
    assert inference() is False and tg.is_grad_enabled()


def test_deepcopy_of_model_and_optimizer_keeps_the_optimizer_state():
    # The state was keyed by id(parameter): a deep copy's state pointed at the
    # original parameters, so the copy silently restarted its momentum.
    import copy

    def make():
        net = tg.nn.Linear(2, 1, rng=0)
        return net, tg.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)

    def step(net, opt, x):
        opt.zero_grad()
        net(x).sum().backward()
        opt.step()

    xs = [np.array([[1.0, 2.0]]), np.array([[-1.0, 0.5]])]
    net, opt = make()
    step(net, opt, xs[0])
    net2, opt2 = copy.deepcopy((net, opt))
    assert all(p in opt2.state for p in net2.parameters())
    ref, ref_opt = make()
    for x in xs:
        step(ref, ref_opt, x)
    step(net2, opt2, xs[1])
    assert np.array_equal(net2.weight.data, ref.weight.data)
    assert np.array_equal(net2.bias.data, ref.bias.data)


# ---- hooks and in-place ops -------------------------------------------------------------
def test_hook_registered_before_an_inplace_op_gets_the_old_values_gradient():
    # As PyTorch: it used to receive the gradient of the new value, so a hook
    # that rescales or records gradients acted on the wrong quantity.
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(("old", g.data.copy())))
    y.retain_grad()
    y *= 3  # y_new = 3 y_old
    y.register_hook(lambda g: seen.append(("new", g.data.copy())))
    (y * y).sum().backward()  # d/dy_new = 2 y_new = 12 x, d/dy_old = 3 * that
    assert [k for k, _ in seen] == ["new", "old"]
    assert np.array_equal(seen[0][1], [12.0, 24.0]) and np.array_equal(seen[1][1], [36.0, 72.0])
    assert np.array_equal(y.grad.data, [12.0, 24.0])  # retain_grad: the new value
    assert np.array_equal(x.grad.data, [72.0, 144.0])


def test_hook_replacing_the_old_gradient_acts_below_the_inplace_op():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.register_hook(lambda g: g * 0)  # cut the gradient to x...
    y += x  # ...but not the direct path through the in-place add
    y.sum().backward()
    assert np.array_equal(x.grad.data, [1.0, 1.0])


@pytest.mark.parametrize("register", [
    lambda m: m.add_module("a.b", tg.nn.Linear(1, 1)),
    lambda m: setattr(m, "a.b", tg.nn.Linear(1, 1)),
    lambda m: m.register_parameter("", tg.nn.Parameter(np.ones(1))),
    lambda m: m.register_buffer("x.y", np.ones(1)),
])
def test_names_that_would_collide_in_state_dict_are_refused(register):
    # Module "a.b" and module "a" with child "b" both gave "a.b.weight": four
    # parameters, two state_dict entries, one model's weights never saved.
    m = tg.nn.Module()
    with pytest.raises(KeyError, match="contain no '.'"):
        register(m)
    assert m.state_dict() == {} and list(m.parameters()) == []


def test_register_over_another_kind_of_name_is_refused():
    lin = tg.nn.Linear(2, 2)
    with pytest.raises(KeyError, match="'weight' already exists"):
        lin.register_buffer("weight", np.zeros((2, 2)))  # two state_dict entries "weight"
    with pytest.raises(KeyError, match="'forward' already exists"):
        lin.register_parameter("forward", tg.nn.Parameter(np.ones(1)))
    with pytest.raises(TypeError, match="must be a str"):
        lin.register_buffer(1, np.ones(1))
    assert list(lin.state_dict()) == ["weight", "bias"]


# ---- gradient clipping ------------------------------------------------------------------
def test_clip_grad_norm_counts_a_parameter_listed_twice_once():
    # Tied weights listed by two modules: the norm counted the gradient twice
    # and the gradient was scaled twice (by coef**2).
    import itertools

    w = tg.nn.Parameter(np.zeros(2))
    b = tg.nn.Parameter(np.zeros(1))
    w.grad, b.grad = Tensor([3.0, 0.0]), Tensor([4.0])
    total = tg.nn.utils.clip_grad_norm_(itertools.chain([w, b], [w]), max_norm=1.0)
    assert total == 5.0  # sqrt(3**2 + 4**2), w once
    coef = 1.0 / (5.0 + 1e-6)
    assert np.array_equal(w.grad.data, np.array([3.0, 0.0]) * coef)
    assert np.array_equal(b.grad.data, np.array([4.0]) * coef)


# ---- layer sizes ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: tg.nn.Embedding(5.5, 2), lambda: tg.nn.BatchNorm1d(2.5),
                                  lambda: tg.nn.Linear(3.5, 2), lambda: tg.nn.Linear(3, True)])
def test_fractional_layer_sizes_are_refused(make):
    # Embedding(5.5, 2) and BatchNorm1d(2.5) silently built size-5 and size-2
    # layers; Linear(3.5, 2) failed inside numpy ("'float' object cannot be
    # interpreted as an integer").
    with pytest.raises(TypeError, match="must be an integer"):
        make()


def test_integer_like_layer_sizes_are_accepted():
    assert tg.nn.Linear(np.int64(3), 2).weight.shape == (3, 2)
    assert tg.nn.Embedding(np.int32(4), 0).weight.shape == (4, 0)
    with pytest.raises(ValueError, match="num_features must be positive"):
        tg.nn.BatchNorm1d(0)


def test_no_grad_decorating_a_generator_applies_to_its_body():
    # The decorator wrapped only the creation of the generator: its body ran
    # with recording on, so every yielded prediction carried a graph.
    w = Tensor([2.0], requires_grad=True)

    @tg.no_grad()
    def predictions(xs):
        for x in xs:
            received = yield w * x
            if received is not None:
                yield (w * received).requires_grad

    gen = predictions([1.0, 2.0])
    first = next(gen)
    assert tg.is_grad_enabled() and not first.requires_grad
    assert gen.send(5.0) is False  # send() runs in the mode too
    assert [p.requires_grad for p in gen] == [False]
    assert tg.is_grad_enabled()

    @tg.enable_grad()
    def inside():
        yield tg.is_grad_enabled()
        return "done"

    with tg.no_grad():
        g = inside()
        assert next(g) is True and not tg.is_grad_enabled()
        with pytest.raises(StopIteration) as stop:
            next(g)
        assert stop.value.value == "done"


def test_detect_anomaly_decorating_a_generator_applies_to_its_body():
    @tg.detect_anomaly()
    def steps():
        yield tg.is_anomaly_enabled()

    assert next(steps()) is True and not tg.is_anomaly_enabled()


def test_assigning_a_non_tensor_or_misshapen_grad_raises_at_once():
    import tinygrad_edu as tg

    p = tg.nn.Parameter(np.ones(3))
    with pytest.raises(TypeError, match="Tensor or None"):
        p.grad = np.ones(3)
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        p.grad = tg.Tensor(np.ones(2))
    assert p.grad is None
    p.grad = tg.Tensor(np.full(3, 2.0))
    tg.optim.SGD([p], lr=0.5).step()
    assert np.array_equal(p.data, np.zeros(3))
