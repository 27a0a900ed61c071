"""The CLI's command groups (`rag-car eval ...`, `rag-car vehicle ...`), shared by the modules that add commands to
them: whichever module registers first creates the group, the others find it."""

from __future__ import annotations

import typer

_HELP = {
    "eval": "Measure rag-car against an evaluation set.",
    "vehicle": "Vehicle profiles: what rag-car knows about each vehicle (DBCs, ranges, lamps, VINs).",
}


def command_group(app: typer.Typer, name: str) -> typer.Typer:
    """The ``name`` command group of ``app``, created on first use."""
    group = next((g.typer_instance for g in app.registered_groups if g.name == name), None)
    if group is None:
        group = typer.Typer(help=_HELP[name], no_args_is_help=True)
        app.add_typer(group, name=name)
    return group
