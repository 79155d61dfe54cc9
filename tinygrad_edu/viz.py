"""A picture of the recorded graph (after micrograd's ``draw_dot``): DOT text, SVG, files.

:func:`to_dot` needs nothing but this package: it returns the Graphviz DOT
source. :func:`to_svg` needs nothing either: it lays the graph out itself (a
small layered layout, ``tinygrad_edu._viz_layout``) and returns SVG text,
which a browser or Jupyter (``IPython.display.SVG``) shows. :func:`draw`
writes a file: with Graphviz when the ``graphviz`` Python package and its
``dot`` program are installed (``pip install "tinygrad_edu[viz]"`` and, e.g.,
``apt-get install graphviz``), otherwise, for SVG, with the built-in layout.

The picture has one box per tensor (a label, its shape and dtype, and for
small tensors its data and gradient, micrograd's data|grad record) and one
oval per op, with arrows from the op's inputs to the op and from the op to
its result: a tensor used three times has three arrows leaving it. Inputs
that do not require grad are drawn dashed; constants (Python numbers,
arrays) as plain text; leaves that receive ``.grad`` are filled; chosen
tensors and edges can be highlighted.

The graph is what backward walks, so it is freed by ``backward()`` unless
``retain_graph=True`` is passed: draw before backward, or backward with
``retain_graph=True`` to draw the graph with its gradients filled in.
Backward fills ``.grad`` of leaves only; call :func:`retain_grads` on the
root first to have every node's gradient shown.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from . import _viz_layout
from .tensor import Tensor

__all__ = ["to_dot", "to_svg", "draw", "retain_grads"]

_INSTALL = (
    "draw() renders PNG/PDF with Graphviz: install the Python package with "
    "`pip install graphviz` (or `pip install \"tinygrad_edu[viz]\"`) and the Graphviz "
    "programs from your system's package manager (e.g. `apt-get install graphviz`, "
    "`brew install graphviz`, `conda install graphviz`). to_dot() needs neither, and "
    "SVG is drawn without Graphviz (to_svg(), or draw(..., engine=\"builtin\"))."
)
_HIGHLIGHT = 'color="#d62728", penwidth=2.2'


def to_dot(tensor, params=None, show_data=True, max_elements=16, allow_freed=False,
           names=None, highlight=(), rankdir="LR") -> str:
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
        names: labels for any tensors of the graph: a dict ``Tensor -> str``
            (or ``str -> Tensor``), e.g. ``{X: "l0", a1: "l1"}``; a label
            given here replaces a parameter's name. A label may have
            several lines (``"\\n"``).
        highlight: tensors, and ``(input, output)`` pairs of tensors, to draw
            in red: a pair highlights the arrows from ``input`` to the op
            that made ``output`` and from that op to ``output``.
        rankdir: ``"LR"`` (inputs left, result right) or ``"TB"`` (top down).

    Returns:
        DOT text: ``digraph`` with node ids ``t0, t1, ...`` for tensors in
        the order they are reached from the root(s) (``t0`` is the first
        root), ``op<k>`` for the op that produced ``t<k>``, ``c0, c1, ...``
        for constants.

    Raises:
        TypeError: ``tensor`` is not a Tensor (or a sequence of them), or
            ``params``/``names`` is not a mapping of the kind described.
        ValueError: a highlighted tensor or pair is not in the graph, or
            ``rankdir`` is not "LR" or "TB".
        RuntimeError: part of the graph was freed by ``backward()`` (unless
            ``allow_freed``); the message says how to keep it.
    """
    g = _Graph(tensor, params, show_data, max_elements, allow_freed, names, highlight, rankdir)
    lines = ["digraph G {", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontsize=9];']
    for nid, node in g.nodes.items():
        if nid.startswith("t"):
            lines.append(f"  {nid} [{_dot_attrs(node)}];")
    for nid, node in g.nodes.items():
        if nid.startswith("c"):
            lines.append(f"  {nid} [{_dot_attrs(node)}];")
    for item in g.sequence:
        if isinstance(item, str):
            lines.append(f"  {item} [{_dot_attrs(g.nodes[item])}];")
        else:
            a, b, style = item
            attrs = ", ".join([*(["style=dashed"] if "dashed" in style else []),
                               *([_HIGHLIGHT] if "highlight" in style else [])])
            lines.append(f"  {a} -> {b}{f' [{attrs}]' if attrs else ''};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(tensor, rankdir="LR", **kw) -> str:
    """The graph of ``tensor`` as SVG text, laid out without Graphviz.

    Same picture as :func:`to_dot` (same nodes, labels, arrows, styles) but
    drawn by a small layered layout in pure Python, so it needs nothing
    installed. Arguments as :func:`to_dot`; raises as it does.
    """
    g = _Graph(tensor, kw.pop("params", None), kw.pop("show_data", True), kw.pop("max_elements", 16),
               kw.pop("allow_freed", False), kw.pop("names", None), kw.pop("highlight", ()), rankdir)
    if kw:
        raise TypeError(f"to_svg: unexpected keyword arguments {sorted(kw)}")
    edges = [item for item in g.sequence if not isinstance(item, str)]
    return _viz_layout.to_svg(g.nodes, edges, rankdir)


def retain_grads(tensor):
    """Call ``retain_grad()`` on every non-leaf of the graph of ``tensor`` that requires grad,
    so that after ``backward(retain_graph=True)`` the picture shows a gradient on every node.

    Args:
        tensor: a Tensor, or a list/tuple of Tensors.

    Returns:
        The list of tensors ``retain_grad()`` was called on.

    Raises:
        TypeError: ``tensor`` is not a Tensor (or a sequence of them).

    Example:
        >>> import tinygrad_edu as tg
        >>> from tinygrad_edu import viz
        >>> x = tg.Tensor(3.0, requires_grad=True)
        >>> y = x * x + x
        >>> len(viz.retain_grads(y))            # y and x * x
        2
        >>> y.backward(retain_graph=True)
        >>> svg = viz.to_svg(y, names={x: "x"}, highlight=[x])   # grad on every node
    """
    seen, stack, done = set(), list(_roots(tensor)), []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        node = t._ctx
        if node is None:
            continue
        if t.requires_grad and not getattr(node.rule, "packs_outputs", False):
            t.retain_grad()
            done.append(t)
        stack.extend(x for x in (node.inputs or ()) if isinstance(x, Tensor))
    return done


def draw(tensor, path, format=None, engine="auto", **kw):
    """Render the graph of ``tensor`` to a file; returns the path.

    Args:
        tensor: as :func:`to_dot`.
        path: output file; its suffix (``.svg``, ``.png``, ``.pdf``) picks
            the format unless ``format`` is given (default svg).
        format: a Graphviz output format name, e.g. ``"svg"`` or ``"png"``.
        engine: ``"dot"`` (Graphviz), ``"builtin"`` (:func:`to_svg`'s own
            layout, SVG only), or ``"auto"``: Graphviz when the ``graphviz``
            package and the ``dot`` program are installed, else the built-in
            layout for SVG (other formats need Graphviz).
        **kw: passed to :func:`to_dot` (``params``, ``names``, ``highlight``,
            ``rankdir``, ``show_data``, ...).

    Raises:
        ImportError: Graphviz is needed (``engine="dot"``, or a format other
            than SVG) and the ``graphviz`` Python package is not installed.
        RuntimeError: Graphviz is needed and its ``dot`` program is not on
            PATH, or it failed.
        ValueError: an unknown ``engine``, or ``engine="builtin"`` with a
            format other than SVG.
        TypeError, RuntimeError: as raised by :func:`to_dot` (bad arguments, a freed graph).
    """
    path = Path(path)
    fmt = format or (path.suffix[1:].lower() if path.suffix else "svg")
    if engine not in ("auto", "dot", "builtin"):
        raise ValueError(f"draw: engine must be 'auto', 'dot' or 'builtin', got {engine!r}")
    if engine == "builtin" and fmt != "svg":
        raise ValueError(f"draw: the built-in layout writes SVG only, not {fmt!r}; use engine='dot' "
                         "(Graphviz) for other formats")
    if engine == "builtin" or (engine == "auto" and fmt == "svg" and not _have_graphviz()):
        text = to_svg(tensor, **kw)
        path.write_text(text, encoding="utf-8")
        return path
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


def _have_graphviz():
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


class _Graph:
    """The picture's nodes and edges, shared by the DOT text and the built-in SVG.

    ``nodes``: id -> {"shape", "fields" (list of lists of lines), "style"
    (set)}; ``sequence``: op ids and (a, b, style) edges in the order the DOT
    text lists them.
    """

    def __init__(self, tensor, params, show_data, max_elements, allow_freed, names, highlight, rankdir):
        if rankdir not in ("LR", "TB"):
            raise ValueError(f"to_dot: rankdir must be 'LR' or 'TB', got {rankdir!r}")
        roots = _roots(tensor)
        labels = {**_param_names(params), **_labels(names)}
        hl_nodes, hl_edges = _highlights(highlight)
        ids, order, consts = {}, [], {}
        self.sequence = []

        def tid(t):
            if t not in ids:
                ids[t] = f"t{len(ids)}"
                order.append(t)
            return ids[t]

        for r in roots:
            tid(r)
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
            hl_out = any(b is t for _, b in hl_edges)
            if node.inputs is None:
                if not allow_freed:
                    raise RuntimeError(
                        f"to_dot: the graph below '{node.name}' (tensor of shape {t.shape}) was "
                        "freed by backward(); call backward(retain_graph=True) to draw it after "
                        "backward, or draw it before (allow_freed=True draws what remains)"
                    )
                consts[op] = {"shape": "ellipse", "fields": [[node.name, "(freed by backward)"]],
                              "style": {"dashed"}}
                self.sequence += [op, (op, ids[t], set())]
                continue
            consts[op] = {"shape": "ellipse", "fields": [[node.name]], "style": set()}
            self.sequence += [op, (op, ids[t], {"highlight"} if hl_out else set())]
            for x, need in zip(node.inputs, node.needs):
                if isinstance(x, Tensor):
                    style = set() if need else {"dashed"}
                    if any(a is x and b is t for a, b in hl_edges):
                        style.add("highlight")
                    self.sequence.append((tid(x), op, style))
                elif x is not None:
                    c = f"c{sum(1 for n in consts if n.startswith('c'))}"
                    consts[c] = {"shape": "text", "fields": [_const_label(x, max_elements).split("\n")],
                                 "style": set()}
                    self.sequence.append((c, op, {"dashed"}))
        missing = [t for t in hl_nodes if t not in ids] + [b for a, b in hl_edges if b not in ids]
        if missing:
            raise ValueError(f"to_dot: highlight names {len(missing)} tensor(s) that are not in the graph "
                             f"(shapes {[m.shape for m in missing]})")
        for a, b in hl_edges:
            if b._ctx is None or b._ctx.inputs is None or not any(x is a for x in b._ctx.inputs):
                raise ValueError(f"to_dot: highlight pair (tensor {a.shape}, tensor {b.shape}): the first "
                                 "is not an input of the op that made the second")
        self.nodes = {ids[t]: _tensor_node(t, labels.get(t), show_data, max_elements,
                                             any(t is h for h in hl_nodes))
                      for t in order}
        self.nodes.update({c: v for c, v in consts.items() if c.startswith("c")})
        self.nodes.update({o: v for o, v in consts.items() if o.startswith("op")})


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


def _labels(names):
    if names is None:
        return {}
    if not isinstance(names, dict):
        raise TypeError(f"to_dot: names must be a dict Tensor -> label, got {type(names).__name__}")
    out = {}
    for k, v in names.items():
        t, label = (k, v) if isinstance(k, Tensor) else (v, k)
        if not isinstance(t, Tensor) or not isinstance(label, str):
            raise TypeError("to_dot: names must map Tensors to str labels (or str labels to Tensors), "
                            f"got {type(k).__name__} -> {type(v).__name__}")
        out[t] = label
    return out


def _highlights(highlight):
    nodes, edges = [], []
    for h in highlight or ():
        if isinstance(h, Tensor):
            nodes.append(h)
        elif isinstance(h, tuple) and len(h) == 2 and all(isinstance(x, Tensor) for x in h):
            edges.append(h)
        else:
            raise TypeError(f"to_dot: highlight takes Tensors and (Tensor, Tensor) pairs, got {type(h).__name__}")
    return nodes, edges


def _tensor_node(t, name, show_data, max_elements, highlighted):
    node = t._ctx
    if node is not None and getattr(node.rule, "packs_outputs", False):
        # A multi-output Function's hidden node: its value is a placeholder.
        return {"shape": "record", "style": {"dotted"},
                "fields": [[f"all outputs of {node.name}"], [f"{t.shape[0]} elements, packed"]]}
    fields = []
    if name is not None:
        fields.append(name.split("\n"))
    fields.append([f"{t.shape} {t.dtype}"])
    if show_data and t.size <= max_elements:
        fields.append(("data " + _fmt(t.data, max_elements)).split("\n"))
        if t.grad is not None:
            fields.append(("grad " + _fmt(t.grad.data, max_elements)).split("\n"))
    style = set()
    if node is None and t.requires_grad:
        style.add("filled")  # a leaf that receives .grad
    elif not t.requires_grad:
        style.add("dashed")
    if highlighted:
        style.add("highlight")
    return {"shape": "record", "fields": fields, "style": style}


def _dot_attrs(node):
    style = node["style"]
    if node["shape"] == "ellipse":
        label = _esc("\n".join(node["fields"][0]))
        return f'label="{label}", shape=ellipse' + (", style=dashed" if "dashed" in style else "")
    if node["shape"] == "text":
        return f'label="{_esc(chr(10).join(node["fields"][0]))}", shape=plaintext'
    label = " | ".join(_esc("\n".join(f)) for f in node["fields"])
    attrs = [f'shape=record, label="{{ {label} }}"']
    if "dotted" in style:
        attrs.append("style=dotted")
    elif "filled" in style:
        attrs.append('style=filled, fillcolor="lightblue"')
    elif "dashed" in style:
        attrs.append("style=dashed")
    if "highlight" in style:
        attrs.append(_HIGHLIGHT)
    return ", ".join(attrs)
