"""The fault benchmark: the doctor on runs with textbook training faults, and on healthy runs.

Every faulty config of `suite.yaml` is trained twice, with the doctor in detect mode and in
repair mode; every healthy config once (detect), for the false positives, the baseline test
accuracy of its dataset and the baseline wall time. Printed: per config the expected and the
detected codes (warning/error), when the expected one was first seen, test accuracy without
and with repair against the healthy baseline, the repaired run's wall time over the healthy
run's; then recall, false positives, repair rate and the share of gradient and activation
problems found in epoch 0.

Goals (issue 3): recall 100%, no warning/error finding on a healthy run, repair rate >= 98%
(a repaired run reaches >= 90% of its healthy baseline's test accuracy), gradient and
activation problems detected within the first epoch, repaired run <= 1.5x the healthy wall
time.

Run: python benchmarks/faults [--only CODE] [--json]      (make faults)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

import trainwell

SUITE = Path(__file__).with_name("suite.yaml")
EARLY_CODES = {"vanishing_gradient", "exploding_gradient", "dying_relu", "saturated_activation"}


@dataclass
class Outcome:
    accuracy: float | None
    seconds: float
    codes: list[str]  # warning and error findings
    first: tuple[int | None, int | None] | None = None  # (epoch, step) of the expected code
    repairs: list[str] = field(default_factory=list)


def fit(config: dict[str, Any], mode: str, out: Path, expect: str | None = None) -> Outcome:
    torch.manual_seed(0)
    started = time.perf_counter()
    run = trainwell.fit(config, out=out, doctor__mode=mode)
    seconds = time.perf_counter() - started
    problems = [f for f in run.findings if f.severity != "info"]
    hit = next((f for f in problems if f.code == expect), None)
    return Outcome(
        accuracy=run.metrics.get("test_accuracy"),
        seconds=seconds,
        codes=[f.code for f in problems],
        first=(hit.epoch, hit.step) if hit else None,
        repairs=[f"{r['remedy']}{'' if r['cured'] else '?'}" for r in run.repairs],
    )


def run_suite(only: str | None, progress: Progress | None) -> dict[str, Any]:
    suite = yaml.safe_load(SUITE.read_text())
    faulty = {k: v for k, v in suite["faulty"].items() if only in (None, v["expect"])}
    total = len(suite["healthy"]) + 2 * len(faulty)
    task = progress.add_task("fault suite", total=total) if progress else None
    results: dict[str, Any] = {"healthy": {}, "faulty": {}}
    with tempfile.TemporaryDirectory() as out:
        for name, entry in suite["healthy"].items():
            results["healthy"][name] = fit(entry["config"], "detect", Path(out))
            progress and progress.advance(task)
        for name, entry in faulty.items():
            expect = entry["expect"]
            base = entry.get("baseline", entry["config"]["data"]["source"])
            detect = fit(entry["config"], "detect", Path(out), expect)
            progress and progress.advance(task)
            repair = fit(entry["config"], "repair", Path(out), expect)
            progress and progress.advance(task)
            results["faulty"][name] = {
                "expect": expect,
                "baseline": base,
                "detect": detect,
                "repair": repair,
            }
    return results


def totals(results: dict[str, Any]) -> dict[str, Any]:
    faulty, healthy = results["faulty"], results["healthy"]
    found = [r["expect"] in r["detect"].codes for r in faulty.values()]
    repaired = [_repaired(r, healthy) for r in faulty.values()]
    early = [
        r["detect"].first is not None and r["detect"].first[0] == 0
        for r in faulty.values()
        if r["expect"] in EARLY_CODES
    ]
    ratios = [r["repair"].seconds / healthy[r["baseline"]].seconds for r in faulty.values()]
    return {
        "recall": sum(found) / len(found),
        "false_positives": {n: o.codes for n, o in healthy.items() if o.codes},
        "repair_rate": sum(repaired) / len(repaired),
        "early_detection": sum(early) / len(early) if early else None,
        "median_time_ratio": sorted(ratios)[len(ratios) // 2],
        "max_time_ratio": max(ratios),
    }


def _repaired(result: dict[str, Any], healthy: dict[str, Outcome]) -> bool:
    base = healthy[result["baseline"]].accuracy
    accuracy = result["repair"].accuracy
    return accuracy is not None and base is not None and accuracy >= 0.9 * base


def show(results: dict[str, Any], summary: dict[str, Any]) -> None:
    healthy = results["healthy"]
    table = Table(title="fault suite: detect and repair (test accuracy)")
    for column in (
        "config",
        "expected",
        "detected",
        "first (epoch, step)",
        "detect acc",
        "repair acc",
        "healthy acc",
        "repairs",
        "time vs healthy",
    ):
        table.add_column(column, overflow="fold")
    for name, r in results["faulty"].items():
        detect, repair, base = r["detect"], r["repair"], healthy[r["baseline"]]
        ok = "[green]" if r["expect"] in detect.codes else "[red]"
        table.add_row(
            name,
            r["expect"],
            ok + ", ".join(detect.codes),
            str(detect.first or "-"),
            _acc(detect.accuracy),
            ("[green]" if _repaired(r, healthy) else "[red]") + _acc(repair.accuracy),
            _acc(base.accuracy),
            ", ".join(repair.repairs) or "-",
            f"{repair.seconds / base.seconds:.2f}x",
        )
    console = Console(width=max(Console().width, 150))  # a wide table, also in a pipe
    console.print(table)
    clean = Table(title="healthy runs (detect)")
    for column in ("config", "test acc", "warning/error findings", "seconds"):
        clean.add_column(column)
    for name, o in healthy.items():
        clean.add_row(name, _acc(o.accuracy), ", ".join(o.codes) or "none", f"{o.seconds:.2f}")
    console.print(clean)
    console.print(
        f"recall {summary['recall']:.0%} (goal 100%)  |  false positives "
        f"{len(summary['false_positives'])} (goal 0)  |  repair rate "
        f"{summary['repair_rate']:.0%} (goal >= 98%)  |  gradient/activation problems in "
        f"epoch 0: {summary['early_detection']:.0%}  |  repaired/healthy wall time: median "
        f"{summary['median_time_ratio']:.2f}x, max {summary['max_time_ratio']:.2f}x (goal <= 1.5x)"
    )


def _acc(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description="The doctor on a suite of faulty runs.")
    parser.add_argument("--only", help="run only the faulty configs expecting this code")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small models: steadier timings, no thread contention
    console = Console(stderr=True)
    with Progress(console=console, disable=args.json or not console.is_terminal) as progress:
        results = run_suite(args.only, progress)
    summary = totals(results)
    if args.json:
        plain = {
            "healthy": {n: asdict(o) for n, o in results["healthy"].items()},
            "faulty": {
                n: {**r, "detect": asdict(r["detect"]), "repair": asdict(r["repair"])}
                for n, r in results["faulty"].items()
            },
            "totals": summary,
        }
        json.dump(plain, sys.stdout)
        print()
        return
    show(results, summary)


if __name__ == "__main__":
    main()
