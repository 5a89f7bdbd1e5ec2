"""The statistics a probe reads of one forward and backward pass, each a few fused kernels
on the device (no host transfer: `Probe.after_step` moves them all at once): the units
dead or saturated, the input batch's scale, and what the loss's gradient at the output says
of the targets."""

from __future__ import annotations

import math

import torch

SATURATION_MARGIN = 0.01  # sigmoid within 0.01 of 0 or 1, tanh within 0.01 of -1 or 1


def unit_stat(output: torch.Tensor, kind: str, axis: int = 1) -> torch.Tensor:
    """The share of one activation's units that are dead (ReLU family), or of its
    activations that are saturated (sigmoid, tanh), over a batch; NaN for kinds with
    neither (GELU).

    A unit is a feature (dense, on `axis`: the last one for a linear layer's output) or a
    channel (conv, axis 1); dead: never positive over the whole batch (and sequence). An
    activation (a unit on one example) is saturated within `SATURATION_MARGIN` of an
    asymptote, where its gradient is 25x below its peak or less. Counted over units
    and examples alike (SageMaker's SaturatedActivation counts activations too): a unit
    pinned on half the examples passes a gradient on the rest, but the layer learns from
    half its signal; counting only units pinned on most examples missed pre-activations of
    std 8 (about 56% of them saturated, a unit rarely on 75% of a batch).
    """
    axis = axis % output.dim() if output.dim() else 0
    others = [d for d in range(output.dim()) if d != axis]  # every axis but the unit axis
    if kind in ("relu", "leaky_relu"):
        return (output.amax(dim=others) <= 0).float().mean()
    if kind == "sigmoid":
        near = (output - 0.5).abs() > 0.5 - SATURATION_MARGIN
    elif kind == "tanh":
        near = output.abs() > 1 - SATURATION_MARGIN
    else:
        return torch.full((), float("nan"), device=output.device)
    return near.float().mean()


def input_rms(x: torch.Tensor) -> torch.Tensor:
    """The scale of an input batch: the 90th percentile over features (channels for images)
    of each feature's root mean square. Standardised inputs sit near 1; raw pixels or
    physical units are often 10 to 1,000 times that."""
    if x.dim() < 2:
        return x.float().pow(2).mean().sqrt()
    others = [d for d in range(x.dim()) if d != 1]
    rms = torch.linalg.vector_norm(x.float(), dim=others) / math.sqrt(x.numel() / x.shape[1])
    # the 90th percentile's nearest rank above (quantile's `higher`): one kernel, where
    # `torch.quantile` runs a dozen — 10x the time of a probe's other input statistics
    rank = math.ceil(0.9 * (rms.numel() - 1)) + 1
    return rms.kthvalue(rank).values


def target_level(grad: torch.Tensor, batch: int, output: torch.Tensor) -> torch.Tensor:
    """The targets' RMS in the units of the output's level (`_hook_error`), read as a mean
    squared error gives them: each residual is its gradient times batch x outputs per row
    / 2, and the target is the output less it. Targets far smaller than the residuals: the
    residuals are the outputs' (a network blown up by its weights); as large: the network
    already predicts their level (an output bias set to their mean)."""
    if output.shape != grad.shape or not output.numel():
        return torch.full((), math.nan, device=grad.device)
    per_row = max(output[0].numel(), 1) if output.dim() else 1
    targets = output.float() - grad * (batch * per_row / 2)
    rms = torch.linalg.vector_norm(targets) / math.sqrt(targets.numel())
    return rms * math.sqrt(2 / per_row)


def offset_share(grad: torch.Tensor, batch: int) -> torch.Tensor:
    """The share of the loss's gradient at the output that is the same for every row of the
    batch, per output, over its whole: for a squared error, the residuals' mean squared
    over their mean square, which is near 1 where the outputs must first move to where the
    targets lie (a regression on raw units: 5,000 +- 800). NaN for fewer than 2 rows."""
    if batch < 2 or grad.numel() % batch:
        return torch.full((), math.nan, device=grad.device)
    rows = grad.reshape(batch, -1)
    return rows.mean(0).square().sum() / rows.square().mean(0).sum().clamp_min(1e-30)


def top_class(output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the share of the rows of a (rows, classes) output that rank first the column most
    rows rank first, that column): a share of 1.0 where the network predicts one class."""
    counts = torch.bincount(output.argmax(1), minlength=output.shape[1])
    return counts.amax().float() / max(output.shape[0], 1), counts.argmax().float()
