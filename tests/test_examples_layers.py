"""Short runs of the layer examples (examples/digits_cnn.py, char_rnn.py, transformer.py).

Each trains a small configuration for a few seconds and checks that it
learns (loss down, accuracy above what chance or a context-free baseline
gives) and that its checkpoint alone rebuilds a model predicting exactly
the same; plus the data plumbing each example relies on.
"""
import importlib.util
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cnn():
    return _load("digits_cnn")


@pytest.fixture(scope="module")
def rnn():
    return _load("char_rnn")


@pytest.fixture(scope="module")
def tfm():
    return _load("transformer")


# ---- digits_cnn ----------------------------------------------------------------------------
def test_cnn_short_run_learns_and_checkpoint_round_trips(cnn, tmp_path):
    lines = []
    has_onnx = all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))
    export = ["--export", str(tmp_path / "cnn.onnx")] if has_onnx else []  # the onnx extra, when installed
    args = cnn.parse_args(["--epochs", "2", "--channels", "8", "16", "--seed", "1", "--out", str(tmp_path),
                           "--no-progress", *export])
    result = cnn.train(args, log=lines.append)
    if has_onnx:  # written, run by ONNX Runtime, and its logits checked against ours inside train
        assert result["onnx_max_diff"] is not None and (tmp_path / "cnn.onnx").stat().st_size > 0

    # Chance is 10%; two epochs of a small CNN get far above it.
    assert result["test_accuracy"] > 0.6
    assert np.mean(result["predictions"] == result["y_test"]) == result["test_accuracy"]
    assert len(result["history"]["loss"]) == 2
    assert result["history"]["loss"][1] < result["history"]["loss"][0]
    assert any("test accuracy" in line for line in lines)

    # The split is examples/digits.py's, and the checkpoint alone rebuilds the same predictor.
    digits = _load("digits")
    _, pixels_test, _, y_test = digits.load_data(1)
    assert np.array_equal(y_test, result["y_test"])
    ck = tg.load(result["checkpoint"])
    model = cnn.build_model(ck["config"]["channels"], ck["config"]["dropout"], seed=12345)
    assert not np.array_equal(cnn.predict(model, cnn.as_images(pixels_test)), result["predictions"])
    model.load_state_dict(ck["model"])
    assert np.array_equal(cnn.predict(model, cnn.as_images(pixels_test)), result["predictions"])
    assert model[0].weight.dtype == np.float32 and model[0].weight.shape == (8, 1, 3, 3)
    assert pathlib.Path(result["plot"]).read_bytes()[:8] == PNG


def test_cnn_random_shift_moves_each_image_by_at_most_one_pixel(cnn):
    gen = np.random.default_rng(0)
    images = gen.random((40, 1, 8, 8)).astype(np.float32) + 1  # no zeros: every shift is visible
    shifted = cnn.random_shift(images, 1, np.random.default_rng(1))
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    moves = set()
    for i in range(len(images)):
        found = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                 if np.array_equal(shifted[i, 0], padded[i, 0, 1 - dy:9 - dy, 1 - dx:9 - dx])]
        assert len(found) == 1
        moves.add(found[0])
    assert len(moves) > 3  # the shifts vary
    assert cnn.random_shift(images, 0, gen) is images


def test_cnn_bad_flags_exit(cnn):
    for argv in (["--epochs", "0"], ["--channels", "8"], ["--dropout", "1"]):
        with pytest.raises(SystemExit):
            cnn.parse_args(argv)


# ---- char_rnn ------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_char_rnn_short_run_learns_and_checkpoint_round_trips(rnn, tmp_path, cell):
    lines = []
    args = rnn.parse_args(["--cell", cell, "--chars", "30000", "--epochs", "2", "--hidden", "48",
                           "--embed", "16", "--seq-len", "32", "--batch-size", "16", "--lr", "1e-2",
                           "--eval-every", "20", "--sample-len", "40", "--temperature", "0.7",
                           "--out", str(tmp_path), "--no-progress"])
    result = rnn.train(args, log=lines.append)

    # Learns: the held-out loss beats what character frequencies alone give.
    bits = result["history"]["train_bits"]
    assert np.mean(bits[-10:]) < np.mean(bits[:10]) - 0.5
    assert result["val_bits"] < result["unigram_bits"] - 0.3
    assert result["history"]["val_bits"][-1] < result["history"]["val_bits"][0]
    assert all(np.isfinite(result["history"]["grad_norm"]))
    sample = result["samples"][0.7]
    assert sample.startswith("The ") and len(sample) == 44 and set(sample) <= set(result["vocab"])
    assert any("bits/char" in line for line in lines)

    # The checkpoint alone rebuilds a model computing exactly the same logits.
    ck = tg.load(result["checkpoint"])
    c = ck["config"]
    assert c["vocab"] == result["vocab"] and c["cell"] == cell
    model = rnn.CharModel(len(c["vocab"]), c["embed"], c["hidden"], c["layers"], c["cell"], seed=99)
    model.load_state_dict(ck["model"])
    model.eval()
    with tg.no_grad():
        logits = model(result["val_ids"][None, :256])[0].data
    assert logits.dtype == np.float32
    assert np.array_equal(logits, result["val_logits"])
    assert pathlib.Path(result["plot"]).read_bytes()[:8] == PNG


def test_char_rnn_windows_cover_the_streams_once_shifted_by_one(rnn):
    ids = np.arange(1003)
    data = rnn.streams(ids, 4)
    assert data.shape == (4, 250) and np.array_equal(data.ravel(), ids[:1000])
    pairs = list(rnn.windows(data, 64))
    assert [x.shape[1] for x, _ in pairs] == [64, 64, 64, 57]
    assert np.array_equal(np.concatenate([x for x, _ in pairs], axis=1), data[:, :-1])
    assert np.array_equal(np.concatenate([y for _, y in pairs], axis=1), data[:, 1:])


def test_char_rnn_state_is_detached_between_windows(rnn):
    model = rnn.CharModel(10, 4, 6, 1, "lstm", seed=0)
    _, state = model(np.zeros((2, 5), dtype=np.int64))
    assert all(s.requires_grad for s in state)
    cut = rnn.detach(state)
    assert all(not s.requires_grad for s in cut)
    assert all(np.array_equal(a.data, b.data) for a, b in zip(state, cut))


def test_char_rnn_text_is_bundled_and_unigram_baseline_is_an_entropy(rnn):
    text = rnn.load_text()
    assert len(text) > 200_000 and rnn.load_text(1000) == text[:1000]
    ids = np.array([ord(ch) % 7 for ch in text[:5000]])
    p = np.bincount(ids, minlength=7) / len(ids)
    # On its own training text (and ignoring add-one smoothing) it is close to the entropy.
    assert rnn.unigram_entropy(ids, ids, 7) == pytest.approx(-np.sum(p * np.log(p)), rel=1e-2)


# ---- transformer ---------------------------------------------------------------------------
def test_transformer_short_run_learns_and_checkpoint_round_trips(tfm, tmp_path):
    lines = []
    args = tfm.parse_args(["--task", "reverse", "--length", "6", "--train-size", "3000", "--test-size", "300",
                           "--epochs", "2", "--d-model", "32", "--heads", "2", "--layers", "1", "--ff", "64",
                           "--warmup", "20", "--seed", "3", "--out", str(tmp_path), "--no-progress"])
    result = tfm.train(args, log=lines.append)

    # Reversing random digits: any per-position guess without looking at the input gets 10%.
    assert result["test_digit"] > 0.5
    assert result["history"]["test_digit"][-1] == result["test_digit"]
    loss = result["history"]["loss"]
    assert np.mean(loss[-10:]) < 0.7 * np.mean(loss[:10])
    assert np.array_equal(result["Y_test"], result["X_test"][:, ::-1])
    assert any("exact-string accuracy" in line for line in lines)

    ck = tg.load(result["checkpoint"])
    c = ck["config"]
    model = tfm.DigitTransformer(c["length"], c["d_model"], c["heads"], c["layers"], c["ff"], c["dropout"],
                                 seed=7)
    model.load_state_dict(ck["model"])
    assert np.array_equal(tfm.predict(model, result["X_test"]), result["predictions"])
    assert pathlib.Path(result["plot"]).read_bytes()[:8] == PNG


def test_transformer_data_held_out_and_targets(tfm):
    X_train, Y_train, X_test, Y_test = tfm.make_data("sort", 5, 2000, 500, seed=0)
    assert X_train.shape == Y_train.shape == (2000, 5) and X_test.shape == (500, 5)
    assert np.array_equal(Y_train, np.sort(X_train, axis=1))
    assert np.array_equal(Y_test, np.sort(X_test, axis=1))
    test_rows = {row.tobytes() for row in X_test}
    assert len(test_rows) == 500
    assert not any(row.tobytes() in test_rows for row in X_train)
    again = tfm.make_data("sort", 5, 2000, 500, seed=0)
    assert np.array_equal(again[0], X_train) and np.array_equal(again[2], X_test)
    with pytest.raises(ValueError):
        tfm.make_data("sort", 2, 10, 80, seed=0)  # only 100 strings of 2 digits


def test_transformer_bad_flags_exit(tfm):
    for argv in (["--d-model", "30", "--heads", "4"], ["--task", "copy"], ["--epochs", "0"]):
        with pytest.raises(SystemExit):
            tfm.parse_args(argv)
