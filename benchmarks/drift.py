"""`trainwell monitor`'s statistics on generated data, many seeds, against the naive fixed
thresholds the issue names (PSI >= 0.1 on any feature; KS/χ² at α = 0.05 on every feature
with no correction) and, when `evidently` is installed, Evidently's default drift preset.

1. False alarms: windows drawn from the reference distribution (20 features: 17 numeric,
   some skewed, and 3 categorical), 5,000 reference rows; the share of windows that raise a
   dataset-level alarm. Goal: <= 5% at every window size.
2. Power: a mean shift of s standard deviations in one feature. Goal: >= 95% at 0.2σ and
   1,000 rows; the whole curve against shift and window size.
3. A covariance-only shift (two features correlated 0.8 in the reference, independent now;
   every marginal unchanged): the per-feature tests alone against the whole monitor (+MMD).
4. Accuracy without labels (CBPE on temperature-scaled probabilities) of a trained network
   under covariate shift (goal: within 3 points of the true accuracy), and under concept
   drift, where it cannot work.
5. Retraining on a drifting stream (the boundary x1 = sin(2 x0) seen first around
   x0 = -1.5, then around +1.5): the share of the accuracy lost to drift that the promoted
   challenger wins back (goal >= 90%), and a challenger trained on corrupted new labels
   (45% flipped) must be refused.

    python benchmarks/drift.py            # a few minutes on 2 cores
    python benchmarks/drift.py --quick    # fewer repeats
"""

from __future__ import annotations

import os

# small matrices: BLAS threads only wait on each other on shared cores (4x slower here)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

import trainwell
from trainwell.deploy.monitor._judge import Column, Judgement, columns_of, judge, judge_inputs
from trainwell.deploy.monitor._reference import load_reference
from trainwell.deploy.monitor._stats import BINS, numeric_bins, psi, shares

NUMERIC, CATEGORICAL, LEVELS = 17, 3, 4
REFERENCE_ROWS = 5000
WINDOWS = (30, 100, 1000, 5000)
COLUMNS = [Column(f"x{i}", [i], False) for i in range(NUMERIC)] + [
    Column(f"c{k}", list(range(NUMERIC + LEVELS * k, NUMERIC + LEVELS * (k + 1))), True)
    for k in range(CATEGORICAL)
]


def table_rows(n: int, rng: np.random.Generator, shift: float = 0.0, decorrelate=False):
    """Rows like a model's inputs: numeric columns (x0..x12 normal, x13..x16 log-normal,
    x0 and x1 correlated 0.8 unless `decorrelate`), then one-hot categoricals."""
    Z = rng.normal(size=(n, NUMERIC))
    second = rng.normal(size=n) if decorrelate else 0.8 * Z[:, 0] + 0.6 * Z[:, 1]
    Z[:, 1] = second
    Z[:, 13:] = np.exp(0.5 * Z[:, 13:])
    Z[:, 5] += shift  # the shifted feature
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    codes = rng.choice(LEVELS, size=(n, CATEGORICAL), p=probs)
    onehot = np.eye(LEVELS)[codes].reshape(n, -1)
    return np.concatenate([Z, onehot], axis=1)


def alarms(ref: np.ndarray, cur: np.ndarray, rng: np.random.Generator) -> dict[str, bool]:
    """Each arm's dataset-level verdict on one window."""
    verdict = Judgement(len(cur), alpha=0.05)
    judge_inputs(verdict, COLUMNS, ref, cur, rng, effects=False)
    result = {
        "trainwell": verdict.data_drift,
        "features only": bool(verdict.drifted),
        "uncorrected α": any(t.p_value <= 0.05 for t in verdict.columns),
        "PSI ≥ 0.1": any(_psi(c, ref, cur) >= 0.1 for c in COLUMNS),
    }
    if EVIDENTLY:
        result["evidently"] = _evidently(ref, cur)
    return result


def _psi(column: Column, ref: np.ndarray, cur: np.ndarray) -> float:
    r, c = column.values(ref), column.values(cur)
    if column.categorical:
        size = LEVELS + 1
        return float(
            psi(shares(np.bincount(r, minlength=size)), shares(np.bincount(c, minlength=size)))
        )
    edges = numeric_bins(r)
    size = len(edges) + 1
    counts = [np.bincount(np.searchsorted(edges, v), minlength=size) for v in (r, c)]
    return float(psi(shares(counts[0]), shares(counts[1])))


def _evidently_importable() -> str | None:
    """None when Evidently can run here, else why not (0.7.23 does not import with pandas 3)."""
    try:
        from evidently import Report  # noqa: F401
    except ImportError as exc:
        return (
            str(exc).splitlines()[0] if importlib.util.find_spec("evidently") else "not installed"
        )
    return None


EVIDENTLY_MISSING = _evidently_importable()
EVIDENTLY = EVIDENTLY_MISSING is None


def _evidently(ref: np.ndarray, cur: np.ndarray) -> bool:  # pragma: no cover - optional
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def frame(X):
        return pd.DataFrame({c.name: c.values(X) for c in COLUMNS})

    snapshot = Report([DataDriftPreset()]).run(frame(cur), frame(ref))
    for metric in snapshot.dict()["metrics"]:
        value = metric.get("value")
        if (
            isinstance(value, dict)
            and "share" in value
            and "DriftedColumnsCount" in str(metric.get("metric_id", ""))
        ):
            return value["share"] >= 0.5
    return False


def rate(runs: list[dict[str, bool]], arm: str) -> float:
    return float(np.mean([r[arm] for r in runs]))


def false_alarms(console: Console, repeats: int) -> bool:
    table = Table(title=f"1. false-alarm rate on clean windows ({repeats} per size; goal ≤ 5%)")
    arms = ["trainwell", "uncorrected α", "PSI ≥ 0.1"] + (["evidently"] if EVIDENTLY else [])
    for column in ["window", *arms, "uncorrected / trainwell"]:
        table.add_column(column, justify="right")
    ok = True
    for n in WINDOWS:
        rng = np.random.default_rng(n)
        runs = []
        for _ in range(repeats):
            ref = table_rows(REFERENCE_ROWS, rng)
            runs.append(alarms(ref, table_rows(n, rng), rng))
        ours = rate(runs, "trainwell")
        ok &= ours <= 0.05 + 1.96 * np.sqrt(0.05 * 0.95 / repeats)  # within sampling error
        naive = rate(runs, "uncorrected α")
        ratio = f"{naive / ours:.1f}x" if ours else "inf"
        table.add_row(str(n), *(f"{100 * rate(runs, a):.1f}%" for a in arms), ratio)
    console.print(table)
    return ok


def power(console: Console, repeats: int) -> bool:
    shifts, windows = (0.05, 0.1, 0.2, 0.3, 0.5), (100, 1000, 5000)
    table = Table(title=f"2. power: mean shift of one feature, in σ ({repeats} windows each)")
    table.add_column("window", justify="right")
    for s in shifts:
        table.add_column(f"{s}σ", justify="right")
    table.add_column("PSI ≥ 0.1 at 0.2σ", justify="right")
    goal = 0.0
    for n in windows:
        rng = np.random.default_rng(100 + n)
        cells, naive = [], 0.0
        for s in shifts:
            runs = [
                alarms(table_rows(REFERENCE_ROWS, rng), table_rows(n, rng, shift=s), rng)
                for _ in range(repeats)
            ]
            cells.append(f"{100 * rate(runs, 'trainwell'):.0f}%")
            if s == 0.2:
                naive = rate(runs, "PSI ≥ 0.1")
                goal = rate(runs, "trainwell") if n == 1000 else goal
        table.add_row(str(n), *cells, f"{100 * naive:.0f}%")
    console.print(table)
    console.print(f"goal: ≥ 95% at 0.2σ and 1,000 rows: {100 * goal:.0f}%")
    return goal >= 0.95


def covariance(console: Console, repeats: int) -> None:
    table = Table(title=f"3. covariance-only shift: x0, x1 correlated 0.8 -> 0 ({repeats} windows)")
    for column in ("window", "per-feature tests (Holm)", "trainwell (+ MMD)"):
        table.add_column(column, justify="right")
    for n in (100, 1000, 5000):
        rng = np.random.default_rng(200 + n)
        runs = [
            alarms(table_rows(REFERENCE_ROWS, rng), table_rows(n, rng, decorrelate=True), rng)
            for _ in range(repeats)
        ]
        table.add_row(
            str(n),
            f"{100 * rate(runs, 'features only'):.0f}%",
            f"{100 * rate(runs, 'trainwell'):.0f}%",
        )
    console.print(table)


def _truth(X: np.ndarray, concept: bool = False) -> np.ndarray:
    """P(y = 1 | x): the boundary at x0 = 1, tilted by x1 (flipped under concept drift)."""
    return 1 / (1 + np.exp(-(3 * (X[:, 0] - 1) + (-2 if concept else 2) * X[:, 1])))


def label_free(console: Console, out: Path) -> bool:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6000, 5)).astype(np.float32)
    y = (rng.random(len(X)) < _truth(X)).astype(int)
    train = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]).assign(label=y)
    train.to_csv(out / "train.csv", index=False)
    run = trainwell.fit(
        {
            "seed": 0,
            "data": {"source": str(out / "train.csv")},
            "model": {"hidden": [32, 32]},
            "train": {"epochs": 30, "early_stopping": {"monitor": "val_loss", "patience": 5}},
        },
        out=out,
        report=False,
    )
    reference = load_reference(run)
    columns = columns_of(run.info)
    table = Table(title="4. accuracy without labels (CBPE, temperature-scaled), 5,000 rows each")
    for column in ("shift", "true accuracy", "estimated", "error", "drift found"):
        table.add_column(column, justify="right")
    worst = 0.0
    cases = [(f"x0 +{d}σ", d, 0.0, False) for d in (0.0, 0.5, 1.0, 1.5)]
    cases += [("x2 +1σ (irrelevant)", 0.0, 1.0, False), ("concept drift", 0.0, 0.0, True)]
    for name, d0, d2, concept in cases:
        Xs = rng.normal(size=(5000, 5)).astype(np.float32)
        Xs[:, 0] += d0
        Xs[:, 2] += d2
        ys = (rng.random(len(Xs)) < _truth(Xs, concept)).astype(int)
        verdict = judge(run, reference, columns, Xs, ys, alpha=0.05, effects=False)
        true, est = verdict.actual["accuracy"], verdict.estimated["accuracy"]
        if not concept:
            worst = max(worst, abs(true - est))
        table.add_row(
            name, f"{100 * true:.1f}%", f"{100 * est:.1f}%", f"{100 * (est - true):+.1f}",
            "yes" if verdict.data_drift or verdict.predictions["drift"] else "no",
        )  # fmt: skip
    console.print(table)
    console.print(
        f"goal: within 3 points under covariate shift: worst {100 * worst:.1f} points. Under "
        "concept drift the inputs do not move, so the estimate stays where it was while the "
        "true accuracy falls: only labels can show that."
    )
    return worst <= 0.03


def _stream(n: int, centre: float, rng: np.random.Generator, flip: float = 0.0) -> pd.DataFrame:
    x0, x1 = rng.normal(centre, 0.7, n), rng.normal(size=n)
    y = (x1 > np.sin(2 * x0)).astype(int)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    noise = rng.normal(size=(n, 2))
    return pd.DataFrame({"x0": x0, "x1": x1, "n0": noise[:, 0], "n1": noise[:, 1], "label": y})


def _refusal(result) -> str:
    if result.promoted:
        return "PROMOTED"
    return "refused: labels" if result.labels["suspect"] else "refused: no significant gain"


def retraining(console: Console, out: Path, seeds: int) -> bool:
    from trainwell import registry

    table = Table(title="5. retraining on a drifting stream (accuracy on fresh labelled rows)")
    columns = ("seed", "before drift", "after drift", "challenger", "recovered", "corrupted labels")
    for column in columns:
        table.add_column(column, justify="right")
    recovered, refused = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        home = out / f"seed{seed}"
        home.mkdir()
        _stream(3000, -1.5, rng).to_csv(home / "old.csv", index=False)
        config = {
            "seed": seed,
            "data": {"source": str(home / "old.csv")},
            "model": {"hidden": [64, 64]},
            "train": {"epochs": 40, "lr": 0.003},
        }
        champion = trainwell.fit(config, out=home / "runs", report=False)
        registry.promote("stream", registry.add(champion.run_dir, "stream", home=home).version,
                         home=home)  # fmt: skip
        fresh_old, fresh_new = _stream(5000, -1.5, rng), _stream(5000, 1.5, rng)

        def accuracy(run, frame):
            return float(
                np.mean(run.predict(frame.drop(columns="label").to_numpy()) == frame.label)
            )

        before, after = accuracy(champion, fresh_old), accuracy(champion, fresh_new)
        _stream(3000, 1.5, rng, flip=0.45).to_csv(home / "corrupted.csv", index=False)
        bad = trainwell.retrain("stream", home / "corrupted.csv", home=home, out=home / "runs")
        refused.append(not bad.promoted)
        _stream(3000, 1.5, rng).to_csv(home / "new.csv", index=False)
        good = trainwell.retrain("stream", home / "new.csv", home=home, out=home / "runs")
        challenger = (
            accuracy(trainwell.load_run(good.run_dir), fresh_new) if good.promoted else after
        )
        share = (challenger - after) / max(before - after, 1e-9)
        recovered.append(share)
        table.add_row(
            str(seed), f"{100 * before:.1f}%", f"{100 * after:.1f}%", f"{100 * challenger:.1f}%",
            f"{100 * share:.0f}%", _refusal(bad),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"goal: >= 90% of the lost accuracy recovered: worst {100 * min(recovered):.0f}%; "
        f"corrupted challengers refused: {sum(refused)} of {len(refused)}"
    )
    return min(recovered) >= 0.9 and all(refused)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["retraining"], help="Run one section.")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 120))
    started = time.perf_counter()
    repeats = 40 if args.quick else 200
    console.print(
        f"20 features ({NUMERIC} numeric, {CATEGORICAL} categorical), {REFERENCE_ROWS} reference "
        f"rows; PSI over {BINS} reference deciles; evidently "
        + ("installed" if EVIDENTLY else f"unavailable ({EVIDENTLY_MISSING}): no column"),
        markup=False,
    )
    results = {}
    if args.only is None:
        results["false alarms"] = false_alarms(console, repeats)
        results["power"] = power(console, repeats // 4)
        covariance(console, repeats // 4)
        with tempfile.TemporaryDirectory() as tmp:
            results["label-free accuracy"] = label_free(console, Path(tmp))
    if importlib.util.find_spec("trainwell.deploy.registry") is None:
        console.print("5. retraining: skipped (this trainwell has no model registry)")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            results["retraining"] = retraining(console, Path(tmp), 1 if args.quick else 3)
    for name, ok in results.items():
        console.print(f"{name}: {'goal met' if ok else 'goal MISSED'}")
    console.print(f"{time.perf_counter() - started:.0f} s")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
