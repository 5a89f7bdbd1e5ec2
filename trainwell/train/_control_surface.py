"""The Trainer's control surface: what callbacks (the doctor's remedies, early stopping)
call to change a run between steps. Each method changes the live model, optimizer, batches
or schedule; what moves data is in `_control.py`."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import _control
from ._batches import AugmentedBatches, unwrap


def trainable(model: nn.Module) -> tuple[bool, ...]:
    """Which of the model's parameters require a gradient, in order."""
    return tuple(p.requires_grad for p in model.parameters())


class ControlSurface:
    """Mixed into `Trainer` (whose attributes these read and set)."""

    @property
    def lr(self) -> float:
        group = self.optimizer.param_groups[0]
        return float(group["lr"] / group.get("lr_scale", 1.0))

    def set_lr(self, lr: float) -> None:
        """Groups with an `lr_scale` (discriminative rates, `train.finetune`) keep it."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

    def set_grad_clip(self, max_norm: float | None) -> None:
        self.grad_clip = max_norm

    def replace_optimizer(self, optimizer: torch.optim.Optimizer, scheduler: Any = None) -> None:
        """Step `optimizer` from now on; a schedule is bound to its optimizer, so it comes along
        (None: no schedule)."""
        self.optimizer, self.scheduler = optimizer, scheduler
        self._params = [p for group in optimizer.param_groups for p in group["params"]]
        self._l1_params = [p for p in self._params if p.dim() > 1]

    def trainable_changed(self) -> None:
        """Parameters were frozen or unfrozen: DDP syncs the gradients of those that required
        one when it wrapped the model, so it wraps the model again where they differ from
        then (nothing in one process)."""
        if self._net is not self.model and trainable(self.model) != self._wrapped_trainable:
            self._wrap()

    def replace_model(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: Any = None,
        keep_best: bool = False,
    ) -> None:
        """Train `model` from now on (e.g. rebuilt with another activation); losses so far in
        this epoch belong to the old model and are dropped, and so are its best weights,
        unless `keep_best`: `model` is the same network with other parameter-free modules."""
        self.model = model.to(self.device)
        self._wrap()  # every rank rebuilds, so every rank wraps
        self.replace_optimizer(optimizer, scheduler)
        if keep_best:
            self.best.carry_to(self.model)
        else:
            self.best.forget()
        self._clear_epoch_losses()

    def impute_inputs(self) -> int:
        """Replace non-finite in-memory inputs by 0; returns how many (`_control`)."""
        return _control.impute_inputs(self)

    @property
    def imputed_inputs(self) -> bool:
        """Whether `impute_inputs` filled the inputs: other rows are to be filled alike."""
        return any("impute" in change for change in self._data_changes)

    @property
    def train_tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The training inputs and targets when they are held in memory, else None."""
        return _control.tensors(self._train_batches)

    def train_rows(self, limit: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The training inputs and targets held in memory, or up to `limit` rows drawn from
        one pass over other batches (a DataLoader) without moving the run's random draws
        (`_control`); None before a fit."""
        held = self.train_tensors
        if held is not None or self._train_batches is None:
            return held
        return _control.drawn_rows(self._train_batches, limit)

    @property
    def val_tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The validation inputs and targets when they are held in memory, else None."""
        return _control.tensors(self._val_batches)

    @property
    def balanced_batches(self) -> bool:
        """Whether the training batches draw each class equally often (a sampler that does
        says so with `balanced = True`): the class prior the model sees is then uniform."""
        return bool(getattr(_control.in_memory(self._train_batches), "balanced", False))

    @property
    def augmenting(self) -> bool:
        """Whether the training batches are augmented (a config's `data.remedies: [augment]`
        or the doctor's remedy): their loss is not the validation rows' kind."""
        return unwrap(self._train_batches, lambda b: isinstance(b, AugmentedBatches)) is not None

    def augment(self, on: bool = True) -> bool:
        """Augment the in-memory training batches from the next epoch on (`on` false: stop);
        returns whether that changed anything (`_control`)."""
        return _control.augment(self, on)

    def set_batch_size(self, size: int) -> int | None:
        """Train on batches of `size` rows from the next epoch on; returns the size before, or
        None for batches it cannot resize (`_control`)."""
        return _control.set_batch_size(self, size)

    def keep_train_rows(self, keep: torch.Tensor) -> int:
        """Train only on the in-memory rows where `keep` is true; returns how many were
        dropped (`_control`)."""
        return _control.keep_train_rows(self, keep)

    def restore_train_rows(self) -> int:
        """Put back the rows the last `keep_train_rows` dropped; returns how many
        (`_control`)."""
        return _control.restore_train_rows(self)

    def request_stop(self, reason: str, status: str = "stopped_early") -> None:
        """Stop after the current batch; the result carries `status` and `reason`."""
        self._stop = (status, reason)

    def snapshot(self) -> dict[str, Any]:
        """An in-memory copy of everything a step changes, for `restore` (`_control`)."""
        return _control.snapshot(self)

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Roll back to `snapshot` of the live model and optimizer; the losses of this
        epoch so far are void (`_control`)."""
        _control.restore(self, snapshot)

    def restore_best(self) -> int | None:
        """Put back the best weights (see `best`); returns their epoch, None if there are
        none (then the model is left as it is)."""
        if self.best.weights is None:
            return None
        self.model.load_state_dict(self.best.weights)
        self.kept_epoch = self.best.epoch
        return self.kept_epoch
