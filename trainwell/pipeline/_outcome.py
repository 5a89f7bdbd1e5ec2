"""What the end of training shows without the doctor: a run that diverged, and a rare class
the trained network never recognises.

At 98:2 a network that answers the common class for every row scores 0.98 accuracy; the
audit warns of the imbalance before training, but only the trained network's predictions
show whether it learned the rare class at all.
"""

from __future__ import annotations

import numpy as np

from ..findings import Finding
from ..train import FitResult

# a class needs this many validation rows before "never predicted" is evidence, not chance
IGNORED_MIN_ROWS = 10
# a class is rare below this share of a uniform one (k classes: 1 / (2k) of the rows)
RARE_SHARE = 0.5
BALANCING = ("class_weights", "balanced_sampler")


def divergence(result: FitResult) -> list[Finding]:
    """A loss that became non-finite ended the run (the doctor, when on, says more)."""
    if result.status != "diverged":
        return []
    last = result.history[-1]
    return [
        Finding(
            code="divergence",
            severity="error",
            source="training",
            message=(
                f"Training diverged: the loss became non-finite (NaN or inf) at step "
                f"{result.diverged_step}, in epoch {last['epoch']}. Lower the learning rate, "
                "clip gradients (train.grad_clip) or check the data for NaN values."
            ),
            evidence={"step": result.diverged_step, "lr": last["lr"]},
            epoch=int(last["epoch"]),
            step=result.diverged_step,
        )
    ]


def ignored_classes(
    confusion: list[list[int]] | None,
    classes: list[str],
    train_y: np.ndarray,
    remedies: list[str],
) -> list[Finding]:
    """Rare classes (below `RARE_SHARE` of a uniform share of the training rows) with
    `IGNORED_MIN_ROWS` validation rows or more of which the trained network recognises none
    (recall 0; a few other rows may be predicted as the class, wrongly): the accuracy is
    what answering the others scores. Common classes are left to the doctor: a network
    that misses all of those learned little."""
    if not confusion or len(confusion) < 2:
        return []
    matrix = np.asarray(confusion)
    support, predicted = matrix.sum(1), matrix.sum(0)
    counts = np.bincount(np.asarray(train_y, dtype=np.int64), minlength=len(matrix))
    shares = counts / max(counts.sum(), 1)
    rare = shares < RARE_SHARE / len(matrix)
    ignored = np.flatnonzero(rare & (support >= IGNORED_MIN_ROWS) & (np.diag(matrix) == 0))
    if not len(ignored):
        return []
    names = [str(classes[i]) if i < len(classes) else str(i) for i in ignored]
    quoted = ", ".join(f"'{name}'" for name in names)
    rows = int(support[ignored].sum())
    accuracy = float(np.trace(matrix) / max(matrix.sum(), 1))
    wrong = int(predicted[ignored].sum())  # other rows predicted as the class
    guessed = f"it predicts it for {wrong} other rows" if wrong else "it never predicts it"
    balanced = [name for name in remedies if name in BALANCING]
    if balanced:
        advice = (
            f"It does so even under {' and '.join(balanced)}: collect more of its rows, or "
            f"check that its features tell it apart."
        )
    else:
        advice = (
            "The imbalance taught it to answer the common classes: add data.remedies: "
            "[class_weights] or [balanced_sampler]."
        )
    return [
        Finding(
            code="ignored_class",
            severity="warning",
            source="evaluation",
            message=(
                f"The trained network recognises none of the {rows} validation rows of "
                f"{quoted} ({shares[ignored].sum():.1%} of the training rows; {guessed}): its "
                f"recall is 0, and the accuracy of {accuracy:.3f} is what answering the other "
                f"classes scores. {advice}"
            ),
            evidence={
                "classes": names,
                "val_rows": [int(support[i]) for i in ignored],
                "train_share": [float(shares[i]) for i in ignored],
                "val_accuracy": accuracy,
                "remedies": balanced,
            },
        )
    ]
