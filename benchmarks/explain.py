"""`trainwell explain` against planted ground truth and the anchors the issue names.

1. Tables: k=4 informative inputs among 24 (the rest noise). Top-k precision of each
   method's mean |attribution| and of permutation importance; anchor: a random ranking
   (expected precision k/d). Goal: IG and permutation >= 0.9.
2. Images: 16x16 noise with a planted bar (horizontal: class 0, vertical: class 1) at a
   random place. Pointing game (the map's maximum inside the bar's box, 1 pixel margin);
   anchor: a random pixel (the box's share of the image). Goal: Grad-CAM and IG >= 0.9.
3. Faithfulness: deletion AUC of each method's order against a random order on the same
   rows (the anchor). Goal: at least 30% below (ratio <= 0.7) for IG, the default.
4. Sanity: rank correlation of the trained model's maps with the fully re-initialised
   model's; anchor: 1.0 (a map that ignores the weights). Goal: below 0.5 everywhere.
5. Cost: `explain` of 500 test rows of digits (MLP); anchor: one bare Captum
   IntegratedGradients call on the same rows, same process. Goal: <= 10 s on 2 cores.
6. Bias: a generated table with a planted gap at one site and its twin without, over
   seeds. Goal: the gap found in every seed, the twin never flagged.

Run: python benchmarks/explain.py [--seeds 5] [--quick] [--json] [--only PART ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

import trainwell
from trainwell.explain._data import test_rows

console = Console(stderr=True)
TABLE_METHODS = ("ig", "saliency", "smoothgrad", "occlusion")
IMAGE_METHODS = ("ig", "saliency", "smoothgrad", "occlusion", "gradcam")
K, D = 4, 24
PARTS = ("tables", "images", "cost", "bias")


def _fit(out: Path, data: dict, model: dict, epochs: int = 20) -> Path:
    config = {
        "seed": 0,
        "data": {"audit": False, **data},
        "model": model,
        "train": {"epochs": epochs, "batch_size": 64, "lr": 0.005},
    }
    return trainwell.fit(config, out=out, report=False).run_dir


def tables(out: Path, seeds: int) -> dict:
    scores: dict[str, list[float]] = {}
    trust: dict[str, list[tuple[float, float]]] = {}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(2000, D)).astype(np.float32)
        informative = rng.choice(D, K, replace=False)
        w = rng.choice([-1.0, 1.0], K) * rng.uniform(1, 2, K)
        y = (X[:, informative] @ w > 0).astype(np.int64)
        path = out / f"table-{seed}.npz"
        np.savez(path, X=X, y=y)
        run_dir = _fit(out, {"source": str(path)}, {"hidden": [64]})
        truth = {f"f{i}" for i in informative}
        for method in TABLE_METHODS:
            result = trainwell.explain(run_dir, method=method, report=False)
            by_attribution = sorted(result.importances, key=lambda i: -i.attribution)[:K]
            scores.setdefault(method, []).append(
                len({i.feature for i in by_attribution} & truth) / K
            )
            trust.setdefault(method, []).append(
                (result.faithfulness.ratio, result.sanity.randomized_rank_correlation)
            )
            if method == "ig":  # permutation importance is the same whatever the method
                top = {i.feature for i in result.importances[:K]}
                scores.setdefault("permutation", []).append(len(top & truth) / K)
    return {"precision": _means(scores), "trust": _pairs(trust), "anchor": K / D}


def _bars(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images with a 5-pixel bar at a random place; its orientation is the class."""
    X = rng.normal(0, 0.25, size=(n, 1, 16, 16)).astype(np.float32)
    y = rng.integers(0, 2, n)
    boxes = np.zeros((n, 4), dtype=int)  # top, left, bottom, right (inclusive)
    for i in range(n):
        top, left = rng.integers(1, 11, 2)
        if y[i] == 0:
            X[i, 0, top + 2, left : left + 5] += 1.5
        else:
            X[i, 0, top : top + 5, left + 2] += 1.5
        boxes[i] = (top, left, top + 4, left + 4)
    return X, y.astype(np.int64), boxes


def images(out: Path, seeds: int) -> dict:
    hits: dict[str, list[float]] = {}
    trust: dict[str, list[tuple[float, float]]] = {}
    for seed in range(seeds):
        X, y, boxes = _bars(2000, np.random.default_rng(seed))
        path = out / f"bars-{seed}.npz"
        np.savez(path, X=X, y=y)
        run_dir = _fit(
            out, {"source": str(path)}, {"arch": "cnn", "channels": [16, 32], "hidden": [32]}, 15
        )
        for method in IMAGE_METHODS:
            result = trainwell.explain(run_dir, method=method, rows=300, report=False)
            saved = np.load(run_dir / "explain" / "attributions.npz")
            maps = saved["attributions"].sum(1)
            peak = np.array(np.unravel_index(maps.reshape(len(maps), -1).argmax(1), (16, 16))).T
            box = boxes[saved["rows"]]
            inside = (
                (peak[:, 0] >= box[:, 0] - 1) & (peak[:, 0] <= box[:, 2] + 1)
                & (peak[:, 1] >= box[:, 1] - 1) & (peak[:, 1] <= box[:, 3] + 1)
            )  # fmt: skip
            hits.setdefault(method, []).append(float(inside.mean()))
            trust.setdefault(method, []).append(
                (result.faithfulness.ratio, result.sanity.randomized_rank_correlation)
            )
    return {"pointing": _means(hits), "trust": _pairs(trust), "anchor": 49 / 256}


def cost(out: Path) -> dict:
    torch.set_num_threads(2)
    run_dir = _fit(
        out, {"source": "digits", "split": {"val": 0.2, "test": 0.3}}, {"hidden": [256, 256]}, 10
    )
    trainwell.explain(run_dir, rows=50, report=False)  # imports (Captum, matplotlib) once
    from captum.attr import IntegratedGradients

    run = trainwell.load_run(run_dir)
    data = test_rows(run, 500)
    targets = run.model(data.X).argmax(1)
    walls, cpus, bares = [], [], []
    for _ in range(3):  # the median of three: the machine is shared
        wall, cpu = time.perf_counter(), time.process_time()
        result = trainwell.explain(run_dir, rows=500, report=False)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        wall = time.perf_counter()
        IntegratedGradients(run.model).attribute(data.X, 0.0, target=targets, n_steps=32)
        bares.append(time.perf_counter() - wall)
    seconds, bare = statistics.median(walls), statistics.median(bares)
    return {
        "rows": result.rows,
        "seconds": seconds,
        "cpu_seconds": statistics.median(cpus),
        "captum_ig_seconds": bare,
    }


def _sites(path: Path, seed: int, noisy: bool) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(1500, 4))
    site = np.where(rng.random(1500) < 0.5, "A", "B")
    label = (X[:, 0] - X[:, 1] > 0).astype(int)
    if noisy:
        flip = (site == "B") & (rng.random(1500) < 0.3)
        label[flip] = 1 - label[flip]
    pd.DataFrame(X, columns=["x0", "x1", "x2", "x3"]).assign(site=site, label=label).to_csv(
        path, index=False
    )


def bias(out: Path, seeds: int) -> dict:
    found = {"planted": 0, "twin": 0}
    for seed in range(seeds):
        for kind in found:
            path = out / f"sites-{kind}-{seed}.csv"
            _sites(path, seed, noisy=kind == "planted")
            run_dir = _fit(out, {"source": str(path)}, {"hidden": [32]}, 10)
            result = trainwell.explain(run_dir, groups="site", method="saliency", report=False)
            found[kind] += any(f.code == "group_performance_gap" for f in result.findings)
    return {"seeds": seeds, "flagged": found}


def _means(scores: dict[str, list[float]]) -> dict[str, float]:
    return {k: statistics.mean(v) for k, v in scores.items()}


def _pairs(trust: dict[str, list[tuple[float, float]]]) -> dict[str, dict[str, float]]:
    return {
        k: {
            "deletion_ratio": statistics.mean(r for r, _ in v),
            "rank_correlation": statistics.mean(c for _, c in v),
        }
        for k, v in trust.items()
    }


def _cells(trust: dict[str, float] | None) -> list[str]:
    if trust is None:
        return ["-", "-"]
    return [f"{trust['deletion_ratio']:.2f}", f"{trust['rank_correlation']:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", choices=PARTS, nargs="+", default=list(PARTS))
    args = parser.parse_args()
    seeds = 2 if args.quick else args.seeds
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        results = {
            "tables": tables(out, seeds) if "tables" in args.only else None,
            "images": images(out, min(seeds, 3)) if "images" in args.only else None,
            "cost": cost(out) if "cost" in args.only else None,
            "bias": bias(out, seeds) if "bias" in args.only else None,
        }
    if args.json:
        print(json.dumps(results))
        return
    show(results, seeds)


def show(results: dict, seeds: int) -> None:
    out = Console()
    if results["tables"] and results["images"]:
        ground_truth(out, results["tables"], results["images"], seeds)
    c, b = results["cost"], results["bias"]
    if c:
        out.print(
            f"cost: explain of {c['rows']} digits test rows (IG, importances, deletion, sanity, "
            f"plots) {c['seconds']:.2f} s wall, {c['cpu_seconds']:.2f} s CPU (goal <= 10 s); "
            f"bare Captum IG on the same rows {c['captum_ig_seconds']:.2f} s: "
            f"{c['seconds'] / c['captum_ig_seconds']:.1f}x",
            highlight=False,
        )
    if b:
        out.print(
            f"bias: planted gap flagged in {b['flagged']['planted']}/{b['seeds']} seeds (goal "
            f"all), twin flagged in {b['flagged']['twin']}/{b['seeds']} (goal none)",
            highlight=False,
        )


def ground_truth(out: Console, t: dict, im: dict, seeds: int) -> None:
    table = Table(title=f"planted ground truth (tables: {seeds} seeds; images: {min(seeds, 3)})")
    for column in ("method", f"top-{K} precision", "vs random", "pointing game", "vs random"):
        table.add_column(column)
    for method in ("permutation", *IMAGE_METHODS):
        p, h = t["precision"].get(method), im["pointing"].get(method)
        table.add_row(
            method,
            "-" if p is None else f"{p:.2f}",
            "-" if p is None else f"{p / t['anchor']:.1f}x",
            "-" if h is None else f"{h:.2f}",
            "-" if h is None else f"{h / im['anchor']:.1f}x",
        )
    out.print(table)
    table = Table(
        title="can it be trusted: deletion AUC / random order's (lower is better); rank "
        "correlation with a re-initialised model's maps (near 0 is better)"
    )
    for column in (
        "method",
        "tables: deletion ratio",
        "tables: correlation",
        "images: deletion ratio",
        "images: correlation",
    ):
        table.add_column(column)  # fmt: skip
    for method in IMAGE_METHODS:
        table.add_row(method, *_cells(t["trust"].get(method)), *_cells(im["trust"].get(method)))
    out.print(table)


if __name__ == "__main__":
    main()
