"""What `Doctor` is given, checked where it is given: a wrong argument is one clear error
naming it, not an AttributeError three frames inside the doctor at the first step."""

from __future__ import annotations

import math
import numbers

import torch
from torch import nn

from ._rules import Thresholds
from ._silent import LoopThresholds


def check_arguments(
    model: object,
    optimizer: object,
    *,
    every: object,
    epochs: object,
    mode: str,
    scaler: object,
    thresholds: object,
    loop_thresholds: object,
) -> None:
    """Raise TypeError or ValueError naming the first argument `Doctor` cannot use."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"Doctor(model, optimizer) takes the model first, an nn.Module; got {_kind(model)}"
        )
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        hint = " (a scheduler? pass its optimizer)" if hasattr(optimizer, "optimizer") else ""
        raise TypeError(
            f"Doctor(model, optimizer) takes a torch.optim.Optimizer second; got "
            f"{_kind(optimizer)}{hint}"
        )
    lazy = [n for n, p in model.named_parameters() if nn.parameter.is_lazy(p)]
    if lazy:
        raise ValueError(
            f"the model's lazy modules are not initialised yet ({', '.join(lazy[:3])}): run "
            f"one forward pass, model(x), before building the Doctor"
        )
    if mode not in ("detect", "repair"):
        raise ValueError(f"mode must be detect or repair; got {mode!r}")
    if mode == "repair" and optimizer is None:
        raise ValueError("repair mode needs the optimizer: Doctor(model, optimizer, ...)")
    if not _whole(every) or every < 1:
        raise ValueError(f"every must be a positive number of steps; got {every!r}")
    if not _whole(epochs) or epochs < 0:
        raise ValueError(
            f"epochs must be the number of epochs the loop runs (0: unknown); got {epochs!r}"
        )
    for name, value, kind in (
        ("scaler", scaler, torch.amp.GradScaler),
        ("thresholds", thresholds, Thresholds),
        ("loop_thresholds", loop_thresholds, LoopThresholds),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__} or None; got {_kind(value)}")


def number(name: str, value: object) -> float:
    """`value` as a float, where it is a real number or a one-element tensor."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"doctor.epoch_end takes numbers: {name} is {_kind(value)}")


def nonfinite_validation(val_loss: float, train_loss: float, epoch: int) -> str | None:
    """What to tell a loop whose validation loss is not finite while its training loss is:
    the model makes NaN or inf on the validation data, and the validation says nothing
    (an attention padding mask inverted left it NaN every epoch, stress 22). None else."""
    if math.isfinite(val_loss) or not math.isfinite(train_loss):
        return None
    return (
        f"trainwell.Doctor: val_loss is {val_loss} at epoch {epoch} while the training loss "
        f"is finite: the model makes NaN or inf on the validation data (an attention mask "
        f"that hides every key of a row, a log or a division by 0 on some input, NaN in the "
        f"validation inputs), so it says nothing of the run. Find the rows whose outputs are "
        f"not finite: torch.isfinite(model(x)).flatten(1).all(1)."
    )


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _kind(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"
