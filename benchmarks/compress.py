"""`trainwell compress` on the digits MLP and CNN: size, speed and accuracy per variant,
against the issue's goals and its anchor, all in one process:

- the anchor (a reference run of onnxruntime's `quantize_dynamic` on the digits MLP):
  341 KB -> 90 KB (0.26x), 99.2% agreement, 113 -> 42 us per row at batch 1 (0.37x);
- `torch.nn.utils.prune` (masking 50% of the weights), timed in the same loop as the fp32
  model: the pitfall the issue names (nothing shrinks);
- the importance score against other criteria, by accuracy right after pruning (before
  fine-tuning): without its bias compensation, the L1 norm of each unit's incoming weights
  (Li et al. 2017), and random.

    python benchmarks/compress.py                # about two minutes on 2 cores
    python benchmarks/compress.py --quick        # smaller: fewer epochs and rounds
"""

from __future__ import annotations

import argparse
import copy
import io
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.utils.prune as torch_prune
from rich.console import Console
from rich.table import Table
from torch import nn

import trainwell
from trainwell.compress import importance, prune_network
from trainwell.compress._measure import latencies, torch_runner
from trainwell.compress._model import standardise
from trainwell.data import load_splits

ANCHOR = {"size": 90 / 341, "latency": 42 / 113, "agreement": 0.992}
MODELS = {
    "mlp": {"model": {"arch": "mlp", "hidden": [256, 256]}, "train": {"epochs": 20}},
    "cnn": {  # the demo's network
        "model": {"arch": "cnn", "channels": [16, 32], "hidden": [64], "dropout": 0.1},
        "train": {
            "epochs": 30,
            "lr": 0.003,
            "schedule": "cosine",
            "early_stopping": {"monitor": "val_loss", "patience": 5},
        },
    },
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--finetune", type=int, default=10)
    args = parser.parse_args()
    rounds = 10 if args.quick else 50
    console = Console(width=max(Console().width, 150))  # the table is wide
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for arch, config in MODELS.items():
            config = {"data": {"source": "digits"}, "doctor": {"mode": "off"}, **config}
            if args.quick:
                config["train"] = {**config["train"], "epochs": 8}
            started = time.perf_counter()
            run_dir = trainwell.fit(config, out=Path(tmp), report=False).run_dir
            result = trainwell.compress(
                run_dir,
                prune=0.5,
                finetune=args.finetune,
                threads=args.threads,
                rounds=rounds,
                report=False,
            )
            seconds = time.perf_counter() - started
            console.print(_table(arch, result, seconds))
            failures += _goals(console, arch, result)
            _masking(console, run_dir, args.threads, rounds)
            _criteria(console, run_dir)
    console.print("all goals met" if not failures else f"[red]{failures} goal(s) missed[/]")
    return 0


def _table(arch: str, result, seconds: float) -> Table:
    fp32 = result.variant("fp32")
    table = Table(
        title=f"digits {arch}: {result.test_rows} test rows, {result.threads} thread(s), "
        f"fit + compress {seconds:.0f} s"
    )
    for column in ("variant", "params", "bytes", "x fp32", "batch 1", "x fp32", "batch 64"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for column in ("accuracy", "agrees", "max |diff|"):
        table.add_column(column, justify="right")
    for v in result.variants:
        table.add_row(
            v.name,
            f"{v.parameters:,}",
            f"{v.bytes:,}",
            f"{v.bytes / fp32.bytes:.2f}",
            f"{1000 * v.latency_ms['1']:.1f} µs",
            f"{v.latency_ms['1'] / fp32.latency_ms['1']:.2f}",
            f"{v.latency_ms['64']:.3f} ms",
            f"{100 * v.accuracy:.1f}%",
            f"{100 * v.agreement:.1f}%",
            "-" if v.max_abs_diff is None else f"{v.max_abs_diff:.1e} ({v.source})",
        )
    return table


def _goals(console: Console, arch: str, result) -> int:
    """The issue's goals, each with the measured figure; returns how many were missed."""
    v = {variant.name: variant for variant in result.variants}
    fp32, onnx, int8, pruned = v["fp32"], v["onnx"], v["int8"], v["pruned"]
    size, latency = int8.bytes / onnx.bytes, int8.latency_ms["1"] / fp32.latency_ms["1"]
    goals = [
        ("ONNX fp32 max |diff| <= 1e-4", onnx.max_abs_diff <= 1e-4, f"{onnx.max_abs_diff:.1e}"),
        ("ONNX fp32 agreement 100%", onnx.agreement == 1.0, f"{100 * onnx.agreement:.1f}%"),
        (
            "int8 file <= 0.3x fp32 ONNX",
            size <= 0.3,
            f"{size:.2f}x (anchor {ANCHOR['size']:.2f}x; vs model.pt "
            f"{int8.bytes / fp32.bytes:.2f}x)",
        ),
        (
            "int8 agreement >= 99%",
            int8.agreement >= 0.99,
            f"{100 * int8.agreement:.1f}% (anchor {100 * ANCHOR['agreement']:.1f}%)",
        ),
        (
            "int8 accuracy within 0.5 points",
            fp32.accuracy - int8.accuracy <= 0.005,
            f"{100 * (int8.accuracy - fp32.accuracy):+.1f} points",
        ),
        (
            "int8 batch-1 latency below fp32 PyTorch",
            latency < 1,
            f"{latency:.2f}x (anchor {ANCHOR['latency']:.2f}x)",
        ),
        (
            "pruned accuracy within 1 point",
            fp32.accuracy - pruned.accuracy <= 0.01,
            f"{100 * (pruned.accuracy - fp32.accuracy):+.1f} points",
        ),
        (
            "pruned parameters and file <= 0.5x",
            pruned.parameters <= 0.5 * fp32.parameters and pruned.bytes <= 0.5 * fp32.bytes,
            f"{pruned.parameters / fp32.parameters:.2f}x, {pruned.bytes / fp32.bytes:.2f}x",
        ),
        (
            "pruned latency lower (batch 1 and 64)",
            all(pruned.latency_ms[b] < fp32.latency_ms[b] for b in ("1", "64")),
            f"{pruned.latency_ms['1'] / fp32.latency_ms['1']:.2f}x, "
            f"{pruned.latency_ms['64'] / fp32.latency_ms['64']:.2f}x",
        ),
    ]
    missed = 0
    for name, met, figure in goals:
        missed += not met
        mark = "[green]met[/]   " if met else "[red]missed[/]"
        console.print(f"  {mark} {arch}: {name}: {figure}", highlight=False)
    return missed


def _masking(console: Console, run_dir: Path, threads: int, rounds: int) -> None:
    """torch.nn.utils.prune at 50%: the zeros stay in the file and in every multiplication."""
    run = trainwell.load_run(run_dir)
    model, masked = run.model, copy.deepcopy(run.model)
    for layer in masked.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            torch_prune.l1_unstructured(layer, "weight", amount=0.5)
            torch_prune.remove(layer, "weight")
    X = standardise(load_splits(run.config).test.X, run.info)
    times = latencies(
        {"fp32": torch_runner(model), "masked": torch_runner(masked)},
        X,
        threads=threads,
        rounds=rounds,
    )
    size = _bytes(masked) / _bytes(model)
    speed = times["masked"]["1"] / times["fp32"]["1"]
    console.print(
        f"  anchor torch.nn.utils.prune (50% of weights masked): file {size:.2f}x, "
        f"batch-1 latency {speed:.2f}x of fp32",
        highlight=False,
    )


def _criteria(console: Console, run_dir: Path) -> None:
    """Accuracy right after pruning 50% (no fine-tune), by the criterion that chose units."""
    run = trainwell.load_run(run_dir)
    data = load_splits(run.config)
    X_train = torch.from_numpy(standardise(data.train.X, run.info))
    X_test = torch.from_numpy(standardise(data.test.X, run.info))
    ours = importance(run.model, X_train)
    layers = list(run.model.net)
    l1 = {i: layers[i].weight.detach().abs().reshape(len(s), -1).sum(1) for i, s in ours.items()}
    generator = torch.Generator().manual_seed(0)
    rand = {i: torch.rand(len(s), generator=generator) for i, s in ours.items()}
    shown = []
    criteria = (
        ("std(a) x |w_next|, mean to the bias (trainwell)", ours, True),
        ("the same without the bias", ours, False),
        ("L1 of the unit's weights", l1, True),
        ("random", rand, True),
    )
    for name, scores, compensate in criteria:
        pruned = prune_network(
            run.model,
            run.config.model,
            run.info.input_shape,
            run.info.n_outputs,
            X_train,
            0.5,
            scores=scores,
            compensate=compensate,
        ).model
        with torch.no_grad():
            accuracy = (pruned(X_test).argmax(1).numpy() == data.test.y).mean()
        shown.append(f"{name} {100 * accuracy:.1f}%")
    console.print(f"  right after pruning 50%, before fine-tuning: {'; '.join(shown)}")


def _bytes(model: nn.Module) -> int:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return len(buffer.getvalue())


if __name__ == "__main__":
    sys.exit(main())
