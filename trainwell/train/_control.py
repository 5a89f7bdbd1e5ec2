"""What remedies change in a running Trainer besides its settings: roll it back to a
snapshot, and edit its in-memory data (impute non-finite inputs, drop training rows and
put them back, augment the training batches). The Trainer's methods of the same names call
these.

Data edits are recorded (`trainer._data_changes`) so that a resumed run replays them, in
order (`replay_data_changes`, called when a checkpoint is loaded).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import torch

from ._batches import AugmentedBatches, pair, unwrap

if TYPE_CHECKING:
    from ._trainer import Trainer


def snapshot(trainer: Trainer) -> dict[str, Any]:
    """An in-memory copy of everything a step changes, for `restore`: model, optimizer,
    schedule, gradient scaler, the CPU and CUDA RNGs and the data-order generator."""
    data = getattr(trainer._train_batches, "state_dict", None)
    return copy.deepcopy(
        {
            "model": trainer.model.state_dict(),
            "optimizer": trainer.optimizer.state_dict(),
            "optimizer_type": type(trainer.optimizer).__name__,
            "scheduler": trainer.scheduler.state_dict() if trainer.scheduler else None,
            "scaler": trainer.scaler.state_dict() if trainer.scaler else None,
            "rng": torch.get_rng_state(),
            "cuda_rng": cuda_rng(trainer.device),
            "data": data() if data else None,
        }
    )


def restore(trainer: Trainer, snapshot: dict[str, Any]) -> None:
    """Roll back to `snapshot`; the losses of this epoch so far are void.

    The snapshot must be of the live model and optimizer: restoring an SGD state into
    Adam, or one network's weights into another, is refused rather than half-done.
    """
    live = type(trainer.optimizer).__name__
    if snapshot["optimizer_type"] != live:
        raise ValueError(
            f"cannot restore a snapshot of a {snapshot['optimizer_type']} optimizer into "
            f"the live {live}: take a snapshot after replacing the optimizer"
        )
    trainer.model.load_state_dict(snapshot["model"])
    # the optimizer adopts the state tensors it is given and steps them in place: give
    # it a copy, or a second rollback to the same snapshot would find it advanced
    trainer.optimizer.load_state_dict(copy.deepcopy(snapshot["optimizer"]))
    trainer.optimizer.zero_grad(set_to_none=True)  # a pending step must not apply old grads
    if trainer.scheduler is not None and snapshot["scheduler"] is not None:
        trainer.scheduler.load_state_dict(snapshot["scheduler"])
    if trainer.scaler is not None and snapshot["scaler"] is not None:
        trainer.scaler.load_state_dict(snapshot["scaler"])
    torch.set_rng_state(snapshot["rng"])
    if snapshot["cuda_rng"] is not None:
        torch.cuda.set_rng_state_all(snapshot["cuda_rng"])
    if snapshot["data"] is not None and hasattr(trainer._train_batches, "load_state_dict"):
        trainer._train_batches.load_state_dict(snapshot["data"])
    trainer._clear_epoch_losses()
    trainer._rolled_back = True


def cuda_rng(device: torch.device) -> list[torch.Tensor] | None:
    return torch.cuda.get_rng_state_all() if device.type == "cuda" else None


def impute_inputs(trainer: Trainer) -> int:
    """Replace NaN and inf inputs of the in-memory training and validation data by 0 (the
    training mean, as inputs are standardised); returns how many values were replaced.
    Data that is not held in memory (a DataLoader) is left as it is."""
    replaced = 0
    for batches in map(in_memory, (trainer._train_batches, trainer._val_batches)):
        if batches is not None and batches.X.is_floating_point():
            bad = ~torch.isfinite(batches.X)
            replaced += int(bad.sum())
            batches.X[bad] = 0.0
    trainer._data_changes.append({"impute": True})
    return replaced


def keep_train_rows(trainer: Trainer, keep: torch.Tensor) -> int:
    """Train from now on only on the in-memory training rows where `keep` is true (e.g.
    without rows whose labels look wrong); returns how many rows were dropped."""
    batches = in_memory(trainer._train_batches)
    if batches is None:
        raise ValueError("the training data is not held in memory")
    keep = keep.to(batches.X.device)
    trainer._rows_before.append((batches.X, batches.y))
    batches.X, batches.y = batches.X[keep], batches.y[keep]
    trainer._data_changes.append({"keep": keep.cpu()})
    return int((~keep).sum())


def restore_train_rows(trainer: Trainer) -> int:
    """Put back the rows the last `keep_train_rows` dropped (a remedy that did not cure is
    not to cost the run its data); returns how many, 0 when none were dropped."""
    batches = in_memory(trainer._train_batches)
    if batches is None or not trainer._rows_before:
        return 0
    dropped = len(trainer._rows_before[-1][1]) - len(batches.y)
    batches.X, batches.y = trainer._rows_before.pop()
    trainer._data_changes.append({"restore": True})
    return dropped


def augment(trainer: Trainer, on: bool = True) -> bool:
    """Augment the in-memory training batches from the next epoch on (or stop: `on` false);
    returns whether that changed anything. The augmentation wraps the in-memory batches
    where they are in the chain of wrappers (under sharding across ranks, adversarial rows),
    as a config's `data.remedies: [augment]` places it."""
    outer = trainer._train_batches
    batches = unwrap(outer, lambda b: isinstance(b, AugmentedBatches) or _holds_rows(b))
    if batches is None or isinstance(batches, AugmentedBatches) == on:
        return False
    swapped = AugmentedBatches(batches, trainer.n_classes) if on else batches.batches
    parent = unwrap(outer, lambda b: getattr(b, "batches", None) is batches)
    if parent is None:
        trainer._train_batches = swapped
    else:
        parent.batches = swapped
    trainer._data_changes.append({"augment": on})
    return True


def set_batch_size(trainer: Trainer, size: int) -> int | None:
    """Draw training batches of `size` rows from the next epoch on; returns the size before,
    or None where the batches are not the Trainer's own to resize (a DataLoader, or rows
    shared out across ranks)."""
    batches = in_memory(trainer._train_batches)
    if batches is None or unwrap(trainer._train_batches, _sharded) is not None:
        return None
    before, batches.batch_size = batches.batch_size, size
    return before


def _sharded(batches: Any) -> bool:
    return bool(getattr(batches, "sharded", False))


def replay_data_changes(trainer: Trainer, changes: list[dict[str, Any]]) -> None:
    """Apply again, in order, the data edits of a run being resumed."""
    for change in changes:
        if "impute" in change:
            trainer.impute_inputs()
        elif "augment" in change:
            trainer.augment(change["augment"])
        elif "restore" in change:
            trainer.restore_train_rows()
        else:
            trainer.keep_train_rows(change["keep"])


def tensors(batches: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The inputs and targets behind `batches` when they are held in memory, else None."""
    held = in_memory(batches)
    return (held.X, held.y) if held is not None else None


# the most input bytes `drawn_rows` copies: 20,000 rows of a table are a few MB, as many
# 224x224 RGB images 12 GB (and a pass decoding them minutes)
DRAWN_BYTES = 64 * 2**20


def drawn_rows(batches: Any, limit: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Up to `limit` rows, and `DRAWN_BYTES` of inputs, from one pass over `batches` that
    are not held in memory (a DataLoader), on the CPU; the random state is put back after,
    so that the run's own draws (a shuffling loader's next order) are the ones it would
    have made."""
    xs, ys, count, size = [], [], 0, 0
    with torch.random.fork_rng(devices=[]):
        for batch in batches:
            x, y = pair(batch)
            xs.append(x.detach().cpu())
            ys.append(y.detach().cpu())
            count, size = count + len(y), size + x.element_size() * x.numel()
            if count >= limit or size >= DRAWN_BYTES:
                break
    return (torch.cat(xs)[:limit], torch.cat(ys)[:limit]) if xs else None


def in_memory(batches: Any) -> Any:
    """The in-memory batches (with tensors `X`, `y`) behind `batches`: itself or one it
    wraps (augmentation), or None for a DataLoader."""
    return unwrap(batches, _holds_rows)


def _holds_rows(batches: Any) -> bool:
    return isinstance(getattr(batches, "X", None), torch.Tensor)
