"""Fixed costs of `trainwell.fit`, and training on a busy machine.

1. `trainwell.fit(config, report=False)` with the audit off, against a plain PyTorch loop
   doing the same training (digits, the same split and standardisation, MLP 64-256-256-10,
   Adam, batch 64, validation after every epoch, a test evaluation at the end), both timed
   wall-clock from data loading to the last number, in one process, interleaved round by
   round, median of the rounds. Goal: fit >= 0.95x the plain loop's speed. The audit's and
   the report page's costs are measured apart, as fixed seconds.
2. Contention: the same fit while another process keeps one core busy, against the same
   fit idle, with the thread policy (`train.threads: auto`) and with torch's default (as many
   threads as the host has cores). Goal: busy/idle <= 1.5x with the policy.

Run: python benchmarks/fixed_costs.py [--epochs 40] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

import trainwell
from trainwell.config import load_config
from trainwell.data import load_splits
from trainwell.report import write_report

FIT_GOAL, CONTENTION_GOAL = 0.95, 1.5


def config(epochs: int, **train) -> dict:
    return {
        "data": {"source": "digits", "audit": False},
        "model": {"hidden": [256, 256]},
        "train": {"epochs": epochs, "batch_size": 64, "lr": 1e-3, **train},
    }


def plain_loop(epochs: int, threads: int, fused: bool | None = None) -> float:
    """The same training by hand: trainwell's split and standardisation, no callbacks, at
    the thread count `fit` chose for this network; torch's default optimizer kernels, or
    (`fused`) the fused one `fit` uses."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _plain_loop(epochs, fused)
    finally:
        torch.set_num_threads(previous)


def _plain_loop(epochs: int, fused: bool | None) -> float:
    started = time.perf_counter()
    data = load_splits(load_config(config(epochs)))  # the same rows and scaling as `fit`
    X, y = torch.from_numpy(data.train.X), torch.from_numpy(data.train.y)
    Xv, yv = torch.from_numpy(data.val.X), torch.from_numpy(data.val.y)
    Xt, yt = torch.from_numpy(data.test.X), torch.from_numpy(data.test.y)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, 10),
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), 1e-3, fused=fused)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        model.train()
        for index in torch.randperm(len(y), generator=generator).split(64):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(X[index]), y[index]).backward()
            optimizer.step()
        with torch.no_grad():
            model.eval()
            float(loss_fn(model(Xv), yv)), float((model(Xv).argmax(1) == yv).float().mean())
    with torch.no_grad():
        float((model(Xt).argmax(1) == yt).float().mean())
    return time.perf_counter() - started


def fit(epochs: int, out: Path, **train) -> tuple[float, Path]:
    started = time.perf_counter()
    run = trainwell.fit(config(epochs, **train), out=out, report=False)
    return time.perf_counter() - started, run.run_dir


def audit_cost(epochs: int, out: Path) -> float:
    cfg = config(epochs)
    cfg["data"]["audit"] = True
    started = time.perf_counter()
    trainwell.fit(cfg, out=out, report=False, train__epochs=1)
    with_audit = time.perf_counter() - started
    started = time.perf_counter()
    trainwell.fit(config(1), out=out, report=False)
    return with_audit - (time.perf_counter() - started)


def report_cost(run_dir: Path) -> float:
    started = time.perf_counter()
    write_report(run_dir)
    return time.perf_counter() - started


def _spin(stop: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    while not stop.is_set():
        pass


def busy(action: Callable[[], float]) -> float:
    """`action` while another process keeps one core busy."""
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,), daemon=True)
    spinner.start()
    time.sleep(0.2)
    try:
        return action()
    finally:
        stop.set()
        spinner.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    host_threads = torch.get_num_threads()
    times: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        _, warm = fit(2, out)  # warm-up: imports, first allocations
        threads = json.loads((warm / "environment.json").read_text())["torch_threads"]
        plain_loop(2, threads)
        for round_ in range(args.rounds):
            console.print(f"round {round_ + 1}/{args.rounds}", highlight=False)
            record("plain loop", plain_loop(args.epochs, threads))
            record("plain loop, fused Adam", plain_loop(args.epochs, threads, fused=True))
            seconds, run_dir = fit(args.epochs, out)
            record("fit, threads auto", seconds)
            record("fit, threads auto, one core busy", busy(lambda: fit(args.epochs, out)[0]))
            record(f"fit, {host_threads} threads", fit(args.epochs, out, threads=host_threads)[0])
            record(
                f"fit, {host_threads} threads, one core busy",
                busy(lambda: fit(args.epochs, out, threads=host_threads)[0]),
            )
        audit = audit_cost(args.epochs, out)
        page = report_cost(run_dir)
    median = {name: statistics.median(values) for name, values in times.items()}
    plain = median["plain loop"]
    rows = {
        name: {"seconds": seconds, "speed_vs_plain": plain / seconds}
        for name, seconds in median.items()
    }
    auto_busy = median["fit, threads auto, one core busy"] / median["fit, threads auto"]
    host_busy = (
        median[f"fit, {host_threads} threads, one core busy"]
        / median[f"fit, {host_threads} threads"]
    )
    summary = {
        "epochs": args.epochs,
        "rounds": args.rounds,
        "runs": rows,
        "fit_speed_vs_plain": rows["fit, threads auto"]["speed_vs_plain"],
        "fit_speed_vs_plain_fused": median["plain loop, fused Adam"] / median["fit, threads auto"],
        "busy_over_idle": {"threads auto": auto_busy, f"{host_threads} threads": host_busy},
        "audit_seconds": audit,
        "report_seconds": page,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        table = Table("run", "median s", "speed vs plain loop", title="fit against a plain loop")
        for name, row in rows.items():
            table.add_row(name, f"{row['seconds']:.2f}", f"{row['speed_vs_plain']:.2f}x")
        Console().print(table)
        print(
            f"fit / plain loop speed: {summary['fit_speed_vs_plain']:.2f}x (goal >= {FIT_GOAL}); "
            f"against the same fused kernel: {summary['fit_speed_vs_plain_fused']:.2f}x\n"
            f"one core busy / idle: threads auto {auto_busy:.2f}x (goal <= {CONTENTION_GOAL}), "
            f"{host_threads} threads {host_busy:.2f}x\n"
            f"fixed costs apart: the audit {audit:.2f} s, the report page {page:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
