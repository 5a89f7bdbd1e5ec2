"""What the doctor watches in a model: the layers with weights, from input to output, and
the activation modules, each with the axis its units lie along."""

from __future__ import annotations

from torch import nn
from torch.nn.utils import parametrize

ACTIVATION_KINDS: dict[type[nn.Module], str] = {
    nn.ReLU: "relu",
    nn.LeakyReLU: "leaky_relu",
    nn.GELU: "gelu",
    nn.Tanh: "tanh",
    nn.Sigmoid: "sigmoid",
}


def weighted_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(layer name, weight) of every layer whose weight is a matrix or a conv kernel; for a
    model with none named `weight` (weight or spectral norm parametrizations, matrices held
    as raw `nn.Parameter`s), every trainable parameter with two dimensions or more."""
    found = []
    for name, module in model.named_modules():
        weight = _stepped_weight(module)
        if isinstance(weight, nn.Parameter) and weight.dim() > 1 and weight.requires_grad:
            found.append((name, weight))
    return found or [
        (name, p) for name, p in model.named_parameters() if p.dim() > 1 and p.requires_grad
    ]


def _stepped_weight(module: nn.Module) -> object:
    """The weight the optimizer steps: a parametrized one's original (spectral norm's; weight
    norm's direction), read without computing the weight, which in training mode runs
    spectral norm's power iteration: the doctor, reading it, changed the run it watched."""
    if not parametrize.is_parametrized(module, "weight"):
        return getattr(module, "weight", None)
    tensors = module.parametrizations.weight
    original = getattr(tensors, "original", None)
    return original if original is not None else getattr(tensors, "original1", None)


def activation_modules(model: nn.Module) -> list[tuple[str, str, nn.Module, int]]:
    """(name, kind, module, unit axis) of every activation module. The units are the
    features of the layer before it (in the order the model holds its modules): a linear
    layer's (or a recurrent layer's, or an embedding's) are its output's last axis — a
    sequence's (batch, time, features) included — a convolution's its channels, axis 1."""
    found, axis = [], 1
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear | nn.RNNBase | nn.Embedding):
            axis = -1
        elif isinstance(module, nn.modules.conv._ConvNd):
            axis = 1
        elif type(module) in ACTIVATION_KINDS:
            found.append((name, ACTIVATION_KINDS[type(module)], module, axis))
    return found
