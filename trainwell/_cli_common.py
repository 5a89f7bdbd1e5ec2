"""What every verb of the command line shares: its options, the one-line error policy, the
config read before anything heavy is imported."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

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
