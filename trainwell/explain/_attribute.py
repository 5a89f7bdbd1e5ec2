"""Attributions: which inputs drove each prediction, by five methods (four on Captum;
Grad-CAM here, measured from a reference, which Captum's has no place for).

Captum is imported here, on first use, so `import trainwell` stays light and a missing
extra is one line naming it. Rows go through in chunks and Integrated Gradients expands
each chunk in bounded internal batches (`internal_batch_size`): its `n_steps`-fold
expansion is Captum users' first out-of-memory complaint (captum #538).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError

METHODS = ("ig", "saliency", "smoothgrad", "occlusion", "gradcam")
NAMES = {
    "ig": "Integrated Gradients",
    "saliency": "Saliency",
    "smoothgrad": "SmoothGrad",
    "occlusion": "Occlusion",
    "gradcam": "Grad-CAM",
}
IG_STEPS = 32
INTERNAL_BATCH = 1024  # rows x steps that one backward pass of Integrated Gradients holds
CHUNK = 128  # rows attributed per call (progress advances per chunk)


def captum_attr() -> ModuleType:
    try:
        import captum.attr
    except ImportError:
        raise InputError('explain needs Captum: pip install "trainwell[explain]"') from None
    return captum.attr


def check_method(method: str, model: nn.Module, is_image: bool) -> None:
    """A method that does not fit the model is bad input, found before anything runs."""
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}; got {method!r}")
    if method == "gradcam" and (last_conv(model) is None or not is_image):
        raise InputError(
            "--method gradcam needs a convolutional model on images; this run's model has "
            "no Conv2d layer over image inputs (use ig, saliency, smoothgrad or occlusion)"
        )


def last_conv(model: nn.Module) -> nn.Module | None:
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1] if convs else None


_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU, nn.Tanh, nn.Sigmoid)


def gradcam_layer(model: nn.Module) -> nn.Module | None:
    """The output of the last convolutional block: the activation that follows the last
    Conv2d (before any pooling or dense layer) when the model has it as a module, else the
    Conv2d itself. On the bars benchmark the activation points into the patch 92% of the
    time, the raw convolution 58%: Grad-CAM is defined on rectified feature maps."""
    modules = list(model.modules())
    conv = last_conv(model)
    if conv is None:
        return None
    for module in modules[modules.index(conv) + 1 :]:
        if isinstance(module, _ACTIVATIONS):
            return module
        if isinstance(module, (nn.Linear, nn.Flatten, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            break
    return conv


def attribute(
    model: nn.Module,
    X: torch.Tensor,
    targets: torch.Tensor | None,
    method: str,
    advance: Callable[[int], None] = lambda n: None,
    reference: torch.Tensor | None = None,
) -> np.ndarray:
    """Attributions of the shape of `X` for each row's `targets` (None for regression);
    the baseline is 0: the training mean once inputs are standardised. `reference`:
    training images, Grad-CAM's reference (None: measured from zero, plain Grad-CAM)."""
    explain = _explainer(model, method, X, reference)
    parts = []
    for start in range(0, len(X), CHUNK):
        x = X[start : start + CHUNK].clone().requires_grad_()  # Captum warns otherwise
        target = None if targets is None else targets[start : start + CHUNK]
        parts.append(explain(x, target).detach().float().cpu().numpy())
        advance(len(x))
    return np.concatenate(parts) if parts else np.zeros(tuple(X.shape), np.float32)


def _explainer(
    model: nn.Module, method: str, X: torch.Tensor, reference: torch.Tensor | None
) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    attr = captum_attr()
    if method == "ig":
        ig = attr.IntegratedGradients(model)
        return lambda x, t: ig.attribute(
            x, baselines=0.0, target=t, n_steps=IG_STEPS, internal_batch_size=INTERNAL_BATCH
        )
    if method == "saliency":
        saliency = attr.Saliency(model)
        return lambda x, t: saliency.attribute(x, target=t, abs=True)
    if method == "smoothgrad":
        tunnel = attr.NoiseTunnel(attr.Saliency(model))
        return lambda x, t: tunnel.attribute(
            x, nt_type="smoothgrad", nt_samples=16, nt_samples_batch_size=8, stdevs=0.2, target=t
        )
    if method == "occlusion":
        occlusion = attr.Occlusion(model)
        window, strides = _occlusion_window(X)
        return lambda x, t: occlusion.attribute(
            x, sliding_window_shapes=window, strides=strides, baselines=0.0, target=t,
            perturbations_per_eval=16,
        )  # fmt: skip
    return grad_cam(model, gradcam_layer(model), reference, X.shape[2:])


def grad_cam(
    model: nn.Module, layer: nn.Module, reference: torch.Tensor | None, size: tuple[int, ...]
) -> Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]:
    """Grad-CAM (Selvaraju et al. 2017) measured from a reference: each channel's mean
    gradient times how far its activation lies from the reference images' mean activation
    at that place, summed, rectified, upsampled. Plain Grad-CAM measures from zero, which
    cannot point at an absence (a missing print: the units that see the print are silent,
    as they are wherever there is no print); the difference from a typical image can, as
    the baselines of Integrated Gradients and DeepLIFT do for inputs. Pointing game on the
    defect case: 0.87 plain, 0.94 measured from the training images."""
    baseline = 0.0 if reference is None else _mean_activation(model, layer, reference)

    def cam(x: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
        activation, out = _layer_output(model, layer, x)
        if t is None:
            score = out.reshape(len(out), -1).sum(1)
        else:
            score = out.gather(1, t.to(out.device)[:, None])
        (gradient,) = torch.autograd.grad(score.sum(), activation)
        weights = gradient.mean((2, 3), keepdim=True)
        coarse = F.relu((weights * (activation - baseline)).sum(1, keepdim=True))
        fine = F.interpolate(coarse, size, mode="bilinear")
        return fine.expand_as(x) / x.shape[1]

    return cam


def _layer_output(
    model: nn.Module, layer: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's last feature map in the forward pass of `x`, and the model's output (a
    module used more than once, such as one ReLU for every layer, runs after the dense
    layers too: their flat outputs are not maps). The rest of the model gets a copy, as in
    Captum, so that an in-place operation after the layer (`y += x`) leaves the map as
    the layer made it."""
    seen: list[torch.Tensor] = []

    def keep(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor:
        seen.append(output)
        return output.clone()

    hook = layer.register_forward_hook(keep)
    try:
        out = model(x)
    finally:
        hook.remove()
    maps = [a for a in seen if a.dim() == 4]
    if not maps:
        raise InputError(
            f"--method gradcam reads the output of {type(layer).__name__} after the last "
            "Conv2d, and this model never gives it a feature map (use ig, saliency, "
            "smoothgrad or occlusion)"
        )
    return maps[-1], out


def _mean_activation(model: nn.Module, layer: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The layer's activation averaged over `images` (on the model's device, in its dtype;
    summed in float32), per channel and place."""
    weight = next(model.parameters(), None)
    device, dtype = (weight.device, weight.dtype) if weight is not None else ("cpu", None)
    with torch.no_grad():
        sums = [
            _layer_output(model, layer, chunk.to(device, dtype))[0].float().sum(0, keepdim=True)
            for chunk in images.split(CHUNK)
        ]
    return torch.cat(sums).sum(0, keepdim=True) / len(images)


def _occlusion_window(X: torch.Tensor) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """One input at a time for tables; square patches of an eighth of the side (at least
    2 pixels, half-overlapping) over all channels for images."""
    if X.ndim != 4:
        return (1,), (1,)
    channels, height, width = X.shape[1:]
    side = max(2, min(height, width) // 8)
    step = max(1, side // 2)
    return (channels, side, side), (channels, step, step)


def per_position(attributions: np.ndarray) -> np.ndarray:
    """One score per deletable unit: an input of a table, a pixel (channels summed) of an image."""
    if attributions.ndim == 4:
        return attributions.sum(1).reshape(len(attributions), -1)
    return attributions.reshape(len(attributions), -1)
