"""What is checked of every compressed variant: pure functions of measured figures, each
returning a `Check` (shown in the table and the report) and, when it fails, a Finding.

- faithful export (an ONNX file of a PyTorch model): the largest difference between their
  outputs on the test rows within `export_atol` (scaled by the outputs' magnitude), and
  the same argmax on every row. A failure means the file does not compute what was
  trained: do not ship it.
- accuracy kept (int8, pruned): test accuracy at most `max_drop_int8` / `max_drop_pruned`
  below the fp32 model's, and for int8 (the same function, rounded) argmax agreement with
  it of at least `min_agreement`.
- smaller (pruned): fewer parameters and a smaller file than the model it came from;
  masking weights, as `torch.nn.utils.prune` does, fails it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..findings import Finding


@dataclass(frozen=True)
class Tolerances:
    export_atol: float = 1e-4  # per unit of output magnitude (max |output|, at least 1)
    min_agreement: float = 0.99  # of argmax with the fp32 model (int8 variants)
    max_drop_int8: float = 0.005  # test accuracy, as a fraction (0.5 points)
    max_drop_pruned: float = 0.01  # 1 point


@dataclass
class Check:
    name: str
    variant: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_export(
    variant: str,
    max_abs_diff: float,
    output_scale: float,
    agreement: float | None,
    tol: Tolerances = Tolerances(),
) -> tuple[Check, Finding | None]:
    """An exported file against the PyTorch model it was exported from (same rows)."""
    limit = tol.export_atol * max(1.0, output_scale)
    argmax_ok = agreement is None or agreement == 1.0
    passed = max_abs_diff <= limit and argmax_ok
    same = "" if agreement is None else f", argmax agreement {100 * agreement:.2f}%"
    detail = f"max |ONNX - PyTorch| {max_abs_diff:.2e} (limit {limit:.1e}){same}"
    check = Check("faithful export", variant, passed, detail)
    if passed:
        return check, None
    return check, Finding(
        code="unfaithful_export",
        severity="error",
        source="evaluation",
        message=(
            f"The {variant} ONNX file does not compute what the PyTorch model computes on the "
            f"test rows ({detail}). Do not deploy it: re-export, or report the operator to "
            "the exporter."
        ),
        evidence={
            "variant": variant,
            "max_abs_diff": max_abs_diff,
            "limit": limit,
            "agreement": agreement,
        },
    )


def check_accuracy(
    variant: str,
    agreement: float | None,
    accuracy: float | None,
    reference_accuracy: float | None,
    *,
    pruned: bool,
    tol: Tolerances = Tolerances(),
) -> tuple[Check, Finding | None]:
    """A lossy variant (int8 or pruned) against the fp32 model, on the test rows."""
    if agreement is None or accuracy is None or reference_accuracy is None:  # regression
        return Check("accuracy kept", variant, True, "not a classification task"), None
    max_drop = tol.max_drop_pruned if pruned else tol.max_drop_int8
    drop = reference_accuracy - accuracy
    # a retrained (pruned) network may change its mind on a few borderline rows: only its
    # accuracy counts; a quantized one computes the same function, so agreement counts too
    agrees = pruned or agreement >= tol.min_agreement
    passed = agrees and drop <= max_drop + 1e-12
    detail = (
        f"accuracy {100 * accuracy:.1f}% vs {100 * reference_accuracy:.1f}% "
        f"(at most {100 * max_drop:.1f} points lower), agreement {100 * agreement:.1f}%"
        + ("" if pruned else f" (at least {100 * tol.min_agreement:.0f}%)")
    )
    check = Check("accuracy kept", variant, passed, detail)
    if passed:
        return check, None
    remedy = (
        "prune a smaller fraction or fine-tune longer (--finetune)"
        if pruned
        else "keep the fp32 ONNX file, or quantize statically with more calibration rows"
    )
    return check, Finding(
        code="compression_accuracy_loss",
        severity="warning",
        source="evaluation",
        message=f"The {variant} model loses too much against fp32: {detail}. {remedy[0].upper()}"
        f"{remedy[1:]}.",
        evidence={
            "variant": variant,
            "agreement": agreement,
            "accuracy": accuracy,
            "reference_accuracy": reference_accuracy,
            "max_drop": max_drop,
        },
    )


def check_smaller(
    variant: str, parameters: int, size: int, source_parameters: int, source_size: int
) -> Check:
    """A pruned model must really be smaller, not the same network with zeros in it."""
    passed = parameters < source_parameters and size < source_size
    detail = (
        f"{parameters:,} parameters vs {source_parameters:,} "
        f"({parameters / source_parameters:.2f}x), {size:,} bytes vs {source_size:,} "
        f"({size / source_size:.2f}x)"
    )
    return Check("smaller", variant, passed, detail)
