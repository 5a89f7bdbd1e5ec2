"""Tuning: TPE + Hyperband against random search with the same pruner and without pruning.

Three searches on digits, each with the same space (learning rate, optimizer, batch size,
dropout, weight decay, 1-3 layers of 16-256 units), the same trial budget, the same epochs
per trial and, for the two pruned ones, the same Hyperband pruner; for each of a few seeds,
in one process at a fixed thread count. Random search with the same pruner separates what
TPE saves from what pruning saves. Printed per search: the best val accuracy, the TEST
accuracy of the config the search chose (its best trial), the compute (epochs trained across
all trials, wall time), and the epochs it spent before it first reached the val accuracy
every search reached on that seed: the compute the goals are judged on (issue 17), >= 2.5x
fewer epochs than random without pruning and >= 1.3x fewer than random with the same
pruner, at equal or better test accuracy, over 3+ seeds. (The whole fixed budget's epochs
reward a poor sampler under a pruner: its trials are pruned early.) Then K=2 worker
processes fill one study: every trial number appears once, none is lost.

    python benchmarks/tune.py            # 30 trials x 20 epochs x 5 seeds (~4 min on 2 cores)
    python benchmarks/tune.py --quick    # 12 trials x 8 epochs x 5 seeds, a smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

import trainwell

SPACE = {
    "train.lr": {"low": 1e-4, "high": 0.3, "log": True},
    "train.optimizer": {"choices": ["sgd", "adam"]},
    "train.batch_size": {"choices": [32, 64, 128]},
    "train.weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
    "model.dropout": {"low": 0.0, "high": 0.5},
    "model.layers": {"low": 1, "high": 3},
    "model.width": {"low": 16, "high": 256, "log": True},
}
TPE, RANDOM_PRUNED, RANDOM = "TPE + Hyperband", "random + Hyperband", "random, no pruning"
METHODS = {
    TPE: ("tpe", "hyperband"),
    RANDOM_PRUNED: ("random", "hyperband"),
    RANDOM: ("random", "none"),
}


def config(seed: int, epochs: int) -> dict:
    return {
        "seed": seed,
        "data": {"source": "digits", "audit": False},
        "model": {"arch": "mlp"},
        "train": {"epochs": epochs},
        "doctor": {"mode": "off"},
        "tune": SPACE,
    }


def search(seed: int, sampler: str, pruner: str, trials: int, epochs: int, out: Path) -> dict:
    started = time.perf_counter()
    result = trainwell.tune(
        config(seed, epochs),
        trials=trials,
        sampler=sampler,
        pruner=pruner,
        study=f"{sampler}-{pruner}-{seed}",
        out=out,
    )
    seconds = time.perf_counter() - started
    best_run = Path(result.best.run_dir)
    test = json.loads((best_run / "summary.json").read_text())["metrics"]["test_accuracy"]
    return {
        "best_val": result.best.value,
        "best_test": test,
        "epochs": result.epochs,
        "seconds": seconds,
        "pruned": sum(t.state == "pruned" for t in result.trials),
        # (epochs spent so far, val) after each complete trial, in the order they ran
        "curve": _curve(result.trials),
    }


def _curve(trials: list) -> list[tuple[int, float]]:
    spent, curve = 0, []
    for trial in sorted(trials, key=lambda t: t.number):
        spent += trial.epochs or 0
        if trial.state == "complete":
            curve.append((spent, trial.value))
    return curve


def epochs_to_reach(curve: list[tuple[int, float]], target: float) -> int:
    return next(spent for spent, value in curve if value >= target)


def workers_check(trials: int, epochs: int, out: Path) -> dict:
    result = trainwell.tune(
        config(0, epochs), trials=trials, pruner="none", study="workers", workers=2, out=out
    )
    numbers = [t.number for t in result.trials]
    dirs = list((result.run_dir / "trials").iterdir())
    return {
        "trials": len(numbers),
        "unique": len(set(numbers)),
        "complete": sum(t.state == "complete" for t in result.trials),
        "run_dirs": len(dirs),
        "ok": sorted(numbers) == list(range(trials)) and len(dirs) == trials,
    }


def compare(rows: dict[str, list[dict]], mean: dict[str, dict], other: str, goal: float) -> bool:
    """Print TPE + Hyperband against `other`; True when the goal is met.

    Compute is judged to a target: the epochs each search spent before it first reached the
    val accuracy every search reached on that seed. The epochs of the whole fixed budget are
    shown too, but with a pruner they reward a sampler whose trials are poor (pruned early):
    a sampler proposing better configs sees more of them survive to the last rung."""
    a, b = mean[TPE], mean[other]
    pairs = list(zip(rows[TPE], rows[other], strict=True))
    ratio, wall = b["epochs"] / a["epochs"], b["seconds"] / a["seconds"]
    wins = sum(x["best_test"] >= y["best_test"] for x, y in pairs)
    reach = b["to_reach"] / a["to_reach"]
    per_seed = [y["to_reach"] / x["to_reach"] for x, y in pairs]
    met = reach >= goal and a["best_test"] >= b["best_test"]
    print(
        f"vs {other}: {reach:.2f}x fewer epochs to reach the common val (per seed "
        f"{min(per_seed):.2f}-{max(per_seed):.2f}x); test acc of the chosen config "
        f"{a['best_test'] - b['best_test']:+.4f} (equal or better on {wins}/{len(pairs)} "
        f"seeds), best val {a['best_val'] - b['best_val']:+.4f}\n"
        f"  goal >= {goal}x less compute at equal or better test acc: "
        f"{'met' if met else 'MISSED'}; the whole budget: {ratio:.2f}x fewer epochs, "
        f"{wall:.2f}x less wall time"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (max)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="12 trials x 8 epochs")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 12, 8
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:  # imports and first-call costs, out of the timing
        trainwell.tune(config(0, 1), trials=1, study="warm-up", out=tmp)
    rows: dict[str, list[dict]] = {name: [] for name in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for name, (sampler, pruner) in METHODS.items():
                row = search(seed, sampler, pruner, args.trials, args.epochs, Path(tmp))
                rows[name].append(row)
                shown = {k: round(v, 4) for k, v in row.items() if k != "curve"}
                print(f"seed {seed} {name:<20} {json.dumps(shown)}", flush=True)
            target = min(rows[name][seed]["best_val"] for name in METHODS)
            for name in METHODS:
                rows[name][seed]["to_reach"] = epochs_to_reach(rows[name][seed]["curve"], target)
        workers = workers_check(10, 5, Path(tmp))
    keys = ("best_val", "best_test", "epochs", "seconds", "pruned", "to_reach")
    mean = {n: {k: statistics.fmean(r[k] for r in rs) for k in keys} for n, rs in rows.items()}
    print(
        f"\ndigits, {args.trials} trials x {args.epochs} epochs max, mean of {args.seeds} "
        f"seed(s), {torch.get_num_threads()} thread(s)\n"
    )
    print(
        "| search | best val acc | test acc of chosen config | epochs trained | pruned "
        "| wall s | epochs to reach the common val |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, m in mean.items():
        print(
            f"| {name} | {m['best_val']:.4f} | {m['best_test']:.4f} | {m['epochs']:.0f} "
            f"| {m['pruned']:.1f} | {m['seconds']:.1f} | {m['to_reach']:.0f} |"
        )
    print()
    met = [compare(rows, mean, RANDOM, 2.5), compare(rows, mean, RANDOM_PRUNED, 1.3)]
    pruning = mean[RANDOM]["epochs"] / mean[RANDOM_PRUNED]["epochs"]
    print(
        f"pruning alone (random + Hyperband vs random): {pruning:.2f}x fewer epochs, test acc "
        f"{mean[RANDOM_PRUNED]['best_test'] - mean[RANDOM]['best_test']:+.4f}"
    )
    print(
        f"K=2 workers, 10 trials: {workers['trials']} trials, {workers['unique']} unique numbers, "
        f"{workers['complete']} complete, {workers['run_dirs']} run dirs: "
        f"{'no trial lost or duplicated' if workers['ok'] else 'MISMATCH'}"
    )
    print(f"goals met: {sum(met)}/2; workers exact: {workers['ok']}")


if __name__ == "__main__":
    main()
