"""Checks that a robustness evaluation is not fooled by gradient masking, and the findings.

Gradient attacks only find what the gradients point at. A model whose gradients are masked
(non-differentiable steps, saturated outputs, randomness) looks robust to them while it is
not (Athalye et al., ICML 2018; Carlini et al., "On Evaluating Adversarial Robustness",
2019). Each check is a pure function of measured accuracies and says pass or fail; a
failure makes the evaluation unreliable, and the worst case over all attacks is reported.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..findings import Finding

TOLERANCE = 0.01  # accuracy (share of rows): random starts move results by a few rows
LARGE_EPS_ACCURACY = 0.05  # at an ε that reaches every valid input, at most this survives
VULNERABLE_SHARE = 0.5  # adversarial_vulnerability: robust accuracy below half the clean one


@dataclass
class Measurement:
    """Accuracy under one attack at one ε (`attack`: fgsm | pgd)."""

    attack: str
    norm: str
    eps: float
    steps: int
    accuracy: float
    restarts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def falls_with_eps(
    results: Sequence[Measurement], tolerance: float = TOLERANCE, judged: Sequence[str] = ("pgd",)
) -> Check:
    """Accuracy never rises with ε under a multi-step attack: a larger ball contains the
    smaller, and PGD searches the ball (Carlini et al. 2019 ask this of iterative attacks).
    FGSM's single step of length ε does not search it: at larger ε its linear step
    overshoots where the loss curves (Kurakin et al., ICLR 2017; Tramèr et al., ICLR 2018),
    so its accuracy may rise with ε on a healthy model. Its rises are told, not judged."""
    rises: dict[bool, list[str]] = {True: [], False: []}
    for name in dict.fromkeys(r.attack for r in results):
        curve = sorted((r for r in results if r.attack == name), key=lambda r: r.eps)
        rises[name in judged] += [
            f"{name.upper()} {_pct(a.accuracy)} at ε {a.eps:g}, {_pct(b.accuracy)} at {b.eps:g}"
            for a, b in itertools.pairwise(curve)
            if b.accuracy > a.accuracy + tolerance
        ]
    told = (
        f" ({'; '.join(rises[False])}: single-step overshoot, not judged)" if rises[False] else ""
    )
    if rises[True]:
        return Check("accuracy_falls_with_eps", False, "; ".join(rises[True]) + told)
    what = "/".join(a.upper() for a in judged)
    return Check("accuracy_falls_with_eps", True, f"{what} accuracy never rises with ε{told}")


def pgd_beats_fgsm(results: Sequence[Measurement], tolerance: float = TOLERANCE) -> Check:
    """PGD (many steps) is at least as strong as FGSM (its first step) at every ε."""
    fgsm = {r.eps: r.accuracy for r in results if r.attack == "fgsm"}
    worse = [
        f"ε {r.eps:g}: PGD {_pct(r.accuracy)} > FGSM {_pct(fgsm[r.eps])}"
        for r in results
        if r.attack == "pgd" and r.eps in fgsm and r.accuracy > fgsm[r.eps] + tolerance
    ]
    if worse:
        return Check("pgd_at_most_fgsm", False, "; ".join(worse))
    return Check("pgd_at_most_fgsm", True, "PGD is at least as strong as FGSM at every ε")


def more_effort_no_better(
    pgd: Measurement, stronger: Measurement, tolerance: float = TOLERANCE
) -> Check:
    """More steps and restarts never leave the model more accurate."""
    what = (
        f"PGD-{stronger.steps} × {stronger.restarts} restarts {_pct(stronger.accuracy)} "
        f"vs PGD-{pgd.steps} × {pgd.restarts} {_pct(pgd.accuracy)} at ε {pgd.eps:g}"
    )
    return Check("more_steps_never_help", stronger.accuracy <= pgd.accuracy + tolerance, what)


def large_eps_breaks(large: Measurement, limit: float = LARGE_EPS_ACCURACY) -> Check:
    """At an ε that reaches every valid input from any other, accuracy must fall to ~0."""
    what = f"PGD at ε {large.eps:.3g} (the whole valid range): {_pct(large.accuracy)}"
    return Check("large_eps_reaches_zero", large.accuracy <= limit, f"{what} (limit {_pct(limit)})")


def gradient_free_no_better(
    pgd: Measurement, search: Measurement, tolerance: float = TOLERANCE
) -> Check:
    """A black-box random search must not beat the white-box gradient attack."""
    what = (
        f"random search ({search.steps} queries) {_pct(search.accuracy)} vs PGD "
        f"{_pct(pgd.accuracy)} at ε {pgd.eps:g}"
    )
    return Check("gradient_free_not_stronger", search.accuracy >= pgd.accuracy - tolerance, what)


def robustness_findings(
    checks: Sequence[Check],
    *,
    clean: float,
    robust: float,
    pgd: float,
    eps: float,
    norm: str,
    unit: str,
    share: float = VULNERABLE_SHARE,
) -> list[Finding]:
    """`unreliable_robustness_evaluation` when a check failed; `adversarial_vulnerability`
    when the worst case over all attacks at ε is below `share` of the clean accuracy."""
    findings = []
    failed = [c for c in checks if not c.passed]
    if failed:
        findings.append(
            Finding(
                code="unreliable_robustness_evaluation",
                severity="warning",
                source="evaluation",
                message=(
                    f"{len(failed)} of {len(checks)} checks against gradient masking failed "
                    f"({', '.join(c.name for c in failed)}): gradient attacks are misled, so "
                    f"PGD's {_pct(pgd)} overstates robustness; the worst case over all attacks "
                    f"is {_pct(robust)}. Look for non-differentiable or saturating steps in the "
                    "model (rounding, argmax, clipping, huge logits); attack the model without "
                    "them or with a gradient-free attack before trusting the number."
                ),
                evidence={c.name: c.detail for c in failed},
            )
        )
    if robust < share * clean:
        findings.append(
            Finding(
                code="adversarial_vulnerability",
                severity="warning",
                source="evaluation",
                message=(
                    f"Perturbations of ε {eps:g} ({unit}, {norm}) bring accuracy from "
                    f"{_pct(clean)} down to {_pct(robust)}, below {share:.0%} of the clean "
                    f"accuracy. Train with adversarial examples: train.adversarial: "
                    f"{{eps: {eps:g}, norm: {norm}}} (PGD adversarial training)."
                ),
                evidence={
                    "eps": eps,
                    "norm": norm,
                    "clean_accuracy": clean,
                    "robust_accuracy": robust,
                    "threshold": share * clean,
                },
                remedy="adversarial_training",
            )
        )
    return findings


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"
