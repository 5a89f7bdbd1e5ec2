"""What the probes' and the loop watch's hooks read of the tensors they are handed: the
model's outputs as a list, whether a tensor has storage to read, a gradient made dense, and
hooks kept out of the graphs `torch.compile` traces."""

from __future__ import annotations

from collections.abc import Callable

import torch

FEEDS_NODES = 256  # autograd nodes searched above the output for another output it reads


def feeds(other: torch.Tensor, output: torch.Tensor) -> bool:
    """Whether `output` was computed from `other` (features a model returns beside the logits
    its head makes of them): the gradient at `other` then holds what comes back through the
    head, which grows with the head's weights, not only the error its own loss sends.
    Searched over the `FEEDS_NODES` nodes nearest the output; beyond them, taken as not."""
    target, queue, seen = other.grad_fn, [output.grad_fn], set()
    while queue and len(seen) < FEEDS_NODES:
        node = queue.pop()
        if node is None or node in seen:
            continue
        if node is target:
            return True
        seen.add(node)
        queue.extend(next_node for next_node, _ in node.next_functions)
    return False


def eager(hook: Callable[..., None]) -> Callable[..., None]:
    """`hook` run as Python, outside any graph `torch.compile` traces: it reads data
    pointers and autograd nodes of real tensors, which tracing has not got (it warned, broke
    the graph and recompiled on every new pointer)."""
    return torch.compiler.disable(hook, recursive=True)


def output_tensors(output: object) -> list[torch.Tensor]:
    """`output` itself, or the tensors a tuple, list or dict of them holds, in order (none
    where the first is one that `plain` refuses)."""
    if isinstance(output, dict):
        output = list(output.values())
    items = output if isinstance(output, (tuple, list)) else [output]
    tensors = [x for x in items if isinstance(x, torch.Tensor)]
    return tensors if tensors and plain(tensors[0]) else []


def plain(x: object) -> bool:
    """A tensor with storage: not one that torch.func's transforms wrap (`vmap` over
    `functional_call(model, ...)` for per-sample gradients runs the model's hooks on
    those), whose data pointer cannot be read; the probe reads the loop's own forward."""
    return isinstance(x, torch.Tensor) and not torch._C._functorch.is_functorch_wrapped_tensor(x)


def dense(grad: torch.Tensor) -> torch.Tensor:
    """A gradient as a dense tensor: `nn.Embedding(sparse=True)` leaves a sparse one, which
    norms and copies into dense buffers do not take."""
    return grad.to_dense() if grad.is_sparse else grad
