"""Checks built on distances between rows: duplicates, train/test leakage, outliers."""

from __future__ import annotations

import math

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ...findings import Finding
from ._thresholds import Thresholds
from ._view import AuditData, canonical


def duplicates(data: AuditData, t: Thresholds) -> list[Finding]:
    """Training rows equal or nearly equal to another training row.

    Exact: identical inputs. Near: closer to another row than `near_duplicate` (0.13) times
    the median nearest-neighbour distance, in the standardised space (cleanlab's
    near-duplicate criterion; less in few dimensions, `near_radius`), found by radius
    queries of a k-d tree of the distinct rows.
    `warning` above `duplicate_fraction` (1%) of the rows, else `info`; the remedy
    `drop_duplicates` keeps the first row of each group. Evidence: the rows that would go
    (all but the first of each group), with their distance to the kept row as score, the
    groups, and how many groups disagree on the label.
    """
    if len(data.X) < 2:
        return []
    cut = near_radius(data, t)
    exact = data.distinct[1]
    groups = _union(len(data.X), exact, _near_pairs(data, cut))
    if not groups:
        return []
    dropped = np.array(sorted(p for g in groups for p in g[1:]), dtype=int)
    first = {p: g[0] for g in groups for p in g[1:]}
    space = data.X_space
    score = [float(np.linalg.norm(space[p] - space[first[p]])) for p in dropped]
    conflicting = sum(len(set(data.y[g].tolist())) > 1 for g in groups)
    n_exact = sum(len(g) - 1 for g in _grouped(exact) if len(g) > 1)
    share = len(dropped) / len(data.X)
    return [
        Finding(
            code="duplicates",
            severity="warning" if share > t.duplicate_fraction else "info",
            source="data",
            message=(
                f"{len(dropped)} training rows ({share:.1%}) repeat another row ({n_exact} "
                f"exactly), in {len(groups)} groups"
                + (f", {conflicting} with conflicting labels" if conflicting else "")
                + ": add data.remedies: [drop_duplicates]."
            ),
            evidence={
                "rows": data.rows[dropped].tolist(),
                "scores": [round(s, 4) for s in score],
                "groups": [data.rows[g].tolist() for g in groups[:100]],
                "exact": n_exact,
                "conflicting_labels": conflicting,
                "threshold": round(cut, 6),
            },
        )
    ]


def train_test_leakage(data: AuditData, t: Thresholds) -> list[Finding]:
    """Training rows equal or nearly equal to a validation or test row.

    Same criterion as near duplicates (within `near_radius` of a training row, or
    identical): identical rows by hashing, near ones by a radius query of the training
    rows' k-d tree. A `warning` when one source row is in two splits
    (a copy), or when more than `leakage_fraction` (2%) of the held-out rows have a twin in
    training: the held-out scores then overstate what the model does on new data. A few
    coincidences (iris has two identical flowers) are `info`. The remedy `drop_leakage`
    drops the training rows. Evidence: the training rows, their distance as score, and the
    held-out row each one matches.
    """
    held, held_rows = data.held_out
    if not len(held) or not len(data.X):
        return []
    cut = near_radius(data, t)
    distance, position = _nearest_within(data, data.space(held), cut)
    train_hash = {row.tobytes(): i for i, row in enumerate(canonical(data.X))}
    for j, row in enumerate(canonical(held)):
        i = train_hash.get(row.tobytes())
        if i is not None:
            distance[j], position[j] = 0.0, i
    hit = np.flatnonzero(distance <= cut)
    if not len(hit):
        return []
    best: dict[int, tuple[float, int]] = {}
    for j in hit:
        i = int(position[j])
        if i not in best or distance[j] < best[i][0]:
            best[i] = (float(distance[j]), int(held_rows[j]))
    train_pos = np.array(sorted(best), dtype=int)
    copies = int(sum(data.rows[i] == best[i][1] for i in train_pos))
    share = len(hit) / len(held)
    return [
        Finding(
            code="train_test_leakage",
            severity="warning" if copies or share > t.leakage_fraction else "info",
            source="data",
            message=(
                f"{len(train_pos)} training rows equal or nearly equal {len(hit)} validation or "
                f"test rows ({share:.1%}"
                + (f"; {copies} are the same source row" if copies else "")
                + "), so held-out scores are optimistic: add data.remedies: [drop_leakage]."
            ),
            evidence={
                "rows": data.rows[train_pos].tolist(),
                "scores": [round(best[i][0], 4) for i in train_pos],
                "matches": [best[i][1] for i in train_pos],
                "same_source_rows": copies,
                "threshold": round(cut, 6),
            },
        )
    ]


def outliers(data: AuditData, t: Thresholds) -> list[Finding]:
    """Training rows far from all others.

    Score: mean distance to the `outlier_neighbours` (5) nearest training rows in the
    standardised space. Outliers lie past Tukey's far-out fence Q3 + 3 IQR of the scores —
    of a classifier's rows, the scores of their own class (`_fences`): a class whose
    examples vary more (rings drawn at any size, beside blobs) has its rows farther apart
    throughout, and they are its examples, not outliers. Every real table has a few, so
    they are `info` unless more than `outlier_fraction` (5%) of the rows are outliers
    (`warning`: a heavy-tailed or mixed-up feature). Evidence: the rows, most distant
    first, with their scores.
    """
    if len(data.X) < 2 * t.outlier_neighbours:
        return []
    score = data.neighbours[0][:, : t.outlier_neighbours].mean(1)
    fence = _fences(score, data, t)
    far = np.flatnonzero(score > fence)
    if not len(far):
        return []
    far = far[np.argsort(-score[far])]
    share = len(far) / len(score)
    return [
        Finding(
            code="outliers",
            severity="warning" if share > t.outlier_fraction else "info",
            source="data",
            message=(
                f"{len(far)} training rows ({share:.1%}) lie far from all others "
                "(past Q3 + 3 IQR of the distance to their nearest neighbours"
                f"{', among the rows of their class' if data.task == 'classification' else ''}"
                "): look at them."
            ),
            evidence={
                "rows": data.rows[far].tolist(),
                "scores": [round(float(s), 4) for s in score[far]],
                "fence": round(float(fence[far].min()), 4),
            },
        )
    ]


def _fences(score: np.ndarray, data: AuditData, t: Thresholds) -> np.ndarray:
    """Per row, the fence its score is judged against: Q3 + `outlier_iqr` IQR of the scores
    of its class (of every row's, for a regression, or a class of fewer than 4 x
    `outlier_neighbours` rows); inf where most of those scores are one value, and for every
    row where most of all the rows' are (rows that repeat: a categorical table), which says
    nothing."""

    def fence(values: np.ndarray) -> float:
        q1, q3 = np.percentile(values, [25, 75])
        return q3 + t.outlier_iqr * (q3 - q1) if q3 > q1 else math.inf

    fences = np.full(len(score), fence(score))
    if data.task != "classification" or np.isinf(fences[0]):
        return fences
    for label in np.unique(data.y):
        rows = data.y == label
        if rows.sum() >= 4 * t.outlier_neighbours:
            fences[rows] = fence(score[rows])
    return fences


def near_radius(data: AuditData, t: Thresholds) -> float:
    """How close a row must be to another to be a near copy: `near_duplicate` times the
    median nearest-neighbour distance, or less where so many rows would be that close by
    chance alone (`near_chance`, at the rows' intrinsic dimension `AuditData.dimension`):
    one continuous column of 1,000 random rows had 4% of them "repeat another row"."""
    chance = (t.near_chance / math.log(2)) ** (1 / data.dimension)
    return min(t.near_duplicate, chance) * data.typical_distance


_BATCH = 10_000  # rows per radius query: bounds the memory of the answers


def _near_pairs(data: AuditData, cut: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of distinct training rows (the first of each identical group) within `cut`."""
    first = data.distinct[0]
    a, b = [np.zeros(0, dtype=int)], [np.zeros(0, dtype=int)]
    if cut > 0:
        space = data.X_space[first]
        for start in range(0, len(first), _BATCH):
            found = data.tree.query_radius(space[start : start + _BATCH], cut)
            sizes = [len(v) for v in found]
            a.append(np.repeat(np.arange(start, start + len(found)), sizes))
            b.append(np.concatenate(found))
    a_, b_ = np.concatenate(a), np.concatenate(b)
    other = a_ != b_
    return first[a_[other]], first[b_[other]]


def _nearest_within(data: AuditData, X: np.ndarray, cut: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance to the nearest training row within `cut` (inf if none) and its position."""
    distance, position = np.full(len(X), np.inf), np.zeros(len(X), dtype=int)
    if cut <= 0:
        return distance, position
    first = data.distinct[0]
    for start in range(0, len(X), _BATCH):
        found, dist = data.tree.query_radius(X[start : start + _BATCH], cut, return_distance=True)
        for j, (vs, ds) in enumerate(zip(found, dist, strict=True)):
            if len(vs):
                distance[start + j], position[start + j] = ds.min(), first[vs[ds.argmin()]]
    return distance, position


def _grouped(ids: np.ndarray) -> list[list[int]]:
    order = np.argsort(ids, kind="stable")
    bounds = np.flatnonzero(np.diff(ids[order])) + 1
    return [part.tolist() for part in np.split(order, bounds)]


def _union(n: int, exact: np.ndarray, pairs: tuple[np.ndarray, np.ndarray]) -> list[list[int]]:
    """Connected groups of rows joined by exact equality or a near pair (each sorted)."""
    order = np.argsort(exact, kind="stable")
    same = exact[order][1:] == exact[order][:-1]  # consecutive rows of one exact group
    a = np.concatenate([order[:-1][same], pairs[0]]).astype(int)
    b = np.concatenate([order[1:][same], pairs[1]]).astype(int)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return [g for g in _grouped(labels) if len(g) > 1]
