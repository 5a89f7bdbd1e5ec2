"""Adversarial inputs inside an ε-ball: the projected-gradient core shared by adversarial
training (`train.adversarial`, Madry et al. 2018) and `trainwell.attack`.

ε is measured in units a person can reason about, not in the model's: a fraction of the
pixel range for images, standard deviations of each feature for tables. A `Box` maps one
such unit to the space the model sees (standardised inputs) and holds the valid data range,
so every adversarial input stays a possible input. The perturbation `delta` lives in ε units;
the model sees `clamp(x + delta * scale, low, high)`.
"""

from __future__ import annotations

import contextlib
import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._callbacks import Callback

Norm = Literal["linf", "l2"]
NORMS = ("linf", "l2")
STEP_FACTOR = 2.5  # step size = 2.5 ε / steps (Madry et al.): PGD can cross the ball and back


@dataclass
class Box:
    """One ε unit (`scale`) and the valid range (`low`, `high`) per input element, in the
    model's input space; each has the shape of one input."""

    scale: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor

    @classmethod
    def from_training(
        cls,
        X: np.ndarray,
        mean: list[float] | None,
        std: list[float] | None,
        *,
        image: bool,
    ) -> Box:
        """From the training inputs as the model sees them and their standardisation.

        Images: ε 1 is the whole pixel range (training minimum to maximum, in source
        units), the valid range is that pixel range. Tables: ε 1 is each feature's standard
        deviation, the valid range each feature's training minimum to maximum.
        """
        X = np.asarray(X, dtype=np.float64)
        view = (-1, 1, 1) if X.ndim == 4 else (-1,)
        shape = X.shape[1:]
        m = np.zeros(shape) + (np.reshape(mean, view) if mean is not None else 0.0)
        s = np.ones(shape) * (np.reshape(std, view) if std is not None else 1.0)
        with np.errstate(all="ignore"):
            if image:
                raw = X * s + m
                lo, hi = float(np.nanmin(raw)), float(np.nanmax(raw))
                scale, low, high = (hi - lo) / s, (lo - m) / s, (hi - m) / s
            else:
                low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
                scale = np.nanstd(X, axis=0)
        tensors = (np.nan_to_num(a).astype(np.float32) for a in (scale, low, high))
        return cls(*(torch.from_numpy(np.ascontiguousarray(a)) for a in tensors))

    def to(self, device: torch.device | str) -> Box:
        return Box(self.scale.to(device), self.low.to(device), self.high.to(device))

    def diameter(self, norm: Norm) -> float:
        """The ε that reaches every valid input from any other: the whole range, in ε units."""
        movable = self.scale > 0
        span = (self.high - self.low)[movable] / self.scale[movable]
        if not len(span):
            return 0.0
        return float(span.max() if norm == "linf" else span.norm())


def perturb(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    box: Box,
    eps: float,
    *,
    norm: Norm = "linf",
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    restarts: int = 1,
) -> torch.Tensor:
    """Adversarial versions of `x` (labels `y`), maximising cross-entropy within the ε-ball.

    PGD; FGSM is `steps=1, random_start=False` (a step of ε). With `restarts`, a row keeps
    the first restart that fools the model; later restarts only attack the rows still
    classified correctly. The model's mode and its parameters' gradients are left alone.
    """
    alpha = step_size if step_size is not None else STEP_FACTOR * eps / steps
    best = x.clone()
    todo = torch.arange(len(x), device=x.device)
    tries = max(1, restarts) if random_start else 1  # without one, every try is the same
    for attempt in range(tries):
        adv = _pgd(model, x[todo], y[todo], box, eps, norm, steps, alpha, random_start)
        best[todo] = adv
        if attempt == tries - 1:
            break
        with torch.no_grad():
            todo = todo[model(adv).argmax(1) == y[todo]]
        if not len(todo):
            break
    return best


def _pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    box: Box,
    eps: float,
    norm: Norm,
    steps: int,
    alpha: float,
    random_start: bool,
) -> torch.Tensor:
    low, high = torch.minimum(box.low, x), torch.maximum(box.high, x)  # x itself is valid
    delta = random_point(x, eps, norm) if random_start else torch.zeros_like(x)
    delta = clamp_delta(x, delta, box.scale, low, high)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x + delta * box.scale), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = project(delta + alpha * _ascent(grad, norm), eps, norm)
            delta = clamp_delta(x, delta, box.scale, low, high)
    return (x + delta * box.scale).detach()


def random_point(x: torch.Tensor, eps: float, norm: Norm) -> torch.Tensor:
    """Uniform in the L∞ ball; for L2, a random direction at a uniform radius."""
    if norm == "linf":
        return (torch.rand_like(x) * 2 - 1) * eps
    direction = torch.randn_like(x)
    direction = direction / row_norms(direction).clamp(min=1e-12)
    return direction * eps * torch.rand(_row_shape(x), device=x.device)


def _ascent(grad: torch.Tensor, norm: Norm) -> torch.Tensor:
    """The steepest-ascent direction of unit size in the norm."""
    if norm == "linf":
        return grad.sign()
    return grad / row_norms(grad).clamp(min=1e-12)


def project(delta: torch.Tensor, eps: float, norm: Norm) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    return delta * (eps / row_norms(delta).clamp(min=1e-12)).clamp(max=1.0)


def clamp_delta(
    x: torch.Tensor, delta: torch.Tensor, scale: torch.Tensor, low: torch.Tensor, high: torch.Tensor
) -> torch.Tensor:
    """`delta` moved back so that `x + delta * scale` is a valid input; fixed elements
    (scale 0, e.g. constant features) do not move. Only shrinks `delta`: stays in the ball."""
    moved = torch.minimum(torch.maximum(x + delta * scale, low), high)
    return torch.where(scale > 0, (moved - x) / scale.clamp(min=1e-12), torch.zeros_like(delta))


def row_norms(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1).view(_row_shape(t))


def _row_shape(t: torch.Tensor) -> tuple[int, ...]:
    return (len(t),) + (1,) * (t.ndim - 1)


@torch.enable_grad()
def adversarial_batch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    box: Box,
    eps: float,
    *,
    norm: Norm,
    steps: int,
) -> torch.Tensor:
    """PGD inputs for training: crafted in eval mode (batch-norm statistics and dropout
    untouched), in full precision and unseen by forward hooks (the doctor's probes measure
    the training pass, not these), then the model is as it was."""
    training = model.training
    model.eval()
    try:
        with torch.autocast(x.device.type, enabled=False), _hooks_hidden(model):
            return perturb(model, x.float(), y, box, eps, norm=norm, steps=steps).to(x.dtype)
    finally:
        model.train(training)


@contextlib.contextmanager
def _hooks_hidden(model: nn.Module) -> Iterator[None]:
    hooked = [(m, m._forward_hooks) for m in model.modules() if m._forward_hooks]
    for module, _ in hooked:
        module._forward_hooks = OrderedDict()
    try:
        yield
    finally:
        for module, hooks in hooked:
            module._forward_hooks = hooks


class AdversarialTraining(Callback):
    """PGD adversarial training as a Trainer callback: `wrap` the training batches, pass the
    callback to the Trainer, and each batch has a share `ratio` of its rows replaced by PGD
    inputs against the model being trained (`trainer.model`, so a model the doctor rebuilds
    is attacked too). Checkpoints and resume go through the wrapped batches; the random
    starts draw from torch's global generator, which checkpoints save."""

    def __init__(
        self, box: Box, eps: float, *, steps: int = 7, norm: Norm = "linf", ratio: float = 1.0
    ) -> None:
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}; got {norm!r}")
        self.box, self.eps, self.steps, self.norm, self.ratio = box, eps, steps, norm, ratio
        self._boxes: dict[torch.device, Box] = {}

    def wrap(self, batches: Any) -> AdversarialBatches:
        return AdversarialBatches(batches, self)

    def craft(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if y.ndim != 1 or y.is_floating_point():
            raise ValueError("adversarial training needs class labels (classification)")
        n = math.ceil(self.ratio * len(x))
        if n == 0:
            return x
        box = self._boxes.get(x.device)
        if box is None:  # moved to the batch's device once, not at every step
            box = self._boxes[x.device] = self.box.to(x.device)
        adv = adversarial_batch(
            self.trainer.model, x[:n], y[:n], box, self.eps, norm=self.norm, steps=self.steps
        )
        return torch.cat([adv, x[n:]]) if n < len(x) else adv


class AdversarialBatches:
    """Training batches with adversarial rows (see `AdversarialTraining`)."""

    def __init__(self, batches: Any, training: AdversarialTraining) -> None:
        self.batches, self.training = batches, training

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.batches:
            yield self.training.craft(x, y), y

    def state_dict(self) -> dict[str, Any]:
        return getattr(self.batches, "state_dict", dict)()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if hasattr(self.batches, "load_state_dict"):
            self.batches.load_state_dict(state)
