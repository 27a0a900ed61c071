"""`rag-car index status|list|remove`: what is indexed, and taking files out again."""

from __future__ import annotations

from typing import List, Optional

import typer

from rag_car.cli.state import state
from rag_car.cli.terminal import console, json_text


def _shown(path: str) -> str:
    """A path relative to the working directory when it is under it (shorter in a table)."""
    from pathlib import Path

    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def register(app: typer.Typer) -> None:
    index_app = typer.Typer(help="Inspect the index: status, list, remove.", no_args_is_help=True)
    app.add_typer(index_app, name="index")

    @index_app.command("status")
    def status_command(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Chunks and files, counts by doc type and by vehicle, the store and the model.

        Example: rag-car index status --json
        """
        from rag_car.knowledge.index import index_status

        status = index_status(state(ctx).settings())
        if as_json:
            typer.echo(json_text(status, indent=2))
            return
        typer.echo(f"{status['chunks']} chunks from {status['files']} files in {status['store']}")
        typer.echo(f"model: {status['model']}; generation {status['generation']}; last ingest {status['last_ingest'] or 'never'}")
        if not status["consistent"]:
            typer.echo("note: the store and the manifest disagree; the next `rag-car ingest` repairs it")
        if status["files_with_problems"]:
            typer.echo(f"note: {status['files_with_problems']} file(s) were only partly read (`rag-car index list` shows which)")
        for title, counts in (("by doc type", status["by_doc_type"]), ("by vehicle", status["by_vehicle"])):
            if counts:
                typer.echo(f"{title}:")
                width = max(len(k) for k in counts)
                for key, value in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:30]:
                    typer.echo(f"  {key:<{width}}  {value}")
                if len(counts) > 30:
                    typer.echo(f"  ... {len(counts) - 30} more")

    @index_app.command("list")
    def list_command(
        ctx: typer.Context,
        doc_type: Optional[List[str]] = typer.Option(None, "--doc-type", metavar="TYPE", help="Only files of this doc type (repeatable)."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
    ) -> None:
        """The ingested files with their doc type, vehicle and chunk count.

        Example: rag-car index list --doc-type bulletin
        """
        from rag_car.knowledge.index import list_files

        files = list_files(state(ctx).settings(), doc_type)
        if as_json:
            typer.echo(json_text(files, indent=2))
            return
        if not files:
            typer.echo("nothing is indexed yet" if not doc_type else "no file of that doc type is indexed")
            return
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold")
        for column in ("path", "doc type", "chunks", "vehicle", "ingested", "notes"):
            table.add_column(column, justify="right" if column == "chunks" else "left", overflow="fold")
        for f in files:
            notes = []
            if f["problems"]:
                notes.append(f"{len(f['problems'])} problem(s)")
            if f["warnings"]:
                notes.append(f"{len(f['warnings'])} warning(s)")
            table.add_row(Text(_shown(f["path"])), Text(f["doc_type"]), str(f["chunks"]), Text(f["vehicle"][:40]), f["ingested_at"],
                          ", ".join(notes))
        out = console()
        out.width = max(out.width, 120)
        out.print(table)

    @index_app.command("remove")
    def remove_command(
        ctx: typer.Context,
        paths: Optional[List[str]] = typer.Argument(None, metavar="PATH", help="Files or folders to take out of the index."),
        everything: bool = typer.Option(False, "--all", help="Remove everything (drops the collection)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before --all."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Remove files (a folder: every file under it) from the index; they may already be deleted from disk.

        \b
        Examples:
          rag-car index remove knowledge/bulletins/ASB-19-004.md
          rag-car index remove --all --yes
        """
        from rag_car.knowledge.index import check_remove_args, remove

        paths = list(paths or [])
        check_remove_args(paths, everything)
        if everything and not yes and not typer.confirm("Remove everything from the index?", default=False, err=True):
            raise typer.Exit(1)
        result = remove(state(ctx).settings(), paths, everything)
        if as_json:
            typer.echo(json_text(result, indent=2))
        else:
            for path in result["not_indexed"]:
                typer.echo(f"error: {path} is not in the index (`rag-car index list` shows what is)", err=True)
            typer.echo(f"removed {len(result['removed'])} file(s), {result['chunks_removed']} chunks")
        raise typer.Exit(1 if result["not_indexed"] else 0)
