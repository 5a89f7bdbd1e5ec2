"""The model as the explanation sees it: scores in chunks, without gradients."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

_BATCH = 2048


@torch.no_grad()
def outputs(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Raw outputs (logits, or values for regression), in chunks of rows."""
    return torch.cat([model(X[i : i + _BATCH]).float() for i in range(0, len(X), _BATCH)])


def probabilities(model: nn.Module, X: torch.Tensor) -> np.ndarray:
    return torch.softmax(outputs(model, X), dim=1).numpy()


def score(model: nn.Module, X: torch.Tensor, y: np.ndarray, task: str) -> float:
    """Accuracy for classification, R² (on the model's standardised scale) for regression."""
    out = outputs(model, X).numpy()
    if task == "classification":
        return float((out.argmax(1) == y).mean())
    total = float(((y - y.mean()) ** 2).sum()) or 1.0
    return 1.0 - float(((y - out) ** 2).sum()) / total
