"""`resume`: continue a killed run from its last checkpoint, in the same directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..config import RunConfig, load_config
from ..errors import InputError
from ..health import DoctorCallback
from ..models import build_model
from ..runs import claim_run_dir, read_json
from ._fit import train_plan
from ._ranks import job, on_writer, shared_plan
from ._run import Run


def resume(run_dir: str | Path, *, model: nn.Module | None = None, progress: bool = False) -> Run:
    """Continue a killed run from its last checkpoint, in the same directory. Under torchrun,
    rank 0 reads the run and sends its checkpoint to every rank (any number of ranks)."""
    run_dir = Path(run_dir)
    with job():
        cfg, checkpoint = on_writer(lambda: _read_run(run_dir, model))
        plan = shared_plan(cfg, model, progress=progress)
        repaired = _repaired_config(checkpoint)
        if repaired is not None and model is None:  # the doctor rebuilt the model: do the same
            info = plan.data.info
            plan.model = build_model(
                repaired.model,
                info.input_shape,
                info.n_outputs,
                regression=info.task == "regression",
            )
        return train_plan(
            plan, run_dir, progress=progress, checkpoint=checkpoint, repaired=repaired
        )


def _read_run(
    run_dir: Path, model: nn.Module | None = None
) -> tuple[RunConfig, dict[str, Any] | None]:
    """The config and last checkpoint (None: none yet, the run starts over in place) of an
    unfinished run. A run of your own module is not resumed without it (it would load its
    weights into, or train from scratch, the config's network)."""
    if not (run_dir / "config.yaml").is_file():
        raise InputError(f"{run_dir} is not a trainwell run directory (no config.yaml)")
    own = run_dir / "own_model.json"
    if model is None and own.is_file():
        name = read_json(own).get("class", "MyNet")
        raise InputError(
            f"{run_dir} trains your own nn.Module ({name}): resume it from Python, "
            f"trainwell.resume(run_dir, model={name}())"
        )
    summary = run_dir / "summary.json"
    status = read_json(summary).get("status") if summary.is_file() else None
    if status in ("completed", "stopped_early", "diverged"):
        raise InputError(f"{run_dir} already finished (status {status}); nothing to resume")
    path = run_dir / "checkpoints" / "last.pt"
    checkpoint = torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None
    cfg = load_config(run_dir / "config.yaml")
    claim_run_dir(run_dir)  # this process writes it now
    return cfg, checkpoint


def _repaired_config(checkpoint: dict[str, Any] | None) -> RunConfig | None:
    """The config as the doctor had repaired it when `checkpoint` was written, if it had."""
    if checkpoint is None:
        return None
    doctor = checkpoint["callbacks"].get(DoctorCallback.__qualname__) or {}
    repairer = doctor.get("repairer")
    if not repairer or not repairer["repairs"]:
        return None
    return RunConfig.model_validate(repairer["config"])
