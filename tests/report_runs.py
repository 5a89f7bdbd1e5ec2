"""Synthetic run directories for the report tests: each kind of run the page must render,
written as `fit` writes them, without training anything."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

_CLASSES = ["0", "1", "2"]


def _config(source: str = "iris", mode: str = "detect") -> dict[str, Any]:
    return {
        "seed": 0,
        "data": {"source": source},
        "model": {"arch": "mlp", "hidden": [16, 16], "activation": "sigmoid"},
        "train": {"optimizer": "sgd", "lr": 0.01, "epochs": 6},
        "doctor": {"mode": mode},
    }


def _finding(code: str, **fields: Any) -> dict[str, Any]:
    finding = {
        "code": code,
        "severity": "error",
        "source": "training",
        "message": f"{code} happened.",
        "evidence": {},
        "epoch": 0,
        "step": 4,
        "layer": None,
        "remedy": None,
        "resolved": False,
    }
    return {**finding, **fields}


def _health(layers: list[str], kind: str, steps: list[int], scale: float) -> dict[str, Any]:
    acts = [f"act.{i}" for i in range(len(layers) - 1)]
    n = len(layers)
    return {
        "layers": layers,
        "activations": acts,
        "activation_kinds": [kind] * len(acts),
        "steps": steps,
        "epochs": [s // 10 for s in steps],
        "loss": [1.0] * len(steps),
        "grad_norm": [[scale * 10.0 ** (i - n) for i in range(n)] for _ in steps],
        "update_ratio": [[1e-3] * n for _ in steps],
        "dead": [[0.1] * len(acts) if kind == "relu" else [None] * len(acts) for _ in steps],
        "saturated": [
            [0.8] * len(acts) if kind == "sigmoid" else [None] * len(acts) for _ in steps
        ],
    }


def write_run(root: Path, kind: str) -> Path:
    """kind: healthy | repaired | diverged | regression | data | interrupted."""
    run = root / f"{kind}-run"
    run.mkdir(parents=True)
    regression = kind == "regression"
    config = _config(
        "diabetes" if regression else "iris", "repair" if kind == "repaired" else "detect"
    )
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    if kind == "interrupted":
        return run
    epochs = 3 if kind == "diverged" else 6
    rows = []
    for epoch in range(epochs):
        loss = math.nan if kind == "diverged" and epoch == 2 else 1.0 / (epoch + 1)
        row = {
            "epoch": epoch,
            "train_loss": None if math.isnan(loss) else loss,
            "val_loss": None if math.isnan(loss) else loss * 1.1,
            "lr": 0.01,
        }
        if regression:
            row.update(val_mse=100.0 / (epoch + 1), val_mae=9.0, val_r2=0.1 * epoch)
        else:
            row.update(val_accuracy=0.5 + 0.08 * epoch, val_macro_f1=0.45 + 0.08 * epoch)
        rows.append(row)
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    metrics: dict[str, Any] = {
        "train_loss": 0.2,
        "val_loss": 0.25,
        "epochs": epochs,
        "best_epoch": epochs - 1,
        "seconds": 0.5,
        "samples_per_second": 1000.0,
    }
    if regression:
        metrics.update(test_loss=0.5, test_mse=90.0, test_mae=8.0, test_r2=0.45)
    else:
        metrics.update(test_loss=0.3, test_accuracy=0.9, test_macro_f1=0.89)
    findings, repairs, status = [], [], "completed"
    if kind == "diverged":
        status, metrics["test_accuracy"] = "diverged", None
        health = _health(["net.0", "net.2"], "relu", [0, 10, 20, 25], 1.0)
        health["loss"] = [2.3, 40.0, 9e5, None]
        (run / "health.json").write_text(json.dumps([health]))
        findings = [_finding("divergence", epoch=2, step=25, evidence={"loss": None, "lr": 5.0})]
    if kind == "repaired":
        findings = [
            _finding(
                "vanishing_gradient",
                layer="net.0",
                remedy="relu_activation",
                resolved=True,
                evidence={
                    "ratio_first_to_last": 1e-7,
                    "layers": ["net.0", "net.2"],
                    "grad_norms": [1e-8, 0.1],
                },
            )
        ]
        repairs = [
            {
                "step": 4,
                "epoch": 0,
                "remedy": "relu_activation",
                "finding": "vanishing_gradient",
                "changed": "model.activation: sigmoid -> relu",
                "before": {"ratio_first_to_last": 1e-7},
                "after": {"train_loss": 0.4, "val_loss": 0.5},
                "cured": True,
            }
        ]
        repaired = {**config, "model": {**config["model"], "activation": "relu"}}
        (run / "repaired_config.yaml").write_text(yaml.safe_dump(repaired, sort_keys=False))
        health = [
            _health(["net.0", "net.2", "net.4"], "sigmoid", [0, 4], 1e-3),
            _health(["net.0", "net.1", "net.3", "net.5"], "relu", [8, 16, 24, 32], 1.0),
        ]
        (run / "health.json").write_text(json.dumps(health))
    if kind == "data":
        findings = [
            _finding(
                "class_imbalance",
                source="data",
                severity="warning",
                epoch=None,
                step=None,
                evidence={"counts": {"0": 50, "1": 5}},
            )
        ]
    summary = {
        "run_dir": str(run),
        "status": status,
        "metrics": metrics,
        "findings": findings,
        "repairs": repairs,
    }
    (run / "summary.json").write_text(json.dumps(summary))
    (run / "findings.json").write_text(json.dumps(findings))
    evaluation: dict[str, Any] = {
        "val_confusion": None,
        "test_confusion": None,
        "classes": None if regression else _CLASSES,
    }
    if regression:
        evaluation["test_predictions"] = {
            "true": [float(i) for i in range(40)],
            "predicted": [i + (-1) ** i * 3.0 for i in range(40)],
        }
    elif kind != "diverged":
        evaluation["test_confusion"] = [[10, 0, 0], [1, 8, 1], [0, 2, 8]]
    (run / "evaluation.json").write_text(json.dumps(evaluation))
    (run / "data.json").write_text(
        json.dumps(
            {
                "source": config["data"]["source"],
                "task": "regression" if regression else "classification",
                "input_shape": [4],
                "classes": None if regression else _CLASSES,
                "sizes": {"train": 90, "val": 30, "test": 30},
            }
        )
    )
    (run / "environment.json").write_text(
        json.dumps(
            {
                "versions": {"python": "3.11.7", "torch": "2.13.0"},
                "device": "cpu",
                "device_name": "x86_64",
                "cuda": None,
                "platform": "Linux",
                "cpu_count": 2,
                "torch_threads": 1,
            }
        )
    )
    return run
