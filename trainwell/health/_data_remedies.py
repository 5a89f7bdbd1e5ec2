"""Remedies that change the training rows the network sees: drop the rows whose labels look
wrong (and put them back if that did not help), augment them (and stop if that did not
help), impute NaN inputs. The repaired config asks for each, so that a rerun applies it
before training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import augmentation_of
from ..data.audit import (
    Thresholds,
    find_label_issues,
    holdout_accuracy,
    out_of_sample_probabilities,
)
from ..train import Trainer
from ._layers import weighted_layers
from ._rebuild import NotApplicable, Rebuild


def drop_label_issues(trainer: Trainer, rebuild: Rebuild) -> str:
    """A network that overfits memorises the labels it cannot learn: drop the training rows
    whose labels confident learning finds wrong (the audit's label check, on the training
    data as the network sees it, or on the network's own features where a kernel model
    does not know the raw inputs), when more of them than the audit warns about, when the
    check's model knows the data about as well as the network does, and when the network
    at its best doubts those labels too."""
    data = trainer.train_tensors
    if data is None or trainer.task != "classification":
        raise NotApplicable("needs classification data held in memory")
    X, y = (t.detach().cpu().numpy() for t in data)
    labels, t = y.astype(np.int64), Thresholds()
    seen = _network_view(trainer, data[0])  # its classes and features, at its best epoch
    judged, judged_on = _judged_rows(trainer, X, labels, seen.features)
    probs = out_of_sample_probabilities(judged, labels, trainer.n_classes, t.cv_folds)
    issues = find_label_issues(labels, probs)
    if issues.mean() <= t.label_issue_fraction:
        raise NotApplicable(f"only {issues.mean():.1%} of the training labels look wrong")
    _network_doubts_them_too(seen.predicted, labels, issues)
    dropped = trainer.keep_train_rows(torch.from_numpy(~issues))
    if judged_on == "inputs":
        _ask_for(rebuild, "drop_label_issues")
        return (
            f"dropped {dropped} training rows ({issues.mean():.1%}) whose labels look wrong; "
            "data.remedies: drop_label_issues"
        )
    return (
        f"dropped {dropped} training rows ({issues.mean():.1%}) whose labels look wrong, "
        "judged on the network's own features at its best epoch (a kernel model does not "
        "know the raw inputs well enough; a rerun of the repaired config cannot repeat this "
        "drop: its doctor will find the overfitting again)"
    )


# the label check's model may score this much below the network on validation data
JUDGE_MARGIN = 0.05


def _judged_rows(
    trainer: Trainer, X: np.ndarray, labels: np.ndarray, features: np.ndarray
) -> tuple[np.ndarray, str]:
    """What the label check judges the labels on: the raw inputs where its kernel model
    knows them about as well as the network (`JUDGE_MARGIN`, on the validation data: a
    rerun's audit can repeat that drop), else the network's own `features` at the weights
    the remedy starts from (its best epoch, before it memorised the noise: the input of
    its last layer, which separates the classes linearly there; "deep k-NN", Bahri et
    al. 2020). On a problem only the network separates, the raw inputs' judge flags its
    own errors (clean synthetic tables: 5-30% of their rows). NotApplicable where neither
    knows the data. Where both do, the raw inputs: on noisy digits, judged on the features
    instead, the repaired runs ended 0.5-2.5 points lower."""
    raw = X.reshape(len(X), -1)
    held = trainer.val_tensors
    scores = [row["val_accuracy"] for row in trainer.history if "val_accuracy" in row]
    if held is None or not scores:
        return raw, "inputs"  # nothing to compare with: the check decides alone
    X_held, y_held = held[0].detach(), held[1].detach().cpu().numpy()
    needed = max(scores) - JUDGE_MARGIN
    judge = holdout_accuracy(raw, labels, X_held.cpu().numpy().reshape(len(y_held), -1), y_held)
    if judge >= needed:
        return raw, "inputs"
    learned = holdout_accuracy(features, labels, _network_view(trainer, X_held).features, y_held)
    if learned >= needed:
        return features, "features"
    raise NotApplicable(
        f"the label check's model scores {max(judge, learned):.0%} on the validation data, "
        f"the network {max(scores):.0%}: the labels it doubts are its own errors"
    )


@dataclass(frozen=True)
class _NetworkView:
    """What the network makes of some rows: the class it predicts for each, and its
    features there (what its last weighted layer receives, flattened)."""

    predicted: np.ndarray
    features: np.ndarray


@torch.no_grad()
def _network_view(trainer: Trainer, X: torch.Tensor) -> _NetworkView:
    """The network's classes and features for the rows of `X`, in eval mode, in batches:
    one pass serves the label check and the network's own doubt."""
    model, was_training = trainer.model, trainer.model.training
    name, _ = weighted_layers(model)[-1]
    features: list[torch.Tensor] = []
    hook = model.get_submodule(name).register_forward_pre_hook(
        lambda module, args: features.append(args[0].flatten(1).float().cpu())
    )
    model.eval()
    try:
        predicted = [model(x.to(trainer.device)).argmax(1).cpu() for x in X.split(1024)]
    finally:
        hook.remove()
        model.train(was_training)
    return _NetworkView(torch.cat(predicted).numpy(), torch.cat(features).numpy())


# the network must give another class than the given one to at least this share of the rows
# the label check flags
NETWORK_DOUBTS = 0.5


def _network_doubts_them_too(predicted: np.ndarray, labels: np.ndarray, issues: np.ndarray) -> None:
    """Raise NotApplicable unless the network, at the weights the remedy starts from (its
    best epoch, before it memorised what it cannot learn), gives another class than the
    given one to most of the flagged rows. Where two models doubt a label, it is likely
    wrong; where the network learned it, the judge's doubt is the judge's error. Measured
    at the moment the remedy was tried, 3 seeds each: on 6 tables and image sets with
    15-30% of the training labels flipped, the network doubted 58-94% of the flagged rows
    in 17 runs of 18 (36% in one run whose best epoch came late); on 4 clean tables where
    the kernel judge flags 5-34% of the rows, 0-33%. `predicted`: the network's classes
    for the training rows (`_network_view`)."""
    doubted = float((predicted[issues] != labels[issues]).mean())
    if doubted < NETWORK_DOUBTS:
        raise NotApplicable(
            f"the network, at its best epoch, predicts the given label for {1 - doubted:.0%} "
            f"of the {int(issues.sum())} rows the label check doubts: they look hard, not "
            "mislabelled"
        )


def augment(trainer: Trainer, rebuild: Rebuild) -> str:
    """A network that memorises its training images sees each one as it is, every epoch:
    show it copies rotated, shifted and noised, which keep their labels, so that what it
    can fit is what generalises. Not table rows: no change is known to keep their labels,
    and mixup's blended targets change the loss the curve rules read (on 16 overfitting
    tables of dev, dev-2 and the older held-out rounds, augmenting from the start with the
    doctor off lost as often as it won)."""
    data = trainer.train_tensors
    if data is None or data[0].ndim != 4:
        raise NotApplicable("needs images held in memory")
    if not trainer.augment():
        raise NotApplicable("the training images are augmented already")
    _ask_for(rebuild, "augment")
    what = augmentation_of(data[0].ndim)
    return f"augmented the training images ({what}); data.remedies: augment"


def undo_augment(trainer: Trainer, rebuild: Rebuild) -> str:
    """Augmentation that did not cure the overfitting only slows the next remedy's network:
    train on the rows as they are again."""
    trainer.augment(on=False)
    _unask_for(rebuild, "augment")
    return "stopped augmenting the training images"


def impute_inputs(trainer: Trainer, rebuild: Rebuild) -> str:
    """NaN inputs make every loss NaN: mean-impute them (what `data.remedies: [impute]` does
    before training, and what the repaired config asks for)."""
    replaced = trainer.impute_inputs()
    _ask_for(rebuild, "impute")
    return f"replaced {replaced} NaN/inf input values by the training mean; data.remedies: impute"


def _ask_for(rebuild: Rebuild, remedy: str) -> None:
    """The repaired config asks for the data remedy the doctor applied in memory, so a
    rerun applies it before training."""
    if remedy not in rebuild.config.data.remedies:
        rebuild.config.data.remedies = [*rebuild.config.data.remedies, remedy]
        rebuild.asked.append(remedy)


def undo_drop_label_issues(trainer: Trainer, rebuild: Rebuild) -> str:
    """Rows dropped for an overfitting they did not cure were hard, not mislabelled: train
    on them again, and the repaired config no longer asks for the drop."""
    restored = trainer.restore_train_rows()
    _unask_for(rebuild, "drop_label_issues")
    return f"put back the {restored} training rows it dropped"


def _unask_for(rebuild: Rebuild, remedy: str) -> None:
    """The repaired config no longer asks for a data remedy the doctor added and undid (one
    the user asked for stays)."""
    if remedy in rebuild.asked:
        rebuild.asked.remove(remedy)
        remedies = rebuild.config.data.remedies
        rebuild.config.data.remedies = [r for r in remedies if r != remedy]
