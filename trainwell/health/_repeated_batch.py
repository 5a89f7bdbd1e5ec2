"""A loop that trains on one batch for ever: `torch.manual_seed` called inside the step loop
"for reproducibility" draws the same rows at every step; `next(iter(loader))` at each step
of a loader without shuffle returns its first batch each time. Nothing fails and the loss
falls (on those rows); the network sees a batch of the dataset (a digits MLP so trained
scored 0.73-0.80 against 0.98, stress 24).

The loop watch fingerprints the model's input at the first forward after each look arms
(`batch_print`): its sum, its norm, its first and last values and its size. Two
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


def batch_print(args: tuple, kwargs: dict) -> torch.Tensor | None:
    """A fingerprint of the model's first tensor input (positional, else keyword), kept on
    its device, read at the check. None for one torch.func's transforms wrap (`vmap` over
    `functional_call` for per-sample gradients): the loop's own forward is fingerprinted."""
    tensors = [x for x in (*args, *kwargs.values()) if isinstance(x, torch.Tensor)]
    if not tensors or not plain(tensors[0]) or not tensors[0].numel() or tensors[0].is_sparse:
        return None
    flat = tensors[0].detach().reshape(-1).float()
    size = flat.new_full((), flat.numel())
    norm = torch.linalg.vector_norm(flat)  # no squared copy of a large batch
    return torch.stack([flat.sum(), norm, flat[0], flat[-1], size])


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
