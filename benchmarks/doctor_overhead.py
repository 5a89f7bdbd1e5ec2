"""Doctor overhead: the same Trainer run with the doctor off and in detect mode.

The digits MLP (64-256-256-10, ReLU, Adam, batch 64), interleaved in one process, median of
several rounds; also for a few probe intervals, to show what the default costs. Goal: detect
mode keeps >= 97% of the throughput of doctor off.

Run: python benchmarks/doctor_overhead.py [--epochs 10] [--rounds 5] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch import nn

from trainwell.health import DEFAULT_EVERY, DoctorCallback
from trainwell.train import TensorBatches, Trainer

GOAL = 0.97


def data() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return torch.tensor(X, dtype=torch.float32), torch.tensor(y)


def run(X: torch.Tensor, y: torch.Tensor, epochs: int, every: int | None, device: str) -> float:
    """Samples per second of one training run; `every=None` means doctor off."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    callbacks = [] if every is None else [DoctorCallback(every=every)]
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 1e-3),
        epochs=epochs,
        device="cpu",
        callbacks=callbacks,
    )
    batches = TensorBatches(X, y, 64, seed=0, device=device)
    started = time.perf_counter()
    trainer.fit(batches)
    if device == "cuda":
        torch.cuda.synchronize()
    return epochs * len(y) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, y = data()
    settings: dict[str, int | None] = {
        "off": None,
        f"detect, every {DEFAULT_EVERY} (default)": DEFAULT_EVERY,
        "detect, every 1": 1,
        "detect, every 8": 8,
    }
    for every in settings.values():
        run(X, y, 1, every, args.device)  # warm up
    speeds: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, every in settings.items():
            speeds[name].append(run(X, y, args.epochs, every, args.device))
    median = {name: statistics.median(v) for name, v in speeds.items()}
    ratio = {name: median[name] / median["off"] for name in settings}
    default = f"detect, every {DEFAULT_EVERY} (default)"
    if args.json:
        print(
            json.dumps(
                {
                    "samples_per_second": median,
                    "ratio_to_off": ratio,
                    "goal_met": ratio[default] >= GOAL,
                }
            )
        )
        return
    table = Table(
        title=f"doctor overhead: digits MLP, {args.epochs} epochs, median of "
        f"{args.rounds} interleaved rounds, {torch.get_num_threads()} threads"
    )
    for column in ("doctor", "samples/s", "range", "ratio to off"):
        table.add_column(column, justify="right" if column != "doctor" else "left")
    for name in settings:
        table.add_row(
            name,
            f"{median[name]:,.0f}",
            f"{min(speeds[name]):,.0f}-{max(speeds[name]):,.0f}",
            f"{ratio[name]:.3f}",
        )
    console = Console()
    console.print(table)
    verdict = "met" if ratio[default] >= GOAL else "missed"
    console.print(f"goal detect/off >= {GOAL}: {verdict} ({ratio[default]:.3f})")


if __name__ == "__main__":
    main()
