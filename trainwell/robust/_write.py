"""`RUN_DIR/attack/`: attack.json (the `--json` object), curve.png (robust accuracy against
ε), and examples.png (images) or features.png (tables). The folder is written beside the
run under a temporary name, then renamed: a reader never sees half of it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ..runs import staged_dir, write_json
from ._examples import Examples

if TYPE_CHECKING:
    from ._attack import Robustness

COLOURS = {"fgsm": "#E69F00", "pgd": "#0072B2", "random_search": "#009E73"}  # Okabe-Ito


def write_attack_dir(result: Robustness, examples: Examples | None) -> Path:
    """Write the folder in full under a temporary name, then swap it in."""
    final = Path(result.run_dir) / "attack"
    with staged_dir(final) as staging:
        write_json(staging / "attack.json", result.summary())
        _curve(result, staging / "curve.png")
        if examples is not None:
            _examples(examples, result, staging / "examples.png")
        if result.moved_features:
            _features(result, staging / "features.png")
    return final


def _curve(result: Robustness, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.8), layout="constrained")
    for name in ("fgsm", "pgd"):
        points = sorted((r.eps, r.accuracy) for r in result.results if r.attack == name)
        eps = [0.0] + [e for e, _ in points]
        acc = [result.clean_accuracy] + [a for _, a in points]
        steps = next(r.steps for r in result.results if r.attack == name)
        label = "FGSM" if name == "fgsm" else f"PGD-{steps}"
        ax.plot(eps, [100 * a for a in acc], "o-", color=COLOURS[name], label=label)
    ax.axvline(result.eps, color="grey", linestyle=":", linewidth=1)
    ax.plot(
        [result.eps],
        [100 * result.robust_accuracy],
        "v",
        color="black",
        label=f"worst case of all attacks at attack.eps {result.eps:g}",
    )
    ax.set_xlabel(f"ε ({result.norm}, {result.unit})")
    ax.set_ylabel("accuracy under attack (%)")
    ax.set_ylim(-3, 103)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(f"Robust accuracy on {result.rows} test rows", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _examples(examples: Examples, result: Robustness, path: Path) -> None:
    n = len(examples.original)
    fig, axes = plt.subplots(2, n, figsize=(1.5 * n + 0.4, 3.6), squeeze=False)
    scale = {"vmin": examples.low, "vmax": examples.high, "cmap": "gray_r"}
    for i in range(n):
        for row, pictures in enumerate((examples.original, examples.adversarial)):
            ax = axes[row][i]
            picture = pictures[i]
            if picture.ndim == 3:  # colour: scale into [0, 1]
                span = max(examples.high - examples.low, 1e-12)
                ax.imshow(((picture - examples.low) / span).clip(0, 1))
            else:
                ax.imshow(picture, **scale)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0][i].set_title(f"{examples.true[i]}: read {examples.before[i]}", fontsize=8)
        axes[1][i].set_xlabel(f"read {examples.after[i]}", fontsize=8)
    axes[0][0].set_ylabel("original", fontsize=8)
    axes[1][0].set_ylabel(f"PGD ε {result.examples_eps:g}", fontsize=8)
    fig.suptitle("true class: what the model reads, before and after the attack", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _features(result: Robustness, path: Path) -> None:
    moved = result.moved_features[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(moved) + 1.2), layout="constrained")
    ax.barh(
        [m["feature"] for m in moved],
        [100 * m["loss_share"] for m in moved],
        color=COLOURS["pgd"],
    )
    ax.set_xlabel("share of the loss increase (%; shift × gradient)")
    ax.set_title(f"Features PGD used most at ε {result.examples_eps:g}", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)
