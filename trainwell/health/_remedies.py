"""Remedies: small functions that change a run through the Trainer's control surface.

Each takes the trainer and a `Rebuild` (the run's config, kept up to date, and how to build
a model, optimizer and schedule from it) and returns what it changed, in words. The orders
follow AutoTrainer's (ICSE'21) findings: cheap changes (learning rate, clipping, optimizer)
before architecture changes, and the remedies that repaired most cases first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import Init, Model, RunConfig, Train
from ..findings import Finding
from ..train import Trainer


@dataclass
class Rebuild:
    """The run's config (edited by remedies) and the factories that build from it."""

    config: RunConfig
    model: Callable[[Model], nn.Module]
    optimizer: Callable[[Train, nn.Module], torch.optim.Optimizer]
    scheduler: Callable[[Train, torch.optim.Optimizer], Any]

    def new_optimizer(self, trainer: Trainer) -> None:
        optimizer = self.optimizer(self.config.train, trainer.model)
        trainer.replace_optimizer(optimizer, self.scheduler(self.config.train, optimizer))

    def new_model(self, trainer: Trainer, **changes: Any) -> str:
        before = self.config.model
        self.config.model = before.model_copy(update=changes)
        model = self.model(self.config.model)
        optimizer = self.optimizer(self.config.train, model)
        trainer.replace_model(model, optimizer, self.scheduler(self.config.train, optimizer))
        return ", ".join(
            f"model.{k}: {_show(getattr(before, k))} -> {_show(v)}" for k, v in changes.items()
        )


Remedy = Callable[[Trainer, Rebuild], str]
REBUILDS_MODEL = {
    "he_init",
    "xavier_init",
    "relu_activation",
    "leaky_relu",
    "batchnorm",
    "input_norm",
    "widen",
}


def _show(value: Any) -> str:
    return f"{value.weights} (bias {value.bias:g})" if isinstance(value, Init) else str(value)


def _set_lr(trainer: Trainer, rebuild: Rebuild, lr: float) -> str:
    before = trainer.lr
    rebuild.config.train.lr = lr
    trainer.set_lr(lr)
    if trainer.scheduler is not None and hasattr(trainer.scheduler, "base_lrs"):
        trainer.scheduler.base_lrs = [lr for _ in trainer.scheduler.base_lrs]
    return f"train.lr: {before:g} -> {lr:g}"


def lower_lr(trainer: Trainer, rebuild: Rebuild) -> str:
    return _set_lr(trainer, rebuild, trainer.lr / 10)


def raise_lr(trainer: Trainer, rebuild: Rebuild) -> str:
    return _set_lr(trainer, rebuild, min(trainer.lr * 10, 1.0))


def clip_gradients(trainer: Trainer, rebuild: Rebuild) -> str:
    rebuild.config.train.grad_clip = 1.0
    trainer.set_grad_clip(1.0)
    return "train.grad_clip: 1.0"


def lower_lr_and_clip(trainer: Trainer, rebuild: Rebuild) -> str:
    return f"{lower_lr(trainer, rebuild)}, {clip_gradients(trainer, rebuild)}"


def clip_and_adam(trainer: Trainer, rebuild: Rebuild) -> str:
    """Clip, and let Adam's per-weight step sizes absorb the gradients' scale."""
    return f"{clip_gradients(trainer, rebuild)}, {switch_to_adam(trainer, rebuild)}"


def switch_to_adam(trainer: Trainer, rebuild: Rebuild) -> str:
    before = f"{rebuild.config.train.optimizer} lr {trainer.lr:g}"
    rebuild.config.train.optimizer, rebuild.config.train.lr = "adam", 1e-3
    rebuild.new_optimizer(trainer)
    return f"train.optimizer: {before} -> adam lr 0.001"


def he_init(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(trainer, init=Init(weights="he", bias=0.0))


def xavier_init(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(trainer, init=Init(weights="xavier", bias=0.0))


def relu_activation(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(trainer, activation="relu", init=Init(weights="he", bias=0.0))


def leaky_relu(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(trainer, activation="leaky_relu", init=Init(weights="he", bias=0.0))


def batchnorm(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(trainer, batchnorm=True, init=Init(weights="he", bias=0.0))


def input_norm(trainer: Trainer, rebuild: Rebuild) -> str:
    """Batch-normalise the inputs: unscaled features stop saturating and exploding."""
    return rebuild.new_model(trainer, input_norm=True)


def widen(trainer: Trainer, rebuild: Rebuild) -> str:
    hidden = [max(4 * width, 64) for width in rebuild.config.model.hidden] or [128]
    return rebuild.new_model(trainer, hidden=hidden)


# Per finding code, the remedies to try in order. `stop_early` (overfitting) is done by the
# doctor itself: it needs the best weights it keeps.
ORDERS: dict[str, tuple[str, ...]] = {
    "divergence": ("clip_and_adam", "lower_lr_and_clip", "batchnorm"),
    "exploding_gradient": ("he_init", "clip_and_adam", "lower_lr"),
    "vanishing_gradient": ("relu_activation", "batchnorm"),
    "dying_relu": ("he_init", "leaky_relu", "lower_lr"),
    "saturated_activation": ("xavier_init", "relu_activation", "batchnorm"),
    "oscillating_loss": ("lower_lr", "switch_to_adam"),
    "slow_convergence": ("switch_to_adam", "raise_lr"),
    "overfitting": ("stop_early",),
    "underfitting": ("widen", "switch_to_adam"),
}


def remedy_order(finding: Finding, config: RunConfig) -> tuple[str, ...]:
    """The remedies for `finding`, in order. Exploding or saturating units on inputs that
    were not standardised are cured at the source: normalise the inputs first."""
    order = ORDERS.get(finding.code, ())
    unscaled = not config.data.standardize or config.data.corrupt.feature_scale != 1.0
    if finding.code in ("exploding_gradient", "saturated_activation") and unscaled:
        return ("input_norm", *order)
    return order


REMEDIES: dict[str, Remedy] = {
    f.__name__: f
    for f in (
        lower_lr,
        raise_lr,
        clip_gradients,
        lower_lr_and_clip,
        clip_and_adam,
        switch_to_adam,
        he_init,
        xavier_init,
        relu_activation,
        leaky_relu,
        batchnorm,
        input_norm,
        widen,
    )
}
