"""What the end of training shows without the doctor: a run that diverged, and a rare class
the trained network never recognises.

At 98:2 a network that answers the common class for every row scores 0.98 accuracy; the
audit warns of the imbalance before training, but only the trained network's predictions
show whether it learned the rare class at all.
"""

from __future__ import annotations

import numpy as np

from ..data import Dataset
from ..findings import Finding
from ..train import Evaluation, FitResult

# a class needs this many held-out rows (validation and test) before "never predicted" is
# evidence, not chance
IGNORED_MIN_ROWS = 10
# a class is rare below this share of a uniform one (k classes: 1 / (2k) of the rows)
RARE_SHARE = 0.5
BALANCING = ("class_weights", "balanced_sampler")
# findings that say the network did not learn: what it ignores follows from that
NOT_LEARNED = ("underfitting", "slow_convergence")


def outcome_findings(
    result: FitResult,
    held_out: list[Evaluation],
    data: Dataset,
    remedies: list[str],
    findings: list[Finding],
) -> list[Finding]:
    """What the end of training adds to `findings` (the run's so far): a divergence the
    doctor did not name, a rare class the kept weights never recognise in the `held_out`
    evaluations (validation's and test's: a rare class has few rows in each)."""
    found = [] if any(f.code == "divergence" for f in findings) else divergence(result)
    if data.info.task == "classification" and result.status != "diverged":
        confusions = [e.confusion for e in held_out if e.confusion]
        found += ignored_classes(confusions, data.info.classes, data.train.y, remedies, findings)
    return found


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
    confusions: list[list[list[int]]],
    classes: list[str],
    train_y: np.ndarray,
    remedies: list[str],
    findings: list[Finding] = (),
) -> list[Finding]:
    """Rare classes (below `RARE_SHARE` of a uniform share of the training rows) with
    `IGNORED_MIN_ROWS` held-out rows or more (over the `confusions` of validation and test,
    summed: a rare class has few in each) of which the trained network recognises none
    (recall 0; a few other rows may be predicted as the class, wrongly): the accuracy is
    what answering the others scores. Common classes are left to the doctor: a network
    that misses all of those learned little; so is a network `findings` (the run's so far)
    say did not learn (`NOT_LEARNED`): with 20 steps in all it answered the common classes,
    and class weights moved the miss to another class."""
    if not confusions or len(confusions[0]) < 2:
        return []
    if any(f.code in NOT_LEARNED and f.severity != "info" for f in findings):
        return []
    shape = np.shape(confusions[0])  # (one of the classes present only: not summed)
    matrix = sum(np.asarray(c) for c in confusions if np.shape(c) == shape)
    support, predicted = matrix.sum(1), matrix.sum(0)
    counts = np.bincount(np.asarray(train_y, dtype=np.int64), minlength=len(matrix))
    shares = counts / max(counts.sum(), 1)
    rare = shares < RARE_SHARE / len(matrix)
    ignored = np.flatnonzero(rare & (support >= IGNORED_MIN_ROWS) & (np.diag(matrix) == 0))
    if not len(ignored):
        return []
    names = [str(classes[i]) if i < len(classes) else str(i) for i in ignored]
    each = ", ".join(
        f"'{name}' ({int(support[i])} rows, {shares[i]:.1%} of training's)"
        for name, i in zip(names, ignored, strict=True)
    )
    one = len(ignored) == 1
    accuracy = float(np.trace(matrix) / max(matrix.sum(), 1))
    wrong = int(predicted[ignored].sum())  # other rows predicted as the class
    it, its = ("it", "its") if one else ("them", "their")
    guessed = f"it predicts {it} for {wrong} other rows" if wrong else f"it never predicts {it}"
    balanced = [name for name in remedies if name in BALANCING]
    if balanced:
        advice = (
            f"It does so even under {' and '.join(balanced)}: collect more of {its} rows, or "
            f"check that {its} features tell {it} apart."
        )
    else:
        advice = (
            "The imbalance taught it to answer the common classes: add data.remedies: "
            "[class_weights] or [balanced_sampler]."
        )
    blind = _unrecognised_by_the_audit(findings, names)
    if blind:
        advice += (
            f" The audit's model did not recognise {', '.join(blind)} either: if weighting "
            f"does not help, the features may not tell {it} apart (or the labels are wrong)."
        )
    return [
        Finding(
            code="ignored_class",
            severity="warning",
            source="evaluation",
            message=(
                f"The trained network recognises none of the held-out rows (validation and "
                f"test) of {each}; "
                f"{guessed}: recall 0, and the accuracy of {accuracy:.3f} is what answering "
                f"the other classes scores. {advice}"
            ),
            evidence={
                "classes": names,
                "held_out_rows": [int(support[i]) for i in ignored],
                "train_share": [float(shares[i]) for i in ignored],
                "held_out_accuracy": accuracy,
                "remedies": balanced,
            },
        )
    ]


def _unrecognised_by_the_audit(findings: list[Finding], names: list[str]) -> list[str]:
    """Of `names`, the classes the audit's model recognised too few rows of to judge their
    labels (`labels_not_judged`)."""
    unjudged = {
        str(name)
        for f in findings
        if f.code == "labels_not_judged"
        for name in f.evidence.get("classes", [])
    }
    return [f"'{name}'" for name in names if name in unjudged]
