"""Repair in a hand-written loop: what `trainwell.Doctor(mode="repair")` makes of loops that
swing.

A plain PyTorch loop trains a 2x128 ReLU MLP with SGD at rates and momenta too high for it
(0.1, 0.3, 1.0 x 0.9, 0.99) for 20 epochs of batches of 32 on digits, wine and
breast_cancer (60/20/20 splits, standardised), reporting its training loss, validation loss
and accuracy to `doctor.epoch_end` each epoch. Each loop runs as written (no doctor: plain
PyTorch) and with the doctor repairing, on 3 seeds; the score is the test accuracy at the
end. Nothing here was tuned on: the rates and momenta are the usual grid, and the doctor's
thresholds are its defaults.

Run: python benchmarks/loop_repair.py [--seeds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
from itertools import product

import torch
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split
from torch import nn

import trainwell

DATASETS = {"digits": load_digits, "wine": load_wine, "breast_cancer": load_breast_cancer}
RATES = (0.1, 0.3, 1.0)
MOMENTA = (0.9, 0.99)
EPOCHS, BATCH = 20, 32


def splits(name: str, seed: int) -> tuple[torch.Tensor, ...]:
    """Train, validation and test inputs and labels: 60/20/20, stratified, standardised."""
    X, y = DATASETS[name](return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-8)
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.4, random_state=seed, stratify=y
    )
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, random_state=seed, stratify=y_rest
    )
    inputs = (torch.tensor(a, dtype=torch.float32) for a in (X_train, X_val, X_test))
    labels = (torch.tensor(a, dtype=torch.long) for a in (y_train, y_val, y_test))
    X_train, X_val, X_test = inputs
    y_train, y_val, y_test = labels
    return X_train, y_train, X_val, y_val, X_test, y_test


def loop(name: str, lr: float, momentum: float, seed: int, repair: bool) -> dict:
    """One hand-written loop; returns its test accuracy and what the doctor did."""
    X_train, y_train, X_val, y_val, X_test, y_test = splits(name, seed)
    torch.manual_seed(seed)
    classes = int(y_train.max()) + 1
    model = nn.Sequential(
        nn.Linear(X_train.shape[1], 128),
        nn.ReLU(),
        nn.Linear(128, 128),
        nn.ReLU(),
        nn.Linear(128, classes),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    doctor = trainwell.Doctor(model, optimizer, epochs=EPOCHS, mode="repair") if repair else None
    order = torch.Generator().manual_seed(seed)
    for _ in range(EPOCHS):
        total, steps = 0.0, 0
        for batch in torch.randperm(len(y_train), generator=order).split(BATCH):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X_train[batch]), y_train[batch])
            loss.backward()
            if doctor:
                doctor.step(loss)
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        if doctor:
            with torch.no_grad():
                out = model(X_val)
            accuracy = (out.argmax(1) == y_val).float().mean().item()
            val_loss = nn.functional.cross_entropy(out, y_val).item()
            doctor.epoch_end(total / steps, val_loss, val_accuracy=accuracy)
    if doctor:
        doctor.close()
    with torch.no_grad():
        test = (model(X_test).argmax(1) == y_test).float().mean().item()
    repairs = doctor.repairs if doctor else []
    return {
        "test_accuracy": test,
        "remedies": [r["remedy"] for r in repairs],
        "from_best": any(str(r["rolled_back_to"]).startswith("best") for r in repairs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    grid = list(product(DATASETS, RATES, MOMENTA))
    rows = []
    with Progress(console=Console(stderr=True), disable=args.json) as progress:
        task = progress.add_task("loops", total=len(grid) * args.seeds * 2)
        for name, lr, momentum in grid:
            runs = {True: [], False: []}
            for seed, repair in product(range(args.seeds), (False, True)):
                runs[repair].append(loop(name, lr, momentum, seed, repair))
                progress.advance(task)
            rows.append(
                {
                    "dataset": name,
                    "lr": lr,
                    "momentum": momentum,
                    "plain": [r["test_accuracy"] for r in runs[False]],
                    "repaired": [r["test_accuracy"] for r in runs[True]],
                    "treated": sum(bool(r["remedies"]) for r in runs[True]),
                    "from_best": sum(r["from_best"] for r in runs[True]),
                }
            )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    table = Table(title=f"hand-written SGD loops, test accuracy, mean over {args.seeds} seeds")
    for column in ("dataset", "lr", "momentum", "plain", "repaired", "treated", "from best"):
        table.add_column(column, justify="left" if column == "dataset" else "right")
    for row in rows:
        table.add_row(
            row["dataset"],
            f"{row['lr']:g}",
            f"{row['momentum']:g}",
            f"{statistics.mean(row['plain']):.3f}",
            f"{statistics.mean(row['repaired']):.3f}",
            f"{row['treated']}/{args.seeds}",
            f"{row['from_best']}/{args.seeds}",
        )
    plain = statistics.mean(a for row in rows for a in row["plain"])
    repaired = statistics.mean(a for row in rows for a in row["repaired"])
    table.add_row("all", "", "", f"{plain:.3f}", f"{repaired:.3f}", "", "")
    Console().print(table)
    print(f"repaired / plain: {repaired / plain:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
