"""`train.finetune`: gradual unfreezing and discriminative learning rates (ULMFiT, Howard &
Ruder 2018; fastai's `fine_tune`), as a Trainer callback and optimizer param groups.

Frozen parameters stay in the optimizer with `requires_grad=False`: they get no gradient,
so no optimizer steps them (weight decay and momentum included), and the param groups never
change, so snapshots, rollbacks and replaced optimizers keep matching. Frozen BatchNorm
layers are held in eval mode (a forward pre-hook, as `model.train()` runs every epoch):
their running statistics stay those of the pretrained network.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import Finetune as FinetuneSpec
from ..errors import ConfigError
from ._callbacks import Callback

BACKBONE = "backbone"  # in `freeze`: every layer group but the head

LayerGroup = tuple[str, list[tuple[str, nn.Parameter]]]


def layer_groups(model: nn.Module) -> list[LayerGroup]:
    """The model's top-level layers (children of `net` for trainwell's networks) in forward
    order, with their parameters. A layer without a weight matrix (a BatchNorm) belongs to
    the layer before it; a leading one to the layer after it."""
    root = model.net if isinstance(getattr(model, "net", None), nn.Sequential) else model
    prefix = "net." if root is not model else ""
    groups: list[LayerGroup] = []
    pending: list[tuple[str, nn.Parameter]] = []
    for name, child in root.named_children():
        params = [(f"{prefix}{name}.{n}", p) for n, p in child.named_parameters()]
        if any(p.dim() > 1 for _, p in params):
            groups.append((f"{prefix}{name}", pending + params))
            pending = []
        elif groups:
            groups[-1][1].extend(params)
        else:
            pending += params
    grouped = {id(p) for _, params in groups for _, p in params} | {id(p) for _, p in pending}
    rest = [(n, p) for n, p in model.named_parameters() if id(p) not in grouped]
    if not groups:
        return [("model", pending + rest)]
    groups[-1][1].extend(rest)  # parameters held by the model itself go with the head
    return groups


def frozen_names(model: nn.Module, spec: FinetuneSpec) -> list[str]:
    """The parameter names `spec.freeze` selects; a name that selects nothing is an error."""
    groups = layer_groups(model)
    names = [n for n, _ in model.named_parameters()]
    chosen: list[str] = []
    for entry in spec.freeze:
        if entry == BACKBONE:
            found = [n for _, params in groups[:-1] for n, _ in params]
        else:
            found = [n for n in names if n == entry or n.startswith(entry + ".")]
        if not found:
            layers = ", ".join(name for name, _ in groups)
            raise ConfigError(
                f"config key 'train.finetune.freeze' = {entry!r} names no layer of the model; "
                f"its layers: {layers} (or {BACKBONE!r}: all but the head)"
            )
        chosen += [n for n in found if n not in chosen]
    return chosen


def param_groups(model: nn.Module, lr: float, decay: float) -> list[dict[str, Any]]:
    """One optimizer param group per layer group, head first, each at `decay` times the rate
    of the group above it; `lr_scale` is kept in the group so rates set later keep the
    ratios (`Trainer.set_lr`)."""
    groups = layer_groups(model)[::-1]
    return [
        {"params": [p for _, p in params], "lr": lr * decay**depth, "lr_scale": decay**depth,
         "layer": name}
        for depth, (name, params) in enumerate(groups)
    ]  # fmt: skip


def _keep_eval(module: nn.Module, args: tuple) -> None:
    module.training = False


class Finetune(Callback):
    """Freezes `frozen` parameter names until epoch `unfreeze_at` (None: never), with their
    BatchNorm layers in eval mode. It must come before the doctor among the callbacks: the
    doctor then probes only what learns."""

    def __init__(self, spec: FinetuneSpec, frozen: list[str]) -> None:
        self.spec, self.frozen = spec, set(frozen)
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []

    def is_frozen(self, epoch: int) -> bool:
        return self.spec.unfreeze_at is None or epoch < self.spec.unfreeze_at

    def apply(self, model: nn.Module, frozen: bool) -> None:
        """Freeze (or unfreeze) `model`'s chosen parameters and their BatchNorm layers."""
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
        for name, param in model.named_parameters():
            if name in self.frozen:
                param.requires_grad_(not frozen)
                param.grad = None
        if not frozen:
            return
        for name, module in model.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and any(
                f"{name}.{n}" in self.frozen for n, _ in module.named_parameters()
            ):
                module.eval()
                self._hooks.append(module.register_forward_pre_hook(_keep_eval))

    def prepare(self, model: nn.Module) -> nn.Module:
        """`model` frozen as the run is now: the run's model before the Trainer wraps it
        (epoch 0; a resumed run is set right at fit start), or one the doctor rebuilds."""
        epoch = self.trainer.epoch if hasattr(self, "trainer") else 0
        self.apply(model, self.is_frozen(epoch))
        return model

    def on_fit_start(self) -> None:
        self.apply(self.trainer.model, self.is_frozen(self.trainer.epoch))
        self.trainer.trainable_changed()

    def on_epoch_start(self, epoch: int) -> None:
        if self.spec.unfreeze_at is not None and epoch == self.spec.unfreeze_at:
            self.apply(self.trainer.model, False)
            self.trainer.trainable_changed()
