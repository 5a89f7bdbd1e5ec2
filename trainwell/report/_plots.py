"""Figures as inline SVG data URIs: no pyplot state, no files, no network.

Colours are Okabe-Ito (distinguishable with every common colour-vision deficiency);
heat maps use cividis, which is perceptually uniform and colour-blind safe.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, GREY = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#555555",
)
_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "svg.hashsalt": "trainwell",  # identical runs give identical pages
    "figure.dpi": 100,
}


@contextmanager
def figure(width: float, height: float, ncols: int = 1) -> Iterator[tuple[Figure, list[Axes]]]:
    with matplotlib.rc_context(_STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(1, ncols, squeeze=False)[0].tolist()
        yield fig, axes


def to_uri(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def mark_events(ax: Axes, events: Sequence[tuple[float, str, str]]) -> None:
    """Vertical lines for repairs and early stopping, labelled once in the legend."""
    labelled: set[str] = set()
    for x, label, colour in events:
        ax.axvline(
            x,
            color=colour,
            linestyle=":" if colour == VERMILLION else "--",
            linewidth=1.4,
            label=None if label in labelled else label,
        )
        labelled.add(label)


def heatmap(
    ax: Axes,
    values: np.ndarray,
    rows: list[str],
    steps: np.ndarray,
    *,
    log: bool,
    label: str,
    fig: Figure,
) -> None:
    """`values` is (rows, probes); probes sit at `steps` (unevenly spaced after repairs)."""
    finite = values[np.isfinite(values)]
    masked = np.ma.masked_invalid(values)
    if log:
        positive = finite[finite > 0]
        low = float(positive.min()) if positive.size else 1e-8
        high = float(positive.max()) if positive.size else 1.0
        norm = LogNorm(vmin=low, vmax=max(high, low * 10))
        masked = np.ma.masked_where(~(values > 0), values)
    else:
        norm = matplotlib.colors.Normalize(vmin=0, vmax=100)
    edges = _edges(steps)
    cmap = matplotlib.colormaps["cividis"].with_extremes(bad="#f2f2f2")
    mesh = ax.pcolormesh(edges, np.arange(len(rows) + 1), masked, cmap=cmap, norm=norm)
    ax.set_yticks(np.arange(len(rows)) + 0.5, rows)
    ax.set_ylim(len(rows), 0)  # input layer on top
    ax.grid(False)
    ax.set_xlabel("training step (optimizer updates)")
    fig.colorbar(mesh, ax=ax, label=label, pad=0.01)


def _edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges between probes (each cell reaches halfway to its neighbours, the first
    starts at its own step), so gaps between probes show as they are."""
    if len(steps) == 1:
        return np.array([steps[0], steps[0] + 1])
    mids = (steps[1:] + steps[:-1]) / 2
    return np.concatenate([[steps[0]], mids, [steps[-1] + (steps[-1] - mids[-1])]])
