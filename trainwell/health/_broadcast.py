"""A regression loss that broadcast the model's outputs against targets of another shape
(`(n, 1)` outputs against `(n,)` targets, compared as `(n, n)`), read from the loss's
autograd graph: torch only warns of it, once."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..findings import Finding
from ._loss_graph import SCALINGS, _below, _input, node_shape, walk
from ._silent import LoopRecord, LoopThresholds, loop_finding

# torch's losses that broadcast outputs against targets of another shape, with a warning
# only (`l1_loss` is |input - target| in the graph)
BROADCASTING_LOSSES = ("MseLossBackward", "SmoothL1LossBackward", "HuberLossBackward")
# what a loss passes through on its way to the value backpropagated: scalings, sums of
# terms, a root (RMSE) or log, a mask, a stack of terms
COMBINING = (
    *SCALINGS,
    "AddBackward",
    "WhereBackward",
    "NegBackward",
    "SqrtBackward",
    "LogBackward",
    "PowBackward",
    "StackBackward",
    "CatBackward",
    "IndexBackward",
    "MaskedSelectBackward",
    "SliceBackward",
    "SelectBackward",
)
CASTS = ("ToCopyBackward",)  # autocast runs a loss in float32
# ... and a choice between two terms both computed (the pinball loss's max(tau * e,
# (tau - 1) * e)); not a hinge against a constant, whose pairs may be meant
CHOICES = ("MaximumBackward", "MinimumBackward")
# an (n,) output, or a column of the outputs, against (n, 1) targets: the usual fix, to view
# the targets as (n, 1), is what made it
COLUMN_FIX = (
    "compare outputs and targets of one shape: flatten the (n, 1) targets to (n,) "
    "(y.view(-1)) against an (n,) output or column out[:, j], or keep the column (n, 1) "
    "(out[:, j:j + 1])"
)
INDEXED_FIX = (
    "pick each row's own label: logp[torch.arange(len(y)), y], logp.gather(1, y[:, None]), "
    "or F.nll_loss(logp, y)"
)


def broadcast_outputs(
    loss: torch.Tensor, outputs: Sequence[tuple[int, ...]]
) -> tuple[list[int], list[int]] | None:
    """(the outputs' shape, the shape the loss broadcast them to) where a regression loss of
    torch's (MSE, L1, smooth L1, Huber; either argument; cast by autocast; scaled, summed
    with other terms, masked, square-rooted or logged), or one written out (`(pred - y) **
    2`, `(y - pred).abs()`), took one of the model's `outputs` (the shapes of the tensors
    it returned; as they are, squeezed or flattened) and expanded it across rows or steps
    of its own: `(n, 1)` against `(n,)` targets becomes `(n, n)`, `(1, T, 1)` against
    `(1, T)` becomes `(1, T, T)`: each output is compared with every row's target, and the
    network learns their mean. None otherwise,
    or where the outputs' shape is not known: an expand the loss's author wrote on a
    reshaped output (pairwise losses, quantile regression's) is meant, and one that fills
    `k` targets per row (`(n, 1)` against `(n, k)`) compares each output with its own."""
    shapes = [list(shape) for shape in outputs]
    if not shapes:
        return None
    for node in walk(loss, _combining):
        name = node.name()
        if name.startswith("IndexBackward"):  # `logp[:, y]`: every row's label, each row
            found = _indexed_across_rows(node, shapes)
            if found is not None:
                return found
        if _combining(node):
            continue
        if name.startswith("AbsBackward"):  # l1_loss: |expanded input - target|
            node = _input(node)
            if node is None or not node.name().startswith("SubBackward"):
                continue
        if node.name().startswith("SubBackward"):  # `((pred - y) ** 2).mean()` written out
            found = _residual_across_itself(node, shapes)
            if found is not None:
                return found
        elif not name.startswith(BROADCASTING_LOSSES):
            continue
        arguments = [argument for argument, _ in node.next_functions if argument is not None]
        if len(arguments) != 1:  # outputs against outputs (pairs of rows): meant
            continue
        for argument in arguments:
            found = _across_itself(_below(argument, CASTS), shapes)
            if found is not None:
                return found
    return None


def _combining(node: object) -> bool:
    """Whether the walk goes on below `node`: a combination of terms (`COMBINING`), or a
    choice between two it computed (`CHOICES`)."""
    name = node.name()
    if name.startswith(CHOICES):
        return all(side is not None for side, _ in node.next_functions)
    return name.startswith(COMBINING)


def _across_itself(
    node: object | None, outputs: list[list[int]]
) -> tuple[list[int], list[int]] | None:
    """(before, after) where `node` expanded the outputs, as they are or with their size-1
    axes squeezed or all flattened in the loop (`model(x).squeeze(-1)`, `.view(-1)`), along
    a new axis as long as one of their own (right-aligned, as broadcasting aligns shapes)."""
    if node is None or not node.name().startswith("ExpandBackward"):
        return None
    before = [int(size) for size in getattr(node, "_saved_self_sym_sizes", ())]
    metadata = getattr(node, "_input_metadata", ())
    if len(metadata) != 1:
        return None
    return _grown(before, [int(size) for size in metadata[0].shape], outputs)


def _indexed_across_rows(node, outputs: list[list[int]]) -> tuple[list[int], list[int]] | None:
    """(before, after) where a hand-written loss indexed the outputs' `(n, classes)` scores
    (or their log-softmax) with the labels along the classes, `logp[:, y]`: an `(n, n)`
    table that scores each row against every row's label (`logp[range(n), y]` picks its
    own). The mean of it fits every row to the batch's labels (0.53 accuracy where the
    right index gave 0.98, stress 24)."""
    before = [int(size) for size in getattr(node, "_saved_self_sym_sizes", ())]
    after = list(node_shape(node))
    if len(before) != 2 or before[1] in (1, before[0]) or after != [before[0], before[0]]:
        return None
    return (before, after) if before in outputs else None


def _residual_across_itself(node, outputs: list[list[int]]) -> tuple[list[int], list[int]] | None:
    """(before, after) where a residual written out (`pred - y`, either way round) broadcast
    the outputs against targets as an expand would (`_across_itself`): one side from the
    network, the other a constant (targets, a detached teacher's outputs). Two sides from
    the network are a pairwise difference, meant."""
    sides = [(n, index) for n, index in node.next_functions if n is not None]
    metadata = getattr(node, "_input_metadata", ())
    if len(sides) != 1 or len(metadata) != 1:
        return None
    producer, index = sides[0]
    produced = getattr(producer, "_input_metadata", ())  # what it passed forward
    if index >= len(produced):
        return None
    before = [int(size) for size in produced[index].shape]
    return _grown(before, [int(size) for size in metadata[0].shape], outputs)


def _grown(
    before: list[int], after: list[int], outputs: list[list[int]]
) -> tuple[list[int], list[int]] | None:
    """(before, after) where `before` is one of the outputs' shapes (`_the_outputs`) and
    `after` grew it along a new axis as long as one of its own; or the outputs' with an axis
    added in the loop (`_a_column`), grown as long as their rows: an axis the loss's
    author added and filled with as many of something else is meant (quantile regression's
    predicted quantiles against each target quantile)."""
    if len(after) < len(before):
        return None
    if any(_the_outputs(before, shape) for shape in outputs):
        lengths = set(before)
    else:
        lengths = {shape[0] for shape in outputs if shape and _a_column(before, shape)}
    padded = [1] * (len(after) - len(before)) + before
    grown = [b for a, b in zip(padded, after, strict=True) if a == 1 and b > 1]
    return (before, after) if any(size in lengths for size in grown) else None


def _the_outputs(shape: list[int], outputs: list[int]) -> bool:
    """Whether `shape` is the outputs' own, squeezed of size-1 axes or flattened."""
    return shape in (outputs, _squeezed(outputs), [math.prod(outputs)])


def _a_column(shape: list[int], outputs: list[int]) -> bool:
    """Whether `shape` is one value a row of the outputs, made in the loop: the outputs with
    size-1 axes added (`pred.unsqueeze(1)` of a model that returns `(n,)`), or `(n, 1)` or
    `(n,)` of `(n, k)` ones (a slice `out[:, :1]`, a column `out[:, j]`, a `mean(1)`: a
    quantile head's column against `(n, 1)` targets is `(n, n)`, stress 31)."""
    if len(shape) > len(outputs) and _squeezed(shape) == _squeezed(outputs):
        return True
    if len(outputs) > 1 and shape == outputs[:1]:
        return True
    return len(shape) > 1 and shape[0] == outputs[0] and _squeezed(shape[1:]) == []


def _squeezed(shape: list[int]) -> list[int]:
    return [size for size in shape if size != 1]


def broadcast_loss(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The loss broadcast the model's outputs against targets of another shape
    (`broadcast_outputs`): the run trains without an error, every output fitted to the
    mean of targets that are not its own."""
    if r.broadcast is None:
        return None
    before, after = (tuple(shape) for shape in r.broadcast)
    # `logp[:, y]`: the classes indexed with every row's label (`_indexed_across_rows`)
    indexed = len(before) == len(after) == 2 and before[1] > 1
    how = (
        f"The loss indexed outputs of shape {before} with every row's label, a table of "
        f"{after}: each row is scored against the labels of the other rows too, so the "
        f"network learns to predict their mix."
        if indexed
        else f"The loss compared outputs of shape {before} with targets of another shape and "
        f"broadcast them to {after}: each output is compared with the targets of other rows "
        f"too, so the network learns to predict their mean (torch warns of it once, as "
        f"'Using a target size that is different to the input size')."
    )
    return loop_finding(
        "broadcast_loss",
        "error",
        how,
        r,
        r.broadcast_step if r.broadcast_step is not None else r.step,
        fix=INDEXED_FIX if indexed else COLUMN_FIX if len(before) == 1 else None,
        output_shape=list(before),
        compared_shape=list(after),
    )
