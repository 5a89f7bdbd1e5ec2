"""A mixed-precision loop's gradient scaler, as the loop's doctor reads it at its probes."""

from __future__ import annotations

import torch


class LoopScaler:
    """The loop's `torch.amp.GradScaler` (None: none, or one disabled): the gradients are read
    unscaled, before or after `scaler.unscale_(optimizer)`, and a step the scaler skipped on
    overflow is no explosion."""

    def __init__(self, scaler: torch.amp.GradScaler | None) -> None:
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.scale: float | None = None  # the scaler's scale at the last probe
        self._finite = torch.tensor(True)  # that probe's loss was finite

    def at_probe(self, optimizer: torch.optim.Optimizer | None, loss: torch.Tensor) -> float:
        """What the gradients are multiplied by now: the scaler's scale until
        `scaler.unscale_(optimizer)` has run in this step (its per-optimizer stage, which
        GradScaler keeps in a private dict: read where it is, else the scale is assumed).
        The scale is kept to tell an overflow the scaler skipped from a step (`skipped`)."""
        self._finite = torch.isfinite(loss.detach())  # read only if the scale drops
        if self.scaler is None:
            return 1.0
        self.scale = self.scaler.get_scale()
        states = getattr(self.scaler, "_per_optimizer_states", {})
        stage = states.get(id(optimizer), {}).get("stage")
        return 1.0 if stage is not None and stage.name == "UNSCALED" else self.scale

    def skipped(self) -> bool:
        """Whether the scaler skipped the step after the last probe: its scale has dropped
        since, so the scaled gradients overflowed — normal in mixed precision, not an
        explosion. A loss the forward pass made NaN is no overflow of scaled gradients."""
        dropped = self.scale is not None and self.scaler.get_scale() < self.scale
        return dropped and bool(self._finite)
