"""A softmax taken over the batch: `log_softmax(x, dim=0)` (or `softmax`) on outputs of
(rows, classes) before a loss that reads classes. Each class's scores are normalised
against the other rows' scores for that class, not against the row's other classes: it
trains without an error, every prediction depends on what else is in the batch, and one
row alone predicts nothing. Read from the loss's autograd graph, whose nodes keep the
dimension (`_saved_dim`) after backward."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from ..findings import Finding
from ._graph_walk import nodes_below
from ._loss_graph import (
    GRAPH_NODES,
    LOGIT_LOSSES,
    PICKS,
    SCALINGS,
    _a_weight,
    _below,
    _classes_read,
    _input,
    _scored_in_batch,
    node_shape,
)
from ._silent import LoopRecord, LoopThresholds, loop_finding

SOFTMAXES = ("LogSoftmaxBackward", "SoftmaxBackward")
INSIDE = "inside the model"  # a softmax over the batch the loss does not read itself


def softmax_over_rows(
    loss: torch.Tensor, outputs: Sequence[tuple[int, ...]], time_first: bool = False
) -> str | None:
    """The (log-)softmax over dimension 0 that a logits or log-probability loss reads
    (through reshapes; or the softmax under a cross entropy's own log_softmax), where the
    model's output (the first of the tensors it returned, whose shapes are `outputs`) is
    (rows, classes, ...) with rows > 1; not otherwise: unbatched scores returned with a
    batched hidden state are normalised over their classes at dimension 0. Else one inside
    the model (`_inside`), named with its shape: a router's or a mixture's weights over the
    batch, where the output has rows > 1 (one value a row too). Its node's name, or its
    description; None."""
    first = outputs[0] if outputs else ()
    if not first or first[0] < 2:
        return None  # one row
    read = set()  # the softmaxes a loss reads: judged here, not again inside the model
    # unbatched scores (classes,): their dimension 0 is the classes
    for loss_node, softmax in _softmaxes_read(loss) if len(first) > 1 else ():
        read.add(softmax)
        shape = node_shape(softmax)
        if _dim(softmax, shape) != 0 or _ctc(loss_node):
            continue  # (CTC's dimension 0 is time: `softmax_off_classes`)
        if shape and shape[0] == _classes_of(loss_node):
            continue  # the rows are the classes: a query's candidates, CLIP's other side
        return softmax.name()
    return None if time_first else _inside(loss, first[0], read)


def _inside(loss: torch.Tensor, rows: int, read: set[object]) -> str | None:
    """A (log-)softmax in the graph over dimension 0 of (rows, k, ...) values, k > 1, its
    rows the output's (the batch's): a mixture density network's `log_softmax(logits,
    dim=0)` (NLL 4.97 against -0.28: stress 28), a mixture of experts' router (MSE 12.3
    against 0.60). Not (rows, rows) values, nor similarities of two computed tensors (a
    contrastive loss normalises those over either side, two captions an image too), nor a
    parameter's own values (fusion weights, softmaxed whatever the batch); and not where
    the model runs time first (`time_first_parts`), its dimension 0 then the time steps an
    attention pools over."""
    for node in nodes_below([getattr(loss, "grad_fn", None)]):
        if node in read or not node.name().startswith(SOFTMAXES):
            continue
        shape = node_shape(node)
        if len(shape) < 2 or shape[0] != rows or shape[1] in (1, rows):
            continue
        if _dim(node, shape) == 0 and not _similarity_or_weight(node):
            return f"{node.name()} {INSIDE}, of {shape} values"
    return None


def _similarity_or_weight(softmax: object) -> bool:
    """Whether what a softmax normalised is, through scalings, masks and reshapes, a
    product of two tensors the network computed (`_scored_in_batch`), or a parameter."""
    scaled = _below(_input(softmax), (*SCALINGS, "MaskedFillBackward"))
    return _a_weight(scaled) or _scored_in_batch(softmax)


def _dim(softmax: object, shape: tuple[int, ...]) -> int | None:
    """The dimension a (log-)softmax node normalised over, counted from 0 (the graph keeps
    a negative one as an unsigned 64-bit number: -1 as 2^64 - 1); None unknown."""
    dim = getattr(softmax, "_saved_dim", None)
    if dim is None:
        return None
    dim = dim - 2**64 if dim >= 2**63 else dim
    return dim % len(shape) if shape else dim


@dataclass(frozen=True)
class OffClasses:
    """A (log-)softmax a loss reads, taken over another dimension than the classes'."""

    node: str  # its autograd node
    shape: tuple[int, ...]  # of the scores it normalised
    dim: int  # the dimension it normalised over
    classes: int  # how many classes the loss reads
    class_dim: int  # the dimension of the scores that holds them


def softmax_off_classes(loss: torch.Tensor) -> OffClasses | None:
    """A (log-)softmax over a dimension other than 0 (or CTC's 0, its time steps) that a
    negative log-likelihood or CTC loss reads through reshapes, whose size is not the
    number of classes the loss reads, which another dimension of the scores holds:
    `nll_loss(out.log_softmax(dim=1).view(-1, C), y.view(-1))` on (batch, time, classes)
    scores normalises each class over the time steps. Read from the shapes the graph keeps
    after backward; where the sizes of the two dimensions are equal, nothing tells them
    apart and None is returned."""
    for loss_node, softmax in _softmaxes_read(loss):
        classes, shape = _classes_of(loss_node), node_shape(softmax)
        dim = _dim(softmax, shape)
        if dim is None or classes is None or len(shape) < 2:
            continue
        holding = [d for d in range(len(shape)) if shape[d] == classes and d != dim]
        batch_first = dim == 0 and not _ctc(loss_node)
        if not batch_first and shape[dim] != classes and holding:  # (0: softmax_over_batch)
            return OffClasses(softmax.name(), shape, dim, classes, holding[-1])
    return None


def _classes_of(loss_node: object) -> int | None:
    """The classes a negative log-likelihood (its input's dimension 1) or CTC loss (the
    last dimension of its (time, batch, classes) log-probabilities) reads."""
    if loss_node.name().startswith("NllLoss"):
        return _classes_read(loss_node)
    if not _ctc(loss_node):
        return None  # a cross entropy's own log_softmax: probabilities_as_logits' case
    shape = node_shape(_input(loss_node))
    return shape[-1] if shape else None


def _ctc(loss_node: object) -> bool:
    """Whether the loss is CTC, whose log-probabilities are (time, batch, classes)."""
    return loss_node.name().startswith("CtcLoss")


def _softmaxes_read(loss: torch.Tensor) -> Iterator[tuple[object, object]]:
    """(loss node, softmax node) for each logits or log-probability loss in the graph that
    reads a (log-)softmax through reshapes and rows picked (`PICKS`; or a softmax under a
    cross entropy's own log_softmax)."""
    queue, seen = [loss.grad_fn] if getattr(loss, "grad_fn", None) is not None else [], 0
    while queue and seen < GRAPH_NODES:
        node = queue.pop(0)
        seen += 1
        below = [n for n, _ in node.next_functions if n is not None]
        if not node.name().startswith(LOGIT_LOSSES):
            queue.extend(below)
            continue
        read = _below(_input(node), PICKS)
        if read is not None and read.name().startswith(SOFTMAXES):
            yield node, read
        # only the loss's own parts lie below (NLL on a log-softmax), then the model
        queue.extend(n for n in below if n.name().startswith(SOFTMAXES))


def softmax_over_batch(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The loss read a softmax taken over the batch, or the model took one
    (`softmax_over_rows`)."""
    if r.batch_softmax is None:
        return None
    step = r.batch_softmax_step if r.batch_softmax_step is not None else r.step
    if INSIDE in r.batch_softmax:
        return loop_finding(  # a warning: a batch may be one set (a point cloud, a bag)
            "softmax_over_batch",
            "warning",
            f"A softmax is taken over dimension 0, the batch ({r.batch_softmax}), and not "
            f"by the loss the doctor reads: each row's values (a router's, a mixture's, an "
            f"attention's weights) are normalised against the other rows', not across the "
            f"row's own, so every prediction depends on what else is in its batch.",
            r,
            step,
            fix="take that softmax over the row's own values (dim=-1), unless each batch is "
            "one set (a point cloud, a bag) whose rows are meant to be weighed together",
            node=r.batch_softmax,
        )
    return loop_finding(
        "softmax_over_batch",
        "error",
        f"The loss reads a softmax taken over dimension 0, the batch ({r.batch_softmax}): "
        f"each class's scores are normalised against the other rows' scores for that class, "
        f"not against the row's other classes, so every prediction depends on what else is "
        f"in its batch.",
        r,
        step,
        node=r.batch_softmax,
    )


def softmax_wrong_dim(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The loss read a softmax taken over another dimension than its classes'
    (`softmax_off_classes`)."""
    off = r.off_classes
    if off is None:
        return None
    return loop_finding(
        "softmax_wrong_dim",
        "error",
        f"The loss reads a softmax taken over dimension {off.dim} of {off.shape} scores "
        f"({off.node}, {off.shape[off.dim]} values), but the {off.classes} classes it reads "
        f"lie along dimension {off.class_dim}: each class's scores are normalised across "
        f"dimension {off.dim} (a sequence's time steps, say), not against the other "
        f"classes, so what it trains are not probabilities over the classes.",
        r,
        r.off_classes_step if r.off_classes_step is not None else r.step,
        fix=f"take the softmax over dim={off.class_dim - len(off.shape)} (the classes), or "
        f"give the raw scores to cross_entropy, which takes its own",
        node=off.node,
        shape=list(off.shape),
        dim=off.dim,
        classes=off.classes,
    )
