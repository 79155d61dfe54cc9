"""Train an MLP on real handwritten digits: scikit-learn's bundled 8x8 scans (1,797 images, 10 classes).

Run:  python examples/digits.py     (defaults: --hidden 256 --optimizer adam --lr 3e-3 --epochs 30 --seed 0)
      python examples/digits.py --epochs 40 --hidden 128 64 --optimizer sgd --lr 0.05
      python examples/digits.py --export model.onnx     (also writes the model as ONNX)

Needs the ``examples`` extra (``pip install ".[examples]"``): scikit-learn
(the data set ships inside the package, nothing is downloaded), tqdm and
matplotlib. It holds out a seeded 20% test split, standardises the pixels
with the training set's statistics, trains with cross-entropy (learning
rate annealed by ``CosineAnnealingLR`` unless ``--schedule constant``) and
prints the test accuracy; then saves a checkpoint (model, optimizer, the
standardisation and the config) with ``tinygrad_edu.save``, rebuilds a
fresh model from it, checks that it predicts exactly the same, and writes
a PNG of the loss and accuracy curves. Everything goes to ``--out``
(default ``out/digits``). With ``--export model.onnx`` it also writes the
trained model, standardisation included (raw 0-16 pixels in, 10 logits out),
as an ONNX file (needs the ``onnx`` extra) and, when ``onnxruntime`` is
installed, checks that ONNX Runtime gives the same logits.

``train(args)`` does the work and returns the results, so tests can import
this file and run a short training.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

# Run from a checkout without installing: the package is one directory up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygrad_edu as tg  # noqa: E402
from tinygrad_edu import nn, optim  # noqa: E402
from tinygrad_edu.data import DataLoader, train_test_split  # noqa: E402

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop}
DEFAULT_LR = {"sgd": 0.05, "adam": 3e-3, "adamw": 3e-3, "rmsprop": 1e-3}


def parse_args(argv=None) -> argparse.Namespace:
    """The command line: ``parse_args(["--epochs", "3"])`` for a short run."""
    p = argparse.ArgumentParser(description="Train an MLP on scikit-learn's 8x8 digits with tinygrad_edu.")
    p.add_argument("--epochs", type=int, default=30, help="passes over the training set (default 30)")
    p.add_argument("--hidden", type=int, nargs="*", default=[256],
                   help="hidden layer sizes, e.g. --hidden 128 64 (default 256; none: a linear model)")
    p.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: 0.05 for sgd, with momentum 0.9; 3e-3 for adam "
                        "and adamw; 1e-3 for rmsprop)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine",
                   help="learning rate per epoch: cosine annealing to 0 over the run (default), or constant")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, the init and the shuffling")
    p.add_argument("--out", default=os.path.join("out", "digits"),
                   help="directory for the checkpoint and the plot (default out/digits)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.add_argument("--export", metavar="PATH", default=None,
                   help="also write the trained model as ONNX to PATH, e.g. model.onnx (needs the onnx extra)")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or any(h < 1 for h in args.hidden):
        p.error("--epochs, --batch-size and --hidden sizes must be positive")
    return args


def load_data(seed: int):
    """The digits' pixels (0-16) split 80/20, stratified by class and seeded.

    Returns ``(X_train, X_test, y_train, y_test)``: X float64 ``(N, 64)``, y int64 ``(N,)``.
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype(np.float64), y.astype(np.int64), test_size=0.2, rng=seed, stratify=y)


def standardizer(X_train):
    """Per-pixel mean and std of the training images (std 1 for pixels blank in all of them)."""
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    return {"mean": mean, "std": std}


def standardize(X, stats):
    """``(X - mean) / std`` with statistics from :func:`standardizer` (or a checkpoint)."""
    return (X - stats["mean"]) / stats["std"]


def build_model(sizes, seed: int) -> nn.Sequential:
    """``Linear -> ReLU`` for each hidden size, then a ``Linear`` to the 10 class logits."""
    gen = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(n_in, n_out, rng=gen), nn.ReLU()]
    layers.append(nn.Linear(sizes[-2], sizes[-1], rng=gen))
    return nn.Sequential(*layers)


class Standardized(nn.Module):
    """The exported model: raw pixels ``(N, 64)`` (0-16) in, logits ``(N, 10)`` out.

    ``(x - mean) / std`` then ``model``: the standardisation travels with the weights,
    so whoever runs the ONNX file feeds the pixels as they are.
    """

    def __init__(self, model, stats):
        super().__init__()
        self.model, self.mean, self.std = model, stats["mean"], stats["std"]

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


def export_onnx(model, stats, pixels, path, log=print):
    """Write ``Standardized(model, stats)`` to ``path`` as ONNX; check it with ONNX Runtime if installed.

    ``pixels``: raw test images ``(N, 64)``, the first two used as the example batch.
    Returns the largest absolute difference between ONNX Runtime's logits on all
    of ``pixels`` and ours (None without onnxruntime). Raises AssertionError if
    it exceeds 1e-5 of the logits' scale (float32 against our float64).
    """
    net = Standardized(model, stats).eval()
    tg.onnx.export(net, pixels[:2], path, input_names=["pixels"], output_names=["logits"])
    log(f"ONNX model written to {os.path.abspath(path)} (input 'pixels': raw 0-16 values, (batch, 64); "
        "output 'logits': (batch, 10))")
    try:
        import onnxruntime
    except ImportError:
        log("onnxruntime is not installed: the ONNX file was not run")
        return None
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (theirs,) = session.run(None, {"pixels": pixels.astype(np.float32)})
    with tg.no_grad():
        ours = net(pixels).data
    diff = float(np.abs(theirs - ours).max())
    assert diff <= 1e-5 * max(1.0, float(np.abs(ours).max())), f"ONNX Runtime's logits differ by {diff}"
    same = int(np.sum(theirs.argmax(axis=1) == ours.argmax(axis=1)))
    log(f"ONNX Runtime on the {len(pixels)} test images: largest logit difference {diff:.1e}, "
        f"{same}/{len(pixels)} predictions identical")
    return diff


def predict(model, X) -> np.ndarray:
    """Class indices ``(N,)`` predicted by ``model`` (in eval mode, without recording a graph)."""
    model.eval()
    with tg.no_grad():
        return np.argmax(model(X).data, axis=1)


def plot_curves(history: dict, path: str):
    """Write a PNG with the training loss and the train/test accuracy per epoch."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.plot(epochs, history["loss"], marker=".")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="training loss", yscale="log")
    ax2.plot(epochs, np.array(history["train_acc"]) * 100, marker=".", label="train")
    ax2.plot(epochs, np.array(history["test_acc"]) * 100, marker=".", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    ax2.legend()
    fig.suptitle("tinygrad_edu MLP on the 8x8 digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(args: argparse.Namespace, log=print) -> dict:
    """Train, evaluate, checkpoint, reload and plot; return the results.

    ``args`` as from :func:`parse_args`; ``log`` receives each printed line.

    Returns a dict: ``test_accuracy`` (float in [0, 1]), ``predictions``
    (test-set class indices), ``y_test``, ``history`` (per-epoch ``loss``,
    ``train_acc``, ``test_acc``), ``train_seconds``, ``checkpoint`` and
    ``plot`` (paths), ``reloaded_accuracy``, ``onnx`` (the ``--export`` path or None)
    and ``onnx_max_diff`` (see :func:`export_onnx`; None without export or onnxruntime).

    Raises AssertionError if the reloaded model does not predict exactly the same.
    """
    from tqdm import tqdm

    pixels_train, pixels_test, y_train, y_test = load_data(args.seed)
    stats = standardizer(pixels_train)
    X_train, X_test = standardize(pixels_train, stats), standardize(pixels_test, stats)
    sizes = [X_train.shape[1], *args.hidden, 10]
    model = build_model(sizes, args.seed)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    extra = {"momentum": 0.9} if args.optimizer == "sgd" else {}
    opt = OPTIMIZERS[args.optimizer](model.parameters(), lr=lr, **extra)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs) if args.schedule == "cosine" else None
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True, rng=args.seed)
    log(f"digits: {len(X_train)} training / {len(X_test)} test images of 8x8 pixels, 10 classes")
    n_params = sum(p.size for p in model.parameters())
    log(f"model: MLP {' -> '.join(map(str, sizes))} ({n_params} parameters), "
        f"{args.optimizer} lr={lr}, batch {args.batch_size}, {args.epochs} epochs, seed {args.seed}")

    history = {"loss": [], "train_acc": [], "test_acc": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        bar = tqdm(loader, desc=f"epoch {epoch:2d}/{args.epochs}", leave=False, disable=args.no_progress,
                   file=sys.stderr)
        for xb, yb in bar:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        if sched is not None:
            sched.step()
        history["loss"].append(total / len(X_train))
        history["train_acc"].append(float(np.mean(predict(model, X_train) == y_train)))
        history["test_acc"].append(float(np.mean(predict(model, X_test) == y_test)))
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            log(f"epoch {epoch:3d}: loss {history['loss'][-1]:.4f}  train acc {history['train_acc'][-1]:.2%}  "
                f"test acc {history['test_acc'][-1]:.2%}")
    seconds = time.perf_counter() - start

    predictions = predict(model, X_test)
    accuracy = float(np.mean(predictions == y_test))
    log(f"test accuracy: {accuracy:.2%} ({int(np.sum(predictions == y_test))}/{len(y_test)}) "
        f"after {args.epochs} epochs, {seconds:.1f} s of training")

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, "digits.npz")
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
             "scheduler": sched.state_dict() if sched is not None else None,
             "standardize": stats,
             "config": {"sizes": sizes, "optimizer": args.optimizer, "lr": lr, "seed": args.seed,
                        "epochs": args.epochs}}, checkpoint)
    log(f"checkpoint saved to {checkpoint}")

    # A fresh model (different init) rebuilt only from what the checkpoint holds.
    ck = tg.load(checkpoint)
    fresh = build_model(ck["config"]["sizes"], seed=args.seed + 1)
    fresh.load_state_dict(ck["model"])
    reloaded = predict(fresh, standardize(pixels_test, ck["standardize"]))
    reloaded_accuracy = float(np.mean(reloaded == y_test))
    assert reloaded_accuracy == accuracy, (reloaded_accuracy, accuracy)
    assert np.array_equal(reloaded, predictions), "the reloaded model predicts differently"
    log(f"reloaded into a fresh model: test accuracy {reloaded_accuracy:.2%}, predictions identical")

    plot = os.path.join(args.out, "digits_curves.png")
    plot_curves(history, plot)
    log(f"loss and accuracy curves written to {plot}")
    onnx_diff = export_onnx(model, stats, pixels_test, args.export, log) if args.export else None
    return {"test_accuracy": accuracy, "predictions": predictions, "y_test": y_test, "history": history,
            "train_seconds": seconds, "checkpoint": checkpoint, "plot": plot,
            "reloaded_accuracy": reloaded_accuracy, "onnx": args.export, "onnx_max_diff": onnx_diff}


def main(argv=None):
    """Command-line entry point."""
    train(parse_args(argv))


if __name__ == "__main__":
    main()
