"""The learning rate of a network the doctor started over, measured by a range test.

A plain optimizer's step is its rate times the gradient, and a rebuild changes the
gradients' scale (a new initialisation, batch norm, another activation): the rate chosen for
the old network says little about the new one. Left as it was, a rate that suited a network
whose gradients exploded crawls on the healthy one, which is then cured but ends far short
of where it could (held-out-10: a He-initialised CNN with batch norm on SGD at 0.001 reached
0.55 test accuracy where its healthy twin reached 0.84). An adaptive optimizer's step is its
rate whatever the gradients' scale, so its rate is kept.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from ..config import RunConfig, Train
from ..train import TensorBatches, Trainer, range_test, suggest_lr
from ._evidence import ADAPTIVE

SWEEP_EPOCHS = 2  # the sweep costs at most this many epochs of steps ...
SWEEP_STEPS = (20, 100)  # ... within these: fewer cannot place a minimum
DECADES = (1, 3)  # swept from 10x below the rate to 1000x above it
RAISE_FROM = 2.0  # a measured rate under twice the run's leaves it as it is


def measured_rate(
    trainer: Trainer,
    config: RunConfig,
    model: nn.Module,
    make_optimizer: Callable[[Train, nn.Module], torch.optim.Optimizer],
) -> float | None:
    """A tenth of the rate at the lowest loss of a range test on a copy of the freshly built
    `model` (Smith's rule: the steepest part of the curve moves from seed to seed by 10x,
    its minimum by 2-3x), when that is over `RAISE_FROM` times the run's rate; else None.
    Never lower: a rate too high for the new network shows itself (divergence, an
    oscillating loss) and has remedies of its own. None also where the sweep cannot run
    alike everywhere: batches that are not in memory, or ranks that would each measure
    their own rate."""
    tensors, spec = trainer.train_tensors, config.train
    if tensors is None or trainer.ranks.active:
        return None
    batches = TensorBatches(*tensors, spec.batch_size, seed=config.seed)
    steps = min(SWEEP_EPOCHS * len(batches), SWEEP_STEPS[1])
    if steps < SWEEP_STEPS[0]:
        return None
    probe = copy.deepcopy(model)
    optimizer = make_optimizer(spec, probe)
    if isinstance(optimizer, ADAPTIVE):
        return None
    low, high = DECADES
    devices = [trainer.device] if trainer.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # the run draws what it would have drawn
        sweep = range_test(
            probe,
            optimizer,
            batches,
            start_lr=spec.lr / 10**low,
            end_lr=min(spec.lr * 10**high, 10.0),
            steps=steps,
            task=trainer.task,
            loss_fn=trainer.loss_fn,
            grad_clip=trainer.grad_clip,
            device=trainer.device,
        )
    try:
        rate = float(f"{suggest_lr(sweep.lrs, sweep.losses).lr_at_min / 10:.2g}")
    except ValueError:  # too few finite losses to read a minimum from
        return None
    return rate if rate > RAISE_FROM * spec.lr else None
