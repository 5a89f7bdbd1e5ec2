"""What the loop's doctor does when the loop changes what it trains mid-run: layers frozen,
unfrozen or replaced (a new classifier head), or a new optimizer built (to switch to SGD,
after unfreezing). It watches the model and optimizer as they are from then on; findings
so far stand."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import torch
from torch import nn

from ._watch import LoopWatch

if TYPE_CHECKING:
    from ._loop import Doctor

Trainable = tuple[tuple[int, bool], ...]


def trainable_now(model: nn.Module) -> Trainable:
    """Which parameters the model holds, and which of them learn: a layer replaced after
    the doctor was built (a new classifier head) is a new tensor."""
    return tuple((id(p), p.requires_grad) for p in model.parameters())


def follow_trainable(doctor: Doctor, trainable: Trainable) -> None:
    """Parameters were frozen, unfrozen or replaced: probe and watch what learns from now
    on (a frozen layer's missing gradient read as a vanished one; hooks cannot be placed on
    a tensor that requires no gradient)."""
    doctor._trainable = trainable
    if doctor._probed:
        doctor.examiner.probe.discard()
        doctor._probed = False
    with contextlib.suppress(ValueError):  # nothing with a weight learns: keep the last
        doctor.examiner.follow(doctor.model)
    rewatch(doctor)


def adopt(doctor: Doctor, optimizer: torch.optim.Optimizer) -> None:
    """The loop replaced the optimizer it gave the doctor (that one stopped stepping, this
    one steps the model's parameters): it is read, and treated, from now on (a lower rate
    set on the old one changed nothing the loop ran)."""
    doctor.optimizer = optimizer
    doctor._players.follow(optimizer)
    rewatch(doctor)
    if doctor.repairer is not None:
        doctor.repairer.adopt(optimizer, doctor.watch.params)


def rewatch(doctor: Doctor) -> None:
    """Watch the model and optimizer as they are now; where doctor.step sits in the loop
    is known still (the loop's code is the same)."""
    doctor.watch.disarm()
    frozen_from_start = set(doctor.watch.record.frozen_in_optimizer)
    order_ok = doctor.watch.order_ok
    doctor.watch = LoopWatch(doctor.model, doctor.optimizer)
    doctor.watch.order_ok = order_ok
    doctor._players.watch = doctor.watch
    doctor.pace.rewatch(doctor._step)
    record = doctor.watch.record  # frozen as the loop went on: on purpose, not by mistake
    record.frozen_in_optimizer = [n for n in record.frozen_in_optimizer if n in frozen_from_start]
