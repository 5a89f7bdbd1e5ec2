"""The files of a run directory: what is known before training, the metrics as epochs end,
and, once training has ended, the `Run` and everything the report, `load_run` and
`trainwell monitor` read back.

`summary.json` is written last: `resume` takes a run with a finished summary as done.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import torch

from ..data import DataInfo, Split
from ..data.audit import weighed_by_the_network
from ..findings import Finding
from ..health import DoctorCallback
from ..runs import create_run_dir, jsonl_line, read_json, write_json, write_jsonl, write_yaml
from ..train import Callback, Evaluation, FitResult, Trainer, save_atomic
from ._outcome import outcome_findings
from ._plan import Plan
from ._reference import write_reference
from ._run import Run, finite_or_none

EVAL_BATCH = 1024


def start_run_dir(plan: Plan, out: str | Path | None) -> Path:
    """Create the run directory and write what is known before training."""
    cfg = plan.config
    own = type(plan.model).__name__.lower() if plan.custom_model else None
    run_dir = create_run_dir(cfg.run_name(own), Path(out) if out else None)
    write_yaml(run_dir / "config.yaml", cfg.to_dict())
    write_json(run_dir / "corruption.json", plan.data.corruption)
    write_json(run_dir / "data.json", asdict(plan.data.info))
    if plan.audit is not None:
        write_json(run_dir / "audit.json", plan.audit)
    if plan.transfer is not None:
        write_json(run_dir / "transfer.json", plan.transfer.to_dict())
    if plan.custom_model:  # `resume` needs the module given again, and says which
        write_json(run_dir / "own_model.json", {"class": type(plan.model).__qualname__})
    return run_dir


class MetricsLog(Callback):
    """Keeps `metrics.jsonl` equal to the trainer's history: one line per finished epoch,
    rewritten whole at the start (a resume drops the lines after its checkpoint)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    def on_fit_start(self) -> None:
        write_jsonl(self.path, [_finite(row) for row in self.trainer.history])
        self._file = self.path.open("a")  # kept open: opening it each epoch cost ~1% of a fit

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self._file.write(jsonl_line(_finite(self.trainer.history[-1])))
        self._file.flush()  # whole lines for readers (`trainwell runs`, the report) as they come

    def on_fit_end(self, result: FitResult) -> None:
        self._file.close()


def _finite(row: dict[str, float]) -> dict[str, float | None]:
    return {k: finite_or_none(v) for k, v in row.items()}


def write_unfinished(run_dir: Path, interrupted: bool) -> None:
    """The summary of a fit that raised: "interrupted" (resumable from its checkpoint) or
    "failed"."""
    write_json(
        run_dir / "summary.json",
        {
            "run_dir": str(run_dir),
            "status": "interrupted" if interrupted else "failed",
            "metrics": {},
            "findings": [],
            "repairs": [],
        },
    )


def _audit_after_training(plan: Plan, final_val: Evaluation) -> list[Finding]:
    """The audit's findings, its label check judged again by the trained network
    (`weighed_by_the_network`): its val rows' labels are as good as the training rows' (one
    source, split at random), unless `data.corrupt.label_noise` flipped training labels only."""
    accuracy = final_val.metrics.get("accuracy")
    if accuracy is None or not math.isfinite(accuracy) or "label_noise" in plan.data.corruption:
        return plan.findings
    return [weighed_by_the_network(f, accuracy, len(plan.data.val)) for f in plan.findings]


def finished_run(
    plan: Plan,
    run_dir: Path,
    trainer: Trainer,
    result: FitResult,
    final_val: Evaluation,
    final_test: Evaluation,
    doctor: DoctorCallback | None,
    remedy_repairs: list[dict[str, Any]],
) -> Run:
    """The `Run` of a fit that ended: metrics of the weights kept (the best epoch's when they
    were put back), the findings and repairs of planning, remedies and the doctor."""
    cfg = plan.config
    last = len(result.history) - 1
    kept_epoch = last if trainer.kept_epoch is None else min(trainer.kept_epoch, last)
    metrics = {
        "train_loss": result.history[kept_epoch]["train_loss"],
        **{f"val_{k}": v for k, v in final_val.metrics.items()},
        **{f"test_{k}": v for k, v in final_test.metrics.items()},
        "epochs": result.epochs,
        "best_epoch": kept_epoch,
        "seconds": round(result.seconds, 3),
        "samples_per_second": round(result.samples_per_second, 1),
    }
    if result.diverged_step is not None:
        metrics["diverged_step"] = result.diverged_step
    final = doctor.rebuild.config if doctor and doctor.rebuild else cfg  # as repaired
    findings = list(doctor.findings) if doctor else []
    remedies = list(cfg.data.remedies)
    held_out = [final_val, final_test]
    findings += outcome_findings(result, held_out, plan.data, remedies, findings + plan.findings)
    findings = _audit_after_training(plan, final_val) + findings
    repairs = plan.repairs + remedy_repairs + (doctor.repairs if doctor else [])
    return Run(
        run_dir,
        result.status,
        metrics,
        findings,
        repairs,
        final,
        trainer.model,
        plan.data.info,
        result.history,
    )


def write_finished(
    run: Run,
    plan: Plan,
    trainer: Trainer,
    final_val: Evaluation,
    final_test: Evaluation,
    doctor: DoctorCallback | None,
    env: dict[str, Any],
    *,
    reference: bool = True,
) -> None:
    """Write the files of a finished run (the writer rank only), `summary.json` last;
    `reference=False` leaves out `reference.npz` (a cross-validation fold is never
    monitored)."""
    run_dir, data = run.run_dir, plan.data
    evaluation = {
        "val_confusion": final_val.confusion,
        "test_confusion": final_test.confusion,
        "classes": data.info.classes,
    }
    if data.info.task != "classification":  # residual plots in the report
        evaluation["test_predictions"] = _predictions(trainer, data.test, data.info)
    write_json(run_dir / "evaluation.json", evaluation)
    write_json(run_dir / "data.json", asdict(data.info))  # with what a repair filled inputs by
    if doctor and doctor.examiner:
        write_json(run_dir / "health.json", [h.to_record() for h in doctor.examiner.histories])
    write_json(run_dir / "environment.json", env)
    if doctor and doctor.repairs:
        write_yaml(run_dir / "repaired_config.yaml", run.config.to_dict())
    save_atomic(
        {
            "state_dict": trainer.model.state_dict(),
            "config": run.config.to_dict(),
            "data": asdict(data.info),
            "custom_model": plan.custom_model,
        },
        run_dir / "model.pt",
    )
    if reference:  # what `monitor` compares new data with
        write_reference(run_dir, trainer.model, data, plan.config.seed)
    if (run_dir / "cv.json").is_file():
        run.cv = read_json(run_dir / "cv.json")
    write_json(run_dir / "findings.json", [f.to_dict() for f in run.findings])
    write_json(run_dir / "summary.json", run.summary())


@torch.no_grad()
def _predictions(trainer: Trainer, split: Split, info: DataInfo) -> dict[str, list]:
    """Test targets and predictions in the target's own units."""
    trainer.model.eval()
    X = torch.from_numpy(split.X).split(EVAL_BATCH)
    out = torch.cat([trainer.model(x.to(trainer.device)).float().reshape(-1).cpu() for x in X])
    return {
        "true": (split.y.reshape(-1) * info.y_std + info.y_mean).tolist(),
        "predicted": (out.numpy() * info.y_std + info.y_mean).tolist(),
    }
