"""Optimizers and learning-rate schedules from the `train` section of a config."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import Train
from ._finetune import param_groups


def make_optimizer(spec: Train, model: nn.Module) -> torch.optim.Optimizer:
    """Under `train.finetune`, one param group per layer group (discriminative rates)."""
    params: Any = model.parameters()
    if spec.finetune is not None:
        params = param_groups(model, spec.lr, spec.finetune.layer_lr_decay)
    match spec.optimizer:
        case "sgd":
            return torch.optim.SGD(
                params, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
            )
        case "adam":
            return torch.optim.Adam(params, lr=spec.lr, weight_decay=spec.weight_decay)
        case "adamw":
            return torch.optim.AdamW(params, lr=spec.lr, weight_decay=spec.weight_decay)
    raise ValueError(f"unknown optimizer {spec.optimizer!r}")


def make_scheduler(spec: Train, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> Any:
    """The schedule of `spec.schedule`, or None. OneCycle steps per batch, the rest per epoch."""
    sched = torch.optim.lr_scheduler
    match spec.schedule:
        case "none":
            return None
        case "cosine":
            return sched.CosineAnnealingLR(optimizer, T_max=spec.epochs)
        case "onecycle":
            return sched.OneCycleLR(
                optimizer,
                max_lr=[spec.lr * g.get("lr_scale", 1.0) for g in optimizer.param_groups],
                epochs=spec.epochs,
                steps_per_epoch=-(-steps_per_epoch // spec.accumulate),
            )
        case "step":
            return sched.StepLR(optimizer, step_size=max(1, spec.epochs // 3), gamma=0.1)
        case "plateau":
            return sched.ReduceLROnPlateau(optimizer, factor=0.1, patience=2)
    raise ValueError(f"unknown schedule {spec.schedule!r}")
