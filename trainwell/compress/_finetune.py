"""The pruned network's short fine-tune: an ordinary trainwell run (same data, split, seed
and optimizer as the original, the doctor watching), written as a run directory that
`load_run` opens like any other.

The doctor runs in detect mode: its repairs rebuild the network from the config (fresh
weights), which would throw away what pruning kept. The data audit runs only when the
run's data remedies need its findings (the original run reported them already).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from ..pipeline import Run, fit
from ..runs import read_json, write_json, write_yaml
from ..train import save_atomic
from ._prune import Pruned


def finetune(run: Run, pruned: Pruned, epochs: int, target: Path, *, progress: bool) -> Run:
    """Train `pruned.model` for `epochs` more epochs (0: none) into the directory `target`."""
    cfg = run.config.model_copy(deep=True)
    cfg.name = f"{run.config.run_name()}-pruned"
    cfg.model = pruned.spec
    cfg.train.cv_folds = None
    cfg.doctor.mode = "detect"
    cfg.data.audit = cfg.data.audit and bool(cfg.data.remedies)
    if epochs == 0:
        return _untrained(run, pruned, cfg, target)
    cfg.train.epochs = epochs
    staging = target.parent / f".{target.name}-runs"
    tuned = fit(cfg, model=pruned.model, out=staging, progress=progress, checkpoints=False)
    shutil.move(tuned.run_dir, target)
    shutil.rmtree(staging)
    _mark_rebuildable(target / "model.pt")
    tuned.run_dir = target
    return tuned


def _mark_rebuildable(model_file: Path) -> None:
    """`fit(model=...)` marks the run as your own module; the pruned network is exactly the
    config's architecture (its weights loaded strictly into `build_model`), so `load_run`
    may rebuild it from the config."""
    saved = torch.load(model_file, map_location="cpu", weights_only=True)
    saved["custom_model"] = False
    save_atomic(saved, model_file)


def _untrained(run: Run, pruned: Pruned, cfg, target: Path) -> Run:
    """`--finetune 0`: the pruned weights as they are, in a run directory of their own."""
    target.mkdir(parents=True)
    write_yaml(target / "config.yaml", cfg.to_dict())
    write_json(target / "data.json", asdict(run.info))
    save_atomic(
        {
            "state_dict": pruned.model.state_dict(),
            "config": cfg.to_dict(),
            "data": asdict(run.info),
            "custom_model": False,
        },
        target / "model.pt",
    )
    tuned = Run(target, "completed", {"epochs": 0}, [], [], cfg, pruned.model, run.info)
    write_json(target / "summary.json", tuned.summary())
    return tuned


def point_summary_at(run_dir: Path, final: Path) -> None:
    """The summary names the directory where the run will live once `compressed/` is in
    place (it is written in a staging directory first)."""
    summary = read_json(run_dir / "summary.json")
    summary["run_dir"] = str(final)
    write_json(run_dir / "summary.json", summary)
