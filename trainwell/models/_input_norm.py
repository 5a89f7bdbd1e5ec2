"""`model.input_norm`: the inputs standardised inside the network, as StandardScaler would."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

# A feature whose spread is below this fraction of its mean is taken as constant (float32
# rounding leaves a spread of ~1e-8 of the mean on a value repeated over a batch).
_CONSTANT = 1e-6


class InputNorm(nn.modules.batchnorm._BatchNorm):
    """Standardise each feature (an image's channel) by the mean and variance of all the
    training inputs seen so far, the same way in training and evaluation, then scale and
    shift it by learned weights.

    Batch norm with a fixed eps shrinks a feature measured in small units (a concentration
    of std 1e-3 comes out 1000x too small under eps 1, the network cannot read it), and
    with a small eps blows up a feature constant in training the moment it varies. Here the
    spread divides exactly, and a feature constant in training is only centred, as
    StandardScaler leaves it. Its state dict is batch norm's: a model saved before this
    module existed (torch's BatchNorm with eps 1) loads and computes as it did.
    """

    _version = 3  # 2: torch's batch norm, which `input_norm` was, with eps 1

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, eps=0.0, momentum=None)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() not in (2, 4):
            raise ValueError(f"expected a table (2D) or images (4D), got {input.dim()}D input")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        if self.legacy:
            return F.batch_norm(
                x, self.running_mean, self.running_var, self.weight, self.bias,
                self.training, 0.1, 1.0,
            )  # fmt: skip
        if self.training:
            self._update(x)
        shape = (1, -1) + (1,) * (x.dim() - 2)
        mean, var = self.running_mean, self.running_var
        constant = var <= (_CONSTANT * mean).square()
        scale = torch.where(constant, 1.0, var.clamp_min(torch.finfo(var.dtype).tiny).rsqrt())
        return (x - mean.view(shape)) * (scale * self.weight).view(shape) + self.bias.view(shape)

    @torch.no_grad()
    def _update(self, x: torch.Tensor) -> None:
        """Fold the batch into the running mean and variance, every batch weighted alike
        (Chan et al.'s pairwise merge: the spread within the batches and between them)."""
        dims = [0, *range(2, x.dim())]
        batch_var, batch_mean = torch.var_mean(x.detach(), dim=dims, correction=0)
        self.num_batches_tracked += 1
        k = self.num_batches_tracked.double()  # the first batch replaces the start values
        delta = batch_mean - self.running_mean
        # the weights in float64, then cast: a float16 count is inf past 65,504 batches
        weight, cross = (1 / k).to(delta.dtype), ((k - 1) / k**2).to(delta.dtype)
        self.running_var.add_((batch_var - self.running_var) * weight + delta.square() * cross)
        self.running_mean.add_(delta * weight)

    @property
    def legacy(self) -> bool:
        """Computes as torch's BatchNorm with eps 1 did, for a model saved with one: kept
        through saving again (its state dict says version 2) and through a state dict
        without the version (a copy of the weights, as best weights are kept)."""
        return self._version < 3

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, local_metadata: dict[str, Any], *args: Any
    ) -> None:
        version = local_metadata.get("version")
        if version is not None:
            self._version = min(version, InputNorm._version)  # read by state_dict() too
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args)
