"""The fault benchmark's scoring (repaired vs harmless vs failed, primary diagnosis, spread
over seeds) on hand-made outcomes, and the suite's contract (halves, codes, seeds, data)."""

import dataclasses
import importlib.util
import json
import statistics
import sys
from pathlib import Path

import numpy as np
import pytest

from trainwell.findings import TRAINING_CODES

HARNESS = Path(__file__).resolve().parents[1] / "benchmarks" / "faults"


def _load(name: str):
    """A module of the harness, by path; it imports its siblings as top-level modules."""
    if str(HARNESS) not in sys.path:
        sys.path.insert(0, str(HARNESS))
    if name != "__main__":
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location("fault_benchmark", HARNESS / "__main__.py")
    module = sys.modules["fault_benchmark"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


scoring = _load("_scoring")
Outcome, Result, Case = scoring.Outcome, scoring.Result, scoring.Case


def _o(score, codes=(), epoch=None, seconds=1.0):
    first = {"epoch": epoch, "step": 0} if epoch is not None else None
    return Outcome("completed", "accuracy", score, seconds, list(codes), first=first)


BASE = _o(0.95)  # 90% of it: 0.855


@pytest.mark.parametrize(
    ("detect", "repair", "expected"),
    [
        (0.90, 0.96, "harmless"),  # the fault did not hurt: not a repair
        (0.90, 0.50, "broken"),  # harmless, and repair mode made it worse
        (0.40, 0.93, "repaired"),
        (None, 0.93, "repaired"),  # a diverged detect run has no score: it hurt
        (0.40, 0.80, "failed"),  # better, but below 90% of the baseline
        (0.84, 0.87, "failed"),  # reaches 90% but only 0.03 above detect mode
        (0.40, None, "failed"),  # the repaired run diverged
    ],
)
def test_verdict_per_seed(detect, repair, expected):
    assert scoring.verdict(_o(detect), _o(repair), BASE) == expected


def test_verdict_needs_a_baseline_and_a_repair_run_to_judge_a_hurt_run():
    assert scoring.verdict(_o(0.4), _o(0.9), None) is None
    assert scoring.verdict(_o(0.4), _o(0.9), _o(None)) is None
    assert scoring.verdict(_o(0.4), None, BASE) is None  # --detect-only
    assert scoring.verdict(_o(0.9), None, BASE) == "harmless"


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        (["repaired"] * 3, "repaired"),
        (["repaired", "failed", "repaired"], "some"),  # works on some seeds only: not repaired
        (["failed"] * 3, "failed"),
        (["harmless", "repaired", "repaired"], "repaired"),  # every seed it hurt
        (["harmless", "broken", "harmless"], "harmless"),
        (["repaired", None, "repaired"], None),
    ],
)
def test_config_verdict_over_seeds(verdicts, expected):
    assert scoring.config_verdict(verdicts) == expected


def test_primary_diagnosis_and_extra_codes():
    run = _o(0.2, ["dying_relu", "vanishing_gradient", "slow_convergence"])
    assert not scoring.primary_right(run, "vanishing_gradient")
    assert scoring.primary_right(run, "dying_relu")
    assert scoring.extra_codes(run, "vanishing_gradient") == ["dying_relu", "slow_convergence"]
    assert not scoring.primary_right(_o(0.2), "dying_relu")  # nothing found


def _result(name, expect, detects, repairs, bases):
    case = Case(name, Path(f"{name}.yaml"), "dev", expect, "digits")
    return Result(case, [_o(*d) for d in detects], [_o(r) for r in repairs], bases)


def test_totals_repair_rate_spread_recall_and_precision():
    bases = [_o(0.95, seconds=2.0)] * 3
    always = _result(  # repaired on every seed, found first, in epoch 0
        "exploding_gradient-1",
        "exploding_gradient",
        [(0.3, ["exploding_gradient"], 0)] * 3,
        [0.94, 0.93, 0.95],
        bases,
    )
    once = _result(  # repaired on seed 1 only; found second on seed 0, missed on seed 2
        "dying_relu-1",
        "dying_relu",
        [(0.3, ["vanishing_gradient", "dying_relu"], 1), (0.3, ["dying_relu"], 0), (0.3, [])],
        [0.5, 0.94, 0.6],
        bases,
    )
    harmless = _result(
        "overfitting-1", "overfitting", [(0.92, ["overfitting"])] * 3, [0.93] * 3, bases
    )
    healthy = Result(
        Case("healthy-digits", Path("h.yaml"), "dev", None, "digits"),
        [_o(0.95), _o(0.95, ["oscillating_loss"]), _o(0.95)],
        [None] * 3,
        [None] * 3,
    )
    t = scoring.totals([healthy, always, once, harmless], repair=True)

    rates = [0.5, 1.0, 0.5]  # per seed: repaired / hurt configs (harmless ones excluded)
    assert t["repair_rate"] == pytest.approx(statistics.fmean(rates))
    assert t["repair_rate_sd"] == pytest.approx(statistics.stdev(rates))
    assert (t["repaired_all_seeds"], t["repaired_some_seeds"], t["repaired_no_seed"]) == (1, 1, 0)
    assert t["repaired_share"] == pytest.approx(1 / 2)
    assert t["harmless"] == ["overfitting-1"]
    assert t["recall"] == pytest.approx(8 / 9)
    assert t["missed"] == {"dying_relu-1": 1}
    assert t["primary_right"] == pytest.approx(7 / 9)
    assert (t["extra_codes"], t["extra_runs"]) == (1, 1)
    assert t["epoch_0"] == pytest.approx(4 / 6)  # exploding 3/3, dying_relu 1/3
    assert (t["false_alarm_runs"], t["healthy_runs"]) == (1, 3)
    assert t["false_alarms"] == {"healthy-digits": ["oscillating_loss"]}
    assert t["time_ratio_median"] == pytest.approx(0.5)  # repair runs 1 s, baselines 2 s


def test_spread_of_one_seed_has_no_sd():
    assert scoring.spread([0.8]) == (0.8, None)
    assert scoring.spread([]) == (None, None)


def test_the_suite_has_two_halves_and_held_out_covers_every_code():
    bench = _load("__main__")
    splits = {split: bench.discover(split) for split in bench.SPLITS}
    rounds = (
        "held-out",
        "held-out-2",
        "held-out-3",
        "held-out-4",
        "held-out-5",
        "held-out-6",
        "held-out-7",
        "held-out-8",
        "held-out-9",
        "held-out-10",
        "held-out-11",
        "held-out-12",
        "held-out-13",
        "held-out-14",
        "held-out-15",
        "held-out-16",
        "held-out-17",
        "held-out-18",
        "held-out-19",
        "held-out-20",
        "held-out-21",
        "held-out-22",
        "held-out-23",
        "held-out-24",
        "held-out-25",
        "held-out-26",
        "held-out-27",
        "held-out-28",
        "held-out-29",
        "held-out-30",
        "held-out-31",
        "held-out-32",
        "held-out-33",
        "held-out-34",
        "held-out-35",
        "held-out-36",
        "held-out-37",
        "held-out-38",
        "held-out-39",
        "held-out-40",
        "held-out-41",
        "held-out-42",
        "held-out-43",
        "held-out-44",
        "held-out-45",
        "held-out-46",
        "held-out-47",
        "held-out-48",
        "held-out-49",
        "held-out-50",
        "held-out-51",
    )
    assert set(splits) == {"dev", "dev-2", *rounds}
    dev, held_out = splits["dev"] + splits["dev-2"], [c for r in rounds for c in splits[r]]
    faulty = {
        name: [c for c in cases if c.faulty] for name, cases in (("dev", dev), ("ho", held_out))
    }
    assert len(faulty["ho"]) >= len(faulty["dev"]) > 0
    assert len(held_out) >= len(dev)  # healthy configs too: at least as many configs
    for split in rounds:
        assert {c.expect for c in splits[split] if c.faulty} == set(TRAINING_CODES)
    for cases in splits.values():  # every faulty config has its healthy baseline in its split
        baselines = {c.name for c in cases if not c.faulty}
        assert all(f"healthy-{c.dataset}" in baselines for c in cases if c.faulty)
    assert {c.seed for c in dev}.isdisjoint(c.seed + i for c in held_out for i in range(3))
    # the first two rounds keep off dev's digits; the later ones, written blind, need not
    first_rounds = splits["held-out"] + splits["held-out-2"]
    assert "digits" not in {c.dataset.removesuffix("-cnn") for c in first_rounds}


def test_seeds_move_the_run_seed_and_fixed_synthetic_seeds(tmp_path):
    bench = _load("__main__")
    config = tmp_path / "underfitting-1.yaml"
    config.write_text("seed: 7\ndata: {source: synthetic, synthetic: {seed: 3}}\n")
    case = bench._case(config, "dev")
    assert bench.seed_overrides(case, 2, tmp_path) == {"seed": 9, "data__synthetic__seed": 5}
    image = tmp_path / "healthy-shapes28.yaml"
    image.write_text("data: {source: shapes28.npz}\n")
    overrides = bench.seed_overrides(bench._case(image, "held-out"), 0, tmp_path)
    assert overrides == {"seed": 0, "data__source": str(tmp_path / "shapes28.npz")}


def test_a_config_that_trains_on_fewer_rows_is_judged_against_the_healthy_one_on_its_rows(
    tmp_path,
):
    bench = _load("__main__")
    files = {
        "healthy-wine": "seed: 1\ndata: {source: wine}\n",
        "overfitting-1": "seed: 5\ndata: {source: wine, split: {val: 0.69, test: 0.2}}\n",
        "overfitting-2": "seed: 6\ndata: {source: wine, split: {test: 0.2}}\n",  # the defaults
    }
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    cases = [bench._case(tmp_path / f"{name}.yaml", "dev") for name in files]
    [same_rows] = bench.same_rows_baselines(cases)
    assert same_rows.name == "healthy-wine@overfitting-1" and not same_rows.faulty
    assert same_rows.path == cases[0].path and same_rows.seed == 5
    overrides = bench.seed_overrides(same_rows, 1, tmp_path)
    assert overrides == {"seed": 6, "data__split__test": 0.2, "data__split__val": 0.69}

    done = {
        ("dev", name, mode, 0): _o(score)
        for name, mode, score in [
            ("healthy-wine", "detect", 0.95),
            ("healthy-wine@overfitting-1", "detect", 0.70),
            ("overfitting-1", "detect", 0.66),
            ("overfitting-1", "repair", 0.65),
            ("overfitting-2", "detect", 0.40),
            ("overfitting-2", "repair", 0.90),
        ]
    }
    few_rows, default_rows = (bench._result(case, 1, done) for case in cases[1:])
    assert few_rows.same_rows and few_rows.base[0].score == 0.70
    assert few_rows.verdicts() == ["harmless"]  # 0.66 is 94% of what its rows allow
    assert not default_rows.same_rows and default_rows.base[0].score == 0.95
    assert default_rows.verdicts() == ["repaired"]


def test_a_generated_problem_drawn_with_fewer_rows_is_judged_on_as_many(tmp_path):
    bench = _load("__main__")
    files = {
        "healthy-synthetic": "seed: 1\ndata: {source: synthetic, synthetic: {samples: 2000}}\n",
        "overfitting-1": "seed: 5\ndata: {source: synthetic, synthetic: {samples: 150}}\n",
        "underfitting-1": "seed: 6\ndata: {source: synthetic, synthetic: {samples: 2000}}\n",
    }
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    cases = [bench._case(tmp_path / f"{name}.yaml", "dev") for name in files]
    [same_rows] = bench.same_rows_baselines(cases)  # not for the config on 2,000 rows
    assert same_rows.name == "healthy-synthetic@overfitting-1" and same_rows.samples == 150
    overrides = bench.seed_overrides(same_rows, 1, tmp_path)
    assert overrides == {"seed": 6, "data__synthetic__samples": 150}
    assert bench.seed_overrides(cases[0], 0, tmp_path) == {"seed": 1}  # its own rows


def test_shapes28_is_deterministic_balanced_28x28():
    shapes = _load("_shapes")
    X, y = shapes.draw(40, seed=5)
    again, _ = shapes.draw(40, seed=5)
    assert X.shape == (40, 28, 28) and X.dtype == np.uint8
    assert np.array_equal(X, again)
    assert np.bincount(y).tolist() == [4] * 10
    means = [X[y == k].mean(axis=0) for k in range(10)]  # the classes are drawn differently
    assert min(np.abs(a - b).mean() for i, a in enumerate(means) for b in means[i + 1 :]) > 1


def test_a_crashed_repair_run_is_a_failure_and_is_listed():
    crash = Outcome("crashed: KeyError: 'betas'", "accuracy", None, 0.5, [])
    result = Result(
        Case("slow_convergence-1", Path("s.yaml"), "dev", "slow_convergence", "digits", seed=4),
        [_o(0.2, ["slow_convergence"])],
        [crash],
        [BASE],
    )
    assert result.verdicts() == ["failed"]
    t = scoring.totals([result], repair=True)
    assert t["crashed"] == ["slow_convergence-1 (repair, seed 4): crashed: KeyError: 'betas'"]
    assert t["repaired_no_seed"] == 1


def test_a_fault_free_twin_is_run_with_its_overrides_and_judges_the_repair(tmp_path):
    bench = _load("__main__")
    files = {
        "healthy-digits": "seed: 1\n",
        "dying_relu-1": "# biases at -1.5\n# twin: {model: {init: {bias: 0.0}}, train: {lr: 0.01}}"
        "\nseed: 5\nmodel: {init: {bias: -1.5}}\n",
        "dying_relu-2": "seed: 6\n",  # no twin
    }
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    cases = [bench._case(tmp_path / f"{name}.yaml", "dev") for name in files]
    assert cases[1].twin == (("model__init__bias", 0.0), ("train__lr", 0.01))
    assert cases[0].twin == cases[2].twin == ()
    [twin] = bench.twins(cases)
    assert twin.name == "twin@dying_relu-1" and not twin.faulty and twin.overrides == cases[1].twin

    done = {
        ("dev", name, mode, 0): _o(score)
        for name, mode, score in [
            ("healthy-digits", "detect", 0.95),
            ("twin@dying_relu-1", "detect", 0.70),  # the recipe itself is weaker
            ("dying_relu-1", "detect", 0.10),
            ("dying_relu-1", "repair", 0.66),
            ("dying_relu-2", "detect", 0.10),
            ("dying_relu-2", "repair", 0.66),
        ]
    }
    twinned, alone = (bench._result(case, 1, done) for case in cases[1:])
    assert twinned.verdicts() == ["failed"] and twinned.twin_verdicts() == ["repaired"]
    assert alone.twin == [] and alone.twin_verdicts() == []
    t = scoring.totals([twinned, alone], repair=True)
    assert (t["twins"], t["twin_repaired_all_seeds"], t["twin_repaired_no_seed"]) == (1, 1, 0)
    assert t["twins_under_line"] == ["dying_relu-1"]
    assert (t["twin_runs"], t["twin_alarm_runs"], t["twin_alarms"]) == (1, 0, {})
    assert json.loads(bench.as_json({"dev": [twinned]}, 1, True))["splits"]["dev"]["configs"][
        "dying_relu-1"
    ]["twin_verdicts"] == ["repaired"]
    # a twin's detect run that raises a code: an alarm on a fault-free recipe, told apart
    done[("dev", "twin@dying_relu-1", "detect", 0)] = _o(0.70, ["overfitting"])
    alarmed = bench._result(cases[1], 1, done)
    t = scoring.totals([alarmed], repair=True)
    assert (t["twin_alarm_runs"], t["twin_alarms"]) == (1, {"dying_relu-1": ["overfitting"]})
    lines = _load("_tables").goal_lines({"dev": t}, True)
    assert "  dev twin alarm: dying_relu-1: overfitting" in lines
    configs = json.loads(bench.as_json({"dev": [alarmed]}, 1, True))["splits"]["dev"]["configs"]
    assert configs["dying_relu-1"]["twin_codes"] == [["overfitting"]]


def test_a_twin_line_that_is_not_a_mapping_stops_the_benchmark(tmp_path):
    bench = _load("__main__")
    config = tmp_path / "dying_relu-1.yaml"
    config.write_text("# twin: bias 0\nseed: 5\n")
    with pytest.raises(SystemExit, match="not a mapping"):
        bench._case(config, "dev")


def test_the_tables_show_the_twin_columns_only_where_a_config_has_a_twin():
    from rich.console import Console

    tables = _load("_tables")
    case = Case("dying_relu-1", Path("d.yaml"), "dev", "dying_relu", "digits", twin=(("a", 1),))
    twinned = Result(case, [_o(0.10)], [_o(0.66)], [BASE], twin=[_o(0.70)])
    plain = Result(dataclasses.replace(case, twin=()), [_o(0.10)], [_o(0.66)], [BASE])

    def text(results):
        console = Console(width=300, record=True)
        figures = {"dev": scoring.totals(results, repair=True)}
        console.print(tables.detail_table("dev", results, True))
        console.print(tables.summary_table(figures, 1, True))
        return console.export_text(), "\n".join(tables.goal_lines(figures, True)[1:])

    shown, goals = text([twinned])
    assert "vs twin" in shown and "0.700" in shown
    assert "1 fault-free twins" in goals and "on some seed: dying_relu-1" in goals
    assert not any("twin" in part for part in text([plain]))
