"""Evaluation: loss, accuracy, macro-F1 and the confusion matrix; or MSE, MAE and R2."""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from ._batches import pair
from ._distributed import gather_objects, max_over_ranks, reduce_counts


@dataclass
class Evaluation:
    metrics: dict[str, float]  # loss, accuracy, macro_f1 | loss, mse, mae, r2
    confusion: list[list[int]] | None = None  # rows: true class, columns: predicted
    # each row's loss, in the order of the batches (`rows`: a pass of that many rows or
    # fewer, a loss of torch's that averages over rows; None otherwise), and a fingerprint
    # of that order (the rows' targets and input sums): rows of two passes pair only where
    # it is the same
    row_losses: np.ndarray | None = None
    row_order: str | None = None


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    task: str,
    n_classes: int = 0,
    device: torch.device | None = None,
    target_scale: tuple[float, float] = (0.0, 1.0),
    autocast: torch.autocast | None = None,
    reduce: bool = False,
    rows: int = 0,
) -> Evaluation:
    """Evaluate `model` in eval mode; one host transfer for the metrics of the whole pass.

    Regression targets are trained standardised; `target_scale = (mean, std)` maps
    predictions back so MSE and MAE are in the target's own units. `reduce`: `batches` is
    this rank's share of the rows (DDP); counts are summed over ranks, so every rank gets
    the metrics of the whole set. `rows`: keep each row's loss too (`Evaluation.row_losses`)
    in a pass of at most that many rows, where `loss_fn` is one of torch's own losses that
    averages over rows (a class weight or an ignored target scales a row's loss: their mean
    is then not the loss), on one process.
    """
    was_training = model.training
    model.eval()
    outputs, targets, loss_sum, count = [], [], None, 0
    per_row = _per_row(loss_fn) if rows > 0 and not reduce else None
    row_losses: list[torch.Tensor] = []
    row_sums: list[torch.Tensor] = []  # each row's inputs summed: which row is where
    threshold = _probability_threshold(loss_fn)
    for batch in batches:
        x, y = batch if type(batch) is tuple and len(batch) == 2 else pair(batch)
        if device is not None:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        if autocast is not None:
            with autocast:
                out = model(x)
        else:
            out = model(x)
        out = _float(out)
        batch_loss = loss_fn(out, y).detach() * len(y)
        if per_row is not None:
            known = isinstance(x, torch.Tensor) and count + len(y) <= rows
            row = _row_losses(per_row, out, y) if known else None
            if row is None:  # a row unknown, or more rows than asked for: none kept
                per_row, row_losses = None, []
            else:
                row_losses.append(row)
                row_sums.append(x.detach().reshape(len(x), -1).float().sum(1))
        loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
        count += len(y)
        if task == "classification":
            outputs.append(_predicted_classes(out, threshold))
            targets.append(_true_classes(y))
        else:
            outputs.append(_primary(out))
            targets.append(y)
    model.train(was_training)
    if count == 0:
        raise ValueError("cannot evaluate on an empty set of batches")
    predicted, true = torch.cat(outputs), torch.cat(targets)
    if reduce:
        return _reduced(loss_sum, count, true, predicted, task, n_classes, target_scale)
    loss = float(loss_sum) / count
    true, predicted = true.cpu().numpy(), predicted.cpu().numpy()
    if task == "classification":
        scored = _classification(loss, true, predicted, n_classes)
    else:
        scored = _regression(loss, true, predicted, target_scale)
    if per_row is None:
        return scored
    order = hashlib.blake2b(true.tobytes(), digest_size=16)
    order.update(torch.cat(row_sums).cpu().numpy().tobytes())
    rows_seen = torch.cat(row_losses).float().cpu().numpy()
    return replace(scored, row_losses=rows_seen, row_order=order.hexdigest())


def _per_row(loss_fn: Callable) -> Callable | None:
    """`loss_fn` with no reduction, where it is one of torch's own losses that averages
    over the rows (`reduction="mean"`); None for any other callable, whose rows are unknown
    (a loss of a library's, built on torch's base class, may average whatever its
    `reduction` says)."""
    if not type(loss_fn).__module__.startswith("torch.nn.modules.loss"):
        return None
    if getattr(loss_fn, "reduction", None) != "mean":
        return None
    unreduced = copy.copy(loss_fn)
    unreduced.reduction = "none"
    return unreduced


def _row_losses(per_row: Callable, out: object, y: torch.Tensor) -> torch.Tensor | None:
    """Each row's loss of one batch (the mean over its other dimensions); None where the
    loss does not give one value or more a row (a tuple output, another shape)."""
    if not isinstance(out, torch.Tensor):
        return None
    try:
        losses = per_row(out, y)
    except (RuntimeError, ValueError, TypeError):
        return None
    if not isinstance(losses, torch.Tensor) or losses.dim() == 0 or len(losses) != len(y):
        return None
    return losses.detach().reshape(len(y), -1).float().mean(1)


def _float(out: object) -> object:
    """The model's output in float32; a tuple or list output (logits and an auxiliary
    term, as a loss that unpacks them takes) keeps its form."""
    if isinstance(out, torch.Tensor):
        return out.float()
    if isinstance(out, (tuple, list)):
        return type(out)(_float(part) for part in out)
    return out


def _primary(out: object) -> torch.Tensor:
    """The output the metrics read: the first tensor of a tuple or list output."""
    while isinstance(out, (tuple, list)) and out:
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"the model returned {type(out).__name__}: the metrics need a tensor, or a tuple "
            "or list whose first element is the tensor of predictions"
        )
    return out


def _probability_threshold(loss_fn: Callable) -> float:
    """Where one output column splits the two classes: 0.5 for probabilities (`BCELoss`
    takes them), 0 for a logit (`BCEWithLogitsLoss` and anything else)."""
    return 0.5 if isinstance(loss_fn, nn.BCELoss) else 0.0


def _predicted_classes(out: object, threshold: float) -> torch.Tensor:
    """Class indices from one score per class, or from one output column (binary)."""
    scores = _primary(out)
    if scores.dim() == 1 or (scores.dim() == 2 and scores.shape[1] == 1):
        return (scores.reshape(-1) > threshold).long()
    return scores.argmax(1)


def _true_classes(y: torch.Tensor) -> torch.Tensor:
    """Class indices from integer targets, one-hot or soft targets (one column per class),
    or 0/1 float targets of a binary loss, shaped (n,) or (n, 1)."""
    if y.dim() == 2 and y.shape[1] > 1:
        return y.argmax(1)
    y = y.reshape(-1)
    return y.round().long() if y.is_floating_point() else y


def _reduced(
    loss_sum: torch.Tensor,
    count: int,
    true: torch.Tensor,
    predicted: torch.Tensor,
    task: str,
    n_classes: int,
    target_scale: tuple[float, float],
) -> Evaluation:
    """Metrics of the whole set from every rank's share: the loss from summed loss and row
    counts, classification from the summed confusion matrix (equal to one process's), and
    regression from the predictions gathered in rank order (the shares are contiguous)."""
    if task != "classification":
        loss_sum, count = reduce_counts(loss_sum, count)
        pairs = gather_objects((true.cpu().numpy(), predicted.cpu().numpy()))
        return _regression(
            float(loss_sum / count),
            np.concatenate([t for t, _ in pairs]),
            np.concatenate([p for _, p in pairs]),
            target_scale,
        )
    k = n_classes or int(max_over_ranks(int(max(true.max(), predicted.max())) + 1))
    local = torch.bincount(true.long() * k + predicted.long(), minlength=k * k).reshape(k, k)
    loss_sum, count, confusion = reduce_counts(loss_sum, count, local)
    confusion = confusion.round().long().cpu().numpy()
    if not n_classes:  # the classes present anywhere, as scikit-learn does
        present = (confusion.sum(0) + confusion.sum(1)) > 0
        confusion = confusion[present][:, present]
    return _scores(float(loss_sum / count), confusion)


def _classification(
    loss: float, true: np.ndarray, predicted: np.ndarray, n_classes: int
) -> Evaluation:
    """Accuracy and macro-F1 from one confusion matrix.

    Equal to scikit-learn's `confusion_matrix` and `f1_score(average="macro",
    zero_division=0)` (tests check it), without their input validation, which cost 4x the
    whole validation pass of a small model every epoch. With `n_classes=0` the classes are
    those present, as scikit-learn does.
    """
    labels = np.arange(n_classes) if n_classes else np.unique(np.concatenate([true, predicted]))
    k = len(labels)
    t, p = np.searchsorted(labels, true), np.searchsorted(labels, predicted)
    return _scores(loss, np.bincount(t * k + p, minlength=k * k).reshape(k, k))


def _scores(loss: float, confusion: np.ndarray) -> Evaluation:
    """Accuracy and macro-F1 of a confusion matrix (rows: true class); NaN with a loss that
    is not finite: the scores of a diverged network are argmax's of NaN (the first class
    for every row, 0.2 accuracy beside a test loss of None)."""
    if not math.isfinite(loss):
        return Evaluation({"loss": loss, "accuracy": math.nan, "macro_f1": math.nan}, None)
    tp = np.diag(confusion)
    both = confusion.sum(0) + confusion.sum(1)  # support and predicted
    f1 = np.divide(2 * tp, both, out=np.zeros(len(tp)), where=both > 0)
    return Evaluation(
        {"loss": loss, "accuracy": float(tp.sum() / confusion.sum()), "macro_f1": float(f1.mean())},
        confusion.tolist(),
    )


def _regression(
    loss: float, true: np.ndarray, predicted: np.ndarray, target_scale: tuple[float, float]
) -> Evaluation:
    from sklearn import metrics as skm  # here: the loop doctor imports the Trainer, not this

    if not np.all(np.isfinite(predicted)):
        return Evaluation({"loss": loss, "mse": math.nan, "mae": math.nan, "r2": math.nan})
    mean, std = target_scale  # in float64: a float32 run that flew off squares past 3e38
    true, predicted = (np.asarray(a, dtype=np.float64) * std + mean for a in (true, predicted))
    return Evaluation(
        {
            "loss": loss,
            "mse": float(skm.mean_squared_error(true, predicted)),
            "mae": float(skm.mean_absolute_error(true, predicted)),
            "r2": float(skm.r2_score(true, predicted)),
        }
    )
