"""The command line: parse arguments, call the API, print (rich) or `--json`.

Exit codes: 0 done (findings are results, not failures); 2 bad input, as one line on
stderr; 1 anything else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="trainwell",
    help="Train PyTorch networks that stay healthy.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override: key.sub=value.")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Where runs go (default: $TRAINWELL_HOME or ./runs).")
]


def _stderr() -> Console:
    return Console(stderr=True)


def _guarded(action: Callable[[], Any]) -> Any:
    """Run `action`; bad input becomes one line and exit 2, anything else one line and exit 1."""
    from .errors import InputError

    try:
        return action()
    except InputError as exc:
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for all
            _stderr().print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        if os.environ.get("TRAINWELL_DEBUG"):
            raise
        _stderr().print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(set TRAINWELL_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def _config(path: Path, overrides: list[str]) -> Any:
    """The validated config, before anything heavy is imported: a bad key, value or data
    path is answered at once."""
    from .config import load_config, looks_like_path
    from .errors import DataError

    cfg = load_config(path, overrides)
    source = cfg.data.source
    if looks_like_path(source) and not Path(source).exists():
        raise DataError(f"data.source: no such file or folder: {source}")
    return cfg


def _show_progress(as_json: bool) -> bool:
    return not as_json and _stderr().is_terminal


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `trainwell runs | head`
        sys.stderr.close()


# The verbs live beside this file, by theme; they use the helpers above, so they are imported
# (and registered, in the order `trainwell --help` lists them) only now.
from ._cli_deploy import registry_app, serve  # noqa: E402
from ._cli_model import attack, compress, explain  # noqa: E402
from ._cli_monitor import monitor, retrain  # noqa: E402
from ._cli_train import audit, compare, demo, fit, report, runs  # noqa: E402
from ._cli_tune import lr_find, tune  # noqa: E402

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
