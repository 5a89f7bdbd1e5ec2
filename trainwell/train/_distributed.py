"""Data-parallel training on `torch.distributed` (DDP), as `torchrun` launches it.

Every rank holds the whole (in-memory) data set and draws the same shuffled order from the
same seeded generator; each global batch of `batch_size × ranks` rows is split into one
contiguous slice per rank. With the loss weighted by each rank's share of the global batch,
DDP's average of the gradients is exactly the gradient of the global batch: two ranks of
batch 32 train as one process of batch 64 does (up to floating-point summation order). The
generator advances in lockstep on every rank and is saved in checkpoints, which plays the part
of `DistributedSampler.set_epoch`; a user's own DataLoader with a `DistributedSampler` gets
`set_epoch` called by the Trainer.

Evaluation splits the rows, without padding or duplicates, and sums counts (loss sum, row
count, the confusion matrix, regression sums) over ranks, so every rank gets the metrics a
single process computes on the whole set. Nothing here writes a file: rank 0 is the one
writer, and the pipeline asks `is_writer()` before it writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ._batches import TensorBatches, batch_bounds, unwrap


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job: `world` ranks, this one `rank` (`local_rank` on its
    machine). One process without torchrun is rank 0 of 1."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    local_world: int = 1  # ranks on this machine

    @property
    def active(self) -> bool:
        """More than one rank: collectives are needed."""
        return self.world > 1


def ranks() -> Ranks:
    """The process group's ranks once initialised; else rank 0 of 1."""
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return Ranks(dist.get_rank(), dist.get_world_size(), local, local_world)
    return Ranks()


def is_writer() -> bool:
    """Whether this process writes files: rank 0, or a process outside any job. Read from the
    environment too, so it holds before the process group exists."""
    return ranks().rank == 0 and os.environ.get("RANK", "0") == "0"


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_from_env() -> bool:
    """Join the process group that torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
    MASTER_ADDR/PORT) describes: gloo for CPU tensors, and NCCL for CUDA tensors where there
    is a GPU (one per rank, `cuda:LOCAL_RANK`). Returns whether this call created it (and so
    should destroy it); False outside torchrun, or when the caller had already made one."""
    if not launched_by_torchrun() or not dist.is_available() or dist.is_initialized():
        return False
    if os.environ.get("TRAINWELL_NPROC"):  # started by `fit --nproc`: die with it
        _die_with_launcher()
    if torch.cuda.is_available():  # untested here: no GPU where this was written
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("cpu:gloo,cuda:nccl")
    else:
        dist.init_process_group("gloo")
    return True


def _die_with_launcher() -> None:
    """Have Linux kill this rank when its launcher dies (even by SIGKILL, which the launcher
    cannot forward): an orphaned rank would train on and finish the run behind the user's
    back, where they expect to `--resume` it."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: an orphan finishes its run instead
        return
    if os.getppid() == 1:  # the launcher died before the line above
        os._exit(1)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """`None`/"auto": CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def rank_device(device: torch.device) -> torch.device:
    """The device of this rank: `cuda:LOCAL_RANK` for CUDA under a job."""
    if device.type == "cuda" and device.index is None and ranks().active:
        return torch.device("cuda", ranks().local_rank)
    return device


# --- agreeing on Python objects ------------------------------------------------------------


def from_writer(value: Any) -> Any:
    """Rank 0's `value` on every rank (pickled: for plans, checkpoints, run paths)."""
    if not ranks().active:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(value: Any) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank."""
    if not ranks().active:
        return [value]
    values: list[Any] = [None] * ranks().world
    dist.all_gather_object(values, value)
    return values


def first_found(value: Any) -> Any:
    """The first rank's non-None `value`, on every rank (e.g. which layer went non-finite:
    only the rank whose batch went bad knows)."""
    return next((v for v in gather_objects(value) if v is not None), None)


# --- reductions ----------------------------------------------------------------------------


def sum_over_ranks(t: torch.Tensor) -> torch.Tensor:
    """`t` summed over ranks, in place (every rank gets the same bits)."""
    if ranks().active:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def max_over_ranks(value: float) -> float:
    """The largest `value` over ranks."""
    if not ranks().active:
        return value
    t = torch.tensor(
        [float(value)],
        dtype=torch.float64,
    )
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t)


def mean_over_ranks(t: torch.Tensor) -> torch.Tensor:
    """`t` averaged over ranks, in place; a NaN on one rank is a NaN on all."""
    if ranks().active:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        t /= ranks().world
    return t


def average_gradients(params: list[torch.Tensor]) -> None:
    """Average gradients over ranks by hand, as DDP does (for micro-batches run under
    `no_sync` that no complete accumulation followed)."""
    for p in params:
        if p.grad is not None:
            mean_over_ranks(p.grad)


def global_rows_source(batches: Any) -> Any:
    """The batches that count the global batch's rows: `batches` or one it wraps."""
    return unwrap(batches, lambda b: hasattr(b, "global_rows"))


def share_of_global_batch(batches: Any, rows: int, world: int) -> float:
    """The weight of a rank's mean loss over `rows`: `rows × ranks / global rows`. DDP
    averages gradients over ranks, and with these weights that average is the gradient of
    the global batch's mean loss, even when the last batch splits unevenly. 1 (DDP's plain
    average) when `batches` does not say how many rows the global batch had (a user's
    DataLoader: a DistributedSampler pads every rank to the same size anyway)."""
    total = getattr(global_rows_source(batches), "global_rows", None)
    return rows * world / total if total else 1.0


def sync_buffers(model: nn.Module) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), which each rank's last
    forward pass updated from its own rows: evaluation and saved weights must be of one model.
    """
    if ranks().active:
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    """The DDP wrapper that trains `model` (which stays the module callbacks see); the model
    itself outside a job. Wrapping broadcasts rank 0's weights to every rank."""
    if not ranks().active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


# --- batches -------------------------------------------------------------------------------


class ShardedBatches:
    """This rank's contiguous slice of each global batch of `batches` (whose batch size is
    the global one). A final global batch with fewer rows than ranks is skipped on every rank
    (DDP needs every rank to step together, and a rank cannot step on no rows)."""

    sharded = True

    def __init__(self, batches: Any, rank: int, world: int) -> None:
        self.batches, self.rank, self.world = batches, rank, world
        self.global_rows: int | None = None  # of the batch last yielded

    def __len__(self) -> int:
        size, rows = getattr(self.batches, "batch_size", None), getattr(self.batches, "y", None)
        if not size or rows is None:
            return len(self.batches)
        bounds = batch_bounds(len(rows), size)
        return sum(stop - start >= self.world for start, stop in bounds)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            if len(y) < self.world:
                continue
            self.global_rows = len(y)  # for the loss weights (`share_of_global_batch`)
            yield x.tensor_split(self.world)[self.rank], y.tensor_split(self.world)[self.rank]

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.batches, "set_epoch"):
            self.batches.set_epoch(epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches.load_state_dict(state)


class _RowShare(TensorBatches):
    """Ordered batches of this rank's share of an evaluation set: `Trainer.evaluate` sums
    their counts over ranks."""

    sharded = True


def eval_batches(
    X: torch.Tensor, y: torch.Tensor, batch_size: int, *, device: torch.device | None = None
) -> TensorBatches:
    """Ordered batches for evaluation; under a job, of this rank's contiguous share of the
    rows: every row on exactly one rank, none repeated (shares differ by at most one row)."""
    r = ranks()
    if not r.active:
        return TensorBatches(X, y, batch_size, shuffle=False, device=device)
    share = X.tensor_split(r.world)[r.rank], y.tensor_split(r.world)[r.rank]
    return _RowShare(*share, batch_size, shuffle=False, device=device)


def reduce_counts(loss_sum: torch.Tensor, count: int, *counts: torch.Tensor) -> list:
    """Sum a loss sum, a row count and count tensors (confusion matrix, regression sums)
    over ranks in one collective; returns [loss_sum, count, *counts] summed, in float64."""
    device = loss_sum.device
    parts = [loss_sum.double().reshape(1), torch.tensor([float(count)], device=device)]
    parts += [c.to(device).double().reshape(-1) for c in counts]
    flat = sum_over_ranks(torch.cat([p.double() for p in parts]))
    out, start = [], 0
    for p, shape in zip(parts, [None, None, *(c.shape for c in counts)], strict=True):
        chunk = flat[start : start + p.numel()]
        out.append(chunk.reshape(shape) if shape is not None else chunk[0])
        start += p.numel()
    return out
