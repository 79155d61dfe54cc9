"""Train a small convolutional network on scikit-learn's bundled 8x8 digits (1,797 scans, 10 classes).

Run:  python examples/digits_cnn.py              (defaults: --channels 32 64 --epochs 15 --seed 0)
      python examples/digits_cnn.py --seeds 0 1 2 3 4     (one run per seed, then the mean)

What it shows: ``Conv2d``, ``BatchNorm2d``, ``MaxPool2d``, ``Flatten`` and
``Dropout`` with PyTorch's NCHW layout and parameter shapes, trained in
float32. The network is::

    (N, 1, 8, 8) -> [Conv2d 3x3 pad 1 -> BatchNorm2d -> ReLU] x2 -> MaxPool2d 2   (N, C1, 4, 4)
                 -> [Conv2d 3x3 pad 1 -> BatchNorm2d -> ReLU] x2 -> MaxPool2d 2   (N, C2, 2, 2)
                 -> Flatten -> Dropout -> Linear -> 10 logits

It uses exactly the split of ``examples/digits.py`` (its ``load_data``: a
seeded, stratified 80/20 split; the seed also seeds the init and the
shuffling), so the two examples' test accuracies compare directly. Pixels
are scaled from 0-16 to 0-1; training images are shifted by up to one
pixel at random (``--shift 0`` turns that off), which the convolutions
take well and which reduces over-fitting on 1,437 images. Adam with a
cosine-annealed learning rate; the test accuracy is printed per epoch.

At the end it saves a checkpoint (model with the BatchNorm running
statistics, optimizer, scheduler, config) with ``tinygrad_edu.save``,
rebuilds a fresh model from it alone, checks that it predicts exactly the
same, and writes a PNG of the loss/accuracy curves and of the first layer's
filters. Everything goes to ``--out`` (default ``out/digits_cnn``). With
``--export cnn.onnx`` it also writes the trained network as ONNX (images
``(N, 1, 8, 8)`` scaled to [0, 1] in, 10 logits out; needs the ``onnx`` extra)
and checks it with ONNX Runtime when that is installed.

Needs the ``examples`` extra: scikit-learn (the data ships inside the
package, nothing is downloaded), tqdm and matplotlib. ``train(args)``
returns the results, so tests can import this file and run a short training.
"""
from __future__ import annotations

import argparse
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


def load_data(seed: int):
    """The split of ``examples/digits.py`` (its ``load_data``, imported from that file and reused as is).

    Returns ``(X_train, X_test, y_train, y_test)``: pixels 0-16 float64 ``(N, 64)``, labels int64.
    """
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.py")
    spec = importlib.util.spec_from_file_location("digits_example", path)
    digits = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(digits)
    return digits.load_data(seed)


def parse_args(argv=None) -> argparse.Namespace:
    """The command line: ``parse_args(["--epochs", "2"])`` for a short run."""
    p = argparse.ArgumentParser(description="Train a CNN on scikit-learn's 8x8 digits with tinygrad_edu.")
    p.add_argument("--epochs", type=int, default=15, help="passes over the training set (default 15)")
    p.add_argument("--channels", type=int, nargs=2, default=[32, 64], metavar=("C1", "C2"),
                   help="channels of the two convolution blocks (default 32 64)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate (default 3e-3)")
    p.add_argument("--weight-decay", type=float, default=1e-4, help="AdamW weight decay (default 1e-4)")
    p.add_argument("--dropout", type=float, default=0.3, help="dropout before the classifier (default 0.3)")
    p.add_argument("--shift", type=int, default=1,
                   help="random shifts of the training images by up to this many pixels (default 1; 0: none)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the split, the init, the shifts and the shuffling")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="train once per seed (each with its own split) and report the mean test accuracy")
    p.add_argument("--out", default=os.path.join("out", "digits_cnn"),
                   help="directory for the checkpoint and the plot (default out/digits_cnn)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.add_argument("--export", metavar="PATH", default=None,
                   help="also write the trained network as ONNX to PATH, e.g. cnn.onnx (needs the onnx extra)")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or min(args.channels) < 1 or args.shift < 0:
        p.error("--epochs, --batch-size and --channels must be positive, --shift non-negative")
    if not 0 <= args.dropout < 1:
        p.error("--dropout must be in [0, 1)")
    return args


def as_images(pixels) -> np.ndarray:
    """Rows of 64 pixels (0-16) -> float32 images ``(N, 1, 8, 8)`` in [0, 1] (NCHW, as PyTorch)."""
    return (np.asarray(pixels, dtype=np.float64) / 16.0).astype(DTYPE).reshape(-1, 1, 8, 8)


def random_shift(images, max_shift: int, gen) -> np.ndarray:
    """Each image moved by its own random (dy, dx) in [-max_shift, max_shift], zero-filled.

    One padded copy and one fancy-indexing gather for the whole batch.
    """
    if max_shift == 0:
        return images
    n, _, h, w = images.shape
    m = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    dy, dx = gen.integers(-m, m + 1, size=(2, n))
    rows = (m - dy)[:, None] + np.arange(h)  # (N, H): the window's rows in the padded image
    cols = (m - dx)[:, None] + np.arange(w)
    return padded[np.arange(n)[:, None, None], 0, rows[:, :, None], cols[:, None, :]][:, None]


def build_model(channels, dropout: float, seed: int) -> nn.Sequential:
    """The CNN of the module docstring, float32, initialised from ``seed``."""
    gen = np.random.default_rng(seed)
    c1, c2 = channels

    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False, rng=gen, dtype=DTYPE),
                nn.BatchNorm2d(c_out, dtype=DTYPE), nn.ReLU()]

    return nn.Sequential(
        *block(1, c1), *block(c1, c1), nn.MaxPool2d(2),
        *block(c1, c2), *block(c2, c2), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(dropout, rng=gen),
        nn.Linear(c2 * 2 * 2, 10, rng=gen, dtype=DTYPE))


def predict(model, images, batch_size: int = 512) -> np.ndarray:
    """Class indices ``(N,)`` predicted by ``model`` (in eval mode, without recording a graph)."""
    model.eval()
    with tg.no_grad():
        return np.concatenate([np.argmax(model(images[i:i + batch_size]).data, axis=1)
                               for i in range(0, len(images), batch_size)])


def plot_curves(history: dict, filters: np.ndarray, path: str):
    """Write a PNG: training loss, train/test accuracy per epoch, and the first layer's 3x3 filters."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig = plt.figure(figsize=(13, 4))
    ax1, ax2 = fig.add_subplot(1, 3, 1), fig.add_subplot(1, 3, 2)
    ax1.plot(epochs, history["loss"], marker=".")
    ax1.set(xlabel="epoch", ylabel="cross-entropy", title="training loss", yscale="log")
    ax2.plot(epochs, np.array(history["train_acc"]) * 100, marker=".", label="train")
    ax2.plot(epochs, np.array(history["test_acc"]) * 100, marker=".", label="test")
    ax2.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy",
            ylim=(max(0, 100 * min(history["test_acc"] + history["train_acc"]) - 2), 100.5))
    ax2.legend()
    # The first convolution's filters tiled into one image, 8 per row.
    k = filters[:, 0]
    cols = 8
    rows = -(-len(k) // cols)
    tile = np.full((rows * 4, cols * 4), np.nan)
    for i, f in enumerate(k):
        r, c = divmod(i, cols)
        tile[r * 4:r * 4 + 3, c * 4:c * 4 + 3] = f
    ax3 = fig.add_subplot(1, 3, 3)
    lim = np.nanmax(np.abs(tile))
    ax3.imshow(tile, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax3.set(title="first-layer 3x3 filters", xticks=[], yticks=[])
    fig.suptitle("tinygrad_edu CNN on the 8x8 digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def export_onnx(model, images, path, log=print):
    """Write ``model`` (eval semantics) to ``path`` as ONNX; check it with ONNX Runtime if installed.

    ``images``: test images ``(N, 1, 8, 8)``, the first two the example batch.
    Returns the largest absolute logit difference between ONNX Runtime and us
    on all of them (None without onnxruntime); raises AssertionError above
    1e-5 of the logits' scale.
    """
    model.eval()
    tg.onnx.export(model, images[:2], path, input_names=["images"], output_names=["logits"])
    log(f"ONNX model written to {os.path.abspath(path)} (input 'images': (batch, 1, 8, 8) in [0, 1]; "
        "output 'logits': (batch, 10))")
    try:
        import onnxruntime
    except ImportError:
        log("onnxruntime is not installed: the ONNX file was not run")
        return None
    (theirs,) = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"images": images})
    with tg.no_grad():
        ours = model(images).data
    diff = float(np.abs(theirs - ours).max())
    assert diff <= 1e-5 * max(1.0, float(np.abs(ours).max())), f"ONNX Runtime's logits differ by {diff}"
    log(f"ONNX Runtime on the {len(images)} test images: largest logit difference {diff:.1e}")
    return diff


def train(args: argparse.Namespace, log=print) -> dict:
    """Train, evaluate, checkpoint, reload and plot for ``args.seed``; return the results.

    ``args`` as from :func:`parse_args`; ``log`` receives each printed line.

    Returns a dict: ``test_accuracy`` (float in [0, 1]), ``predictions``
    (test-set class indices), ``y_test``, ``history`` (per-epoch ``loss``,
    ``train_acc``, ``test_acc``), ``train_seconds`` and ``cpu_seconds``
    (wall-clock and CPU time of the training loop), ``checkpoint`` and
    ``plot`` (paths), ``reloaded_predictions``, ``onnx`` (the ``--export`` path or
    None) and ``onnx_max_diff`` (see :func:`export_onnx`).

    Raises AssertionError if the reloaded model does not predict exactly the same.
    """
    from tqdm import tqdm

    pixels_train, pixels_test, y_train, y_test = load_data(args.seed)
    X_train, X_test = as_images(pixels_train), as_images(pixels_test)
    model = build_model(args.channels, args.dropout, args.seed)
    opt = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(X_train, y_train, batch_size=args.batch_size, shuffle=True, rng=args.seed)
    shifts = np.random.default_rng([args.seed, 1])
    log(f"digits: {len(X_train)} training / {len(X_test)} test images (1, 8, 8), 10 classes")
    n_params = sum(p.size for p in model.parameters())
    log(f"model: CNN channels {args.channels} ({n_params} parameters, float32), AdamW lr={args.lr}, "
        f"batch {args.batch_size}, {args.epochs} epochs, shifts up to {args.shift} px, seed {args.seed}")

    history = {"loss": [], "train_acc": [], "test_acc": []}
    start, cpu_start = time.perf_counter(), time.process_time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total = 0.0
        bar = tqdm(loader, desc=f"epoch {epoch:2d}/{args.epochs}", leave=False, disable=args.no_progress,
                   file=sys.stderr)
        for xb, yb in bar:
            loss = loss_fn(model(random_shift(xb, args.shift, shifts)), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            bar.set_postfix(loss=f"{loss.item():.4f}")
        sched.step()
        history["loss"].append(total / len(X_train))
        history["train_acc"].append(float(np.mean(predict(model, X_train) == y_train)))
        history["test_acc"].append(float(np.mean(predict(model, X_test) == y_test)))
        log(f"epoch {epoch:3d}: loss {history['loss'][-1]:.4f}  train acc {history['train_acc'][-1]:.2%}  "
            f"test acc {history['test_acc'][-1]:.2%}")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    predictions = predict(model, X_test)
    accuracy = float(np.mean(predictions == y_test))
    log(f"test accuracy: {accuracy:.2%} ({int(np.sum(predictions == y_test))}/{len(y_test)}) "
        f"after {args.epochs} epochs, {seconds:.1f} s of training ({cpu_seconds:.1f} s of CPU time)")

    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, f"digits_cnn_seed{args.seed}.npz")
    tg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "config": {"channels": list(args.channels), "dropout": args.dropout, "seed": args.seed,
                        "lr": args.lr, "epochs": args.epochs}}, checkpoint)
    log(f"checkpoint saved to {checkpoint}")

    # A fresh model (different init) rebuilt only from what the checkpoint holds,
    # BatchNorm's running statistics included (they are buffers in the state_dict).
    ck = tg.load(checkpoint)
    fresh = build_model(ck["config"]["channels"], ck["config"]["dropout"], seed=args.seed + 1)
    fresh.load_state_dict(ck["model"])
    reloaded = predict(fresh, X_test)
    assert np.array_equal(reloaded, predictions), "the reloaded model predicts differently"
    log("reloaded into a fresh model: predictions identical")

    plot = os.path.join(args.out, f"digits_cnn_seed{args.seed}.png")
    plot_curves(history, model[0].weight.data, plot)
    log(f"curves and filters written to {plot}")
    onnx_diff = export_onnx(model, X_test, args.export, log) if args.export else None
    return {"test_accuracy": accuracy, "predictions": predictions, "y_test": y_test, "history": history,
            "train_seconds": seconds, "cpu_seconds": cpu_seconds, "checkpoint": checkpoint, "plot": plot,
            "reloaded_predictions": reloaded, "onnx": args.export, "onnx_max_diff": onnx_diff}


def main(argv=None):
    """Command-line entry point: one run, or one per ``--seeds`` and their mean."""
    args = parse_args(argv)
    if not args.seeds:
        train(args)
        return
    accuracies = []
    for seed in args.seeds:
        print(f"--- seed {seed} ---")
        accuracies.append(train(argparse.Namespace(**{**vars(args), "seed": seed}))["test_accuracy"])
    print(f"test accuracy over seeds {args.seeds}: mean {np.mean(accuracies):.2%}, "
          f"min {np.min(accuracies):.2%}, max {np.max(accuracies):.2%} "
          f"({', '.join(f'{a:.2%}' for a in accuracies)})")


if __name__ == "__main__":
    main()
