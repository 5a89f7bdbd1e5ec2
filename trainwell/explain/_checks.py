"""Pure checks of an explanation's measurements: each returns Findings (source `evaluation`).

Criteria and thresholds, in one place:
- `unfaithful_explanation` (warning), faithfulness: the deletion AUC of the attribution
  order is not at least `1 - max_deletion_ratio` (10%) below a random order's. Judged only
  when removing every input moves the probability by `min_drop` (0.1) or more: a model that
  ignores deletion cannot tell a good order from a bad one.
- `unfaithful_explanation` (warning), sanity: attributions of the fully re-initialised model
  still rank-correlate `max_rank_correlation` (0.5) or more with the trained model's.
- `unfaithful_explanation` (warning), pointing game: on sources with defect masks, the maps'
  maxima fall on the true defect for less than `min_pointing` (0.5) of at least
  `min_pointing_rows` (10) correctly detected defects.
- `group_performance_gap` (warning): the best judged group beats the worst by more than
  `max_gap` (0.1, i.e. 10 points) on accuracy, macro-F1, true or false positive rate, and
  the bootstrap interval of that difference excludes zero. Selection rates differ with each
  group's base rate: their difference is reported, not flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..findings import Finding
from ._groups import LOWER_IS_BETTER, GroupReport
from ._pointing import PointingGame
from ._trust import Faithfulness, Sanity


@dataclass(frozen=True)
class Thresholds:
    max_deletion_ratio: float = 0.9
    min_drop: float = 0.1
    max_rank_correlation: float = 0.5
    max_gap: float = 0.1
    min_pointing: float = 0.5
    min_pointing_rows: int = 10


def check_faithfulness(
    faith: Faithfulness | None, method: str, thresholds: Thresholds = Thresholds()
) -> list[Finding]:
    if faith is None or faith.start - faith.end < thresholds.min_drop:
        return []
    if faith.ratio <= thresholds.max_deletion_ratio:
        return []
    return _unfaithful(
        "deletion",
        method,
        f"removing inputs in the order {method} ranks them lowers the prediction hardly "
        f"faster than a random order (deletion AUC {faith.deletion_auc:.3f} vs "
        f"{faith.random_deletion_auc:.3f} at random): the map does not show what the "
        "model relies on",
        deletion_auc=faith.deletion_auc,
        random_deletion_auc=faith.random_deletion_auc,
        ratio=faith.ratio,
        threshold=thresholds.max_deletion_ratio,
    )


def check_sanity(
    sanity: Sanity | None, method: str, thresholds: Thresholds = Thresholds()
) -> list[Finding]:
    if sanity is None or sanity.randomized_rank_correlation < thresholds.max_rank_correlation:
        return []
    return _unfaithful(
        "randomisation",
        method,
        f"{method} maps barely change when every weight is re-initialised (rank "
        f"correlation {sanity.randomized_rank_correlation:.2f} with the trained model's): "
        "they reflect the input more than the model",
        randomized_rank_correlation=sanity.randomized_rank_correlation,
        threshold=thresholds.max_rank_correlation,
    )


def check_groups(
    report: GroupReport | None, thresholds: Thresholds = Thresholds()
) -> list[Finding]:
    """One finding per grouping column: the first gapped metric (accuracy, macro-F1, TPR,
    FPR) in the message, every gapped metric in the evidence."""
    if report is None:
        return []
    gapped = {
        metric: gap
        for metric, gap in report.gaps.items()
        if gap.get("gap") is not None and gap["gap"] > thresholds.max_gap and gap["ci"][0] > 0
    }
    if not gapped:
        return []
    metric, gap = next(iter(gapped.items()))
    worse = "higher" if metric in LOWER_IS_BETTER else "lower"
    also = [m.replace("_", " ") for m in gapped if m != metric]
    return [
        Finding(
            "group_performance_gap",
            "warning",
            "evaluation",
            f"{metric.replace('_', ' ')} is {gap['gap']:.1%} {worse} for "
            f"{_group(report.column, gap['worst'])} than for "
            f"{_group(report.column, gap['best'])} (95% interval of the gap "
            f"{gap['ci'][0]:.1%} to {gap['ci'][1]:.1%})"
            + (f"; also a gap in {', '.join(also)}" if also else ""),
            {
                "column": report.column,
                "metric": metric,
                **gap,
                "metrics": gapped,
                "threshold": thresholds.max_gap,
                "too_small": report.too_small,
            },
        )
    ]


def _group(column: str, group: str) -> str:
    """`site = B`; a halved numeric column's group already names its column."""
    return group if group.startswith(f"{column} ") else f"{column} = {group}"


def check_pointing(
    game: PointingGame | None, method: str, thresholds: Thresholds = Thresholds()
) -> list[Finding]:
    if game is None or game.score is None or game.rows < thresholds.min_pointing_rows:
        return []
    if game.score >= thresholds.min_pointing:
        return []
    return _unfaithful(
        "pointing_game",
        method,
        f"the {method} maps point at the true defect for only {game.hits} of {game.rows} "
        f"correctly detected defects ({game.score:.0%}; a random point: "
        f"{game.chance:.0%}): the map, or the model, does not look at the defect",
        score=game.score,
        rows=game.rows,
        chance=game.chance,
        threshold=thresholds.min_pointing,
    )


def _unfaithful(check: str, method: str, message: str, **evidence: Any) -> list[Finding]:
    """The finding of an explanation check that failed: which check, for which method."""
    return [
        Finding(
            "unfaithful_explanation",
            "warning",
            "evaluation",
            message,
            {"check": check, "method": method, **evidence},
        )
    ]
