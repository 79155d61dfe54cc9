"""Train a character-level LSTM language model on the Python Language Reference, then let it write.

Run:  python examples/char_rnn.py              (defaults: --hidden 256 --seq-len 64 --batch-size 32 --epochs 3)
      python examples/char_rnn.py --cell gru --temperature 0.5 0.8 1.0

The text: ``pydoc_data.topics``, which ships with every CPython (it is what
``help("if")`` prints): the Language Reference's sections (statements,
expressions, data model...) as plain English text with grammar snippets,
about 465,000 characters in Python 3.11 (the exact text varies a little with
the Python version). Nothing is downloaded. The sections are joined in
sorted order; the last ``--val-fraction`` (10%) is held out.

What it shows: ``Embedding -> LSTM (or GRU) -> Linear`` predicting the
next character, trained with truncated backpropagation through time: the
training text is cut into ``--batch-size`` parallel streams, read in
windows of ``--seq-len`` characters; the hidden state is carried from one
window to the next but ``detach()``-ed, so gradients flow back at most one
window. Gradients are clipped with ``nn.utils.clip_grad_norm_`` (their norm
is logged: exploding gradients are the classic RNN failure). Adam with a
cosine-annealed learning rate, float32.

It prints the training loss, the held-out loss in bits per character next
to the held-out entropy of a unigram model (character frequencies of the
training part; what a model that ignores context can reach), and samples
generated with temperature sampling: ``p = softmax(logits / T)``; low T is
conservative, T = 1 samples the model's own distribution. Then it saves a
checkpoint (model, vocabulary, config, optimizer) with ``tinygrad_edu.save``,
rebuilds a fresh model from it that gives identical held-out logits and
samples, and writes a PNG of the loss curves. Everything goes to ``--out``
(default ``out/char_rnn``).

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

DTYPE = np.float32
LN2 = math.log(2)


def parse_args(argv=None) -> argparse.Namespace:
    """The command line: ``parse_args(["--chars", "20000"])`` for a short run."""
    p = argparse.ArgumentParser(description="Train a character-level LSTM on the Python Language Reference.")
    p.add_argument("--epochs", type=int, default=3, help="passes over the training text (default 3)")
    p.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    p.add_argument("--hidden", type=int, default=256, help="hidden state size (default 256)")
    p.add_argument("--layers", type=int, default=1, help="stacked recurrent layers (default 1)")
    p.add_argument("--embed", type=int, default=32, help="character embedding size (default 32)")
    p.add_argument("--seq-len", type=int, default=64, help="truncated-BPTT window in characters (default 64)")
    p.add_argument("--batch-size", type=int, default=32, help="parallel streams of text (default 32)")
    p.add_argument("--lr", type=float, default=5e-3, help="Adam's learning rate (default 5e-3)")
    p.add_argument("--clip", type=float, default=1.0, help="max gradient norm (default 1.0)")
    p.add_argument("--chars", type=int, default=None,
                   help="use only the first N characters of the text (default: all of it)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="held-out tail of the text (default 0.1)")
    p.add_argument("--eval-every", type=int, default=50,
                   help="steps between held-out evaluations on a slice for the curve (default 50)")
    p.add_argument("--sample-len", type=int, default=300,
                   help="characters per generated sample (default 300)")
    p.add_argument("--temperature", type=float, nargs="+", default=[0.5, 1.0],
                   help="sampling temperatures for the final samples (default 0.5 1.0)")
    p.add_argument("--prompt", default="The ", help='text the samples start from (default "The ")')
    p.add_argument("--seed", type=int, default=0, help="seeds the init and the sampling")
    p.add_argument("--out", default=os.path.join("out", "char_rnn"),
                   help="directory for the checkpoint and the plot (default out/char_rnn)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = p.parse_args(argv)
    if min(args.epochs, args.hidden, args.layers, args.embed, args.seq_len, args.batch_size,
           args.eval_every) < 1 or args.sample_len < 0:
        p.error("--epochs, --hidden, --layers, --embed, --seq-len, --batch-size and --eval-every "
                "must be positive")
    if not 0 < args.val_fraction < 1 or any(t <= 0 for t in args.temperature) or args.clip <= 0:
        p.error("--val-fraction must be in (0, 1); --temperature and --clip positive")
    return args


def load_text(chars: int | None = None) -> str:
    """The Language Reference sections of ``pydoc_data.topics``, in sorted order (the first ``chars``)."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k].strip() for k in sorted(topics))
    return text if chars is None else text[:chars]


class CharModel(nn.Module):
    """``Embedding(V, E) -> LSTM/GRU(E, H, layers) -> Linear(H, V)``: next-character logits.

    ``forward(idx, state=None)``: idx int ``(N, L)`` -> ``(logits (N, L, V), state)``,
    the recurrent state to pass to the next call (LSTM: ``(h, c)``; GRU: ``h``).
    """

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int, cell: str, seed: int):
        super().__init__()
        gen = np.random.default_rng(seed)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.embed = nn.Embedding(vocab_size, embed, rng=gen, dtype=DTYPE)
        self.rnn = rnn(embed, hidden, num_layers=layers, batch_first=True, rng=gen, dtype=DTYPE)
        self.head = nn.Linear(hidden, vocab_size, rng=gen, dtype=DTYPE)

    def forward(self, idx, state=None):
        out, state = self.rnn(self.embed(idx), state)
        return self.head(out), state


def detach(state):
    """The state with its history cut: the truncation in truncated BPTT."""
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def streams(ids: np.ndarray, n: int) -> np.ndarray:
    """``ids`` cut into ``n`` equal consecutive rows ``(n, len(ids) // n)`` (the tail is dropped)."""
    width = len(ids) // n
    return ids[:n * width].reshape(n, width)


def windows(data: np.ndarray, seq_len: int):
    """Input/target pairs ``(x, y)`` of ``(N, <=seq_len)`` columns; y is x shifted by one character."""
    for i in range(0, data.shape[1] - 1, seq_len):
        j = min(i + seq_len, data.shape[1] - 1)
        yield data[:, i:j], data[:, i + 1:j + 1]


def evaluate(model, data: np.ndarray, seq_len: int = 256) -> float:
    """Mean cross-entropy (nats per character) of ``model`` on the parallel streams ``data`` ``(N, T)``."""
    model.eval()
    total, count, state = 0.0, 0, None
    with tg.no_grad():
        for x, y in windows(data, seq_len):
            logits, state = model(x, state)
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 y.reshape(-1), reduction="sum").item()
            count += y.size
    model.train()
    return total / count


def unigram_entropy(train_ids: np.ndarray, val_ids: np.ndarray, vocab_size: int) -> float:
    """Held-out cross-entropy (nats/char) of the training text's character frequencies (add-one smoothed)."""
    counts = np.bincount(train_ids, minlength=vocab_size) + 1.0
    return float(-np.mean(np.log(counts / counts.sum())[val_ids]))


def sample(model, vocab: str, prompt: str, length: int, temperature: float, seed) -> str:
    """``prompt`` followed by ``length`` characters drawn one at a time from ``softmax(logits / T)``."""
    model.eval()
    index = {ch: i for i, ch in enumerate(vocab)}
    gen = np.random.default_rng(seed)
    ids = [index[ch] for ch in prompt if ch in index] or [0]
    out = []
    with tg.no_grad():
        logits, state = model(np.array([ids]))
        for _ in range(length):
            z = logits.data[0, -1].astype(np.float64) / temperature
            p = np.exp(z - z.max())
            nxt = int(gen.choice(len(vocab), p=p / p.sum()))
            out.append(vocab[nxt])
            logits, state = model(np.array([[nxt]]), state)
    model.train()
    return prompt + "".join(out)


def plot_curves(history: dict, unigram_bits: float, path: str, cell: str = "lstm"):
    """Write a PNG of the training loss per step and the held-out loss, in bits per character."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    steps = np.arange(1, len(history["train_bits"]) + 1)
    ax.plot(steps, history["train_bits"], lw=0.7, alpha=0.6, label="training batch")
    ax.plot(history["val_steps"], history["val_bits"], marker="o", label="held-out")
    ax.axhline(unigram_bits, color="gray", ls="--", label=f"unigram entropy ({unigram_bits:.2f})")
    ax.set(xlabel="step", ylabel="bits per character", title=f"tinygrad_edu char-{cell.upper()} on the "
           "Python Language Reference", ylim=(0, max(unigram_bits + 1, 5)))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(args: argparse.Namespace, log=print) -> dict:
    """Train, evaluate, sample, checkpoint, reload and plot; return the results.

    ``args`` as from :func:`parse_args`; ``log`` receives each printed line.

    Returns a dict: ``val_bits`` (held-out bits per character at the end),
    ``unigram_bits`` (the unigram baseline on the same held-out text),
    ``history`` (``train_bits`` per step, ``val_steps``/``val_bits`` of the
    periodic evaluations on the first 512 characters of each of the 16
    held-out streams, ``grad_norm`` per step before
    clipping), ``samples`` ({temperature: text}), ``train_seconds`` and
    ``cpu_seconds`` (wall-clock and CPU time of the training loop),
    ``checkpoint``, ``plot``, ``vocab``, ``val_ids`` and ``val_logits`` (the
    model's logits for the first 256 held-out characters).

    Raises AssertionError if the reloaded model's logits or samples differ.
    """
    from tqdm import tqdm

    text = load_text(args.chars)
    vocab = "".join(sorted(set(text)))
    index = {ch: i for i, ch in enumerate(vocab)}
    ids = np.array([index[ch] for ch in text], dtype=np.int64)
    split = int(len(ids) * (1 - args.val_fraction))
    train_ids, val_ids = ids[:split], ids[split:]
    if len(train_ids) < args.batch_size * 2 or len(val_ids) < 4:
        raise ValueError(f"char_rnn: {len(text)} characters are too few for --batch-size {args.batch_size}")
    data = streams(train_ids, args.batch_size)
    val_data = streams(val_ids, min(16, len(val_ids) // 2))
    val_slice = val_data[:, :513]  # the start of each held-out stream, for the curve; all of it at the end
    steps_per_epoch = math.ceil((data.shape[1] - 1) / args.seq_len)

    model = CharModel(len(vocab), args.embed, args.hidden, args.layers, args.cell, args.seed)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs * steps_per_epoch)
    unigram_bits = unigram_entropy(train_ids, val_ids, len(vocab)) / LN2
    n_params = sum(p.size for p in model.parameters())
    log(f"text: pydoc_data.topics, {len(text)} characters, vocabulary of {len(vocab)}; "
        f"{len(train_ids)} for training, {len(val_ids)} held out")
    log(f"model: Embedding({len(vocab)}, {args.embed}) -> {args.cell.upper()}(hidden {args.hidden}, "
        f"{args.layers} layer{'s' * (args.layers > 1)}) -> Linear ({n_params} parameters, float32)")
    log(f"training: {args.batch_size} streams x {args.seq_len}-character windows, {steps_per_epoch} "
        f"steps per epoch, {args.epochs} epochs, Adam lr={args.lr} (cosine), clip {args.clip}, "
        f"seed {args.seed}")
    log(f"held-out unigram entropy: {unigram_bits:.3f} bits/char")

    history = {"train_bits": [], "grad_norm": [], "val_steps": [], "val_bits": []}
    loss_fn = nn.CrossEntropyLoss()
    step = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(1, args.epochs + 1):
        state = None
        bar = tqdm(windows(data, args.seq_len), total=steps_per_epoch, desc=f"epoch {epoch}/{args.epochs}",
                   leave=False, disable=args.no_progress, file=sys.stderr)
        for x, y in bar:
            logits, state = model(x, state)
            state = detach(state)
            loss = loss_fn(logits.reshape(-1, len(vocab)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            opt.step()
            sched.step()
            step += 1
            history["train_bits"].append(loss.item() / LN2)
            history["grad_norm"].append(float(norm))
            bar.set_postfix(bits=f"{history['train_bits'][-1]:.3f}", grad=f"{float(norm):.2f}")
            if step % args.eval_every == 0:
                history["val_steps"].append(step)
                history["val_bits"].append(evaluate(model, val_slice) / LN2)
        recent = np.mean(history["train_bits"][-steps_per_epoch:])
        val = evaluate(model, val_slice) / LN2
        log(f"epoch {epoch}: training {recent:.3f} bits/char, held-out sample {val:.3f} bits/char, "
            f"median grad norm {np.median(history['grad_norm'][-steps_per_epoch:]):.2f}")
        log("  sample (T=0.8): " + repr(sample(model, vocab, args.prompt, 120, 0.8, [args.seed, epoch])))
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    val_bits = evaluate(model, val_data) / LN2
    log(f"held-out: {val_bits:.3f} bits/char ({val_bits * LN2:.3f} nats) vs unigram {unigram_bits:.3f}, "
        f"after {step} steps, {seconds:.1f} s of training ({cpu_seconds:.1f} s of CPU time)")
    samples = {}
    for t in args.temperature:
        samples[t] = sample(model, vocab, args.prompt, args.sample_len, t, [args.seed, 1000])
        log(f"--- sample, temperature {t} ---\n{samples[t]}")

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "char_rnn.npz")
    config = {"vocab": vocab, "embed": args.embed, "hidden": args.hidden, "layers": args.layers,
              "cell": args.cell, "seed": args.seed, "chars": args.chars, "val_fraction": args.val_fraction}
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "config": config}, checkpoint)
    log(f"checkpoint saved to {checkpoint}")

    # A fresh model (different init) rebuilt only from what the checkpoint holds.
    ck = tg.load(checkpoint)
    c = ck["config"]
    fresh = CharModel(len(c["vocab"]), c["embed"], c["hidden"], c["layers"], c["cell"], seed=args.seed + 1)
    fresh.load_state_dict(ck["model"])
    probe = val_ids[None, :256]
    with tg.no_grad():
        model.eval(), fresh.eval()
        val_logits, reloaded_logits = model(probe)[0].data, fresh(probe)[0].data
    assert np.array_equal(val_logits, reloaded_logits), "the reloaded model computes different logits"
    t0 = args.temperature[0]
    assert sample(fresh, c["vocab"], args.prompt, 50, t0, 7) == sample(model, vocab, args.prompt, 50, t0, 7)
    log("reloaded into a fresh model: identical held-out logits and samples")

    plot = os.path.join(args.out, "char_rnn_loss.png")
    plot_curves(history, unigram_bits, plot, args.cell)
    log(f"loss curves written to {plot}")
    return {"val_bits": val_bits, "unigram_bits": unigram_bits, "history": history, "samples": samples,
            "train_seconds": seconds, "cpu_seconds": cpu_seconds, "checkpoint": checkpoint, "plot": plot,
            "vocab": vocab,
            "val_ids": val_ids, "val_logits": val_logits}


def main(argv=None):
    """Command-line entry point."""
    train(parse_args(argv))


if __name__ == "__main__":
    main()
