"""`trainwell attack`: ε units, the attacks, the checks against gradient masking (each with a
problem case and a healthy twin), the findings, the attack/ folder and the CLI."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.data import load_splits
from trainwell.robust import Measurement
from trainwell.robust import _checks as checks
from trainwell.robust._inputs import attack_inputs
from trainwell.train import perturb

runner = CliRunner()
QUICK = {"steps": 10, "rows": 150}  # enough rows and steps to see every effect, quickly


def _fit(out: Path, source: str, **config) -> trainwell.Run:
    spec = {
        "data": {"source": source, "audit": False, **config.pop("data", {})},
        "model": {"hidden": [64]},
        "train": {"epochs": 15, "lr": 0.003},
        "doctor": {"mode": "off"},
        **config,
    }
    return trainwell.fit(spec, out=out, report=False, checkpoints=False)


@pytest.fixture(scope="module")
def digits(tmp_path_factory) -> trainwell.Run:
    """Pixels as they come (0-16): the unit of ε is then visible in the model's inputs."""
    return _fit(tmp_path_factory.mktemp("runs"), "digits", data={"standardize": False})


@pytest.fixture(scope="module")
def digits_std(tmp_path_factory) -> trainwell.Run:
    return _fit(tmp_path_factory.mktemp("runs"), "digits")


class Saturated(torch.nn.Module):
    """Masks gradients: logits so large that softmax saturates and cross-entropy's gradient
    is exactly 0 in float32, while predictions are those of `net`."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * 1e4


def _masked(run: trainwell.Run) -> trainwell.Run:
    loaded = trainwell.load_run(run.run_dir)
    loaded.model = Saturated(loaded.model)
    return loaded


# --- ε units and the ball ---------------------------------------------------------------


def test_image_eps_is_a_fraction_of_the_pixel_range_and_clamps_to_it(digits_std):
    inputs = attack_inputs(digits_std, rows=100)
    info, box = digits_std.info, inputs.box
    std, mean = np.array(info.x_std), np.array(info.x_mean)
    assert np.allclose(box.scale.numpy() * std, 16.0, rtol=1e-5)  # digits: pixels 0..16
    assert np.allclose(box.low.numpy() * std + mean, 0.0, atol=1e-4)
    assert np.allclose(box.high.numpy() * std + mean, 16.0, atol=1e-4)
    adv = perturb(digits_std.model, inputs.x, inputs.y, box, 0.1, steps=5)
    pixels = inputs.to_source(adv)
    moved = np.abs(pixels - inputs.to_source(inputs.x))
    assert pixels.min() >= -1e-3 and pixels.max() <= 16 + 1e-3
    assert moved.max() <= 1.6 + 1e-3 and moved.max() > 1.0  # ε 0.1 of 16 levels, used


def test_table_eps_is_in_standard_deviations_per_feature(tmp_path):
    run = _fit(tmp_path, "wine", data={"standardize": False})
    inputs = attack_inputs(run, rows=30)
    raw = load_splits(run.config).train.X
    assert np.allclose(inputs.box.scale.numpy(), raw.std(0), rtol=1e-3)
    assert np.allclose(inputs.box.low.numpy(), raw.min(0)) and inputs.unit == "std per feature"


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_the_ball_and_beats_fgsm(digits, norm):
    inputs = attack_inputs(digits, rows=150)
    box, eps = inputs.box, 0.1 if norm == "linf" else 1.0
    torch.manual_seed(0)
    pgd = perturb(digits.model, inputs.x, inputs.y, box, eps, norm=norm, steps=20)
    fgsm = perturb(
        digits.model, inputs.x, inputs.y, box, eps, norm=norm, steps=1, step_size=eps,
        random_start=False,
    )  # fmt: skip
    for adv in (pgd, fgsm):
        delta = ((adv - inputs.x) / box.scale).flatten(1)
        size = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
        assert float(size.max()) <= eps * (1 + 1e-4)

    def accuracy(x):
        return float((digits.model(x).argmax(1) == inputs.y).float().mean())

    assert accuracy(pgd) <= accuracy(fgsm) < accuracy(inputs.x)


# --- the checks, each with a problem and a healthy twin ---------------------------------


def _curve(name: str, accuracies: list[float]) -> list[Measurement]:
    return [
        Measurement(name, "linf", eps, 10, a)
        for eps, a in zip((0.05, 0.1, 0.2), accuracies, strict=True)
    ]


def test_checks_pass_and_fail_on_measured_accuracies():
    pgd = Measurement("pgd", "linf", 0.1, 10, 0.40)
    cases = [
        (checks.falls_with_eps(_curve("pgd", [0.8, 0.4, 0.1])), True),
        (checks.falls_with_eps(_curve("pgd", [0.8, 0.4, 0.6])), False),
        # FGSM's single step overshoots at large ε: told, not judged; PGD's rise is judged
        (
            checks.falls_with_eps(_curve("pgd", [0.1, 0.0, 0.0]) + _curve("fgsm", [0.6, 0.1, 0.2])),
            True,
        ),
        (
            checks.falls_with_eps(_curve("pgd", [0.1, 0.0, 0.2]) + _curve("fgsm", [0.6, 0.1, 0.1])),
            False,
        ),
        (
            checks.pgd_beats_fgsm(_curve("pgd", [0.7, 0.4, 0.1]) + _curve("fgsm", [0.8, 0.5, 0.2])),
            True,
        ),
        (
            checks.pgd_beats_fgsm(_curve("pgd", [0.7, 0.6, 0.1]) + _curve("fgsm", [0.8, 0.5, 0.2])),
            False,
        ),
        (checks.more_effort_no_better(pgd, Measurement("pgd", "linf", 0.1, 40, 0.38, 3)), True),
        (checks.more_effort_no_better(pgd, Measurement("pgd", "linf", 0.1, 40, 0.47, 3)), False),
        (checks.large_eps_breaks(Measurement("pgd", "linf", 1.0, 10, 0.0)), True),
        (checks.large_eps_breaks(Measurement("pgd", "linf", 1.0, 10, 0.3)), False),
        (
            checks.gradient_free_no_better(
                pgd, Measurement("random_search", "linf", 0.1, 300, 0.6)
            ),
            True,
        ),
        (
            checks.gradient_free_no_better(
                pgd, Measurement("random_search", "linf", 0.1, 300, 0.2)
            ),
            False,
        ),
    ]
    assert [check.passed for check, _ in cases] == [expected for _, expected in cases]
    assert "FGSM 10.0% at ε 0.1, 20.0% at 0.2" in cases[2][0].detail


def test_masked_gradients_make_the_evaluation_unreliable(digits):
    masked = trainwell.robust.attack(_masked(digits), **QUICK)
    failed = {c.name for c in masked.checks if not c.passed}
    assert {"gradient_free_not_stronger", "large_eps_reaches_zero"} <= failed
    codes = [f.code for f in masked.findings]
    assert "unreliable_robustness_evaluation" in codes
    pgd = next(r for r in masked.results if r.attack == "pgd" and r.eps == masked.eps)
    assert masked.robust_accuracy < pgd.accuracy - 0.2  # the worst case shows the truth


def test_a_plain_model_passes_every_check(digits):
    plain = trainwell.robust.attack(digits, **QUICK)
    assert all(c.passed for c in plain.checks), [c for c in plain.checks if not c.passed]
    assert "unreliable_robustness_evaluation" not in [f.code for f in plain.findings]


def test_vulnerability_at_attack_eps_and_not_below(digits):
    at_default = trainwell.robust.attack(digits, **QUICK)  # ε 0.1: about half the rows fall
    assert at_default.eps == 0.1
    vulnerable = [f for f in at_default.findings if f.code == "adversarial_vulnerability"]
    assert vulnerable and vulnerable[0].remedy == "adversarial_training"
    assert vulnerable[0].evidence["robust_accuracy"] < 0.5 * at_default.clean_accuracy
    small = trainwell.load_run(digits.run_dir)
    small.config.attack.eps = 0.02  # a ball the model withstands
    robust = trainwell.robust.attack(small, **QUICK)
    assert robust.robust_accuracy >= 0.5 * robust.clean_accuracy
    assert "adversarial_vulnerability" not in [f.code for f in robust.findings]


@pytest.mark.parametrize(("judged", "shown"), [(0.1, 0.1), (0.001, 0.02)])
def test_adversarial_inputs_are_kept_only_where_examples_may_be_shown(digits, judged, shown):
    """A copy of the rows per ε would hold the whole curve in memory: only the judged ε's
    and, when nothing is fooled there, the smallest ε that fooled a row are kept."""
    from trainwell.robust._attack import _predict, _Runner

    inputs = attack_inputs(digits, rows=150)
    model = digits.model.eval()
    correct = _predict(model, inputs.x) == inputs.y
    curve = sorted({judged, 0.01, 0.02, 0.05, 0.1, 0.2})
    runner = _Runner(
        model, inputs.x, inputs.y, correct, inputs.box, "linf", None, curve=curve, judged=judged
    )
    torch.manual_seed(0)
    for eps in curve:
        runner.gradient("pgd", eps, steps=10, restarts=1)
    assert runner.shown == shown
    assert set(runner.adversarial) == {judged, shown}  # not one copy per ε of the curve
    _, before, after = runner.example(shown)
    assert bool((before != after).any())


# --- the folder, the API, the CLI ---------------------------------------------------------


def test_cli_json_is_one_object_and_the_folder_holds_it(digits):
    args = ["attack", str(digits.run_dir), "--json", "--eps", "0.05,0.2", "--rows", "60"]
    result = runner.invoke(app, [*args, "--steps", "5"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {"run_dir", "clean_accuracy", "results", "checks", "findings"} <= set(summary)
    assert sorted({r["eps"] for r in summary["results"]}) == [0.05, 0.1, 0.2]  # + attack.eps
    assert {r["attack"] for r in summary["results"]} == {"fgsm", "pgd"}
    assert set(summary["results"][0]) == {"attack", "norm", "eps", "steps", "accuracy"}
    assert [c["name"] for c in summary["checks"]] == [
        "accuracy_falls_with_eps",
        "pgd_at_most_fgsm",
        "more_steps_never_help",
        "large_eps_reaches_zero",
        "gradient_free_not_stronger",
    ]
    folder = Path(summary["run_dir"]) / "attack"
    assert json.loads((folder / "attack.json").read_text()) == summary
    assert {p.name for p in folder.iterdir()} == {"attack.json", "curve.png", "examples.png"}
    assert result.stderr == ""


def test_api_rewrites_the_folder_and_the_report_shows_it(digits):
    first = trainwell.attack(digits.run_dir, rows=40, steps=3)
    second = trainwell.attack(digits.run_dir, rows=40, steps=3, norm="l2")
    assert isinstance(second, trainwell.Robustness) and second.norm == "l2"
    assert second.eps == 1.0 and first.eps == 0.1  # the documented defaults per norm
    run_dir = Path(digits.run_dir)
    assert json.loads((run_dir / "attack" / "attack.json").read_text())["norm"] == "l2"
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".attack")]
    page = (run_dir / "report.html").read_text()
    assert 'id="attack"' in page and "gradient_free_not_stronger" in page


def test_a_csv_of_your_own_reports_the_features_that_moved(tmp_path):
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["site"] = np.where(frame.index % 3 == 0, "north", "south")  # a text category
    frame.to_csv(tmp_path / "cells.csv", index=False)
    run = _fit(tmp_path, str(tmp_path / "cells.csv"))
    result = trainwell.robust.attack(run, eps=[0.5], steps=5, rows=80)
    assert result.unit == "std per feature"
    names = set(run.info.feature_names)
    assert result.moved_features and {m["feature"] for m in result.moved_features} <= names
    shares = [m["loss_share"] for m in result.moved_features]
    assert shares == sorted(shares, reverse=True) and 0 < sum(shares) <= 1 + 1e-4
    assert max(m["mean_abs_shift"] for m in result.moved_features) <= 0.5 + 1e-4
    assert (Path(run.run_dir) / "attack" / "features.png").is_file()


def test_images_of_your_own_show_adversarial_examples(tmp_path, digits):
    data = load_splits(digits.config)
    X = np.concatenate([data.train.X, data.val.X, data.test.X]).reshape(-1, 8, 8) / 16
    y = np.concatenate([data.train.y, data.val.y, data.test.y])
    np.savez(tmp_path / "pictures.npz", X=X, y=y)
    run = _fit(tmp_path, str(tmp_path / "pictures.npz"))
    assert run.info.input_shape == [1, 8, 8] and run.info.is_image
    result = trainwell.robust.attack(run, eps=[0.2], steps=5, rows=60)
    assert result.unit == "fraction of the pixel range" and result.moved_features == []
    assert (Path(run.run_dir) / "attack" / "examples.png").is_file()


@pytest.fixture(scope="module")
def regression(tmp_path_factory) -> trainwell.Run:
    return _fit(tmp_path_factory.mktemp("runs"), "diabetes", train={"epochs": 2})


@pytest.mark.parametrize(
    ("case", "args", "words"),
    [
        ("regression", [], ["regression"]),
        ("digits", ["--eps", "0"], ["positive"]),
        ("digits", ["--eps", "0.1,-1"], ["positive"]),
        ("digits", ["--eps", "a,b"], ["--eps"]),
        ("digits", ["--norm", "l3"], ["l3", "linf"]),
        ("digits", ["--steps", "0"], ["steps"]),
        ("nowhere", [], ["model.pt"]),
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_folder(request, tmp_path, case, args, words):
    run_dir = tmp_path if case == "nowhere" else Path(request.getfixturevalue(case).run_dir)
    had = (run_dir / "attack").exists()
    result = runner.invoke(app, ["attack", str(run_dir), "--json", *args])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and result.stdout == ""
    assert all(word in lines[0] for word in words), lines[0]
    assert (run_dir / "attack").exists() == had
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".attack")]
