"""Remedies that change how the network is stepped: the learning rate (and the schedule's
own rates, so that it lasts), the momentum, gradient clipping, the optimizer, the batches.
The network's weights are kept."""

from __future__ import annotations

import gc
import math
from typing import Any

import torch

from ..train import Trainer
from ._evidence import ADAM_LR, ADAPTIVE, momentum
from ._rebuild import NotApplicable, Rebuild

# Where schedules keep the rates they compute from: scaling all of them scales the whole
# schedule, so a schedule does not undo the change at its next step.
_GROUP_RATES = ("lr", "initial_lr", "max_lr", "min_lr")  # OneCycle keeps its peak here
_SCHEDULE_RATES = ("base_lrs", "_last_lr", "min_lrs", "max_lrs")  # cosine, step, plateau, cyclic
_SCHEDULE_FLOORS = ("eta_min",)  # cosine's floor


def scale_lr(trainer: Trainer, factor: float) -> None:
    """Multiply the learning rate by `factor`, and with it every rate the schedule (if any)
    derives later rates from: the peak of OneCycle, the base of cosine and step schedules."""
    for group in trainer.optimizer.param_groups:
        scale_group_rates(group, factor)
    scale_schedule(trainer.scheduler, factor)


def scale_schedule(scheduler: object, factor: float) -> None:
    """Multiply the rates a schedule computes the group's rate from (none: no schedule)."""
    for key in _SCHEDULE_RATES:
        rates = getattr(scheduler, key, None)
        if isinstance(rates, list):
            setattr(scheduler, key, [rate * factor for rate in rates])
    for key in _SCHEDULE_FLOORS:
        if isinstance(getattr(scheduler, key, None), float | int):
            setattr(scheduler, key, getattr(scheduler, key) * factor)


def schedulers_of(optimizer: torch.optim.Optimizer) -> list[object]:
    """The learning-rate schedulers built on `optimizer`. A hand-written loop's doctor is
    handed the optimizer only, and a schedule that recomputes the rate from its own base
    rates at every step (LambdaLR, cosine) would undo a lower rate at the next one. Asked of
    the garbage collector, which knows what refers to the optimizer: at a remedy only."""
    return [
        obj
        for obj in gc.get_referrers(optimizer)
        if getattr(obj, "optimizer", None) is optimizer
        and hasattr(obj, "step")
        and any(hasattr(obj, key) for key in _SCHEDULE_RATES)
    ]


def scale_group_rates(group: dict[str, Any], factor: float) -> None:
    """Multiply an optimizer param group's rate and the rates a schedule keeps in it."""
    for key in _GROUP_RATES:
        if isinstance(group.get(key), float | int):
            group[key] = group[key] * factor


def _set_lr(trainer: Trainer, rebuild: Rebuild, factor: float) -> str:
    """`train.lr` (the rate a schedule scales) times `factor`, named as the repaired config
    has it; where a schedule has moved the live rate away from it, that one too."""
    train, live = rebuild.config.train, trainer.lr
    before = train.lr
    scale_lr(trainer, factor)
    train.lr *= factor
    changed = f"train.lr: {before:g} -> {train.lr:g}"
    if not math.isclose(live, before, rel_tol=1e-6):
        changed += f" (the schedule's rate now: {live:g} -> {trainer.lr:g})"
    return changed


USUAL_MOMENTUM = 0.9  # SGD's common default, and trainwell's
# Heavy-ball momentum above OneCycle's top (0.95) makes SGD underdamped: each step carries
# most of the ones before, the effective step is lr / (1 - momentum), 5-10x that of 0.9 at
# 0.98-0.99, and a swing across the valley decays by only sqrt(momentum) a step (Goh 2017,
# "Why momentum really works"). A lower rate shrinks such a swing but keeps it.
HEAVY_MOMENTUM = 0.95


def lower_lr(trainer: Trainer, rebuild: Rebuild) -> str:
    return _set_lr(trainer, rebuild, 0.1)


def lower_momentum(trainer: Trainer, rebuild: Rebuild) -> str:
    changed = damp_momentum(trainer.optimizer)
    rebuild.config.train.momentum = USUAL_MOMENTUM
    return f"train.{changed}"


def damp_momentum(optimizer: torch.optim.Optimizer) -> str:
    """The usual 0.9 for a momentum above HEAVY_MOMENTUM (SGD's, RMSprop's), the rate kept:
    it damps the swing that a lower rate would only shrink. Also the top that a OneCycle
    schedule cycles it up to at every step."""
    before = momentum(optimizer) or 0.0
    if before <= HEAVY_MOMENTUM:
        raise NotApplicable(f"the momentum is {before:g}, not heavy")
    for group in optimizer.param_groups:
        for key in ("momentum", "max_momentum"):
            if key in group:
                group[key] = min(float(group[key]), USUAL_MOMENTUM)
    return f"momentum: {before:g} -> {USUAL_MOMENTUM:g}"


def raise_lr(trainer: Trainer, rebuild: Rebuild) -> str:
    """10x, to 1 at most, judged on the run's own rate (`train.lr`, the base a schedule
    scales: the live one can be 0 where cosine decay ends)."""
    base = rebuild.config.train.lr
    if base >= 1.0 or base <= 0.0:
        raise NotApplicable(f"the learning rate is {base:g}")
    return _set_lr(trainer, rebuild, min(10.0, 1.0 / base))


def clip_gradients(trainer: Trainer, rebuild: Rebuild) -> str:
    rebuild.config.train.grad_clip = 1.0
    trainer.set_grad_clip(1.0)
    return "train.grad_clip: 1.0"


def lower_lr_and_clip(trainer: Trainer, rebuild: Rebuild) -> str:
    return f"{lower_lr(trainer, rebuild)}, {clip_gradients(trainer, rebuild)}"


def clip_and_adam(trainer: Trainer, rebuild: Rebuild) -> str:
    """Clip, and let Adam at its default rate absorb the gradients' scale (on an adaptive
    optimizer at a runaway rate, that resets the rate)."""
    if isinstance(trainer.optimizer, torch.optim.Adam) and abs(trainer.lr - ADAM_LR) < 1e-9:
        name = type(trainer.optimizer).__name__
        raise NotApplicable(f"the optimizer is {name} at lr {ADAM_LR:g} already")
    return f"{clip_gradients(trainer, rebuild)}, {_to_adam(trainer, rebuild)}"


def switch_to_adam(trainer: Trainer, rebuild: Rebuild) -> str:
    """Per-weight step sizes at Adam's default rate, for a run that moves too slowly. An
    adaptive optimizer gets only the rate from it: raised to the default when far below it
    (Adam at 1e-5 barely moves), never lowered (on Adam at 0.002, "switching" to Adam at
    0.001 slowed a run that was too slow)."""
    if _adaptive_enough(trainer):
        name = type(trainer.optimizer).__name__
        raise NotApplicable(f"the optimizer is adaptive already ({name}, lr {trainer.lr:g})")
    return _to_adam(trainer, rebuild)


def _adaptive_enough(trainer: Trainer) -> bool:
    """An adaptive optimizer at Adam's default rate or above: Adam would add nothing."""
    return isinstance(trainer.optimizer, ADAPTIVE) and trainer.lr >= ADAM_LR


def _to_adam(trainer: Trainer, rebuild: Rebuild) -> str:
    """Adam at its default rate; AdamW stays AdamW, whose weight decay is decoupled from
    the adaptive step (Adam would turn it into an L2 term that the step scales away)."""
    train = rebuild.config.train
    before = f"{train.optimizer} lr {trainer.lr:g}"
    train.optimizer = "adamw" if train.optimizer == "adamw" else "adam"
    train.lr = ADAM_LR
    rebuild.new_optimizer(trainer)
    return f"train.optimizer: {before} -> {train.optimizer} lr {ADAM_LR:g}"


SMALL_BATCH = 64  # rows: the common default range is 32..256


def smaller_batches_and_adam(trainer: Trainer, rebuild: Rebuild) -> str:
    """Batches large for the data take few updates an epoch, and the run ends before it
    has converged: batches of 64 rows take many more steps from the same data (from the
    next epoch on, the weights kept), and Adam's per-weight steps converge in fewer of them
    where the optimizer is plain or crawling (as `switch_to_adam` judges). Either alone
    left a run at 1024-row batches of plain SGD far short of its healthy twin."""
    train = rebuild.config.train
    if train.batch_size <= SMALL_BATCH:
        raise NotApplicable(f"batches of {train.batch_size} rows are not large")
    if train.schedule == "onecycle":
        raise NotApplicable("a one-cycle schedule has counted its steps from the batch size")
    before = trainer.set_batch_size(SMALL_BATCH)
    if before is None:
        raise NotApplicable("the batches come from a DataLoader or are shared out across ranks")
    train.batch_size = SMALL_BATCH
    changed = (
        f"train.batch_size: {before} -> {SMALL_BATCH} ({trainer.steps_per_epoch} steps an epoch)"
    )
    return changed if _adaptive_enough(trainer) else f"{changed}, {_to_adam(trainer, rebuild)}"
