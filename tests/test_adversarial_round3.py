"""Round 3 of adversarial tests: the jit, safetensors, interop, ONNX export, the learn CLI.

Each test is the smallest reproduction of a fault found by trying to break
the feature; the fix is in the library file named in the test's docstring.
"""
import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.nn import functional as F_

_NP_ONES = np.ones  # numpy's own, before any recording swapped it


# ---- jit: Python values the step reads from its scope ---------------------------------
def _run(jitted, change, calls=5):
    """A small model trained by a step that reads ``state`` from its scope; ``change(i,
    state, model)`` runs before call i. Returns the losses and final parameters."""
    tg.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    state = {"scale": 1.0}
    rng = np.random.default_rng(1)
    xs = [tg.Tensor(rng.standard_normal((5, 3))) for _ in range(calls)]

    def step(x):
        opt.zero_grad()
        loss = ((model(x) * state["scale"]) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    f = tg.jit(step) if jitted else step
    losses = []
    for i in range(calls):
        change(i, state, model)
        losses.append(f(xs[i]).data.copy())
    return losses, [p.data.copy() for p in model.parameters()]


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a[0] + a[1], b[0] + b[1]))


def _train_module(make, jitted, change, calls=5):
    """``make()``'s model trained by an SGD step on a fixed batch; ``change(i, model)``
    runs before call i. Returns the losses and final parameters (compare with _same)."""
    tg.manual_seed(0)
    m = make()
    opt = optim.SGD(m.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad()
        loss = (m(x) ** 2).mean()
        loss.backward()
        opt.step()
        return loss

    f = tg.jit(step) if jitted else step
    x = tg.Tensor(np.arange(15.0).reshape(5, 3) / 10)
    out = []
    for i in range(calls):
        change(i, m)
        out.append(f(x).data.copy())
    return out, [p.data.copy() for p in m.parameters()]


def test_jit_scope_scalar_changed_after_recording_is_not_frozen():
    """A number in the step's scope changed after calls 1 and 2 recorded: the replay used
    the recorded value (silently wrong). Fix (_jit/capture.py scalar_sources, keyed in
    function.py): the scalars the step can see are part of the cache key."""
    def change(i, state, model):
        state["scale"] = 1.0 if i < 3 else 3.0
    assert _same(_run(False, change), _run(True, change))


def test_jit_module_float_attribute_changed_after_recording():
    """``self.scale`` of a module, changed between replays (same fault and fix)."""
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)
            self.scale = 1.0

        def forward(self, x):
            return self.lin(x) * self.scale

    def change(i, m):
        m.scale = 1.0 if i < 3 else 0.5
    assert _same(_train_module(Scaled, False, change), _train_module(Scaled, True, change))


def test_jit_closure_number_rebound_after_recording():
    """A closure variable (``nonlocal``) rebound after recording (same fault and fix)."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)
        scale = 1.0

        def step(x):
            opt.zero_grad()
            loss = ((model(x) * scale) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        x = tg.Tensor(np.arange(15.0).reshape(5, 3) / 10)
        out = []
        for i in range(5):
            scale = 1.0 if i < 3 else 2.0
            out.append(f(x).data.copy())
        return out, [p.data.copy() for p in model.parameters()]

    assert _same(run(False), run(True))


def test_jit_gradient_accumulation_over_two_calls():
    """No zero_grad in the step, the optimizer steps outside every second call: the .grad
    None-pattern alternates, and comparing each recording with the previous one (of the
    other pattern) raised TraceError forever. Fix (_jit/function.py _record): compare with
    the last recording of the same pattern; the jitted run equals eager bit for bit."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            loss = (model(x) ** 2).mean()
            loss.backward()
            return loss

        f = tg.jit(step) if jitted else step
        rng = np.random.default_rng(1)
        out = []
        for i in range(8):
            if i % 2 == 0:
                opt.step()
                opt.zero_grad()
            out.append(f(tg.Tensor(rng.standard_normal((5, 3)))).data.copy())
        return out, [p.data.copy() for p in model.parameters()], f

    eager, jitted = run(False), run(True)
    assert _same(eager[:2], jitted[:2])
    assert jitted[2].cache_info().hits > 0


def test_jit_scheduler_stepped_inside_the_step():
    """``sched.step()`` inside the jitted step changed ``lr`` only while recording; the
    replays kept the last recorded lr (silently wrong). Fixed by the scalar key (the
    scheduler's ``last_epoch`` is seen): every call now equals eager."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

        def step(x):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            sched.step()
            return loss

        f = tg.jit(step) if jitted else step
        x = tg.Tensor(np.arange(15.0).reshape(5, 3) / 10)
        return [f(x).data.copy() for _ in range(5)], [p.data.copy() for p in model.parameters()]

    assert _same(run(False), run(True))


# ---- in place on a 0-d view: the fuzzer's expectation, not the library, was wrong ----------
def test_inplace_on_0d_view_with_bigger_operand_raises_like_numpy():
    """tests/test_fuzz_graph.py found ``h[i] += other`` (h[i] 0-d, other (1, 1)) raising
    ValueError in inplace.py. numpy (non-broadcastable output operand) and PyTorch (output
    with shape [] doesn't match the broadcast shape [1, 1]) refuse it too: the error is right.
    The fuzzer expected the old 'view' refusal, from before in-place ops on basic-index views
    wrote through to their base; it now follows the library's rule (_writes_through)."""
    a = np.arange(3.0)
    with pytest.raises(ValueError):
        view = a[0:1].reshape(())
        view += np.ones((1, 1))
    w = tg.Tensor(np.arange(3.0), requires_grad=True)
    h = w * 1
    x = h[0]
    other = tg.Tensor(np.ones((1, 1)), requires_grad=True)
    before = h.data.copy()
    with pytest.raises(ValueError, match=r"add_.*shape \(1, 1\).*shape \(\)"):
        x += other
    assert np.array_equal(h.data, before)
    x += tg.Tensor(np.array(2.0))  # a fitting operand writes through, with its graph
    assert np.array_equal(h.data, [2.0, 1.0, 2.0])
    h.sum().backward()
    assert np.array_equal(w.grad.data, [1.0, 1.0, 1.0])


# ---- interop: a module shared by two attributes -------------------------------------------
class _Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 2)
        self.b = self.a  # PyTorch's state_dict lists it as a.* and b.*

    def forward(self, x):
        return self.b(self.a(x) @ np.ones((2, 3)))


def test_interop_shared_module_keys_follow_pytorch():
    """PyTorch's ``state_dict`` lists a shared module's tensors under every path (a.weight and
    b.weight); ours lists them once, so from_torch_state_dict refused PyTorch's dict
    (unexpected keys) and to_torch_state_dict gave one PyTorch's strict load refuses (missing
    keys). Fix (interop.py _aliases): aliases are accepted (checked equal) and written."""
    from tinygrad_edu import interop

    m = _Shared()
    w = np.arange(6.0).reshape(2, 3)  # PyTorch's (out, in)
    bias = np.array([0.5, -1.0])
    torch_sd = {"a.weight": w, "a.bias": bias, "b.weight": w, "b.bias": bias}
    sd = interop.from_torch_state_dict(m, torch_sd)
    assert list(sd) == ["a.weight", "a.bias"]
    m.load_state_dict(sd)
    assert np.array_equal(m.a.weight.data, w.T)
    out = interop.to_torch_state_dict(m)
    assert list(out) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert np.array_equal(out["b.weight"], w) and np.array_equal(out["b.bias"], bias)
    with pytest.raises(ValueError, match="b.weight"):
        interop.from_torch_state_dict(m, {**torch_sd, "b.weight": w + 1})


def test_jit_scope_array_copied_in_the_step_then_changed_in_place():
    """``Tensor(target)`` (or ``target.copy()``) inside the step, of a numpy array from the
    step's scope changed in place after recording: the copy is made outside numpy's dispatch,
    so the program held the recorded value (silently wrong). Fix (_jit/capture.py
    scope_arrays, checked in function.py before a replay): the scope's plain arrays are
    compared with their recorded values; a change records again."""
    def run(jitted, copy):
        tg.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)
        target = np.zeros((5, 2))

        def step(x):
            opt.zero_grad()
            loss = ((model(x) - copy(target)) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        x = tg.Tensor(np.arange(15.0).reshape(5, 3) / 10)
        out = []
        for i in range(5):
            target[:] = 0.0 if i < 3 else 1.0
            out.append(f(x).data.copy())
        return out, [p.data.copy() for p in model.parameters()]

    for copy in (tg.Tensor, np.copy, lambda a: a.copy()):
        assert _same(run(False, copy), run(True, copy))


def test_jit_recording_in_another_thread_does_not_unpatch_numpy():
    """While a call records, numpy's empty/zeros/ones/full are swapped (engine buffers become
    traced slots); a recording that ended in another thread restored them under this one,
    whose recordings then differed (TraceError at random in threaded training). Fix
    (_jit/function.py _patch_creators): counted across threads."""
    import threading

    def make(seed):
        tg.manual_seed(seed)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
        return model, optim.Adam(model.parameters(), lr=0.01)

    def worker(go, done, stop):
        other_model, other_opt = make(1)

        def other_step(x):
            other_opt.zero_grad()
            loss = (other_model(x) ** 2).mean()
            loss.backward()
            other_opt.step()
            return loss

        other = tg.jit(other_step)
        calls = 0
        while go.wait(10) and not stop.is_set():
            go.clear()
            # the first time, a recording (which ends while this step's call 1 records);
            # then plain eager calls: this step's two recordings must still agree
            (other if calls == 0 else other_step)(tg.Tensor(np.ones((3, 4))))
            calls += 1
            done.set()

    def run(jitted):
        model, opt = make(0)
        go, done, stop = threading.Event(), threading.Event(), threading.Event()
        patched = []
        thread = threading.Thread(target=worker, args=(go, done, stop))
        thread.start()

        def step(x, _patched=patched):  # a default: not part of what the jit looks at
            opt.zero_grad()
            h = model[0](x)
            go.set()  # the other thread runs a whole call of its own jitted step now
            done.wait(10)
            done.clear()
            _patched.append(np.ones is not _NP_ONES)  # still swapped while this call records?
            loss = (model[2](model[1](h)) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        x = tg.Tensor(np.arange(12.0).reshape(3, 4) / 10)
        try:
            out = [f(x).data.copy() for _ in range(4)]
        finally:
            stop.set()
            go.set()
            thread.join()
        return out, [p.data.copy() for p in model.parameters()], patched

    eager, jitted = run(False), run(True)
    assert _same(eager[:2], jitted[:2])
    assert jitted[2][:2] == [True, True]  # the two recording calls (replays run no Python)
    assert np.ones is _NP_ONES


# ---- jit: numpy arrays as inputs, turned into tensors inside the step ---------------------
@pytest.mark.parametrize("wrap", [
    tg.Tensor,                                   # Tensor(x): np.array copy, unseen
    lambda x: tg.exp(x) * 0.1,                   # an op given the array (as_operand)
    lambda x: x.astype(np.float32),              # a float32 array into float64 weights (matmul)
], ids=["Tensor(x)", "exp(x)", "float32 array into Linear"])
def test_jit_numpy_input_wrapped_inside_the_step(wrap):
    """``step(x_numpy)`` whose body makes a tensor of ``x`` (``Tensor(x)``, ``tg.exp(x)``, a
    matmul with an array of another dtype): the conversion went through ``np.array`` or
    ``np.asarray``, copies no recording follows, so the program held call 2's batch as a
    constant; silently wrong when calls 1 and 2 got equal batches. Fix: tensor.py
    ``Tensor.__init__`` copies a traced array with a logged ``astype``; ops/_common.py
    ``as_operand`` and ops/linalg.py ``_constant`` keep traced arrays traced."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (model(wrap(x)) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        out = [f(np.full((5, 3), 1.0 if i < 2 else float(i))).data.copy() for i in range(5)]
        return out, [p.data.copy() for p in model.parameters()]

    assert _same(run(False), run(True))


# ---- jit: a module's plain tensor/array attributes (not registered buffers) ----------------
class _Masked(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)
        self.mask = tg.Tensor(np.ones(2))  # a plain attribute, not register_buffer
        self.scale = np.ones(2)

    def forward(self, x):
        return self.lin(x) * self.mask * self.scale


@pytest.mark.parametrize("change", [
    lambda m: setattr(m, "mask", tg.Tensor(np.array([0.0, 2.0]))),
    lambda m: setattr(m.mask, "data", np.array([0.0, 2.0])),
    lambda m: setattr(m, "scale", np.array([0.0, 2.0])),
], ids=["Tensor attribute replaced", "its .data replaced", "array attribute replaced"])
def test_jit_module_plain_tensor_attribute_replaced(change):
    """Discovery took a module's parameters and buffers only: a plain ``self.mask`` Tensor
    (or array) replaced after recording kept its recorded value (silently wrong). Fix
    (_jit/capture.py discover: such attributes are traced and watched; function.py: the
    scope arrays' identities are part of the key)."""
    def at_call_3(i, m):
        if i == 3:
            change(m)
    assert _same(_train_module(_Masked, False, at_call_3), _train_module(_Masked, True, at_call_3))


# ---- jit: the library's own modules must not read values while recording ---------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jit_batchnorm_cumulative_average(dtype):
    """``BatchNorm1d(momentum=None)`` (PyTorch's cumulative moving average) read
    ``int(num_batches_tracked)`` in forward: TraceError inside the library, with a message
    telling the user to restructure their step. Fix (nn/normalization.py: the same division
    on the 0-d count while recording; ops/normalization.py batch_norm: a 0-d momentum is cast
    as numpy casts a Python float): the jitted step equals eager bit for bit, float32 too."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, momentum=None), nn.Linear(4, 2))
        model.to(dtype)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        rng = np.random.default_rng(2)
        out = [f(tg.Tensor(rng.standard_normal((5, 3)).astype(dtype))).data.copy() for _ in range(6)]
        return out, [v.copy() for v in model.state_dict().values()]

    assert _same(run(False), run(True))


def _embedding_run(jitted, batches):
    tg.manual_seed(0)
    emb = nn.Embedding(6, 3, padding_idx=0)
    opt = optim.SGD(emb.parameters(), lr=0.1)

    def step(idx):
        opt.zero_grad()
        loss = (emb(idx) ** 2).sum()
        loss.backward()
        opt.step()
        return loss

    f = tg.jit(step) if jitted else step
    out = []
    for b in batches:
        try:
            out.append(f(tg.Tensor(np.array(b))).data.copy())
        except ValueError as err:
            out.append(str(err))
    return out, [emb.weight.data.copy()]


def test_jit_embedding_indices_are_recorded_and_range_checked():
    """F.embedding took ``np.asarray`` of the indices: a view no recording follows, so the
    padding mask was a constant of the program (wrong when calls 1 and 2 had equal indices)
    and the range check was not replayed (a negative index picked a row from the end instead
    of raising). Fix (nn/functional.py embedding: traced indices, range test via guard())."""
    batches = [[1, 0, 2], [1, 0, 2], [3, 3, 0], [0, 5, 4], [-1, 2, 3], [2, 2, 1]]
    eager, jitted = _embedding_run(False, batches), _embedding_run(True, batches)
    assert "out of range" in eager[0][4] and jitted[0][4] == eager[0][4]
    assert all(np.array_equal(a, b) for i, (a, b) in enumerate(zip(*(eager[0], jitted[0])))
               if i != 4)
    assert np.array_equal(eager[1][0], jitted[1][0])


@pytest.mark.parametrize("reduce", [
    lambda y: tg.linalg.norm(y, axis=1),
    lambda y: tg.linalg.norm(y),
    lambda y: tg.median(y, axis=1),
], ids=["norm axis=1", "norm", "median"])
def test_jit_norm_and_median_inside_the_step(reduce):
    """``linalg.norm`` wrapped its result with ``np.asarray`` (a plain view: the program held
    a constant computed from call 2's input, wrong when calls 1 and 2 had equal inputs);
    ``median`` decided a fast path with ``bool()`` on values (TraceError from inside the
    library). Fix: ops/_norm.py keeps the result traced; ops/stats.py _pick uses guard()."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Linear(4, 4)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x):
            opt.zero_grad()
            loss = (reduce(model(x)) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        rng = np.random.default_rng(3)
        same = rng.standard_normal((6, 4))
        xs = [same, same] + [rng.standard_normal((6, 4)) for _ in range(3)]
        out = [f(tg.Tensor(x)).data.copy() for x in xs]
        return out, [p.data.copy() for p in model.parameters()]

    assert _same(run(False), run(True))


@pytest.mark.parametrize("loss_of", [
    lambda y, a: (y * F_.one_hot(tg.Tensor(a % 4), 4)).sum(),
    lambda y, a: F_.binary_cross_entropy_with_logits(y, (a[:, None] > 1).astype(float) * np.ones(4)),
    lambda y, a: (y * nn.BatchNorm1d(4)(np.ones((6, 4)) * a[:, None])).sum(),
    lambda y, a: tg.take_along_axis(y, np.stack([a % 4, (a + 1) % 4], 1), axis=1).sum(),
], ids=["one_hot", "bce numpy target", "BatchNorm of a numpy array", "take_along_axis numpy index"])
def test_jit_numpy_operands_of_library_ops(loss_of):
    """Library ops turning a numpy operand (an input of the step) into an array with
    ``np.asarray`` got a plain view no recording follows: what they computed from it became a
    constant of the program (silently wrong when calls 1 and 2 had equal operands). Fix: the
    engine's ``np.asarray`` calls on operands go through ops/_common.asarray (traced arrays
    stay traced), and the validation checks on values they make go through guard()."""
    def run(jitted):
        tg.manual_seed(0)
        model = nn.Linear(4, 4)
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, a):
            opt.zero_grad()
            loss = loss_of(model(x), a)
            loss.backward()
            opt.step()
            return loss

        f = tg.jit(step) if jitted else step
        rng = np.random.default_rng(4)
        x = rng.standard_normal((6, 4))
        a = rng.integers(0, 4, 6)
        calls = [(x, a), (x, a)] + [(rng.standard_normal((6, 4)), rng.integers(0, 4, 6))
                                    for _ in range(3)]
        out = [f(*c).data.copy() for c in calls]
        return out, [p.data.copy() for p in model.parameters()]

    assert _same(run(False), run(True))


def test_a_refused_recording_leaves_no_traced_arrays_behind():
    # Found by a new user: the model and optimizer passed as arguments are refused
    # (the jit captures them from the enclosing scope), but the model's .grad was
    # left as a traced array and the next jitted function failed with "nested jit".
    import tinygrad_edu as tg
    from tinygrad_edu import nn, optim

    def make():
        m = nn.Linear(3, 2, rng=0)
        return m, optim.SGD(m.parameters(), lr=0.01)

    x = tg.Tensor(np.arange(12.0).reshape(4, 3) / 10)
    y = tg.Tensor(np.ones((4, 2)))
    m, opt = make()

    @tg.jit
    def by_argument(model, opt, x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        opt.step()
        return loss

    with pytest.raises(tg.TraceError, match="enclosing scope"):
        by_argument(m, opt, x, y)
    g = m.weight.grad  # (None: the refusal now comes before backward sets it)
    assert (g is None or type(g.data) is np.ndarray) and type(m.weight.data) is np.ndarray

    def body(model, o):
        o.zero_grad()
        loss = ((model(x) - y) ** 2).sum()
        loss.backward()
        o.step()
        return loss

    step = tg.jit(lambda: body(m, opt))
    m2, opt2 = make()
    for _ in range(4):
        assert np.array_equal(step().data, body(m2, opt2).data)
    assert np.array_equal(m.weight.data, m2.weight.data)
