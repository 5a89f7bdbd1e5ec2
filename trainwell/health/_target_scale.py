"""Targets far from where a network starts, read from the first probe's outputs and error
signal: a regression on raw units, a loss summed over the batch, or outputs that blow up
with an initialisation too large. The rules that name a cause read these."""

from __future__ import annotations

import math

from ._history import ProbeHistory


def outputs_blown(h: ProbeHistory, excess: float) -> bool:
    """Whether the first probe's error signal was `excess` times a bounded loss's or
    more, and the outputs as large as the residuals (half or more): a network whose
    outputs blow up with its weights (an initialisation too large), where targets far
    from where a network starts have outputs far smaller than the residuals; not where
    the targets were as large as the residuals too (`target_level`): outputs started at
    the targets' mean are large on purpose. False where unmeasured (an output not a
    tensor)."""
    level, error = _first_output(h)
    target = h.target_level[0] if h.target_level else math.nan
    if target >= error / 2:  # the network predicts the targets' level (a bias at their
        return False  # mean): its residuals are their spread, not its blow-up
    return error >= excess and level >= error / 2  # NaN: unmeasured


def far_targets(h: ProbeHistory, excess: float) -> float | None:
    """The first probe's error signal where it was `excess` times a bounded loss's or
    more while the outputs were far smaller than the residuals: targets far from
    where a network starts (a regression on raw units), or a loss summed over the
    batch. None otherwise, or unmeasured."""
    level, error = _first_output(h)
    if h.capped_error and h.loss:  # each residual's gradient is at most 1: its
        error = h.loss[0]  # mean size is the loss (L1), or close to it (Huber)
    return error if error >= excess and level < error / 2 else None  # NaN: unmeasured


def raw_targets(h: ProbeHistory, excess: float) -> float | None:
    """The first probe's error signal where it shows targets far from standardised
    (`far_targets`) and no untrained loss is known (a classifier's labels, targets the
    Trainer standardised), nor is every term of the loss a cross entropy on labels (a
    CLIP loss's two directions: no chance level read, no targets to scale either);
    None otherwise."""
    if h.untrained_loss() > 0 or h.labels_only:
        return None
    return far_targets(h, excess)


def mean_loss(h: ProbeHistory, excess: float, share: float) -> float | None:
    """The loss of predicting the targets' mean, where the first probe measured them far
    from standardised (`far_targets`) and `share` or more of its residuals an offset the
    same for every row (`output_offset`): its loss times the rest. A network on raw
    units (5,000 +- 800) must first move its outputs thousands of units, and a loss
    falling by 90% of where it started may still be above this. None otherwise (a known
    untrained loss: the Trainer's standardised targets, a loop's labels)."""
    if not h.output_offset or not h.loss or raw_targets(h, excess) is None:
        return None
    offset = h.output_offset[0]
    if not offset >= share:  # NaN: unmeasured
        return None
    return h.loss[0] * (1.0 - offset)


def _first_output(h: ProbeHistory) -> tuple[float, float]:
    """The first probe's output level and error signal; NaN where unmeasured."""
    if not h.output_level or not h.output_error:
        return math.nan, math.nan
    return h.output_level[0], h.output_error[0]
