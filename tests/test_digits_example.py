"""A short run of examples/digits.py: it learns, and its checkpoint reproduces the predictions exactly."""
import importlib.util
import pathlib

import numpy as np
import pytest

import tinygrad_edu as tg

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "digits.py"


@pytest.fixture(scope="module")
def digits():
    spec = importlib.util.spec_from_file_location("digits_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_short_run_learns_and_checkpoint_round_trips(digits, tmp_path, optimizer):
    lines = []
    args = digits.parse_args(["--epochs", "3", "--hidden", "32", "--optimizer", optimizer, "--seed", "1",
                              "--out", str(tmp_path), "--no-progress"])
    result = digits.train(args, log=lines.append)

    # Learns: chance is 10%; three epochs of a small MLP already get far above it.
    assert result["test_accuracy"] > 0.85
    assert np.mean(result["predictions"] == result["y_test"]) == result["test_accuracy"]
    assert len(result["history"]["loss"]) == 3
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]
    assert any("test accuracy" in line for line in lines)

    # The checkpoint alone rebuilds a model that predicts exactly the same (checked here independently).
    ck = tg.load(result["checkpoint"])
    model = digits.build_model(ck["config"]["sizes"], seed=12345)
    model.load_state_dict(ck["model"])
    _, pixels_test, _, y_test = digits.load_data(ck["config"]["seed"])
    assert np.array_equal(y_test, result["y_test"])
    predictions = digits.predict(model, digits.standardize(pixels_test, ck["standardize"]))
    assert np.array_equal(predictions, result["predictions"])
    assert result["reloaded_accuracy"] == result["test_accuracy"]

    png = pathlib.Path(result["plot"])
    assert png.parent == tmp_path and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_split_is_seeded_and_held_out(digits):
    a_train, a_test, ya_train, ya_test = digits.load_data(0)
    b_train, b_test, _, _ = digits.load_data(0)
    assert np.array_equal(a_test, b_test) and len(a_test) == 360 and len(a_train) == 1437
    assert not np.array_equal(a_test, digits.load_data(1)[1])
    assert set(ya_test.tolist()) == set(range(10))
    # no test image is also a training image (the data set has no exact duplicates across the split)
    train_rows = {row.tobytes() for row in a_train}
    assert sum(row.tobytes() in train_rows for row in a_test) == 0


def test_bad_flags_exit(digits):
    with pytest.raises(SystemExit):
        digits.parse_args(["--optimizer", "lbfgs"])
    with pytest.raises(SystemExit):
        digits.parse_args(["--epochs", "0"])


def test_export_flag_writes_an_onnx_file_that_onnx_runtime_agrees_with(digits, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    lines = []
    path = tmp_path / "model.onnx"
    args = digits.parse_args(["--epochs", "1", "--hidden", "16", "--seed", "2", "--out", str(tmp_path / "out"),
                              "--no-progress", "--export", str(path)])
    result = digits.train(args, log=lines.append)
    assert result["onnx"] == str(path) and any(str(path) in line for line in lines)
    onnx.checker.check_model(onnx.load(str(path)))
    assert result["onnx_max_diff"] is not None and result["onnx_max_diff"] < 1e-4
    # Independently: the file takes raw pixels and predicts what the trained checkpoint predicts.
    ck = tg.load(result["checkpoint"])
    model = digits.build_model(ck["config"]["sizes"], seed=99)
    model.load_state_dict(ck["model"])
    _, pixels_test, _, _ = digits.load_data(2)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"pixels": pixels_test[:7].astype(np.float32)})
    with tg.no_grad():
        ours = model(digits.standardize(pixels_test[:7], ck["standardize"])).data
    np.testing.assert_allclose(logits, ours, rtol=1e-5, atol=1e-5 * np.abs(ours).max())
