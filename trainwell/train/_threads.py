"""How many intra-op threads a run should use: from its work and the CPUs it really has.

Tiny networks gain nothing from a second thread, and every network loses everything when
its threads share cores with another busy process: they wait on each other at every op. So
the count follows the work of one training step (counted from one forward pass of one row)
and never exceeds the CPUs this process may use (its affinity and its cgroup's quota, not
the host's count) that other work is not running on when the run starts.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ..cpus import available_cpus, free_cpus

FLOPS_PER_THREAD = 10e6  # a training step needs this much work per thread to gain from it


@dataclass(frozen=True)
class ThreadChoice:
    threads: int
    available: int  # CPUs this process may use
    step_flops: float | None  # one training step (forward and backward), None if not counted
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def step_flops(model: nn.Module, sample: torch.Tensor, batch_size: int) -> float | None:
    """FLOPs of one training step on `batch_size` rows like `sample`: the multiply-adds of
    every linear and convolution layer in one forward pass of one row (hooks read the output
    shapes), times the batch, times 3 (the backward costs about twice the forward)."""
    flops = [0.0]

    def count(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, nn.Linear):
            flops[0] += 2.0 * module.in_features * output.numel()
        else:  # a convolution: each output value sums in_channels / groups x kernel products
            kernel = math.prod(module.kernel_size) * module.in_channels / module.groups
            flops[0] += 2.0 * kernel * output.numel()

    layers = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, layers)]
    was_training = model.training
    model.eval()  # no batch-norm statistics or dropout draws moved by counting
    try:
        with torch.no_grad():
            model(sample[:1].to(next(model.parameters()).device))
    except Exception:  # a module that will not take one row: no count, no harm
        return None
    finally:
        model.train(was_training)
        for hook in hooks:
            hook.remove()
    return 3.0 * batch_size * flops[0] if flops[0] else None


def choose_threads(
    requested: str | int, model: nn.Module, sample: torch.Tensor, batch_size: int
) -> ThreadChoice:
    """`requested` threads if a number; for "auto", one per `FLOPS_PER_THREAD` of a step's
    work, at least 1 and at most the CPUs free of other work (or `OMP_NUM_THREADS`, set)."""
    available = available_cpus()
    if requested != "auto":
        return ThreadChoice(int(requested), available, None, "train.threads")
    limit = _omp_limit()
    if limit is None:
        most = free_cpus()
        cpus = f"{most} of {available} CPUs free"
    else:  # the caller's cap, not the load: the run is the same whatever else runs
        most, cpus = min(limit, available), f"OMP_NUM_THREADS={limit}"
    flops = step_flops(model, sample, batch_size)
    if flops is None:
        return ThreadChoice(most, available, None, f"work not countable: {cpus}")
    threads = max(1, min(most, int(flops // FLOPS_PER_THREAD)))
    return ThreadChoice(threads, available, flops, f"{flops / 1e6:.0f} MFLOP per step; {cpus}")


def _omp_limit() -> int | None:
    """`OMP_NUM_THREADS` where set to a positive number: the caller's cap (a user's, or
    torchrun's share per rank), which "auto" keeps under instead of the CPUs free at the
    start, which move with other work."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None


@contextlib.contextmanager
def use_threads(threads: int | None) -> Iterator[None]:
    """Run the block on `threads` intra-op threads (None: as they are), then put back the
    caller's count."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
