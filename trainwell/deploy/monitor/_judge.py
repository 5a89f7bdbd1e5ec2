"""One window of rows against the reference: per-column tests under Holm, MMD on whole rows
(or on the penultimate-layer embedding of images), prediction drift, and accuracy, estimated
from calibrated confidence (CBPE-style) and measured when the rows carry labels.

The significance level α is split so that a clean window raises a data-drift alarm with
probability at most α (Bonferroni over the two families): 0.8 α for the columns (Holm
within them), 0.2 α for the multivariate test; images have no column family, so the
multivariate test gets all of α.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import stats

from ...data import DataInfo, fill_missing, standardise
from ...pipeline import Run, calibrated, embed, on_grid
from . import _stats
from ._inputs import UNLABELLED
from ._reference import Reference
from ._stats import ColumnTest, Mmd

MIN_ROWS = 20  # fewer rows in a window: no test can judge it
COLUMN_SHARE = 0.8  # of α, for the per-column family; the rest for the multivariate test
ESTIMATE_BOOTSTRAP = 2000
# an estimated drop smaller than this is no drop: a near-perfect model's validation rows are
# all ~100% sure, so the clean range they give is too narrow for new rows near the boundary
MIN_ESTIMATED_DROP = 0.01


@dataclass
class Column:
    """A feature as a person names it: one numeric input, or the one-hot inputs of a
    categorical source column (tested together, as category codes)."""

    name: str
    inputs: list[int]
    categorical: bool

    def values(self, X: np.ndarray) -> np.ndarray:
        if not self.categorical:
            return X[:, self.inputs[0]].astype(np.float64)
        block = np.nan_to_num(X[:, self.inputs])
        seen = block.max(1) > 0.5
        return np.where(seen, block.argmax(1), len(self.inputs)).astype(np.int64)  # unseen


def columns_of(info: DataInfo) -> list[Column]:
    if len(info.input_shape) != 1:
        return []  # images: the embedding stands for the pixels
    columns: dict[str, Column] = {}
    for i, name in enumerate(info.feature_names or [f"f{i}" for i in range(info.input_shape[0])]):
        column, sep, _ = name.partition("=")
        if sep and column in info.encoding:
            columns.setdefault(column, Column(column, [], True)).inputs.append(i)
        else:
            columns[name] = Column(name, [i], False)
    return list(columns.values())


@dataclass
class Judgement:
    rows: int
    columns: list[ColumnTest] = field(default_factory=list)
    multivariate: Mmd | None = None
    multivariate_on: str = "inputs"  # inputs | embedding
    predictions: dict[str, Any] = field(default_factory=dict)
    estimated: dict[str, Any] | None = None
    actual: dict[str, Any] | None = None
    alpha: float = 0.05
    too_small: bool = False

    @property
    def drifted(self) -> list[ColumnTest]:
        return sorted((t for t in self.columns if t.drift), key=lambda t: t.adjusted_p)

    @property
    def joint_drift(self) -> bool:
        return self.multivariate is not None and self.multivariate.p_value <= self.alpha_joint

    @property
    def alpha_joint(self) -> float:
        return self.alpha * (1 - COLUMN_SHARE) if self.columns else self.alpha

    @property
    def data_drift(self) -> bool:
        return bool(self.drifted) or self.joint_drift


def judge(
    run: Run,
    reference: Reference,
    columns: list[Column],
    X: np.ndarray,
    y: np.ndarray | None,
    *,
    alpha: float,
    effects: bool,
    seed: int = 0,
) -> Judgement:
    """Compare one window (`X` raw rows, `y` labels or None) with the reference."""
    verdict = Judgement(len(X), alpha=alpha)
    if len(X) < MIN_ROWS:
        verdict.too_small = True
        return verdict
    rng = np.random.default_rng(seed)
    info = run.info
    if reference.X is not None:
        judge_inputs(verdict, columns, reference.X, on_grid(X, info), rng, effects=effects)
    inputs = standardise(fill_missing(X, info)[0], info)
    if reference.embedding is not None and len(reference.embedding):
        current = embed(run.model, inputs)
        verdict.multivariate = _stats.mmd_test(reference.embedding, current, rng)
        verdict.multivariate_on = "embedding"
    outputs = _outputs(run, inputs)
    if info.task == "classification" and reference.val_probabilities is not None:
        probabilities = calibrated(outputs, reference.temperature)
        verdict.predictions = _prediction_drift(reference.val_probabilities, probabilities, alpha)
        verdict.predictions["classes"] = list(info.classes)
        verdict.estimated = _estimate(reference, probabilities, alpha, rng)
        if y is not None:
            verdict.actual = _actual(reference, probabilities.argmax(1), y, alpha)
    elif reference.val_predictions is not None:
        predicted = outputs.reshape(-1) * info.y_std + info.y_mean
        ks = stats.ks_2samp(reference.val_predictions, predicted)
        verdict.predictions = {
            "tests": [
                {
                    "name": "prediction",
                    "test": "ks",
                    "statistic": float(ks.statistic),
                    "p_value": float(ks.pvalue),
                }
            ],
            "drift": bool(ks.pvalue <= alpha),
        }
        if y is not None:
            verdict.actual = {"mae": float(np.nanmean(np.abs(predicted - y)))}
    return verdict


def _prediction_drift(ref: np.ndarray, cur: np.ndarray, alpha: float) -> dict[str, Any]:
    """Predicted classes (χ²) and confidence (KS), Holm over the two."""
    classes = _stats.chi2_test("predicted class", ref.argmax(1), cur.argmax(1))
    confidence = _stats.ks_test("confidence", ref.max(1), cur.max(1))
    _stats.decide([classes, confidence], alpha)
    n = ref.shape[1]
    return {
        "tests": [t.to_dict() for t in (classes, confidence)],
        "drift": classes.drift or confidence.drift,
        "reference_shares": (np.bincount(ref.argmax(1), minlength=n) / len(ref)).tolist(),
        "current_shares": (np.bincount(cur.argmax(1), minlength=n) / len(cur)).tolist(),
    }


def _estimate(
    reference: Reference, probabilities: np.ndarray, alpha: float, rng: np.random.Generator
) -> dict[str, Any]:
    """CBPE: the expected accuracy of calibrated probabilities is their mean top probability.
    The clean range is the α-quantile of the difference between two bootstrapped means of
    validation confidence, one over a window of this size and one over the validation
    rows: a drop is flagged only beyond what chance gives at this size, and of at least
    `MIN_ESTIMATED_DROP` (a model 99.99% sure of its validation rows, estimated at 99.5% on
    clean new rows, was warned of a drop)."""
    ref_confidence = reference.val_probabilities.max(1)
    n, size = len(probabilities), (ESTIMATE_BOOTSTRAP, len(ref_confidence))
    clean = rng.choice(ref_confidence, (ESTIMATE_BOOTSTRAP, n)).mean(1)
    clean -= rng.choice(ref_confidence, size).mean(1)  # the reference's own noise too
    estimate = float(probabilities.max(1).mean())
    lower = float(ref_confidence.mean() + np.quantile(clean, alpha))
    return {
        "accuracy": estimate,
        "reference": float(ref_confidence.mean()),
        "clean_lower": lower,
        "drop": bool(estimate < min(lower, ref_confidence.mean() - MIN_ESTIMATED_DROP)),
        "temperature": reference.temperature,
    }


def _actual(
    reference: Reference, predicted: np.ndarray, y: np.ndarray, alpha: float
) -> dict[str, Any] | None:
    """Accuracy on labelled rows against the test split's, one-sided Fisher exact test
    (a row whose label is missing, `UNLABELLED`, is left out; none labelled: no test)."""
    labelled = y != UNLABELLED
    predicted, y = predicted[labelled], y[labelled]
    if not len(y):
        return None
    correct = int((predicted == y).sum())
    actual: dict[str, Any] = {"accuracy": correct / len(y), "rows": len(y)}
    if reference.test_counts is not None:
        ref_correct, ref_rows = reference.test_counts
        table = [[correct, len(y) - correct], [ref_correct, ref_rows - ref_correct]]
        p_value = float(stats.fisher_exact(table, alternative="less").pvalue)
        actual |= {
            "reference": ref_correct / ref_rows,
            "change": correct / len(y) - ref_correct / ref_rows,
            "p_value": p_value,
            "drop": p_value <= alpha,
        }
    return actual


def judge_inputs(
    verdict: Judgement,
    columns: list[Column],
    ref: np.ndarray,
    X: np.ndarray,
    rng: np.random.Generator,
    *,
    effects: bool,
) -> None:
    """The table part of a judgement: each column's test (and effect sizes), Holm across
    them at 0.8 α, and MMD on whole rows."""
    for column in columns:
        ref_values, cur_values = column.values(ref), column.values(X)
        test = _stats.chi2_test if column.categorical else _stats.ks_test
        result = test(column.name, ref_values, cur_values)
        if effects:
            result.effect, result.threshold = _stats.effects(
                ref_values, cur_values, column.categorical, rng
            )
        verdict.columns.append(result)
    _stats.decide(verdict.columns, verdict.alpha * COLUMN_SHARE)
    verdict.multivariate = _stats.mmd_test(ref, X, rng)


@torch.no_grad()
def _outputs(run: Run, inputs: np.ndarray) -> np.ndarray:
    model = run.model.eval()
    device = next(model.parameters()).device
    chunks = [
        model(torch.from_numpy(inputs[i : i + 1024]).to(device)).float().cpu()
        for i in range(0, len(inputs), 1024)
    ]
    return torch.cat(chunks).numpy().astype(np.float64)
