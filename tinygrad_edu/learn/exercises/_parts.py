"""The code of the build-your-own-engine path, each piece written once (not an exercise).

Step N's SKELETON and SOLUTION are the engine of step N - 1 plus the step's
own new part: the exercise modules compose their files from these pieces,
so a line the learner sees in several steps has one source. Pieces are
listed in the order the path introduces them. To read a step's file
whole: python -m tinygrad_edu.learn solution <slug> (start <slug> writes the skeleton).
"""


def header(step, title, page, slug):
    """The docstring that opens every file of the path."""
    return (f'"""Build your own engine, step {step}: {title} (docs/{page}).\n\n'
            f'Check: python -m tinygrad_edu.learn check {slug}\n"""\n')


def engine_file(head, imports, *blocks):
    """A whole file: the header, the imports and top-level blocks, two blank lines apart."""
    return head + "\n\n".join((imports, *blocks))


def value_class(*members):
    """class Value with these members (methods, attributes), one blank line apart."""
    return CLASS_HEAD + "\n".join(members)


IMPORTS = "import numpy as np\n"

CLASS_HEAD = '''class Value:
    """An array that remembers the values it was computed from."""

'''

# step 1: a Value keeps its data, its parents and its op
FIELDS = '''        self.data = np.asarray(data, dtype=float)  # integers become floats, once
        self.parents = parents  # the Values this one was computed from
        self.op = op  # how: "+", "*", ...
'''

REPR = '''    def __repr__(self):
        return f"Value({self.data!r}, op={self.op!r})"
'''

ADD_HEAD = '''    def __add__(self, other):
        other = as_value(other)
'''

MUL_HEAD = '''    def __mul__(self, other):
        other = as_value(other)
        a, b = self.data, other.data
'''

AS_VALUE = '''def as_value(x):
    """x itself if it is a Value, else a constant Value holding x."""
    return x if isinstance(x, Value) else Value(x)
'''

# step 2: every Value carries its vjp, and + and * give theirs
INIT = ('''    def __init__(self, data, parents=(), op="", vjp=None):
''' + FIELDS + '''        self.vjp = vjp  # g -> one gradient per parent; None for a leaf
        self.grad = None  # dL/dself, set by backward
''')

ADD = ADD_HEAD + '''        return Value(self.data + other.data, (self, other), "+", lambda g: (g, g))
'''

MUL = MUL_HEAD + '''        return Value(a * b, (self, other), "*", lambda g: (g * b, g * a))
'''

# step 4: the chain rule as a loop over an order; the last lines change in steps 6 and 7
BACKWARD_IN_ORDER_HEAD = '''def backward_in_order(root, order):
    """Fill .grad of every value in order (each listed after all the values that use it)."""
'''

BACKWARD_IN_ORDER_LOOP = '''    grads = {root: np.ones_like(root.data)}  # dL/dv of the values reached so far
    for v in order:
        v.grad = grads[v]
        if v.vjp is None:
            continue  # a leaf: nothing to pass on
        for p, g in zip(v.parents, v.vjp(v.grad)):
'''

STORE = "            grads[p] = g\n"

BACKWARD_IN_ORDER = BACKWARD_IN_ORDER_HEAD + BACKWARD_IN_ORDER_LOOP + STORE

# step 5: Values are numbered, and the order is found from the graph
IMPORTS_COUNTER = '''import itertools

import numpy as np

_counter = itertools.count()  # numbers every Value in creation order
'''

INIT_SEQ = INIT + "        self.seq = next(_counter)  # creation number: parents have smaller ones\n"

TOPO_ORDER_HEAD = '''def topo_order(root):
    """root and every value it depends on, newest first: each before its parents."""
'''

TOPO_ORDER = TOPO_ORDER_HEAD + '''    seen, stack = {root}, [root]
    while stack:  # a loop, not recursion: no depth limit
        v = stack.pop()
        for p in v.parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return sorted(seen, key=lambda v: v.seq, reverse=True)
'''

BACKWARD = '''def backward(root):
    """Fill .grad of root and of every value root depends on."""
    backward_in_order(root, topo_order(root))
'''

# step 6: a value used twice adds up its gradients
ACCUMULATE = "            grads[p] = grads[p] + g if p in grads else g\n"

# step 7: gradients are summed back to their operand's shape
UNBROADCAST_HEAD = '''def unbroadcast(g, shape):
    """Sum g down to shape: the gradient of an operand that numpy broadcast."""
'''

UNBROADCAST = UNBROADCAST_HEAD + '''    while g.ndim > len(shape):  # axes numpy added in front
        g = g.sum(axis=0)
    for axis, n in enumerate(shape):  # axes of length 1 that numpy stretched
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g
'''

BACKWARD_IN_ORDER_UNBROADCAST = (BACKWARD_IN_ORDER_HEAD + BACKWARD_IN_ORDER_LOOP
                                 + "            g = unbroadcast(g, p.data.shape)\n" + ACCUMULATE)

# step 8: the operators and ops the blog's network needs
ARRAY_UFUNC = '''    # `array - value`: numpy steps aside and calls Value.__rsub__ (see blog-ops.md)
    __array_ufunc__ = None
'''

OPERATORS = '''    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-as_value(other))

    def __radd__(self, other):  # number + Value
        return as_value(other) + self

    def __rmul__(self, other):  # number * Value
        return as_value(other) * self

    def __rsub__(self, other):  # number - Value
        return as_value(other) - self
'''

POW_HEAD = "    def __pow__(self, n):  # n: a plain number\n"
SUM_HEAD = "    def sum(self):\n"
SIGMOID_HEAD = "    def sigmoid(self):\n"
DOT_HEAD = "    def dot(self, other):\n"

BLOG_OPS = [
    POW_HEAD + '''        a = self.data
        return Value(a ** n, (self,), f"**{n}", lambda g: (g * (n * a ** (n - 1)),))
''',
    SUM_HEAD + '''        a = self.data
        return Value(np.sum(a), (self,), "sum", lambda g: (g * np.ones_like(a),))
''',
    SIGMOID_HEAD + '''        s = 1 / (1 + np.exp(-self.data))  # the blog's nonlin(x)
        return Value(s, (self,), "sigmoid", lambda g: (g * (s * (1 - s)),))
''',
    DOT_HEAD + '''        other = as_value(other)
        a, b = self.data, other.data
        return Value(a.dot(b), (self, other), "dot", lambda g: (g.dot(b.T), a.T.dot(g)))
''',
]

# the engine as step 8 leaves it: the blog's network (step 9) adds train to it
BLOG_VALUE = value_class(ARRAY_UFUNC, INIT_SEQ, REPR, ADD, MUL, OPERATORS, *BLOG_OPS)
BLOG_ENGINE_TAIL = (AS_VALUE, UNBROADCAST, BACKWARD_IN_ORDER_UNBROADCAST, TOPO_ORDER, BACKWARD)
