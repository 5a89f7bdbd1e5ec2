"""The report's figures, each a pure function of a `RunRecord` returning an SVG data URI
(or none when the run has nothing to draw)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from ._load import RunRecord
from ._plots import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    PURPLE,
    VERMILLION,
    figure,
    heatmap,
    mark_events,
    to_uri,
)


def loss_label(record: RunRecord) -> str:
    if record.task == "regression":
        return "loss: MSE on the standardised target"
    return "loss: cross-entropy (nats)"


def metric_names(record: RunRecord) -> list[tuple[str, str, float]]:
    """(key in metrics.jsonl, axis label, scale) of the per-epoch quality metrics."""
    if record.task == "regression":
        return [("val_r2", "validation R² (1 is perfect)", 1.0)]
    return [("val_accuracy", "validation accuracy (%)", 100.0), ("val_macro_f1", "", 100.0)]


def epoch_events(record: RunRecord) -> list[tuple[float, str, str]]:
    """Repairs at the epoch they were applied; early stopping at the epoch kept."""
    events = [(float(r["epoch"]), "repair", VERMILLION) for r in record.training_repairs]
    if record.kept_epoch is not None:
        events.append((float(record.kept_epoch), "best weights kept", GREEN))
    if record.status == "diverged" and record.epochs:
        events.append((float(record.epochs[-1]["epoch"]), "diverged", VERMILLION))
    return events


def learning_curves(record: RunRecord) -> list[str]:
    """Two figures, loss and validation quality, which sit side by side or stack on a phone."""
    rows = record.epochs
    if not rows:
        return []
    epoch = np.array([r["epoch"] for r in rows], dtype=float)

    def column(key: str, scale: float = 1.0) -> np.ndarray:
        return np.array([_num(r.get(key)) for r in rows]) * scale

    uris = []
    with figure(*_PANEL) as (fig, (ax,)):
        for key, name, colour, style in (
            ("train_loss", "train", BLUE, "-"),
            ("val_loss", "validation", ORANGE, "--"),
        ):
            ax.plot(epoch, column(key), style, color=colour, marker="o", ms=3, label=name)
        losses = np.concatenate([column("train_loss"), column("val_loss")])
        positive = losses[np.isfinite(losses) & (losses > 0)]
        if positive.size and positive.max() / positive.min() > 30:
            ax.set_yscale("log")
        ax.set(title="Loss", xlabel="epoch", ylabel=loss_label(record))
        _finish_epochs(ax, record)
        uris.append(to_uri(fig))
    with figure(*_PANEL) as (fig, (ax,)):
        names = metric_names(record)
        for (key, _, scale), colour, style in zip(
            names, (ORANGE, PURPLE), ("--", ":"), strict=False
        ):
            values = column(key, scale)
            if np.isfinite(values).any():
                name = key.removeprefix("val_").replace("macro_f1", "macro F1")
                ax.plot(epoch, values, style, color=colour, marker="o", ms=3, label=name)
        ax.set(title="Validation quality", xlabel="epoch", ylabel=names[0][1])
        _finish_epochs(ax, record)
        uris.append(to_uri(fig))
    return uris


_PANEL = (4.8, 3.4)  # inches: one panel, legible from a phone to a laptop


def _finish_epochs(ax: Axes, record: RunRecord) -> None:
    mark_events(ax, epoch_events(record))
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="best")


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else np.nan


def probe_table(
    record: RunRecord, key: str, names: str
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """One (rows, probes) array over every stretch of training; rows are matched by layer
    name (a remedy that rebuilds the model may rename or add layers)."""
    segments = record.health or []
    rows: list[str] = []
    for segment in segments:
        rows += [name for name in segment[names] if name not in rows]
    columns, steps = [], []
    for segment in segments:
        index = [rows.index(name) for name in segment[names]]
        for step, probe in zip(segment["steps"], segment[key], strict=True):
            column = np.full(len(rows), np.nan)
            column[index] = [np.nan if v is None else v for v in probe]
            columns.append(column)
            steps.append(step)
    values = np.array(columns).T if columns else np.empty((len(rows), 0))
    return values, rows, np.array(steps, dtype=float)


def step_events(record: RunRecord) -> list[tuple[float, str, str]]:
    """Repairs at their step; one made at an epoch's end at the first probe after it."""
    probes = [
        (epoch, step)
        for segment in record.health or []
        for step, epoch in zip(segment["steps"], segment["epochs"], strict=True)
    ]
    events = []
    for repair in record.training_repairs:
        step = repair.get("step")
        if step is None:
            later = [s for e, s in probes if e > repair["epoch"]]
            step = later[0] if later else None
        if step is not None:
            events.append((float(step), "repair", VERMILLION))
    return events


def gradient_heatmap(record: RunRecord) -> str | None:
    values, rows, steps = probe_table(record, "grad_norm", "layers")
    if values.size == 0 or not np.isfinite(values).any():
        return None
    with figure(9.6, _heat_height(rows)) as (fig, (ax,)):
        heatmap(ax, values, rows, steps, log=True, label="gradient L2 norm", fig=fig)
        ax.set_title("Gradient norm per layer (input at top)")
        ax.set_ylabel("layer")
        mark_events(ax, step_events(record))
        return to_uri(fig)


def step_loss(record: RunRecord) -> str | None:
    """The training loss of the batch at each probe; non-finite losses as crosses at the top."""
    steps, losses = [], []
    for segment in record.health or []:
        steps += segment["steps"]
        losses += [np.nan if v is None else v for v in segment["loss"]]
    if not steps:
        return None
    x, y = np.array(steps, dtype=float), np.array(losses, dtype=float)
    bad = ~np.isfinite(y)
    with figure(*_PANEL) as (fig, (ax,)):
        if (~bad).any():
            ax.plot(x[~bad], y[~bad], "-", color=BLUE, marker="o", ms=3, label="batch loss")
        else:
            ax.set_yticks([])  # nothing finite to put on the scale
        if bad.any():
            top = float(np.nanmax(y)) if (~bad).any() else 1.0
            ax.plot(
                x[bad],
                np.full(bad.sum(), top),
                "x",
                color=VERMILLION,
                ms=7,
                label="non-finite (NaN or inf)",
            )
        finite = y[~bad]
        if finite.size and finite.min() > 0 and finite.max() / finite.min() > 30:
            ax.set_yscale("log")
        ax.set(
            title="Loss at the doctor's probes",
            xlabel="training step (optimizer updates)",
            ylabel=loss_label(record),
        )
        mark_events(ax, step_events(record))
        ax.legend(loc="best")
        return to_uri(fig)


def _heat_height(rows: list[str]) -> float:
    return max(2.2, 1.0 + 0.3 * len(rows))


def units_heatmap(record: RunRecord) -> str | None:
    """Dead (ReLU family) or saturated (sigmoid, tanh) units, as % of each layer's units."""
    dead, rows, steps = probe_table(record, "dead", "activations")
    saturated, _, _ = probe_table(record, "saturated", "activations")
    if dead.size == 0:
        return None
    values = np.where(np.isfinite(dead), dead, saturated) * 100
    if not np.isfinite(values).any():
        return None
    with figure(9.6, _heat_height(rows)) as (fig, (ax,)):
        heatmap(ax, values, rows, steps, log=False, label="% of units", fig=fig)
        ax.set_title("Dead (ReLU) or saturated (sigmoid, tanh) units per layer")
        ax.set_ylabel("activation")
        mark_events(ax, step_events(record))
        return to_uri(fig)


def confusion_matrix(confusion: list[list[int]], classes: list[str]) -> str:
    matrix = np.array(confusion, dtype=float)
    k = len(matrix)
    totals = matrix.sum(1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0) * 100
    size = min(3.0 + 0.22 * k, 8.0)
    with figure(size + 1.0, size) as (fig, (ax,)):
        image = ax.imshow(share, cmap="Blues", vmin=0, vmax=100)
        ax.grid(False)
        labels = classes if len(classes) == k else [str(i) for i in range(k)]
        ax.set_xticks(range(k), labels, rotation=90 if max(map(len, labels)) > 3 else 0)
        ax.set_yticks(range(k), labels)
        ax.set(xlabel="predicted class", ylabel="true class", title="Confusion matrix (test)")
        if k <= 20:
            for i in range(k):
                for j in range(k):
                    if matrix[i, j]:
                        colour = "white" if share[i, j] > 55 else "black"
                        ax.text(
                            j,
                            i,
                            f"{matrix[i, j]:.0f}",
                            ha="center",
                            va="center",
                            fontsize=9,
                            color=colour,
                        )
        fig.colorbar(image, ax=ax, label="% of the true class", shrink=0.8)
        return to_uri(fig)


def residual_plots(true: list[float], predicted: list[float]) -> list[str]:
    """Predicted against true, the residuals and their spread, of the rows whose prediction
    is finite; none where no prediction is (a run that diverged)."""
    y, p = np.array(true, dtype=float), np.array(predicted, dtype=float)
    finite = np.isfinite(y) & np.isfinite(p)
    if not finite.any():
        return []
    y, p = y[finite], p[finite]
    residual = y - p
    uris = []
    with figure(*_SMALL) as (fig, (ax,)):
        ax.scatter(y, p, s=12, color=BLUE, alpha=0.7)
        low, high = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
        ax.plot([low, high], [low, high], "--", color=GREY, label="perfect")
        ax.set(title="Predicted vs true", xlabel="true target", ylabel="predicted target")
        ax.legend(loc="upper left")
        uris.append(to_uri(fig))
    with figure(*_SMALL) as (fig, (ax,)):
        ax.scatter(p, residual, s=12, color=BLUE, alpha=0.7)
        ax.axhline(0, color=GREY, linestyle="--")
        ax.set(title="Residuals", xlabel="predicted target", ylabel="true − predicted")
        uris.append(to_uri(fig))
    with figure(*_SMALL) as (fig, (ax,)):
        ax.hist(residual, bins=min(30, max(5, len(y) // 5)), color=ORANGE, alpha=0.9)
        ax.set(title="Residual distribution", xlabel="true − predicted", ylabel="test rows")
        uris.append(to_uri(fig))
    return uris


_SMALL = (3.6, 3.2)


def compare_curves(records: list[RunRecord], labels: list[str]) -> list[str]:
    if not any(r.epochs for r in records):
        return []
    uris = []
    with figure(*_PANEL) as (fig, (ax,)):
        for record, label, colour in zip(records, labels, (BLUE, ORANGE), strict=True):
            epoch = [r["epoch"] for r in record.epochs]
            for key, style, what in (("train_loss", "-", "train"), ("val_loss", "--", "val")):
                values = [_num(r.get(key)) for r in record.epochs]
                ax.plot(epoch, values, style, color=colour, label=f"{label} {what}")
        ax.set(title="Loss", xlabel="epoch", ylabel=loss_label(records[0]))
        ax.legend(loc="best")
        uris.append(to_uri(fig))
    with figure(*_PANEL) as (fig, (ax,)):
        for record, label, colour in zip(records, labels, (BLUE, ORANGE), strict=True):
            key, _, scale = metric_names(record)[0]
            values = [_num(r.get(key)) * scale for r in record.epochs]
            epoch = [r["epoch"] for r in record.epochs]
            ax.plot(epoch, values, "-", marker="o", ms=3, color=colour, label=label)
        ax.set(title="Validation quality", xlabel="epoch", ylabel=metric_names(records[0])[0][1])
        ax.legend(loc="best")
        uris.append(to_uri(fig))
    return uris


def class_balance(counts: dict[str, Any]) -> str | None:
    """Rows per class, one bar group per split: `{"train": {"0": 50, ...}, ...}`."""
    if not counts:
        return None
    splits = counts
    classes = list(dict.fromkeys(c for split in splits.values() for c in split))
    width = 0.8 / len(splits)
    with figure(min(max(_PANEL[0], 0.1 * len(classes) * len(splits) + 1.5), 9.6), 3.4) as (
        fig,
        (ax,),
    ):
        x = np.arange(len(classes))
        for i, ((split, values), colour) in enumerate(
            zip(splits.items(), (BLUE, ORANGE, GREEN, PURPLE), strict=False)
        ):
            heights = [values.get(c, 0) for c in classes]
            ax.bar(x + i * width - 0.4 + width / 2, heights, width, color=colour, label=split)
        crowded = len(classes) * max(map(len, classes)) > 40
        ax.set_xticks(x, classes, rotation=90 if crowded else 0)
        ax.set(title="Class balance", xlabel="class", ylabel="rows")
        if len(splits) > 1:  # below the axis, clear of the bars
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(splits))
        return to_uri(fig)


def tune_history(trials: list[dict[str, Any]], maximize: bool, metric: str) -> str | None:
    """Each complete trial's value and the best so far; pruned and failed trials as marks
    in a band below the values (they have no final value)."""
    done = [t for t in trials if isinstance(t.get("value"), int | float)]
    if not done:
        return None
    number = [t["number"] for t in done]
    scale, unit = (100.0, " (%)") if metric.endswith(("accuracy", "f1")) else (1.0, "")
    value = np.array([t["value"] for t in done], dtype=float) * scale
    with figure(*_PANEL) as (fig, (ax,)):
        ax.scatter(number, value, color=BLUE, s=22, label="complete", zorder=3)
        best = (np.maximum if maximize else np.minimum).accumulate(value)
        ax.step(number, best, where="post", color=ORANGE, linewidth=2, label="best so far")
        low, high = float(value.min()), float(value.max())
        span = high - low or max(abs(high) * 0.05, 1e-3)
        ax.set_ylim(low - 0.3 * span, high + 0.12 * span)  # the band for pruned trials
        band = low - 0.18 * span
        for state, marker, colour in (("pruned", "x", GREY), ("fail", "v", VERMILLION)):
            xs = [t["number"] for t in trials if t.get("state") == state]
            if xs:
                ax.plot(xs, [band] * len(xs), marker, color=colour, ms=6, label=state)
        ax.set(
            title="Optimisation history",
            xlabel="trial number",
            ylabel=metric.replace("_", " ") + unit,
        )
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
        return to_uri(fig)


def importances(values: dict[str, float]) -> str | None:
    """How much each searched parameter matters to the objective (Optuna's default
    evaluator, normalised to sum to 1)."""
    if not values:
        return None
    names = list(values)[::-1]  # the most important at the top
    shares = [100 * values[n] for n in names]
    with figure(_PANEL[0], max(2.2, 1.0 + 0.38 * len(names))) as (fig, (ax,)):
        bars = ax.barh(names, shares, color=BLUE)
        ax.bar_label(bars, [f"{s:.0f}%" for s in shares], padding=3, fontsize=9)
        ax.set_xlim(0, max(shares) * 1.18 if max(shares) > 0 else 1)
        ax.set(title="Parameter importances", xlabel="share of the total importance (%)")
        ax.grid(axis="y", visible=False)
        return to_uri(fig)
