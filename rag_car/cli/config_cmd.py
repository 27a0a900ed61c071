"""`rag-car config`: the resolved settings, secrets masked."""

from __future__ import annotations

import json

import typer

from rag_car.cli.state import state
from rag_car.cli.terminal import json_text


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of TOML-like text."),
    ) -> None:
        """Show the resolved settings (flags > environment > rag_car.toml > defaults), secrets masked.

        Example: RAG_CAR_LLM__BACKEND=ollama rag-car config --json
        """
        data = state(ctx).settings().masked()
        if as_json:
            typer.echo(json_text(data, indent=2))
            return
        for key, value in data.items():
            if not isinstance(value, dict):
                typer.echo(f"{key} = {json.dumps(value)}")
        for key, value in data.items():
            if isinstance(value, dict):
                typer.echo(f"\n[{key}]")
                for sub, subvalue in value.items():
                    typer.echo(f"{sub} = {json.dumps(subvalue)}")
