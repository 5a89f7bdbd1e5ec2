"""The monitoring folder: monitor.json (the `--json` object), distributions.png (reference
against current for the features that moved most) and timeline.png (per window). Written
under a temporary name, then renamed: a reader never sees half of it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ...runs import staged_dir, write_json

if TYPE_CHECKING:
    from ._monitor import Monitoring

REFERENCE, CURRENT, ALARM = "#0072B2", "#E69F00", "#D55E00"  # Okabe-Ito


def write_monitor_dir(result: Monitoring) -> Path:
    final = Path(result.out_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    with staged_dir(final) as staging:
        write_json(staging / "monitor.json", result.summary())
        if result.distributions:
            _distributions(result, staging / "distributions.png")
        if len(result.timeline) > 1:
            _timeline(result, staging / "timeline.png")
    return final


def _distributions(result: Monitoring, path: Path) -> None:
    shown = result.distributions
    cols = min(3, len(shown))
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    for ax, (name, d) in zip(axes.ravel(), shown.items(), strict=False):
        ref, cur = d["reference"], d["current"]
        if d["categorical"]:
            size = int(max(ref.max(initial=0), cur.max(initial=0))) + 1
            at = np.arange(size)
            ax.bar(at - 0.2, np.bincount(ref, minlength=size) / len(ref), 0.4, color=REFERENCE)
            ax.bar(at + 0.2, np.bincount(cur, minlength=size) / len(cur), 0.4, color=CURRENT)
        else:
            ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
            both = np.concatenate([ref, cur])
            edges = np.histogram_bin_edges(both, bins=30) if len(both) else 10
            ax.hist(ref, edges, density=True, alpha=0.5, color=REFERENCE, label="reference")
            ax.hist(cur, edges, density=True, alpha=0.5, color=CURRENT, label="current")
        colour = ALARM if d["adjusted_p"] <= result.judged.alpha else "black"
        ax.set_title(f"{name}\nHolm p = {d['adjusted_p']:.2g}", fontsize=8, color=colour)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(shown) :]:
        ax.axis("off")
    axes[0][0].legend(["reference", "current"], fontsize=7, frameon=False)
    fig.suptitle("Training reference against the monitored rows (most moved first)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _timeline(result: Monitoring, path: Path) -> None:
    points = [p for p in result.timeline if p["judged"]]
    fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    x = [p["start"] for p in points]
    estimated = [p["estimated_accuracy"] for p in points]
    if any(v is not None for v in estimated):
        values = [100 * (v if v is not None else np.nan) for v in estimated]
        ax.plot(x, values, "o-", color=REFERENCE, label="estimated accuracy (no labels)")
    actual = [p["accuracy"] for p in points]
    if any(v is not None for v in actual):
        values = [100 * (v if v is not None else np.nan) for v in actual]
        ax.plot(x, values, "s-", color=CURRENT, label="accuracy (labels)")
    ax.set_ylabel("accuracy (%)")
    for p in points:
        if p["data_drift"] or p["prediction_drift"]:
            ax.axvspan(p["start"], p["start"] + p["rows"], color=ALARM, alpha=0.12, lw=0)
    ax.set_xlabel("row of DATA at the start of each window (shaded: drift alarm)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"{len(points)} windows of the monitored rows", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
