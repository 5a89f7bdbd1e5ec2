"""A gradient-free attack: random search in the spirit of the Square attack (Andriushchenko
et al., ECCV 2020). It only reads the model's outputs, so masked or shattered gradients do
not stop it; if it fools rows that PGD could not, the gradient attacks are being misled.

Each query proposes, for every row still classified correctly, new values for a random
share of the input elements (L∞: a corner of the ε-box; L2: a Gaussian step, back to the
ε-sphere), and keeps the proposal when the margin (true logit minus the best other logit)
drops. The share shrinks as the search goes on.
"""

from __future__ import annotations

import torch
from torch import nn

from ..train import Box, Norm
from ..train._adversarial import clamp_delta, random_point, row_norms

FIRST_SHARE = 0.3  # of the input elements changed by the first proposals (Square's p_init)
LAST_SHARE = 0.02


@torch.no_grad()
def random_search(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    box: Box,
    eps: float,
    *,
    norm: Norm = "linf",
    queries: int = 300,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Adversarial versions of `x` found with `queries` model evaluations per row."""
    low, high = torch.minimum(box.low, x), torch.maximum(box.high, x)
    delta = _start(x, eps, norm, generator)
    delta = clamp_delta(x, delta, box.scale, low, high)
    margin = _margin(model(x + delta * box.scale), y)
    for i in range(queries):
        todo = (margin > 0).nonzero().flatten()
        if not len(todo):
            break
        share = FIRST_SHARE + (LAST_SHARE - FIRST_SHARE) * i / max(1, queries - 1)
        d = delta[todo]
        chosen = torch.rand(d.shape, generator=generator).to(d.device) < share
        if norm == "linf":
            corner = _signs(d.shape, generator).to(d.device) * eps
            proposal = torch.where(chosen, corner, d)
        else:
            step = torch.randn(d.shape, generator=generator).to(d.device) * chosen
            step = step * (eps * share) / row_norms(step).clamp(min=1e-12)
            proposal = d + step
            proposal = proposal * eps / row_norms(proposal).clamp(min=1e-12)  # onto the sphere
        xs = x[todo]
        proposal = clamp_delta(xs, proposal, box.scale, low[todo], high[todo])
        tried = _margin(model(xs + proposal * box.scale), y[todo])
        better = tried < margin[todo]
        delta[todo[better]] = proposal[better]
        margin[todo[better]] = tried[better]
    return x + delta * box.scale


def _start(x: torch.Tensor, eps: float, norm: Norm, generator: torch.Generator | None):
    if norm == "linf":  # a random corner of the box, as Square starts
        return _signs(x.shape, generator).to(x.device) * eps
    point = random_point(x, eps, norm)
    return point * eps / row_norms(point).clamp(min=1e-12)


def _signs(shape: torch.Size, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=generator).float() * 2 - 1


def _margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    true = logits.gather(1, y[:, None]).squeeze(1)
    other = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    return true - other
