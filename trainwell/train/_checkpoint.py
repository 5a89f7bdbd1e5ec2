"""A Trainer's checkpoint: everything a resume needs, written so a kill mid-write leaves the
previous one whole."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ..runs import atomic_write
from ._control import cuda_rng, replay_data_changes

if TYPE_CHECKING:
    from ._trainer import Trainer


def state_dict(trainer: Trainer) -> dict[str, Any]:
    """Everything a resume needs; loadable with `torch.load(weights_only=True)`."""
    state = {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict() if trainer.scheduler else None,
        "scaler": trainer.scaler.state_dict() if trainer.scaler else None,
        "epoch": trainer.epoch,
        "step": trainer.step,
        "history": trainer.history,
        "seconds": trainer.seconds,
        "samples": trainer.samples,
        "rng": torch.get_rng_state(),
        "cuda_rng": cuda_rng(trainer.device),
        "callbacks": trainer.callbacks.state_dict(),
        "data": getattr(trainer._train_batches, "state_dict", dict)(),
        "data_changes": trainer._data_changes,
        "grad_clip": trainer.grad_clip,
        "best": trainer.best.state_dict(),
        "kept_epoch": trainer.kept_epoch,
    }
    return state


def load_state_dict(trainer: Trainer, state: dict[str, Any]) -> None:
    """Continue from `state_dict()`; the model, optimizer and schedule must already be
    built as they were then (a repaired run rebuilds them from its repaired config)."""
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.scheduler is not None and state["scheduler"] is not None:
        trainer.scheduler.load_state_dict(state["scheduler"])
    if trainer.scaler is not None and state["scaler"] is not None:
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.epoch, trainer.step = state["epoch"], state["step"]
    trainer.history = list(state["history"])
    trainer.seconds, trainer.samples = state["seconds"], state["samples"]
    torch.set_rng_state(state["rng"])
    if state["cuda_rng"] is not None:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    trainer.grad_clip = state["grad_clip"]
    trainer.best.load_state_dict(state["best"])
    trainer.kept_epoch = state["kept_epoch"]
    trainer._data_changes, trainer._rows_before = [], []
    replay_data_changes(trainer, state["data_changes"])
    trainer.callbacks.load_state_dict(state["callbacks"])
    if state["data"] and hasattr(trainer._train_batches, "load_state_dict"):
        trainer._train_batches.load_state_dict(state["data"])


def save_atomic(obj: Any, path: Path) -> None:
    """`torch.save` through a temporary file and a rename."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue(), durable=True)
