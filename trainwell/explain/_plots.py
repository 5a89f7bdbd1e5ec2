"""PNG figures written into `explain/` (matplotlib's Agg canvas, no pyplot state): what a
person would rather look at than read. The run's report embeds the same files."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._importance import Importance
from ._trust import Faithfulness

BLUE, ORANGE, VERMILLION, GREY = "#0072B2", "#E69F00", "#D55E00", "#555555"
SHOWN = 15


def _save(fig: Figure, path: Path) -> None:
    """Save as PNG. Names in a script the font lacks (CJK, emoji) are drawn as boxes, as
    matplotlib draws them, without its warning per missing glyph on the terminal."""
    FigureCanvasAgg(fig)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(path, dpi=110)


def importance_plot(found: list[Importance], path: Path) -> None:
    shown = found[:SHOWN][::-1]
    names = [i.feature for i in shown]
    fig = Figure(figsize=(9, 0.3 * len(shown) + 1.4), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    left.barh(names, [i.importance for i in shown], xerr=[i.spread for i in shown], color=BLUE)
    left.set_title("permutation importance")
    left.set_xlabel("test score lost when shuffled (± std over repeats)")
    total = sum(i.attribution for i in found) or 1.0
    right.barh(names, [i.attribution / total for i in shown], color=ORANGE)
    right.set_title("mean |attribution|")
    right.set_xlabel("share of all attribution")
    _save(fig, path)


def deletion_plot(faith: Faithfulness, method: str, path: Path) -> None:
    fig = Figure(figsize=(5.5, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(faith.fractions, faith.deletion_curve, color=BLUE, label=f"{method} order")
    ax.plot(faith.fractions, faith.random_curve, color=GREY, ls="--", label="random order")
    ax.set_xlabel("fraction of inputs removed (set to the baseline)")
    ax.set_ylabel("probability of the predicted class")
    ax.set_title(
        f"deletion AUC {faith.deletion_auc:.3f} vs {faith.random_deletion_auc:.3f} at random"
    )
    ax.legend()
    _save(fig, path)


def maps_plot(
    raw: np.ndarray,
    maps: np.ndarray,
    y: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    classes: list[str],
    path: Path,
    per_kind: int = 6,
) -> None:
    """Inputs over their maps: the most confident mistakes first, then the most confident
    correct predictions."""
    wrong = np.flatnonzero(predicted != y)
    right = np.flatnonzero(predicted == y)
    picked = [
        *wrong[np.argsort(-confidence[wrong])][:per_kind],
        *right[np.argsort(-confidence[right])][:per_kind],
    ]
    fig = Figure(figsize=(1.6 * len(picked) + 0.4, 3.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2, len(picked), squeeze=False))
    for col, i in enumerate(picked):
        image = raw[i].transpose(1, 2, 0) if raw[i].shape[0] == 3 else raw[i][0]
        top, bottom = axes[0, col], axes[1, col]
        top.imshow(image, cmap=None if raw[i].shape[0] == 3 else "gray_r")
        colour = VERMILLION if predicted[i] != y[i] else BLUE
        top.set_title(
            f"{classes[predicted[i]]} ({confidence[i]:.0%})\ntrue {classes[y[i]]}",
            color=colour,
            fontsize=8,
        )
        bottom.imshow(maps[i], cmap="cividis")
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("attribution", fontsize=8)
    _save(fig, path)


def groups_plot(column: str, metrics: dict[str, dict[str, Any]], path: Path) -> None:
    names = list(metrics)
    values = [metrics[g]["accuracy"] or 0.0 for g in names]
    low = [v - (metrics[g]["accuracy_ci"][0] or v) for g, v in zip(names, values, strict=True)]
    high = [(metrics[g]["accuracy_ci"][1] or v) - v for g, v in zip(names, values, strict=True)]
    colours = [BLUE if metrics[g]["judged"] else GREY for g in names]
    fig = Figure(figsize=(6, 0.35 * len(names) + 1.4), layout="constrained")
    ax = fig.subplots()
    ax.barh(names, values, xerr=[low, high], color=colours)
    ax.set_xlim(0, 1)
    ax.set_xlabel("test accuracy (95% bootstrap interval; grey: too few rows to judge)")
    ax.set_title(f"accuracy by {column}")
    _save(fig, path)
