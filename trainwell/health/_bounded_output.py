"""A regression whose outputs an activation bounds (a ReLU, sigmoid, tanh or softplus after
the last layer) while its targets lie beyond that range: those targets are out of the
network's reach whatever it learns, and nothing raises an error.

Read in two parts: the loss's autograd graph says which activation bounds the outputs a
mean squared error compares (`bounded_regression`, at a loop's looks, at the Trainer's
first step); the probes read, from the error's gradient at the outputs, where the targets
lie (`beyond_share`, `ProbeHistory.beyond_bound`).
"""

from __future__ import annotations

import math
import statistics

import torch

from ..findings import Finding
from ._history import ProbeHistory
from ._loss_graph import RESHAPES, _below, _input, walk
from ._silent import epoch_finding

# the activations that bound an output, by their autograd node: (name, lowest, highest)
RANGES: dict[str, tuple[str, float, float]] = {
    "ReluBackward": ("ReLU", 0.0, math.inf),
    "SigmoidBackward": ("sigmoid", 0.0, 1.0),
    "TanhBackward": ("tanh", -1.0, 1.0),
    "SoftplusBackward": ("softplus", 0.0, math.inf),
}
# what a loss passes through, unscaled, on its way to the value backpropagated: a sum of
# terms (a penalty added), a cast (autocast runs a loss in float32); a scaled one's gradient
# would misplace the targets
COMBINING = ("AddBackward", "ToCopyBackward")
# the Trainer standardises a regression's targets: half of them lie below 0
TRAINER_FIX = (
    "end your module with its last linear layer: the Trainer trains on standardised targets "
    "(half of them below 0) and maps its predictions back to their units"
)
MEAN = 1  # at::Reduction::Mean, which the loss's node keeps
SELF_CHECK = 0.01  # the residuals read back must give the loss itself, within 1%
MARGIN = 0.1  # beyond the range by a tenth of the targets' RMS: not a target at its edge
BEYOND_SHARE = 0.2  # a fifth of the targets or more out of reach ...
PROBES = 2  # ... at each of the last probes that read them


def bounded_regression(loss: torch.Tensor) -> str | None:
    """The autograd node of the activation whose output a mean squared error (torch's, with
    its mean reduction; summed with other terms) compares with its targets, through
    reshapes (`.squeeze(-1)`), where it is one that bounds it (`RANGES`); else None."""
    for node in walk(loss, COMBINING):
        if not node.name().startswith("MseLossBackward"):
            continue
        if getattr(node, "_saved_reduction", None) != MEAN:
            return None
        below = _below(_input(node), (*RESHAPES, "ToCopyBackward"))
        if below is not None:
            return next((kind for kind in RANGES if below.name().startswith(kind)), None)
    return None


def bounds(output: torch.Tensor, bound: str | None) -> bool:
    """Whether the model's `output` is what the activation `bound` (`bounded_regression`)
    made, through reshapes: one a loop applies to the outputs itself (`mse_loss(sigmoid(
    model(x)), y)`) has outputs that are no values of its range."""
    if bound is None:
        return False
    node = _below(output.grad_fn, (*RESHAPES, "ToCopyBackward"))
    return node is not None and node.name().startswith(bound)


def beyond_share(
    output: torch.Tensor, grad: torch.Tensor, bound: str, loss: torch.Tensor
) -> torch.Tensor:
    """The share of the targets beyond the range of `bound` by `MARGIN` of their RMS, read as
    a mean squared error gives them: each is the output less its residual, the gradient
    times the outputs' count / 2. NaN unless the residuals' mean square is the `loss`
    (within `SELF_CHECK`): another term of the loss that reads the outputs (an L1 or a
    perceptual term beside the MSE) adds to their gradient, and the targets read from it
    are no targets."""
    if output.shape != grad.shape or not output.numel():
        return torch.full((), math.nan, device=grad.device)
    residuals = grad.float() * (output.numel() / 2)
    targets = output.float() - residuals
    _, lowest, highest = RANGES[bound]
    margin = MARGIN * torch.linalg.vector_norm(targets) / math.sqrt(targets.numel())
    share = ((targets < lowest - margin) | (targets > highest + margin)).float().mean()
    mse, value = residuals.square().mean(), loss.detach().float().to(share.device)
    alone = (mse - value).abs() <= SELF_CHECK * value.abs().clamp_min(1e-12)
    return torch.where(alone, share, math.nan)


def bounded_output(h: ProbeHistory, epoch: int, step: int) -> Finding | None:
    """`BEYOND_SHARE` of the targets or more beyond what the output activation lets the
    network predict, at each of the last `PROBES` probes that read them; judged at an
    epoch's end."""
    if h.output_bound is None:
        return None
    shares = [s for s in h.beyond_bound if math.isfinite(s)][-PROBES:]
    if len(shares) < PROBES or min(shares) < BEYOND_SHARE:
        return None
    name, lowest, highest = RANGES[h.output_bound]
    share = statistics.median(shares)
    span = f"below {lowest:g}" if highest == math.inf else f"outside ({lowest:g}, {highest:g})"
    return epoch_finding(
        "bounded_output",
        "error",
        (
            f"The outputs pass through a {name} after the last layer, but {share:.0%} of the "
            f"targets the mean squared error compares them with lie {span}: the network can "
            f"never predict those, whatever it learns."
        ),
        epoch=epoch,
        step=step,
        evidence={"activation": name, "share_beyond": round(share, 4), "range": span},
        trainer_fix=TRAINER_FIX,
        data_at_hand=h.data_at_hand,
    )
