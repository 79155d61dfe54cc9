"""A small layered drawing of a directed graph as SVG, for when Graphviz is not installed.

The method is Sugiyama's, kept short: ranks by longest path from the inputs
(an input is then pulled to just before its first use), a dummy point on every
rank an edge jumps over (so a long edge bends around the nodes in between
instead of crossing them), a few barycenter sweeps to order each rank, then
coordinates that pull each node towards its neighbours without overlapping.
Each edge leaves and enters its nodes through its own port on the side
facing the flow, so parallel edges (``x * x``: two edges from ``x``) are
drawn as two curves. Pure Python and the standard library: it needs neither
Graphviz nor matplotlib.

Nodes are given as ``{id: {"shape": "record" | "ellipse" | "text", "fields":
[[line, ...], ...], "style": set of "filled" | "dashed" | "dotted" |
"highlight"}}`` (a record shows its fields as stacked boxes; other shapes
join the lines of their fields), edges as ``[(a, b, {"dashed", "highlight"}
subset), ...]`` in any order, with repeats for parallel edges.
"""
from __future__ import annotations

from html import escape

FONT = 11            # px, monospace
CHAR_W = 0.61 * FONT
LINE_H = 1.3 * FONT
PAD = 6              # inside a box
GAP_ACROSS = 18      # between neighbours of one rank
GAP_ALONG = 46       # between ranks
COLORS = {"line": "#222222", "filled": "#cfe8fc", "highlight": "#d62728", "highlight_fill": "#fde0dd"}


def _size(node):
    lines = [ln for field in node["fields"] for ln in field]
    w = max((len(ln) for ln in lines), default=1) * CHAR_W + 2 * PAD
    h = len(lines) * LINE_H + 2 * PAD * max(1, len(node["fields"]) if node["shape"] == "record" else 1)
    if node["shape"] == "ellipse":
        w, h = w * 1.25 + 8, h * 1.1 + 4
    return w, h


def _ranks(ids, edges):
    preds = {n: [] for n in ids}
    succs = {n: [] for n in ids}
    for a, b, _ in edges:
        preds[b].append(a)
        succs[a].append(b)
    indeg = {n: len(set(preds[n])) for n in ids}
    ready = [n for n in ids if indeg[n] == 0]
    rank, seen = {}, set()
    while ready:  # Kahn's order: a node is ranked after all its inputs
        n = ready.pop(0)
        rank[n] = 1 + max((rank[p] for p in preds[n]), default=-1)
        for s in dict.fromkeys(succs[n]):
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
        seen.add(n)
    if len(seen) != len(ids):
        raise ValueError("layout: the graph has a cycle")
    for n in ids:  # an input sits just before its first use, not at the far left
        if not preds[n] and succs[n]:
            rank[n] = min(rank[s] for s in succs[n]) - 1
    return rank


def _place(layer, want, across, y):
    """Put the nodes of ``layer``, in this order and at least GAP_ACROSS apart, as close as
    possible (least squares) to the positions ``want``: pool-adjacent-violators, where a block
    of nodes pushed together sits at the mean of what its nodes want."""
    blocks = []  # [nodes, offsets from the block's first node, sum of (want - offset), count]
    for n, w in zip(layer, want):
        blocks.append([[n], [0.0], w, 1])
        while len(blocks) > 1:
            a, b = blocks[-2], blocks[-1]
            d = a[1][-1] + (across[a[0][-1]] + across[b[0][0]]) / 2 + GAP_ACROSS
            if b[2] / b[3] >= a[2] / a[3] + d:
                break
            a[0] += b[0]
            a[1] += [o + d for o in b[1]]
            a[2] += b[2] - d * b[3]
            a[3] += b[3]
            blocks.pop()
    for members, offsets, total, count in blocks:
        for n, o in zip(members, offsets):
            y[n] = total / count + o


def layout(nodes, edges, rankdir="LR"):
    """Positions and edge routes: ({id: (x, y, w, h)} with (x, y) the centre,
    [(a, b, style, [points...]) per edge], (width, height))."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"layout: rankdir must be 'LR' or 'TB', got {rankdir!r}")
    ids = list(nodes)
    size = {n: _size(nodes[n]) for n in ids}
    lr = rankdir == "LR"
    along = {n: (size[n][0] if lr else size[n][1]) for n in ids}
    across = {n: (size[n][1] if lr else size[n][0]) for n in ids}
    rank = _ranks(ids, edges)

    # dummy points on the ranks a long edge jumps over
    chains = []
    for k, (a, b, style) in enumerate(edges):
        chain = [a]
        for r in range(rank[a] + 1, rank[b]):
            d = ("dummy", k, r)
            rank[d], along[d], across[d] = r, 0.0, 8.0
            chain.append(d)
        chain.append(b)
        chains.append(chain)
    up, down = {}, {}
    for chain in chains:
        for u, v in zip(chain, chain[1:]):
            down.setdefault(u, []).append(v)
            up.setdefault(v, []).append(u)
    layers = {}
    for n in rank:  # insertion order: nodes in the caller's order, then dummies
        layers.setdefault(rank[n], []).append(n)
    levels = [layers[r] for r in sorted(layers)]

    pos = {n: float(i) for layer in levels for i, n in enumerate(layer)}
    for sweep in range(8):  # barycenter ordering, alternately from the inputs and from the outputs
        order = levels[1:] if sweep % 2 == 0 else levels[-2::-1]
        nbrs = up if sweep % 2 == 0 else down
        for layer in order:
            bary = {n: (sum(pos[m] for m in nbrs[n]) / len(nbrs[n]) if nbrs.get(n) else pos[n])
                    for n in layer}
            layer.sort(key=lambda n: bary[n])
            for i, n in enumerate(layer):
                pos[n] = float(i)

    # coordinates across the flow: pack, then pull towards neighbours without overlap
    y = {}
    for layer in levels:
        at = 0.0
        for n in layer:
            y[n] = at + across[n] / 2
            at += across[n] + GAP_ACROSS
    for sweep in range(10):  # alternately towards the inputs' and the outputs' positions, then both
        nbrs = [up, down][sweep % 2] if sweep < 8 else None
        for layer in (levels if sweep % 2 == 0 else levels[::-1]):
            want = []
            for n in layer:
                near = (nbrs.get(n, []) if nbrs is not None else up.get(n, []) + down.get(n, []))
                want.append(sum(y[m] for m in near) / len(near) if near else y[n])
            _place(layer, want, across, y)
    top = min(y[n] - across[n] / 2 for n in y)
    for n in y:
        y[n] -= top - PAD
    extent = max(y[n] + across[n] / 2 for n in y) + PAD

    x, at, span = {}, PAD, {}
    for layer in levels:
        width = max(along[n] for n in layer)
        for n in layer:
            x[n] = at + width / 2
            span[n] = (at, at + width)  # the column of the node's rank
        at += width + GAP_ALONG
    length = at - GAP_ALONG + PAD

    # ports: each edge has its own point on the side of a node facing the flow
    out_ports, in_ports = {}, {}
    for k, chain in enumerate(chains):
        out_ports.setdefault(chain[0], []).append((y[chain[1]], k))
        in_ports.setdefault(chain[-1], []).append((y[chain[-2]], k))

    def port(n, ports, k, side):
        ks = [kk for _, kk in sorted(ports[n], key=lambda p: p[0])]
        frac = (ks.index(k) + 1) / (len(ks) + 1)
        if nodes[n]["shape"] != "ellipse":
            return (x[n] + side * along[n] / 2, y[n] - across[n] / 2 + frac * across[n])
        # on the ellipse itself, within its middle 60%
        u = (frac - 0.5) * 0.6 * across[n]
        half = along[n] / 2 * (1 - (2 * u / across[n]) ** 2) ** 0.5
        return (x[n] + side * half, y[n] + u)

    routes = []
    for k, (chain, (a, b, style)) in enumerate(zip(chains, edges)):
        # Straight along the flow inside a rank's column (where the other nodes of the
        # rank are, at other heights), curved only in the gaps between columns.
        start, end = port(a, out_ports, k, +1), port(b, in_ports, k, -1)
        pts = [start, (span[a][1], start[1])]
        for d in chain[1:-1]:
            pts += [(span[d][0], y[d]), (span[d][1], y[d])]
        pts += [(span[b][0], end[1]), end]
        routes.append((a, b, style, pts))
    flip = (lambda p: p) if lr else (lambda p: (p[1], p[0]))
    boxes = {n: (*flip((x[n], y[n])), *size[n]) for n in ids}
    routes = [(a, b, s, [flip(p) for p in pts]) for a, b, s, pts in routes]
    return boxes, routes, flip((length, extent))


def path_points(points, lr=True):
    """The cubic Bezier segments of a route: [(p0, c1, c2, p1), ...]; tangents run along the flow."""
    segs = []
    for p, q in zip(points, points[1:]):
        if lr:
            d = (q[0] - p[0]) / 2
            segs.append((p, (p[0] + d, p[1]), (q[0] - d, q[1]), q))
        else:
            d = (q[1] - p[1]) / 2
            segs.append((p, (p[0], p[1] + d), (q[0], q[1] - d), q))
    return segs


def to_svg(nodes, edges, rankdir="LR"):
    """SVG text (a standalone file) of the graph laid out by :func:`layout`."""
    boxes, routes, (width, height) = layout(nodes, edges, rankdir)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="monospace" font-size="{FONT}">',
           "<defs>"]
    for name, color in (("arrow", COLORS["line"]), ("arrow-hl", COLORS["highlight"])):
        out.append(f'<marker id="{name}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
                   f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    out.append("</defs>")
    for a, b, style, pts in routes:
        d = "M{:.1f},{:.1f} ".format(*pts[0]) + " ".join(
            "C{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}".format(*c1, *c2, *p1)
            for _, c1, c2, p1 in path_points(pts, rankdir == "LR"))
        hl = "highlight" in style
        color = COLORS["highlight"] if hl else COLORS["line"]
        dash = ' stroke-dasharray="5,3"' if "dashed" in style else ""
        out.append(f'<path class="edge" data-from="{escape(a)}" data-to="{escape(b)}" d="{d}" fill="none" '
                   f'stroke="{color}" stroke-width="{2.2 if hl else 1}"{dash} '
                   f'marker-end="url(#{"arrow-hl" if hl else "arrow"})"/>')
    for n, node in nodes.items():
        cx, cy, w, h = boxes[n]
        style = node.get("style", set())
        hl = "highlight" in style
        stroke = COLORS["highlight"] if hl else COLORS["line"]
        fill = (COLORS["highlight_fill"] if hl else COLORS["filled"] if "filled" in style else "white")
        dash = (' stroke-dasharray="5,3"' if "dashed" in style else
                ' stroke-dasharray="2,2"' if "dotted" in style else "")
        attrs = f'stroke="{stroke}" stroke-width="{2.2 if hl else 1}" fill="{fill}"{dash}'
        out.append(f'<g class="node" id="{escape(n)}">')
        left, top = cx - w / 2, cy - h / 2
        if node["shape"] == "ellipse":
            out.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" {attrs}/>')
        elif node["shape"] == "record":
            out.append(f'<rect x="{left:.1f}" y="{top:.1f}" width="{w:.1f}" height="{h:.1f}" {attrs}/>')
        lines_y = top + PAD
        for i, field in enumerate(node["fields"]):
            if node["shape"] == "record" and i > 0:
                out.append(f'<line x1="{left:.1f}" y1="{lines_y - PAD:.1f}" x2="{left + w:.1f}" '
                           f'y2="{lines_y - PAD:.1f}" stroke="{stroke}"/>')
            if node["shape"] == "ellipse":
                lines_y = cy - len(field) * LINE_H / 2
            for line in field:
                out.append(f'<text x="{cx:.1f}" y="{lines_y + 0.8 * LINE_H:.1f}" text-anchor="middle" '
                           f'xml:space="preserve">{escape(line)}</text>')
                lines_y += LINE_H
            lines_y += 2 * PAD
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"
