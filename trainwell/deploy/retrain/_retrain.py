"""`retrain(name, data)`: a challenger trained on the champion's data plus new labelled rows
(same config, the data audit on, the doctor repairing), judged against the champion on the
same newest held-out labelled rows, and promoted only if it is better by `margin` and its
new labels pass the audit (or `force`). Both outcomes go into the registry's event log with
their numbers; a refused challenger stays in the registry as a version nobody serves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ...data import fill_missing
from ...errors import InputError
from ...pipeline import Run, fit, load_run
from ...runs import write_json
from ..monitor._inputs import class_ids, frame_rows, shaped
from ._data import Rows, new_rows, old_rows, target_name, write_rows

MARGIN = 0.01  # accuracy a challenger must gain on the held-out rows (MAE: share it must lose)
ALPHA = 0.05  # ... and the gain must be significant (paired, one-sided)
NEW_CLASS = -2  # a held-out label the model never learned: no prediction matches it
HOLDOUT_SHARE = 0.25  # the newest share of the new rows, held out when no holdout is given
NEW_LABEL_RATIO = 3.0  # new rows flagged as mislabelled at 3x the old rows' rate ...
NEW_LABEL_SHARE = 0.10  # ... and above 10% of them: the new labels look corrupted


@dataclass
class Retraining:
    """What `retrain` decided and why (the `--json` object of `trainwell retrain`)."""

    name: str
    run_dir: Path  # the challenger's run
    champion: dict[str, Any]  # version, score
    challenger: dict[str, Any]  # version, score, status, findings
    metric: str  # accuracy | mae
    margin: float
    p_value: float  # one-sided paired test that the challenger is better on the same rows
    holdout_rows: int
    training_rows: dict[str, int]  # old, new
    labels: dict[str, Any]  # the audit's mislabelled shares, old and new rows
    promoted: bool
    forced: bool
    reason: str
    event: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out["run_dir"] = str(self.run_dir)
        return out


def retrain(
    name: str,
    data: str | Path | Sequence[str | Path],
    *,
    holdout: str | Path | None = None,
    margin: float = MARGIN,
    force: bool = False,
    home: str | Path | None = None,
    out: str | Path | None = None,
    progress: bool = False,
) -> Retraining:
    """Train, judge and maybe promote a challenger to `name@champion` (see the module)."""
    started = time.perf_counter()
    registry = _registry()
    paths = [data] if isinstance(data, str | Path) else list(data)
    if not 0 <= margin < 1:
        raise InputError(f"--margin must be in [0, 1); got {margin}")
    champion_version = _champion(name, home)
    champion = load_run(champion_version.path)
    config = champion.config
    old = old_rows(config)
    new = new_rows(paths, config, old)
    if holdout is not None:
        judged, learned = new_rows([holdout], config, old), new
    else:
        cut = len(new) - max(1, round(HOLDOUT_SHARE * len(new)))
        if cut < 1:
            raise InputError(f"DATA has {len(new)} labelled rows: too few to hold any out")
        judged, learned = new.take(slice(cut, None)), new.take(slice(0, cut))
    metric, champion_errors = _errors(champion, judged, config)  # bad rows: nothing written
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    combined = _concat(old, learned)
    source = write_rows(
        combined, registry.registry_home(home) / name / "data" / f"retrain-{stamp}", config
    )
    settings = config.model_copy(deep=True)
    settings.data.source = str(source)
    settings.data.audit = True
    settings.doctor.mode = "repair"
    settings.data.target = target_name(config, old.frame) if old.frame is not None else None
    challenger = fit(settings, out=out, progress=progress)
    labels = _new_labels(challenger, len(old), len(learned))
    _, challenger_errors = _errors(challenger, judged, config)
    champion_score, challenger_score, p_value = _compare(metric, champion_errors, challenger_errors)
    by_margin = (
        challenger_score >= champion_score + margin
        if metric == "accuracy"
        else challenger_score <= champion_score * (1 - margin)
    )
    better = by_margin and p_value <= ALPHA
    healthy = challenger.status in ("completed", "stopped_early")
    reason = _reason(
        metric, champion_score, challenger_score, margin, p_value, better, healthy, labels
    )
    promote = force or (better and healthy and not labels["suspect"])
    result = Retraining(
        name,
        Path(challenger.run_dir),
        {"version": champion_version.version, "score": champion_score},
        {
            "score": challenger_score,
            "status": challenger.status,
            "findings": [f.code for f in challenger.findings if f.severity != "info"],
        },
        metric,
        margin,
        p_value,
        len(judged),
        {"old": len(old), "new": len(learned)},
        labels,
        bool(promote),
        bool(force and not (better and healthy and not labels["suspect"])),
        ("forced: " if force else "") + reason,
        seconds=time.perf_counter() - started,
    )
    write_json(Path(challenger.run_dir) / "retrain.json", result.summary())
    _write_report(challenger.run_dir)
    note = f"retrain challenger ({'promoted' if promote else 'refused'})"
    version = registry.add(challenger.run_dir, name, home=home, note=note)
    result.challenger["version"] = version.version
    details = {k: v for k, v in result.summary().items() if k not in ("event", "run_dir")}
    if promote:
        event = registry.promote(
            name, version.version, reason=result.reason, details=details, home=home
        )
    else:
        event = registry.record(
            name,
            "retrain_refused",
            reason=result.reason,
            details=details,
            version=version.version,
            home=home,
        )
    result.event = event.to_dict() if hasattr(event, "to_dict") else asdict(event)
    result.seconds = time.perf_counter() - started
    write_json(
        Path(challenger.run_dir) / "retrain.json", result.summary()
    )  # the run, not the version
    return result


def _registry() -> Any:
    try:
        from .. import registry
    except ImportError:
        raise InputError("retrain needs the model registry, which this trainwell lacks") from None
    return registry


def _champion(name: str, home: str | Path | None) -> Any:
    registry = _registry()
    try:
        return registry.resolve(f"{name}@champion", home=home)
    except InputError:
        return registry.resolve(name, home=home)  # no champion yet: the latest version


def _concat(old: Rows, new: Rows) -> Rows:
    if old.frame is not None:
        return Rows(frame=pd.concat([old.frame, new.frame], ignore_index=True))
    return Rows(X=np.concatenate([old.X, new.X]), y=np.concatenate([old.y, new.y]))


def _new_labels(run: Run, old: int, new: int) -> dict[str, Any]:
    """The audit's mislabelled rows among the training split's old and new rows (source rows
    below `old` are the champion's data): corrupted new labels concentrate there."""
    flagged = next((f for f in run.findings if f.code == "label_issues"), None)
    rows = np.asarray(flagged.evidence.get("rows", []) if flagged else [], dtype=int)
    train = run.info.sizes.get("train", old + new) if run.info else old + new
    share = train / max(old + new, 1)  # the audited split is this share of all rows
    old_share = float((rows < old).sum() / max(share * old, 1))
    new_share = float((rows >= old).sum() / max(share * new, 1))
    suspect = new_share > NEW_LABEL_SHARE and new_share > NEW_LABEL_RATIO * old_share
    return {"old_flagged": old_share, "new_flagged": new_share, "suspect": bool(suspect)}


def _errors(run: Run, rows: Rows, config: Any) -> tuple[str, np.ndarray]:
    """Per held-out row: wrong or right (classification, labels matched by class name; a
    class the model never learned, as new data may bring, is its error), or the absolute
    error (regression)."""
    info, what = run.info, "the held-out rows"
    if rows.frame is not None:
        target = target_name(config, rows.frame)
        batch = frame_rows(rows.frame, info, target, what, unknown=NEW_CLASS)
        X, y = batch.X, batch.y
    else:
        X, y = shaped(rows.X, info, what), class_ids(rows.y, info, what, unknown=NEW_CLASS)
    predicted = run.predict(fill_missing(X, info)[0])
    if info.task == "classification":
        return "accuracy", (predicted != y).astype(float)
    return "mae", np.abs(predicted.reshape(-1) - y).astype(float)


def _compare(
    metric: str, champion: np.ndarray, challenger: np.ndarray
) -> tuple[float, float, float]:
    """Both scores and the one-sided p-value that the challenger is better on the same rows:
    McNemar's exact test on the rows only one of them gets right (classification), Wilcoxon's
    signed-rank test on the paired absolute errors (regression)."""
    if metric == "accuracy":
        wins = int(((champion == 1) & (challenger == 0)).sum())
        losses = int(((champion == 0) & (challenger == 1)).sum())
        p = (
            stats.binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue
            if wins + losses
            else 1.0
        )
        return float(1 - champion.mean()), float(1 - challenger.mean()), float(p)
    gain = champion - challenger
    p = stats.wilcoxon(gain, alternative="greater").pvalue if np.any(gain != 0) else 1.0
    return float(champion.mean()), float(challenger.mean()), float(p)


def _reason(
    metric: str,
    champion: float,
    challenger: float,
    margin: float,
    p_value: float,
    better: bool,
    healthy: bool,
    labels: dict[str, Any],
) -> str:
    if metric == "accuracy":
        numbers = (
            f"challenger {100 * challenger:.1f}% vs champion {100 * champion:.1f}% accuracy on "
            f"the held-out rows (paired p = {p_value:.2g}; needs +{100 * margin:.1f} points "
            f"at p <= {ALPHA})"
        )
    else:
        numbers = (
            f"challenger MAE {challenger:.4g} vs champion {champion:.4g} on the held-out rows "
            f"(paired p = {p_value:.2g}; needs {100 * margin:.0f}% less at p <= {ALPHA})"
        )
    if labels["suspect"]:
        return (
            f"refused: the audit flags {100 * labels['new_flagged']:.0f}% of the new rows as "
            f"mislabelled against {100 * labels['old_flagged']:.0f}% of the old ones; {numbers}"
        )
    if not healthy:
        return f"refused: the challenger's training did not complete; {numbers}"
    return (
        "promoted: " if better else "refused: not significantly better by the margin; "
    ) + numbers


def _write_report(run_dir: Path) -> None:
    from ...report import write_report_or_warn

    write_report_or_warn(Path(run_dir))
