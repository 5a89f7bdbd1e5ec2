"""Structured pruning: the importance score, the slicing of every layer kind (dense,
conv, batch norm, the Flatten between conv and dense), and the check that a pruned model
is really smaller (masking, as torch.nn.utils.prune does, is not)."""

import io

import pytest
import torch
import torch.nn.utils.prune
from torch import nn

from trainwell.compress import check_smaller, importance, prune_network
from trainwell.compress._prune import count_parameters
from trainwell.config import Model
from trainwell.models import build_model

SHAPES = {"mlp": [20], "cnn": [1, 8, 8]}


def _network(arch: str, batchnorm: bool = False) -> tuple[nn.Module, Model]:
    """Widths divisible by 4, so pruning 25% removes a whole number of units everywhere."""
    torch.manual_seed(0)
    spec = Model(arch=arch, hidden=[16, 12], channels=[8, 4], batchnorm=batchnorm, dropout=0.1)
    model = build_model(spec, SHAPES[arch], 3, regression=False).eval()
    with torch.no_grad():  # every unit fires on some rows: none is dead by chance
        for layer in model.modules():
            if isinstance(layer, nn.Linear | nn.Conv2d):
                layer.bias.fill_(0.5)
    return model, spec


def _unread(model: nn.Module, producer: int, units: list[int]) -> None:
    """Zero the weights that read `units` of layer `producer`: nothing downstream sees them."""
    layers = list(model.net)
    weighted = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear | nn.Conv2d)]
    consumer = layers[weighted[weighted.index(producer) + 1]]
    with torch.no_grad():
        if isinstance(layers[producer], nn.Conv2d) and isinstance(consumer, nn.Linear):
            per = consumer.in_features // layers[producer].out_channels  # after Flatten
            for unit in units:
                consumer.weight[:, unit * per : (unit + 1) * per] = 0
        else:
            consumer.weight[:, units] = 0


def _plant_quarter(model: nn.Module, X: torch.Tensor) -> dict[int, list[int]]:
    """A quarter of the units of every prunable layer made unread (every other unit from 1)."""
    planted = {}
    for producer, score in importance(model, X).items():
        planted[producer] = list(range(1, len(score), 2))[: len(score) // 4]
        _unread(model, producer, planted[producer])
    return planted


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_units_nothing_reads_score_zero_and_removing_them_changes_nothing(arch, batchnorm):
    model, spec = _network(arch, batchnorm)
    X = torch.randn(64, *SHAPES[arch])
    planted = _plant_quarter(model, X)
    zero = {}
    for producer, score in importance(model, X).items():
        zero[producer] = set(torch.nonzero(score == 0).flatten().tolist())
        assert set(planted[producer]) <= zero[producer]  # (a few more may die upstream of them)
        assert len(zero[producer]) < len(score) // 2
    pruned = prune_network(model, spec, SHAPES[arch], 3, X, 0.25)
    for producer in planted:
        before, after = pruned.widths[f"net.{producer}"]
        assert set(range(before)) - set(pruned.kept[f"net.{producer}"]) <= zero[producer]
        assert after == before * 3 // 4
    assert pruned.spec.hidden == [12, 9]
    assert pruned.spec.channels == ([6, 3] if arch == "cnn" else spec.channels)
    assert count_parameters(pruned.model) < count_parameters(model)
    torch.testing.assert_close(pruned.model(X), model(X), atol=1e-5, rtol=1e-5)


def test_dead_relu_units_go_first_and_removing_them_keeps_the_function():
    model, spec = _network("mlp")
    X = torch.randn(128, 20)
    dead = {1: [2, 9, 11, 15], 4: [0, 4, 7]}  # net.1 (16 units) and net.4 (12 units)
    with torch.no_grad():
        for layer, units in dead.items():
            model.net[layer].weight[units] = 0
            model.net[layer].bias[units] = -1.0  # never fires
    pruned = prune_network(model, spec, [20], 3, X, 0.25)
    for layer, units in dead.items():
        removed = set(range(len(model.net[layer].bias))) - set(pruned.kept[f"net.{layer}"])
        assert removed == set(units)
    torch.testing.assert_close(pruned.model(X), model(X), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_healthy_twin_every_unit_counts_and_removing_any_changes_the_outputs(arch):
    model, spec = _network(arch)
    X = torch.randn(128, *SHAPES[arch])
    assert all((score > 0).all() for score in importance(model, X).values())
    pruned = prune_network(model, spec, SHAPES[arch], 3, X, 0.25)
    assert not torch.allclose(pruned.model(X), model(X), atol=1e-3)


def test_the_score_prefers_units_whose_output_is_read_strongly():
    model, spec = _network("mlp")
    X = torch.randn(256, 20)
    with torch.no_grad():
        model.net[4].weight[:, 3] *= 50  # net.1's unit 3 feeds the next layer 50x harder
        model.net[4].weight[:, 5] *= 0.01  # and unit 5 barely
    score = importance(model, X)[1]
    assert int(score.argmax()) == 3 and int(score.argmin()) == 5
    kept = prune_network(model, spec, [20], 3, X, 0.5).kept["net.1"]
    assert 3 in kept and 5 not in kept


def test_masking_fails_the_smaller_check_and_real_pruning_passes():
    model, spec = _network("mlp")

    def size(m: nn.Module) -> int:
        buffer = io.BytesIO()
        torch.save(m.state_dict(), buffer)
        return len(buffer.getvalue())

    masked, _ = _network("mlp")
    for layer in (masked.net[1], masked.net[4]):
        torch.nn.utils.prune.ln_structured(layer, "weight", amount=0.5, n=1, dim=0)
        torch.nn.utils.prune.remove(layer, "weight")  # the zeros baked in: same shapes
    problem = check_smaller(
        "masked", count_parameters(masked), size(masked), count_parameters(model), size(model)
    )
    assert not problem.passed
    pruned = prune_network(model, spec, [20], 3, torch.randn(64, 20), 0.5).model
    healthy = check_smaller(
        "pruned", count_parameters(pruned), size(pruned), count_parameters(model), size(model)
    )
    assert healthy.passed
    assert count_parameters(pruned) < count_parameters(model) / 2


def test_constant_units_are_removed_without_changing_the_outputs_their_mean_goes_to_the_bias():
    model, spec = _network("mlp")
    X = torch.randn(128, 20)
    constant = {1: [0, 1, 2, 3], 4: [0, 1, 2]}  # a quarter of each layer
    with torch.no_grad():  # they always send 2.0: information-free, but not silent
        for layer, units in constant.items():
            model.net[layer].weight[units] = 0
            model.net[layer].bias[units] = 2.0
    for layer, score in importance(model, X).items():
        assert (score[constant[layer]] == 0).all()
        assert (score > 0).sum() == len(score) - len(constant[layer])
    compensated = prune_network(model, spec, [20], 3, X, 0.25)
    assert compensated.kept["net.1"] == list(range(4, 16))
    torch.testing.assert_close(compensated.model(X), model(X), atol=1e-5, rtol=1e-5)
    dropped = prune_network(model, spec, [20], 3, X, 0.25, compensate=False)
    assert dropped.kept == compensated.kept
    assert not torch.allclose(dropped.model(X), model(X), atol=1e-2)
