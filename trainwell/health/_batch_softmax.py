"""A softmax taken over the batch: `log_softmax(x, dim=0)` (or `softmax`) on outputs of
(rows, classes) before a loss that reads classes. Each class's scores are normalised
against the other rows' scores for that class, not against the row's other classes: it
trains without an error, every prediction depends on what else is in the batch, and one
row alone predicts nothing. Read from the loss's autograd graph, whose nodes keep the
dimension (`_saved_dim`) after backward."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..findings import Finding
from ._loss_graph import GRAPH_NODES, LOGIT_LOSSES, RESHAPES, _input
from ._silent import LoopRecord, LoopThresholds, loop_finding

SOFTMAXES = ("LogSoftmaxBackward", "SoftmaxBackward")


def softmax_over_rows(loss: torch.Tensor, outputs: Sequence[tuple[int, ...]]) -> str | None:
    """The name of the (log-)softmax over dimension 0 that a logits or log-probability loss
    reads (through reshapes; or the softmax under a cross entropy's own log_softmax), where
    the model's output (the first of the tensors it returned, whose shapes are `outputs`)
    is (rows, classes, ...) with rows > 1; None otherwise: unbatched scores returned with a
    batched hidden state are normalised over their classes at dimension 0."""
    first = outputs[0] if outputs else ()
    if len(first) < 2 or first[0] < 2:
        return None  # one row, or unbatched scores: dimension 0 is the classes
    queue, seen = [loss.grad_fn] if getattr(loss, "grad_fn", None) is not None else [], 0
    while queue and seen < GRAPH_NODES:
        node = queue.pop(0)
        seen += 1
        below = [n for n, _ in node.next_functions if n is not None]
        if not node.name().startswith(LOGIT_LOSSES):
            queue.extend(below)
            continue
        read = _input(node)
        while read is not None and read.name().startswith(RESHAPES):
            read = _input(read)
        softmax = read is not None and read.name().startswith(SOFTMAXES)
        if softmax and getattr(read, "_saved_dim", None) == 0:
            return read.name()
        # only the loss's own parts lie below (NLL on a log-softmax), then the model
        queue.extend(n for n in below if n.name().startswith(SOFTMAXES))
    return None


def softmax_over_batch(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The loss read a softmax taken over the batch (`softmax_over_rows`)."""
    if r.batch_softmax is None:
        return None
    return loop_finding(
        "softmax_over_batch",
        "error",
        f"The loss reads a softmax taken over dimension 0, the batch ({r.batch_softmax}): "
        f"each class's scores are normalised against the other rows' scores for that class, "
        f"not against the row's other classes, so every prediction depends on what else is "
        f"in its batch.",
        r,
        r.batch_softmax_step if r.batch_softmax_step is not None else r.step,
        node=r.batch_softmax,
    )
