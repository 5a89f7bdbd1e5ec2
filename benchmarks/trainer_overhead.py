"""Trainer overhead: trainwell's `Trainer` against a hand-written PyTorch loop (and Lightning).

What it measures: training throughput (training samples per second, per-epoch validation
included in the time) of one small, fixed job run by each contender:

  (a) a plain PyTorch loop written by hand: the floor, nothing but the work itself;
  (b) trainwell's `Trainer` with no callbacks, fed by `TensorBatches`;
  (c) Lightning's `Trainer` on its normal input, DataLoaders over TensorDatasets, and the same
      again with `barebones=True` (Lightning's own minimal-overhead mode), when installed.

Why: a training library must not tax the step it wraps. The goals are b/a >= 0.97 (the
Trainer costs at most 3% over the hand-written loop) and b faster than c.

The job: scikit-learn's digits (64 standardised features, 10 classes, a fixed stratified
80/20 split held in memory), an MLP 64-256-256-10 with ReLU, Adam lr 1e-3, cross-entropy,
batch 64, the same epochs and seed everywhere; every model starts from identical weights.
All contenders run in one process, interleaved round by round (a, b, c, a, b, c, ...), so
machine noise hits them alike; each is warmed up once, untimed, and the median round counts.

Run: python benchmarks/trainer_overhead.py [--epochs 10] [--rounds 5] [--threads N] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from trainwell.train import TensorBatches, Trainer

try:
    import lightning as L
except ImportError:  # optional: pip install "trainwell[bench]" (or make bench)
    L = None

BATCH, VAL_BATCH, LR = 64, 1024, 1e-3
GOAL_RATIO = 0.97
NOISY_SPREAD = 1.25  # max/min samples/s of one contender over rounds above which to warn
INSTALL_HINT = 'pip install "trainwell[bench]"  (or: make bench)'


# --- the job ----------------------------------------------------------------------------------


@dataclass
class Data:
    X: torch.Tensor  # float32, standardised
    y: torch.Tensor  # int64
    Xv: torch.Tensor
    yv: torch.Tensor


def load_data() -> Data:
    """Digits, split 80/20 (stratified, random_state=0), standardised on the train part."""
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)

    def features(a: Any) -> torch.Tensor:
        return torch.tensor(scaler.transform(a), dtype=torch.float32)

    def labels(a: Any) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.int64)

    return Data(features(X_train), labels(y_train), features(X_val), labels(y_val))


def build_model(seed: int) -> nn.Module:
    """The same MLP, with the same initial weights, for every contender."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)
    )


def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=LR)


@dataclass
class Outcome:
    seconds: float  # training plus per-epoch validation
    val_accuracy: float  # after the last epoch


# --- (a) the plain loop -----------------------------------------------------------------------


def plain_train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    data: Data,
    generator: torch.Generator,
) -> float:
    """One shuffled pass; the loss is summed on the device and read once."""
    model.train()
    n = len(data.y)
    perm = torch.randperm(n, generator=generator)
    total, batches = torch.zeros(()), 0
    for start in range(0, n, BATCH):
        index = perm[start : start + BATCH]
        x, y = data.X[index], data.y[index]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.detach()
        batches += 1
    return float(total) / batches


@torch.no_grad()
def plain_evaluate(model: nn.Module, loss_fn: nn.Module, data: Data) -> tuple[float, float]:
    """Validation loss and accuracy, read once."""
    model.eval()
    n = len(data.yv)
    loss_sum, correct = torch.zeros(()), torch.zeros((), dtype=torch.int64)
    for start in range(0, n, VAL_BATCH):
        x, y = data.Xv[start : start + VAL_BATCH], data.yv[start : start + VAL_BATCH]
        out = model(x)
        loss_sum += loss_fn(out, y) * len(y)
        correct += (out.argmax(1) == y).sum()
    return float(loss_sum) / n, int(correct) / n


def run_plain(data: Data, epochs: int, seed: int) -> Outcome:
    model = build_model(seed)
    optimizer = build_optimizer(model)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    accuracy = 0.0
    started = time.perf_counter()
    for _ in range(epochs):
        plain_train_epoch(model, optimizer, loss_fn, data, generator)
        _, accuracy = plain_evaluate(model, loss_fn, data)
    return Outcome(time.perf_counter() - started, accuracy)


# --- (b) trainwell ----------------------------------------------------------------------------


def run_trainwell(data: Data, epochs: int, seed: int) -> Outcome:
    model = build_model(seed)
    optimizer = build_optimizer(model)
    train = TensorBatches(data.X, data.y, BATCH, seed=seed)
    val = TensorBatches(data.Xv, data.yv, VAL_BATCH, shuffle=False)
    started = time.perf_counter()
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), epochs=epochs, device="cpu")
    result = trainer.fit(train, val)
    seconds = time.perf_counter() - started
    return Outcome(seconds, result.history[-1]["val_accuracy"])


# --- (c) Lightning ----------------------------------------------------------------------------

if L is not None:

    class LitMLP(L.LightningModule):
        """The same model and optimizer. Standard mode logs with `self.log` (epoch means,
        accumulated on the device); barebones mode, where `self.log` is disabled, keeps the
        same sums itself and reads them once per epoch."""

        def __init__(self, seed: int, barebones: bool) -> None:
            super().__init__()
            self.model = build_model(seed)
            self.loss_fn = nn.CrossEntropyLoss()
            self.barebones = barebones
            self.train_loss, self.val_accuracy = 0.0, 0.0
            self._sums = torch.zeros(3)  # train loss, val loss * n, val correct

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
            x, y = batch
            loss = self.loss_fn(self.model(x), y)
            if self.barebones:
                self._sums[0] += loss.detach()
            else:
                self.log("train_loss", loss, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
            x, y = batch
            out = self.model(x)
            loss, correct = self.loss_fn(out, y), (out.argmax(1) == y).sum()
            if self.barebones:
                self._sums[1] += loss * len(y)
                self._sums[2] += correct
            else:
                self.log("val_loss", loss, batch_size=len(y))
                self.log("val_acc", correct / len(y), batch_size=len(y))

        def on_train_epoch_end(self) -> None:
            if self.barebones:  # read the epoch's train loss once, as (a) and (b) do
                self.train_loss = float(self._sums[0]) / self.trainer.num_training_batches
                self._sums[0] = 0.0

        def on_validation_epoch_end(self) -> None:
            if self.barebones:
                self.val_accuracy = float(self._sums[2]) / self._n_val
                self._sums[1:] = 0.0
            else:
                self.val_accuracy = float(self.trainer.callback_metrics["val_acc"])

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return build_optimizer(self.model)

        @property
        def _n_val(self) -> int:
            return len(self.trainer.val_dataloaders.dataset)


def quiet_lightning() -> None:
    """Lightning's info lines and its num_workers hint would drown the table."""
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")


def lightning_runner(barebones: bool) -> Callable[[Data, int, int], Outcome]:
    def run(data: Data, epochs: int, seed: int) -> Outcome:
        module = LitMLP(seed, barebones)
        train = DataLoader(
            TensorDataset(data.X, data.y),
            batch_size=BATCH,
            shuffle=True,
            generator=torch.Generator().manual_seed(seed),
        )
        val = DataLoader(TensorDataset(data.Xv, data.yv), batch_size=VAL_BATCH)
        options: dict[str, Any] = (
            {"barebones": True}
            if barebones
            else {
                "logger": False,
                "enable_checkpointing": False,
                "enable_progress_bar": False,
                "enable_model_summary": False,
                "num_sanity_val_steps": 0,
            }
        )
        started = time.perf_counter()
        trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, **options)
        trainer.fit(module, train, val)
        return Outcome(time.perf_counter() - started, module.val_accuracy)

    return run


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Contender:
    key: str
    name: str
    feeds: str  # what the contender is fed
    run: Callable[[Data, int, int], Outcome]


def contenders() -> list[Contender]:
    found = [
        Contender("a", "plain loop", "tensors", run_plain),
        Contender("b", "trainwell", "TensorBatches", run_trainwell),
    ]
    if L is not None:
        quiet_lightning()
        found += [
            Contender("c", "Lightning", "DataLoader", lightning_runner(barebones=False)),
            Contender("c_bare", "Lightning bare", "DataLoader", lightning_runner(barebones=True)),
        ]
    return found


def measure(
    entrants: list[Contender], data: Data, epochs: int, rounds: int, seed: int
) -> dict[str, list[Outcome]]:
    """Warm each up once (one untimed epoch), then interleave the timed rounds."""
    for entrant in entrants:
        entrant.run(data, 1, seed)
    outcomes: dict[str, list[Outcome]] = {entrant.key: [] for entrant in entrants}
    for _ in range(rounds):
        for entrant in entrants:
            gc.collect()
            outcomes[entrant.key].append(entrant.run(data, epochs, seed))
    return outcomes


def summarise(
    entrants: list[Contender],
    outcomes: dict[str, list[Outcome]],
    data: Data,
    epochs: int,
    rounds: int,
    threads: int,
) -> dict[str, Any]:
    """Samples/s per round (epochs * n_train / seconds): median, range, ratio to (a)."""
    samples = epochs * len(data.y)
    rows: dict[str, dict[str, Any]] = {}
    for entrant in entrants:
        rates = [samples / o.seconds for o in outcomes[entrant.key]]
        rows[entrant.key] = {
            "name": entrant.name,
            "feeds": entrant.feeds,
            "samples_per_s": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "seconds": [o.seconds for o in outcomes[entrant.key]],
            "val_accuracy": outcomes[entrant.key][-1].val_accuracy,
        }
    base = rows["a"]["samples_per_s"]
    for row in rows.values():
        row["ratio_to_a"] = row["samples_per_s"] / base
    b_over_a = rows["b"]["ratio_to_a"]
    paired = [a.seconds / b.seconds for a, b in zip(outcomes["a"], outcomes["b"], strict=True)]
    c_over_a = rows["c"]["ratio_to_a"] if "c" in rows else None
    noisy = sorted(key for key, row in rows.items() if row["max"] > NOISY_SPREAD * row["min"])
    return {
        "benchmark": "trainer_overhead",
        "torch": torch.__version__,
        "lightning": L.__version__ if L is not None else None,
        "threads": threads,
        "epochs": epochs,
        "rounds": rounds,
        "batch_size": BATCH,
        "n_train": len(data.y),
        "n_val": len(data.yv),
        "contenders": rows,
        "b_over_a": b_over_a,
        "b_over_a_per_round": paired,  # a noise gauge: each round's pair run back to back
        "c_over_a": c_over_a,
        "goals": {
            f"b/a >= {GOAL_RATIO}": b_over_a >= GOAL_RATIO,
            "b faster than c": None if c_over_a is None else b_over_a > c_over_a,
        },
        "noisy": noisy,  # contenders whose rounds spread widely: the machine was busy
        "skipped": [] if L is not None else [f"Lightning: not installed; {INSTALL_HINT}"],
    }


# --- reporting --------------------------------------------------------------------------------


def verdict(met: bool | None) -> str:
    return {True: "[green]met[/]", False: "[red]missed[/]", None: "[yellow]skipped[/]"}[met]


def print_report(results: dict[str, Any], console: Console) -> None:
    table = Table(
        title=(
            f"Trainer overhead: digits MLP, {results['epochs']} epochs x {results['n_train']}"
            f" samples, batch {results['batch_size']}; median of {results['rounds']} rounds"
        )
    )
    for column in ("contender", "input", "samples/s", "min-max", "vs (a)", "val acc"):
        table.add_column(column, justify="left" if column in ("contender", "input") else "right")
    for key, row in results["contenders"].items():
        table.add_row(
            f"({key}) {row['name']}",
            row["feeds"],
            f"{row['samples_per_s']:,.0f}",
            f"{row['min']:,.0f}-{row['max']:,.0f}",
            f"{row['ratio_to_a']:.3f}",
            f"{row['val_accuracy']:.4f}",
        )
    console.print(table)
    console.print(
        f"torch {results['torch']}, lightning {results['lightning'] or '-'},"
        f" {results['threads']} threads; samples/s = training samples per second of"
        " training plus per-epoch validation"
    )
    for line in results["skipped"]:
        console.print(f"skipped: {escape(line)}")
    if results["lightning"]:
        console.print(
            "(c) Lightning is fed DataLoaders over TensorDatasets, its normal input: the"
            " standard Lightning path; 'bare' is the same with Trainer(barebones=True)."
        )
    paired = results["b_over_a_per_round"]
    console.print(
        f"[bold]b/a = {results['b_over_a']:.3f}[/] (per round: median"
        f" {statistics.median(paired):.3f}, {min(paired):.3f}-{max(paired):.3f})",
        end="   ",
    )
    c_over_a = results["c_over_a"]
    console.print(f"[bold]c/a = {c_over_a:.3f}[/]" if c_over_a is not None else "c/a = -")
    caveat = " [yellow](unreliable: noisy rounds, see below)[/]" if results["noisy"] else ""
    for goal, met in results["goals"].items():
        console.print(f"goal {goal}: {verdict(met)}{caveat if met is not None else ''}")
    if results["noisy"]:
        console.print(
            f"[yellow]warning: rounds of {', '.join(results['noisy'])} spread more than"
            f" {NOISY_SPREAD}x (max/min): the machine was busy; rerun on an idle one, with more"
            " --rounds or fewer --threads[/]"
        )


# --- the command ------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print a JSON object, not a table")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    console = Console(width=None if sys.stdout.isatty() else 100)
    if not args.json:
        console.print(f"torch threads: {torch.get_num_threads()}")
    data = load_data()
    entrants = contenders()
    outcomes = measure(entrants, data, args.epochs, args.rounds, args.seed)
    results = summarise(entrants, outcomes, data, args.epochs, args.rounds, args.threads)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
