"""`Run`: what a fit gives back, and `load_run` to get a trained model back from disk."""

from __future__ import annotations

import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..config import RunConfig, load_config
from ..data import DataInfo, fill_missing, frame_features, standardise
from ..errors import InputError
from ..findings import Finding
from ..health import swap_relus, swapped_relus
from ..models import build_model
from ..runs import read_json


@dataclass
class Run:
    """A finished (or loaded) run: its directory, outcome, findings and trained model."""

    run_dir: Path
    status: str
    metrics: dict[str, Any]
    findings: list[Finding]
    repairs: list[dict[str, Any]]
    config: RunConfig
    model: nn.Module
    info: DataInfo | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    cv: dict[str, Any] | None = None  # train.cv_folds: per-fold val metrics, mean and std

    def summary(self) -> dict[str, Any]:
        """The `--json` object of DESIGN.md (non-finite numbers become null), plus `cv`."""
        summary = {
            "run_dir": str(self.run_dir),
            "status": self.status,
            "metrics": {k: finite_or_none(v) for k, v in self.metrics.items()},
            "findings": [f.to_dict() for f in self.findings],
            "repairs": self.repairs,
        }
        if self.cv is not None:
            summary["cv"] = self.cv
        return summary

    def predict(self, X: np.ndarray | torch.Tensor | pd.DataFrame) -> np.ndarray:
        """Class ids (classification) or values (regression) for raw, unstandardised inputs:
        an array in `data.json`'s feature order, or a DataFrame of the training file's
        columns (picked by name, text columns encoded as in training)."""
        out = self.outputs(X)
        if self.info.task == "classification":
            return out.argmax(1).numpy()
        return (out * self.info.y_std + self.info.y_mean).numpy()

    @torch.no_grad()
    def outputs(self, X: np.ndarray | torch.Tensor | pd.DataFrame) -> torch.Tensor:
        """The model's raw outputs on the CPU (logits; standardised values for regression) for
        raw inputs, standardised as in training: what `predict` and the service read."""
        if self.info is None:
            raise ValueError("this run has no data description; predict with run.model directly")
        if isinstance(X, pd.DataFrame) and self.info.feature_names:
            X, _ = frame_features(X, self.info, "the DataFrame")
        X = np.asarray(X.cpu() if isinstance(X, torch.Tensor) else X, dtype=np.float32)
        if self.info.fill is not None:  # trained with `impute`: filled as training was
            X, _ = fill_missing(X, self.info)
        elif not np.isfinite(X).all():  # NaN in, NaN out: class 0 without a word
            rows = np.flatnonzero(~np.isfinite(X.reshape(len(X), -1)).all(axis=1))
            raise InputError(
                f"{len(rows)} input rows hold missing or infinite values (first: row "
                f"{rows[0]}): fill them, or train with data.remedies: [impute], whose "
                "medians predict then fills them with"
            )
        X = torch.from_numpy(standardise(X, self.info))
        device = next(self.model.parameters()).device
        self.model.eval()
        return self.model(X.to(device)).float().cpu()


def own_model_refusal(run_dir: Path) -> str:
    """What a run of the user's own module takes: the module, from Python; the verbs that
    load a run by its path alone (serve, monitor, retrain, the registry) cannot."""
    own = run_dir / "own_model.json"
    qualname = (read_json(own).get("class") if own.is_file() else None) or "YourModule"
    name = qualname.rsplit(".", 1)[-1]  # a class defined in a function: "f.<locals>.Net"
    return (
        f"{run_dir} trained your own nn.Module ({name}): load it from Python with "
        f"load_run(path, {name}()) and pass that Run to explain, attack or compress; serve, "
        "monitor, retrain and the registry need a network trainwell builds from the config"
    )


def load_run(path: str | Path, model: nn.Module | None = None) -> Run:
    """Load a run's trained model for inference, without running any pickled code.

    `model.pt` holds a state dict plus the config and data description, read with
    `torch.load(weights_only=True)`. Pass `model` when the run trained your own module.
    """
    run_dir = Path(path)
    model_file = run_dir / "model.pt"
    if not model_file.is_file():
        raise InputError(f"{run_dir} has no model.pt: is it a finished trainwell run?")
    try:
        saved = torch.load(model_file, map_location="cpu", weights_only=True)
    except (RuntimeError, OSError, EOFError, pickle.UnpicklingError) as exc:  # pickled code
        raise InputError(f"cannot load {model_file}: {exc}".splitlines()[0]) from None
    config = load_config(saved["config"])
    info = DataInfo(**saved["data"]) if saved.get("data") else None
    summary_file = run_dir / "summary.json"
    summary = read_json(summary_file) if summary_file.is_file() else {}
    if model is None:
        if saved.get("custom_model"):
            raise InputError(own_model_refusal(run_dir))
        model = build_model(
            config.model, info.input_shape, info.n_outputs, regression=info.task == "regression"
        )
    elif saved.get("custom_model"):  # as the doctor changed it in place (its weights load)
        swap_relus(model, swapped_relus(summary.get("repairs", [])))
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as exc:  # torch lists every key and shape that differs
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        raise InputError(
            f"the {type(model).__name__} given does not fit the weights in {model_file}: "
            f"{lines[1] if len(lines) > 1 else lines[0]}"
        ) from None
    model.eval()
    findings = [Finding.from_dict(f) for f in summary.get("findings", [])]
    return Run(
        run_dir,
        summary.get("status", "unknown"),
        summary.get("metrics", {}),
        findings,
        summary.get("repairs", []),
        config,
        model,
        info,
    )


def finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
