"""Class weights the wrong way round: a loss that weighs the frequent class more than the
rare one, where weights meant to balance them go as 1 / frequency. `pos_weight =
positives / negatives` for `negatives / positives`, or `weight=counts` for `weight=1 /
counts`: nothing fails, and the rare class is drowned further (stress 24: F1 0.000 on 3
seeds with pos_weight inverted; 0.716 against 0.951 with weights equal to the counts).

The weights are read from the loss's gradient at the model's output, at the probes, with
no access to the loss itself. A cross entropy's gradient at a row's logits is its weight
times `softmax(z) - onehot(y)` (over the batch's total weight): its one negative entry
names the label, its norm over that of `softmax(z) - onehot(y)` is the weight. A binary
cross entropy with logits gives `sigmoid(z)` at a negative row, `-pos_weight (1 -
sigmoid(z))` at a positive one; over several labels (multi-label scores, one `pos_weight`
a label) each label's negatives and positives are two classes of their own. Where the
gradient does not have either form at every row (another loss, label smoothing, a focal
loss), nothing is read.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import numpy as np
import torch
from scipy import stats

from ..findings import Finding
from ._history import ProbeHistory
from ._loss_graph import SCALINGS, walk
from ._silent import epoch_finding

FORM = 0.999  # cos(gradient row, softmax - onehot) at every row: a weighted cross entropy
ALIKE = 1e-3  # relative spread of a binary cross entropy's per-row weight within a label
READINGS = 8  # the last probes whose readings are pooled
# outputs read at most: class weights are a few classes' matter, and a language model's
# (tokens, vocabulary) scores would cost another copy of them at each probe
MAX_CLASSES, MAX_VALUES = 1000, 1 << 22
IMBALANCE = 2.0  # most frequent class's rows over the rarest's, at least
INVERTED = 1.5  # the frequent class weighs this many times the rare one, at least
RISING = 0.75  # rank correlation of the classes' weights with their rows (4 classes: one swap)
TRAINER_FIX = (
    "weigh each class by its inverse frequency (pos_weight = negatives / positives, "
    "weight = counts.sum() / counts), or leave the weights out"
)


Blocks = tuple[tuple[int, bool], ...]  # a reading's blocks: (classes, binary) each


class LossForms(NamedTuple):
    """The class-weight readings worth taking at the probes (`loss_forms`)."""

    cross_entropy: bool = True  # a cross entropy over (rows, classes) scores
    binary: bool = True  # a binary cross entropy with logits
    # a cross entropy over (batch, classes, *positions) scores, a segmentation's: read
    # position by position; not (batch, time, classes) ones a loss reads flattened
    positions: bool = False


EVERY_FORM = LossForms()  # before the loss's graph was read: the flat forms


def loss_forms(loss: torch.Tensor) -> LossForms:
    """Whether the loss's graph holds a cross entropy (over its positions too: torch's
    `NllLoss2d`) and whether it holds a binary one with logits (as a sum's terms, scaled)
    whose rows may weigh differently: the readings worth taking at the probes. A loss given
    no `weight` or `pos_weight` and reduced by its own mean or sum weighs every row alike,
    and can weigh no class the wrong way round; one left unreduced (`reduction="none"`) is
    read, the loop may weigh its rows. Neither: a regression's, a loss of the loop's own,
    whose gradient has neither form."""
    nodes = list(walk(loss, ("AddBackward", *SCALINGS)))
    weighed = [n for n in nodes if _weighs_rows(n, "NllLoss", ("_saved_weight",))]
    binary = ("_saved_weight", "_saved_pos_weight")
    return LossForms(
        cross_entropy=bool(weighed),
        binary=any(_weighs_rows(n, "BinaryCrossEntropyWithLogits", binary) for n in nodes),
        positions=any(n.name().startswith("NllLoss2D") for n in weighed),
    )


def _weighs_rows(node: object, kind: str, weights: tuple[str, ...]) -> bool:
    """Whether `node` is a loss of `kind` given class or row weights, or left unreduced
    (at::Reduction 0: its rows summed by the loop, perhaps weighted)."""
    if not node.name().startswith(kind):
        return False
    unreduced = getattr(node, "_saved_reduction", 0) == 0
    return unreduced or any(_saved(node, name) for name in weights)


def _saved(node: object, name: str) -> bool:
    """Whether the node saved a tensor as `name`: torch gives None where the loss was given
    none and, after the backward pass freed the one it was given, raises."""
    try:
        return getattr(node, name, None) is not None
    except RuntimeError:  # freed by the backward pass: there was one
        return True


def class_weights_read(
    grad: torch.Tensor, output: torch.Tensor, forms: LossForms = EVERY_FORM
) -> tuple[torch.Tensor, Blocks] | None:
    """Per class, the sum of its rows' weights (relative to the batch's mean weight) and
    its rows' count, then 1 where the gradient is a (binary) cross entropy's at every row
    and 0 where not, as one tensor on the device (`weights_of` reads it): no host sync in
    the backward pass it runs in. Scores of several classes are read both ways, as a cross
    entropy's and as several labels' binary ones: blocks of so many classes each, binary or
    not (the second tuple); only the `forms` the loss holds (`loss_forms`: a cross entropy,
    a binary one) where its graph was read. None for other shapes, and outputs of more than
    `MAX_CLASSES` scores or `MAX_VALUES` values. A segmentation's scores, `(batch, classes,
    height, width)` as torch's cross entropy takes them (`forms.positions`), or `(batch, 1,
    height, width)` under a binary one, are read pixel by pixel: a pixel's weight is its
    class's. Other scores of three dimensions or more are not read: a sequence model's
    `(batch, time, classes)`, flattened by the loss, has its classes last."""
    cross_entropy, binary, positions = forms
    if not (cross_entropy or binary):  # an unweighted loss, most loops': nothing to read
        return None
    if grad.shape != output.shape or not grad.numel() or grad.numel() > MAX_VALUES:
        return None
    grad, output = grad.detach().float(), output.detach().float()
    if output.dim() > 2:  # classes on axis 1, the positions after it: one row a position
        if not (positions or (binary and output.shape[1] == 1)):
            return None
        grad, output = (t.movedim(1, -1).reshape(-1, t.shape[1]) for t in (grad, output))
        cross_entropy = positions
    if output.dim() == 2 and 1 < output.shape[1] <= MAX_CLASSES:
        classes = output.shape[1]
        read = [(_cross_entropy, classes, False)] if cross_entropy else []
        read += [(_binary, 2 * classes, True)] if binary else []
        if not read:
            return None
        blocks = tuple((size, is_binary) for _, size, is_binary in read)
        return torch.cat([form(grad, output) for form, _, _ in read]), blocks
    if binary and (output.dim() == 1 or (output.dim() == 2 and output.shape[1] == 1)):
        return _binary(grad.reshape(-1, 1), output.reshape(-1, 1)), ((2, True),)
    return None


def weights_of(reading: np.ndarray, blocks: Blocks) -> tuple[np.ndarray, bool] | None:
    """A reading on the host as (sums, counts) per class, and whether it is binary cross
    entropies' (negatives, positives of each label); None where neither block has its
    form."""
    at = 0
    for classes, binary in blocks:
        block = reading[at : at + 2 * classes + 1]
        at += 2 * classes + 1
        if block[-1] == 1:
            return block[:-1].reshape(2, -1), binary
    return None


def _cross_entropy(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    labels = grad.argmin(dim=1)
    residual = torch.softmax(output, dim=1)
    residual.scatter_add_(1, labels[:, None], torch.full_like(residual[:, :1], -1.0))
    size = torch.linalg.vector_norm(residual, dim=1)
    grad_size = torch.linalg.vector_norm(grad, dim=1)
    fitted = (grad * residual).sum(dim=1) / (size * grad_size).clamp_min(1e-30)
    rows = (size > 1e-4) & (grad_size > 0)  # a row fitted exactly says nothing
    form = rows.any() & ~((fitted < FORM) & rows).any()
    weight = torch.where(rows, grad_size / size.clamp_min(1e-30), 0.0)
    return _per_class(weight, labels, rows, output.shape[1], form)


def _binary(grad: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """(rows, labels) scores: each label's negatives and positives, classes 2j and 2j + 1."""
    positive = grad < 0
    p = torch.sigmoid(output)
    base = torch.where(positive, 1 - p, p)
    rows = (base > 1e-4) & (grad != 0)
    weight = torch.where(rows, grad.abs() / base.clamp_min(1e-30), 0.0)
    form = rows.any()
    for side in (rows & positive, rows & ~positive):  # one weight per label and side
        highest = torch.where(side, weight, -math.inf).amax(dim=0)
        lowest = torch.where(side, weight, math.inf).amin(dim=0)
        form = form & (~side.any(dim=0) | (highest <= lowest * (1 + ALIKE))).all()
    labels = 2 * torch.arange(output.shape[1], device=output.device) + positive.long()
    return _per_class(
        weight.reshape(-1), labels.reshape(-1), rows.reshape(-1), 2 * output.shape[1], form
    )


def _per_class(
    weight: torch.Tensor, labels: torch.Tensor, rows: torch.Tensor, classes: int, form: torch.Tensor
) -> torch.Tensor:
    """(sums of the weights over the batch's mean, counts) per class, and `form`."""
    counted = rows.float()
    weight = weight / (weight.sum() / counted.sum().clamp_min(1)).clamp_min(1e-30)
    sums = torch.zeros(classes, device=weight.device).index_add_(0, labels, weight)
    counts = torch.zeros(classes, device=weight.device).index_add_(0, labels, counted)
    return torch.cat([sums, counts, form.float().reshape(1)])


def inverted_weights(h: ProbeHistory, epoch: int, step: int) -> Finding | None:
    """Pooled over the last `READINGS` probes that read the weights: the most frequent class
    has `IMBALANCE` times the rows of the rarest or more, the weights rise with the classes'
    frequency (`RISING`, over the classes with 3 rows or more), and the most frequent
    weighs `INVERTED` times the rarest or more; judged at an epoch's end."""
    # (numpy arrays; lists once resumed from a checkpoint)
    readings = [np.asarray(r, dtype=float) for r in h.class_weights[-READINGS:]]
    if len(readings) < 2 or len({r.shape for r in readings}) != 1:
        return None
    sums, counts = np.sum(readings, axis=0)
    seen = np.flatnonzero(counts >= 3)
    if len(seen) < 2:
        return None
    weight, count = sums[seen] / counts[seen], counts[seen]
    rare, frequent = seen[np.argmin(count)], seen[np.argmax(count)]
    imbalance = counts[frequent] / counts[rare]
    heavier = (sums[frequent] / counts[frequent]) / (sums[rare] / counts[rare])
    if imbalance < IMBALANCE or heavier < INVERTED:
        return None
    if len(seen) > 2 and _rank_correlation(weight, count) < RISING:  # (only then: it is slow)
        return None
    binary = h.class_weights_binary
    name = partial(_name, binary=binary, labels=len(sums) // 2)
    share = partial(_share, counts=counts, seen=seen, binary=binary)
    return epoch_finding(
        "inverted_class_weights",
        "warning",
        (
            f"The loss weighs the classes the wrong way round: the {name(frequent)} rows "
            f"({share(frequent)}) weigh {heavier:.3g} times the "
            f"{name(rare)} ones ({share(rare)}), as the loss's gradient at the outputs shows. "
            f"Weights meant to balance the classes go as 1 / frequency; these drown the rare "
            f"class further."
        ),
        epoch=epoch,
        step=step,
        evidence={
            "frequent": int(frequent),
            "rare": int(rare),
            "weight_ratio": round(float(heavier), 4),
            "row_ratio": round(float(imbalance), 4),
            "binary": binary,
        },
        trainer_fix=TRAINER_FIX,
        data_at_hand=h.data_at_hand,
    )


def _share(c: int, counts: np.ndarray, seen: np.ndarray, binary: bool) -> str:
    """Class `c`'s share of the rows probed, in words: of several labels' binary cross
    entropies, of its own label's rows (its negatives and positives), not of every label's
    (a 4%-positive label's negatives read as 12%, its positives as 0%: stress 28)."""
    if not binary:
        return f"{counts[c] / counts[seen].sum():.0%} of those probed"
    label = c - c % 2
    return f"{counts[c] / counts[label : label + 2].sum():.0%} of its label's rows probed"


def _name(c: int, binary: bool, labels: int) -> str:
    """Class `c` as the message names it: of several labels' binary cross entropies, label
    c // 2's negatives or positives."""
    if not binary:
        return f"class {c}"
    side = "positive" if c % 2 else "negative"
    return side if labels == 1 else f"label {c // 2}'s {side}"


def _rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's, tied values ranked alike (every label's negatives weigh the same)."""
    r = stats.spearmanr(a, b).statistic
    return float(r) if math.isfinite(r) else 0.0
