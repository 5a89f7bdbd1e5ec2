"""`explain(run)`: attributions, whether they can be trusted, and who the model fails,
written to `RUN_DIR/explain/` in one step (a temporary folder renamed into place)."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..data import read_frame
from ..errors import InputError
from ..findings import Finding
from ..pipeline import Run, load_run
from ..runs import staged_dir, write_json
from ._attribute import NAMES, attribute, captum_attr, check_method, per_position
from ._checks import Thresholds, check_faithfulness, check_groups, check_pointing, check_sanity
from ._data import TestRows, test_rows
from ._groups import GroupReport, fairlearn_metrics, group_labels, group_report
from ._importance import Importance, importances
from ._model import outputs
from ._pointing import PointingGame, pointing_game
from ._trust import Faithfulness, Sanity, deletion, randomisation

GroupsLike = str | np.ndarray | list[Any] | None


@dataclass
class Explanation:
    """What `explain` found; `to_dict()` is the `explain --json` object of DESIGN.md."""

    run_dir: Path
    method: str
    rows: int
    importances: list[Importance]
    faithfulness: Faithfulness | None
    sanity: Sanity | None
    groups: GroupReport | None
    findings: list[Finding]
    seconds: float
    files: list[str] = field(default_factory=list)
    pointing: PointingGame | None = None  # sources with defect masks
    reference_images: int | None = None  # Grad-CAM: training images its reference averages

    def to_dict(self) -> dict[str, Any]:
        faith = self.faithfulness
        return {
            "run_dir": str(self.run_dir),
            "method": self.method,
            "method_name": NAMES[self.method],
            "rows": self.rows,
            "importances": [asdict(i) for i in self.importances],
            "faithfulness": None if faith is None else {**asdict(faith), "ratio": faith.ratio},
            "sanity": None if self.sanity is None else asdict(self.sanity),
            "groups": None if self.groups is None else asdict(self.groups),
            "pointing_game": None if self.pointing is None else asdict(self.pointing),
            "reference_images": self.reference_images,
            "findings": [f.to_dict() for f in self.findings],
            "seconds": self.seconds,
            "files": self.files,
        }


def explain(
    run: Run | str | Path,
    *,
    method: str = "ig",
    groups: GroupsLike = None,
    rows: int = 500,
    seed: int = 0,
    thresholds: Thresholds | None = None,
    progress: bool = False,
) -> Explanation:
    """Explain a run's model on (up to `rows` of) its test split.

    `method`: ig | saliency | smoothgrad | occlusion | gradcam (CNNs). `groups`: a column of
    the run's CSV/Parquet file (the target too), a feature of a built-in table (a numeric
    one of many values is split at its median), or one value per source row (any grouping,
    also one the model never saw); per-group metrics then judge the gaps.
    Pass a `Run` from `load_run(path, model)` for a run that trained your own module.
    """
    with torch.random.fork_rng():  # seeded (SmoothGrad's noise, re-initialised weights), and
        torch.manual_seed(seed)  # the caller's random state is left as it was
        return _explain(run, method, groups, rows, seed, thresholds, progress)


def _explain(
    run: Run | str | Path,
    method: str,
    groups: GroupsLike,
    rows: int,
    seed: int,
    thresholds: Thresholds | None,
    progress: bool,
) -> Explanation:
    started = time.perf_counter()
    thresholds = thresholds or Thresholds()
    run = run if isinstance(run, Run) else load_run(run)
    is_image = run.info is not None and len(run.info.input_shape) == 3
    check_method(method, run.model, is_image)
    captum_attr()
    if groups is not None:
        fairlearn_metrics()
        if run.info is not None and run.info.task != "classification":
            raise InputError("--groups needs a classification run; this run is a regression")
    data = test_rows(run, rows, seed, reference=method == "gradcam")
    labels = None if groups is None else _group_values(run, data, groups)
    model = run.model.cpu().eval()
    classify = data.task == "classification"
    out = outputs(model, data.X)
    predicted = out.argmax(1).numpy() if classify else None
    targets = torch.from_numpy(predicted) if classify else None

    with _progress(progress) as bar:
        task = bar.add_task(f"{NAMES[method]}", total=len(data.X) + 10)
        maps = attribute(
            model, data.X, targets, method, lambda n: bar.advance(task, n), data.reference
        )
        found = [] if data.is_image else importances(
            model, data.X, data.y, data.task, data.columns, maps, seed
        )  # fmt: skip
        faith = deletion(model, data.X, predicted, maps, seed) if classify else None
        bar.advance(task, 5)
        sanity = randomisation(
            model,
            data.X,
            targets,
            maps,
            lambda m, x, t: attribute(m, x, t, method, reference=data.reference),
        )
        bar.advance(task, 5)
    name = NAMES[method]
    game = None
    if data.masks is not None and classify:
        grid = per_position(maps).reshape(len(maps), *data.X.shape[2:])
        game = pointing_game(grid, data.masks, data.y, predicted, data.classes)
    report = None
    if labels is not None:
        report = group_report(
            groups_name(groups), labels, data.y, predicted, len(data.classes), seed
        )
    findings = [
        *check_faithfulness(faith, name, thresholds),
        *check_sanity(sanity, name, thresholds),
        *check_groups(report, thresholds),
        *check_pointing(game, name, thresholds),
    ]
    result = Explanation(
        Path(run.run_dir).resolve(),
        method,
        len(data.X),
        found,
        faith,
        sanity,
        report,
        findings,
        0.0,
        pointing=game,
        reference_images=None if data.reference is None else len(data.reference),
    )
    probabilities = torch.softmax(out, 1).numpy() if classify else None
    _write(result, data, maps, predicted, probabilities, started)
    return result


def groups_name(groups: GroupsLike) -> str:
    return groups if isinstance(groups, str) else "group"


def _group_values(run: Run, data: TestRows, groups: GroupsLike) -> np.ndarray:
    """One group label per explained row, from a column of the source or given values."""
    if not isinstance(groups, str):
        values = np.asarray(groups, dtype=object)
        if values.ndim != 1 or len(values) <= int(data.rows.max()):
            raise InputError(
                f"groups must hold one value per row of the source ({int(data.rows.max()) + 1} "
                f"or more); got {values.shape}"
            )
        return group_labels(values[data.rows], "group")
    source = Path(run.config.data.source)
    if source.suffix.lower() in (".csv", ".parquet") and source.is_file():
        frame = read_frame(source)
        if groups not in frame.columns:
            raise InputError(
                f"--groups: {source} has no column {groups!r}; its columns: "
                + ", ".join(repr(c) for c in frame.columns[:20])
            )
        return group_labels(frame[groups].to_numpy()[data.rows], groups)
    if groups in data.features:
        return group_labels(data.raw[:, data.features.index(groups)], groups)
    known = ", ".join(repr(f) for f in data.features[:20]) or "none (an image source)"
    raise InputError(f"--groups: the data of this run has no column {groups!r}; columns: {known}")


def _progress(show: bool) -> Any:
    if not show:
        return nullcontext(_Silent())
    return Progress(
        TextColumn("explain: {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    )


class _Silent:
    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def advance(self, *args: Any) -> None:
        pass


def _write(
    result: Explanation,
    data: TestRows,
    maps: np.ndarray,
    predicted: np.ndarray | None,
    probabilities: np.ndarray | None,
    started: float,
) -> None:
    """Everything goes into a temporary folder beside `explain/`, which then replaces it:
    a reader sees the old explanation or the new one, never half of one."""
    from . import _plots as plots  # matplotlib takes a second to import

    with staged_dir(result.run_dir / "explain") as staging:
        np.savez_compressed(
            staging / "attributions.npz", rows=data.rows, attributions=maps, predicted=
            np.array([]) if predicted is None else predicted,
        )  # fmt: skip
        name = NAMES[result.method]
        files = ["attributions.npz"]
        if result.importances:
            plots.importance_plot(result.importances, staging / "importances.png")
            files.append("importances.png")
        if result.faithfulness is not None:
            plots.deletion_plot(result.faithfulness, name, staging / "deletion.png")
            files.append("deletion.png")
        if data.is_image and predicted is not None and probabilities is not None:
            grid = per_position(maps).reshape(len(maps), *data.X.shape[2:])
            confidence = probabilities[np.arange(len(predicted)), predicted]
            plots.maps_plot(
                data.raw, grid, data.y, predicted, confidence, data.classes, staging / "maps.png"
            )
            files.append("maps.png")
        if result.groups is not None:
            plots.groups_plot(result.groups.column, result.groups.metrics, staging / "groups.png")
            files.append("groups.png")
        result.files = files
        result.seconds = round(time.perf_counter() - started, 3)
        write_json(staging / "explain.json", result.to_dict())
