"""Throughput of trainwell's Trainer per precision (fp32, bf16, fp16), against a plain loop.

Mixed precision is a GPU feature: on CUDA it should raise throughput, on a CPU it mostly
costs. Each precision is run by a hand-written loop with the same autocast/GradScaler calls
and by the Trainer, interleaved in one process, so the ratio Trainer/plain is the
Trainer's overhead at that precision. Run it on the machine you care about:

    python benchmarks/precision.py                # CUDA when available, else CPU (smaller)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from trainwell import TensorBatches, Trainer

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def make_data(n: int, d: int, classes: int, device: torch.device):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g)
    y = (X @ torch.randn(d, classes, generator=g)).argmax(1)
    return X.to(device), y.to(device)


def make_model(d: int, width: int, classes: int) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(d, width),
        nn.ReLU(),
        nn.Linear(width, width),
        nn.ReLU(),
        nn.Linear(width, classes),
    )


def plain(model, X, y, batch, epochs, precision, device) -> None:
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        total = torch.zeros((), device=device)
        for idx in torch.randperm(len(y), generator=g).to(device).split(batch):
            ctx = (
                torch.autocast(device.type, dtype=DTYPES[precision])
                if precision != "fp32"
                else contextlib.nullcontext()
            )
            with ctx:
                loss = loss_fn(model(X[idx]), y[idx])
            if scaler:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            else:
                loss.backward()
                opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.detach()
        float(total)  # one sync per epoch, as the Trainer does


def trainwell_fit(model, X, y, batch, epochs, precision, device) -> None:
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 1e-3),
        epochs=epochs,
        precision=precision,
        device=device,
    )
    trainer.fit(TensorBatches(X, y, batch, seed=0))


def timed(fn, *args) -> float:
    if args[-1].type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(*args)
    if args[-1].type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    cuda = device.type == "cuda"
    n, d, width, batch, epochs = (
        (400_000, 512, 4096, 8192, 3) if cuda else (20_000, 64, 256, 256, 2)
    )
    X, y = make_data(n, d, 10, device)
    precisions = ["fp32", "bf16", "fp16"]
    results: dict[str, dict[str, list[float]]] = {
        p: {"plain": [], "trainwell": []} for p in precisions
    }
    for round_ in range(args.rounds + 1):  # round 0 warms up kernels and autotuning
        for precision in precisions:
            for name, fn in (("plain", plain), ("trainwell", trainwell_fit)):
                seconds = timed(
                    fn, make_model(d, width, 10).to(device), X, y, batch, epochs, precision, device
                )
                if round_:
                    results[precision][name].append(n * epochs / seconds)
    rows = {p: {k: statistics.median(v) for k, v in r.items()} for p, r in results.items()}
    name = torch.cuda.get_device_name() if cuda else "CPU"
    if args.json:
        print(json.dumps({"device": name, "samples_per_second": rows}))
        return
    table = Table(
        title=f"MLP {d}-{width}-{width}-10, batch {batch}, {n} rows x {epochs} epochs "
        f"on {name} (median of {args.rounds})"
    )
    for column in (
        "precision",
        "plain samples/s",
        "trainwell samples/s",
        "trainwell/plain",
        "vs fp32 (trainwell)",
    ):
        table.add_column(column, justify="right")
    for p, r in rows.items():
        table.add_row(
            p,
            f"{r['plain']:,.0f}",
            f"{r['trainwell']:,.0f}",
            f"{r['trainwell'] / r['plain']:.3f}",
            f"{r['trainwell'] / rows['fp32']['trainwell']:.2f}x",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
