"""Tuning: TPE + Hyperband against random search without pruning, on digits, same trial budget.

Both searches get the same space (learning rate, optimizer, batch size, dropout, weight
decay, 1-3 layers of 16-256 units), the same trial budget and the same epochs per trial,
for each of a few seeds, in one process. Printed: the best val accuracy found, the test
accuracy of that best config, the compute (epochs trained across all trials, wall time) and
the ratios. Goal: equal or better best accuracy with at least 2x less compute.
Then K=2 worker processes fill one study: every trial number appears once, none is lost.

    python benchmarks/tune.py                      # 30 trials x 3 seeds, a few minutes
    python benchmarks/tune.py --trials 12 --seeds 1  # quicker
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
METHODS = {"TPE + Hyperband": ("tpe", "hyperband"), "random, no pruning": ("random", "none")}


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
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=20, help="epochs per trial (max)")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows: dict[str, list[dict]] = {name: [] for name in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for name, (sampler, pruner) in METHODS.items():
                row = search(seed, sampler, pruner, args.trials, args.epochs, Path(tmp))
                rows[name].append(row)
                print(f"seed {seed} {name:<20} {json.dumps(row)}", flush=True)
        workers = workers_check(10, 5, Path(tmp))
    mean = {n: {k: statistics.fmean(r[k] for r in rs) for k in rs[0]} for n, rs in rows.items()}
    print(
        f"\ndigits, {args.trials} trials x {args.epochs} epochs max, "
        f"mean of {args.seeds} seed(s), {torch.get_num_threads()} thread(s)\n"
    )
    print("| search | best val acc | test acc of best | epochs trained | pruned | wall s |")
    print("|---|---|---|---|---|---|")
    for name, m in mean.items():
        print(
            f"| {name} | {m['best_val']:.4f} | {m['best_test']:.4f} | {m['epochs']:.0f} "
            f"| {m['pruned']:.1f} | {m['seconds']:.1f} |"
        )
    tpe, rnd = mean["TPE + Hyperband"], mean["random, no pruning"]
    epochs_ratio, wall_ratio = rnd["epochs"] / tpe["epochs"], rnd["seconds"] / tpe["seconds"]
    wins = sum(
        a["best_val"] >= b["best_val"]
        for a, b in zip(rows["TPE + Hyperband"], rows["random, no pruning"], strict=True)
    )
    print(
        f"\ncompute saved by TPE + Hyperband: {epochs_ratio:.2f}x fewer epochs, "
        f"{wall_ratio:.2f}x less wall time; best val acc {tpe['best_val'] - rnd['best_val']:+.4f} "
        f"(equal or better on {wins}/{args.seeds} seeds)"
    )
    print(
        f"K=2 workers, 10 trials: {workers['trials']} trials, {workers['unique']} unique numbers, "
        f"{workers['complete']} complete, {workers['run_dirs']} run dirs: "
        f"{'no trial lost or duplicated' if workers['ok'] else 'MISMATCH'}"
    )
    goal = epochs_ratio >= 2 and tpe["best_val"] >= rnd["best_val"] and workers["ok"]
    print(f"goal (>= 2x less compute, equal or better accuracy, workers exact): {goal}")


if __name__ == "__main__":
    main()
