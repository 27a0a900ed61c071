"""`rag-car doctor`: a table of checks with OK/FAIL and the fix for each."""

from __future__ import annotations


import typer

from rag_car.cli.state import state
from rag_car.cli.terminal import console, json_text


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print the checks as a JSON list."),
    ) -> None:
        """Check the embedding model, the store, the LLM backend, the CAN bus, the vehicle profiles and free disk; exit 1 if any fails.

        Example: rag-car doctor
        """
        from rag_car.health import run_checks

        checks = run_checks(state(ctx).settings())
        if as_json:
            typer.echo(json_text([c.__dict__ for c in checks], indent=2))
        else:
            from rich.table import Table
            from rich.text import Text

            table = Table(title="rag-car doctor")
            for column in ("check", "status", "detail", "fix"):
                table.add_column(column)
            for c in checks:
                table.add_row(Text(c.name), "[green]OK[/]" if c.ok else "[red]FAIL[/]", Text(c.detail), Text(c.fix))
            console(width=160).print(table)
        if not all(c.ok for c in checks):
            raise typer.Exit(1)
