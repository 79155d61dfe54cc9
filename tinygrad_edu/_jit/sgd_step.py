"""Plain SGD written out in the program: the numpy calls ``SGD.step`` makes, read live.

The step is the last thing most programs do, and its Python (looping over
groups and parameters, reading ``.grad``) costs as much as the update on a
small model. Written out, it is one ``np.subtract`` per parameter.
"""
from __future__ import annotations

import numpy as np

from ..inplace import mark_tensors_modified
from ..optim.sgd import SGD, STEP, is_one
from .numbers import as_typed

__all__ = ["sgd_lines"]


class _TypedRate:
    """The last learning rate seen and its 0-d array of one dtype (see numbers.py):
    a rate is a Python float that the update would convert on every call.
    ``pair``: (the rate object, what the update multiplies by), replaced whole, so
    that two threads never see one's rate with the other's array."""

    __slots__ = ("dtype", "pair")

    def __init__(self, dtype):
        self.dtype, self.pair = dtype, (None, None)

    def __call__(self, rate):
        pair = self.pair
        if rate is not pair[0]:  # the same object, the same number: no new conversion
            typed = ONE if is_one(rate) else \
                as_typed(rate, self.dtype) if type(rate) in (float, int) else None
            pair = self.pair = (rate, typed)
        return pair[1]


ONE = object()  # the rate is 1: SGD.step subtracts g itself


def plain_sgd(opt):
    """Is ``opt.step`` the library's own ``SGD.step``? Not if ``step`` is patched on the
    class or the instance, or the class swapped (``opt.__class__ = ...``): then the step
    is a macro. (A change made after the recording is another program: the key holds
    each optimizer's class and ``step``, the discovery watches the instance's.)"""
    return type(opt) is SGD and SGD.step is STEP and "step" not in opt.__dict__


def sgd_lines(opt, grads, names, refs, values, step=None):
    """The lines replaying ``opt.step()``.

    Plain SGD (no momentum, no weight decay: read from ``param_groups`` at
    replay, as the eager step reads them) is written out as the very numpy
    calls ``SGD.step`` makes, ``np.subtract(p.data, lr * g, out=p.data,
    casting="unsafe")`` with ``lr`` read live, followed by the
    ``mark_tensors_modified`` the step ends with. ``lr * g`` is
    ``np.multiply(lr as a 0-d array of g's dtype, g)`` when ``lr`` is a Python
    number (the same bits, see numbers.py), converted again only when the
    group's ``lr`` is another object; ``g`` itself when ``lr`` is 1, as
    ``SGD.step`` does. Its checks are known to pass: every
    parameter's ``.grad`` was set by the program just before (shapes and
    dtypes fixed by the recording), or is checked to be None at replay (then
    skipped, as the eager step skips it). Any other case (another optimizer,
    momentum or weight decay switched on, such a ``.grad`` not None, ``step``
    patched on the class or the instance, the class swapped): the
    real ``opt.step()`` (a macro), which reads everything at replay.

    ``grads``: id(parameter) -> the slot its ``.grad`` holds (None: set to
    None); ``values``: the recorded value of each slot.
    """
    o = names.const(opt)
    # the step function the recording intercepted (Optimizer marks each class's step),
    # called on the optimizer: opt.step may be a wrapper set on the instance, whose own
    # work is in the program already
    def macro():
        if step is None or (type(opt).step is step and "step" not in vars(opt)):
            return [f"{o}.step()"]  # the same function (the key holds the class's step)
        return [f"{names.const(step, type(opt).__name__ + '.step')}({o})"]
    if not plain_sgd(opt):
        return macro()
    groups, unset, owner = [], [], {}
    for group in opt.param_groups:
        pairs = []
        for p in group["params"]:
            name = refs.get(id(p)) or names.const(p, "tensor " + str(tuple(p.shape)))
            owner[name] = p  # (its dtype is part of the program's key)
            if id(p) not in grads:
                unset.append(name)  # .grad not set by the program: skipped if None then
            elif grads[id(p)] is not None:
                pairs.append((name, grads[id(p)]))
        groups.append(pairs)
    if not any(groups):
        return macro()
    sub, mul = names.const(np.subtract), names.const(np.multiply)
    names.ns["_ONE"] = ONE
    lines = [f"_gs = {o}.param_groups"]
    # (dict's own lookup: a ParamGroup's tells a recording what a step reads, and no
    # recording runs here)
    names.ns["_item"] = dict.__getitem__
    plain = " and ".join([f"not _item(_gs[{k}], 'momentum') and not _item(_gs[{k}], 'weight_decay')"
                          for k in range(len(groups))] + [f"{p}._grad is None" for p in unset])
    lines.append(f"if len(_gs) == {len(groups)} and {plain}:")
    for k, pairs in enumerate(groups):
        if not pairs:
            continue
        lines.append(f"    _lr = _item(_gs[{k}], 'lr')")
        by_dtype = {}
        for p, g in pairs:
            by_dtype.setdefault(np.asarray(values[g.i]).dtype, []).append((p, g))
        for dtype, of_dtype in by_dtype.items():
            rate = names.const(_TypedRate(dtype), f"learning rate as {dtype}")
            lines.append(f"    _c = {rate}.pair")  # (the last rate, converted): inline if the same
            lines.append(f"    _t = _c[1] if _c[0] is _lr else {rate}(_lr)")
            for test, grad in (("if _t is _ONE", "s{}"), ("elif _t is not None", f"{mul}(_t, s{{}})"),
                               ("else", "_lr * s{}")):
                lines.append(f"    {test}:")
                for p, g in of_dtype:
                    # one dtype: nothing to cast, out= given by position
                    same = test != "else" and owner[p].data.dtype == dtype
                    out = f"{p}.data" if same else f"out={p}.data, casting='unsafe'"
                    lines.append(f"        {sub}({p}.data, {grad.format(g.i)}, {out})")
    touched = [p for pairs in groups for p, _ in pairs]
    lines.append(f"    {names.const(mark_tensors_modified)}(({', '.join(touched)},))")
    lines += ["else:", "    " + macro()[0]]
    return lines
