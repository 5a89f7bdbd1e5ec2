"""The explanation's checks and measurements, each on a case with the problem and a
healthy twin: unfaithful maps (deletion, randomisation) and group performance gaps."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from trainwell.explain._attribute import attribute, gradcam_layer
from trainwell.explain._checks import Thresholds, check_faithfulness, check_groups, check_sanity
from trainwell.explain._data import source_columns
from trainwell.explain._groups import group_labels, group_report
from trainwell.explain._trust import Faithfulness, Sanity, deletion, randomisation, rank_correlation


def _faith(auc: float, random_auc: float, start: float = 0.9, end: float = 0.1) -> Faithfulness:
    return Faithfulness(auc, random_auc, [0.0, 1.0], [start, end], [start, end], start, end)


def test_deletion_no_faster_than_random_is_unfaithful():
    [finding] = check_faithfulness(_faith(0.42, 0.44), "ig")
    assert finding.code == "unfaithful_explanation" and finding.source == "evaluation"
    assert finding.evidence["check"] == "deletion" and finding.evidence["ratio"] > 0.9


def test_deletion_much_faster_than_random_is_faithful():
    assert check_faithfulness(_faith(0.13, 0.44), "ig") == []


def test_a_model_that_ignores_deletion_is_not_judged():
    assert check_faithfulness(_faith(0.8, 0.8, start=0.82, end=0.78), "ig") == []


def test_maps_unchanged_by_random_weights_fail_the_sanity_check():
    [finding] = check_sanity(Sanity(0.93), "saliency")
    assert finding.code == "unfaithful_explanation"
    assert finding.evidence["check"] == "randomisation"
    assert check_sanity(Sanity(0.04), "saliency") == []
    assert check_sanity(Sanity(0.6), "saliency", Thresholds(max_rank_correlation=0.7)) == []


@pytest.fixture(scope="module")
def planted():
    """A network trained on 4 informative inputs among 16 (the rest noise)."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, 16)).astype(np.float32)
    y = (X[:, :4] @ np.array([1.5, -1.5, 1.0, -1.0]) > 0).astype(np.int64)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X[:1000]), y[:1000]).backward()
        optimizer.step()
    model.eval()
    test = X[1000:]
    return model, test, model(test).argmax(1).detach()


def test_ig_order_removes_the_prediction_faster_than_random(planted):
    model, X, targets = planted
    maps = attribute(model, X, targets, "ig")
    faith = deletion(model, X, targets.numpy(), maps)
    assert faith.ratio < 0.7
    assert check_faithfulness(faith, "ig") == []
    top = np.argsort(-np.abs(maps).mean(0))[:4]
    assert set(top.tolist()) == {0, 1, 2, 3}


def test_a_random_map_is_found_unfaithful(planted):
    model, X, targets = planted
    noise = np.random.default_rng(1).normal(size=tuple(X.shape)).astype(np.float32)
    faith = deletion(model, X, targets.numpy(), noise)
    assert faith.ratio > 0.9
    assert [f.code for f in check_faithfulness(faith, "noise")] == ["unfaithful_explanation"]


def test_randomisation_separates_a_model_blind_map_from_a_real_one(planted):
    model, X, targets = planted
    maps = attribute(model, X, targets, "saliency")
    sane = randomisation(model, X, targets, maps, lambda m, x, t: attribute(m, x, t, "saliency"))
    assert sane.randomized_rank_correlation < 0.3 and check_sanity(sane, "saliency") == []
    assert [c["layer"] for c in sane.cascade] == ["2", "0"]  # top layer first
    blind = randomisation(model, X, targets, X.numpy(), lambda m, x, t: x.numpy())  # the input
    assert blind.randomized_rank_correlation > 0.99
    assert [f.code for f in check_sanity(blind, "input")] == ["unfaithful_explanation"]


def test_rank_correlation_of_identical_and_reversed_maps():
    a = np.arange(10.0)[None].repeat(3, 0)
    assert rank_correlation(a, a) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)


def _predictions(error_rates: dict[str, float], rows: int = 200, seed: int = 0):
    """Binary labels and predictions with a planted error rate per group."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(list(error_rates), rows)
    y = rng.integers(0, 2, groups.size)
    wrong = rng.random(groups.size) < np.array([error_rates[g] for g in groups])
    return groups.astype(object), y, np.where(wrong, 1 - y, y)


@pytest.mark.parametrize("seed", range(3))
def test_a_planted_group_gap_is_found(seed):
    groups, y, predicted = _predictions({"a": 0.05, "b": 0.35}, seed=seed)
    report = group_report("site", groups, y, predicted, n_classes=2, seed=seed)
    [finding] = check_groups(report)  # one finding per grouping, every gapped metric in it
    assert finding.code == "group_performance_gap" and finding.severity == "warning"
    assert finding.evidence["metric"] == "accuracy" and "accuracy" in finding.evidence["metrics"]
    assert finding.evidence["worst"] == "b" and finding.evidence["ci"][0] > 0
    assert {"demographic_parity_difference", "equalized_odds_difference"} <= set(report.gaps)


@pytest.mark.parametrize("seed", range(3))
def test_groups_without_a_gap_are_not_flagged(seed):
    groups, y, predicted = _predictions({"a": 0.1, "b": 0.1}, seed=seed)
    report = group_report("site", groups, y, predicted, n_classes=2, seed=seed)
    assert check_groups(report) == []
    assert report.metrics["a"]["accuracy_ci"][0] < report.metrics["a"]["accuracy"]


def test_a_small_group_is_reported_not_judged():
    groups, y, predicted = _predictions({"a": 0.05, "b": 0.05}, rows=200)
    tiny_groups, tiny_y, tiny_predicted = _predictions({"c": 0.9}, rows=12, seed=1)
    report = group_report(
        "site",
        np.concatenate([groups, tiny_groups]),
        np.concatenate([y, tiny_y]),
        np.concatenate([predicted, tiny_predicted]),
        n_classes=2,
    )
    assert report.too_small == ["c"] and report.metrics["c"]["rows"] == 12
    assert not report.metrics["c"]["judged"] and check_groups(report) == []


def test_many_numeric_values_become_two_halves_and_one_hot_columns_regroup():
    labels = group_labels(np.arange(100.0), "age")
    assert sorted(set(labels)) == ["age <= 49.5", "age > 49.5"]
    assert list(group_labels(np.array([1.0, 2.0, 1.0]), "site")) == ["1", "2", "1"]
    # rows without a value are a group of their own, not the upper half (NaN <= m is False)
    ages = np.r_[np.arange(100.0), [np.nan] * 5]
    assert list(group_labels(ages, "age")[-6:]) == ["age > 49.5", *["(missing)"] * 5]
    site = np.array(["a", None, pd.NA, "b"], dtype=object)
    assert list(group_labels(site, "site")) == ["a", "(missing)", "(missing)", "b"]
    names = ["x", "colour=red", "colour=blue", "ratio=2"]
    assert source_columns(names, {"colour": ["blue", "red"]}) == {
        "x": [0],
        "colour": [1, 2],
        "ratio=2": [3],
    }


def test_different_base_rates_alone_are_not_a_performance_gap():
    rng = np.random.default_rng(0)
    groups = np.repeat(["a", "b"], 200).astype(object)
    y = np.concatenate([rng.random(200) < 0.8, rng.random(200) < 0.2]).astype(int)
    report = group_report("site", groups, y, y.copy(), n_classes=2)
    assert report.gaps["demographic_parity_difference"]["value"] > 0.4
    assert "selection_rate" not in report.gaps and check_groups(report) == []


def test_a_higher_false_positive_rate_is_the_worse_one():
    rng = np.random.default_rng(0)
    groups = np.repeat(["a", "b"], 300).astype(object)
    y = rng.integers(0, 2, 600)
    predicted = y.copy()
    negatives_b = np.flatnonzero((groups == "b") & (y == 0))
    predicted[negatives_b[: len(negatives_b) // 2]] = 1  # half of b's negatives called positive
    report = group_report("site", groups, y, predicted, n_classes=2)
    fpr = report.gaps["false_positive_rate"]
    assert (fpr["best"], fpr["worst"]) == ("a", "b") and fpr["gap"] > 0.4
    [finding] = check_groups(report)
    assert "false_positive_rate" in finding.evidence["metrics"]
    assert "false positive rate" in finding.message


def _print_detector() -> nn.Module:
    """Class 0 "normal" grows with the brightness the conv unit sees, class 1 "missing
    print" with its absence: the evidence for class 1 is a unit that stays silent."""
    conv = nn.Conv2d(1, 1, 1)
    head = nn.Linear(1, 2)
    with torch.no_grad():
        conv.weight.fill_(1.0), conv.bias.zero_()
        head.weight.copy_(torch.tensor([[1.0], [-1.0]])), head.bias.zero_()
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), head).eval()


def test_gradcam_from_a_reference_points_at_an_absence():
    rng = np.random.default_rng(0)
    texture = torch.from_numpy(rng.uniform(0, 0.2, (9, 1, 12, 12)).astype(np.float32))
    printed = texture.clone()
    printed[:, :, 8:10, 2:4] += 1.0  # the print every normal part carries
    missing = texture[:1]  # a part without it
    target = torch.tensor([1])
    model = _print_detector()
    from_zero = attribute(model, missing, target, "gradcam")
    from_reference = attribute(model, missing, target, "gradcam", reference=printed[1:])
    assert not from_zero.any()  # silent units times a negative weight: nothing to show
    peak = np.unravel_index(from_reference[0, 0].argmax(), (12, 12))
    assert 8 <= peak[0] <= 9 and 2 <= peak[1] <= 3
    # a normal part from the same reference: nothing missing, so no place stands out as absent
    assert attribute(model, printed[:1], target, "gradcam", reference=printed[1:]).max() < (
        0.2 * from_reference.max()
    )


class _SharedReLU(nn.Module):
    """One ReLU module for the conv and the dense layer, as hand-written models often do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()  # registered after the conv: the layer Grad-CAM reads
        self.dense = nn.Linear(4 * 6 * 6, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.conv(x))
        return self.head(self.relu(self.dense(x.flatten(1))))


def test_gradcam_reads_the_feature_map_of_an_activation_used_twice():
    torch.manual_seed(0)
    model = _SharedReLU().eval()
    assert gradcam_layer(model) is model.relu
    images = torch.randn(5, 1, 6, 6)
    maps = attribute(model, images, torch.tensor([0, 1, 0, 1, 0]), "gradcam", reference=images)
    assert maps.shape == images.shape and np.isfinite(maps).all()


class _Residual(nn.Module):
    """A conv block whose output the next line changes in place (`y += x`)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.act = nn.ReLU()
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        y += x
        return self.head(y.mean((2, 3)))


def _small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 2)
    )


@pytest.mark.parametrize("model", [_small_cnn, _Residual])
def test_gradcam_from_zero_is_captums_grad_cam(model):
    from captum.attr import LayerAttribution, LayerGradCam

    torch.manual_seed(0)
    net = model().eval()
    images, targets = torch.randn(6, 1, 6, 6), torch.tensor([0, 1, 1, 0, 1, 0])
    ours = attribute(net, images, targets, "gradcam")[:, :1]
    coarse = LayerGradCam(net, gradcam_layer(net)).attribute(
        images, target=targets, relu_attributions=True
    )
    captum = LayerAttribution.interpolate(coarse, (6, 6), "bilinear").detach().numpy()
    assert np.allclose(ours, captum, atol=1e-6) and captum.max() > 0


def test_names_the_font_lacks_are_drawn_without_a_warning_per_glyph(tmp_path, recwarn):
    """CJK column names: matplotlib warned once per missing glyph on the terminal."""
    from trainwell.explain._importance import Importance
    from trainwell.explain._plots import importance_plot

    found = [Importance("年齢", 0.3, 0.02, 0.5), Importance("収入", 0.1, 0.01, 0.2)]
    importance_plot(found, tmp_path / "importance.png")
    assert (tmp_path / "importance.png").stat().st_size > 0
    assert not [w for w in recwarn if "Glyph" in str(w.message)]
