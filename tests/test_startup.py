"""The command line answers --help and bad input before importing torch (start-up time is
measured in benchmarks; here, what is imported)."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "sklearn", "matplotlib", "optuna")


def _imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_import_trainwell_loads_nothing_heavy_until_used():
    assert _imported_after("import trainwell") == set()
    assert "torch" in _imported_after("import trainwell; trainwell.Trainer")


def test_the_doctor_of_a_hand_written_loop_does_not_load_the_pipeline():
    """`trainwell.Doctor` needs torch; scikit-learn comes with the Trainer's data pipeline."""
    assert _imported_after("import trainwell; trainwell.Doctor") == {"torch"}
    assert "sklearn" in _imported_after("import trainwell; trainwell.fit")


@pytest.mark.parametrize("package", ["trainwell.data", "trainwell.health", "trainwell.train"])
def test_every_name_a_lazy_package_lists_is_there(package):
    """Each subpackage's names come from its `__init__.pyi`: a name listed there and
    defined nowhere would fail at its first use, far from the typo."""
    code = (
        f"import {package} as package\n"
        "missing = [n for n in package.__all__ if not hasattr(package, n)]\n"
        "assert package.__all__ and not missing, missing"
    )
    _imported_after(code)  # check=True: a failed assertion fails the test


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["--help"], 0),
        (["fit", "missing.yaml"], 2),
        (["fit", "{config}", "--set", "train.lr=-1"], 2),
        (["audit", "{config}", "--set", "data.source=nowhere.csv"], 2),
        (["tune", "{config}", "--trials", "2", "--set", "train.epochs=0"], 2),
    ],
)
def test_help_and_bad_input_are_answered_without_torch(tmp_path, args, exit_code):
    config = tmp_path / "run.yaml"
    config.write_text("data: {source: iris}\n")
    args = [a.format(config=config) for a in args]
    code = (
        "from typer.testing import CliRunner\n"
        "from trainwell.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        f"assert result.exit_code == {exit_code}, result.output"
    )
    assert _imported_after(code) == set()


def test_verbs_keep_their_names_whatever_was_imported_first():
    """`trainwell.tune` is the verb even when its subpackage was imported before it."""
    code = (
        "from trainwell.tune._trial import ReportToPruner\n"
        "import trainwell.compress\n"
        "import trainwell\n"
        "assert callable(trainwell.tune) and callable(trainwell.compress)"
    )
    assert "torch" in _imported_after(code)
