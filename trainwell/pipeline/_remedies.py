"""Remedies that act while training: class weights, a balanced sampler, augmentation; and
the test rows filled after training as the doctor's repair filled the training rows.

They change the run through the Trainer's inputs (its loss and its batches), never the
Trainer itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data import Dataset, augmentation_of, remedy_record
from ..findings import Finding
from ..train import AugmentedBatches, TensorBatches, batch_bounds


def class_weighted_loss(
    y: np.ndarray, n_classes: int, device: torch.device
) -> tuple[nn.Module, np.ndarray]:
    """Cross-entropy weighted n / (k * n_c) per class (scikit-learn's "balanced")."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = len(y) / (n_classes * np.maximum(counts, 1.0))
    weight = torch.tensor(weights, dtype=torch.float32, device=device)
    return nn.CrossEntropyLoss(weight=weight), weights


class BalancedBatches(TensorBatches):
    """Rows drawn with replacement, each class equally likely; an epoch has n rows."""

    balanced = True  # read by the doctor: the class prior the model sees is uniform

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # weights from the rows as they are now: the doctor may drop rows mid-run
        y = self.y.cpu()
        weights = (1.0 / torch.bincount(y).clamp(min=1).double())[y]
        n = len(y)
        order = torch.multinomial(weights, n, replacement=True, generator=self.generator)
        order = order.to(self.X.device)
        for start, stop in batch_bounds(n, self.batch_size):
            index = order[start:stop]
            yield self.X[index], self.y[index]


def training_remedies(
    data: Dataset,
    remedies: list[str],
    findings: list[Finding],
    batch_size: int,
    seed: int,
    device: torch.device,
) -> tuple[Any, nn.Module | None, list[dict[str, Any]]]:
    """The training batches and loss the remedies ask for, and their repair records."""
    classification = data.info.task == "classification"
    k = data.info.n_outputs if classification else 0
    X, y = torch.from_numpy(data.train.X), torch.from_numpy(data.train.y)
    imbalance = next((f for f in findings if f.code == "class_imbalance"), None)
    repairs = []
    loss = None
    kind = BalancedBatches if "balanced_sampler" in remedies else TensorBatches
    batches: Any = kind(X, y, batch_size, shuffle=True, seed=seed, device=device)
    if "balanced_sampler" in remedies:
        repairs.append(
            remedy_record(
                "balanced_sampler",
                _mark(imbalance, "balanced_sampler"),
                "sampled every class equally often",
            )
        )
    if "class_weights" in remedies:
        loss, weights = class_weighted_loss(data.train.y, k, device)
        shown = ", ".join(f"{w:.2f}" for w in weights[:10])
        repairs.append(
            remedy_record(
                "class_weights",
                _mark(imbalance, "class_weights"),
                f"weighted the loss per class: {shown}",
            )
        )
    if "augment" in remedies:
        batches = AugmentedBatches(batches, k)
        what = augmentation_of(X.ndim)
        repairs.append(remedy_record("augment", None, f"augmented training batches: {what}"))
    return batches, loss, repairs


def _mark(finding: Finding | None, remedy: str) -> str | None:
    if finding is None:
        return None
    finding.remedy, finding.resolved = remedy, True
    return finding.code


def filled_as_trained(data: Dataset) -> Dataset:
    """The test rows, and inputs predicted later, filled as the doctor's `impute_inputs`
    filled training's: a non-finite input by 0, the training mean of a standardised one
    (`DataInfo.fill` in raw units, where the features are the standardiser's)."""
    test = data.test
    data.test = type(test)(
        np.where(np.isfinite(test.X), test.X, 0).astype(test.X.dtype), test.y, test.rows
    )
    features = int(np.prod(data.info.input_shape))
    mean = data.info.x_mean
    if data.info.fill is None and (mean is None or len(mean) == features):
        data.info.fill = [0.0] * features if mean is None else list(mean)
    return data
