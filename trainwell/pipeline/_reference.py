"""`reference.npz`: what monitoring a deployed model compares new data against, written at
the end of fit so that monitoring needs nothing but the run (or its registry copy).

It holds a bounded sample of training rows in source units (tables), the penultimate-layer
embedding of a sample of training images, the model's logits on the validation split
with a temperature fitted there (so that label-free performance estimates read calibrated
probabilities), and the test split's accuracy counts.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from scipy import optimize, special
from torch import nn

from ..data import DataInfo, Dataset
from ..runs import atomic_write

SAMPLE_ROWS = 5000  # training rows kept for the per-feature and multivariate tests
EMBEDDED_ROWS = 2000  # training images whose embedding is kept
BATCH = 1024


def write_reference(run_dir: Path, model: nn.Module, data: Dataset, seed: int) -> None:
    """Write `run_dir/reference.npz` (a few hundred KB) for `trainwell monitor`."""
    buffer = io.BytesIO()
    # zlib's fastest level: 5x quicker than `np.savez_compressed`'s default, 30% larger
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in reference_arrays(model, data, seed).items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    atomic_write(Path(run_dir) / "reference.npz", buffer.getvalue())


def reference_arrays(model: nn.Module, data: Dataset, seed: int) -> dict[str, np.ndarray]:
    """The arrays of `reference.npz`, from standardised splits and the trained model."""
    info = data.info
    rng = np.random.default_rng(seed)
    train = data.train
    keep = np.sort(rng.choice(len(train), min(len(train), SAMPLE_ROWS), replace=False))
    arrays: dict[str, np.ndarray] = {"rows": train.rows[keep], "y": _target(train.y[keep], info)}
    if train.X.ndim == 2:
        arrays["X"] = raw_units(train.X[keep], info)
    else:
        few = keep[: min(len(keep), EMBEDDED_ROWS)]
        arrays["embedding"] = embed(model, train.X[few])
        arrays["embedding_y"] = train.y[few]
    outputs = _outputs(model, data.val.X)
    arrays["val_y"] = _target(data.val.y, info)
    if info.task == "classification":
        arrays["val_logits"] = outputs
        arrays["temperature"] = np.float64(fit_temperature(outputs, data.val.y))
        test = _outputs(model, data.test.X).argmax(1)
        arrays["test_counts"] = np.array([int((test == data.test.y).sum()), len(test)])
    else:
        arrays["val_predictions"] = _target(outputs.reshape(-1), info)
    return arrays


def raw_units(X: np.ndarray, info: DataInfo) -> np.ndarray:
    """Standardised table rows back in source units (what users send and see), on the
    grid of `on_grid`: float32's round trip turns a pixel's 3 into 2.9999998, and a KS test
    against the exact 3s users send would see a huge shift that is not there."""
    if info.x_mean is None:
        return X.astype(np.float32)
    std = np.asarray(info.x_std, np.float64)
    return on_grid(X.astype(np.float64) * std + np.asarray(info.x_mean, np.float64), info)


def on_grid(X: np.ndarray, info: DataInfo) -> np.ndarray:
    """Table rows rounded to 1e-4 of each feature's training spread. The reference is
    stored on this grid and monitored rows are put on it too, so that a value the training
    data held (an integer, a code) compares equal on both sides, while a difference of
    1e-4 standard deviations changes no test."""
    if info.x_std is None or X.ndim != 2:
        return np.asarray(X, np.float32)
    std = np.maximum(np.asarray(info.x_std, np.float64), 1e-12)
    places = np.clip(-np.floor(np.log10(std * 1e-4)), 0, 12).astype(int)
    out = np.asarray(X, np.float64).copy()
    for j, p in enumerate(places):
        out[:, j] = np.round(out[:, j], p)
    return out.astype(np.float32)


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature scaling (Guo et al., 2017): the T minimising the validation NLL of
    softmax(logits / T), searched on log T in [-3, 3]; 1.0 when there is nothing to fit."""
    if len(y) < 2:
        return 1.0
    y = np.asarray(y, dtype=np.int64)

    def nll(log_t: float) -> float:
        return float(
            -special.log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(y)), y].mean()
        )

    found = optimize.minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(found.x))


def calibrated(logits: np.ndarray, temperature: float) -> np.ndarray:
    return special.softmax(np.asarray(logits, np.float64) / temperature, axis=1)


@torch.no_grad()
def embed(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """The input of the model's last linear layer: what the network has made of an image."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    seen: list[torch.Tensor] = []
    handle = last.register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0].cpu()))
    try:
        _outputs(model, X)
    finally:
        handle.remove()
    return torch.cat(seen).float().numpy() if seen else np.empty((0, 0), np.float32)


@torch.no_grad()
def _outputs(model: nn.Module, X: np.ndarray) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    chunks = [
        model(torch.from_numpy(X[i : i + BATCH]).to(device)).float().cpu()
        for i in range(0, len(X), BATCH)
    ]
    return torch.cat(chunks).numpy() if chunks else np.empty((0,), np.float32)


def _target(y: np.ndarray, info: DataInfo) -> np.ndarray:
    if info.task == "regression":
        return (np.asarray(y, np.float64) * info.y_std + info.y_mean).astype(np.float32)
    return np.asarray(y, np.int64)
