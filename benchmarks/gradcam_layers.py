"""Where to compute Grad-CAM on the defect case: the pointing game per layer and variant.

The case of `benchmarks/transfer.py` (fine-tuned resnet [8, 16, 32], class_weights, 400
woven images; pointing game on the correctly detected defects of 2000 held-out images),
with the saliency computed at each residual stage (32x32, 16x16, 8x8 on 32x32 images) as
Grad-CAM (Selvaraju et al., ICCV 2017) measured from zero (plain) and from the training
images' mean activation (what `--method gradcam` does), LayerCAM (Jiang et al., IEEE TIP
2021), the LayerCAM fusion of all stages (tanh scaling of the shallow ones, gamma 2), and Guided
Grad-CAM (the Grad-CAM paper's fine variant: guided backprop times Grad-CAM). The current
`--method gradcam` is Grad-CAM from the reference at the last stage (`gradcam_layer`),
checked equal here.

Run: python benchmarks/gradcam_layers.py [--seeds 5] [--quick]
"""

from __future__ import annotations

import statistics
import sys

import numpy as np
import torch
import torch.nn.functional as F
import transfer

from trainwell.explain._attribute import (
    attribute,
    captum_attr,
    grad_cam,
    gradcam_layer,
    per_position,
)
from trainwell.explain._data import reference_images
from trainwell.explain._pointing import pointing_game
from trainwell.models._resnet import ResidualBlock

SCORES: dict[str, list[float]] = {}
BY_KIND: dict[str, list[dict[str, float]]] = {}


def _gradcam(model, layer, X, targets, reference=None) -> np.ndarray:
    """Grad-CAM at `layer`, as `--method gradcam` computes it at the last stage."""
    cam = grad_cam(model, layer, reference, X.shape[2:])
    maps = [cam(X[i : i + 64], targets[i : i + 64]).detach() for i in range(0, len(X), 64)]
    return per_position(torch.cat(maps).numpy()).reshape(len(X), *X.shape[2:])


def _layercam(model, layer, X, targets) -> np.ndarray:
    """LayerCAM: each place's positive gradient times its activation (Jiang et al. 2021)."""
    seen = {}
    hook = layer.register_forward_hook(lambda m, i, o: seen.__setitem__("a", o))
    maps = []
    for start in range(0, len(X), 64):
        logits = model(X[start : start + 64])
        a = seen["a"]
        (g,) = torch.autograd.grad(logits.gather(1, targets[start : start + 64, None]).sum(), a)
        cam = F.relu((F.relu(g) * a).sum(1, keepdim=True))
        maps.append(F.interpolate(cam, X.shape[2:], mode="bilinear").squeeze(1).detach())
    hook.remove()
    return torch.cat(maps).numpy()


def _unit(m: np.ndarray) -> np.ndarray:
    flat = m.reshape(len(m), -1)
    low, high = flat.min(1)[:, None, None], flat.max(1)[:, None, None]
    return (m - low) / (high - low + 1e-12)


def _pointing(run, X: torch.Tensor, predicted: np.ndarray, held) -> dict:
    model = run.model.cpu().eval()
    rows = np.flatnonzero((held.y > 0) & (predicted == held.y))[:400]
    x, t = X[rows], torch.from_numpy(predicted[rows])
    stages = [m.act2 for m in model.modules() if isinstance(m, ResidualBlock)]
    reference = reference_images(run)
    shipped = attribute(model, x, t, "gradcam", reference=reference)
    maps = {"--method gradcam": per_position(shipped).reshape(len(rows), *X.shape[2:])}
    for i, stage in enumerate(stages):
        side = x.shape[2] >> i
        maps[f"gradcam stage {i} ({side}px)"] = _gradcam(model, stage, x, t)
        maps[f"layercam stage {i} ({side}px)"] = _layercam(model, stage, x, t)
        maps[f"gradcam from ref, stage {i} ({side}px)"] = _gradcam(model, stage, x, t, reference)
    layer = [_unit(maps[f"layercam stage {i} ({x.shape[2] >> i}px)"]) for i in range(len(stages))]
    maps["layercam fused"] = sum(np.tanh(2 * m) for m in layer[:-1]) + layer[-1]
    guided = captum_attr().GuidedGradCam(model, gradcam_layer(model))
    fine = guided.attribute(x.clone().requires_grad_(), target=t).detach()
    maps["guided gradcam"] = fine.abs().sum(1).numpy()
    games = {
        name: pointing_game(m, held.masks[rows], held.y[rows], predicted[rows], held.classes)
        for name, m in maps.items()
    }
    for name, game in games.items():
        SCORES.setdefault(name, []).append(game.score)
        BY_KIND.setdefault(name, []).append(game.by_class)
    shipped = games["--method gradcam"]  # what `trainwell explain` uses, as transfer.py shows
    return {
        "pointing": shipped.score,
        "pointing_chance": shipped.chance,
        "by_kind": shipped.by_class,
    }


def main() -> None:
    transfer._pointing = _pointing
    transfer.ARMS = (("fine-tuned, class_weights", True, ["class_weights"]),)
    sys.argv = [sys.argv[0], "--only", "case", *sys.argv[1:]]
    transfer.main()
    for name, scores in SCORES.items():
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        kinds = {
            k: round(statistics.fmean(b[k] for b in BY_KIND[name]), 3) for k in BY_KIND[name][0]
        }
        print(f"{name:26s} {statistics.fmean(scores):.3f} ± {spread:.3f}  {kinds}")


if __name__ == "__main__":
    main()
