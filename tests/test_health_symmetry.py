"""Units initialised alike (`symmetric_units`): weights set to zero or to one value keep a
layer's units identical for ever; layers zeroed on purpose, which the first step parts, are
not flagged; repair mode re-initialises the layers in place."""

import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

import trainwell


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    return torch.tensor(X, dtype=torch.float32)[:512], torch.tensor(y)[:512]


def build(arch: str, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    if arch == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(64, 64), activation(), nn.Linear(64, 64), activation(),
            nn.Linear(64, 10),
        )  # fmt: skip
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), activation(),
        nn.Conv2d(8, 8, 3, padding=1), activation(), nn.Flatten(), nn.Linear(8 * 64, 10),
    )  # fmt: skip


def initialise(model: nn.Sequential, how: str) -> None:
    """`zeros` / `constant`: every layer; `zero_head`: the classifier only (as ViTs do);
    `lora`: a low-rank update B @ A added to the first layer, B zero (as LoRA starts)."""
    layers = [m for m in model if isinstance(m, nn.Linear | nn.Conv2d)]
    with torch.no_grad():
        if how in ("zeros", "constant"):
            for layer in layers:
                layer.weight.fill_(0.0 if how == "zeros" else 0.05)
                layer.bias.zero_()
        elif how == "zero_head":
            layers[-1].weight.zero_()
            layers[-1].bias.zero_()


class LoRA(nn.Module):
    def __init__(self, base: nn.Sequential) -> None:
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(4, 64) * 0.1)
        self.B = nn.Parameter(torch.zeros(64, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return self.base(x + nn.functional.linear(x, self.B @ self.A))


def train(
    model: nn.Module, mode: str = "detect", epochs: int = 4, adam: bool = False
) -> tuple[object, float]:
    X, y = digits()
    optimizer = (
        torch.optim.Adam(model.parameters(), lr=1e-2)
        if adam
        else torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    )
    doctor = trainwell.Doctor(model, optimizer, mode=mode, every=4)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order, total = torch.randperm(len(y), generator=generator), 0.0
        for i in range(0, len(y), 32):
            rows = order[i : i + 32]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / (len(y) // 32))
    with torch.no_grad():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
    return doctor, accuracy


def codes(doctor) -> list[str]:
    return [f.code for f in doctor.findings if f.severity != "info"]


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("how", ["zeros", "constant"])
def test_units_initialised_alike_are_found(arch, how):
    torch.manual_seed(0)
    model = build(arch, nn.Tanh)
    initialise(model, how)
    doctor, _ = train(model)
    found = [f for f in doctor.findings if f.code == "symmetric_units"]
    assert found and found[0].severity == "error"
    hidden = [f"{i}.weight" for i, m in enumerate(model) if isinstance(m, nn.Linear | nn.Conv2d)]
    assert set(hidden[:-1]) <= set(found[0].evidence["parameters"])
    assert found[0].step <= 5  # at the first check after a step
    assert "unused_parameters" not in codes(doctor)  # the zero gradients are its doing


@pytest.mark.parametrize(
    ("arch", "how"), [("mlp", "default"), ("cnn", "default"), ("mlp", "zero_head"),
                      ("cnn", "zero_head"), ("mlp", "lora")],
)  # fmt: skip
def test_layers_zeroed_on_purpose_or_not_at_all_are_not_flagged(arch, how):
    torch.manual_seed(0)
    model = build(arch)
    initialise(model, how)
    doctor, accuracy = train(LoRA(model) if how == "lora" else model)
    assert codes(doctor) == []
    assert accuracy > 0.9


class PerHead(nn.Module):
    """A per-head temperature of one value (Swin-V2's logit_scale, shape (heads, 1, 1)),
    and a hidden layer set to one value whose next layer is random: both parted by their
    gradients, though Adam's first step, about the rate times the gradient's sign, can
    leave rows of one value alike."""

    def __init__(self, constant_hidden: bool) -> None:
        super().__init__()
        self.hidden, self.head = nn.Linear(64, 32), nn.Linear(32, 10)
        self.scale = nn.Parameter(torch.full((4, 1, 1), 2.3))
        if constant_hidden:
            nn.init.constant_(self.hidden.weight, 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.hidden(x.flatten(1)))
        return self.head(h) * self.scale.exp().mean() / 10


@pytest.mark.parametrize("seed", range(3))
def test_rows_of_one_value_that_adam_parts_are_not_flagged(seed):
    torch.manual_seed(seed)
    doctor, _ = train(PerHead(constant_hidden=True), epochs=1, adam=True)
    assert "symmetric_units" not in codes(doctor)


class LoRALinear(nn.Linear):
    """loralib's layer: a frozen pretrained weight, and A and B, here both zero by mistake;
    its reset_parameters draws the base weight again."""

    def __init__(self, features: int) -> None:
        super().__init__(features, features)
        self.lora_A = nn.Parameter(torch.zeros(4, features))
        self.lora_B = nn.Parameter(torch.zeros(features, 4))
        self.weight.requires_grad_(False)
        self.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + x @ self.lora_A.T @ self.lora_B.T


def test_repair_draws_only_the_alike_tensors_not_a_frozen_base():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), LoRALinear(64), nn.ReLU(), nn.Linear(64, 10))
    base = model[1].weight.detach().clone()
    doctor, _ = train(model, mode="repair", epochs=2)
    (repair,) = [r for r in doctor.repairs if r["finding"] == "symmetric_units"]
    assert "1.lora_A" in repair["changed"] and "1.lora_B" in repair["changed"]
    assert torch.equal(model[1].weight, base)  # the pretrained weight is untouched
    assert not torch.equal(model[1].lora_B, torch.zeros_like(model[1].lora_B))


def test_an_unused_branch_beside_alike_layers_is_still_reported():
    """The exactly zero gradients behind alike layers are theirs; a head forward() never
    calls gets no gradient at all, and is reported as unused."""

    class WithAux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.aux = build("mlp"), nn.Linear(64, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    torch.manual_seed(0)
    model = WithAux()
    initialise(model.body, "zeros")
    doctor, _ = train(model)
    unused = [f for f in doctor.findings if f.code == "unused_parameters"]
    assert "symmetric_units" in codes(doctor)
    assert unused and set(unused[0].evidence["parameters"]) == {"aux.weight", "aux.bias"}


def test_dead_units_of_a_zeroed_network_are_explained_not_treated_with_a_lower_rate():
    torch.manual_seed(0)
    model = build("mlp")
    initialise(model, "zeros")
    doctor, _ = train(model)
    dead = [f for f in doctor.findings if f.code == "dying_relu"]
    assert dead and dead[0].evidence["explained_by"] == "symmetric_units"
    assert "initialise them randomly" in dead[0].message


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh])
def test_repair_reinitialises_the_alike_layers_in_place(activation):
    torch.manual_seed(0)
    model = build("mlp", activation)
    initialise(model, "zeros")
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    doctor, accuracy = train(model, mode="repair")
    (repair,) = [r for r in doctor.repairs if r["finding"] == "symmetric_units"]
    assert repair["remedy"] == "reinitialise" and repair["cured"] is True
    assert [r["finding"] for r in doctor.repairs] == ["symmetric_units"]  # nothing else
    assert all(w is m.weight for w, m in zip(weights, model[1::2], strict=True))
    assert accuracy > 0.9
    untreated = build("mlp", activation)
    initialise(untreated, "zeros")
    assert train(untreated)[1] < 0.3


# --- the Trainer's doctor (`trainwell.fit`) ----------------------------------------------


def _fit(out, mode: str, model: nn.Module | None = None, **model_section) -> object:
    config = {
        "data": {"source": "digits", "audit": False},
        "model": {"hidden": [64, 64], **model_section},
        "train": {"epochs": 6},
        "doctor": {"mode": mode},
    }
    return trainwell.fit(config, model=model, out=out, report=False)


def _training(run) -> dict[str, object]:
    return {f.code: f for f in run.findings if f.source == "training"}


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_trainers_doctor_finds_a_config_initialised_at_zero_and_explains_the_rest(
    out, activation
):
    """`model.init.weights: zeros` gave "dying_relu: lower the learning rate" (ReLU) and
    "vanishing_gradient" (tanh) with no word of the cause."""
    run = _fit(out, "detect", activation=activation, init={"weights": "zeros"})
    found = _training(run)
    symmetric = found.pop("symmetric_units")
    assert symmetric.epoch == 0 and symmetric.severity == "error"
    assert set(symmetric.evidence["zero"]) == {"net.1.weight", "net.3.weight", "net.5.weight"}
    assert found and all(
        f.evidence.get("explained_by") == "symmetric_units" for f in found.values()
    )
    assert run.metrics["test_accuracy"] < 0.2


def test_the_trainers_doctor_leaves_a_randomly_initialised_network_alone(out):
    assert "symmetric_units" not in _training(_fit(out, "detect"))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_trainers_repair_builds_the_network_again_randomly_initialised(out, activation):
    run = _fit(out, "repair", activation=activation, init={"weights": "zeros"})
    assert [r["remedy"] for r in run.repairs] == ["redraw_alike"]
    assert run.repairs[0]["cured"] is True and "model.init: zeros" in run.repairs[0]["changed"]
    assert run.metrics["test_accuracy"] > 0.85


class Backbone(nn.Module):
    """A trained part (as a pretrained backbone) and new layers zeroed by mistake (weights
    and biases: no unit passes anything on, no gradient comes back)."""

    def __init__(self, zero: bool) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(64, 64), nn.ReLU())
        self.middle = nn.Sequential(nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)
        with torch.no_grad():
            if zero:
                for layer in (self.middle[0], self.head):
                    layer.weight.zero_()
                    layer.bias.zero_()
            else:  # a head zeroed on purpose: its first step parts its units
                self.head.weight.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.middle(self.backbone(x.flatten(1))))


def test_the_trainers_repair_draws_only_the_alike_tensors_of_your_module(out):
    """The backbone keeps its weights (matched_init, which the dead units got before,
    initialised every layer of your module again)."""
    torch.manual_seed(0)
    model = Backbone(zero=True)
    start = model.backbone[0].weight.detach().clone()
    run = _fit(out, "repair", model=model)
    assert [r["remedy"] for r in run.repairs] == ["redraw_alike"]
    assert "middle.0.weight" in run.repairs[0]["changed"]
    assert set(_training(run)["symmetric_units"].evidence["parameters"]) == {
        "middle.0.weight",
        "head.weight",
    }
    now = model.backbone[0].weight.detach()
    similarity = nn.functional.cosine_similarity(now.flatten(), start.flatten(), dim=0)
    assert not torch.equal(now, start) and similarity > 0.5  # trained on, not drawn again
    assert run.metrics["test_accuracy"] > 0.85


def test_the_trainers_doctor_leaves_a_head_zeroed_on_purpose_alone(out):
    torch.manual_seed(0)
    run = _fit(out, "detect", model=Backbone(zero=False))
    assert "symmetric_units" not in _training(run)
