"""Remedies: small functions that change a run through the Trainer's control surface.

Each takes the trainer and a `Rebuild` (the run's config, kept up to date, and how to build
a model, optimizer and schedule from it) and returns what it changed, in words, or raises
`NotApplicable` where it finds nothing to change. These change the optimizer, the learning
rate and the network; `_data_remedies.py` the training rows; `_remedy_order.py` says which
to try first for a finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import Init, Model, RunConfig, Train
from ..train import Trainer, by_position
from ._evidence import (
    ADAM_LR,
    ADAPTIVE,
    DROPOUTS,
    STRONG_DROPOUT,
    collapsed,
    dropout,
    momentum,
    strong_decay,
    strong_l1,
)
from ._history import data_loss
from ._measured_rate import measured_rate


@dataclass
class Rebuild:
    """The run's config (edited by remedies) and the factories that build from it."""

    config: RunConfig
    model: Callable[[Model], nn.Module]
    optimizer: Callable[[Train, nn.Module], torch.optim.Optimizer]
    scheduler: Callable[[Train, torch.optim.Optimizer], Any]
    asked: list[str] = field(default_factory=list)  # data remedies a remedy added to config

    def new_optimizer(self, trainer: Trainer) -> None:
        optimizer = self.optimizer(self.config.train, trainer.model)
        trainer.replace_optimizer(optimizer, self._schedule(trainer, optimizer))

    def new_model(
        self, trainer: Trainer, *, keep_best: bool = False, fresh: bool = True, **changes: Any
    ) -> str:
        """Rebuild the network with `changes` to its config. A `fresh` one (not given the
        old weights after) trains at a rate measured for it (`measured_rate`)."""
        before, train = self.config.model, self.config.train
        self.config.model = before.model_copy(update=changes)
        model = self.model(self.config.model)
        old_lr = train.lr
        rate = measured_rate(trainer, self.config, model, self.optimizer) if fresh else None
        if rate:
            train.lr = rate
        optimizer = self.optimizer(train, model)
        trainer.replace_model(
            model, optimizer, self._schedule(trainer, optimizer), keep_best=keep_best
        )
        # what differs (batchnorm after relu_activation keeps its He init: not news); a
        # remedy that changes no setting still rebuilt the model, so it names what it set
        shown = {k: v for k, v in changes.items() if getattr(before, k) != v} or changes
        changed = [
            f"model.{k}: {_show(getattr(before, k))} -> {_show(v)}" for k, v in shown.items()
        ]
        if rate:
            changed.append(f"train.lr: {old_lr:g} -> {rate:g} (a range test on the new network)")
        return ", ".join(changed)

    def _schedule(self, trainer: Trainer, optimizer: torch.optim.Optimizer) -> Any:
        """The run's schedule over the epochs it has left: one over all its epochs, started
        mid-run, would end mid-cycle (cosine half-way down, OneCycle near its peak), its rate
        never annealed."""
        left = max(trainer.epochs - trainer.epoch, 1)
        return self.scheduler(self.config.train.model_copy(update={"epochs": left}), optimizer)


class NotApplicable(Exception):
    """A remedy that finds nothing to change here: the doctor tries the next one."""


Remedy = Callable[[Trainer, Rebuild], str]
# start from the best weights the doctor kept, before the network memorised more noise
FROM_BEST = {"regularize", "drop_label_issues", "augment"}
REBUILDS_MODEL = {
    "he_init",
    "xavier_init",
    "relu_activation",
    "batchnorm",
    "input_norm",
    "input_norm_and_init",
    "matched_init",
    "widen",
}


def _show(value: Any) -> str:
    return f"{value.weights} (bias {value.bias:g})" if isinstance(value, Init) else str(value)


# Where schedules keep the rates they compute from: scaling all of them scales the whole
# schedule, so a schedule does not undo the change at its next step.
_GROUP_RATES = ("lr", "initial_lr", "max_lr", "min_lr")  # OneCycle keeps its peak here
_SCHEDULE_RATES = ("base_lrs", "_last_lr", "min_lrs")  # cosine, step, plateau
_SCHEDULE_FLOORS = ("eta_min",)  # cosine's floor


def scale_lr(trainer: Trainer, factor: float) -> None:
    """Multiply the learning rate by `factor`, and with it every rate the schedule (if any)
    derives later rates from: the peak of OneCycle, the base of cosine and step schedules."""
    for group in trainer.optimizer.param_groups:
        scale_group_rates(group, factor)
    scheduler = trainer.scheduler
    for key in _SCHEDULE_RATES:
        rates = getattr(scheduler, key, None)
        if isinstance(rates, list):
            setattr(scheduler, key, [rate * factor for rate in rates])
    for key in _SCHEDULE_FLOORS:
        if isinstance(getattr(scheduler, key, None), float | int):
            setattr(scheduler, key, getattr(scheduler, key) * factor)


def scale_group_rates(group: dict[str, Any], factor: float) -> None:
    """Multiply an optimizer param group's rate and the rates a schedule keeps in it."""
    for key in _GROUP_RATES:
        if isinstance(group.get(key), float | int):
            group[key] = group[key] * factor


def _set_lr(trainer: Trainer, rebuild: Rebuild, factor: float) -> str:
    before = trainer.lr
    scale_lr(trainer, factor)
    rebuild.config.train.lr *= factor
    return f"train.lr: {before:g} -> {trainer.lr:g}"


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
    if type(trainer.optimizer) is torch.optim.Adam and abs(trainer.lr - ADAM_LR) < 1e-9:
        raise NotApplicable("the optimizer is Adam at lr 0.001 already")
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
    before = f"{rebuild.config.train.optimizer} lr {trainer.lr:g}"
    rebuild.config.train.optimizer, rebuild.config.train.lr = "adam", ADAM_LR
    rebuild.new_optimizer(trainer)
    return f"train.optimizer: {before} -> adam lr {ADAM_LR:g}"


def he_init(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(trainer, init=Init(weights="he", bias=0.0), **_normalised(rebuild))


def xavier_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """Unit gain for tanh and sigmoid units pinned at their asymptotes, the layers kept as
    they were: with batch norm added, tanh CNNs fitted their training rows and ended 0.1
    lower (held-out-12). Batch norm comes with the next remedy, ReLU, if this one fails."""
    return rebuild.new_model(trainer, init=Init(weights="xavier", bias=0.0))


def relu_activation(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(
        trainer, activation="relu", init=Init(weights="he", bias=0.0), **_normalised(rebuild)
    )


def leaky_relu(trainer: Trainer, rebuild: Rebuild) -> str:
    """Swap ReLUs for LeakyReLUs in place: dead units get a gradient again and the weights
    learned so far are kept (activations hold no parameters)."""
    swapped = 0
    for module in trainer.model.modules():
        for name, child in module.named_children():
            if type(child) is nn.ReLU:
                setattr(module, name, nn.LeakyReLU())
                swapped += 1
    if not swapped:
        raise NotApplicable("no ReLU module to swap (LeakyReLU already, or a functional relu)")
    before = rebuild.config.model.activation
    rebuild.config.model = rebuild.config.model.model_copy(update={"activation": "leaky_relu"})
    return f"model.activation: {before} -> leaky_relu ({swapped} layers, weights kept)"


def batchnorm(trainer: Trainer, rebuild: Rebuild) -> str:
    if rebuild.config.model.normalised:  # a ResNet's is built in, whatever the config says
        raise NotApplicable("the network has batch norm already")
    return rebuild.new_model(trainer, batchnorm=True, init=Init(weights="he", bias=0.0))


def input_norm(trainer: Trainer, rebuild: Rebuild) -> str:
    """Batch-normalise the inputs: unscaled features stop saturating and exploding."""
    if rebuild.config.model.input_norm:
        raise NotApplicable("the inputs are batch-normalised already")
    return rebuild.new_model(trainer, input_norm=True)


def input_norm_and_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """Batch-normalise the inputs and start from the initialisation made for the activation.
    Where the inputs are unscaled and the weights far larger than any sane initialisation
    gives, each cause alone saturates or blows up the units: a rebuild that cured one would
    keep the other."""
    if rebuild.config.model.input_norm:
        raise NotApplicable("the inputs are batch-normalised already")
    return rebuild.new_model(trainer, input_norm=True, init=_init_for(rebuild.config.model))


def matched_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """Start from the initialisation made for the activation: weights far smaller or larger
    than it shrink or blow up the signal at every layer, both ways."""
    return rebuild.new_model(trainer, init=_init_for(rebuild.config.model), **_normalised(rebuild))


def _normalised(rebuild: Rebuild) -> dict[str, bool]:
    """Batch norm for a network started over because its signal or gradients ran out of
    scale: it keeps every layer's pre-activations at unit scale whatever the weights
    become, where a good initialisation only starts them so (Ioffe & Szegedy 2015). Not on
    batches under 16 rows, whose statistics are too noisy to normalise by; not in a ResNet,
    which has it by design, nor in a network fine-tuned from pretrained weights, which new
    layers would no longer fit."""
    spec = rebuild.config.model
    wanted = not spec.normalised and spec.init_from is None
    return {"batchnorm": True} if wanted and rebuild.config.train.batch_size >= 16 else {}


def _init_for(spec: Model) -> Init:
    """Xavier for tanh and sigmoid (unit gain), He for the ReLU family and the rest."""
    return Init(weights="xavier" if spec.activation in ("tanh", "sigmoid") else "he", bias=0.0)


def widen(trainer: Trainer, rebuild: Rebuild) -> str:
    """Four times the width of every layer (at least 64 units, 16 channels)."""
    spec = rebuild.config.model
    changes: dict[str, Any] = {"hidden": [max(4 * width, 64) for width in spec.hidden] or [128]}
    if spec.convolutional:
        changes["channels"] = [max(4 * width, 16) for width in spec.channels]
    return rebuild.new_model(trainer, **changes)


def regularize(trainer: Trainer, rebuild: Rebuild) -> str:
    """More dropout and weight decay, keeping the weights in place (the doctor has put back
    the best ones): dropout holds no parameters, so the rebuilt model takes them as they are.
    It computes at evaluation what they computed, so when they are the best weights they
    stay the best: if the cure fails, stopping early goes back to them, not to the best
    epoch of the regularised network."""
    spec, train = rebuild.config.model, rebuild.config.train
    weights = trainer.model.state_dict()
    in_place = trainer.kept_epoch is not None and trainer.kept_epoch == trainer.best.epoch
    dropout = min(round(spec.dropout + 0.3, 2), 0.5)
    train.weight_decay = max(10 * train.weight_decay, 5e-4)
    changed = rebuild.new_model(trainer, keep_best=in_place, fresh=False, dropout=dropout)
    trainer.model.load_state_dict(by_position(trainer.model, weights))
    return f"{changed}, train.weight_decay: {train.weight_decay:g} (weights kept)"


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


USUAL_L1 = 1e-4  # the top of the usual range of an L1 penalty's factor (1e-5..1e-4)


def less_regularisation(trainer: Trainer, rebuild: Rebuild) -> str:
    """Weaken the weight decay (100x), L1 penalty (100x, to the usual 1e-4 at most) and
    dropout (to 0.1) that keep the network from fitting its training data, in the live
    optimizer, trainer and model: the weights are kept. Only what the evidence calls strong
    is changed. The optimizer's moments are cleared with a penalty: they hold its gradient,
    and Adam's would scale the data's gradient down for thousands of steps. Weights the
    penalty has already pulled to zero are started again: there every unit computes the
    same nothing, and a weaker pull leaves them there; one collapsed layer is enough, the
    signal dies there. They start as the config started them: the penalty, not the
    initialisation, was at fault, and He init (larger than PyTorch's default) left ReLU
    MLPs behind a fresh run (dev-2 underfitting-4: 0.74/0.70/0.59 against 0.83/0.75/0.67)."""
    changed = []
    loss = data_loss(trainer.history[-1]) if trainer.history else None
    gain = collapsed(trainer.model)
    l1, decay = strong_l1(trainer.model, trainer.l1, loss), strong_decay(trainer.optimizer)
    if l1:
        before, trainer.l1 = trainer.l1, min(trainer.l1 / 100, USUAL_L1)
        rebuild.config.train.l1 = trainer.l1
        changed.append(f"train.l1: {before:g} -> {trainer.l1:g}")
    if decay:
        for group in trainer.optimizer.param_groups:
            group["weight_decay"] = group.get("weight_decay", 0.0) / 100
        before = rebuild.config.train.weight_decay
        rebuild.config.train.weight_decay = before / 100
        changed.append(f"train.weight_decay: {before:g} -> {before / 100:g}")
    if dropout(trainer.model) >= STRONG_DROPOUT:
        for module in trainer.model.modules():
            if isinstance(module, DROPOUTS):
                module.p = min(module.p, 0.1)
        before = rebuild.config.model.dropout
        rebuild.config.model = rebuild.config.model.model_copy(update={"dropout": 0.1})
        changed.append(f"model.dropout: {before:g} -> 0.1 (weights kept)")
    if not changed:
        raise NotApplicable("neither weight decay, L1 nor dropout is strong")
    if l1 or decay:
        trainer.optimizer.state.clear()  # each parameter's state starts again at its next step
    if gain is not None:
        # the config's own initialisation: the rebuild names only a rate it measured, if any
        measured = rebuild.new_model(trainer)
        changed.append(f"weights started again (a layer's had collapsed: gain {gain:.2g})")
        if measured:
            changed.append(measured)
    return ", ".join(changed)
