"""The deploy commands: `trainwell registry add|list|show|promote|rollback` and
`trainwell serve`. Parse, call `trainwell.registry` / `trainwell.serve`, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._cli_common import JsonOption, _guarded

registry_app = typer.Typer(
    help="Versions of trained models, aliases such as champion, and their history.",
    no_args_is_help=True,
)
RegistryOption = Annotated[
    Path | None,
    typer.Option(
        "--registry", help="The registry folder (default: $TRAINWELL_HOME/registry).",
    ),
]  # fmt: skip
AliasOption = Annotated[str, typer.Option("--alias", help="The alias to move.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why: kept in the event log.")]


@registry_app.command("add")
def add(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
    name: Annotated[str, typer.Option("--name", help="The model's name in the registry.")],
    note: Annotated[str, typer.Option("--note", help="A note kept with the version.")] = "",
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register RUN_DIR as the next version of NAME (an immutable copy with its hashes)."""
    from . import registry as reg

    version = _guarded(lambda: reg.add(run_dir, name, note=note, home=registry))
    if as_json:
        print(json.dumps(version.to_dict(manifest=True)))
        return
    files = version.manifest["files"]
    Console().print(
        f"registered [bold]{version.name}:{version.version}[/] ({len(files)} files, "
        f"{sum(f['bytes'] for f in files.values()):,} bytes, sha256 of each) at "
        f"{escape(str(version.path))}",
        highlight=False,
        soft_wrap=True,
    )


@registry_app.command("list")
def list_models(registry: RegistryOption = None, as_json: JsonOption = False) -> None:
    """The registered models: versions, aliases, the latest change."""
    from . import registry as reg

    def rows() -> list[dict[str, Any]]:
        out = []
        for name in reg.names(home=registry):
            events = reg.events(name, home=registry)
            out.append({
                "name": name,
                "versions": [v.version for v in reg.versions(name, home=registry)],
                "aliases": {a: e["version"] for a, e in reg.alias_table(name, registry).items()},
                "last_event": events[-1].to_dict() if events else None,
            })  # fmt: skip
        return out

    models = _guarded(rows)
    home = str(reg.registry_home(registry))
    if as_json:
        print(json.dumps({"registry": home, "models": models}))
        return
    table = Table(title=f"{len(models)} models in {home}")
    for column in ("name", "versions", "aliases", "last change"):
        table.add_column(column, overflow="fold")
    for m in models:
        last = m["last_event"]
        table.add_row(
            m["name"],
            f"{len(m['versions'])} (latest {max(m['versions'])})",
            ", ".join(f"{a} -> {v}" for a, v in m["aliases"].items()) or "-",
            f"{last['time'][:19]} {last['kind']}" if last else "-",
        )
    Console().print(table)


@registry_app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@ALIAS or NAME:VERSION.")],
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """A model's versions, aliases and event history; with @ALIAS or :VERSION, that
    version's manifest too."""
    from . import registry as reg

    def collect() -> dict[str, Any]:
        parsed = reg.parse_ref(ref)
        chosen = reg.resolve(ref, home=registry)  # an unknown name, alias or version: exit 2
        out = {
            "name": parsed.name,
            "aliases": reg.alias_table(parsed.name, registry),
            "versions": [v.to_dict() for v in reg.versions(parsed.name, home=registry)],
            "events": [e.to_dict() for e in reg.events(parsed.name, home=registry)],
        }
        if parsed.alias or parsed.version:
            out["version"] = chosen.to_dict(manifest=True)
        return out

    shown = _guarded(collect)
    if as_json:
        print(json.dumps(shown))
        return
    print_model(Console(), shown)


@registry_app.command("promote")
def promote(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    version: Annotated[int, typer.Argument(help="The version to point the alias at.")],
    alias: AliasOption = "champion",
    reason: ReasonOption = "",
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point ALIAS (champion) at VERSION; a service serving NAME@ALIAS swaps to it."""
    from . import registry as reg

    event = _guarded(lambda: reg.promote(name, version, alias=alias, reason=reason, home=registry))
    _print_event(event, as_json)


@registry_app.command("rollback")
def rollback(
    name: Annotated[str, typer.Argument(help="The model's name.")],
    alias: AliasOption = "champion",
    reason: ReasonOption = "",
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point ALIAS back at the version it pointed at before its last promotion."""
    from . import registry as reg

    event = _guarded(lambda: reg.rollback(name, alias=alias, reason=reason, home=registry))
    _print_event(event, as_json)


def serve(
    ref: Annotated[str, typer.Argument(help="NAME@ALIAS, NAME:VERSION, NAME or a RUN_DIR.")],
    host: Annotated[str, typer.Option(help="Address to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    token_file: Annotated[
        Path | None,
        typer.Option("--token-file", help="File holding the bearer token (else $TRAINWELL_TOKEN)."),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without a token (warns).")
    ] = False,
    registry: RegistryOption = None,
    request_log: Annotated[
        Path | None,
        typer.Option(help="Folder of the request log (default: beside the model)."),
    ] = None,
    log_sample: Annotated[float, typer.Option(help="Share of requests logged, 0-1.")] = 1.0,
    max_body: Annotated[int, typer.Option(help="Largest request body, bytes (else 413).")] = (
        1_000_000
    ),
) -> None:
    """Serve a model over HTTP: POST /predict, GET /health, /ready, /metrics; swaps to the
    new version when the served alias is promoted or rolled back."""
    from .deploy.serve import serve as run_service

    _guarded(
        lambda: run_service(
            ref,
            host=host,
            port=port,
            workers=workers,
            token_file=token_file,
            no_auth=no_auth,
            home=registry,
            request_log=request_log,
            log_sample=log_sample,
            max_body=max_body,
        )
    )


def print_model(console: Console, shown: dict[str, Any]) -> None:
    """Versions (with their scores), aliases, the event history, and a chosen version's files."""
    aliases = {a: e["version"] for a, e in shown["aliases"].items()}
    table = Table(title=f"{shown['name']}: {len(shown['versions'])} versions")
    for column in ("version", "created", "val / test acc", "parent", "aliases"):
        table.add_column(column, no_wrap=column != "aliases")
    table.add_column("note", overflow="fold")
    for v in shown["versions"]:
        metrics = v["metrics"] or {}
        table.add_row(
            str(v["version"]),
            _when(v["created"]),
            f"{_score(metrics.get('val_accuracy'))} / {_score(metrics.get('test_accuracy'))}",
            str(v["parent"] or "-"),
            ", ".join(a for a, n in aliases.items() if n == v["version"]),
            escape(v["note"] or ""),
        )
    console.print(table)
    history = Table(title="history (which version served when)")
    for column in ("#", "when", "event", "version"):
        history.add_column(column, no_wrap=True)
    for column in ("who", "why", "change"):
        history.add_column(column, overflow="fold")
    for e in shown["events"]:
        move = f"{e['previous']} -> {e['version']}" if e["previous"] else str(e["version"] or "-")
        kind = f"{e['kind']} {e['alias']}" if e["alias"] else e["kind"]
        history.add_row(str(e["seq"]), _when(e["time"]), kind, move, e["who"],
                        escape(e["reason"] or ""), _deltas(e))  # fmt: skip
    console.print(history)
    chosen = shown.get("version")
    if chosen:
        manifest = chosen["manifest"]
        console.print(
            f"[bold]{shown['name']}:{chosen['version']}[/] at {escape(chosen['path'])}; from "
            f"{escape(manifest['source'])}; trainwell {manifest['versions']['trainwell']}, torch "
            f"{manifest['versions']['torch']}",
            highlight=False,
            soft_wrap=True,
        )
        for name, entry in manifest["files"].items():
            console.print(
                f"  {entry['sha256'][:16]}  {entry['bytes']:>9,}  {name}", highlight=False
            )


def _print_event(event: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(event.to_dict()))
        return
    was = f" (was {event.previous})" if event.previous else ""
    Console().print(
        f"{event.name}@{event.alias} -> version {event.version}{was}; {_deltas(event.to_dict())}",
        highlight=False,
    )


SHOWN = {"val_accuracy": "val acc", "test_accuracy": "test acc", "val_loss": "val loss"}


def _deltas(event: dict[str, Any]) -> str:
    """`val acc +0.021, test acc +0.014, val loss -0.082`: what the move did to the scores."""
    changes = (event.get("details") or {}).get("metrics") or {}
    parts = [
        f"{SHOWN[k]} {c['delta']:+.3f}" for k, c in changes.items()
        if k in SHOWN and isinstance(c, dict) and c.get("delta") is not None
    ]  # fmt: skip
    return ", ".join(parts) or "-"


def _when(stamp: str | None) -> str:
    """`11-30 05:00` (UTC) of an ISO time: the day and minute, as `trainwell runs` shows."""
    return (stamp or "")[5:16].replace("T", " ") or "-"


def _score(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"
