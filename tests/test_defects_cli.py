"""The inspection case from the CLI: pretrain on one surface family, fine-tune on another
from the pretrained run, then explain (Grad-CAM against the masks), attack and compress."""

import json

import pytest
from typer.testing import CliRunner

from trainwell.cli import app

runner = CliRunner()
KINDS = "[scratch, spot, crack, missing_print]"


def _config(tmp_path, name, family, count, epochs, extra=""):
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\n"
        f"data: {{source: defects, audit: false, defects: {{count: {count}, rate: 0.5, "
        f"family: {family}, kinds: {KINDS}, weights: [1, 1, 1, 1]}}}}\n"
        "model: {arch: resnet, channels: [4, 8], hidden: []}\n"
        f"train: {{epochs: {epochs}, lr: 0.003, batch_size: 32{extra}}}\n"
    )
    return path


def _json(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_the_case_from_the_cli(tmp_path, out):
    pretrain = _config(tmp_path, "pre", "brushed", 300, 2)
    pre = _json(["fit", str(pretrain), "--json"])["run_dir"]
    finetune = _config(
        tmp_path, "tuned", "woven", 150, 3,
        ", finetune: {freeze: [backbone], unfreeze_at: 1, layer_lr_decay: 0.5}",
    )  # fmt: skip
    result = runner.invoke(
        app, ["fit", str(finetune), "--set", f"model.init_from={pre}", "--doctor", "repair"]
    )
    assert result.exit_code == 0, result.output
    assert "init_from" in result.output and "loaded 38 of 38 tensors" in result.output
    run = next(out.glob("tuned-*"))
    assert json.loads((run / "transfer.json").read_text())["skipped"] == {}
    explained = _json(["explain", str(run), "--method", "gradcam", "--rows", "30", "--json"])
    game = explained["pointing_game"]  # judged on the masks (a tiny model detects few)
    assert set(game) >= {"score", "hits", "rows", "chance", "tolerance", "by_class"}
    attacked = _json(["attack", str(run), "--eps", "0.03", "--steps", "3", "--json"])
    assert attacked["results"]
    compressed = _json(["compress", str(run), "--quantize", "int8", "--json"])
    assert {v["name"] for v in compressed["variants"]} >= {"fp32", "int8"}
    result = runner.invoke(app, ["compress", str(run), "--prune", "0.5"])
    assert result.exit_code == 2 and "resnet" in result.output
