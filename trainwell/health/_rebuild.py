"""What every remedy works with: the run's config, kept up to date, and how to build a
model, optimizer and schedule from it (`Rebuild`); and how a remedy says it has nothing to
change (`NotApplicable`).

Remedies are small functions that change a run through the Trainer's control surface. Each
takes the trainer and a `Rebuild` and returns what it changed, in words, or raises
`NotApplicable`: `_optimizer_remedies.py` change the learning rate, momentum, clipping, the
optimizer and the batches; `_model_remedies.py` the network and its regularisation;
`_data_remedies.py` the training rows; `_remedy_order.py` says which to try first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..config import Init, Model, RunConfig, Train
from ..models import initialise
from ..train import Trainer
from ._measured_rate import measured_rate


@dataclass
class Rebuild:
    """The run's config (edited by remedies) and the factories that build from it."""

    config: RunConfig
    model: Callable[[Model], nn.Module]
    optimizer: Callable[[Train, nn.Module], torch.optim.Optimizer]
    scheduler: Callable[[Train, torch.optim.Optimizer], Any]
    asked: list[str] = field(default_factory=list)  # data remedies a remedy added to config
    own_model: bool = False  # the network is the user's nn.Module: not built from config.model
    input_shape: tuple[int, ...] = ()  # one input row's, as the model is built for it
    # what a remedy adds to its repair record besides its words: the modules it changed in
    # place (`swapped`), which loading the user's module again must change too
    recorded: dict[str, Any] = field(default_factory=dict)

    def can_rebuild(self, change: str) -> None:
        """Raise `NotApplicable` for the user's own network, naming the `change` to make in it:
        building trainwell's network from config.model would throw it away."""
        if self.own_model:
            raise NotApplicable(
                f"the network is your own nn.Module, which the doctor does not rebuild: "
                f"make the change in it ({change})"
            )

    def new_optimizer(self, trainer: Trainer) -> None:
        optimizer = self.optimizer(self.config.train, trainer.model)
        trainer.replace_optimizer(optimizer, self._schedule(trainer, optimizer))

    def new_model(
        self, trainer: Trainer, *, keep_best: bool = False, fresh: bool = True, **changes: Any
    ) -> str:
        """Rebuild the network with `changes` to its config. A `fresh` one (not given the
        old weights after) trains at a rate measured for it (`measured_rate`)."""
        self.can_rebuild(", ".join(f"{k}: {_show(v)}" for k, v in changes.items()) or "new weights")
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

    def initialise_in_place(self, trainer: Trainer, init: Init) -> str:
        """Your own module, which the doctor does not rebuild, started again from `init` in
        place: its Linear and Conv layers' weights drawn again (its structure, and anything
        else it holds, as they were), with a fresh optimizer and schedule at the run's rate;
        the best weights so far, another network's, forgotten."""
        activation = module_activation(trainer.model)
        with torch.no_grad():
            layers = initialise(trainer.model, init, activation)
        if not layers:
            raise NotApplicable("your module has no Linear or Conv layer to initialise")
        optimizer = self.optimizer(self.config.train, trainer.model)
        trainer.replace_model(trainer.model, optimizer, self._schedule(trainer, optimizer))
        return (
            f"your module's {layers} Linear/Conv layers initialised again in place "
            f"({init.weights}, for {activation}; biases {init.bias:g})"
        )

    def _schedule(self, trainer: Trainer, optimizer: torch.optim.Optimizer) -> Any:
        """The run's schedule over the epochs it has left: one over all its epochs, started
        mid-run, would end mid-cycle (cosine half-way down, OneCycle near its peak), its rate
        never annealed."""
        left = max(trainer.epochs - trainer.epoch, 1)
        return self.scheduler(self.config.train.model_copy(update={"epochs": left}), optimizer)


# the activation whose gain an initialisation in place uses, by the modules a network holds
_GAINS = (
    (nn.LeakyReLU, "leaky_relu"),
    (nn.ReLU, "relu"),
    (nn.Tanh, "tanh"),
    (nn.Sigmoid, "sigmoid"),
)


def module_activation(model: nn.Module) -> str:
    """The activation a module uses, by the activation modules it holds (ReLU's name where
    it holds none: functional activations)."""
    kinds = {type(m) for m in model.modules()}
    return next((name for kind, name in _GAINS if kind in kinds), "relu")


class NotApplicable(Exception):
    """A remedy that finds nothing to change here: the doctor tries the next one."""


Remedy = Callable[[Trainer, Rebuild], str]
# start from the best weights the doctor kept, before the network memorised more noise
FROM_BEST = {"regularize", "drop_label_issues", "augment"}
# A loss that oscillates has swung the weights away from where they did best; the last
# healthy state is wherever the last swing left them (a network knocked to one class by
# steps too large is still "healthy" to the probes). Its remedy continues from the best
# weights, with the optimizer's momentum, which carried the swing, cleared.
SWUNG_CODES = ("oscillating_loss",)
REBUILDS_MODEL = {
    "he_init",
    "xavier_init",
    "relu_activation",
    "batchnorm",
    "input_norm",
    "input_norm_and_init",
    "matched_init",
    "widen",
    "deepen",
}


def _show(value: Any) -> str:
    return f"{value.weights} (bias {value.bias:g})" if isinstance(value, Init) else str(value)
