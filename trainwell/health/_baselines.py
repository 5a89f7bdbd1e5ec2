"""What a run's loss is measured against: the best constant prediction (`prior_loss`) and
models of moderate capacity on rows they never saw (`reference_loss`), both scored by the
run's own loss."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.audit import (
    out_of_sample_predictions,
    out_of_sample_probabilities,
    reference_models,
)
from ..train import Trainer

PRIOR_ROWS = 20_000  # rows the prior's loss is measured on (a sample: the mean settles)
REFERENCE_ROWS = 2_000  # rows the reference model is fitted and scored on (out of fold)
REFERENCE_FOLDS = 3
# rows a DataLoader's pass gives the reference to draw from (its first rows may be sorted)
REFERENCE_POOL = 10 * REFERENCE_ROWS


def prior_loss(trainer: Trainer) -> float | None:
    """The loss of the best constant prediction, as the run scores it: the lower of
    predicting the class frequencies and equal odds (and, under class weights, the weighted
    frequencies), by the run's own loss function over the training rows as the batches draw
    them (each class equally often under a balanced sampler); 1 for standardised regression
    targets; None when unknown (soft or multi-label targets, or a loss that cannot score a
    constant)."""
    if trainer.task != "classification":
        return 1.0
    data = trainer.train_tensors
    if data is None:  # a DataLoader: equal odds, what a constant scores at most
        return math.log(trainer.n_classes) if trainer.n_classes > 1 else None
    if data[1].is_floating_point():
        return None  # soft or multi-label targets: no class frequencies to predict
    y = data[1].reshape(-1).cpu()
    y = y[y >= 0]  # ignored targets (ignore_index) carry no class
    if not len(y):
        return None
    drawn = torch.bincount(y, minlength=max(trainer.n_classes, 1)).double()
    if trainer.balanced_batches:
        drawn = (drawn > 0).double()
    constants = [drawn, (drawn > 0).double()]
    weight = getattr(trainer.loss_fn, "weight", None)
    if isinstance(weight, torch.Tensor) and weight.numel() == len(drawn):
        constants.append(drawn * weight.detach().cpu().double())
    logits = [(p / p.sum()).clamp_min(1e-12).log().float() for p in constants]
    return _lowest(_constant_loss(p, drawn, y, trainer) for p in logits)


def _constant_loss(
    logits: torch.Tensor, drawn: torch.Tensor, y: torch.Tensor, trainer: Trainer
) -> float | None:
    """The run's loss of predicting `logits` for every row, classes drawn in the shares
    `drawn`. Cross entropy and NLL score a constant by the row's class alone: one row per
    class, unreduced, weighed by the shares (their mean divides by the rows' class weights),
    exact and ~30x quicker than scoring every row (1 ms of the doctor's 13 on a 0.3 s run).
    Any other loss scores up to `PRIOR_ROWS` rows drawn as the batches draw them."""
    loss_fn = trainer.loss_fn
    if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)) and loss_fn.reduction == "mean":
        # (weights of 1 score as none: each row's loss times 1, the mean over the rows)
        weight = torch.ones(len(drawn)) if loss_fn.weight is None else loss_fn.weight.cpu()
        scored, classes = logits.expand(len(drawn), -1), torch.arange(len(drawn))
        with torch.no_grad():
            if isinstance(loss_fn, nn.CrossEntropyLoss):
                smoothing = loss_fn.label_smoothing
                rows = F.cross_entropy(
                    scored, classes, weight, reduction="none", label_smoothing=smoothing
                )
            else:
                rows = F.nll_loss(scored, classes, weight, reduction="none")
        loss = float((drawn * rows.double()).sum() / (drawn * weight.double()).sum())
        return loss if math.isfinite(loss) else None
    draw = torch.Generator().manual_seed(0)
    if trainer.balanced_batches:
        chance = (1 / torch.bincount(y).clamp_min(1).double())[y]
        rows = y[torch.multinomial(chance, PRIOR_ROWS, replacement=True, generator=draw)]
    else:
        rows = y[torch.randperm(len(y), generator=draw)[:PRIOR_ROWS]]
    return _scored(logits.expand(len(rows), -1), rows, trainer)


Rows = tuple[torch.Tensor, torch.Tensor]


def measured_later(trainer: Trainer) -> dict[str, Callable[[], float | None]]:
    """`reference_loss` and `image_bar_loss`, each to be measured when a rule first reads it,
    from one draw of the training rows (`training_rows`)."""
    rows = training_rows(trainer)
    return {
        "reference_loss": lambda: reference_loss(trainer, rows()),
        "bar_loss": lambda: image_bar_loss(trainer, rows()),
    }


def training_rows(trainer: Trainer) -> Callable[[], Rows | None]:
    """The training rows the baselines are measured on: those held in memory as they are
    now, or up to `REFERENCE_POOL` rows a DataLoader gives in one pass, drawn once: the
    reference and the images' bar each read them, and a loader that decodes images from
    disk is slow to pass over."""
    drawn: Rows | None = None

    def rows() -> Rows | None:
        nonlocal drawn
        if trainer.train_tensors is not None:  # held: no copy kept past a data remedy
            return trainer.train_tensors
        if drawn is None:
            drawn = trainer.train_rows(REFERENCE_POOL)
        return drawn

    return rows


def reference_loss(trainer: Trainer, data: Rows | None = None) -> float | None:
    """The loss of models of moderate capacity on training rows they never saw, scored by the
    run's own loss function: 3-fold out-of-fold predictions on up to `REFERENCE_ROWS` rows of
    a table, the lowest of a logistic regression's and the label audit's kernel model's
    (nearly an RBF SVM) at three regularisations for classes (`reference_models`), and of
    kernel ridge regression (its strength chosen within each fold) for numbers. It is what a
    model of moderate capacity reaches on unseen rows of this data, noisy labels and
    overlapping classes included: a network whose validation loss is already as low has no
    avoidable bias for more capacity to remove. None for images (a kernel on raw pixels is
    a weak reference: 44% accuracy on 28x28 shapes a small CNN classifies at 97%) and soft
    targets. Batches not held in memory (a DataLoader) give the rows of one pass, up to
    `REFERENCE_POOL`; `data`, where given, are the rows (`training_rows`)."""
    data = trainer.train_rows(REFERENCE_POOL) if data is None else data
    if data is None or data[0].ndim != 2:
        return None
    X, y = data
    rows = _sampled_rows(y, trainer)
    if rows is None:
        return None
    inputs = X[rows].detach().cpu().double().numpy()
    inputs[~np.isfinite(inputs)] = np.nan  # the reference imputes missing values
    return _lowest_out_of_fold(inputs, y[rows], trainer)


BAR_FILTERS = 64  # random 5x5 convolution filters
BAR_SIDE = 32  # images are average-pooled down to this side at most first
BAR_CHUNK = 250  # images convolved at a time


def image_bar_loss(trainer: Trainer, data: Rows | None = None) -> float | None:
    """For images, a bar a network must beat, scored by the run's own loss: the lowest
    out-of-fold loss of the reference models (`reference_models`) on fixed random
    convolution features of up to `REFERENCE_ROWS` training images (`_random_features`),
    rows they never saw. Fixed random filters, rectified and pooled, feed a linear model
    much of what tells image classes apart (Jarrett et al. 2009; Saxe et al. 2011): on 34x34
    dice frames 0.66 accuracy where raw pixels give 0.20 and a healthy CNN 0.94, on 32x32
    gauge dials 0.72 (0.32, 0.87). A CNN that stalls above it learned less from its images
    than random filters give a linear model. A bar, not what the data allows: a network
    as good as it may still lack capacity. None for other inputs and soft targets. `data`,
    where given, are the rows (`training_rows`)."""
    if trainer.task != "classification":
        return None
    data = trainer.train_rows(REFERENCE_POOL) if data is None else data
    if data is None or data[0].ndim != 4 or not data[0].is_floating_point():
        return None
    X, y = data
    rows = _sampled_rows(y, trainer)
    if rows is None:
        return None
    features = _random_features(X[rows].detach().cpu().float())
    return _lowest_out_of_fold(features, y[rows], trainer)


def _sampled_rows(y: torch.Tensor, trainer: Trainer) -> torch.Tensor | None:
    """Up to `REFERENCE_ROWS` rows, drawn with a fixed seed; of classes, those with a class
    (ignored targets, `ignore_index`, carry none); None for soft or multi-label targets."""
    rows = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))[:REFERENCE_ROWS]
    if trainer.task != "classification":
        return rows
    if y.ndim != 1 or y.is_floating_point():
        return None
    return rows[y[rows].cpu() >= 0]


def _lowest_out_of_fold(
    inputs: np.ndarray, targets: torch.Tensor, trainer: Trainer
) -> float | None:
    """The lowest of the reference models' out-of-fold losses on `inputs`, by the run's loss."""
    outputs = _out_of_fold(inputs, targets.detach().cpu().numpy(), trainer)
    return _lowest(_scored(output, targets, trainer) for output in outputs)


def _lowest(losses: Iterable[float | None]) -> float | None:
    return min((loss for loss in losses if loss is not None), default=None)


def _random_features(images: torch.Tensor) -> np.ndarray:
    """`BAR_FILTERS` fixed random 5x5 filters (zero-mean, seeded) over the standardised
    images, rectified, then each map's mean over a 3x3 grid and its maximum: 640 features a
    row, ~0.6 s for 2,000 images 34x34 (a 2x2 grid: 1.14 on the dice, not 1.07; 128 filters: the
    same, at twice the time)."""
    x = torch.nan_to_num(images)
    if max(x.shape[-2:]) > BAR_SIDE:
        x = F.adaptive_avg_pool2d(x, (min(x.shape[-2], BAR_SIDE), min(x.shape[-1], BAR_SIDE)))
    x = (x - x.mean()) / x.std().clamp_min(1e-12)
    weights = torch.randn(BAR_FILTERS, x.shape[1], 5, 5, generator=torch.Generator().manual_seed(0))
    weights -= weights.mean(dim=(1, 2, 3), keepdim=True)
    features = []
    with torch.no_grad():
        for chunk in x.split(BAR_CHUNK):  # 2,000 images' maps at once would be 0.5 GB
            maps = F.relu(F.conv2d(chunk, weights, padding=2))
            grid, peak = F.adaptive_avg_pool2d(maps, 3), F.adaptive_max_pool2d(maps, 1)
            features.append(torch.cat([grid.flatten(1), peak.flatten(1)], 1))
    return torch.cat(features).double().numpy()


def _scored(outputs: torch.Tensor, targets: torch.Tensor, trainer: Trainer) -> float | None:
    """The run's loss of `outputs` against `targets`; None where it cannot score them."""
    try:
        with torch.no_grad():
            loss = trainer.loss_fn(outputs.to(targets.device), targets)
    except (RuntimeError, ValueError, IndexError):  # a loss that takes other outputs
        return None
    return float(loss) if loss.numel() == 1 and math.isfinite(float(loss)) else None


def _out_of_fold(X: np.ndarray, y: np.ndarray, trainer: Trainer) -> list[torch.Tensor]:
    """Log-probabilities (classes), one per model of `reference_models`, or predictions
    shaped as the targets (numbers); none where the rows cannot be judged."""
    if trainer.task == "classification":
        if len(np.unique(y)) < 2:
            return []
        classes = max(trainer.n_classes, int(y.max()) + 1)
        probs = (
            out_of_sample_probabilities(X, y, classes, REFERENCE_FOLDS, model=model)
            for model in reference_models(len(y))
        )
        return [torch.from_numpy(p).clamp_min(1e-7).log().float() for p in probs]
    if not np.isfinite(y).all() or len(y) < 2 * REFERENCE_FOLDS:
        return []
    return [torch.from_numpy(out_of_sample_predictions(X, y, REFERENCE_FOLDS)).float()]
