"""What the loss's autograd graph says of how the loss was computed, read from its node
names (which survive backward; saved tensors do not) and the sizes torch keeps: a cross
entropy, its floor and its chance level, a sum over the batch (a softmax or sigmoid fed to
a loss that applies its own: `_squashed_inputs.py`; a regression loss broadcasting outputs
against targets: `_broadcast.py`).

The walks go down from the loss through what combines losses (sums, means, weights), not
into the model below: a loss's graph is read in a few nodes, not in the model's dozens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

RESHAPES = (
    "ViewBackward",
    "UnsafeViewBackward",
    "ReshapeAliasBackward",
    "SqueezeBackward",
    "UnsqueezeBackward",
    "PermuteBackward",
    "TransposeBackward",
    "TBackward",
    "CloneBackward",
    "ToCopyBackward",
    "ExpandBackward",
    "SliceBackward",
    "SelectBackward",
    "ClampBackward",  # probabilities kept off 0 (`.clamp(1e-7, 1)`) are probabilities still
    "ClampMinBackward",
)
ARITHMETIC = ("AddBackward", "SubBackward", "MulBackward", "DivBackward")
_ELEMENTWISE = (*ARITHMETIC, "NegBackward", *RESHAPES)
_OUTPUT_STEPS = 8  # autograd nodes walked back from the output, at most


def squashed_before(output: torch.Tensor) -> int | None:
    """Where the squashing the output was scaled, shifted or clamped from lies
    (`max_action * tanh(x)`, `sigmoid(x).clamp(eps, 1 - eps)`): an output activation
    still, not a hidden layer; None if there is none."""
    node = output.grad_fn
    for _ in range(_OUTPUT_STEPS):
        if node is None:
            return None
        result = getattr(node, "_saved_result", None)  # tanh's, sigmoid's, softmax's
        if isinstance(result, torch.Tensor) and node is not output.grad_fn:
            return result.data_ptr()
        inputs = [n for n, _ in node.next_functions if n is not None]
        if not node.name().startswith(_ELEMENTWISE) or len(inputs) != 1:
            return None
        node = inputs[0]
    return None


# losses that take logits or log-probabilities (CTC too), and what a model's log_softmax is
LOGIT_LOSSES = (
    "LogSoftmaxBackward",
    "BinaryCrossEntropyWithLogitsBackward",
    "NllLoss",  # NllLossBackward, and NllLoss2DBackward of (batch, classes, ...) scores
    "CtcLossBackward",
)
# losses a perfect fit takes to 0 (classification on labels), and what scales one unchanged
ZERO_FLOOR_LOSSES = ("NllLoss", "BinaryCrossEntropy")
# losses whose gradient at an output is capped whatever its residual: Huber, smooth L1, L1
# (`l1_loss` is |input - target| in the graph, under its mean)
CAPPED_LOSSES = ("HuberLossBackward", "SmoothL1LossBackward", "AbsBackward")
SCALINGS = ("MulBackward", "DivBackward", "MeanBackward", "SumBackward")
# torch's losses whose node keeps its reduction (at::Reduction: 0 none, 1 mean, 2 sum)
REDUCED_LOSSES = (
    "MseLossBackward",
    "HuberLossBackward",
    "SmoothL1LossBackward",
    "NllLoss",
    "BinaryCrossEntropy",
)
SUM = 2
GRAPH_NODES = 32  # nodes visited from the loss, at most: loss nodes sit next to it


def zero_floor(loss: torch.Tensor) -> bool:
    """Whether the loss is a cross entropy, scaled or averaged only: on labels a perfect fit
    takes it to 0, and a plateau far above that says the network cannot fit (a binary
    cross entropy's targets are freed by backward, so soft ones pass for labels). A sum of
    terms (a VAE's KL, label smoothing's), a regression's or a reconstruction's error, a
    cross entropy on soft targets: each has a floor of its own that the doctor cannot know;
    so has a cross entropy that scores the batch's rows against each other
    (`_scored_in_batch`)."""
    node = _cross_entropy(loss)
    return node is not None and not _scored_in_batch(node)


def labels_only(loss: torch.Tensor) -> bool:
    """Whether every term of the loss, through sums, scalings and means, is a cross entropy
    on class indices (CLIP's two directions, `(ce(l, t) + ce(l.T, t)) / 2`): its targets
    are labels, which have no scale to standardise. Not one weighted by a learned tensor."""
    through = (*SCALINGS, "AddBackward")
    nodes = list(walk(loss, through))
    if len(nodes) >= GRAPH_NODES:  # the walk stopped short: terms unread
        return False
    terms = [node for node in nodes if not node.name().startswith(through)]
    return bool(terms) and all(node.name().startswith("NllLoss") for node in terms)


def binary_cross_entropy(loss: torch.Tensor) -> bool:
    """Whether the loss is a binary cross entropy (with logits or on probabilities), scaled
    by constants, averaged, or summed with torch's losses that are 0 or more (an MSE, a
    cross entropy): on targets in [0, 1] it is never below 0. Not one weighted by a learned
    tensor, nor summed with a term of the loop's own, which may go below 0 (uncertainty
    weighting's `exp(-s) * bce + s`: a healthy run's loss went to -1.1, review)."""
    return _bce_at_least_0(getattr(loss, "grad_fn", None), GRAPH_NODES)


# torch's losses that are never below 0, whatever their inputs
NON_NEGATIVE = ("MseLossBackward", "NllLoss", "HuberLossBackward", "SmoothL1LossBackward")


def _bce_at_least_0(node: object | None, budget: int) -> bool:
    """`binary_cross_entropy` from `node` down, visiting at most `budget` nodes."""
    if node is None or budget <= 0:
        return False
    name = node.name()
    if name.startswith("BinaryCrossEntropy"):
        return True
    inputs = [n for n, _ in node.next_functions if n is not None]
    if name.startswith(SCALINGS) and len(inputs) == 1:  # by a constant, or a mean
        return _bce_at_least_0(inputs[0], budget - 1)
    if name.startswith("AddBackward") and len(inputs) == 2:
        for this, other in (inputs, inputs[::-1]):
            if _bce_at_least_0(this, budget - 1) and _never_below_0(other):
                return True
    return False


def _never_below_0(node: object) -> bool:
    """Whether `node` is one of torch's losses that are 0 or more, scaled by constants."""
    node = scalings_below(node)[1]
    return node is not None and node.name().startswith(NON_NEGATIVE)


# between a softmax or a layer's scores and the loss that reads them: reshapes, and rows
# picked (a graph network's labelled nodes, `out[train_idx]`)
PICKS = (*RESHAPES, "IndexBackward")
# nodes that make a layer's output: scores, not log-probabilities
LAYER_OUTPUTS = (
    "AddmmBackward",
    "MmBackward",
    "BmmBackward",
    "LinearBackward",
    "ConvolutionBackward",
)


def nll_of_scores(loss: torch.Tensor) -> bool:
    """Whether the loss is an `nll_loss` (scaled or averaged only) read straight from a
    layer's output, through reshapes and rows picked (`out[train_mask]`, a graph network's
    labelled nodes: stress 29): raw scores where it takes log-probabilities (no log_softmax
    between), whose mean negated it falls without end as they grow. Not a cross entropy,
    whose NLL reads a log-softmax, weighted by returns below 0 (REINFORCE)."""
    node = _loss_node(loss, ("NllLoss",))
    read = _below(_input(node), PICKS) if node is not None else None
    return read is not None and read.name().startswith(LAYER_OUTPUTS)


def capped_error(loss: torch.Tensor) -> bool:
    """Whether the loss is an L1 or a Huber (smooth L1) loss, scaled or averaged only: its
    gradient at each output is capped at 1 (or its delta), whatever the residual."""
    return _loss_node(loss, CAPPED_LOSSES) is not None


def summed_loss(loss: torch.Tensor) -> int:
    """How many terms the loss sums where it is one of torch's reduced by a sum (`reduction=
    "sum"`, which its node keeps), returned as it is: its gradients are that many times a
    mean's (an NLL's rows, each position of a sequence one; a squared error's elements). 0
    for a mean, a sum of one term, a sum scaled by anything (divided by its tokens it is a
    mean), or another loss, or where the count cannot be read."""
    node = getattr(loss, "grad_fn", None)  # the loss itself, not scaled: a sum divided by
    # its count (tokens) is a mean, and backward frees the divisor
    if node is None or not node.name().startswith(REDUCED_LOSSES):
        return 0
    if getattr(node, "_saved_reduction", None) != SUM:
        return 0
    shape = node_shape(_input(node))
    if not shape:
        return 0
    terms = math.prod(shape)
    if node.name().startswith("NllLoss"):  # (rows, classes, ...): a term a row and position;
        terms = terms // max(shape[1], 1) if len(shape) > 1 else 1  # (classes,): one
    return terms if terms > 1 else 0  # (rows ignore_index leaves out count: not known)


def chance_loss(loss: torch.Tensor, classes: int | None) -> float | None:
    """A cross entropy's value at uniform predictions: ln 2 for a binary one, per output;
    else ln of the classes the loss reads, the second dimension of the log-probabilities it
    was given (a sequence's (batch, classes, time) scores, whose model returns (batch, time,
    classes)), or `classes` (the output's second dimension) where it keeps none. None for
    other losses."""
    node = _cross_entropy(loss)
    return None if node is None else _chance(node, classes)


def term_chance(loss: torch.Tensor, classes: int | None) -> float | None:
    """`chance_loss` of the cross entropy on labels the loss adds other terms to (a Bayesian
    network's KL, a penalty written out): what a validation cross entropy scores knowing
    nothing, which the loss's own level no longer says. None where no term is one, or none
    is added; where its cross entropies read different classes (an auxiliary head's), or
    one scores the batch's rows against each other (a contrastive loss: its "classes" are
    the batch); and for a binary cross entropy, whose targets may be soft (a VAE's pixels)."""
    added, chances = False, set()
    for node in walk(loss, (*SCALINGS, "AddBackward")):
        added = added or node.name().startswith("AddBackward")
        if node.name().startswith("BinaryCrossEntropy"):
            return None
        if node.name().startswith("NllLoss"):
            if _scored_in_batch(node):
                return None
            chances.add(_chance(node, classes))
    return chances.pop() if added and len(chances) == 1 else None


def _chance(node: object, classes: int | None) -> float | None:
    if node.name().startswith("BinaryCrossEntropy"):
        return math.log(2)
    classes = _classes_read(node) or classes
    if not classes:
        return None
    return math.log(2) if classes == 1 else math.log(classes)


def _classes_read(node: object) -> int | None:
    """The classes a negative log-likelihood node reads: the second dimension of the
    log-probabilities fed to it, as the node below records its output's shape (its saved
    tensors are freed by backward, the shapes are not). None where it cannot be read."""
    shape = node_shape(_input(node))
    return shape[1] if len(shape) > 1 else shape[0] if shape else None


# what lies between a cross entropy and the product that makes its logits: log-softmax, a
# temperature, the positive logit joined to the negatives', reshapes
TO_THE_SCORES = ("LogSoftmaxBackward", *SCALINGS, "CatBackward", *RESHAPES)
PRODUCTS = ("MmBackward", "BmmBackward")
SCORES_NODES = 16  # nodes visited below the cross entropy, at most


IN_BATCH_STEPS = ("MaskedFillBackward", "IndexBackward", *TO_THE_SCORES)


def _scored_in_batch(node: object) -> bool:
    """Whether the cross entropy's scores are products of two tensors the network computed,
    neither a weight (SimCLR's `z @ z.T / tau`, CLIP's image-by-text logits), through
    scalings, reshapes, masks and joins: similarities of normalised embeddings over a
    temperature are bounded, and the loss's floor is the temperature's and the views'
    (a healthy SimCLR loop's fell 9% in 4 epochs, stress 26). A classifier's layer has a
    weight on one side."""
    queue, seen = [_input(node)], 0
    while queue and seen < SCORES_NODES:
        node = queue.pop(0)
        seen += 1
        if node is None:
            continue
        sides = [n for n, _ in node.next_functions]
        if node.name().startswith(PRODUCTS):
            return len(sides) == 2 and not any(map(_a_weight, sides))
        if node.name().startswith(IN_BATCH_STEPS):
            queue.extend(n for n in sides if n is not None)
    return False


def _a_weight(node: object | None) -> bool:
    """A product's side that is a parameter, transposed or reshaped (or a constant: None)."""
    node = _below(node, (*RESHAPES, "TBackward", "TransposeBackward"))
    return node is None or node.name() == "torch::autograd::AccumulateGrad"


def walk(
    loss: torch.Tensor, through: tuple[str, ...] | Callable[[object], bool]
) -> Iterator[object]:
    """The autograd nodes from the loss down, breadth first, going on below the nodes of
    `through` kinds only (what combines losses: sums, scalings; or those it accepts), at
    most `GRAPH_NODES`."""
    queue, seen = [getattr(loss, "grad_fn", None)], 0
    while queue and seen < GRAPH_NODES:
        node = queue.pop(0)
        if node is None:
            continue
        seen += 1
        yield node
        if through(node) if callable(through) else node.name().startswith(through):
            queue.extend(n for n, _ in node.next_functions)


def _cross_entropy(loss: torch.Tensor) -> object | None:
    """The autograd node of the cross entropy the loss is, scaled or averaged only."""
    return _loss_node(loss, ZERO_FLOOR_LOSSES)


def _loss_node(loss: torch.Tensor, kinds: tuple[str, ...]) -> object | None:
    """The autograd node of one of `kinds` the loss is, scaled or averaged only."""
    node = scalings_below(getattr(loss, "grad_fn", None))[1]
    return node if node is not None and node.name().startswith(kinds) else None


def scalings_below(node: object | None) -> tuple[list[str], object | None]:
    """The names of the scalings and reductions from `node` down, each of one input from the
    graph, and the node below them (None where one has two: a product of two tensors)."""
    chain = []
    while node is not None and node.name().startswith(SCALINGS):
        chain.append(node.name())
        inputs = [n for n, _ in node.next_functions if n is not None]
        node = inputs[0] if len(inputs) == 1 else None
    return chain, node


def node_shape(node: object | None) -> tuple[int, ...]:
    """The shape of what an autograd node computed, which the graph keeps after backward
    (its saved tensors it frees); () where it cannot be read."""
    try:
        return tuple(node._input_metadata[0].shape)
    except (AttributeError, IndexError, RuntimeError):
        return ()


def _input(node) -> object | None:
    """The node that produced a function's first input (its tensor argument)."""
    return node.next_functions[0][0] if node.next_functions else None


def _below(node: object | None, kinds: tuple[str, ...]) -> object | None:
    """The first node at or below `node`, down first inputs, that is none of `kinds` (casts,
    reshapes): what they were applied to."""
    while node is not None and node.name().startswith(kinds):
        node = _input(node)
    return node
