"""Finding the first non-finite loss among an epoch's losses, which the Trainer keeps on the
device and checks only every `check_every` steps (one host sync each time, never per step).

Under DDP each rank holds its own loss sums and row counts until a check turns them, in one
collective, into the global batches' mean losses, so every rank finds the same step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ._distributed import sum_over_ranks

if TYPE_CHECKING:
    from ._trainer import Trainer


def first_nonfinite(trainer: Trainer, last: int) -> tuple[int, bool | None] | None:
    """(step, were its inputs finite) of the first non-finite loss among the `last`
    losses, or None; the inputs' finiteness is None when no callback asked for it."""
    if trainer.ranks.active:
        _reduce_losses(trainer)
    losses = torch.stack(trainer._losses[-last:]).float()
    finite = torch.isfinite(losses).cpu()
    if bool(finite.all()):
        return None
    index = int((~finite).nonzero()[0])
    step = trainer._loss_steps[len(trainer._losses) - last + index]
    extremes = trainer._input_extremes[-last:]
    inputs_finite = (
        bool(torch.isfinite(torch.stack(extremes[index])).all()) if len(extremes) == last else None
    )
    if trainer.ranks.active and inputs_finite is not None:  # bad inputs on any rank count
        bad = torch.tensor([float(not inputs_finite)], device=trainer.device)
        inputs_finite = not bool(sum_over_ranks(bad))
    return step, inputs_finite


def input_extremes(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch's smallest and largest input: both finite exactly when every input is (NaN
    propagates, +-inf is an extreme). One reduction, where `isfinite(x).all()` is two
    kernels and a mask the size of the batch: 8 against 75 µs a step for 64 images of
    28x28 on a CPU; a sum would be cheaper but overflows on large finite values (NetCDF's
    fill value 9.97e36). Integer inputs (token ids) are finite."""
    if not x.is_floating_point() or not x.numel():
        return _ZERO, _ZERO
    return torch.aminmax(x.detach())


_ZERO = torch.zeros(())


def _reduce_losses(trainer: Trainer) -> None:
    """DDP: turn this rank's loss sums since the last check into the global batches' mean
    losses, in one collective (every rank calls it at the same points)."""
    start = trainer._reduced
    if start == len(trainer._losses):
        return
    rows = torch.tensor(trainer._loss_rows[start:], dtype=torch.float32, device=trainer.device)
    sums = sum_over_ranks(torch.cat([torch.stack(trainer._losses[start:]), rows]))
    n = len(rows)
    trainer._losses[start:] = list((sums[:n] / sums[n:]).unbind())
    trainer._reduced = len(trainer._losses)
