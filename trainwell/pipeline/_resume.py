"""`resume`: continue a killed run from its last checkpoint, in the same directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from ..config import RunConfig, load_config
from ..errors import InputError
from ..health import DoctorCallback, swap_relus, swapped_relus
from ..models import build_model
from ..runs import claim_run_dir, read_json
from ..train import is_writer
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
        if checkpoint is not None:
            if model is not None:  # your module, as the doctor had changed it in place
                swap_relus(plan.model, swapped_relus(_repairs(checkpoint)))
            _check_fits(plan.model, checkpoint["model"], run_dir)
        elif is_writer():  # killed before its first checkpoint: say so, not seem to resume
            _say(f"{run_dir} has no checkpoint yet: the run starts over")
        return train_plan(
            plan, run_dir, progress=progress, checkpoint=checkpoint, repaired=repaired
        )


def _say(line: str) -> None:
    Console(stderr=True).print(escape(line), highlight=False, soft_wrap=True)


def _check_fits(model: nn.Module, saved: dict[str, torch.Tensor], run_dir: Path) -> None:
    """One line, and the run left as it was, where the checkpoint's weights do not fit the
    network to resume (another module given than the one the run trained)."""
    own = model.state_dict()
    missing, extra = sorted(own.keys() - saved.keys()), sorted(saved.keys() - own.keys())
    shapes = sorted(k for k in own.keys() & saved.keys() if own[k].shape != saved[k].shape)
    if not (missing or extra or shapes):
        return
    if shapes:
        key = shapes[0]
        what = f"{key} is {tuple(saved[key].shape)} there, {tuple(own[key].shape)} here"
    elif missing:
        what = f"{missing[0]} is missing from the checkpoint"
    else:
        what = f"{extra[0]} is not in the module"
    raise InputError(
        f"{run_dir}'s checkpoint does not fit the network given ({what}): resume with the "
        f"module the run trained"
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
    name = read_json(own).get("class", "MyNet") if own.is_file() else None
    if model is None and name is not None:
        raise InputError(
            f"{run_dir} trains your own nn.Module ({name}): resume it from Python, "
            f"trainwell.resume(run_dir, model={name}())"
        )
    if model is not None and name is not None and type(model).__qualname__ != name:
        raise InputError(
            f"{run_dir} trains your own nn.Module {name}, not {type(model).__qualname__}: "
            f"resume it with trainwell.resume(run_dir, model={name}())"
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
    if checkpoint is None or not _repairs(checkpoint):
        return None
    return RunConfig.model_validate(_repairer(checkpoint)["config"])


def _repairs(checkpoint: dict[str, Any]) -> list[dict[str, Any]]:
    """The doctor's repairs when `checkpoint` was written."""
    return (_repairer(checkpoint) or {}).get("repairs") or []


def _repairer(checkpoint: dict[str, Any]) -> dict[str, Any] | None:
    doctor = checkpoint["callbacks"].get(DoctorCallback.__qualname__) or {}
    return doctor.get("repairer")
