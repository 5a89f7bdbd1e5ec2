import math

import pytest
import torch
from torch import nn

from trainwell import load_config
from trainwell.models import build_model


def _model(shape=(20,), outputs=3, regression=False, **overrides):
    return build_model(load_config(None, overrides).model, shape, outputs, regression=regression)


def _linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def test_mlp_widths_and_output():
    model = _model(**{"model.hidden": [32, 16]})
    assert [(m.in_features, m.out_features) for m in _linears(model)] == [
        (20, 32),
        (32, 16),
        (16, 3),
    ]
    assert model(torch.zeros(5, 20)).shape == (5, 3)


def test_mlp_flattens_images_and_regression_head_is_one_value():
    model = _model(shape=(1, 8, 8), outputs=1, regression=True)
    assert model(torch.zeros(4, 1, 8, 8)).shape == (4,)


def test_input_norm_scales_images_per_channel_and_tables_per_feature():
    """As `data.standardize` does: an MLP on raw images normalised per pixel would blow up
    the rare bright pixels of the background into features it memorises."""
    image = _model(shape=(1, 8, 8), **{"model.input_norm": True})
    norms = [m for m in image.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 1 and norms[0].num_features == 1
    x = torch.rand(16, 1, 8, 8) * 255
    x[:, :, 0, 0] = 0.0
    x[0, :, 0, 0] = 255.0  # one bright pixel where the others are dark
    image.train()
    normed = norms[0](x)
    assert normed[0, 0, 0, 0] < 2 * normed[:, :, 1:, 1:].max()  # scaled like every pixel
    table = _model(shape=(20,), **{"model.input_norm": True})
    norms = [m for m in table.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 1 and norms[0].num_features == 20
    assert image(x).shape == (16, 3) and table(torch.zeros(4, 20)).shape == (4, 3)


def test_cnn_channels_batchnorm_dropout():
    model = _model(
        shape=(3, 16, 16),
        outputs=5,
        **{
            "model.arch": "cnn",
            "model.channels": [8, 4],
            "model.batchnorm": True,
            "model.dropout": 0.2,
        },
    )
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 8), (8, 4)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == 2
    assert sum(isinstance(m, nn.Dropout) for m in model.modules()) == 4
    assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 5)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("relu", nn.ReLU),
        ("leaky_relu", nn.LeakyReLU),
        ("gelu", nn.GELU),
        ("tanh", nn.Tanh),
        ("sigmoid", nn.Sigmoid),
    ],
)
def test_activations(name, cls):
    model = _model(**{"model.activation": name, "model.hidden": [8, 8]})
    assert sum(isinstance(m, cls) for m in model.modules()) == 2


def _std(layer):
    return float(layer.weight.detach().std())


def test_init_schemes_have_their_scale():
    torch.manual_seed(0)
    wide = {"model.hidden": [512]}
    he = _linears(_model(shape=(400,), **wide, **{"model.init.weights": "he"}))[0]
    assert _std(he) == pytest.approx(math.sqrt(2 / 400), rel=0.05)
    xavier = _linears(
        _model(shape=(400,), **wide, **{"model.init.weights": "xavier", "model.activation": "tanh"})
    )[0]
    assert _std(xavier) == pytest.approx(5 / 3 * math.sqrt(2 / (400 + 512)), rel=0.05)
    normal = _linears(
        _model(shape=(400,), **wide, **{"model.init": {"weights": "normal", "std": 2.0}})
    )[0]
    assert _std(normal) == pytest.approx(2.0, rel=0.05)
    uniform = _linears(
        _model(shape=(400,), **wide, **{"model.init": {"weights": "uniform", "std": 0.5}})
    )[0]
    assert _std(uniform) == pytest.approx(0.5, rel=0.05)
    assert float(uniform.weight.detach().abs().max()) <= 0.5 * math.sqrt(3) + 1e-6
    zeros = _linears(_model(**{"model.init.weights": "zeros"}))
    assert all(float(m.weight.detach().abs().max()) == 0 for m in zeros)


def test_bias_initialisation():
    model = _model(**{"model.init": {"weights": "he", "bias": -3.0}})
    assert all(torch.all(m.bias == -3.0) for m in _linears(model))
    default = _model()
    assert any(float(m.bias.detach().abs().max()) > 0 for m in _linears(default))  # PyTorch's own


def _input_norm(model):
    return next(m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def test_input_norm_standardises_features_of_any_unit_as_standard_scaler_does():
    """A concentration in mol/l (std 1e-3) beside a pressure in Pa (std 1e4): batch norm with
    eps 1 passed the first on 1000x too small for the network to read."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(512, 3, generator=generator) * torch.tensor([1e-3, 1.0, 1e4])
    x += torch.tensor([4e-3, 7.0, 1e5])
    model = _model(shape=(3,), **{"model.input_norm": True})
    norm = _input_norm(model)
    model.train()
    for batch in x.split(32):
        model(batch)
    model.eval()
    out = norm(x)
    torch.testing.assert_close(out.mean(0), torch.zeros(3), atol=1e-3, rtol=0)
    torch.testing.assert_close(out.std(0, correction=0), torch.ones(3), atol=1e-3, rtol=0)
    torch.testing.assert_close(norm.running_mean, x.double().mean(0).float())
    torch.testing.assert_close(norm.running_var, x.double().var(0, correction=0).float())
    model.train()  # training reads the same statistics: no gap between training and evaluation
    torch.testing.assert_close(norm(x), out, atol=1e-3, rtol=0)


def test_input_norm_centres_a_feature_constant_in_training_without_blowing_it_up():
    model = _model(shape=(2,), **{"model.input_norm": True})
    norm = _input_norm(model)
    model.train()
    for _ in range(4):
        norm(torch.stack([torch.randn(64), torch.full((64,), 0.1)], dim=1))
    model.eval()
    out = norm(torch.tensor([[0.0, 0.1], [0.0, 0.6]]))
    torch.testing.assert_close(out[:, 1], torch.tensor([0.0, 0.5]), atol=1e-6, rtol=0)


def test_input_norm_saved_as_torch_batch_norm_loads_and_computes_as_it_did(tmp_path):
    """Runs saved before `InputNorm` hold torch's BatchNorm1d with eps 1: same keys, and the
    version in the state dict's metadata tells them apart, through saving again and copies
    of the weights without it."""
    old = nn.Sequential(nn.Flatten(), nn.BatchNorm1d(3, eps=1.0))
    old.train()
    for _ in range(5):
        old(torch.randn(16, 3) * 5 + 2)
    torch.save({"state_dict": old.state_dict()}, tmp_path / "model.pt")
    saved = torch.load(tmp_path / "model.pt", weights_only=True)["state_dict"]
    model = _model(shape=(3,), **{"model.input_norm": True})
    model.net[:2].load_state_dict(saved)
    x = torch.randn(8, 3) * 5 + 2
    old.eval(), model.eval()
    torch.testing.assert_close(model.net[:2](x), old(x))
    assert _input_norm(model).legacy
    # saved again (a resume's checkpoint), and restored from a plain copy (best weights)
    resaved = _model(shape=(3,), **{"model.input_norm": True})
    torch.save({"state_dict": model.state_dict()}, tmp_path / "again.pt")
    resaved.load_state_dict(torch.load(tmp_path / "again.pt", weights_only=True)["state_dict"])
    resaved.load_state_dict({k: v.clone() for k, v in resaved.state_dict().items()})
    resaved.eval()
    torch.testing.assert_close(resaved(x), model(x))
    new = _model(shape=(3,), **{"model.input_norm": True})
    copy = _model(shape=(3,), **{"model.input_norm": True})
    copy.load_state_dict(new.state_dict())  # saved by InputNorm: its own computation
    assert not _input_norm(new).legacy and not _input_norm(copy).legacy


def test_input_norm_counts_batches_exactly_in_half_precision():
    """A float16 count overflows its square at 256 batches and itself at 65,504: past it,
    the running mean stayed where it was (review). Weighted in float64, it moves."""
    norm = _input_norm(_model(shape=(3,), **{"model.input_norm": True})).half()
    norm.num_batches_tracked.fill_(70_000)
    norm.running_var.fill_(1.0)
    norm.train()
    out = norm(torch.randn(16, 3).half() + 1)
    assert torch.isfinite(norm.running_var).all() and torch.isfinite(out).all()
    assert (norm.running_mean > 0).all()  # 1/70,001 of the batch's mean, about 1
