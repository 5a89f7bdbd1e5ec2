"""Checks of single columns: missing values, constant features, feature scales, columns
left out of the inputs, text values written several ways."""

from __future__ import annotations

import re
import warnings
from collections import defaultdict

import numpy as np

from ...findings import Finding
from ._thresholds import Thresholds
from ._view import AuditData


def missing_values(data: AuditData, t: Thresholds) -> list[Finding]:
    """NaN or inf anywhere in the inputs of any split.

    Criterion: any non-finite value. Severity `error`: one NaN makes the loss NaN and training
    diverges; the remedies are `impute` (training medians) and `drop_missing`. Evidence: the
    training rows with a missing value (by source index), their count of missing values as
    score, and the count per column (all splits); an all-missing column is named separately.
    """
    X, (held, held_rows) = data.X, data.held_out
    missing = np.isnan(X)
    held_missing = np.isnan(held)
    total = int(missing.sum() + held_missing.sum())
    if not total:
        return []
    per_row = missing.sum(1)
    affected = np.flatnonzero(per_row)
    names = _names(data)
    per_column = missing.sum(0) + held_missing.sum(0)
    columns = {names[i]: int(per_column[i]) for i in np.flatnonzero(per_column)}
    empty = [names[i] for i in np.flatnonzero(missing.all(0))]
    held_affected = held_rows[held_missing.any(1)]
    what = f"{total} missing (NaN or inf) values in {len(columns)} columns"
    if empty:
        what += f"; column(s) {', '.join(empty[:5])} have no value at all"
    return [
        Finding(
            code="missing_values",
            severity="error",
            source="data",
            message=(
                f"{what}: training would turn them into a NaN loss. Add data.remedies: "
                "[impute] (training medians) or [drop_missing]."
            ),
            evidence={
                "rows": data.rows[affected].tolist(),
                "scores": per_row[affected].tolist(),
                "columns": columns,
                "empty_columns": empty,
                "held_out_rows": np.sort(held_affected).tolist(),
            },
        )
    ]


def constant_features(data: AuditData, t: Thresholds) -> list[Finding]:
    """Features that take a single value over the training rows.

    Criterion: at most one distinct finite value. They carry no information but do no harm
    (standardisation leaves them at 0), so the finding is `info` - digits ships with several
    blank border pixels - unless every feature is constant (`error`: nothing to learn from).
    """
    X = data.X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN spread
        spread = np.nanmax(X, axis=0) - np.nanmin(X, axis=0)
    constant = np.flatnonzero(~(spread > 0))  # NaN (all missing) counts as constant
    if not len(constant):
        return []
    names = _names(data)
    every = len(constant) == X.shape[1]
    return [
        Finding(
            code="constant_features",
            severity="error" if every else "info",
            source="data",
            message=(
                f"{len(constant)} of {X.shape[1]} features never change over the training rows"
                + (": there is nothing to learn from." if every else " and carry no information.")
            ),
            evidence={"features": [names[i] for i in constant], "columns": constant.tolist()},
        )
    ]


def identifier_columns(data: AuditData, t: Thresholds) -> list[Finding]:
    """Source columns the run left out of its inputs (`data._frames.unusable`): text with a
    value of its own in nearly every row — an identifier, a timestamp or free text, which a
    one-hot input can only memorise — dates and durations, or a saved index's row numbers.

    Criterion: decided when the file is loaded, over all its rows (the column's form, not its
    labels). Severity `warning`: the run goes on without them, but a column the user gave is
    not used, and its meaning (a date's month, a text's words) may matter as numbers.
    """
    left_out = data.data.info.left_out
    if not left_out:
        return []
    named = "; ".join(f"{column!r} ({why})" for column, why in list(left_out.items())[:5])
    more = f" ... ({len(left_out) - 5} more)" if len(left_out) > 5 else ""
    return [
        Finding(
            code="identifier_columns",
            severity="warning",
            source="data",
            message=(
                f"Left out of the inputs, which a network cannot learn from as they are: {named}"
                f"{more}. Drop them from the file, or encode what they mean (a date's month "
                "or weekday, a text's words) as columns of numbers."
            ),
            evidence={"columns": list(left_out), "reasons": list(left_out.values())},
        )
    ]


def many_categories(data: AuditData, t: Thresholds) -> list[Finding]:
    """Text columns with more distinct values than are one-hot (`data._files.MAX_CATEGORIES`,
    100): only the most frequent are inputs, the rest read as a value never seen.

    Criterion: decided when the file is loaded, over all its rows. Severity `warning`: what
    the rare values carry is lost (a network could only memorise a value seen on a few rows;
    grouping them, or a number per value, keeps it).
    """
    capped = data.data.info.capped
    if not capped:
        return []
    named = "; ".join(
        f"{column!r} ({int(c['categories']):,} values; the kept ones on {c['rows_kept']:.0%} "
        "of its rows)"
        for column, c in list(capped.items())[:5]
    )
    return [
        Finding(
            code="many_categories",
            severity="warning",
            source="data",
            message=(
                f"Too many distinct values to one-hot: {named}. Only the "
                f"{len(data.data.info.encoding[next(iter(capped))])} most frequent of each "
                "are inputs; the others read as a value never seen. Group the rare values "
                "(a region for a postcode), or encode them as numbers (a count or mean per "
                "value)."
            ),
            evidence={"columns": capped},
        )
    ]


def category_variants(data: AuditData, t: Thresholds) -> list[Finding]:
    """Text values that differ only in case or spacing (`Red`, `red`, `red `): one value
    written several ways is several classes of the target, or several one-hot inputs each
    learnt from part of its rows.

    Criterion: two or more class names, or categories of one text column, equal once
    case-folded with runs of spaces made one and the ends stripped. Severity `warning` for
    the target's classes (the network must tell apart what is one class), `info` for
    inputs. Evidence: each group of variants, by column (`target` for the classes).
    """
    info = data.data.info
    columns = dict(info.encoding)
    if data.task == "classification":
        columns = {"target": list(info.classes)} | columns
    found = {column: _variants(values) for column, values in columns.items()}
    found = {column: groups for column, groups in found.items() if groups}
    if not found:
        return []
    named = "; ".join(
        f"{'the classes' if column == 'target' else repr(column)}: "
        + ", ".join("/".join(map(repr, group)) for group in groups[:3])
        for column, groups in list(found.items())[:3]
    )
    return [
        Finding(
            code="category_variants",
            severity="warning" if "target" in found else "info",
            source="data",
            message=(
                f"Values that differ only in case or spacing are told apart: {named}. If "
                "each group is one value, write it one way in the file."
            ),
            evidence={"columns": found},
        )
    ]


def _variants(values: list[str]) -> list[list[str]]:
    """Groups of two or more `values` equal but for case and spacing."""
    groups: dict[str, list[str]] = defaultdict(list)
    for value in values:
        groups[re.sub(r"\s+", " ", str(value)).strip().casefold()].append(str(value))
    return [group for group in groups.values() if len(group) > 1]


def unscaled_features(data: AuditData, t: Thresholds) -> list[Finding]:
    """Feature scales far apart, or far from unit scale.

    Criterion: the largest over the smallest standard deviation of the non-constant features
    exceeds `scale_ratio` (100), or some feature's |mean| or std exceeds `scale_magnitude`
    (100). Large or uneven inputs make gradients uneven across weights (Cockpit's
    preprocessing example; DeepDiagnosis wants inputs in [-1, 1]). Severity `warning`, or
    `info` when the run standardises its inputs anyway (`data.standardize`, the default).
    Evidence: the features by scale, largest first.
    """
    mean, std = (np.nan_to_num(v) for v in _moments(data))
    varying = np.flatnonzero(std > 1e-8)
    if not len(varying):
        return []
    scale = np.maximum(np.abs(mean), std)
    ratio = float(std[varying].max() / std[varying].min())
    magnitude = float(scale.max())
    if ratio <= t.scale_ratio and magnitude <= t.scale_magnitude:
        return []
    names = _scale_names(data, len(std))
    order = varying[np.argsort(-scale[varying])]
    handled = data.standardized
    return [
        Finding(
            code="unscaled_features",
            severity="info" if handled else "warning",
            source="data",
            message=(
                (
                    f"Feature scales are far apart (std ratio {ratio:.3g}, largest |mean| or "
                    f"std {magnitude:.3g})"
                    if ratio > t.scale_ratio
                    else f"Features are far from unit scale (largest |mean| or std "
                    f"{magnitude:.3g}, std ratio {ratio:.3g})"
                )
                + (
                    "; the run standardises them."
                    if handled
                    else ": set data.standardize: true or add data.remedies: [standardize]."
                )
            ),
            evidence={
                "std_ratio": round(ratio, 4),
                "largest_scale": round(magnitude, 4),
                "features": [names[i] for i in order[:20]],
                "scales": [round(float(scale[i]), 4) for i in order[:20]],
            },
            remedy="standardize" if handled else None,
            resolved=handled,
        )
    ]


def _moments(data: AuditData) -> tuple[np.ndarray, np.ndarray]:
    """Per feature for tables, per channel for images (what the run would standardise)."""
    X = data.data.train.X
    axes = (0, 2, 3) if X.ndim == 4 else 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        Xf = np.where(np.isfinite(X), X, np.nan).astype(np.float64)
        return np.nanmean(Xf, axis=axes), np.nanstd(Xf, axis=axes)


def _names(data: AuditData) -> list[str]:
    """Column names of the flat matrix: the table's, or `pixel i` for images."""
    names = data.data.info.feature_names
    if len(names) == data.X.shape[1]:
        return names
    return [
        f"pixel {i}" if data.data.train.X.ndim == 4 else f"f{i}" for i in range(data.X.shape[1])
    ]


def _scale_names(data: AuditData, n: int) -> list[str]:
    return [f"channel {i}" for i in range(n)] if data.data.train.X.ndim == 4 else _names(data)
