"""What a loss is given that it should not be: the output of a softmax or sigmoid where it
applies its own or expects log-probabilities, a rate where it takes a log-rate
(`probabilities_as_logits`), read from the loss's autograd graph after backward.
"""

from __future__ import annotations

import torch

from ._loss_graph import ARITHMETIC, GRAPH_NODES, LOGIT_LOSSES, RESHAPES, _input, scalings_below

STACKS = ("CatBackward", "StackBackward")  # probabilities joined: each part is one
SQUASHES = ("SoftmaxBackward", "SigmoidBackward")
POSITIVE = ("ExpBackward", "SoftplusBackward")  # a rate's link: what a log-rate is not yet


def squashed_logits(loss: torch.Tensor) -> list[str] | None:
    """The autograd nodes from a logits loss down to a softmax/sigmoid feeding it (through
    reshapes only), or from a Poisson loss down to the exp giving it rates; None where
    there is neither. Node names survive backward; only saved tensors are freed. The
    walk goes down from the loss through what combines losses (sums, means, weights), not
    into the model below a logits loss: a cross entropy's graph is read in two nodes, not in
    the model's dozens (a walk of the whole MLP cost ~0.5 ms a look on caches a backward
    left cold). A KL divergence given probabilities is read too (`_kl_on_probabilities`),
    alone or as one term of a sum (`_kl_term`: distillation's KL beside a cross entropy),
    and a Poisson loss that exponentiates rates (`_log_input_on_rates`)."""
    start = getattr(loss, "grad_fn", None)
    kl = _kl_on_probabilities(loss, start)
    if kl is not None:
        return kl
    queue, seen = [start] if start is not None else [], 0
    while queue and seen < GRAPH_NODES:
        node = queue.pop(0)
        seen += 1
        if (rates := _log_input_on_rates(node)) is not None:
            return rates
        if node.name().startswith("AddBackward"):
            terms = (_kl_term(n) for n, _ in node.next_functions if n is not None)
            kl = next((term for term in terms if term is not None), None)
            if kl is not None:
                return [node.name(), *kl]
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
    chain, node = scalings_below(node)
    kl = _kl_graph(node)
    if kl is None or not float(loss.detach()) < 0:
        return None
    return [*chain, *kl]


def _kl_term(node: object | None) -> list[str] | None:
    """`_kl_on_probabilities`' graph as one term of a sum of losses, whose own value the
    graph no longer holds: told by kl_div's reduction instead, over the whole batch
    (`batchmean`, `sum` or `mean`) right above `t log t - t * input`. A per-row term
    summed over the classes (`(1 - p_label).mean()` written as a subtraction of weighted
    probabilities) is not read."""
    chain, node = scalings_below(node)
    if not chain or not chain[-1].startswith(("SumBackward0", "MeanBackward0")):
        return None
    kl = _kl_graph(node)
    return None if kl is None else [*chain, *kl]


def _kl_graph(node: object | None) -> list[str] | None:
    """The nodes of `t log t - t * input` from `node` down to the input's softmax/sigmoid,
    `t log t` a constant; None where the graph is not that."""
    if node is None or not node.name().startswith("SubBackward") or _input(node) is not None:
        return None  # t log t, the constant, comes first
    product = node.next_functions[1][0] if len(node.next_functions) > 1 else None
    if product is None or not product.name().startswith("MulBackward"):
        return None
    factors = [n for n, _ in product.next_functions if n is not None]
    squashed = _squashed(factors[0]) if len(factors) == 1 else None
    return None if squashed is None else [f"{node.name()} (kl_div)", product.name(), *squashed]


def _log_input_on_rates(node: object) -> list[str] | None:
    """The nodes of `poisson_nll_loss(rates, target)` with `log_input=True`, torch's default,
    where it wants log-rates: its graph is `exp(input) - target * input`, the input the
    output of an exp or softplus (through reshapes, or a constant's scaling: an exposure),
    so the loss fits exp(rate) to the counts. None where the graph is not that."""
    if not node.name().startswith("SubBackward") or len(node.next_functions) != 2:
        return None
    (exp, _), (product, _) = node.next_functions
    if exp is None or not exp.name().startswith("ExpBackward") or product is None:
        return None
    inputs = [n for n, _ in product.next_functions if n is not None]
    if not product.name().startswith("MulBackward") or inputs != [_input(exp)]:
        return None  # `target * input`, the input the one exp reads
    chain, rates = _through_constants(inputs[0])
    if rates is None or not rates.name().startswith(POSITIVE):
        return None
    return [f"{node.name()} (poisson_nll)", exp.name(), *chain, rates.name()]


def _through_constants(node: object | None) -> tuple[list[str], object | None]:
    """The names of the reshapes and of the shifts or scalings by a constant from `node`
    down (`t * exp(x)` as `exp(x) * t`), and the node below them."""
    chain = []
    while node is not None and (node.name().startswith(RESHAPES) or _by_a_constant(node)):
        chain.append(node.name())
        node = next(n for n, _ in node.next_functions if n is not None)
    return chain, node


def _squashed(node: object | None) -> list[str] | None:
    """The nodes from `node` down, through reshapes and shifts or scalings by a constant
    (`softmax(x) + 1e-8`), to a softmax/sigmoid (or to a join of squashed parts: per-class
    sigmoid heads concatenated); None where they do not end so."""
    chain, node = _through_constants(node)
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
