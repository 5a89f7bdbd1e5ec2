"""`trainwell attack` and `train.adversarial` against their anchors, in one process.

1. Reference check: trainwell's PGD against independent implementations — ART
   (adversarial-robustness-toolbox) and torchattacks, when installed (extra `robust-bench`;
   torchattacks needs `pip install --no-deps torchattacks` beside this torch) — on the same
   model and test rows, digits mlp and cnn, L∞ and L2. Without a random start PGD is
   deterministic, so the implementations must agree; with random starts (5, a row falls
   if any fools the model) they differ by the draws. Goal: within 0.5 percentage points
   at every ε.
2. The checks against gradient masking on normally and adversarially trained models
   (goal: all pass), and on a model with masked gradients (they must fail).
3. Adversarial training on digits: PGD-20 accuracy at ε 0.1 (pixel range) ≥ 80% with clean
   accuracy within 1 point of the normal model (anchor: normal 45%, PGD-AT 83% at clean
   97.2%); its training time as a multiple of normal training.
4. Attack cost: PGD-20 on 500 digits (goal ≤ 5 s on 2 cores), beside ART and torchattacks.

The digits models here see pixels as they come (data.standardize: false), as in the
anchor; a last table repeats 3. with trainwell's default per-pixel standardisation.

Run: python benchmarks/attack.py [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

import trainwell
from trainwell.data import load_splits
from trainwell.robust._inputs import Inputs, attack_inputs
from trainwell.train import perturb

EPS = {"linf": (0.025, 0.05, 0.1, 0.2, 0.3), "l2": (0.25, 0.5, 1.0, 2.0)}
STEPS = 20
RESTARTS = 5  # random starts: a row falls if any start fools the model
console = Console(stderr=True)


def fit(out: str, arch: str, adversarial: bool, standardize: bool = False) -> trainwell.Run:
    spec: dict[str, Any] = {
        "data": {"source": "digits", "audit": False, "standardize": standardize},
        "model": {"arch": arch, "hidden": [256, 256] if arch == "mlp" else [64]},
        "train": {"epochs": 20},
        "doctor": {"mode": "off"},
    }
    if adversarial:
        spec["train"]["adversarial"] = {"eps": 0.1, "steps": 7}
    return trainwell.fit(spec, out=out, report=False, checkpoints=False)


class UnitSpace(torch.nn.Module):
    """The model on 1 × 8 × 8 images in [0, 1] (a fraction of the pixel range): the space in
    which the reference libraries clamp and measure ε. Images for the mlp too: torchattacks'
    L2 attacks assume 4-D inputs (on rows of 64 they broadcast wrongly)."""

    def __init__(self, model: torch.nn.Module, inputs: Inputs) -> None:
        super().__init__()
        self.model, self.box = model, inputs.box

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u = u.reshape(len(u), *self.box.low.shape)
        return self.model(self.box.low + u * (self.box.high - self.box.low))


def to_unit(x: torch.Tensor, inputs: Inputs) -> torch.Tensor:
    u = ((x - inputs.box.low) / (inputs.box.high - inputs.box.low)).clamp(0, 1)
    return u.reshape(len(u), 1, 8, 8)


def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def references() -> dict[str, Any]:
    found = {}
    try:
        from art.attacks.evasion import ProjectedGradientDescent
        from art.estimators.classification import PyTorchClassifier

        found["ART"] = (PyTorchClassifier, ProjectedGradientDescent)
    except ImportError:
        console.print("ART not installed (pip install -e '.[robust-bench]'): no ART column")
    try:
        import torchattacks

        found["torchattacks"] = torchattacks
    except ImportError:
        console.print("torchattacks not installed (pip install --no-deps torchattacks)")
    return found


def reference_pgd(name, lib, unit, u, y, eps, norm, starts):
    """PGD-20 by library `name`; `starts` random starts (0: none, start at the input)."""
    alpha = 2.5 * eps / STEPS
    if name == "torchattacks":
        kind = lib.PGD if norm == "linf" else lib.PGDL2
        attacks = [
            kind(unit, eps=eps, alpha=alpha, steps=STEPS, random_start=starts > 0)
            for _ in range(max(1, starts))
        ]  # MultiAttack: each next attack only on the rows still standing, as restarts
        return (attacks[0] if len(attacks) == 1 else lib.MultiAttack(attacks))(u, y)
    classifier_type, pgd_type = lib
    classifier = classifier_type(
        unit,
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(1, 8, 8),
        nb_classes=10,
        clip_values=(0.0, 1.0),
    )
    attack = pgd_type(
        classifier,
        norm=np.inf if norm == "linf" else 2,
        eps=eps,
        eps_step=alpha,
        max_iter=STEPS,
        num_random_init=starts,
        batch_size=512,
        verbose=False,
    )
    # the true labels: without them ART attacks the model's own predictions, so rows it gets
    # wrong are pushed away from the wrong class (about the clean error rate, measured)
    return torch.from_numpy(attack.generate(u.numpy(), y=y.numpy()))


def reference_check(runs: dict[str, trainwell.Run], libs: dict[str, Any]) -> list[dict]:
    rows = []
    for arch in ("mlp", "cnn"):
        run = runs[f"{arch} normal"]
        inputs = attack_inputs(run, 10_000)
        model = run.model.eval()
        unit = UnitSpace(model, inputs).eval()
        u = to_unit(inputs.x, inputs)
        for norm, values in EPS.items():
            for eps in values:
                for starts in (0, RESTARTS):
                    torch.manual_seed(0)
                    ours = perturb(
                        model, inputs.x, inputs.y, inputs.box, eps, norm=norm, steps=STEPS,
                        random_start=starts > 0, restarts=max(1, starts),
                    )  # fmt: skip
                    row = {
                        "model": arch,
                        "norm": norm,
                        "eps": eps,
                        "random_starts": starts,
                        "trainwell": accuracy(model, ours, inputs.y),
                    }
                    for name, lib in libs.items():
                        torch.manual_seed(0)
                        theirs = reference_pgd(
                            name, lib, unit, u, inputs.y, eps, norm, starts,
                        )  # fmt: skip
                        row[name] = accuracy(unit, theirs, inputs.y)
                    rows.append(row)
    return rows


class Saturated(torch.nn.Module):
    """Gradient masking by saturation: same predictions, cross-entropy gradient exactly 0."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) * 1e4


def checks(runs: dict[str, trainwell.Run]) -> list[dict]:
    rows = []
    cases = [(name, run, False) for name, run in runs.items()]
    cases.append(("mlp masked (saturated logits)", runs["mlp normal"], True))
    for name, run, masked in cases:
        loaded = trainwell.load_run(run.run_dir)
        if masked:
            loaded.model = Saturated(loaded.model)
        result = trainwell.robust.attack(loaded, steps=STEPS)
        pgd = next(r for r in result.results if r.attack == "pgd" and r.eps == result.eps)
        rows.append(
            {
                "model": name,
                "clean": result.clean_accuracy,
                "pgd": pgd.accuracy,
                "worst": result.robust_accuracy,
                "failed": [c.name for c in result.checks if not c.passed],
                "findings": [f.code for f in result.findings],
            }
        )
    return rows


def training(runs: dict[str, trainwell.Run], keys: tuple[str, str]) -> dict:
    normal, adversarial = (runs[k] for k in keys)
    out = {}
    for key, run in zip(keys, (normal, adversarial), strict=True):
        inputs = attack_inputs(run, 10_000)
        torch.manual_seed(0)
        adv = perturb(run.model, inputs.x, inputs.y, inputs.box, 0.1, steps=STEPS)
        out[key] = {
            "clean": accuracy(run.model, inputs.x, inputs.y),
            "pgd20_at_0.1": accuracy(run.model, adv, inputs.y),
            "seconds": run.metrics["seconds"],
        }
    out["cost"] = out[keys[1]]["seconds"] / out[keys[0]]["seconds"]
    return out


def speed(run: trainwell.Run, libs: dict[str, Any], repeats: int = 3) -> dict[str, float]:
    """Best of `repeats` PGD-20 runs on 500 digits (test and validation rows)."""
    inputs = attack_inputs(run, 10_000)  # the model sees raw pixels: no standardisation
    val = load_splits(run.config).val
    x = torch.cat([inputs.x, torch.from_numpy(val.X.astype(np.float32))])[:500]
    y = torch.cat([inputs.y, torch.from_numpy(val.y)])[:500]
    model = run.model.eval()
    unit = UnitSpace(model, inputs).eval()
    u = to_unit(x, inputs)
    timings = {}
    jobs = {"trainwell": lambda: perturb(model, x, y, inputs.box, 0.1, steps=STEPS)}
    for name, lib in libs.items():
        jobs[name] = lambda name=name, lib=lib: reference_pgd(name, lib, unit, u, y, 0.1, "linf", 1)
    for name, job in jobs.items():
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            job()
            best = min(best, time.perf_counter() - started)
        timings[name] = best
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)  # small models on 2 shared cores: one thread (as fit chooses)
    libs = references()
    with tempfile.TemporaryDirectory() as out:
        console.print("training digits models (mlp, cnn; normal and PGD-AT) ...")
        runs = {
            f"{arch} {kind}": fit(out, arch, kind == "PGD-AT")
            for arch in ("mlp", "cnn")
            for kind in ("normal", "PGD-AT")
        }
        standardised = {
            f"mlp {kind} (standardised)": fit(out, "mlp", kind == "PGD-AT", standardize=True)
            for kind in ("normal", "PGD-AT")
        }
        console.print("cross-checking PGD against the references ...")
        reference = reference_check(runs, libs)
        console.print("checks against gradient masking, adversarial training, speed ...")
        results = {
            "reference": reference,
            "checks": checks(runs),
            "training": {
                arch: training(runs, (f"{arch} normal", f"{arch} PGD-AT"))
                for arch in ("mlp", "cnn")
            },
            "training_standardised": training(
                standardised, ("mlp normal (standardised)", "mlp PGD-AT (standardised)")
            ),
            "speed": speed(runs["mlp normal"], libs),
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    show(results, list(libs))


def show(results: dict, libs: list[str]) -> None:
    out = Console()
    table = Table(
        title=f"PGD-{STEPS} accuracy (%) on the digits test rows: trainwell vs references"
    )
    for column in ("model", "norm", "ε", "random starts", "trainwell", *libs, "max |Δ| (pp)"):
        table.add_column(column, justify="right")
    worst: dict[int, float] = {}
    for r in results["reference"]:
        gap = max((abs(r[n] - r["trainwell"]) for n in libs), default=0.0) * 100
        worst[r["random_starts"]] = max(worst.get(r["random_starts"], 0.0), gap)
        table.add_row(
            r["model"], r["norm"], f"{r['eps']:g}", str(r["random_starts"]),
            *(f"{100 * r[k]:.1f}" for k in ("trainwell", *libs)), f"{gap:.2f}",
        )  # fmt: skip
    out.print(table)
    for starts, gap in worst.items():
        verdict = "met" if gap <= 0.5 else "MISSED"
        what = (
            f"with {starts} random starts" if starts else "without a random start (deterministic)"
        )
        out.print(f"largest gap {what}: {gap:.2f} pp (goal ≤ 0.5: {verdict})")

    table = Table(title="Checks against gradient masking (attack.eps 0.1, L∞)")
    for column in ("model", "clean", "PGD", "worst case", "failed checks", "findings"):
        table.add_column(column)
    for r in results["checks"]:
        table.add_row(
            r["model"], f"{100 * r['clean']:.1f}%", f"{100 * r['pgd']:.1f}%",
            f"{100 * r['worst']:.1f}%", ", ".join(r["failed"]) or "none",
            ", ".join(r["findings"]) or "none",
        )  # fmt: skip
    out.print(table)

    table = Table(title="Adversarial training (ε 0.1, PGD-7) against normal training")
    for column in ("model", "clean", "PGD-20 at ε 0.1", "training s", "cost"):
        table.add_column(column, justify="right")
    trained = {**results["training"], "mlp (standardised)": results["training_standardised"]}
    for t in trained.values():
        keys = [k for k in t if k != "cost"]
        for key in keys:
            cost = f"{t['cost']:.1f}x" if key == keys[1] else "1.0x"
            table.add_row(
                key, f"{100 * t[key]['clean']:.1f}%", f"{100 * t[key]['pgd20_at_0.1']:.1f}%",
                f"{t[key]['seconds']:.1f}", cost,
            )  # fmt: skip
    out.print(table)
    mlp = results["training"]["mlp"]
    normal, robust = mlp["mlp normal"], mlp["mlp PGD-AT"]
    met = robust["pgd20_at_0.1"] >= 0.8 and abs(robust["clean"] - normal["clean"]) <= 0.01
    out.print(
        f"goal (mlp): PGD-20 ≥ 80% at clean within 1 point: {'met' if met else 'MISSED'} "
        f"(anchor: normal 45%, PGD-AT 83% at clean 97.2%)"
    )
    s = results["speed"]
    out.print(
        "PGD-20 on 500 digits (mlp, best of 3): "
        + ", ".join(f"{name} {sec:.3f} s" for name, sec in s.items())
        + "; "
        + ", ".join(f"{name} / trainwell {sec / s['trainwell']:.1f}x" for name, sec in s.items())
        + f"; goal ≤ 5 s: {'met' if s['trainwell'] <= 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
