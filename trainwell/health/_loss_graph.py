"""What the loss's autograd graph says of how the loss was computed, read from its node
names (which survive backward; saved tensors do not) and the sizes torch keeps: a softmax
or sigmoid fed to a loss that applies its own, a cross entropy and its floor, outputs
broadcast against targets of another shape.

The walks go down from the loss through what combines losses (sums, means, weights), not
into the model below: a loss's graph is read in a few nodes, not in the model's dozens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, loop_finding

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
STACKS = ("CatBackward", "StackBackward")  # probabilities joined: each part is one
SQUASHES = ("SoftmaxBackward", "SigmoidBackward")
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
# torch's losses that broadcast outputs against targets of another shape, with a warning
# only (`l1_loss` is |input - target| in the graph)
BROADCASTING_LOSSES = ("MseLossBackward", "SmoothL1LossBackward", "HuberLossBackward")
# what a loss passes through on its way to the value backpropagated: scalings, sums of
# terms, a root (RMSE) or log, a mask, a stack of terms
COMBINING = (
    *SCALINGS,
    "AddBackward",
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


def squashed_logits(loss: torch.Tensor) -> list[str] | None:
    """The autograd nodes from a logits loss down to a softmax/sigmoid feeding it (through
    reshapes only), or None. Node names survive backward; only saved tensors are freed. The
    walk goes down from the loss through what combines losses (sums, means, weights), not
    into the model below a logits loss: a cross entropy's graph is read in two nodes, not in
    the model's dozens (a walk of the whole MLP cost ~0.5 ms a look on caches a backward
    left cold). A KL divergence given probabilities is read too (`_kl_on_probabilities`)."""
    start = getattr(loss, "grad_fn", None)
    kl = _kl_on_probabilities(loss, start)
    if kl is not None:
        return kl
    queue, seen = [start] if start is not None else [], 0
    while queue and seen < GRAPH_NODES:
        node = queue.pop(0)
        seen += 1
        if node.name().startswith(LOGIT_LOSSES):
            chain = _squashed(_input(node))
            if chain is not None:
                return [node.name(), *chain]
            below = [n for n, _ in node.next_functions if n is not None]
            # only the loss's own parts lie below (NLL on a log-softmax), then the model
            queue.extend(n for n in below if n.name().startswith(LOGIT_LOSSES))
            continue
        queue.extend(n for n, _ in node.next_functions if n is not None)
    return None


def _kl_on_probabilities(loss: torch.Tensor, node: object | None) -> list[str] | None:
    """The nodes of `F.kl_div(probabilities, target)` (a loss, scaled or averaged only) where
    it wants log-probabilities: its graph is `t log t - t * input`, the input a softmax's or
    sigmoid's output. Told from a loss that subtracts weighted probabilities from a constant
    for a reason of its own by its value: a KL divergence is never negative, and this one
    always is (-H(t) - sum t p). None otherwise; reads the value only where the graph fits."""
    chain = []
    while node is not None and node.name().startswith(SCALINGS):
        chain.append(node.name())
        inputs = [n for n, _ in node.next_functions if n is not None]
        node = inputs[0] if len(inputs) == 1 else None
    if node is None or not node.name().startswith("SubBackward") or _input(node) is not None:
        return None  # t log t, the constant, comes first
    product = node.next_functions[1][0] if len(node.next_functions) > 1 else None
    if product is None or not product.name().startswith("MulBackward"):
        return None
    factors = [n for n, _ in product.next_functions if n is not None]
    squashed = _squashed(factors[0]) if len(factors) == 1 else None
    if squashed is None or not float(loss.detach()) < 0:
        return None
    return [*chain, f"{node.name()} (kl_div)", product.name(), *squashed]


def _squashed(node: object | None) -> list[str] | None:
    """The nodes from `node` down, through reshapes and shifts or scalings by a constant
    (`softmax(x) + 1e-8`), to a softmax/sigmoid (or to a join of squashed parts: per-class
    sigmoid heads concatenated); None where they do not end so."""
    chain = []
    while node is not None and (node.name().startswith(RESHAPES) or _by_a_constant(node)):
        chain.append(node.name())
        node = _input(node)
    if node is None:
        return None
    if node.name().startswith(SQUASHES):
        return [*chain, node.name()]
    if not node.name().startswith(STACKS):
        return None
    parts = [_squashed(n) for n, _ in node.next_functions if n is not None]
    return [*chain, node.name(), *parts[0]] if parts and all(parts) else None


def _by_a_constant(node) -> bool:
    """Arithmetic with one input from the graph: the other a number or a constant tensor
    (probabilities kept off 0 by an epsilon are probabilities still; a gate, the product of
    two of the network's tensors, is not this)."""
    if not node.name().startswith(ARITHMETIC):
        return False
    return sum(n is not None for n, _ in node.next_functions) == 1


def zero_floor(loss: torch.Tensor) -> bool:
    """Whether the loss is a cross entropy, scaled or averaged only: on labels a perfect fit
    takes it to 0, and a plateau far above that says the network cannot fit (a binary
    cross entropy's targets are freed by backward, so soft ones pass for labels). A sum of
    terms (a VAE's KL, label smoothing's), a regression's or a reconstruction's error, a
    cross entropy on soft targets: each has a floor of its own that the doctor cannot know."""
    return _cross_entropy(loss) is not None


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
    if node is None:
        return None
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


def _cross_entropy(loss: torch.Tensor) -> object | None:
    """The autograd node of the cross entropy the loss is, scaled or averaged only."""
    return _loss_node(loss, ZERO_FLOOR_LOSSES)


def _loss_node(loss: torch.Tensor, kinds: tuple[str, ...]) -> object | None:
    """The autograd node of one of `kinds` the loss is, scaled or averaged only."""
    node = getattr(loss, "grad_fn", None)
    while node is not None:
        if node.name().startswith(kinds):
            return node
        inputs = [n for n, _ in node.next_functions if n is not None]
        if not node.name().startswith(SCALINGS) or len(inputs) != 1:
            return None
        node = inputs[0]
    return None


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
    queue, seen = [getattr(loss, "grad_fn", None)], 0
    while queue and seen < GRAPH_NODES:
        node = queue.pop(0)
        seen += 1
        if node is None:
            continue
        name = node.name()
        if name.startswith(COMBINING):
            queue.extend(n for n, _ in node.next_functions)
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
    size-1 axes added (`pred.unsqueeze(1)` of a model that returns `(n,)`), or `(n, 1)` of
    `(n, k)` ones (a slice `out[:, :1]`, a `mean(1, keepdim=True)`)."""
    if len(shape) > len(outputs) and _squeezed(shape) == _squeezed(outputs):
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
    return loop_finding(
        "broadcast_loss",
        "error",
        f"The loss compared outputs of shape {before} with targets of another shape and "
        f"broadcast them to {after}: each output is compared with the targets of other rows "
        f"too, so the network learns to predict their mean (torch warns of it once, as "
        f"'Using a target size that is different to the input size').",
        r,
        r.broadcast_step if r.broadcast_step is not None else r.step,
        output_shape=list(before),
        compared_shape=list(after),
    )


GATE_GRAPH_NODES = 50_000  # nodes of the whole graph walked for gates, at most (once a run)


def gates(loss: torch.Tensor, outputs: dict[int, object]) -> set[int]:
    """Of `outputs` (an activation's index: the autograd node of its output), those the
    network multiplies with another of its own tensors, through reshapes: gates (a
    squeeze-excitation block's, a GLU's, a hand-written LSTM cell's), which open and close
    by design, pinned at 0 or 1 as their purpose, not saturated units. A scaling by a
    constant is no gate. One walk of the loss's whole graph."""
    wanted = {id(node): index for index, node in outputs.items()}
    found: set[int] = set()
    seen, kept, stack = set(), [], [getattr(loss, "grad_fn", None)]
    while stack and len(seen) < GATE_GRAPH_NODES:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        kept.append(node)  # alive while walked: an id is not reused
        children = [n for n, _ in node.next_functions]
        if node.name().startswith("MulBackward") and len(children) == 2 and all(children):
            for child in children:
                child = _below(child, RESHAPES)
                if child is not None and id(child) in wanted:
                    found.add(wanted[id(child)])
        stack.extend(n for n in children if n is not None)
    return found
