"""The best weights of a run: one owner, kept by the Trainer, read by early stopping and the
doctor.

The Trainer records them right after validation, before any callback runs, so the weights
kept are always the ones that produced the metric they are kept under. When a remedy
replaces the model, the best of the old model is forgotten: its weights do not fit the new
network, and `epoch` must never name an epoch of a model that no longer exists. A remedy
that rebuilds the same network with other parameter-free modules (dropout) carries the
record over: the best weights compute in it what they computed.

A classifier's best epoch is chosen by validation accuracy, the loss breaking ties, unless
the user's early stopping names another metric: once a network overfits a few rows, its
validation loss climbs with its confidence while its accuracy holds or still rises, so the
epoch of least loss can be several points less accurate than a later one. Where its
classes are imbalanced, by macro F1: accuracy rewards predicting the majority class.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

_HIGHER_IS_BETTER = ("accuracy", "f1", "r2", "auc", "return", "reward")
TIE_BREAK = "val_loss"  # a monitor that plateaus (accuracy) is broken by this


# the largest class outnumbering the smallest this many times over makes accuracy a poor
# judge (the data audit's class_imbalance warns from there, as SageMaker Debugger does)
IMBALANCE_RATIO = 10.0


def default_monitor(task: str, class_counts: Sequence[int] = ()) -> str:
    """What the best epoch is chosen by when the user did not say (see the module's text).
    `class_counts`: the training rows of each class, where known. Past `IMBALANCE_RATIO`,
    macro F1: at 98:2 a network that learned nothing (its first epoch) scored 0.977
    accuracy, more than the later epochs class weights taught the rare class, and repairs
    judged against it put that epoch's weights back (test macro F1 0.94 -> 0.75)."""
    if task != "classification":
        return "val_loss"
    present = [count for count in class_counts if count > 0]
    imbalanced = present and max(present) > IMBALANCE_RATIO * min(present)
    return "val_macro_f1" if imbalanced else "val_accuracy"


# words that make a name a cost whatever it ends in (`val_loss_return`, a safe policy's
# `cost_return`)
_LOWER_IS_BETTER = ("loss", "cost", "error", "regret")


def higher_is_better(metric: str) -> bool:
    """Accuracy, F1, r2, AUC and a policy's return or reward grow as a model gets better;
    losses, costs and errors shrink. Read from the name's last word, any case."""
    words = metric.lower().split("_")
    return words[-1] in _HIGHER_IS_BETTER and not set(words) & set(_LOWER_IS_BETTER)


class BestWeights:
    """The weights of the epoch with the best `monitor` since the model was last replaced."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0) -> None:
        self.watch(monitor, min_delta)
        self.forget()

    def watch(self, monitor: str, min_delta: float = 0.0) -> None:
        self.monitor, self.min_delta = monitor, min_delta
        self.maximize = higher_is_better(monitor)

    def carry_to(self, model: nn.Module) -> None:
        """Keep the record for `model`, the same network with more or fewer parameter-free
        modules, which numbers its layers differently (`by_position`)."""
        if self.weights is not None:
            self.weights = by_position(model, self.weights)

    def forget(self) -> None:
        self.value: float | None = None
        self.tie: float | None = None  # the TIE_BREAK metric at the best epoch
        self.epoch: int | None = None
        self.weights: dict[str, torch.Tensor] | None = None

    def update(self, epoch: int, metrics: dict[str, float], model: nn.Module) -> bool:
        """Keep `model`'s weights if `metrics` improve on the best; True when they did."""
        value, tie = metrics.get(self.monitor), _finite_or_none(metrics.get(TIE_BREAK))
        if value is None or not math.isfinite(value) or not self._improves(value, tie):
            return False
        self.value, self.epoch, self.tie = float(value), epoch, tie
        self.weights = clone_state(model)
        return True

    def beaten_by(self, other: dict[str, Any]) -> bool:
        """Whether another record (`state_dict()`, another network's) improves on this one,
        as an epoch's metrics would; no record at all is beaten by any."""
        return other["value"] is not None and self._improves(other["value"], other.get("tie"))

    def _improves(self, value: float, tie: float | None) -> bool:
        """Better by more than `min_delta`; or, with no `min_delta`, an equal accuracy (or
        other maximised metric) at a lower validation loss."""
        if self.value is None:
            return True
        sign = 1.0 if self.maximize else -1.0
        if sign * (value - self.value) > self.min_delta:
            return True
        return (
            self.maximize
            and self.min_delta == 0.0
            and value == self.value
            and tie is not None
            and (self.tie is None or tie < self.tie)
        )

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "epoch": self.epoch, "tie": self.tie, "weights": self.weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value, self.epoch, self.weights = state["value"], state["epoch"], state["weights"]
        self.tie = state.get("tie")


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def clone_state(model: nn.Module) -> dict[str, Any]:
    """A copy of `model.state_dict()` that later steps cannot change: every tensor cloned
    (5x quicker than `copy.deepcopy`'s generic walk), anything else deep-copied."""
    return {
        k: v.clone() if isinstance(v, torch.Tensor) else copy.deepcopy(v)
        for k, v in model.state_dict().items()
    }


def by_position(model: nn.Module, state: dict[str, Any]) -> dict[str, Any]:
    """`state` under `model`'s keys, entry by entry in order: the same network with more or
    fewer parameter-free modules (dropout) numbers its layers differently."""
    target = model.state_dict()
    if [v.shape for v in target.values()] != [v.shape for v in state.values()]:
        raise ValueError("the two networks do not hold the same parameters")
    return dict(zip(target, state.values(), strict=True))
