"""tinygrad_edu.viz beyond the DOT text: labels, highlighting, gradients on every node, and the
SVG drawn without Graphviz, which must show the true graph (tinygrad_edu/_viz_layout.py)."""
import re
import shutil
import sys
import types
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_edu import Tensor, blog
from tinygrad_edu.viz import draw, retain_grads, to_dot, to_svg

from test_viz import fields, parse

SVG = "{http://www.w3.org/2000/svg}"


def used_three_times():
    x = Tensor(3.0, requires_grad=True)
    y = x * x + x
    return x, y


def blog_step():
    """The blog's network, one step: (loss, {name: tensor}) with the blog's names."""
    net = blog.blog_network(3, 4, 1)
    l0 = Tensor(blog.X)
    z1 = net[0](l0)
    l1 = net[1](z1)
    z2 = net[2](l1)
    l2 = net[3](z2)
    loss = 0.5 * ((blog.Y_PART2 - l2) ** 2).sum()
    return loss, {"l0": l0, "syn0": net[0].weight, "z1": z1, "l1": l1, "syn1": net[2].weight,
                  "z2": z2, "l2": l2}


def test_names_label_any_tensor_in_either_direction_and_beat_params():
    x, y = used_three_times()
    _, labels, _ = parse(to_dot(y, params={"p": x}, names={x: "x\nthe input"}))
    xid = next(k for k, v in labels.items() if k.startswith("t") and "data 3" in v)
    assert fields(labels[xid])[0] == "x\\nthe input"          # a two-line label, escaped for DOT
    _, labels2, _ = parse(to_dot(y, names={"x": x, "y": y}))
    assert fields(labels2["t0"])[0] == "y" and fields(labels2[xid])[0] == "x"
    with pytest.raises(TypeError, match="names must map Tensors to str"):
        to_dot(y, names={x: 3})
    with pytest.raises(TypeError, match="names must be a dict"):
        to_dot(y, names=[x])


def test_highlight_nodes_and_edges_and_reject_what_is_not_in_the_graph():
    x, y = used_three_times()
    nodes, labels, edges = parse(to_dot(y, highlight=[x, (x, y)]))
    xid = next(k for k, v in labels.items() if k.startswith("t") and "data 3" in v)
    assert "penwidth" in nodes[xid] and "penwidth" not in nodes["t0"]
    red = sorted((a, b) for a, b, attrs in edges if "penwidth" in attrs)
    assert red == sorted([(xid, "op0"), ("op0", "t0")])  # x -> add -> y, not x -> mul
    assert sum(1 for a, b, attrs in edges if a == xid) == 3 and len(red) == 2
    other = Tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="not in the graph"):
        to_dot(y, highlight=[other])
    with pytest.raises(ValueError, match="is not an input of the op"):
        to_dot(y, highlight=[(y, x)])
    with pytest.raises(TypeError, match="highlight takes Tensors"):
        to_dot(y, highlight=["x"])


def test_retain_grads_puts_a_gradient_on_every_node():
    loss, t = blog_step()
    done = retain_grads(loss)
    assert len(done) == 8  # z1, l1, z2, l2, sub, pow, sum, loss
    loss.backward(retain_graph=True)
    _, labels, _ = parse(to_dot(loss))
    boxes = [fields(v) for k, v in labels.items() if k.startswith("t")]
    need = [b for b in boxes if "int64" not in b[0]]  # the input l0 needs no gradient
    assert len(need) == 10 and all(any(f.startswith("grad") for f in b) for b in need)
    # the pictures' claim, checked bit for bit: the blog's deltas are minus these gradients
    syn0, syn1 = blog.initial_weights((3, 4), (4, 1))
    l1 = blog.nonlin(blog.X.dot(syn0))
    l2 = blog.nonlin(l1.dot(syn1))
    l2_delta = (blog.Y_PART2 - l2) * blog.nonlin(l2, deriv=True)
    l1_delta = l2_delta.dot(syn1.T) * blog.nonlin(l1, deriv=True)
    assert np.array_equal(-t["z2"].grad.data, l2_delta)
    assert np.array_equal(-t["z1"].grad.data, l1_delta)


# ---- the SVG drawn without Graphviz ---------------------------------------------------------------
def _bezier(p0, c1, c2, p1, n=24):
    s = np.linspace(0, 1, n)[:, None]
    p0, c1, c2, p1 = (np.asarray(v, float) for v in (p0, c1, c2, p1))
    return (1 - s) ** 3 * p0 + 3 * (1 - s) ** 2 * s * c1 + 3 * (1 - s) * s ** 2 * c2 + s ** 3 * p1


def _svg_graph(svg):
    """(boxes: id -> (x0, y0, x1, y1), edges: list of (from, to, sampled points))."""
    root = ET.fromstring(svg.split("?>", 1)[1])
    boxes = {}
    for g in root.iter(SVG + "g"):
        shape = g.find(SVG + "rect")
        if shape is not None:
            x, y, w, h = (float(shape.get(k)) for k in ("x", "y", "width", "height"))
        elif (shape := g.find(SVG + "ellipse")) is not None:
            cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
            x, y, w, h = cx - rx, cy - ry, 2 * rx, 2 * ry
        else:  # a constant: its text only
            ys = [float(t.get("y")) for t in g.iter(SVG + "text")]
            xs = [float(t.get("x")) for t in g.iter(SVG + "text")]
            x, y, w, h = min(xs) - 2, min(ys) - 10, 4, max(ys) - min(ys) + 10
        boxes[g.get("id")] = (x, y, x + w, y + h)
    edges = []
    for p in root.iter(SVG + "path"):
        if p.get("class") != "edge":
            continue
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", p.get("d"))]
        start, rest = nums[:2], nums[2:]
        pts, cur = [], start
        for k in range(0, len(rest), 6):
            c1, c2, end = rest[k:k + 2], rest[k + 2:k + 4], rest[k + 4:k + 6]
            pts.append(_bezier(cur, c1, c2, end))
            cur = end
        edges.append((p.get("data-from"), p.get("data-to"), np.concatenate(pts), p))
    return boxes, edges


def _check_true_picture(svg, dot):
    """Every node and edge of the DOT text is drawn, no two nodes overlap, and no edge passes
    through a node other than its own two ends."""
    nodes, _, dot_edges = parse(dot)
    boxes, edges = _svg_graph(svg)
    assert set(boxes) == set(nodes)
    assert sorted((a, b) for a, b, _, _ in edges) == sorted((a, b) for a, b, _ in dot_edges)
    ids = sorted(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            A, B = boxes[a], boxes[b]
            assert A[2] <= B[0] or B[2] <= A[0] or A[3] <= B[1] or B[3] <= A[1], f"{a} overlaps {b}"
    for a, b, pts, _ in edges:
        for n, (x0, y0, x1, y1) in boxes.items():
            if n in (a, b):
                continue
            inside = (pts[:, 0] > x0 + 1) & (pts[:, 0] < x1 - 1) & (pts[:, 1] > y0 + 1) & (pts[:, 1] < y1 - 1)
            assert not inside.any(), f"the edge {a} -> {b} crosses node {n}"
    return boxes, edges


@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_svg_of_a_value_used_three_times_shows_three_arrows(rankdir):
    x, y = used_three_times()
    dot = to_dot(y, names={x: "x"}, rankdir=rankdir)
    svg = to_svg(y, names={x: "x"}, rankdir=rankdir)
    boxes, edges = _check_true_picture(svg, dot)
    xid = next(k for k, v in parse(dot)[1].items() if v.startswith("{ x |"))
    out = [e for e in edges if e[0] == xid]
    assert sorted(b for _, b, _, _ in out) == ["op0", "op1", "op1"]  # add once, mul twice
    starts = {tuple(np.round(pts[0], 1)) for _, _, pts, _ in out}
    assert len(starts) == 3, "parallel edges must be drawn apart"
    # the flow goes one way: every edge ends further along than it starts
    axis = 0 if rankdir == "LR" else 1
    assert all(pts[-1][axis] > pts[0][axis] for _, _, pts, _ in edges)


def test_svg_of_the_blog_network_with_highlights_and_labels():
    loss, t = blog_step()
    retain_grads(loss)
    loss.backward(retain_graph=True)
    names = {t["z1"]: "l0.dot(syn0)", t["z2"]: "l1.dot(syn1)", t["l1"]: "l1", t["syn0"]: "syn0"}
    kw = dict(names=names, highlight=[t["z1"], t["z2"], (t["l1"], t["z2"])], rankdir="TB")
    svg = to_svg(loss, **kw)
    boxes, edges = _check_true_picture(svg, to_dot(loss, **kw))
    root = ET.fromstring(svg.split("?>", 1)[1])
    red = {g.get("id") for g in root.iter(SVG + "g")
           if any(s.get("stroke") == "#d62728" for s in g if s.tag in (SVG + "rect", SVG + "ellipse"))}
    texts = {g.get("id"): [x.text for x in g.iter(SVG + "text")] for g in root.iter(SVG + "g")}
    assert {texts[n][0] for n in red} == {"l0.dot(syn0)", "l1.dot(syn1)"}
    assert sum(p.get("stroke") == "#d62728" for _, _, _, p in edges) == 2  # l1 -> matmul -> z2
    assert any(s.startswith("grad [[") for n in red for s in texts[n])
    with pytest.raises(TypeError, match="unexpected keyword"):
        to_svg(loss, colour="red")


def _no_graphviz(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", types.ModuleType("graphviz"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program
    assert shutil.which("dot") is None


def test_draw_svg_without_dot_uses_the_builtin_layout(monkeypatch, tmp_path):
    _no_graphviz(monkeypatch, tmp_path)
    x, y = used_three_times()
    path = draw(y, tmp_path / "g.svg", names={x: "x"})
    svg = path.read_text()
    assert 'class="edge"' in svg and ">x<" in svg and "graphviz" not in svg.lower()
    _check_true_picture(svg, to_dot(y, names={x: "x"}))
    with pytest.raises(RuntimeError, match="`dot` program was not found"):
        draw(y, tmp_path / "g.png")
    with pytest.raises(ValueError, match="writes SVG only"):
        draw(y, tmp_path / "g.png", engine="builtin")
    with pytest.raises(ValueError, match="engine must be"):
        draw(y, tmp_path / "g.svg", engine="neato")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_draw_svg_with_dot_uses_graphviz_and_builtin_on_request(tmp_path):
    pytest.importorskip("graphviz")
    x, y = used_three_times()
    svg = draw(y, tmp_path / "g.svg", names={x: "x"}, highlight=[x]).read_text()
    assert "Generated by graphviz" in svg and ">x<" in svg and "#d62728" in svg
    own = draw(y, tmp_path / "b.svg", engine="builtin").read_text()
    assert 'class="edge"' in own and "Generated by graphviz" not in own
