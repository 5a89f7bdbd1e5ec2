"""The checks of compressed variants, each on a problem case and a healthy twin, from the
figures alone (no model needed)."""

from trainwell.compress import Tolerances, check_accuracy, check_export


def test_an_export_that_computes_something_else_is_unfaithful():
    check, finding = check_export("onnx", 0.03, output_scale=12.0, agreement=1.0)
    assert not check.passed and finding.code == "unfaithful_export"
    assert finding.severity == "error" and finding.evidence["max_abs_diff"] == 0.03
    check, finding = check_export("onnx", 1e-6, output_scale=12.0, agreement=0.99)
    assert not check.passed and finding.code == "unfaithful_export"  # one row flipped


def test_a_faithful_export_passes_with_the_float_noise_of_a_runtime():
    check, finding = check_export("onnx", 9.5e-6, output_scale=12.0, agreement=1.0)
    assert check.passed and finding is None
    # regression: no argmax, only the difference counts
    assert check_export("onnx", 2e-6, output_scale=0.5, agreement=None)[0].passed


def test_the_export_tolerance_scales_with_the_outputs_but_never_below_its_floor():
    assert not check_export("onnx", 5e-4, output_scale=0.2, agreement=1.0)[0].passed  # 1e-4
    assert check_export("onnx", 5e-4, output_scale=20.0, agreement=1.0)[0].passed  # 2e-3


def test_int8_that_changes_predictions_loses_accuracy():
    check, finding = check_accuracy("int8", 0.95, 0.96, 0.97, pruned=False)
    assert not check.passed and finding.code == "compression_accuracy_loss"  # agreement
    check, finding = check_accuracy("int8", 0.995, 0.96, 0.97, pruned=False)
    assert not check.passed and finding.code == "compression_accuracy_loss"  # 1 point
    assert finding.evidence["max_drop"] == Tolerances().max_drop_int8


def test_int8_that_keeps_the_predictions_passes():
    check, finding = check_accuracy("int8", 0.997, 0.97, 0.972, pruned=False)
    assert check.passed and finding is None


def test_a_pruned_model_is_judged_by_its_accuracy_not_its_agreement():
    # retrained: it may change its mind on borderline rows and be as accurate
    check, finding = check_accuracy("pruned", 0.97, 0.968, 0.972, pruned=True)
    assert check.passed and finding is None
    check, finding = check_accuracy("pruned", 0.97, 0.95, 0.972, pruned=True)
    assert not check.passed and finding.code == "compression_accuracy_loss"
    assert "fine-tune longer" in finding.message


def test_regression_has_no_accuracy_to_lose():
    check, finding = check_accuracy("int8", None, None, None, pruned=False)
    assert check.passed and finding is None
