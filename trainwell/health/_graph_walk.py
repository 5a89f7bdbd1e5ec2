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


GATE_GRAPH_NODES = 50_000  # nodes of the whole graph walked for gates, at most (once a run)


WEIGHTING = ("MulBackward", "BmmBackward", "MmBackward")  # products of two of its tensors


def gates(loss: torch.Tensor, outputs: dict[int, object]) -> set[int]:
    """Of `outputs` (an activation's index: the autograd node of its output), those the
    network multiplies with another of its own tensors, through reshapes: gates (a
    squeeze-excitation block's, a GLU's, a hand-written LSTM cell's), which open and close
    by design, pinned at 0 or 1 as their purpose, not saturated units. A scaling by a
    constant is no gate. And those the loss reaches only through a softmax that weighs
    other tensors: an attention's scorer (tanh(V h) scoring a bag's instances, Ilse et al.
    2018), whose saturated units sharpen the attention as it learns where to look (stress
    29: ReLU in their place moved a MIL network's accuracy by noise)."""
    start = getattr(loss, "grad_fn", None)
    wanted = {id(node): index for index, node in outputs.items()}
    found, seen = set(), set()
    weights = set()  # softmax nodes whose output multiplies another tensor
    for node in nodes_below([start], limit=GATE_GRAPH_NODES):
        seen.add(id(node))
        children = [n for n, _ in node.next_functions]
        if not node.name().startswith(WEIGHTING) or len(children) != 2 or not all(children):
            continue
        for child in (_below(c, RESHAPES) for c in children):
            if child is None:
                continue
            if id(child) in wanted and node.name().startswith("MulBackward"):
                found.add(wanted[id(child)])
            elif child.name().startswith("SoftmaxBackward"):
                weights.add(child)
    if weights:
        reached = nodes_below([start], limit=GATE_GRAPH_NODES, barriers=frozenset(weights))
        unweighted = {id(node) for node in reached}
        found |= {index for key, index in wanted.items() if key in seen - unweighted}
    return found
