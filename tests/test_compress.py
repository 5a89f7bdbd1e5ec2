"""`trainwell compress` end to end: every variant written, verified numerically against
PyTorch, loadable (`load_run`, `OnnxModel`), atomically replaced, and on the page."""

import json
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

import trainwell
from trainwell.compress import _compress
from trainwell.data import load_splits
from trainwell.report import write_report

NAMES = ["fp32", "onnx", "int8", "pruned", "pruned-onnx", "pruned-int8"]


def _fit(out: Path, **model) -> Path:
    config = {
        "data": {"source": "digits", "audit": False},
        "model": model,
        "train": {"epochs": 4, "lr": 0.003},
        "doctor": {"mode": "off"},
    }
    return trainwell.fit(config, out=out, report=False).run_dir


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory) -> Path:
    return _fit(tmp_path_factory.mktemp("runs"), arch="mlp", hidden=[32, 32])


@pytest.fixture(scope="module")
def compressed(mlp_run):
    return trainwell.compress(mlp_run, prune=0.5, finetune=1, rounds=2)


def _test_rows(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    run = trainwell.load_run(run_dir)
    test = load_splits(run.config).test
    return test.X, test.y


def test_every_variant_is_written_verified_and_counted(mlp_run, compressed):
    assert [v.name for v in compressed.variants] == NAMES
    v = {variant.name: variant for variant in compressed.variants}
    out = mlp_run / "compressed"
    assert sorted(p.name for p in out.iterdir()) == sorted([*NAMES[1:], "compress.json"])
    assert not list(mlp_run.glob(".compressed-*"))  # no staging left behind
    assert json.loads((out / "compress.json").read_text()) == json.loads(
        json.dumps(compressed.to_dict())
    )
    # ONNX fp32 computes what PyTorch computes
    assert v["onnx"].max_abs_diff < 1e-4 and v["onnx"].agreement == 1.0
    assert v["pruned-onnx"].max_abs_diff < 1e-4
    # int8: a smaller file (a quarter of the weights, plus the graph: this network is tiny)
    assert v["int8"].bytes < 0.6 * v["onnx"].bytes and v["int8"].agreement >= 0.97
    # pruning removed half the units: a real, smaller dense network
    assert v["pruned"].parameters < 0.5 * v["fp32"].parameters
    assert v["pruned"].bytes < 0.7 * v["fp32"].bytes  # model.pt also holds config and data.json
    assert compressed.pruning["widths"] == {"net.1": [32, 16], "net.3": [32, 16]}
    for variant in compressed.variants:
        assert set(variant.latency_ms) == {"1", "64"} and variant.latency_ms["1"] > 0
        assert variant.file.is_file() and variant.bytes == variant.file.stat().st_size
    failed = [c for c in compressed.checks if c.name == "faithful export" and not c.passed]
    assert not failed
    assert not [f for f in compressed.findings if f.code == "unfaithful_export"]


def test_the_pruned_model_is_a_run_that_load_run_opens(mlp_run, compressed):
    pruned = trainwell.load_run(mlp_run / "compressed" / "pruned")
    assert pruned.config.model.hidden == [16, 16]
    assert pruned.summary()["run_dir"] == str(mlp_run / "compressed" / "pruned")
    X, y = _test_rows(mlp_run)
    accuracy = float((pruned.predict(X) == y).mean())
    assert accuracy == pytest.approx(compressed.variant("pruned").accuracy)
    assert compressed.pruning["finetune"]["epochs"] == 1
    assert (mlp_run / "compressed" / "pruned" / "metrics.jsonl").read_text().count("\n") == 1


def test_onnx_model_predicts_like_the_run_from_raw_rows(mlp_run, compressed):
    X, y = _test_rows(mlp_run)
    expected = trainwell.load_run(mlp_run).predict(X)
    model = trainwell.OnnxModel(mlp_run / "compressed" / "onnx")
    np.testing.assert_array_equal(model.predict(X), expected)
    probabilities = model.predict_proba(X[:5])
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    # a DataFrame is put in data.json's feature order by column name
    names = model.info.feature_names
    frame = pd.DataFrame(X, columns=names)[names[::-1]]
    np.testing.assert_array_equal(model.predict(frame), expected)
    int8 = trainwell.OnnxModel(mlp_run / "compressed" / "int8" / "model.onnx")
    assert float((int8.predict(X) == y).mean()) == pytest.approx(
        compressed.variant("int8").accuracy
    )


def test_the_run_page_gets_a_compression_section(mlp_run, compressed):
    page = (mlp_run / "report.html").read_text()
    assert "Compression and export" in page and "pruned-int8" in page
    assert (mlp_run / "compressed" / "pruned" / "report.html").is_file()


def test_a_failure_half_way_leaves_the_previous_result_untouched(mlp_run, compressed, monkeypatch):
    before = (mlp_run / "compressed" / "compress.json").read_text()

    def broken(*args, **kwargs):
        raise RuntimeError("quantizer crashed")

    monkeypatch.setattr(_compress, "quantize_dynamic", broken)
    with pytest.raises(RuntimeError, match="quantizer crashed"):
        trainwell.compress(mlp_run, rounds=1, report=False)
    assert (mlp_run / "compressed" / "compress.json").read_text() == before
    assert not list(mlp_run.glob(".compressed-*"))


def test_an_export_that_differs_from_the_model_is_reported(mlp_run, monkeypatch):
    real = _compress.export_onnx

    def drifting(model, example, path):  # exports a model whose weights moved a little
        copy = type(model)(list(model.net))
        copy.load_state_dict({k: v + 0.01 for k, v in model.state_dict().items()})
        real(copy, example, path)

    monkeypatch.setattr(_compress, "export_onnx", drifting)
    result = trainwell.compress(mlp_run, quantize=None, rounds=1, report=False)
    assert [v.name for v in result.variants] == ["fp32", "onnx"]
    check = next(c for c in result.checks if c.variant == "onnx")
    assert not check.passed
    assert [f.code for f in result.findings] == ["unfaithful_export"]
    page = (write_report(mlp_run)).read_text()  # the finding's card is on the run's page
    assert "Unfaithful export" in page and "Do not deploy it" in page


def test_without_fine_tuning_the_pruned_weights_are_kept_as_cut(mlp_run):
    run = trainwell.load_run(mlp_run)  # a Run works as well as its directory
    result = trainwell.compress(run, prune=0.25, finetune=0, quantize=None, rounds=1)
    assert [v.name for v in result.variants] == ["fp32", "onnx", "pruned", "pruned-onnx"]
    pruned = trainwell.load_run(mlp_run / "compressed" / "pruned")
    assert pruned.config.model.hidden == [24, 24] and pruned.metrics == {"epochs": 0}
    assert not (mlp_run / "compressed" / "pruned" / "metrics.jsonl").exists()
    X, y = _test_rows(mlp_run)
    assert float((pruned.predict(X) == y).mean()) == pytest.approx(
        result.variant("pruned").accuracy
    )


def test_onnxruntime_is_timed_with_as_many_threads_as_pytorch(mlp_run, monkeypatch):
    asked = []

    def session(path, threads=1):
        asked.append(threads)
        return real(path, threads)

    real = _compress.onnx_session
    monkeypatch.setattr(_compress, "onnx_session", session)
    result = trainwell.compress(mlp_run, quantize=None, threads=2, rounds=1, report=False)
    assert asked == [2] and result.threads == 2
    assert torch.get_num_threads() == 1  # PyTorch's count is restored after timing


def test_your_own_module_is_exported_but_not_pruned(tmp_path):
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh())
            self.head = torch.nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.body(x))

    config = {"data": {"source": "iris", "audit": False}, "train": {"epochs": 2}}
    run_dir = trainwell.fit(config, model=Net(), out=tmp_path, report=False).run_dir
    with pytest.raises(trainwell.InputError, match="your own nn\\.Module"):
        trainwell.compress(run_dir)
    run = trainwell.load_run(run_dir, Net())
    with pytest.raises(trainwell.InputError, match="pruning needs a trainwell mlp or cnn"):
        trainwell.compress(run, prune=0.5)
    result = trainwell.compress(run, quantize=None, rounds=1, report=False)
    assert result.variant("onnx").max_abs_diff < 1e-4
    assert not (run_dir / "compressed" / "pruned").exists()


def test_a_module_torch_export_cannot_trace_is_one_line(tmp_path):
    """A Python `if` on a tensor's value: the exporter's error (26 lines of FX graph) is one
    line naming what it could not guard on, and no result is left."""

    class Branchy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Linear(4, 8), torch.nn.Linear(8, 3)

        def forward(self, x):
            h = torch.relu(self.a(x))
            if h.mean() > 10:
                h = h * 0
            return self.b(h)

    config = {"data": {"source": "iris", "audit": False}, "train": {"epochs": 1}}
    run_dir = trainwell.fit(config, model=Branchy(), out=tmp_path, report=False).run_dir
    with pytest.raises(trainwell.InputError) as caught:
        trainwell.compress(trainwell.load_run(run_dir, Branchy()), quantize=None, rounds=1)
    message = str(caught.value)
    assert "cannot be exported to ONNX (GuardOnDataDependentSymNode" in message
    assert "\n" not in message and "\x1b" not in message
    assert not (run_dir / "compressed").exists()


@pytest.mark.slow
def test_a_cnn_gets_static_int8_and_loses_channels(tmp_path):
    run_dir = _fit(tmp_path, arch="cnn", channels=[8, 8], hidden=[16])
    result = trainwell.compress(run_dir, prune=0.5, finetune=1, rounds=1, report=False)
    v = {variant.name: variant for variant in result.variants}
    ops = {node.op_type for node in onnx.load(v["int8"].file).graph.node}
    assert "QLinearConv" in ops  # calibrated static quantization, integer convolutions
    assert v["onnx"].max_abs_diff < 1e-4 and v["onnx"].agreement == 1.0
    assert result.pruning["widths"]["net.0"] == [8, 4]
    assert result.pruning["widths"]["net.3"] == [8, 4]
    pruned = trainwell.load_run(run_dir / "compressed" / "pruned")
    assert pruned.config.model.channels == [4, 4] and pruned.config.model.hidden == [8]
    X, _ = _test_rows(run_dir)
    onnx_model = trainwell.OnnxModel(run_dir / "compressed" / "pruned-onnx")
    np.testing.assert_array_equal(onnx_model.predict(X), pruned.predict(X))
    assert torch.get_num_threads() == 1  # the timing restored the thread count


@pytest.mark.slow
def test_a_regression_run_on_your_own_csv_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["colour"] = rng.choice(["red", "blue"], size=300)  # a text category: one-hot
    frame["price"] = 3 * X[:, 0] - X[:, 1] + (frame["colour"] == "red") + 10
    source = tmp_path / "prices.csv"
    frame.to_csv(source, index=False)
    config = {
        "data": {"source": str(source), "target": "price", "audit": False},
        "model": {"hidden": [16, 16]},
        "train": {"epochs": 5, "lr": 0.01},
    }
    run_dir = trainwell.fit(config, out=tmp_path / "runs", report=False).run_dir
    result = trainwell.compress(run_dir, prune=0.5, finetune=1, rounds=1, report=False)
    v = {variant.name: variant for variant in result.variants}
    assert v["onnx"].accuracy is None and v["onnx"].agreement is None  # regression
    assert v["onnx"].max_abs_diff < 1e-4 and v["pruned-onnx"].max_abs_diff < 1e-4
    rows, _ = _test_rows(run_dir)
    expected = trainwell.load_run(run_dir).predict(rows)
    predicted = trainwell.OnnxModel(run_dir / "compressed" / "onnx").predict(rows)
    np.testing.assert_allclose(predicted, expected, rtol=1e-4, atol=1e-4)
    assert trainwell.load_run(run_dir / "compressed" / "pruned").predict(rows).shape == (len(rows),)
    # the file's own rows, its columns in another order and its text column as it is: read
    # by name and encoded as in training (by position they predicted silently wrong values)
    raw = frame.iloc[:40][["colour", "price", "d", "c", "b", "a"]]
    in_order = trainwell.load_run(run_dir).predict(pd.get_dummies(
        frame.iloc[:40], columns=["colour"], prefix_sep="=", dtype=float
    )[trainwell.load_run(run_dir).info.feature_names].to_numpy())  # fmt: skip
    for model in (
        trainwell.load_run(run_dir),
        trainwell.OnnxModel(run_dir / "compressed" / "onnx"),
    ):
        np.testing.assert_allclose(model.predict(raw), in_order, rtol=1e-4, atol=1e-4)
        with pytest.raises(
            trainwell.InputError, match="lacks 1 of the model's feature columns: 'b'"
        ):
            model.predict(raw.drop(columns="b"))
