"""Chapter 10, exercise: a replay that allocates nothing (docs/jit.md)."""
from __future__ import annotations

import numpy as np

SLUG = "ch10_replay_out"
ORDER = 110.1
TITLE = "A replay that writes into the recorded buffers (out=)"
PAGE = "jit.md"
HINT = ("np.dot and every ufunc take out=: fn(*operands, out=tape.buffers[result]); "
        "np.transpose makes a view: tape.buffers[result] = np.transpose(operand)")

# The skeleton and the solution share the recorder; they differ only in replay's body.
_HEAD = '"""Chapter 10, exercise: a replay that allocates nothing (docs/jit.md).\n\nThe recorder of the chapter, as on the page. Its replay makes a new array\nfor every call\'s result; write one that writes each result into the array\nrecorded for it (numpy\'s out=), as tinygrad_edu.jit\'s programs do.\n\nCheck: python -m tinygrad_edu.learn check ch10_replay_out\n"""\nimport numpy as np\n\n\nclass Tape:\n    """A recording: the buffers (arrays and constants) and the calls made on them, in order."""\n\n    def __init__(self):\n        self.buffers = []     # slot number -> array, or a Python constant\n        self.calls = []       # (function, operand slots, result slot, in place?)\n\n    def input(self, array):\n        self.buffers.append(array)\n        return Traced.at(self, len(self.buffers) - 1)\n\n    def slot(self, value):\n        if isinstance(value, Traced):\n            return value.slot\n        self.buffers.append(value)        # anything else is a constant of the program\n        return len(self.buffers) - 1\n\n    def call(self, fn, args, out=None):\n        slots = [self.slot(a) for a in args]\n        operands = [self.buffers[s] for s in slots]\n        if out is None:\n            self.buffers.append(fn(*operands))\n            result = len(self.buffers) - 1\n        else:\n            result = out.slot\n            fn(*operands, out=self.buffers[result])\n        self.calls.append((fn, slots, result, out is not None))\n        return Traced.at(self, result)\n\n\nclass Traced(np.ndarray):\n    """A view of a buffer on a tape: numpy hands every operation on it to the tape."""\n\n    @staticmethod\n    def at(tape, slot):\n        view = np.asarray(tape.buffers[slot]).view(Traced)\n        view.tape, view.slot = tape, slot\n        return view\n\n    def __array_ufunc__(self, ufunc, method, *args, out=None):\n        tape = next(a.tape for a in args + (out or ()) if isinstance(a, Traced))\n        return tape.call(ufunc, args, out[0] if out else None)\n\n    def __array_function__(self, func, types, args, kwargs):\n        return self.tape.call(func, args)\n\n    def dot(self, other):\n        return self.tape.call(np.dot, (self, other))\n\n    @property\n    def T(self):\n        return self.tape.call(np.transpose, (self,))\n\n\ndef nonlin(x, deriv=False):\n    if deriv:\n        return x * (1 - x)\n    return 1 / (1 + np.exp(-x))\n\n\ndef record(syn0, syn1, X, y):\n    """Record one iteration of the blog\'s loop; the weights are updated in place."""\n    tape = Tape()\n    syn0, syn1 = tape.input(syn0), tape.input(syn1)\n    l0, y = tape.input(X), tape.input(y)\n    l1 = nonlin(np.dot(l0, syn0))\n    l2 = nonlin(np.dot(l1, syn1))\n    l2_error = y - l2\n    l2_delta = l2_error * nonlin(l2, deriv=True)\n    l1_error = l2_delta.dot(syn1.T)\n    l1_delta = l1_error * nonlin(l1, deriv=True)\n    syn1 += l1.T.dot(l2_delta)\n    syn0 += l0.T.dot(l1_delta)\n    return tape\n\n\ndef replay(tape):\n    """Run the recorded calls again, each result into its recorded buffer.\n\n    Ufuncs and np.dot take out=; np.transpose does not (it makes a view,\n    which costs no copy): assign its result to the slot instead.\n    """\n'

SKELETON = _HEAD + '    # TODO: for each (fn, args, result, in_place) in tape.calls, call fn on the\n    # operands\' buffers, writing into tape.buffers[result] where fn takes out=.\n    raise NotImplementedError("replay")\n'

SOLUTION = _HEAD + '    b = tape.buffers\n    for fn, args, result, in_place in tape.calls:\n        operands = [b[s] for s in args]\n        if fn is np.transpose:\n            b[result] = fn(*operands)     # a view: nothing to allocate\n        else:\n            fn(*operands, out=b[result])  # the array recorded for this result, reused\n'


def check(ns):
    from tinygrad_edu import blog

    syn0, syn1 = blog.initial_weights((3, 4), (4, 1))
    tape = ns.record(syn0, syn1, blog.X, blog.Y_PART2)
    before = {s: tape.buffers[s] for _, _, s, _ in tape.calls}
    ns.replay(tape)
    for fn, _, s, _ in tape.calls:
        if fn is not np.transpose:
            assert tape.buffers[s] is before[s], (
                f"the result of {fn.__name__} (slot {s}) is a new array after replay: write it "
                "into the recorded one with out=tape.buffers[result]")
    for _ in range(1998):  # with the recorded iteration and the one above: 2,000
        ns.replay(tape)
    want0, want1, _ = blog.by_hand_three_layer(2000)
    assert np.array_equal(syn0, want0) and np.array_equal(syn1, want1), (
        "after 2,000 iterations the weights differ from the blog's hand-written loop: every call "
        "must read its operands from the buffers, in the recorded order (max difference "
        f"{max(np.abs(syn0 - want0).max(), np.abs(syn1 - want1).max()):.3g})")
