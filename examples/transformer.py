"""Teach a small transformer encoder to sort (or reverse) strings of digits.

Run:  python examples/transformer.py                 (defaults: --task sort --length 10 --d-model 64 --layers 2)
      python examples/transformer.py --task reverse --epochs 3

The task is algorithmic, so the data are generated (nothing is downloaded):
random strings of ``--length`` digits 0-9, the target the same digits
sorted (``3 1 4 1 5 -> 1 1 3 4 5``) or reversed. A fixed training set of
``--train-size`` strings and a held-out test set of ``--test-size`` other
strings (none of them in the training set) are drawn from ``--seed``.

What it shows: an encoder-only transformer with a per-position classifier::

    digits (N, L) -> Embedding(10, d) + learned position Embedding(L, d)
                  -> TransformerEncoder(TransformerEncoderLayer(d, heads, pre-norm, ReLU), layers)
                  -> LayerNorm -> Linear(d, 10): logits (N, L, 10) for the output digit at each position

trained with cross-entropy over all positions (AdamW, linear warm-up then
cosine decay, float32). Nothing is autoregressive: every output position
attends to the whole input and must find its digit there. Reversal only
needs attention by position (output i looks at input L-1-i); sorting needs
each position to count, through attention over the digits' embeddings, how
many digits are smaller. The metric is exact-sequence accuracy: the whole
string right. It also plots the loss and accuracy curves and one head's
attention pattern on a test string, saves a checkpoint with
``tinygrad_edu.save`` and checks that a fresh model rebuilt from it predicts
exactly the same. Everything goes to ``--out`` (default ``out/transformer``).

Needs tqdm and matplotlib (the ``examples`` extra). ``train(args)`` returns
the results, so tests can import this file and run a short training.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

# One BLAS thread: these small matrices gain nothing from more, and on a shared or
# 2-core machine extra threads slow a step several times (set the variables to override).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np

# Run from a checkout without installing: the package is one directory up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import nn, optim  # noqa: E402
from tinygrad_edu.data import DataLoader  # noqa: E402

DTYPE = np.float32
TASKS = {"sort": lambda x: np.sort(x, axis=1), "reverse": lambda x: x[:, ::-1].copy()}


def parse_args(argv=None) -> argparse.Namespace:
    """The command line: ``parse_args(["--epochs", "1", "--train-size", "500"])`` for a short run."""
    p = argparse.ArgumentParser(description="Train a transformer encoder to sort or reverse digit strings.")
    p.add_argument("--task", choices=sorted(TASKS), default="sort")
    p.add_argument("--length", type=int, default=10, help="digits per string (default 10)")
    p.add_argument("--train-size", type=int, default=20000, help="training strings (default 20000)")
    p.add_argument("--test-size", type=int, default=2000, help="held-out strings (default 2000)")
    p.add_argument("--epochs", type=int, default=6, help="passes over the training set (default 6)")
    p.add_argument("--d-model", type=int, default=64, help="embedding size (default 64)")
    p.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    p.add_argument("--layers", type=int, default=2, help="encoder layers (default 2)")
    p.add_argument("--ff", type=int, default=128, help="feed-forward hidden size (default 128)")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout in the encoder layers (default 0)")
    p.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate (default 2e-3)")
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps (default 100)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="seeds the data, the init and the shuffling")
    p.add_argument("--out", default=os.path.join("out", "transformer"),
                   help="directory for the checkpoint and the plot (default out/transformer)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = p.parse_args(argv)
    if min(args.length, args.train_size, args.test_size, args.epochs, args.d_model, args.heads,
           args.layers, args.ff, args.batch_size) < 1 or args.warmup < 0:
        p.error("sizes, --epochs and --batch-size must be positive, --warmup non-negative")
    if args.d_model % args.heads:
        p.error(f"--d-model ({args.d_model}) must be divisible by --heads ({args.heads})")
    if not 0 <= args.dropout < 1:
        p.error("--dropout must be in [0, 1)")
    return args


def make_data(task: str, length: int, train_size: int, test_size: int, seed: int):
    """Random digit strings and their targets: ``(X_train, Y_train, X_test, Y_test)``, int64 ``(N, length)``.

    The test strings are distinct and none of them occurs in the training set.
    """
    gen = np.random.default_rng(seed)
    if test_size > 10 ** length // 2:
        raise ValueError(f"transformer: only {10 ** length} strings of length {length}; --test-size "
                         f"{test_size} would leave too few for training")
    X_test = np.unique(gen.integers(0, 10, (test_size * 2 + 16, length)), axis=0)
    X_test = X_test[gen.permutation(len(X_test))[:test_size]]
    if len(X_test) < test_size:
        raise ValueError(f"transformer: could not draw {test_size} distinct strings of length {length}")
    test_keys = {row.tobytes() for row in X_test}
    chunks, have = [], 0
    while have < train_size:  # at least half of all strings are not test strings: this ends
        draw = gen.integers(0, 10, (2 * (train_size - have) + 16, length))
        draw = draw[[row.tobytes() not in test_keys for row in draw]][:train_size - have]
        chunks.append(draw)
        have += len(draw)
    X_train = np.concatenate(chunks)
    return X_train, TASKS[task](X_train), X_test, TASKS[task](X_test)


class DigitTransformer(nn.Module):
    """Token + learned position embeddings -> pre-norm ``TransformerEncoder`` -> ``LayerNorm`` -> ``Linear``.

    ``forward(x)``: int digits ``(N, L)`` -> logits ``(N, L, 10)``.
    """

    def __init__(self, length: int, d_model: int, heads: int, layers: int, ff: int, dropout: float,
                 seed: int):
        super().__init__()
        gen = np.random.default_rng(seed)
        self.tokens = nn.Embedding(10, d_model, rng=gen, dtype=DTYPE)
        self.positions = nn.Embedding(length, d_model, rng=gen, dtype=DTYPE)
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=ff, dropout=dropout,
                                           activation="relu", batch_first=True, norm_first=True,
                                           rng=gen, dtype=DTYPE)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model, dtype=DTYPE)
        self.head = nn.Linear(d_model, 10, rng=gen, dtype=DTYPE)
        self.length = length

    def embed(self, x):
        """The encoder's input ``(N, L, d)``: token plus position embeddings."""
        return self.tokens(x) + self.positions(np.arange(x.shape[1]))

    def forward(self, x):
        return self.head(self.norm(self.encoder(self.embed(x))))


def predict(model, X, batch_size: int = 1000) -> np.ndarray:
    """Predicted output strings ``(N, L)`` (eval mode, no graph)."""
    model.eval()
    with tg.no_grad():
        out = np.concatenate([np.argmax(model(X[i:i + batch_size]).data, axis=-1)
                              for i in range(0, len(X), batch_size)])
    model.train()
    return out


def accuracies(pred, Y):
    """``(exact-sequence accuracy, per-digit accuracy)`` as floats in [0, 1]."""
    right = pred == Y
    return float(np.mean(np.all(right, axis=1))), float(np.mean(right))


def attention_map(model, x) -> np.ndarray:
    """The last layer's attention weights ``(heads, L, L)`` (query, key) for one string ``x`` ``(L,)``."""
    model.eval()
    layers = model.encoder.layers
    with tg.no_grad():
        h = model.embed(x[None])
        for layer in layers[:-1]:
            h = layer(h)
        h = layers[-1].norm1(h)  # pre-norm: the attention sees the normalised input
        _, w = layers[-1].self_attn(h, h, h, need_weights=True, average_attn_weights=False)
    model.train()
    return w.data[0]


def plot_curves(history: dict, attn: np.ndarray, x, y_pred, path: str, task: str):
    """Write a PNG: training loss per step, held-out accuracy per epoch, one head's attention."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4.2))
    ax1.plot(np.arange(1, len(history["loss"]) + 1), history["loss"], lw=0.7)
    ax1.set(xlabel="step", ylabel="cross-entropy per digit", title="training loss", yscale="log")
    epochs = np.arange(1, len(history["test_exact"]) + 1)
    ax2.plot(epochs, np.array(history["test_exact"]) * 100, marker="o", label="whole string")
    ax2.plot(epochs, np.array(history["test_digit"]) * 100, marker=".", label="per digit")
    ax2.set(xlabel="epoch", ylabel="held-out accuracy (%)", title="held-out accuracy")
    ax2.legend()
    # The head whose weights are most concentrated tells the clearest story.
    head = int(np.argmax(attn.max(axis=-1).mean(axis=-1)))
    ax3.imshow(attn[head], cmap="viridis", vmin=0, vmax=1)
    ax3.set(xticks=range(len(x)), xticklabels=[str(d) for d in x], yticks=range(len(x)),
            yticklabels=[str(d) for d in y_pred], xlabel="input digit (key)",
            ylabel="output position (query; predicted digit)", title=f"last layer, head {head} attention")
    fig.suptitle(f"tinygrad_edu transformer encoder learning to {task} digit strings")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(args: argparse.Namespace, log=print) -> dict:
    """Train, evaluate, checkpoint, reload and plot; return the results.

    ``args`` as from :func:`parse_args`; ``log`` receives each printed line.

    Returns a dict: ``test_exact`` and ``test_digit`` (held-out exact-string
    and per-digit accuracy, floats in [0, 1]), ``predictions`` (N, L),
    ``X_test``, ``Y_test``, ``history`` (``loss`` per step, ``test_exact``
    and ``test_digit`` per epoch), ``train_seconds`` and ``cpu_seconds``
    (wall-clock and CPU time of the training loop), ``checkpoint``,
    ``plot``, ``reloaded_predictions``.

    Raises AssertionError if the reloaded model does not predict exactly the same.
    """
    from tqdm import tqdm

    X_train, Y_train, X_test, Y_test = make_data(args.task, args.length, args.train_size, args.test_size,
                                                 args.seed)
    model = DigitTransformer(args.length, args.d_model, args.heads, args.layers, args.ff, args.dropout,
                             args.seed)
    loader = DataLoader(X_train, Y_train, batch_size=args.batch_size, shuffle=True, rng=args.seed)
    total_steps = args.epochs * len(loader)
    opt = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warmup = min(args.warmup, total_steps // 2)

    def lr_factor(step):  # linear warm-up, then cosine decay to 0 (per step)
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup)))

    sched = optim.lr_scheduler.LambdaLR(opt, lr_factor)
    loss_fn = nn.CrossEntropyLoss()
    n_params = sum(p.size for p in model.parameters())
    log(f"task: {args.task} strings of {args.length} digits; {len(X_train)} training, "
        f"{len(X_test)} held-out strings (e.g. {''.join(map(str, X_test[0]))} -> "
        f"{''.join(map(str, Y_test[0]))})")
    log(f"model: encoder-only transformer, d_model {args.d_model}, {args.heads} heads, {args.layers} "
        f"layers, feed-forward {args.ff} ({n_params} parameters, float32); AdamW lr={args.lr}, "
        f"batch {args.batch_size}, {args.epochs} epochs ({total_steps} steps), seed {args.seed}")

    history = {"loss": [], "test_exact": [], "test_digit": []}
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        bar = tqdm(loader, desc=f"epoch {epoch}/{args.epochs}", leave=False, disable=args.no_progress,
                   file=sys.stderr)
        for xb, yb in bar:
            loss = loss_fn(model(xb).reshape(-1, 10), yb.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            history["loss"].append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.4f}")
        exact, digit = accuracies(predict(model, X_test), Y_test)
        history["test_exact"].append(exact)
        history["test_digit"].append(digit)
        log(f"epoch {epoch}: loss {np.mean(history['loss'][-len(loader):]):.4f}  held-out: whole strings "
            f"{exact:.2%}, digits {digit:.2%}")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    predictions = predict(model, X_test)
    exact, digit = accuracies(predictions, Y_test)
    log(f"held-out exact-string accuracy: {exact:.2%} ({int(np.sum(np.all(predictions == Y_test, axis=1)))}"
        f"/{len(Y_test)}), per digit {digit:.2%}, after {seconds:.1f} s of training "
        f"({cpu_seconds:.1f} s of CPU time)")
    for x, y, t in list(zip(X_test, predictions, Y_test))[:3]:
        verdict = "right" if np.array_equal(y, t) else "wrong"
        log(f"  {''.join(map(str, x))} -> {''.join(map(str, y))}  ({verdict})")

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "transformer.npz")
    config = {"task": args.task, "length": args.length, "d_model": args.d_model, "heads": args.heads,
              "layers": args.layers, "ff": args.ff, "dropout": args.dropout, "seed": args.seed}
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "config": config}, checkpoint)
    log(f"checkpoint saved to {checkpoint}")

    # A fresh model (different init) rebuilt only from what the checkpoint holds.
    ck = tg.load(checkpoint)
    c = ck["config"]
    fresh = DigitTransformer(c["length"], c["d_model"], c["heads"], c["layers"], c["ff"], c["dropout"],
                             seed=args.seed + 1)
    fresh.load_state_dict(ck["model"])
    reloaded = predict(fresh, X_test)
    assert np.array_equal(reloaded, predictions), "the reloaded model predicts differently"
    log("reloaded into a fresh model: predictions identical")

    plot = os.path.join(args.out, "transformer.png")
    plot_curves(history, attention_map(model, X_test[0]), X_test[0], predictions[0], plot, args.task)
    log(f"curves and attention written to {plot}")
    return {"test_exact": exact, "test_digit": digit, "predictions": predictions, "X_test": X_test,
            "Y_test": Y_test, "history": history, "train_seconds": seconds, "cpu_seconds": cpu_seconds,
            "checkpoint": checkpoint,
            "plot": plot, "reloaded_predictions": reloaded}


def main(argv=None):
    """Command-line entry point."""
    train(parse_args(argv))


if __name__ == "__main__":
    main()
