"""Transfer learning on generated inspection images: fine-tuned vs trained from scratch.

1. Sizes: a resnet pretrained on one surface family (brushed metal, 3000 images) and
   fine-tuned (`model.init_from`, `train.finetune`: frozen backbone for 3 epochs, layer
   rate decay 0.5) on another (woven fabric) with 10, 50, 200 labelled images per class,
   against the same resnet trained from scratch on the same images: same epochs, same
   fixed learning rate, same batch size, same seed. The labelled images are split by the
   run (60% train, 20% val, 20% test); both arms are scored on 2000 held-out woven images
   (every class a fifth, as in the labelled images; the classes are read from the file,
   so the head is rebuilt and keeps the rows of the classes it knows by name).
   Goal: a clear gain at the small sizes that shrinks as data grows.
2. Detection, the case of `examples/defects.sh` (400 woven images, 30% defective, the
   kinds shared 1 : 1/2 : 1/3 : 1/4): recall on the rarest kind (missing_print) and
   precision of the normal class on 2000 held-out woven images (as rare as in the case),
   with and without the `class_weights` remedy, fine-tuned and from scratch; whether the
   audit flagged `class_imbalance`. Goal: recall >= 0.9 at normal precision >= 0.95.
3. Grad-CAM pointing game on the correctly detected defects of the held-out images
   (the map's maximum within 2 pixels of the true mask: the original's 15 of 224 pixels,
   scaled; anchor: a random pixel).
   Goal: >= 0.9.

Run: python benchmarks/transfer.py [--seeds 5] [--quick] [--only sizes|case] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import trainwell
from trainwell.config import Defects
from trainwell.data import generate_defects, standardise
from trainwell.explain._attribute import attribute, per_position
from trainwell.explain._data import reference_images
from trainwell.explain._pointing import pointing_game

console = Console(stderr=True)
KINDS = ["scratch", "spot", "crack", "missing_print"]
MODEL = {"arch": "resnet", "channels": [8, 16, 32], "hidden": []}
FINETUNE = {"freeze": ["backbone"], "unfreeze_at": 3, "layer_lr_decay": 0.5}
LR, BATCH = 0.003, 32
ARMS = (  # the case: (name, fine-tuned, data.remedies)
    ("fine-tuned", True, []),
    ("fine-tuned, class_weights", True, ["class_weights"]),
    ("scratch", False, []),
    ("scratch, class_weights", False, ["class_weights"]),
)


def _defects(count: int, family: str, seed: int, rate: float = 0.3, even: bool = False):
    spec = Defects(count=count, rate=rate, family=family, kinds=KINDS, seed=seed,
                   weights=[1, 1, 1, 1] if even else None)  # fmt: skip
    return generate_defects(spec, seed)


def _pretrain(out: Path, seed: int, count: int, epochs: int) -> Path:
    config = {
        "seed": seed,
        "data": {"source": "defects", "audit": False, "defects": {
            "count": count, "rate": 0.5, "family": "brushed", "kinds": KINDS,
            "weights": [1, 1, 1, 1], "seed": seed}},
        "model": MODEL,
        "train": {"epochs": epochs, "lr": LR, "batch_size": 64},
    }  # fmt: skip
    return trainwell.fit(config, out=out, report=False).run_dir


def _labelled(path: Path, per_class: int, seed: int) -> Path:
    """`per_class` woven images of each class, as an NPZ."""
    table = _defects(12 * per_class * 5, "woven", 1000 + seed, rate=0.8, even=True)
    rows = np.concatenate([np.flatnonzero(table.y == c)[:per_class] for c in range(5)])
    np.savez(path, X=table.X[rows], y=np.array(table.classes)[table.y[rows]])  # named classes
    return path


def _fit(out: Path, data: dict, seed: int, epochs: int, pretrained: Path | None, **extra):
    config = {
        "seed": seed,
        "data": {"audit": False, **data},
        "model": {**MODEL, "init_from": str(pretrained) if pretrained else None},
        "train": {"epochs": epochs, "lr": LR, "batch_size": BATCH,
                  "finetune": FINETUNE if pretrained else None},
    }  # fmt: skip
    for key, value in extra.items():
        section, name = key.split("__")
        config.setdefault(section, {})[name] = value
    return trainwell.fit(config, out=out, report=False)


def _scores(run, table) -> tuple[np.ndarray, torch.Tensor]:
    model = run.model.cpu().eval()
    X = torch.from_numpy(standardise(table.X, run.info))
    with torch.no_grad():
        predicted = torch.cat([model(x) for x in X.split(512)]).argmax(1).numpy()
    return predicted, X


def _detection(predicted: np.ndarray, y: np.ndarray) -> dict:
    called_normal = predicted == 0
    rare = len(KINDS)
    return {
        "accuracy": float((predicted == y).mean()),
        "rare_recall": float((predicted[y == rare] == rare).mean()),
        "normal_precision": float((y[called_normal] == 0).mean()) if called_normal.any() else 0.0,
    }


def sizes(out: Path, seeds: int, per_class: list[int], pre: dict, epochs: int, count: int) -> dict:
    held = _defects(count, "woven", 98, rate=0.8, even=True)  # every class a fifth
    results: dict[str, list[float]] = {}
    for seed in range(seeds):
        for n in per_class:
            npz = _labelled(out / f"woven-{seed}-{n}.npz", n, seed)
            for arm, pretrained in (("fine-tuned", pre[seed]), ("scratch", None)):
                stratify = n >= 5
                run = _fit(out, {"source": str(npz), "split": {"stratify": stratify}}, seed,
                           epochs, pretrained, train__batch_size=min(BATCH, 3 * n))  # fmt: skip
                predicted, _ = _scores(run, held)
                names = np.array(run.info.classes)[predicted]  # the NPZ's classes, sorted
                accuracy = float((names == np.array(held.classes)[held.y]).mean())
                results.setdefault(f"{arm}/{n}", []).append(accuracy)
                console.print(f"seed {seed} {n:>3}/class {arm:>10}: accuracy {accuracy:.3f}")
    return results


def case(out: Path, seeds: int, pre: dict, epochs: int, held, count: int) -> dict:
    rows: dict[str, list[dict]] = {}
    for seed in range(seeds):
        spec = {"count": count, "rate": 0.3, "family": "woven", "kinds": KINDS, "seed": 7 + seed}
        data = {"source": "defects", "audit": True, "defects": spec}
        for arm, pretrained, remedies in ARMS:
            run = _fit(out, {**data, "remedies": remedies}, seed, epochs,
                       pre[seed] if pretrained else None, doctor__mode="repair")  # fmt: skip
            predicted, X = _scores(run, held)
            row = _detection(predicted, held.y)
            row["imbalance_flagged"] = any(f.code == "class_imbalance" for f in run.findings)
            if arm == "fine-tuned, class_weights":
                row |= _pointing(run, X, predicted, held)
            rows.setdefault(arm, []).append(row)
            console.print(f"seed {seed} case {arm:>13}: {row}")
    return rows


def _pointing(run, X: torch.Tensor, predicted: np.ndarray, held) -> dict:
    judged = (held.y > 0) & (predicted == held.y)
    rows = np.flatnonzero(judged)[:400]
    model, targets = run.model.cpu().eval(), torch.from_numpy(predicted[rows])
    maps = attribute(model, X[rows], targets, "gradcam", reference=reference_images(run))
    grid = per_position(maps).reshape(len(rows), *X.shape[2:])
    game = pointing_game(grid, held.masks[rows], held.y[rows], predicted[rows], held.classes)
    return {"pointing": game.score, "pointing_chance": game.chance, "by_kind": game.by_class}


def _spread(values: list[float]) -> str:
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.3f} ± {spread:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=None, help="default 5 (--quick: 2)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, smaller runs")
    parser.add_argument("--only", choices=("sizes", "case"), help="one part only")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    seeds = args.seeds or (2 if args.quick else 5)
    per_class = [10, 50] if args.quick else [10, 50, 200]
    pre_count, pre_epochs = (1200, 5) if args.quick else (3000, 10)
    epochs = 8 if args.quick else 15
    torch.set_num_threads(2)
    count = 800 if args.quick else 2000
    held = _defects(count, "woven", 99)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        pre = {s: _pretrain(out, s, pre_count, pre_epochs) for s in range(seeds)}
        by_size, detect = {}, {}
        if args.only != "case":
            by_size = sizes(out, seeds, per_class, pre, epochs, count)
        if args.only != "sizes":
            detect = case(out, seeds, pre, 12 if not args.quick else 8, held, 400)
    if args.json:
        print(json.dumps({"sizes": by_size, "case": detect}))
        return
    console = Console(width=150)
    if by_size:
        _sizes_table(console, by_size, per_class, count, seeds)
    if detect:
        _case_table(console, detect)


def _sizes_table(console: Console, by_size: dict, per_class: list[int], count: int, seeds: int):
    table = Table(title=f"accuracy on {count} held-out woven images (classes even), {seeds} seeds")
    for column in ("labelled/class", "fine-tuned", "scratch", "gain"):
        table.add_column(column)
    for n in per_class:
        tuned, scratch = by_size[f"fine-tuned/{n}"], by_size[f"scratch/{n}"]
        gains = [a - b for a, b in zip(tuned, scratch, strict=True)]
        table.add_row(str(n), _spread(tuned), _spread(scratch), _spread(gains))
    console.print(table)


def _case_table(console: Console, detect: dict) -> None:
    table = Table(title="the case (400 woven images, 30% defective), doctor in repair mode")
    for column in ("arm", "accuracy", "missing_print recall", "normal precision",
                   "imbalance flagged", "Grad-CAM pointing (chance)"):  # fmt: skip
        table.add_column(column)
    for arm, rows in detect.items():
        pointing = ""
        if "pointing" in rows[0]:
            chance = statistics.fmean(r["pointing_chance"] for r in rows)
            pointing = f"{_spread([r['pointing'] for r in rows])} ({chance:.3f})"
        table.add_row(
            arm,
            _spread([r["accuracy"] for r in rows]),
            _spread([r["rare_recall"] for r in rows]),
            _spread([r["normal_precision"] for r in rows]),
            f"{sum(r['imbalance_flagged'] for r in rows)}/{len(rows)}",
            pointing,
        )
    console.print(table)
    weighted = detect["fine-tuned, class_weights"]
    kinds = sorted({k for r in weighted for k in r["by_kind"]})
    by_kind = {k: _spread([r["by_kind"][k] for r in weighted if k in r["by_kind"]]) for k in kinds}
    console.print(f"Grad-CAM pointing game by kind (fine-tuned, class_weights): {by_kind}")


if __name__ == "__main__":
    main()
