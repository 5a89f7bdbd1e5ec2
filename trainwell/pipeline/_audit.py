"""`audit`: the data audit of a config, recorded like a run; also the first step of `fit`."""

from __future__ import annotations

import base64
import copy
import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rich.console import Console
from torch import nn

from ..config import ConfigLike, RunConfig, load_config
from ..data import Dataset, load_splits
from ..data.audit import CHECKS, audit_dataset
from ..errors import ConfigError
from ..findings import Finding
from ..models import build_model
from ..runs import create_run_dir, write_json, write_yaml

_CLASSIFICATION_ONLY = (
    "class_weights",
    "balanced_sampler",
    "drop_label_issues",
    "relabel_label_issues",
)
_NEED_FINDINGS = (
    "drop_label_issues",
    "relabel_label_issues",
    "drop_duplicates",
    "drop_leakage",
    "drop_target_outliers",
)
SHOWN_ROWS = 24  # per finding: the report shows the most suspect ones


@dataclass
class Audit:
    """A finished audit: its directory, findings and how long each check took."""

    run_dir: Path
    findings: list[Finding]
    seconds: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The `--json` object: fit's, without training metrics."""
        return {
            "run_dir": str(self.run_dir),
            "status": "completed",
            "findings": [f.to_dict() for f in self.findings],
            "repairs": [],
            "audit": {
                "seconds": round(sum(self.seconds.values()), 3),
                "checks": self.seconds,
                "sizes": self.sizes,
            },
        }


def audit(
    config: ConfigLike = None,
    *,
    out: str | Path | None = None,
    progress: bool = False,
    **overrides: Any,
) -> Audit:
    """Audit the data of `config` (a YAML path, a dict or a `RunConfig`) without training.

    Writes `<out>/<name>-audit-<time>/` with config.yaml, findings.json, summary.json,
    corruption.json and audit.json. Bad input raises `InputError` before anything is written.
    """
    cfg = load_config(config, {k.replace("__", "."): v for k, v in overrides.items()})
    check_remedies(cfg, None)
    data = load_splits(cfg)
    findings, seconds = audit_data(cfg, data, progress=progress)
    run_dir = create_run_dir(f"{cfg.run_name()}-audit", Path(out) if out else None)
    write_yaml(run_dir / "config.yaml", cfg.to_dict())
    write_json(run_dir / "corruption.json", data.corruption)
    write_json(run_dir / "findings.json", [f.to_dict() for f in findings])
    record = audit_record(data, findings)
    write_json(run_dir / "audit.json", record)
    result = Audit(run_dir, findings, seconds, record["sizes"])
    write_json(run_dir / "summary.json", result.summary())
    return result


_MODEL_CHECKS = {"small_dataset": CHECKS["small_dataset"]}  # samples per model parameter
_memo: dict[str, list[Finding]] | None = None  # data findings by data config, while on


@contextmanager
def remembered_audits() -> Iterator[None]:
    """Audit each data config once inside the block: tuning trials train on the same data,
    and a 100k-row audit takes as long as many small trials."""
    global _memo
    outer = _memo
    _memo = {} if outer is None else outer
    try:
        yield
    finally:
        _memo = outer


def _check_rank(finding: Finding) -> int:
    return list(CHECKS).index(finding.code) if finding.code in CHECKS else len(CHECKS)


def audit_data(
    cfg: RunConfig, data: Dataset, *, model: nn.Module | None = None, progress: bool = False
) -> tuple[list[Finding], dict[str, float]]:
    """Every data check on the raw (corrupted, unstandardised) splits of a run; `model` is
    the network to be trained (by default the config's), for the samples per parameter."""
    if model is None:
        info = data.info
        model = build_model(
            cfg.model, info.input_shape, info.n_outputs, regression=info.task == "regression"
        )
    n_params = sum(p.numel() for p in model.parameters())
    standardized = cfg.data.standardize or "standardize" in cfg.data.remedies
    key = json.dumps([cfg.data.model_dump(mode="json"), cfg.seed, standardized], sort_keys=True)
    if _memo is not None and key in _memo:  # only small_dataset depends on the model
        result = audit_dataset(
            data, standardized=standardized, n_params=n_params, checks=_MODEL_CHECKS
        )
        findings = sorted(copy.deepcopy(_memo[key]) + result.findings, key=_check_rank)
        return findings, result.seconds
    console = Console(stderr=True) if progress else None
    started = time.perf_counter()
    result = audit_dataset(
        data,
        standardized=standardized,
        n_params=n_params,
        on_check=(lambda name: console.print(f"[dim]audit: {name}[/]", end="\r"))
        if console
        else None,
    )
    if _memo is not None:
        _memo[key] = copy.deepcopy([f for f in result.findings if f.code not in _MODEL_CHECKS])
    if console:
        console.print(
            f"[dim]audit: {len(result.findings)} findings in "
            f"{time.perf_counter() - started:.1f} s[/]"
        )
    return result.findings, result.seconds


def audit_record(data: Dataset, findings: list[Finding]) -> dict[str, Any]:
    """`audit.json`, what the report shows beyond the findings: rows per class in each split,
    and the label (and, for image data, a PNG thumbnail) of the rows findings name.

    `rows` maps a training source row to `{"split", "label", "image"}`: the most suspect
    `SHOWN_ROWS` rows of each finding, and the rows duplicates repeat; `held_out` the same
    for the validation or test rows that leaked training rows match (a copied row has one
    source index in two splits).
    """
    info = data.info
    splits = {"train": data.train, "val": data.val, "test": data.test}
    record: dict[str, Any] = {
        "sizes": {name: len(split) for name, split in splits.items()},
        "task": info.task,
    }
    if info.task == "classification":
        counts = {
            name: np.bincount(split.y, minlength=len(info.classes))
            for name, split in splits.items()
        }
        record["class_counts"] = {
            name: {c: int(n) for c, n in zip(info.classes, per_class, strict=True)}
            for name, per_class in counts.items()
        }
    flagged: list[int] = []
    matched: list[int] = []
    for finding in findings:
        evidence = finding.evidence
        if isinstance(evidence.get("rows"), list) and evidence.get("scores") is not None:
            shown_rows = evidence["rows"][:SHOWN_ROWS]
            flagged += shown_rows
            matched += (evidence.get("matches") or [])[:SHOWN_ROWS]
            kept = {r: g[0] for g in evidence.get("groups") or [] for r in g[1:]}
            flagged += [kept[r] for r in shown_rows if r in kept]  # the row a duplicate repeats
    images = data.train.X.ndim == 4
    scale = _pixel_range(data.train.X) if images else (0.0, 1.0)

    def describe(wanted: list[int], names: tuple[str, ...]) -> dict[str, Any]:
        where = {row: (name, i) for name in names for i, row in enumerate(splits[name].rows)}
        shown: dict[str, Any] = {}
        for row in dict.fromkeys(wanted):
            if row not in where:
                continue
            name, i = where[row]
            split = splits[name]
            entry: dict[str, Any] = {"split": name}
            if info.task == "classification":
                entry["label"] = info.classes[int(split.y[i])]
            if images:
                entry["image"] = _thumbnail(split.X[i], scale)
            shown[str(row)] = entry
        return shown

    record["rows"] = describe(flagged, ("train",))
    record["held_out"] = describe(matched, ("test", "val"))
    if images:
        record["image_shape"] = list(data.train.X.shape[1:])
    return record


def _pixel_range(X: np.ndarray) -> tuple[float, float]:
    """One brightness scale for every thumbnail, from the training images."""
    finite = X[np.isfinite(X)]
    if not finite.size:
        return 0.0, 1.0
    low, high = np.percentile(finite, [0.5, 99.5])
    return float(low), float(high) if high > low else float(low) + 1.0


def _thumbnail(image: np.ndarray, scale: tuple[float, float]) -> str:
    """A (C, H, W) image as a PNG data URI, at its own resolution (the page enlarges it)."""
    low, high = scale
    pixels = np.nan_to_num((image - low) / (high - low), nan=0.0).clip(0, 1)
    pixels = (pixels * 255).round().astype(np.uint8)
    channels = pixels.shape[0]
    picture = pixels[0] if channels in (1, 2) else pixels[:3].transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def check_remedies(cfg: RunConfig, task: str | None) -> None:
    """Remedies that need what the data does not have are refused, by name."""
    if cfg.data.remedies and not cfg.data.audit:
        data_side = [r for r in cfg.data.remedies if r in _NEED_FINDINGS]
        if data_side:
            raise ConfigError(
                f"data.remedies {data_side} act on the audit's findings: set data.audit: true"
            )
    if task == "regression":
        wrong = [r for r in cfg.data.remedies if r in _CLASSIFICATION_ONLY]
        if wrong:
            raise ConfigError(f"data.remedies {wrong} need a classification task")
    if task == "classification" and "drop_target_outliers" in cfg.data.remedies:
        raise ConfigError("data.remedies ['drop_target_outliers'] need a regression task")
    if "drop_missing" in cfg.data.remedies and "impute" in cfg.data.remedies:
        raise ConfigError("data.remedies: choose impute or drop_missing, not both")
    if {"drop_label_issues", "relabel_label_issues"} <= set(cfg.data.remedies):
        raise ConfigError(
            "data.remedies: choose drop_label_issues or relabel_label_issues, not both"
        )
