"""Read a run directory into one record: every file is optional except config.yaml, so
the report renders for failed, interrupted and older runs alike."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError
from ..runs import read_json, run_kind


@dataclass
class RunRecord:
    path: Path
    config: dict[str, Any]
    status: str = "unknown"
    metrics: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl
    repaired_config: dict[str, Any] | None = None
    evaluation: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    health: list[dict[str, Any]] | None = None  # probe histories, one per stretch of training
    environment: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None  # audit.json: class counts, the flagged rows
    audit_timing: dict[str, Any] | None = None  # summary's `audit` of a `trainwell audit`
    kind: str = "fit"  # fit | audit | tune (runs.run_kind)
    tune: dict[str, Any] | None = None  # the summary of a `trainwell tune` directory
    best_yaml: str | None = None  # a tune directory's best.yaml
    attack: dict[str, Any] | None = None  # attack/attack.json of `trainwell attack`
    compressed: dict[str, Any] | None = None  # compressed/compress.json of `trainwell compress`
    monitor: dict[str, Any] | None = None  # the newest monitor/*/monitor.json
    retrain: dict[str, Any] | None = None  # retrain.json of a `trainwell retrain` challenger
    own_model: str | None = None  # the class of the user's own nn.Module (own_model.json)

    @property
    def training_repairs(self) -> list[dict[str, Any]]:
        """The doctor's repairs, made at an epoch while training."""
        return [r for r in self.repairs if r.get("epoch") is not None]

    @property
    def data_repairs(self) -> list[dict[str, Any]]:
        """Remedies applied before training (data remedies, class weights, sampler, augment):
        their epoch is null."""
        return [r for r in self.repairs if r.get("epoch") is None]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kept_epoch(self) -> int | None:
        """The epoch whose weights the run kept (runs before the fix of `best_epoch` said the
        last epoch after the doctor's early stop); None when the last epoch's were kept."""
        for repair in self.repairs:
            if repair.get("restored_epoch") is not None:
                return int(repair["restored_epoch"])
            if repair.get("remedy") == "stop_early":  # runs before repairs had the field
                restored = re.search(r"weights of epoch (\d+)", repair.get("changed") or "")
                if restored:
                    return int(restored.group(1))
        best, epochs = self.metrics.get("best_epoch"), self.metrics.get("epochs")
        return best if best is not None and epochs and best < epochs - 1 else None

    @property
    def task(self) -> str:
        if self.data and self.data.get("task"):
            return self.data["task"]
        return "regression" if "test_r2" in self.metrics else "classification"


def load_record(run_dir: str | Path) -> RunRecord:
    """Everything the report shows about one run; InputError if it is not a run directory."""
    path = Path(run_dir).resolve()
    if not (path / "config.yaml").is_file():
        raise InputError(f"{run_dir} is not a trainwell run directory (no config.yaml)")
    try:
        record = RunRecord(path, _yaml(path / "config.yaml") or {})
        summary = _json(path / "summary.json") or {}
        record.kind = run_kind(summary)
        if record.kind == "lr-find":
            raise InputError(
                f"{run_dir} is an lr-find directory: its page is lr_find.png, its numbers "
                "lr_find.json (no report.html)"
            )
        record.status = summary.get("status", "interrupted")
        record.metrics = summary.get("metrics", {})
        record.repairs = summary.get("repairs", [])
        findings = _json(path / "findings.json")
        record.findings = findings if findings is not None else summary.get("findings", [])
        record.epochs = _jsonl(path / "metrics.jsonl")
        record.repaired_config = _yaml(path / "repaired_config.yaml")
        record.evaluation = _json(path / "evaluation.json")
        record.data = _json(path / "data.json")
        record.health = _json(path / "health.json")
        record.environment = _json(path / "environment.json")
        record.audit = _json(path / "audit.json")
        record.attack = _json(path / "attack" / "attack.json")
        record.compressed = _json(path / "compressed" / "compress.json")
        record.monitor = _newest(path / "monitor", "monitor.json")
        record.retrain = _json(path / "retrain.json")
        record.own_model = (_json(path / "own_model.json") or {}).get("class")
        record.audit_timing = summary.get("audit")
        record.tune = summary if record.kind == "tune" else None
        best = path / "best.yaml"
        record.best_yaml = best.read_text() if record.tune and best.is_file() else None
    except (ValueError, yaml.YAMLError) as exc:
        raise InputError(f"{run_dir} holds an unreadable file: {exc}".splitlines()[0]) from None
    return record


def _json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def _newest(folder: Path, name: str) -> Any:
    """The file `name` in the newest sub-folder of `folder` (named by time) that has one."""
    found = sorted(folder.glob(f"[!.]*/{name}")) if folder.is_dir() else []
    return read_json(found[-1]) if found else None


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
