"""Walks of a loss's whole autograd graph, for what its parameters tell: which tensors a
part of it reaches (another network's weights, a teacher's). Bounded: a large model's
graph holds tens of thousands of nodes, and these run at the looks only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch

GRAPH_NODES = 20_000  # nodes walked, at most


def nodes_below(starts: Iterable[object | None], stop: str | None = None) -> Iterator[object]:
    """The autograd nodes at and below `starts`, depth first, each once; below a node whose
    name starts with `stop` the walk does not go."""
    queue, visited = list(starts), set()
    while queue and len(visited) < GRAPH_NODES:
        node = queue.pop()
        if node is None or node in visited:
            continue
        visited.add(node)
        yield node
        if stop is None or not node.name().startswith(stop):
            queue.extend(n for n, _ in node.next_functions)


def tensors_below(starts: Iterable[object | None]) -> Iterator[torch.Tensor]:
    """The leaf tensors (parameters) the nodes at and below `starts` accumulate into."""
    for node in nodes_below(starts):
        variable = getattr(node, "variable", None)  # an AccumulateGrad's tensor
        if variable is not None:
            yield variable
