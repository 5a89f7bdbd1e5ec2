"""Underfitting read against a bar: a network on images that stalls above what a linear
model makes of fixed random convolution features of them (`_baselines.image_bar_loss`),
and a linear model on a table that stalls above what the reference models reach on it
(`_baselines.reference_loss`).

Tables have reference models that say what loss the data allows (`_underfit_rules.py`);
images have none that strong, and a plateau of the training loss says nothing under a
schedule that anneals the rate. What a network must at least beat, it can be held to.
"""

from __future__ import annotations

from ..findings import Finding
from ._curve_base import _finite, _judged
from ._history import ProbeHistory
from ._rule_base import Thresholds, finding
from ._unit_rules import units_lost


def short_of_the_bar(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A convolutional network, after `judge_after` of the budget: the val loss's best of the
    last `creep_epochs` epochs improves on its best before them by less than `plateau_drop`
    an epoch, is still above `underfit_loss` of its first value, and at that pace would
    still stand `bar_gap` times the bar or more when the budget ends; the train loss is
    `bar_train_share` of the bar or more. The network learned less from its images than
    fixed random filters give a linear model, and fits its own training images little
    better (one that memorised them sits far below the bar: `overfitting`'s).

    A dice CNN of one 2-channel conv and a linear head, 14 epochs under one-cycle: val loss
    1.53, 1.3x the bar, train loss 0.95, 0.43 test accuracy where 24-48 channels reach 0.94;
    its train loss still fell as the rate annealed, so `underfitting`'s plateau never
    showed. Healthy CNNs on the benchmark's images stood 0.5-1.0x the bar, their train loss
    0.01-0.8x it; a healthy ResNet on snow crystals under cosine decay stood 1.24x it at
    epoch 8 of 12, falling 2% an epoch, and ended at 1.08x. An MLP on images often stalls
    above the bar (weld X-rays: 2.4x): it wants convolutions, not width, and is not told
    here; nor is a network whose units were dead or saturated at the last probe
    (`units_lost`: they say why). A linear model on the pixels is: one template of pixel
    weights a class matches no object anywhere in the frame at any angle (through-hole
    parts on a tray, 32x32: 0.46-0.50 where a CNN reaches 0.92-0.95; its cosine schedule
    annealed the rate, so `underfitting`'s plateau never spoke).

    A linear model on a table is held the same way to the reference models' loss (a
    logistic regression's and kernel models', on rows they never saw): one flat boundary a
    class cannot follow classes that bend or lie in several clusters, and its loss creeps
    towards the best a linear model does, slower and slower, which reads as steps too small
    (five classes of two clusters each under Adam at 2e-3 and cosine decay: val loss 0.82
    at epoch 16 of 30 falling 1.2% an epoch, 1.9x the reference's 0.44, told to raise the
    rate; 0.76 accuracy where an MLP reaches 0.92). Where a linear model does as well as
    the reference models, it stands near 1x their loss and is not told."""
    if not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    n = t.creep_epochs
    if len(val) <= n or not _finite(val) or not _finite(loss):
        return None
    before, best = min(val[:-n]), min(val)
    if best < (1 - n * t.plateau_drop) * before or best < t.underfit_loss * val[0]:
        return None  # still improving, or far below where it started
    linear = h.dense == [True]  # one Linear layer: a linear model
    if (all(h.dense) and not linear) or units_lost(h, t):
        return None  # an MLP (what it wants is convolutions), or its units say why
    bar = h.bar()  # measured here, where a run's val loss has slowed: ~2 s
    table = not bar and linear
    if table:  # not images: a linear model is held to what the data allows
        bar = h.reference()
    if not bar or loss[-1] < t.bar_train_share * bar:
        return None
    pace = (before - best) / n  # an epoch, over the last n
    projected = best - pace * max(h.total_epochs - len(val), 0)
    if projected < t.bar_gap * bar:
        return None  # at its pace it gets there within the budget
    if table:
        message = (
            f"The model underfits: it is a linear model, and its validation loss stalled at "
            f"{best:.3g}, {best / bar:.1f}x the {bar:.3g} a logistic regression or kernel model "
            f"reaches on rows it never saw (its training loss is {loss[-1]:.3g}). One flat "
            f"boundary a class cannot follow classes that bend or lie in several clusters: add "
            f"a hidden layer (a nonlinearity between two)."
        )
    else:
        advice = (
            "A linear model on pixels has one template of pixel weights a class, which an "
            "object anywhere in the frame at any angle does not match: use a convolutional "
            "network."
            if linear
            else "Use a wider network (more channels) or a deeper one."
        )
        message = (
            f"The model underfits its images: its validation loss stalled at {best:.3g}, "
            f"{best / bar:.1f}x the {bar:.3g} a logistic regression on fixed random "
            f"convolution features reaches on images it never saw, and its training loss is "
            f"{loss[-1]:.3g}: it learned less from them than random filters give a linear "
            f"model. {advice}"
        )
    return finding(
        "underfitting",
        "warning",
        message,
        h,
        per_epoch=True,
        val_loss=val,
        train_loss=loss,
        **({"reference_loss": bar} if table else {"bar_loss": bar}),
        threshold=t.bar_gap,
    )
