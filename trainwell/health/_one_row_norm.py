"""Batch norm trained on batches of one row: each example is normalised by its own
statistics (a channel's mean and variance over its pixels), while eval() normalises by the
running averages of those over many examples. The network learns on inputs it never meets
at evaluation: a CNN trained on single images validated 5-8x its training loss, at 0.25-0.43
accuracy against 0.88 with GroupNorm (stress 23), and torch raises only for a batch norm of
one value per channel (BatchNorm1d on one row)."""

from __future__ import annotations

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding


def batch_norm_one_row(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Batch norm modules in train mode that normalised batches of one row (their input's,
    not the model's: a bag of instances is one output of many rows) at `sustain` checks in
    a row (a last batch of one row between fuller ones is not this); not SyncBatchNorm,
    whose batch is every rank's."""
    if r.one_row_looks < t.sustain or not r.one_row_norm:
        return None
    return loop_finding(
        "batch_norm_one_row",
        "warning",
        f"Batch norm ({few_names(r.one_row_norm)}) trains on batches of one example: each "
        f"is normalised by its own statistics, while eval() normalises by the running "
        f"averages over many. The network learns on inputs it never meets at evaluation, "
        f"and validates far worse than it trains.",
        r,
        r.one_row_step if r.one_row_step is not None else r.step,
        modules=list(r.one_row_norm),
    )
