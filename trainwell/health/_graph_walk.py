"""Walks of a loss's whole autograd graph, for what its parameters tell: which tensors a
part of it reaches (another network's weights, a teacher's), which activations gate others.
Bounded: a large model's graph holds tens of thousands of nodes, and these run at the
looks only (the gates once a run)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

from ._loss_graph import RESHAPES, _below

GRAPH_NODES = 20_000  # nodes walked, at most


def nodes_below(
    starts: Iterable[object | None],
    stop: str | None = None,
    limit: int = GRAPH_NODES,
    barriers: frozenset[object] = frozenset(),
) -> Iterator[object]:
    """The autograd nodes at and below `starts`, depth first, each once, `limit` at most;
    below a node whose name starts with `stop`, or one of `barriers`, the walk does not go."""
    queue, visited = list(starts), set()
    while queue and len(visited) < limit:
        node = queue.pop()
        if node is None or node in visited:
            continue
        visited.add(node)
        yield node
        if node not in barriers and (stop is None or not node.name().startswith(stop)):
            queue.extend(n for n, _ in node.next_functions)


def tensors_below(starts: Iterable[object | None]) -> Iterator[torch.Tensor]:
    """The leaf tensors (parameters) the nodes at and below `starts` accumulate into."""
    for node in nodes_below(starts):
        variable = getattr(node, "variable", None)  # an AccumulateGrad's tensor
        if variable is not None:
            yield variable


GATE_GRAPH_NODES = 50_000  # nodes of the whole graph walked for gates, at most (once a
# run, and once more for attention scorers)
WEIGHTING = ("MulBackward", "BmmBackward", "MmBackward")  # products of two of its tensors
BY_CONSTANT = ("MulBackward", "DivBackward")  # scalings where one input has a gradient
THROUGH_DROPOUT = (*RESHAPES, "NativeDropoutBackward")


def gates(loss: torch.Tensor, outputs: dict[int, object]) -> set[int]:
    """Of `outputs` (an activation's index: the autograd node of its output), those the
    network multiplies with another of its own tensors, through reshapes: gates (a
    squeeze-excitation block's, a GLU's, a hand-written LSTM cell's), which open and close
    by design, pinned at 0 or 1 as their purpose, not saturated units. A scaling by a
    constant is no gate. And those the loss reaches only through a softmax that weighs
    other tensors the network computed (not a parameter, not the softmax's own log): an
    attention's scorer (tanh(V h) scoring a bag's instances, Ilse et al. 2018), whose
    saturated units sharpen the attention as it learns where to look (stress 29: ReLU in
    their place moved a MIL network's accuracy by noise). Where a walk stops short of the
    whole graph, no scorer is told."""
    start = getattr(loss, "grad_fn", None)
    wanted = {id(node): index for index, node in outputs.items()}
    nodes = list(nodes_below([start], limit=GATE_GRAPH_NODES))  # (alive: their ids hold)
    found: set[int] = set()
    softmaxes: set[object] = set()  # softmax outputs that weigh another tensor
    for node in nodes:
        children = [n for n, _ in node.next_functions]
        if not node.name().startswith(WEIGHTING) or len(children) != 2 or not all(children):
            continue
        for child, other in (children, children[::-1]):
            gate = _below(child, RESHAPES)
            if gate is not None and id(gate) in wanted and node.name().startswith("MulBackward"):
                found.add(wanted[id(gate)])
            weights = _weights_below(child)
            if weights is not None and _weighs(weights, other):
                softmaxes.add(weights)
    if softmaxes and len(nodes) < GATE_GRAPH_NODES:
        barriers = frozenset(softmaxes)
        below = list(nodes_below([start], limit=GATE_GRAPH_NODES, barriers=barriers))
        if len(below) < GATE_GRAPH_NODES:
            scorers = set(map(id, nodes)) - set(map(id, below))
            found |= {index for key, index in wanted.items() if key in scorers}
    return found


def _weights_below(node: object | None) -> object | None:
    """The node below `node` through reshapes, dropout (`NativeDropoutBackward` on a GPU; a
    product with its constant mask on a CPU) and other scalings by a constant."""
    while (node := _below(node, THROUGH_DROPOUT)) is not None:
        inputs = [n for n, _ in node.next_functions if n is not None]
        if not node.name().startswith(BY_CONSTANT) or len(inputs) != 1:
            return node
        node = inputs[0]
    return None


def _weighs(softmax: object, other: object) -> bool:
    """Whether `softmax` is one whose output multiplies `other`, a tensor the network
    computed: not a parameter (`p * scale`, a bias-free layer after it), nor its own log
    (an entropy, `p * log(p)`)."""
    if not softmax.name().startswith("SoftmaxBackward"):
        return False
    other = _below(other, RESHAPES)
    if other is None or getattr(other, "variable", None) is not None:  # a parameter's
        return False
    return softmax not in {n for n, _ in other.next_functions}
