"""Every figure in the docs, drawn from the library by this script.

The docs build runs it (docs/hooks.py) and serves the files under
``figures/``; nothing here is committed. Run it by hand to look at them:

    python docs/figures.py [OUTDIR]          (default: build/figures)
    python docs/figures.py OUTDIR NAME...    (only some figures)

Each figure is a function registered with ``@figure("file name")`` that
writes that file. They are small experiments (seconds in all), so the build
stays fast; each chapter says which function draws its pictures.
"""
from __future__ import annotations

import contextlib
import doctest
import functools
import io
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import blog, viz  # noqa: E402

FIGURES: dict = {}


def figure(name):
    """Register ``fn(path)`` as the function that draws ``figures/<name>``."""

    def register(fn):
        FIGURES[name] = fn
        return fn

    return register


def generate(outdir, names=None) -> list[Path]:
    """Draw the figures (all, or those in ``names``) into ``outdir``; returns their paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    unknown = set(names or ()) - set(FIGURES)
    if unknown:
        raise ValueError(f"unknown figures {sorted(unknown)}; known: {sorted(FIGURES)}")
    paths = []
    for name, fn in FIGURES.items():
        if names and name not in names:
            continue
        path = outdir / name
        with np.errstate(over="ignore"):  # log axes of a diverging curve overflow harmlessly
            fn(path)
        plt.close("all")
        if not path.is_file() or path.stat().st_size == 0:
            raise RuntimeError(f"figure function {fn.__name__} did not write {path}")
        paths.append(path)
    return paths


# ---- figures of a page's own results ----------------------------------------------------------
_PY_BLOCK = re.compile(r"^(?P<indent>[ \t]*)```python[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
                       re.MULTILINE | re.DOTALL)


@functools.cache
def page_namespace(page):
    """Run the ```python blocks of ``docs/<page>`` in order; return the variables they leave.

    A chapter's experiment and its figure are then one computation: the
    figure plots the very numbers the page prints (and that the test suite
    checks). Doctest blocks run as plain code; printed output is discarded.
    """
    text = (DOCS / page).read_text(encoding="utf-8")
    namespace = {"__name__": f"docs_page_{Path(page).stem.replace('-', '_')}"}
    np.random.seed(0)  # as the docs' test runner does (conftest.py)
    with contextlib.redirect_stdout(io.StringIO()):
        for m in _PY_BLOCK.finditer(text):
            indent = m["indent"]
            body = "".join(line[len(indent):] if line.startswith(indent) else line
                           for line in m["body"].splitlines(keepends=True))
            if body.lstrip().startswith(">>>"):
                body = "".join(ex.source for ex in doctest.DocTestParser().get_examples(body))
            exec(compile(body, str(DOCS / page), "exec"), namespace)
    return namespace


def _loss_plot(path, series, title, xlabel="step", ylabel="loss", log=True, x=None, ylim=None):
    """One line per entry of ``series`` (label -> values); non-finite values are left out."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for label, values in series.items():
        values = np.asarray(values, dtype=float)
        xs = np.arange(len(values)) if x is None else x(len(values))
        ok = np.isfinite(values)
        ax.plot(xs[ok], values[ok], label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if log:
        ax.set_yscale("log")
    if ylim:
        ax.set_ylim(*ylim)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---- chapter 4: the blog's future work -------------------------------------------------------
def _future_work():
    return page_namespace("future-work.md")["curves"]


@figure("alpha.png")
def fig_alpha(path):
    _loss_plot(path, _future_work()["alpha"], "The XOR network with four learning rates",
               ylabel="0.5 * sum of squared errors")


@figure("bias.png")
def fig_bias(path):
    _loss_plot(path, _future_work()["bias"], "Part 1 without the column of ones",
               ylabel="0.5 * sum of squared errors")


@figure("clipping.png")
def fig_clipping(path):
    _loss_plot(path, _future_work()["clipping"], "Fitting 10 sin(x): SGD, lr 0.1, momentum 0.9",
               ylabel="mean squared error", ylim=(1e-2, 1e5))


@figure("sizes.png")
def fig_sizes(path):
    _loss_plot(path, _future_work()["sizes"], "Three spirals, one hidden layer of varying width",
               ylabel="cross-entropy")


@figure("regularization.png")
def fig_regularization(path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for k, (ax, which) in enumerate(zip(axes, ("training", "test"))):
        for name, pair in _future_work()["regularization"].items():
            values = np.asarray(pair[k])
            ax.plot(np.arange(len(values)) * 10, values, label=name)
        ax.set(title=f"{which} loss (40 training points)", xlabel="step", yscale="log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cross-entropy")
    axes[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


@figure("batchnorm.png")
def fig_batchnorm(path):
    _loss_plot(path, _future_work()["batchnorm"], "Four hidden sigmoid layers on the spirals",
               ylabel="cross-entropy")


# ---- chapter 6: the digits classifier ----------------------------------------------------------
@figure("digits_curves.png")
def fig_digits_curves(path):
    history = page_namespace("digits.md")["history"]
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot(epochs, history["loss"], marker=".")
    ax1.set(title="training loss", xlabel="epoch", ylabel="cross-entropy", yscale="log")
    for name in ("train accuracy", "test accuracy"):
        ax2.plot(epochs, 100 * np.asarray(history[name]), marker=".", label=name)
    ax2.set(title="accuracy", xlabel="epoch", ylabel="%")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


@figure("digits_misclassified.png")
def fig_digits_misclassified(path):
    ns = page_namespace("digits.md")
    wrong, images = ns["wrong"], ns["px_test"]
    cols = min(len(wrong), 6)
    rows = max(1, -(-len(wrong) // 6))
    fig, axes = plt.subplots(rows, max(cols, 1), figsize=(1.5 * max(cols, 1), 1.75 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    for ax, i in zip(axes.ravel(), wrong):
        ax.imshow(images[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
        ax.set_title(f"{ns['y_test'][i]} read as {ns['predicted'][i]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---- chapter 7: a convolution is a matmul ---------------------------------------------------------
@figure("im2col.png")
def fig_im2col(path):
    """A 5 x 5 image of pixel numbers and its im2col matrix for a 3 x 3 kernel (the page's im2col)."""
    im2col = page_namespace("convolution.md")["im2col"]
    image = np.arange(25.0).reshape(1, 1, 5, 5)
    cols = im2col(image, 3, 3)                      # (9 windows, 9 kernel weights)
    window, row = (1, 2), 1 * 3 + 2
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [5, 9]})
    inside = np.zeros((5, 5), bool)
    inside[window[0]:window[0] + 3, window[1]:window[1] + 3] = True
    ax1.imshow(inside, cmap="Blues", vmin=0, vmax=2.5)
    for (i, j), v in np.ndenumerate(image[0, 0]):
        ax1.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=11,
                 color="tab:red" if v == 12 else "black")
    ax1.add_patch(plt.Rectangle((window[1] - 0.5, window[0] - 0.5), 3, 3, fill=False, lw=2.5,
                                ec="tab:blue"))
    ax1.set_title(f"image x (5 x 5), window {window}")
    marked = np.zeros(cols.shape, bool)
    marked[row] = True
    ax2.imshow(marked, cmap="Blues", vmin=0, vmax=2.5)
    for (i, j), v in np.ndenumerate(cols):
        ax2.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=10,
                 color="tab:red" if v == 12 else "black")
    ax2.set_title("im2col(x, 3, 3): one row per window")
    ax2.set_ylabel("window (i, j) = row 3*i + j")
    ax2.set_xlabel("kernel position (p, q) = column 3*p + q")
    for ax, (h, w) in ((ax1, (5, 5)), (ax2, cols.shape)):
        ax.set_xticks(np.arange(w))
        ax.set_yticks(np.arange(h))
        ax.set_xticks(np.arange(w + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(h + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="grey", lw=0.5)
        ax.tick_params(which="minor", length=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---- chapter 8: backpropagation through time ----------------------------------------------------
@figure("bptt_gradient_norms.png")
def fig_bptt_gradient_norms(path):
    norms = page_namespace("recurrent.md")["norms"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for name, values in norms.items():
        ax = axes[0] if name.startswith("tanh") else axes[1]
        ax.plot(np.arange(len(values)), values, label=name)
    axes[1].plot(np.arange(len(norms["tanh RNN, gain 1"])), norms["tanh RNN, gain 1"], "k:",
                 label="tanh RNN, gain 1")
    axes[0].set_title("tanh RNN, W_hh = gain * orthogonal")
    axes[1].set_title("LSTM, three initial forget-gate biases")
    axes[0].set_ylabel("mean |d(v . h_T) / dx_(T-k)|")
    for ax in axes:
        ax.set(xlabel="k (steps back from the end)", yscale="log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---- chapter 9: attention and layer normalization, backwards -------------------------------------
@figure("attention_scale.png")
def fig_attention_scale(path):
    ns = page_namespace("attention.md")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, values in ns["saturation"].items():
        ax.plot(ns["sizes"], values, marker=".", label=f"scores * {name.split()[1]}")
    ax.set(title="Softmax of random q . k: median Jacobian size", xlabel="head size E",
           ylabel="median |diag(p) - p p^T|", xscale="log", yscale="log")
    ax.set_xscale("log", base=2)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# ---- chapter 3: pictures of the graph ---------------------------------------------------------
def xor_loss_graph():
    """The blog's XOR network, one forward pass and backward: (loss, net)."""
    net = blog.blog_network(3, 4, 1)
    out = net(blog.X)
    loss = 0.5 * ((blog.Y_PART2 - out) ** 2).sum()
    loss.backward(retain_graph=True)  # keep the graph to draw it with its gradients
    return loss, net


@figure("xor_graph.svg")
def fig_xor_graph(path):
    loss, net = xor_loss_graph()
    # top down: a long chain suits a page's narrow column
    viz.draw(loss, path, params=net, show_data=False, rankdir="TB")


@figure("used_twice_graph.svg")
def fig_used_twice_graph(path):
    x = tg.Tensor(3.0, requires_grad=True)
    y = x * x + x
    viz.retain_grads(y)  # every node shows its gradient
    y.backward(retain_graph=True)
    viz.draw(y, path, names={x: "x"}, highlight=[x])


def blog_graph():
    """Chapter 2's engine step with the blog's names: (loss, {tensor: label}, highlighted).

    The same computation as backprop.md's (``blog_network`` from the blog's
    seed, the loss ``0.5 * sum((y - l2)**2)``), with every node's gradient
    retained: the blog's ``l2_delta`` and ``l1_delta`` are minus the gradients
    at the two layers' weighted sums, highlighted.
    """
    net = blog.blog_network(3, 4, 1)
    X = blog.X
    l0 = tg.Tensor(X)
    z1 = net[0](l0)
    l1 = net[1](z1)
    z2 = net[2](l1)
    l2 = net[3](z2)
    l2_error = blog.Y_PART2 - l2
    loss = 0.5 * (l2_error ** 2).sum()
    viz.retain_grads(loss)
    loss.backward(retain_graph=True)
    names = {l0: "l0 (X)", net[0].weight: "syn0", z1: "l0.dot(syn0)\ngrad = -l1_delta",
             l1: "l1", net[2].weight: "syn1", z2: "l1.dot(syn1)\ngrad = -l2_delta", l2: "l2",
             l2_error: "l2_error = y - l2\ngrad = -l2_error", loss: "loss"}
    return loss, names, [z1, z2]


@figure("blog_graph.svg")
def fig_blog_graph(path):
    loss, names, deltas = blog_graph()
    viz.draw(loss, path, names=names, highlight=deltas, rankdir="TB")


# ---- the fallback renderer, before it moved into tinygrad_edu.viz --------------------------------
# viz.draw draws SVG without Graphviz itself now (tinygrad_edu/_viz_layout.py); these two
# helpers stay for tests/test_docs.py, which renders DOT text through them.
_NODE = re.compile(r'^  (\w+) \[(.*)\];$')
_EDGE = re.compile(r'^  (\w+) -> (\w+)(?: \[(.*)\])?;$')
_LABEL = re.compile(r'label="((?:[^"\\]|\\.)*)"')


def _parse_dot(dot_source):
    nodes, edges = {}, []
    for line in dot_source.splitlines():
        if m := _EDGE.match(line):
            edges.append((m[1], m[2], "dashed" in (m[3] or "")))
        elif (m := _NODE.match(line)) and m[1] not in ("node", "edge", "graph"):
            attrs = m[2]
            label = _LABEL.search(attrs)[1].replace("\\n", "\n")
            label = re.sub(r'\\([\\"{}|<>])', r"\1", label)
            if "shape=record" in attrs:
                label = "\n".join(f.strip() for f in label.strip()[1:-1].split(" | "))
            kind = ("op" if "ellipse" in attrs else "const" if "plaintext" in attrs else
                    "param" if "lightblue" in attrs else "tensor")
            nodes[m[1]] = (label, kind)
    return nodes, edges


def _draw_dot_with_matplotlib(dot_source, path, top_down=False):
    """DOT text (as viz.to_dot writes it) to an SVG file by viz's built-in layout (the name is
    historical: it no longer needs matplotlib)."""
    from tinygrad_edu import _viz_layout

    parsed, edges = _parse_dot(dot_source)
    shapes = {"op": "ellipse", "const": "text", "param": "record", "tensor": "record"}
    nodes = {n: {"shape": shapes[kind], "fields": [[line] for line in label.split("\n")],
                 "style": {"filled"} if kind == "param" else set()}
             for n, (label, kind) in parsed.items()}
    svg = _viz_layout.to_svg(nodes, [(a, b, {"dashed"} if d else set()) for a, b, d in edges],
                             "TB" if top_down else "LR")
    Path(path).write_text(svg, encoding="utf-8")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    outdir = argv[0] if argv else ROOT / "build" / "figures"
    for p in generate(outdir, argv[1:] or None):
        print(p)


if __name__ == "__main__":
    main()
