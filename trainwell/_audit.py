"""`audit`: the data audit of a config, recorded like a run; also the first step of `fit`."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from .config import ConfigLike, RunConfig, load_config
from .data import Dataset, load_splits
from .data.audit import CHECKS, audit_dataset
from .errors import ConfigError
from .findings import Finding
from .models import build_model
from .runs import create_run_dir, write_json, write_yaml

_CLASSIFICATION_ONLY = (
    "class_weights",
    "balanced_sampler",
    "drop_label_issues",
    "relabel_label_issues",
)
_NEED_FINDINGS = ("drop_label_issues", "relabel_label_issues", "drop_duplicates", "drop_leakage")


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

    Writes `<out>/<name>-audit-<time>/` with config.yaml, findings.json, summary.json and
    corruption.json. Bad input raises `InputError` before anything is written.
    """
    cfg = load_config(config, {k.replace("__", "."): v for k, v in overrides.items()})
    check_remedies(cfg, None)
    data = load_splits(cfg)
    findings, seconds = audit_data(cfg, data, progress=progress)
    run_dir = create_run_dir(f"{cfg.run_name()}-audit", Path(out) if out else None)
    write_yaml(run_dir / "config.yaml", cfg.to_dict())
    write_json(run_dir / "corruption.json", data.corruption)
    write_json(run_dir / "findings.json", [f.to_dict() for f in findings])
    sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
    result = Audit(run_dir, findings, seconds, sizes)
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
    cfg: RunConfig, data: Dataset, *, progress: bool = False
) -> tuple[list[Finding], dict[str, float]]:
    """Every data check on the raw (corrupted, unstandardised) splits of a run."""
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
    if "drop_missing" in cfg.data.remedies and "impute" in cfg.data.remedies:
        raise ConfigError("data.remedies: choose impute or drop_missing, not both")
    if {"drop_label_issues", "relabel_label_issues"} <= set(cfg.data.remedies):
        raise ConfigError(
            "data.remedies: choose drop_label_issues or relabel_label_issues, not both"
        )
