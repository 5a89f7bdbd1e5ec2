"""`train.adversarial`: PGD adversarial training as a Trainer callback — it makes the model
robust, leaves the Trainer's gradients and modes alone, resumes exactly, and refuses the
tasks it cannot serve."""

import copy
import json

import pytest
import torch
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.train import AdversarialTraining, Box, TensorBatches, Trainer

runner = CliRunner()


def _digits(out, **train) -> trainwell.Run:
    return trainwell.fit(
        {
            "data": {"source": "digits", "audit": False, "standardize": False},
            "model": {"hidden": [128]},
            "train": {"epochs": 12, "lr": 0.003, **train},
            "doctor": {"mode": "detect"},
        },
        out=out,
        report=False,
        checkpoints=False,
    )


def test_adversarial_training_makes_the_model_robust(tmp_path):
    normal = _digits(tmp_path)
    trained = _digits(tmp_path, adversarial={"eps": 0.1, "steps": 5})
    settings = {"steps": 10, "rows": 200}
    before = trainwell.robust.attack(normal, **settings)
    after = trainwell.robust.attack(trained, **settings)
    assert after.robust_accuracy > before.robust_accuracy + 0.2
    assert after.clean_accuracy > 0.9
    assert "adversarial_vulnerability" in [f.code for f in before.findings]
    assert [f.code for f in after.findings] == []  # robust, and evaluated reliably
    assert trained.status == "completed"  # under the doctor (detect)


def _trainer(model, callback, **kwargs) -> Trainer:
    return Trainer(
        model,
        torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        epochs=kwargs.pop("epochs", 2),
        callbacks=[callback],
        **kwargs,
    )


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(256, 6, generator=g)
    y = (X[:, 0] + X[:, 1] > 0).long()
    box = Box(torch.ones(6), X.min(0).values, X.max(0).values)
    return X, y, box


def test_crafting_leaves_gradients_and_mode_alone_and_stays_in_the_ball():
    X, y, box = _problem()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 2)
    )
    callback = AdversarialTraining(box, 0.3, steps=3, ratio=0.5)
    callback.trainer = _trainer(model, callback)
    model.train()
    seen = []  # a probe's forward hook must see the training pass only
    model[0].register_forward_hook(lambda module, inputs, output: seen.append(len(output)))
    adv = callback.craft(X[:64], y[:64])
    assert model.training and all(p.grad is None for p in model.parameters())
    assert seen == [] and len(model[0]._forward_hooks) == 1
    assert torch.equal(adv[32:], X[32:64])  # ratio 0.5: the second half is left clean
    moved = (adv[:32] - X[:32]).abs()
    assert 0.25 < float(moved.max()) <= 0.3 + 1e-6
    assert bool(((adv >= box.low) & (adv <= box.high)).all())


def test_resume_from_a_checkpoint_matches_an_uninterrupted_run(tmp_path):
    X, y, box = _problem()

    def run(epochs, resume_from=None, checkpoint_dir=None):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
        callback = AdversarialTraining(box, 0.3, steps=3)
        batches = callback.wrap(TensorBatches(X, y, 32, seed=1))
        trainer = _trainer(model, callback, epochs=epochs, checkpoint_dir=checkpoint_dir)
        trainer.fit(batches, resume_from=resume_from)
        return model

    whole = run(3)
    run(2, checkpoint_dir=tmp_path)
    torch.manual_seed(123)  # the checkpoint, not the caller, decides the random starts
    resumed = run(3, resume_from=tmp_path / "last.pt")
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_bf16_training_crafts_in_full_precision(tmp_path):
    X, y, box = _problem()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    reference = copy.deepcopy(model)
    callback = AdversarialTraining(box, 0.3, steps=3)
    batches = callback.wrap(TensorBatches(X, y, 32, seed=1))
    result = _trainer(model, callback, precision="bf16").fit(batches)
    assert result.status == "completed" and result.history[-1]["train_loss"] < 0.7
    pairs = zip(model.parameters(), reference.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"data": {"source": "diabetes"}}, ["train.adversarial", "regression"]),
        (
            {"data": {"source": "wine", "remedies": ["augment"]}},
            ["train.adversarial", "mixup"],
        ),
        ({"data": {"source": "iris"}, "train": {"adversarial": {"eps": 0}}}, ["eps"]),
    ],
)
def test_tasks_it_cannot_serve_are_one_line_and_exit_2(tmp_path, out, config, words):
    config.setdefault("train", {}).setdefault("adversarial", {"eps": 0.1})
    path = tmp_path / "run.yaml"
    path.write_text(json.dumps(config))
    result = runner.invoke(app, ["fit", str(path), "--json"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and all(word in lines[0] for word in words), lines
    assert not out.exists() or not any(out.iterdir())
