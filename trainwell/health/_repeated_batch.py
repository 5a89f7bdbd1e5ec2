"""A loop that trains on one batch for ever: `torch.manual_seed` called inside the step loop
"for reproducibility" draws the same rows at every step; `next(iter(loader))` at each step
of a loader without shuffle returns its first batch each time. Nothing fails and the loss
falls (on those rows); the network sees a batch of the dataset (a digits MLP so trained
scored 0.73-0.80 against 0.98, stress 24).

The loop watch fingerprints the model's input at the forward in train mode, with gradients
on, before each check, that read the most values (the last of those as large) (`batch_print`):
its sum, its norm, a position-weighted sum of values sampled through it, and its size; a
DQN's acting forward on one state (under no_grad, or beside the training batch's) is not
read, nor a physics-informed loss's fixed boundary points beside its collocation points. Two
checks of one epoch that saw the same input, and a third of another epoch, is one batch
for ever. Within an epoch a loader gives other rows at every step, and in the next, with or
without shuffle, the checks fall elsewhere in the epoch; full-batch training (each epoch
one step, or a step each epoch_end) never has two checks in one epoch. Without epoch_end,
the epochs are unknown and the check says nothing.
"""

from __future__ import annotations

import torch

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, loop_finding
from ._tensors import plain


def first_input(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The model's first tensor input (positional, else keyword); None for one torch.func's
    transforms wrap (`vmap` over `functional_call` for per-sample gradients: the loop's own
    forward is read), or an empty or sparse one."""
    tensors = [x for x in (*args, *kwargs.values()) if isinstance(x, torch.Tensor)]
    if not tensors or not plain(tensors[0]) or not tensors[0].numel() or tensors[0].is_sparse:
        return None
    return tensors[0]


SAMPLED = 4096  # values of the input its position-weighted sum reads, evenly spaced


def batch_print(x: torch.Tensor) -> tuple[float, ...]:
    """A fingerprint of an input: its sum, its norm, the sum of `SAMPLED` values evenly
    spaced through it weighted by their position, and its size (one host transfer). The
    weighted sum tells apart batches whose sum and norm agree: one-hot states, binary
    pixels (a DQN's replay batches of one-hot states were one batch to sum and norm)."""
    flat = x.detach().reshape(-1).float()
    sample = flat[:: max(1, flat.numel() // SAMPLED)][:SAMPLED]
    weights = torch.arange(1, sample.numel() + 1, device=flat.device, dtype=flat.dtype)
    norm = torch.linalg.vector_norm(flat)  # no squared copy of a large batch
    size = flat.new_full((), flat.numel())
    return tuple(torch.stack([flat.sum(), norm, (sample * weights).sum(), size]).tolist())


def seen_twice(r: LoopRecord, epoch: int) -> bool:
    """Whether the last two checks that fingerprinted the input saw the same one in one
    epoch, before `epoch`: the checks look at its next probe step for a third (`LoopPace`),
    once an epoch."""
    seen = [c for c in r.checks[-2:] if c.batch is not None]
    return (
        len(seen) == 2 and seen[0].batch == seen[1].batch and seen[0].epoch == seen[1].epoch < epoch
    )


def repeated_batch(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The last `sustain` + 1 checks that fingerprinted the input saw the same one, two of
    them in one epoch and another in a later epoch (the module's docstring)."""
    seen = [c for c in r.checks if c.batch is not None]
    last = seen[-(t.sustain + 1) :]
    if len(last) <= t.sustain or any(c.batch != last[-1].batch for c in last):
        return None
    epochs = [c.epoch for c in last]
    if len(set(epochs)) < 2 or len(set(epochs)) == len(epochs):
        return None
    steps = ", ".join(f"{c.step} (epoch {c.epoch})" for c in last)
    rows = int(last[-1].batch[-1])
    return loop_finding(
        "repeated_batch",
        "error",
        f"Every step trains on the same batch: the model's input at steps {steps} is one "
        f"and the same ({rows:,} values), within an epoch and across epochs. A random "
        f"generator re-seeded inside the loop (torch.manual_seed at each step) or "
        f"next(iter(loader)) at each step of a loader without shuffle draws the same rows "
        f"every time: the network learns that batch, not the dataset (its loss falls; its "
        f"validation does not). (Where the whole training set is this batch, full-batch "
        f"training with several steps an epoch, it is by design.)",
        r,
        last[-1].step,
        steps=[c.step for c in last],
        epochs=epochs,
        values=rows,
    )
