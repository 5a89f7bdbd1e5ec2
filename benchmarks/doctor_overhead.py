"""Doctor overhead: the same Trainer run with the doctor off and in detect mode.

The digits MLP (64-256-256-10, ReLU, Adam, batch 64), interleaved in one process, median of
several rounds; also for a few probe intervals, to show what the default costs. Goal: detect
mode keeps >= 97% of the throughput of doctor off.

Run: python benchmarks/doctor_overhead.py [--epochs 10] [--rounds 5] [--threads N] [--json]

On a GPU the digits MLP is launch-bound (each step a few microseconds of work); `--rows N
--hidden H --batch B` trains an MLP 512-H-H-10 on N generated rows instead, a size a GPU
is bought for:

    python benchmarks/doctor_overhead.py --device cuda --rows 200000 --hidden 4096 --batch 1024
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


def data(rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits, or `rows` generated rows of 512 features in 10 linearly separable classes."""
    if not rows:
        X, y = load_digits(return_X_y=True)
        X = StandardScaler().fit_transform(X)
        return torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(rows, 512, generator=g)
    return X, (X @ torch.randn(512, 10, generator=g)).argmax(1)


def run(
    X: torch.Tensor, y: torch.Tensor, args: argparse.Namespace, every: int | None, epochs: int
) -> float:
    """Samples per second of one training run; `every=None` means doctor off."""
    torch.manual_seed(0)
    width, device = args.hidden, args.device
    model = nn.Sequential(
        nn.Linear(X.shape[1], width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
        nn.Linear(width, 10),
    )  # fmt: skip
    callbacks = [] if every is None else [DoctorCallback(every=every)]
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 1e-3),
        epochs=epochs,
        device=device,
        callbacks=callbacks,
    )
    batches = TensorBatches(X, y, args.batch, seed=0, device=device)
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
    parser.add_argument("--rows", type=int, default=0, help="generated rows (0: digits)")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    X, y = data(args.rows)
    settings: dict[str, int | None] = {
        "off": None,
        f"detect, every {DEFAULT_EVERY} (default)": DEFAULT_EVERY,
        "detect, every 1": 1,
        "detect, every 8": 8,
    }
    for every in settings.values():
        run(X, y, args, every, epochs=1)  # warm up
    speeds: dict[str, list[float]] = {name: [] for name in settings}
    for _ in range(args.rounds):
        for name, every in settings.items():
            speeds[name].append(run(X, y, args, every, args.epochs))
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
        title=f"doctor overhead: {'digits' if not args.rows else f'{args.rows} rows'} MLP "
        f"{X.shape[1]}-{args.hidden}-{args.hidden}-10, batch {args.batch}, {args.epochs} "
        f"epochs on {args.device}, median of {args.rounds} interleaved rounds, "
        f"{torch.get_num_threads()} threads"
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
