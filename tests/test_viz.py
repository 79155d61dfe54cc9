"""tinygrad_edu.viz: the DOT text of small known graphs, and draw()."""
import re
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest

from tinygrad_edu import Function, Tensor
from tinygrad_edu.viz import draw, to_dot

NODE = re.compile(r'^  (\w+) \[(.*)\];$')
EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[(.*)\])?;$')
LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def parse(dot):
    """(nodes: id -> attribute text, labels: id -> unescaped label, edges: list of (a, b, attrs))."""
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph G {" and lines[-1] == "}"
    nodes, labels, edges = {}, {}, []
    for line in lines[1:-1]:
        if m := EDGE.match(line):
            edges.append((m[1], m[2], m[3] or ""))
        elif (m := NODE.match(line)) and m[1] not in ("node", "edge", "graph"):
            assert m[1] not in nodes, f"node {m[1]} declared twice"
            nodes[m[1]] = m[2]
            labels[m[1]] = re.sub(r'\\([\\"{}|<>])', r"\1", LABEL.search(m[2])[1])
    return nodes, labels, edges


def fields(label):
    """The fields of a record label '{ a | b | c }'."""
    assert label.startswith("{ ") and label.endswith(" }")
    return [f.strip() for f in label[2:-2].split(" | ")]


def small_graph():
    w = Tensor([1.0, -2.0], requires_grad=True)
    b = Tensor(0.5, requires_grad=True)
    x = Tensor([3.0, 4.0])
    y = (w * x).sum() + b
    return w, b, x, y


def test_dot_of_a_small_known_graph():
    w, b, x, y = small_graph()
    nodes, labels, edges = parse(to_dot(y, params={"w": w, "b": b}))
    # breadth-first ids: t0 = y (add), t1 = sum, t2 = b, t3 = w*x, t4 = w, t5 = x
    assert set(nodes) == {"t0", "t1", "t2", "t3", "t4", "t5", "op0", "op1", "op3"}
    assert labels["op0"] == "add" and labels["op1"] == "sum" and labels["op3"] == "mul"
    assert fields(labels["t0"]) == ["() float64", "data -4.5"]
    assert fields(labels["t1"]) == ["() float64", "data -5"]
    assert fields(labels["t2"]) == ["b", "() float64", "data 0.5"]
    assert fields(labels["t3"]) == ["(2,) float64", "data [ 3., -8.]"]
    assert fields(labels["t4"]) == ["w", "(2,) float64", "data [ 1., -2.]"]
    assert fields(labels["t5"]) == ["(2,) float64", "data [3., 4.]"]
    assert sorted(edges) == sorted([
        ("op0", "t0", ""), ("t1", "op0", ""), ("t2", "op0", ""),
        ("op1", "t1", ""), ("t3", "op1", ""),
        ("op3", "t3", ""), ("t4", "op3", ""), ("t5", "op3", "style=dashed"),
    ])
    # parameters (leaves that receive .grad) are filled; constants dashed
    assert "fillcolor" in nodes["t4"] and "fillcolor" in nodes["t2"]
    assert "style=dashed" in nodes["t5"] and "fillcolor" not in nodes["t3"]


def test_after_backward_with_retain_graph_grads_are_shown():
    w, b, x, y = small_graph()
    y.backward(retain_graph=True)
    _, labels, _ = parse(to_dot(y, params={"w": w, "b": b}))
    assert fields(labels["t4"]) == ["w", "(2,) float64", "data [ 1., -2.]", "grad [3., 4.]"]
    assert fields(labels["t2"]) == ["b", "() float64", "data 0.5", "grad 1"]
    assert not any(f.startswith("grad") for f in fields(labels["t3"]))  # non-leaf: no .grad


def test_graph_freed_by_backward_gives_a_clear_error_or_what_remains():
    w, b, x, y = small_graph()
    y.backward()
    with pytest.raises(RuntimeError, match=r"to_dot: the graph below 'add' .* was freed by "
                                           r"backward\(\); call backward\(retain_graph=True\)"):
        to_dot(y)
    nodes, labels, edges = parse(to_dot(y, allow_freed=True))
    assert set(nodes) == {"t0", "op0"}
    assert labels["op0"] == "add\\n(freed by backward)"
    assert edges == [("op0", "t0", "")]


def test_params_from_named_parameters_and_escaping():
    w = Tensor([1.0], requires_grad=True)

    class Model:
        def named_parameters(self):
            yield "layer{0}|weight<w>", w

    nodes, labels, _ = parse(to_dot(w * 2, params=Model()))
    assert fields(labels["t1"])[0] == "layer{0}|weight<w>"
    assert r'label="{ layer\{0\}\|weight\<w\> |' in nodes["t1"]  # escaped in the DOT text
    with pytest.raises(TypeError, match="params must be a dict"):
        to_dot(w, params=[w])


def test_show_data_max_elements_and_constants():
    big = Tensor(np.arange(20.0), requires_grad=True)
    y = big * 2.5 + np.arange(20.0)
    nodes, labels, edges = parse(to_dot(y))
    assert fields(labels["t0"]) == ["(20,) float64"]  # too big to print
    consts = {k: v for k, v in labels.items() if k.startswith("c")}
    assert sorted(consts.values()) == ["2.5", "array (20,) float64"]
    assert all(("style=dashed" in a) for s, _, a in edges if s.startswith("c"))
    _, labels, _ = parse(to_dot(y, max_elements=20))
    assert fields(labels["t0"])[1].startswith("data [ 0. ,  3.5,  7. ,")
    _, labels, _ = parse(to_dot(Tensor([1.0, 2.0], requires_grad=True) * 2, show_data=False))
    assert fields(labels["t0"]) == ["(2,) float64"]


def test_leaf_multiple_roots_and_shared_inputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    nodes, labels, edges = parse(to_dot(x))
    assert list(nodes) == ["t0"] and edges == []
    a, b = x * x, x.exp()
    nodes, labels, edges = parse(to_dot([a, b]))
    assert labels["op0"] == "mul" and labels["op1"] == "exp"
    x_id = next(k for k, v in labels.items() if k.startswith("t") and "data [1., 2.]" in v)
    assert edges.count((x_id, "op0", "")) == 2  # x * x: two edges from x
    assert (x_id, "op1", "") in edges
    with pytest.raises(TypeError, match="to_dot: expected a Tensor"):
        to_dot([a, 3.0])


def test_multi_output_function_hidden_node_is_labelled():
    class SinCos(Function):
        @staticmethod
        def forward(ctx, x):
            return np.sin(x), np.cos(x)

        @staticmethod
        def backward(ctx, gs, gc):
            return gs  # not used here

    x = Tensor([0.0, 1.0], requires_grad=True)
    s, c = SinCos.apply(x)
    nodes, labels, edges = parse(to_dot(s + c))
    picks = {labels[k] for k in labels if k.startswith("op")}
    assert {"add", "SinCos[0]", "SinCos[1]", "SinCos"} == picks
    hidden = next(k for k, v in labels.items() if v.startswith("{ all outputs of SinCos"))
    assert fields(labels[hidden]) == ["all outputs of SinCos", "4 elements, packed"]


# ---- draw --------------------------------------------------------------------------------
def test_draw_without_graphviz_package_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    _, _, _, y = small_graph()
    with pytest.raises(ImportError) as info:
        draw(y, tmp_path / "g.svg", engine="dot")
    assert "pip install graphviz" in str(info.value)
    assert "apt-get install graphviz" in str(info.value)
    assert not (tmp_path / "g.svg").exists()
    with pytest.raises(ImportError, match="pip install graphviz"):
        draw(y, tmp_path / "g.png")  # PNG needs Graphviz
    assert not (tmp_path / "g.png").exists()


def test_draw_without_dot_binary_says_what_to_install(monkeypatch, tmp_path):
    fake = types.ModuleType("graphviz")  # a package that is present, without the program
    monkeypatch.setitem(sys.modules, "graphviz", fake)
    monkeypatch.setenv("PATH", str(tmp_path))
    _, _, _, y = small_graph()
    with pytest.raises(RuntimeError) as info:
        draw(y, tmp_path / "g.png")
    assert "`dot` program was not found" in str(info.value)
    assert "apt-get install graphviz" in str(info.value)


def _have_graphviz():
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


needs_graphviz = pytest.mark.skipif(not _have_graphviz(),
                                    reason="Graphviz's dot program is not installed (apt-get install graphviz)")


@needs_graphviz
def test_draw_renders_svg_and_png(tmp_path):
    w, b, x, y = small_graph()
    y.backward(retain_graph=True)
    svg = draw(y, tmp_path / "graph.svg", params={"w": w, "b": b})
    text = svg.read_text()
    assert "<svg" in text and ">w<" in text and ">mul<" in text
    png = draw(y, tmp_path / "graph.out", format="png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_graphviz
def test_dot_text_is_valid_for_awkward_labels(tmp_path):
    # names with record syntax, quotes and backslashes; a 2-D tensor (multi-line data)
    w = Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    y = (w * 2).sum()
    dot = to_dot(y, params={'a "name" {x|y} <p> \\ end': w})
    res = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True)
    assert res.returncode == 0, res.stderr.decode()
    assert b"warning" not in res.stderr.lower(), res.stderr.decode()


def test_module_parameters_are_labelled_by_their_names():
    from tinygrad_edu import nn

    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    loss = model(Tensor(np.ones((4, 2)))).sum()
    _, labels, _ = parse(to_dot(loss, params=model))
    names = {fields(v)[0] for k, v in labels.items() if k.startswith("t")}
    assert {"0.weight", "0.bias", "2.weight", "2.bias"} <= names
