"""Data-parallel training: trainwell's Trainer under torchrun against hand-written loops.

What it measures: training throughput (samples per second over all ranks, per-epoch
validation excluded) of one small job, run in torchrun workers (gloo on CPUs, NCCL on GPUs):

  1 rank:  (a) a plain PyTorch loop   (b) trainwell's Trainer (what `fit --nproc 1` runs)
  N ranks: (c) a plain DDP loop (a DistributedSampler's rows)   (d) trainwell's Trainer (DDP)

and reports b/a (the Trainer's cost at one rank: goal >= 0.97), d/c (the cost of trainwell's
DDP path: the global-batch loss it all-reduces each step), and the scaling efficiency
d / (N × b). The per-rank batch is the same everywhere, so N ranks train on an N times
larger global batch, and every rank gets CPUs / N threads in both launches (adding a rank
adds its cores). On a machine with 2 CPU cores, 2 ranks share them: expect no speed-up
(efficiency near or below 0.5); the number is reported as measured.

The job: scikit-learn's digits (as in `trainer_overhead.py`), an MLP 64-256-256-10, Adam,
per-rank batch 64. Each contender is warmed up for one epoch, then timed over `--epochs`;
the median of `--rounds` rounds counts. bf16 (`--precision bf16`) and CUDA are code paths
here, untested on a GPU where this was written.

Run: python benchmarks/ddp.py [--nproc 2] [--epochs 10] [--rounds 3] [--device cpu] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.distributed as dist
from rich.console import Console
from rich.table import Table
from torch import nn
from torch.utils.data import DistributedSampler
from trainer_overhead import build_model, build_optimizer, load_data

from trainwell.train import ShardedBatches, TensorBatches, Trainer, init_from_env, ranks

BATCH = 64


def _plain(data, epochs: int, device: torch.device) -> float:
    """Samples per second of a hand-written loop over in-memory tensors (DDP, with the row
    order of a DistributedSampler, when the process group has more than one rank)."""
    r = ranks()
    model = build_model(0).to(device)
    net = nn.parallel.DistributedDataParallel(model) if r.active else model
    optimizer, loss_fn = build_optimizer(model), nn.CrossEntropyLoss()
    X, y = data.X.to(device), data.y.to(device)
    sampler = DistributedSampler(range(len(y)), r.world, r.rank, seed=0)
    seen, started = 0, 0.0
    for epoch in range(epochs + 1):  # epoch 0 warms up, untimed
        sampler.set_epoch(epoch)
        order = torch.tensor(list(sampler), device=device)
        if epoch == 1:
            _barrier(device)
            started, seen = time.perf_counter(), 0
        for start in range(0, len(order), BATCH):
            index = order[start : start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(net(X[index]), y[index]).backward()
            optimizer.step()
            seen += len(index)
    _barrier(device)
    return seen * r.world / (time.perf_counter() - started)


def _trainwell(data, epochs: int, device: torch.device, precision: str) -> float:
    """Samples per second of trainwell's Trainer (DDP when the group has several ranks)."""
    r = ranks()
    model = build_model(0)
    batches = TensorBatches(data.X, data.y, BATCH * r.world, seed=0, device=device)
    train = ShardedBatches(batches, r.rank, r.world) if r.active else batches
    trainer = Trainer(model, build_optimizer(model), epochs=1, device=device, precision=precision)
    trainer.fit(train)  # warm-up
    trainer.epochs = 1 + epochs
    _barrier(device)
    started = time.perf_counter()
    result = trainer.fit(train)
    _barrier(device)
    return (result.steps and len(data.y) * epochs) / (time.perf_counter() - started)


def _barrier(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
    if ranks().active:
        dist.barrier()


def worker(args: argparse.Namespace) -> None:
    """One torchrun rank: time the contenders round by round; rank 0 writes the results."""
    init_from_env()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    device = torch.device(args.device)
    if device.type == "cuda":
        device = torch.device("cuda", ranks().local_rank)
    data = load_data()
    results: dict[str, list[float]] = {"plain": [], "trainwell": []}
    for _ in range(args.rounds):
        results["plain"].append(_plain(data, args.epochs, device))
        results["trainwell"].append(_trainwell(data, args.epochs, device, args.precision))
    if ranks().rank == 0:
        Path(args.worker).write_text(json.dumps(results))
    if dist.is_initialized():
        dist.destroy_process_group()


def _launch(nproc: int, args: argparse.Namespace, out: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(args.threads),
        "GLOO_SOCKET_IFNAME": "lo",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={nproc}", __file__, "--worker", str(out)]
    command += ["--epochs", str(args.epochs), "--rounds", str(args.rounds)]
    command += ["--device", args.device, "--precision", args.precision]
    subprocess.run(command, env=env, check=True, capture_output=True)
    return {k: statistics.median(v) for k, v in json.loads(out.read_text()).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.threads = max(1, (os.cpu_count() or 1) // args.nproc)  # per rank, in both launches
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        one = _launch(1, args, Path(tmp) / "one.json")
        many = _launch(args.nproc, args, Path(tmp) / "many.json")
    result = {
        "nproc": args.nproc,
        "device": args.device,
        "precision": args.precision,
        "cpus": os.cpu_count(),
        "threads_per_rank": args.threads,
        "samples_per_second": {
            "plain_1": one["plain"],
            "trainwell_1": one["trainwell"],
            f"plain_ddp_{args.nproc}": many["plain"],
            f"trainwell_ddp_{args.nproc}": many["trainwell"],
        },
        "trainwell_vs_plain_1": one["trainwell"] / one["plain"],
        "trainwell_vs_plain_ddp": many["trainwell"] / many["plain"],
        "scaling_efficiency": many["trainwell"] / (args.nproc * one["trainwell"]),
        "plain_scaling_efficiency": many["plain"] / (args.nproc * one["plain"]),
    }
    if args.json:
        print(json.dumps(result))
        return
    table = Table(title=f"digits MLP, per-rank batch {BATCH}, {args.device} {args.precision}")
    for column in ("ranks", "plain loop (samples/s)", "trainwell (samples/s)", "trainwell/plain"):
        table.add_column(column, justify="right")
    table.add_row("1", f"{one['plain']:,.0f}", f"{one['trainwell']:,.0f}",
                  f"{result['trainwell_vs_plain_1']:.3f}")  # fmt: skip
    table.add_row(str(args.nproc), f"{many['plain']:,.0f}", f"{many['trainwell']:,.0f}",
                  f"{result['trainwell_vs_plain_ddp']:.3f}")  # fmt: skip
    console = Console()
    console.print(table)
    console.print(
        f"scaling efficiency at {args.nproc} ranks (throughput / ({args.nproc} × one rank)): "
        f"trainwell {result['scaling_efficiency']:.2f}, plain DDP "
        f"{result['plain_scaling_efficiency']:.2f}, on {os.cpu_count()} CPUs, "
        f"{args.threads} thread(s) per rank"
    )


if __name__ == "__main__":
    main()
