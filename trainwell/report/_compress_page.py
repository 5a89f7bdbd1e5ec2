"""`trainwell compress` on the run's page: the table of variants (size, speed, accuracy),
a figure of size against speed, the checks and their findings, and how pruning was done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.ticker import FuncFormatter

from ._cards import Section, card
from ._load import RunRecord
from ._plots import BLUE, GREY, ORANGE, VERMILLION, figure, to_uri


def compress_section(record: RunRecord) -> Section | None:
    result = record.compressed
    if not result or not result.get("variants"):
        return None
    variants = result["variants"]
    pruning = result.get("pruning")
    tuned = Path((pruning or {}).get("finetune", {}).get("run_dir") or "")
    return Section(
        "compress",
        "Compression and export",
        "compress.html.j2",
        {
            "variants": [_row(v, variants[0]) for v in variants],
            "figure": tradeoff(variants),
            "checks": result.get("checks") or [],
            "cards": [card(f, []) for f in result.get("findings") or []],
            "pruning": pruning,
            "widths": [(k, a, b) for k, (a, b) in ((pruning or {}).get("widths") or {}).items()],
            "tuned_report": (
                f"compressed/{tuned.name}/report.html"
                if pruning and (tuned / "report.html").is_file()
                else None
            ),
            "threads": result.get("threads"),
            "test_rows": result.get("test_rows"),
        },
    )


def _row(variant: dict[str, Any], fp32: dict[str, Any]) -> dict[str, Any]:
    latency = variant.get("latency_ms") or {}
    base = fp32.get("latency_ms") or {}
    return {
        **variant,
        "kb": variant["bytes"] / 1000,
        "size_ratio": variant["bytes"] / fp32["bytes"],
        "us_1": 1000 * latency.get("1", float("nan")),
        "ms_64": latency.get("64", float("nan")),
        "speedup": base.get("1", float("nan")) / latency.get("1", float("nan")),
    }


def tradeoff(variants: list[dict[str, Any]]) -> str | None:
    """File size against batch-1 latency, one point per variant labelled with its test
    accuracy: the lower left corner is small and fast."""
    points = [v for v in variants if (v.get("latency_ms") or {}).get("1") is not None]
    if not points:
        return None
    colours = {"pytorch": GREY, "onnx": BLUE}
    with figure(6.4, 3.4) as (fig, (ax,)):
        for v in points:
            x, y = v["bytes"] / 1000, 1000 * v["latency_ms"]["1"]
            colour = ORANGE if "int8" in v["name"] else colours.get(v["format"], VERMILLION)
            ax.scatter([x], [y], s=46, color=colour, zorder=3)
            accuracy = "" if v.get("accuracy") is None else f" ({100 * v['accuracy']:.1f}%)"
            ax.annotate(
                v["name"] + accuracy, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8
            )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.xaxis.set_minor_formatter(
            FuncFormatter(lambda value, _: f"{value:g}" if f"{value:g}"[0] in "25" else "")
        )
        low, high = ax.get_xlim()
        ax.set_xlim(low, high * 1.6)  # room for the labels of the largest files
        ax.set_ylim(bottom=0)
        ax.set(
            title="Size against speed",
            xlabel="file size (kB, log scale)",
            ylabel="latency at batch 1 (µs)",
        )
        return to_uri(fig)
