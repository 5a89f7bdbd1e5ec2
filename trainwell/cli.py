"""The command line: parse arguments, call the API, print (rich) or `--json`.

Exit codes: 0 done (findings are results, not failures); 2 bad input, as one line on
stderr; 1 anything else. The verbs live beside this file, by theme, and are registered here
in the order `trainwell --help` lists them.
"""

from __future__ import annotations

import sys

import typer

from ._cli_deploy import registry_app, serve
from ._cli_model import attack, compress, explain
from ._cli_monitor import monitor, retrain
from ._cli_train import audit, compare, demo, fit, report, runs
from ._cli_tune import lr_find, tune

app = typer.Typer(
    name="trainwell",
    help="Train PyTorch networks that stay healthy.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(fit)
app.command()(demo)
app.command()(report)
app.command()(compare)
app.command()(audit)
app.command()(runs)
app.command()(tune)
app.command("lr-find")(lr_find)
app.command()(attack)
app.command()(compress)
app.command()(explain)
app.add_typer(registry_app, name="registry")
app.command()(serve)
app.command()(monitor)
app.command()(retrain)


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `trainwell runs | head`
        sys.stderr.close()
