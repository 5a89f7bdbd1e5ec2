"""Silent bugs in hand-written loops: does `trainwell.Doctor` find them, and what does it cost?

Each bug is planted in a plain PyTorch loop (SGD with momentum, generated 8x8 images, 3
epochs of 16 steps) for an MLP with dropout and a small CNN with batch norm; the same loop
without the bug is the clean twin, where any warning or error is a false alarm. Then loops
written otherwise, as people write them (gradient accumulation, two optimizers, mixed
precision, a frozen backbone kept in eval mode, a branch trained every other step), with
their bug where they have one and clean. Then the
doctor's overhead in detect mode: the same hand-written loop with and without
`doctor.step`, on the digits MLP of `doctor_overhead.py`, interleaved in one process, in
CPU time of the process (steadier than wall time on a shared machine; goal: <= 3% more),
and, in other runs, as the share of each run spent inside the doctor's calls, less an empty
doctor's (the clock's own reads, which that measure charges to the doctor).

Run: python benchmarks/silent_bugs.py [--every 24] [--rounds 15] [--epochs 10] [--threads N]
     [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time

import torch
from _silent_loops import (
    ARCHS,
    BUG_ARCHS,
    BUGS,
    LOOPS,
    OTHERWISE,
    REGRESSION_BUGS,
    make_data,
    train,
    written_otherwise,
)
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch import nn

import trainwell
from trainwell.health._loop_pace import LoopPace

GOAL = 1.03  # doctor-on time / plain time


def problems(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.severity != "info"]


def detection(every: int) -> list[dict]:
    rows = []
    data = make_data()
    for bug, (code, how) in BUGS.items():
        for arch in BUG_ARCHS.get(bug, ARCHS):
            loop = {"every": every, "data": data, **LOOPS.get(bug, {})}
            buggy, _ = train(arch, bug, **loop)
            clean, _ = train(arch, None, regression=bug in REGRESSION_BUGS, **loop)
            hit = [f for f in problems(buggy) if f.code == code]
            rows.append(
                {
                    "bug": bug,
                    "how": how,
                    "arch": arch,
                    "found": bool(hit),
                    "first_step": hit[0].step if hit else None,
                    "severity": hit[0].severity if hit else None,
                    "other_codes": sorted({f.code for f in problems(buggy)} - {code}),
                    "false_alarms_clean": [f.code for f in problems(clean)],
                }
            )
    for loop, (code, how) in OTHERWISE.items():
        for arch in ARCHS:
            clean = written_otherwise(arch, loop, buggy=False, every=every)
            hit = []
            if code is not None:
                buggy = written_otherwise(arch, loop, buggy=True, every=every)
                hit = [f for f in problems(buggy) if f.code == code]
            rows.append(
                {
                    "bug": loop,
                    "how": how,
                    "arch": arch,
                    "found": bool(hit) if code else None,
                    "first_step": hit[0].step if hit else None,
                    "severity": hit[0].severity if hit else None,
                    "other_codes": sorted({f.code for f in problems(buggy)} - {code})
                    if code
                    else [],
                    "false_alarms_clean": [f.code for f in problems(clean)],
                }
            )
    return rows


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


class _NeverLooks(LoopPace):
    def looking(self, *args) -> bool:
        return False


class ProbesOnly(trainwell.Doctor):
    """The doctor without its silent-bug checks: what they add to the probes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pace = _NeverLooks(self.every)


class Empty(trainwell.Doctor):
    """A doctor whose calls return at once, with no hook in the model: the share the clock
    reads and the calls themselves take, charged to the doctor by the measure. (Built, a
    doctor hooks the model for its first probe; left in place, those hooks ran at every
    forward pass of this one, which was no floor.)"""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.close()

    def step(self, loss: torch.Tensor) -> list[trainwell.Finding]:
        return []

    def epoch_end(self, *args, **kwargs) -> list[trainwell.Finding]:
        return []


def plain_loop(
    X: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    every: int | None,
    kind=trainwell.Doctor,
    timed: bool = False,
) -> tuple[float, float]:
    """CPU seconds of a hand-written loop over the digits MLP of `doctor_overhead.py`
    (64-256-256-10, ReLU, Adam, batch 64), and with `timed`, of them those spent inside the
    doctor's calls (the hooks it places run inside forward and backward and are not
    counted); `every=None`: without the doctor. The clock read around each call slows the
    whole run by more than it counts (about 1.5% for a doctor that does nothing): whole
    runs are measured without it."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    clock = time.process_time  # CPU time: steadier than wall time on a shared machine
    tick = clock if timed else _no_clock  # around the doctor's calls
    started, inside = clock(), 0.0
    doctor = None if every is None else kind(model, optimizer, every=every)
    for epoch in range(epochs):
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        total = torch.zeros(())
        for i in range(0, len(y), 64):
            rows = order[i : i + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
            loss.backward()
            if doctor is not None:
                entered = tick()
                doctor.step(loss)
                inside += tick() - entered
            optimizer.step()
            total += loss.detach()
        if doctor is not None:
            entered = tick()
            doctor.epoch_end(float(total) / -(-len(y) // 64))
            inside += tick() - entered
    return clock() - started, inside


def _no_clock() -> float:
    return 0.0


def overhead(every: int, rounds: int, epochs: int) -> dict:
    """Whole runs of the plain loop without the doctor, with an empty doctor (the noise
    floor), with its probes only and with the whole doctor in detect mode, each over the
    plain run of its round (the median of those ratios); and, in other runs of the same
    rounds, the share of each run spent inside the doctor's calls, which the machine's noise
    touches less, less the share an empty doctor's calls take (the clock's own reads). Every
    round runs all in another order."""
    X, y = digits()
    variants = {
        "plain": (None, trainwell.Doctor, False),
        "empty": (every, Empty, False),  # the noise floor: a doctor whose calls do nothing
        "probes only": (every, ProbesOnly, False),
        "doctor": (every, trainwell.Doctor, False),
        "empty, timed": (every, Empty, True),
        "probes only, timed": (every, ProbesOnly, True),
        "doctor, timed": (every, trainwell.Doctor, True),
    }
    for setting, kind, timed in variants.values():
        plain_loop(X, y, 1, setting, kind, timed)  # warm up
    times: dict[str, list[float]] = {name: [] for name in variants}
    shares: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    for round_ in range(rounds):  # each round in another order: no variant always goes first
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            # the doctors of earlier runs, kept by reference cycles until a collection, would
            # keep their optimizer step hook (which every optimizer calls) in later runs
            gc.collect()
            seconds, inside = plain_loop(X, y, epochs, *variants[name])
            times[name].append(seconds)
            shares[name].append(inside / (seconds - inside))
    ratios = {
        k: statistics.median(t / p for t, p in zip(times[k], times["plain"], strict=True))
        for k in ("empty", "probes only", "doctor")
    }
    inside = {
        k: statistics.median(shares[f"{k}, timed"]) for k in ("empty", "probes only", "doctor")
    }
    return {
        "seconds": {k: statistics.median(v) for k, v in times.items()},
        "ratio": ratios["doctor"],
        "ratios": ratios,
        "inside": inside,
        "runs": times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=10, help="of the overhead loop")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = detection(args.every)
    cost = overhead(args.every, args.rounds, args.epochs)
    if args.json:
        print(json.dumps({"detection": rows, "overhead": cost}))
        return
    console = Console(width=max(Console().width, 110))
    table = Table(title=f"silent bugs in a hand-written loop (probe every {args.every} steps)")
    for column in ("bug", "arch", "found", "first step", "also raised", "false alarms (clean)"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["bug"],
            row["arch"],
            "-" if row["found"] is None else f"yes ({row['severity']})" if row["found"] else "NO",
            "-" if row["first_step"] is None else str(row["first_step"]),
            ", ".join(row["other_codes"]) or "-",
            ", ".join(row["false_alarms_clean"]) or "0",
        )
    console.print(table)
    for bug, (code, how) in {**BUGS, **OTHERWISE}.items():
        expects = "" if bug == code else f" (expects {code})" if code else " (clean only)"
        console.print(f"  {bug}: {how}{expects}")
    planted = [r for r in rows if r["found"] is not None]
    found = sum(r["found"] for r in planted)
    alarms = sum(bool(r["false_alarms_clean"]) for r in rows)
    console.print(
        f"found {found}/{len(planted)}; clean loops with a false alarm: {alarms}/{len(rows)}"
    )
    s, r, inside = cost["seconds"], cost["ratios"], cost["inside"]
    console.print(
        f"overhead: digits MLP 64-256-256-10 (Adam, batch 64) in a hand-written loop, "
        f"{args.epochs} epochs, {args.rounds} interleaved rounds, {torch.get_num_threads()} "
        f"threads, CPU time: plain {s['plain']:.3f} s; each run over its round's plain one, "
        f"median: Doctor (detect) {r['doctor']:.3f} (goal <= {GOAL}: "
        f"{'met' if r['doctor'] <= GOAL else 'missed'}); its probes alone, without the "
        f"silent-bug checks, {r['probes only']:.3f}; an empty doctor (calls that do "
        f"nothing: the machine's noise) {r['empty']:.3f}"
    )
    net = {k: inside[k] - inside["empty"] for k in ("probes only", "doctor")}
    console.print(
        f"time inside the doctor's calls, per second of the rest of the loop (other runs, "
        f"the calls timed): Doctor {inside['doctor']:.2%}, probes alone "
        f"{inside['probes only']:.2%}, an empty doctor (the clock's reads and the calls) "
        f"{inside['empty']:.2%}; less the empty one's: Doctor {net['doctor']:.2%}, probes "
        f"alone {net['probes only']:.2%} (the rest of the whole runs' difference: the hooks "
        f"inside forward and backward, the caches, the noise)"
    )


if __name__ == "__main__":
    main()
