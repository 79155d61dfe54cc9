"""In-place ops: differentiable where PyTorch allows them, refused where they would lie.

The central property (tested with hypothesis at the bottom): a program using
in-place ops back-propagates exactly like the same program rewritten
out of place (``h op= v`` -> ``h = h op v``), where ops recorded before the
write keep seeing the old ``h``.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygrad_edu as tg
from tinygrad_edu import Function, Tensor, nn, optim
from tinygrad_edu.ops.shape import setitem as setitem_out_of_place


def leaf(values):
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_inplace_ops_on_non_leaves_are_differentiable():
    x = leaf([1.0, 2.0, 3.0])
    h = x * 2
    h += 1
    h *= x          # h = (2x + 1) x  ->  dh/dx = 4x + 1
    h -= 0.5
    h /= 2
    h.sum().backward()
    assert np.array_equal(x.grad.data, (4 * x.data + 1) / 2)


def test_inplace_with_itself():
    x = leaf([1.0, 3.0])
    h = x * 1
    h *= h
    h.sum().backward()
    assert np.array_equal(x.grad.data, 2 * x.data)


def test_setitem_is_differentiable_for_both_sides():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf(5.0)
    h = x * 1
    h[1] = v * 2
    h.sum().backward()
    assert np.array_equal(x.grad.data, [1.0, 0.0, 1.0])
    assert np.array_equal(v.grad.data, 2.0)


def test_setitem_with_a_repeated_index_gives_the_gradient_to_the_value_written_last():
    x = leaf([1.0, 2.0, 3.0])
    v = leaf([10.0, 20.0, 30.0])
    h = x * 1
    h[[0, 2, 0]] = v
    assert np.array_equal(h.data, [30.0, 2.0, 20.0])  # numpy keeps the last write
    (h * Tensor([1.0, 2.0, 3.0])).sum().backward()
    assert np.array_equal(v.grad.data, [0.0, 3.0, 1.0])  # v[0] was overwritten by v[2]
    assert np.array_equal(x.grad.data, [0.0, 2.0, 0.0])


def test_setitem_with_a_repeated_index_and_broadcast_value():
    x = leaf(np.zeros((3, 2)))
    v = leaf([1.0, 2.0])                 # broadcast over the selected rows
    h = x * 1
    h[[1, 1, 2]] = v
    (h * Tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
    # rows 1 and 2 hold v: v's gradient is the sum of their weights, once each
    assert np.array_equal(v.grad.data, [2.0 + 4.0, 3.0 + 5.0])


def test_setitem_from_the_same_tensor_reads_the_old_values():
    x = leaf([1.0, 2.0, 3.0])
    h = x * x
    h[0] = h[1]          # PyTorch allows this (select does not save h)
    h.sum().backward()
    assert np.array_equal(h.data, [4.0, 4.0, 9.0])
    assert np.array_equal(x.grad.data, [0.0, 2 * 2 * 2.0, 2 * 3.0])


def test_inplace_with_an_operand_that_shares_the_memory():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    h = x * 1
    h *= h.T                                   # reads the old h on both sides
    expected = x.data * x.data.T
    assert np.array_equal(h.data, expected)
    h.sum().backward()
    assert np.array_equal(x.grad.data, 2 * x.data.T)   # d/dx sum(x * x.T) = 2 x.T


def test_inplace_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    x = leaf([1.0])
    with pytest.raises(RuntimeError, match="leaf"):
        x += 1
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 2.0
    with tg.no_grad():
        x += 1
    assert np.array_equal(x.data, [2.0])


def test_a_consumer_recorded_before_an_inplace_op_sees_the_old_value():
    x = leaf([0.5, 1.0])
    h = x.sigmoid()
    y = (h * x).sum()   # mul recorded the old h
    h += 1
    h *= 3
    y.backward()
    s = 1 / (1 + np.exp(-x.data))
    assert np.allclose(x.grad.data, s * (1 - s) * x.data + s, rtol=1e-14, atol=0)


def test_both_the_old_and_the_new_version_receive_gradients():
    x = leaf([1.0, 2.0])
    h = x * x
    y = h * 3           # uses h = x^2
    h *= 2              # h = 2 x^2
    (y + h).sum().backward()
    assert np.array_equal(x.grad.data, 3 * 2 * x.data + 2 * 2 * x.data)


def test_inplace_after_an_op_that_saved_its_output_still_differentiates_the_old_value():
    x = leaf([0.5, 1.0])
    h = x.sigmoid()     # sigmoid's backward needs its output: the snapshot keeps it
    h += 1
    h.sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    assert np.array_equal(x.grad.data, 1.0 * (s * (1 - s)))


def test_second_derivatives_through_inplace_ops():
    x = leaf([0.3, -0.7])
    h = x * x
    y = h * x          # x^3, recorded before the write
    h *= x             # h = x^3 too
    (gx,) = tg.grad((y + h).sum(), x, create_graph=True)
    assert np.allclose(gx.data, 6 * x.data ** 2, rtol=1e-14)
    gx.sum().backward()
    assert np.allclose(x.grad.data, 12 * x.data, rtol=1e-14)


# ---- untracked writes: values change, graphs do not -----------------------
def test_writes_through_detach_are_caught():
    x = leaf([0.5, 1.0])
    h = x.exp()
    h.detach()[0] = 7.0
    with pytest.raises(RuntimeError, match="in-place.*exp"):
        h.sum().backward()


def test_no_grad_write_to_a_value_the_rule_does_not_read_is_allowed_as_in_pytorch():
    x = leaf([1.0, 2.0])
    h = x * 2           # mul's backward reads x, not its output
    with tg.no_grad():
        h += 1
    h.sum().backward()
    assert np.array_equal(x.grad.data, [2.0, 2.0])
    p = leaf([1.0, 2.0])
    y = (p + 1).sum()   # add reads no values
    with tg.no_grad():
        p -= 1
    y.backward()
    assert np.array_equal(p.grad.data, [1.0, 1.0])


def test_no_grad_write_to_a_value_the_rule_reads_raises():
    x = leaf([1.0, 2.0])
    h = x.exp()          # exp's backward reads its output
    with tg.no_grad():
        h += 1
    with pytest.raises(RuntimeError, match="its output.*'exp'"):
        h.sum().backward()
    p = leaf([1.0, 2.0])
    y = (p * p).sum()
    with tg.no_grad():
        p -= 1
    with pytest.raises(RuntimeError, match="input 0.*'mul'"):
        y.backward()


def test_a_view_of_a_rewritten_tensor_no_longer_matches_its_graph_and_is_refused():
    x = leaf([1.0, 2.0, 3.0, 4.0])
    h = x * 1
    v = h.reshape(2, 2)   # shares h's memory
    h += x                # v's values change, its graph (reshape of the old h) does not
    assert np.array_equal(v.data, [[2.0, 4.0], [6.0, 8.0]])
    with pytest.raises(RuntimeError, match="output of 'reshape'.*rewrote"):
        v.sum().backward()


def test_function_that_saved_its_output_refuses_after_the_output_is_rewritten():
    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, g):
            (y,) = ctx.saved_tensors
            return g * y

    x = leaf([0.0, 1.0])
    y = Exp.apply(x)
    y += 1
    with pytest.raises(RuntimeError, match="saved tensor 0.*'Exp'"):
        y.sum().backward()


def test_a_graph_that_read_a_grad_refuses_after_the_grad_accumulates():
    p = leaf([1.0, 2.0])
    w = leaf([3.0, 4.0])
    (p * p).sum().backward()
    z = (w * p.grad).sum()       # reads p.grad = 2p
    (p * p).sum().backward()     # accumulates into p.grad in place
    assert np.array_equal(p.grad.data, 4 * p.data)
    with pytest.raises(RuntimeError, match="in-place.*'mul'"):
        z.backward()


def test_hooks_cannot_modify_the_engines_gradient_in_place():
    a, b = leaf([1.0]), leaf([2.0])

    def bad(g):
        g *= 2

    a.register_hook(bad)
    with pytest.raises(ValueError, match="read-only"):
        (a + b).sum().backward()
    assert b.grad is None and a.grad is None


def test_inplace_on_read_only_memory_names_the_op_and_changes_nothing():
    t = tg.broadcast_to(Tensor([1.0, 2.0]), (3, 2))
    with pytest.raises(ValueError, match="add_.*read-only"):
        t += 1
    assert np.array_equal(t.data, [[1.0, 2.0]] * 3)


def test_the_old_version_after_its_graph_was_freed_gives_the_usual_error():
    x = leaf([1.0, 2.0])
    h = x * x
    y = h * 3
    h *= 2
    h.sum().backward()           # frees the graph through the in-place op and the old h
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.sum().backward()


def test_an_older_consumer_reached_after_the_inplace_node_was_freed_in_the_same_pass():
    x = leaf([1.0, 2.0])
    c = Tensor([3.0, 4.0])
    y = x * c                    # reads the old c
    c += x                       # recorded; backward visits this node first and frees it
    (y + c).sum().backward()
    assert np.array_equal(x.grad.data, [3.0 + 1.0, 4.0 + 1.0])


def test_retained_graph_lets_both_versions_backpropagate():
    x = leaf([1.0, 2.0])
    h = x * x
    y = h * 3
    h *= 2
    h.sum().backward(retain_graph=True)
    y.sum().backward()
    assert np.array_equal(x.grad.data, 4 * x.data + 6 * x.data)


def test_consumer_recorded_before_an_inplace_op_on_a_constant_reads_the_old_constant():
    w = leaf([1.0, 2.0])
    c = Tensor([3.0, 4.0])       # no grad
    y = (w * c).sum()            # mul reads c
    c += w                       # recorded (w requires grad): c now has a graph
    y.backward()
    assert np.array_equal(w.grad.data, [3.0, 4.0])
    with tg.no_grad():
        c += 1                   # untracked write after a recorded one
    z = (w * 1).sum()
    z.backward()


def test_untracked_write_between_a_consumer_and_a_recorded_write_is_refused():
    x = leaf([1.0, 2.0])
    h = x * 1
    y = (h * h).sum()            # reads h at clock c
    with tg.no_grad():
        h += 1                   # untracked: the snapshot taken below would hold h + 1
    h *= x                       # recorded
    with pytest.raises(RuntimeError, match="input 0.*'mul'"):
        y.backward()


def test_inplace_on_a_view_while_recording_is_refused():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    v = (x * 1).T
    with pytest.raises(RuntimeError, match="view"):
        v += 1
    base = Tensor(np.zeros(3))
    row = base[0:2]              # a view of a tensor that needs no grad
    with pytest.raises(RuntimeError, match="view"):
        row += x[0]
    assert np.array_equal(base.data, np.zeros(3))


def test_inplace_errors_for_shape_and_dtype_change_nothing():
    t = Tensor([1, 2, 3])
    with pytest.raises(ValueError, match="int64"):
        t += 1.5
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        t += np.ones((2, 3), dtype=np.int64)
    assert np.array_equal(t.data, [1, 2, 3])
    x = leaf([1.0, 2.0])
    h = x * 1
    g0 = h.grad_fn
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        h += np.ones((2, 2))
    assert h.grad_fn is g0 and np.array_equal(h.data, [1.0, 2.0])


def test_retained_graph_after_an_optimizer_step_is_refused():
    lin = nn.Linear(2, 1)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    loss = (lin(np.ones((3, 2))) ** 2).sum()
    loss.backward(retain_graph=True)
    w_before = lin.weight.data
    opt.step()
    assert lin.weight.data is w_before  # updated in place, not reallocated
    with pytest.raises(RuntimeError, match="in-place"):
        loss.backward()


def test_optimizer_step_is_seen_through_detached_aliases():
    p = nn.Parameter(np.array([1.0, 2.0]))
    x = leaf([3.0, 4.0])
    y = (x * p.detach()).sum()   # reads p's memory through an alias
    (p * p).sum().backward()
    optim.SGD([p], lr=0.1).step()
    with pytest.raises(RuntimeError, match="input 1.*'mul'"):
        y.backward()


def test_load_state_dict_counts_as_a_write():
    lin = nn.Linear(2, 1, rng=0)
    x = leaf(np.ones((1, 2)))
    y = lin(x).sum()             # matmul reads the weight to give x its gradient
    lin.load_state_dict({k: v + 1 for k, v in lin.state_dict().items()})
    with pytest.raises(RuntimeError, match="in-place.*'linear'"):
        y.backward()


def test_momentum_sgd_updates_in_place():
    lin = nn.Linear(2, 2, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    arrays = [p.data for p in lin.parameters()]
    for _ in range(3):
        opt.zero_grad()
        lin(np.ones((1, 2))).sum().backward()
        opt.step()
    assert all(p.data is a for p, a in zip(lin.parameters(), arrays))


def test_no_inplace_no_check_costs_nothing_and_plain_training_works():
    lin = nn.Linear(2, 1, rng=0)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        loss = (lin(np.ones((3, 2))) ** 2).sum()
        loss.backward()
        opt.step()
    assert lin.weight.grad is not None


def test_the_write_clock_never_runs_backwards_across_threads():
    import threading

    from tinygrad_edu import inplace

    seen = []

    def work():
        t = Tensor(np.zeros(4))
        last = 0
        for _ in range(2000):
            t += 1
            now = inplace.clock()
            seen.append(now >= last)
            last = now

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(seen)


def test_in_place_inside_a_function_forward_and_on_its_outputs():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            y = x.clone()
            y *= x               # in place inside forward (no_grad): untracked, fine
            return y

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = leaf([1.0, -2.0])
    y = Square.apply(x)
    y += 1                       # Square did not save its output: allowed
    y.sum().backward()
    assert np.array_equal(x.grad.data, 2 * x.data)


# ---- the central property --------------------------------------------------
_ops = st.sampled_from(["new_mul", "new_tanh", "new_add", "iadd", "isub", "imul", "idiv",
                        "set_slice", "set_repeat", "set_mask", "copy"])


@st.composite
def programs(draw):
    n = draw(st.integers(1, 8))
    return [(draw(_ops), draw(st.integers(0, 99)), draw(st.integers(0, 99))) for _ in range(n)]


def _run(program, in_place, x0):
    x = leaf(x0)
    const = Tensor(np.array([0.5, -1.0, 2.0, 0.25]))
    env = [x * 1, x.sin(), const]
    for op, i, j in program:
        a, b = i % len(env), j % len(env)
        src = env[b]
        if op == "new_mul":
            env.append(env[a] * src)
        elif op == "new_tanh":
            env.append(env[a].tanh())
        elif op == "new_add":
            env.append(env[a] + src * 0.5)
        elif op in ("iadd", "isub", "imul", "idiv"):
            other = src.tanh() + 2 if op == "idiv" else src
            # an untracked write (nothing requires grad) of a value an earlier op
            # read raises, as in PyTorch: this property is about recorded writes
            if in_place and (env[a].requires_grad or other.requires_grad):
                t = env[a]
                if op == "iadd":
                    t += other
                elif op == "isub":
                    t -= other
                elif op == "imul":
                    t *= other
                else:
                    t /= other
            else:
                f = {"iadd": tg.add, "isub": tg.sub, "imul": tg.mul, "idiv": tg.div}[op]
                env[a] = f(env[a], other)
        else:
            idx = {"set_slice": slice(1, 3), "set_repeat": [2, 0, 2],
                   "set_mask": np.array([True, False, False, True]), "copy": Ellipsis}[op]
            value = src[idx]
            if in_place and (env[a].requires_grad or value.requires_grad):
                env[a][idx] = value
            else:
                env[a] = setitem_out_of_place(env[a], idx, value)
    weights = [Tensor(np.array([1.0, 2.0, -1.0, 0.5]) * (k + 1)) for k in range(len(env))]
    loss = sum(((t * w).sum() for t, w in zip(env, weights)), Tensor(0.0))
    loss = loss + (env[-1] * env[0]).sum()
    if loss.requires_grad:
        loss.backward()
    return [t.data.copy() for t in env], x.grad


@settings(max_examples=150, deadline=None)
@given(programs(), st.lists(st.floats(-2, 2), min_size=4, max_size=4))
def test_inplace_program_backpropagates_like_its_out_of_place_rewrite(program, x0):
    vals_i, grad_i = _run(program, True, x0)
    vals_f, grad_f = _run(program, False, x0)
    for a, b in zip(vals_i, vals_f):
        assert np.array_equal(a, b)
    assert (grad_i is None) == (grad_f is None)
    if grad_i is not None:
        assert np.allclose(grad_i.data, grad_f.data, rtol=1e-12, atol=1e-12)


def test_views_taken_before_an_inplace_op_and_consumed_before_it_are_fine():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    h = x * x
    c = h[1].clone()        # getitem's view of h is read (copied) before the write
    h[0] = c
    h.sum().backward()
    assert np.array_equal(x.grad.data, [[0.0, 0.0], [2 * 2 * 3.0, 2 * 2 * 4.0]])
    x.grad = None
    y = x * 1
    y[0:1] = y[1:2]         # the value is a view of y: copied before the write
    y.sum().backward()
    assert np.array_equal(x.grad.data, [[0.0, 0.0], [2.0, 2.0]])


def test_an_op_that_read_a_view_before_the_write_raises_if_its_rule_needs_the_value():
    # Limitation: which inputs a rule reads is known per rule, not per input,
    # so mul(view, 2) counts as reading the view (PyTorch would allow this).
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    y = x * 1
    y[0:1] = y[1:2] * 2
    with pytest.raises(RuntimeError, match="input 0.*'mul'"):
        y.sum().backward()
    x.grad = None
    y = x * 1
    y[0:1] = y[1:2].clone() * 2   # the workaround
    y.sum().backward()
    assert np.array_equal(x.grad.data, [[0.0, 0.0], [3.0, 3.0]])
