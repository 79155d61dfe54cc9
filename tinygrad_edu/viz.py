"""A picture of the recorded graph, as Graphviz DOT text (after micrograd's ``draw_dot``).

:func:`to_dot` needs nothing but this package: it returns the DOT source,
which any Graphviz tool (or an online viewer) renders. :func:`draw` renders
it to SVG/PNG/PDF with the ``graphviz`` Python package and Graphviz's ``dot``
program, when both are installed (``pip install "tinygrad_edu[viz]"`` and,
e.g., ``apt-get install graphviz``).

The picture has one box per tensor (its name when it is a named parameter,
its shape and dtype, and for small tensors its data and gradient) and one
oval per op, with arrows from the op's inputs to the op and from the op to
its result. Inputs that do not require grad are drawn dashed; constants
(Python numbers, arrays) as plain text.

The graph is what backward walks, so it is freed by ``backward()`` unless
``retain_graph=True`` is passed: draw before backward, or backward with
``retain_graph=True`` to draw the graph with its gradients filled in.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .tensor import Tensor

__all__ = ["to_dot", "draw"]

_INSTALL = (
    "draw() renders with Graphviz: install the Python package with "
    "`pip install graphviz` (or `pip install \"tinygrad_edu[viz]\"`) and the Graphviz "
    "programs from your system's package manager (e.g. `apt-get install graphviz`, "
    "`brew install graphviz`, `conda install graphviz`). to_dot() needs neither."
)


def to_dot(tensor, params=None, show_data=True, max_elements=16, allow_freed=False) -> str:
    """The recorded graph that produced ``tensor`` as Graphviz DOT source.

    Args:
        tensor: a Tensor, or a list/tuple of Tensors drawn in one picture.
        params: names for parameters: a dict ``name -> Tensor``, or any
            object with ``named_parameters()`` (a Module); those tensors are
            labelled by their names.
        show_data: print the data (and the gradient, once computed) of
            tensors with at most ``max_elements`` elements.
        max_elements: the size limit for printing values.
        allow_freed: draw what remains of a graph that backward has freed
            (its ops are marked "freed") instead of raising.

    Returns:
        DOT text: ``digraph`` with node ids ``t0, t1, ...`` for tensors in
        the order they are reached from the root(s) (``t0`` is the first
        root), ``op<k>`` for the op that produced ``t<k>``, ``c0, c1, ...``
        for constants.

    Raises:
        TypeError: ``tensor`` is not a Tensor (or a sequence of them), or
            ``params`` is neither a dict nor has ``named_parameters()``.
        RuntimeError: part of the graph was freed by ``backward()`` (unless
            ``allow_freed``); the message says how to keep it.
    """
    roots = _roots(tensor)
    names = _param_names(params)
    ids = {}        # tensor -> "t<k>"
    order = []
    consts = []
    lines = ["digraph G {", "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontsize=9];']

    def tid(t):
        if t not in ids:
            ids[t] = f"t{len(ids)}"
            order.append(t)
        return ids[t]

    for r in roots:
        tid(r)
    edges = []
    k = 0
    # Breadth-first (``order`` is the queue) keeps ids readable: t0 is the
    # root, its inputs come next, and so on.
    while k < len(order):
        t = order[k]
        k += 1
        node = t._ctx
        if node is None:
            continue
        op = "op" + ids[t][1:]
        if node.inputs is None:
            if not allow_freed:
                raise RuntimeError(
                    f"to_dot: the graph below '{node.name}' (tensor of shape {t.shape}) was "
                    "freed by backward(); call backward(retain_graph=True) to draw it after "
                    "backward, or draw it before (allow_freed=True draws what remains)"
                )
            edges.append(f'  {op} [label="{_esc(node.name)}\\n(freed by backward)", '
                         'shape=ellipse, style=dashed];')
            edges.append(f"  {op} -> {ids[t]};")
            continue
        edges.append(f'  {op} [label="{_esc(node.name)}", shape=ellipse];')
        edges.append(f"  {op} -> {ids[t]};")
        for x, need in zip(node.inputs, node.needs):
            if isinstance(x, Tensor):
                style = "" if need else " [style=dashed]"
                edges.append(f"  {tid(x)} -> {op}{style};")
            elif x is not None:
                c = f"c{len(consts)}"
                consts.append(f'  {c} [label="{_esc(_const_label(x, max_elements))}", shape=plaintext];')
                edges.append(f"  {c} -> {op} [style=dashed];")
    for t in order:
        lines.append(f"  {ids[t]} [{_tensor_attrs(t, names.get(t), show_data, max_elements)}];")
    lines.extend(consts)
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(tensor, path, format=None, **kw):
    """Render the graph of ``tensor`` to a file with Graphviz; returns the path.

    Args:
        tensor: as :func:`to_dot`.
        path: output file; its suffix (``.svg``, ``.png``, ``.pdf``) picks
            the format unless ``format`` is given (default svg).
        format: a Graphviz output format name, e.g. ``"svg"`` or ``"png"``.
        **kw: passed to :func:`to_dot` (``params``, ``show_data``, ...).

    Raises:
        ImportError: the ``graphviz`` Python package is not installed.
        RuntimeError: Graphviz's ``dot`` program is not on PATH, or it failed.
        TypeError, RuntimeError: as raised by :func:`to_dot` (bad arguments, a freed graph).
    """
    path = Path(path)
    fmt = format or (path.suffix[1:].lower() if path.suffix else "svg")
    source = to_dot(tensor, **kw)
    try:
        import graphviz
    except ImportError:
        raise ImportError("the graphviz Python package is not installed. " + _INSTALL) from None
    if shutil.which("dot") is None:
        raise RuntimeError("Graphviz's `dot` program was not found on PATH. " + _INSTALL)
    try:
        data = graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError("Graphviz's `dot` program could not be run. " + _INSTALL) from None
    except graphviz.CalledProcessError as err:
        raise RuntimeError(f"draw: dot failed to render format {fmt!r}: {err}") from None
    path.write_bytes(data)
    return path


def _roots(tensor):
    items = tensor if isinstance(tensor, (list, tuple)) else (tensor,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"to_dot: expected a Tensor or a sequence of Tensors, got {type(t).__name__}"
                            + (f" at position {i}" if isinstance(tensor, (list, tuple)) else ""))
    return items


def _param_names(params):
    if params is None:
        return {}
    if isinstance(params, dict):
        items = params.items()
    elif hasattr(params, "named_parameters"):
        items = params.named_parameters()
    else:
        raise TypeError(
            f"to_dot: params must be a dict name -> Tensor or have named_parameters(), got "
            f"{type(params).__name__}"
        )
    return {t: name for name, t in items if isinstance(t, Tensor)}


def _esc(s):
    """Escape text for a DOT record label (quotes, backslashes and record syntax)."""
    for ch in "\\\"{}|<>":
        s = s.replace(ch, "\\" + ch)
    return s.replace("\n", "\\n")


def _fmt(arr, max_elements):
    arr = np.asarray(arr)
    if arr.ndim == 0:
        return f"{arr.item():.4g}" if arr.dtype.kind in "fc" else str(arr.item())
    return np.array2string(arr, precision=4, separator=", ", threshold=max_elements,
                           max_line_width=72)


def _const_label(x, max_elements):
    arr = np.asarray(x) if not isinstance(x, (slice, type(Ellipsis))) else None
    if arr is None or arr.dtype == object:
        return repr(x)
    if arr.size <= max_elements:
        return _fmt(arr, max_elements)
    return f"array {arr.shape} {arr.dtype}"


def _tensor_attrs(t, name, show_data, max_elements):
    node = t._ctx
    if node is not None and getattr(node.rule, "packs_outputs", False):
        # A multi-output Function's hidden node: its value is a placeholder.
        fields = [f"all outputs of {node.name}", f"{t.shape[0]} elements, packed"]
        return f'shape=record, label="{{ {" | ".join(_esc(f) for f in fields)} }}", style=dotted'
    fields = []
    if name is not None:
        fields.append(name)
    fields.append(f"{t.shape} {t.dtype}")
    if show_data and t.size <= max_elements:
        fields.append("data " + _fmt(t.data, max_elements))
        if t.grad is not None:
            fields.append("grad " + _fmt(t.grad.data, max_elements))
    label = " | ".join(_esc(f) for f in fields)
    style = []
    if node is None and t.requires_grad:
        style.append('style=filled, fillcolor="lightblue"')  # a leaf that receives .grad
    elif not t.requires_grad:
        style.append("style=dashed")
    return ", ".join([f'shape=record, label="{{ {label} }}"', *style])
