"""Findings of a monitored window: `data_drift`, `prediction_drift`, `performance_drop`
(source `deployment`), each naming what moved, by how much, and the remedy; and `info`
findings for what the tests could not judge."""

from __future__ import annotations

from ...findings import Finding
from ._judge import MIN_ROWS, Judgement
from ._stats import ColumnTest

SHOWN = 5  # features named in a message
REMEDY = "retrain"


def monitor_findings(judged: Judgement, notes: list[str], retrain_hint: str) -> list[Finding]:
    found = [_info("data_drift", note) for note in notes]
    if judged.too_small:
        return [
            *found,
            _info(
                "data_drift",
                f"the window has {judged.rows} rows: too few to judge (the tests need at "
                f"least {MIN_ROWS}); nothing was tested",
            ),
        ]
    for check in (data_drift, prediction_drift, performance_drop):
        finding = check(judged, retrain_hint)
        if finding is not None:
            found.append(finding)
    return found


def data_drift(judged: Judgement, hint: str) -> Finding | None:
    """Criterion: a column's Holm-adjusted p-value <= 0.8 α, or the multivariate test's
    p-value <= 0.2 α (all of α for images): a clean window alarms with probability <= α."""
    if not judged.data_drift:
        return None
    drifted = judged.drifted
    parts = []
    if drifted:
        named = "; ".join(_column(t) for t in drifted[:SHOWN])
        more = f" and {len(drifted) - SHOWN} more" if len(drifted) > SHOWN else ""
        parts.append(f"{len(drifted)} of {len(judged.columns)} features drifted: {named}{more}")
    mmd = judged.multivariate
    if judged.joint_drift and mmd is not None:
        what = (
            "the network's embedding of the inputs"
            if judged.multivariate_on == "embedding"
            else "the rows as a whole"
        )
        alone = (
            ""
            if drifted
            else " although no single feature did: the relations between features changed"
        )
        parts.append(f"{what} moved (MMD p = {mmd.p_value:.3g}){alone}")
    return Finding(
        code="data_drift",
        severity="warning",
        source="deployment",
        message=(
            f"The inputs moved away from the training data on {judged.rows} rows: "
            f"{'; '.join(parts)}. Check the data pipeline for a broken feature first; if the "
            f"world changed, retrain on recent labelled rows ({hint})."
        ),
        evidence={
            "features": [t.to_dict() for t in drifted],
            "multivariate": mmd.to_dict() if mmd else None,
            "alpha": judged.alpha,
            "rows": judged.rows,
        },
        remedy=REMEDY,
    )


def prediction_drift(judged: Judgement, hint: str) -> Finding | None:
    """Criterion: predicted classes (χ²) or confidence (KS) differ from the validation
    split's, Holm-adjusted p <= α (regression: KS of the predictions)."""
    predictions = judged.predictions
    if not predictions.get("drift"):
        return None
    tests = [t for t in predictions["tests"] if t.get("drift", True)]
    named = ", ".join(f"{t['name']} ({t['test']} p = {t['p_value']:.3g})" for t in tests)
    shares = ""
    if "current_shares" in predictions:
        ref, cur = predictions["reference_shares"], predictions["current_shares"]
        moved = max(range(len(cur)), key=lambda k: abs(cur[k] - ref[k]))
        names = predictions.get("classes") or [str(k) for k in range(len(cur))]
        shares = (
            f"; class {names[moved]!r} is predicted for {100 * cur[moved]:.1f}% of rows against "
            f"{100 * ref[moved]:.1f}% on validation rows"
        )
    return Finding(
        code="prediction_drift",
        severity="warning",
        source="deployment",
        message=(
            f"The model's outputs changed on {judged.rows} rows: {named}{shares}. Unless the "
            f"mix of cases really changed, the model now sees inputs it was not trained on "
            f"({hint})."
        ),
        evidence=predictions,
        remedy=REMEDY,
    )


def performance_drop(judged: Judgement, hint: str) -> Finding | None:
    """Criterion, with labels: accuracy below the test split's, one-sided Fisher p <= α
    (an error). Without labels: the CBPE estimate below the α-quantile of clean windows of
    the same size (a warning: it assumes P(label | inputs) did not change)."""
    actual, estimated = judged.actual or {}, judged.estimated or {}
    if actual.get("drop"):
        gap = ""
        if estimated:
            gap = f" (the label-free estimate said {100 * estimated['accuracy']:.1f}%)"
        return Finding(
            code="performance_drop",
            severity="error",
            source="deployment",
            message=(
                f"Accuracy on {actual['rows']} labelled rows is {100 * actual['accuracy']:.1f}% "
                f"against {100 * actual['reference']:.1f}% on the test split (Fisher p = "
                f"{actual['p_value']:.3g}){gap}. Retrain on these labelled rows ({hint})."
            ),
            evidence={"actual": actual, "estimated": estimated or None},
            remedy=REMEDY,
        )
    if estimated.get("drop") and not actual:
        return Finding(
            code="performance_drop",
            severity="warning",
            source="deployment",
            message=(
                f"Estimated accuracy without labels is {100 * estimated['accuracy']:.1f}% "
                f"against {100 * estimated['reference']:.1f}% on validation rows (below "
                f"{100 * estimated['clean_lower']:.1f}%, what {100 * (1 - judged.alpha):.0f}% of "
                "clean windows of this "
                "size reach). The estimate reads calibrated confidence and cannot see a "
                f"change in what the labels mean: label a sample to confirm ({hint})."
            ),
            evidence={"estimated": estimated},
            remedy=REMEDY,
        )
    return None


def _column(test: ColumnTest) -> str:
    name = "KS" if test.test == "ks" else "χ²"
    effects = []
    for key, label in (("psi", "PSI"), ("wasserstein", "Wasserstein"), ("js", "JS")):
        value = (test.effect or {}).get(key)
        if value is not None:
            limit = (test.threshold or {}).get(key)
            clean = f" (clean ≤ {limit:.3g})" if limit is not None else ""
            unit = "σ" if key == "wasserstein" else ""
            effects.append(f"{label} {value:.3g}{unit}{clean}")
    shown = f", {', '.join(effects)}" if effects else ""
    return f"{test.name} ({name} p = {test.adjusted_p:.2g} after Holm{shown})"


def _info(code: str, message: str) -> Finding:
    return Finding(code=code, severity="info", source="deployment", message=message)
