"""`rag-car signals`: DBC file(s) + a phrase -> the signals that mean it, best first, with the evidence that placed each."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rag_car.cli.state import state
from rag_car.cli.terminal import json_text


def register(app: typer.Typer) -> None:
    @app.command("signals")
    def signals(
        ctx: typer.Context,
        query: str = typer.Argument(..., help='What to look for, in plain words: "coolant", "how fast am I going".'),
        dbc: List[Path] = typer.Option(..., "--dbc", help="DBC file to search (repeatable)."),
        k: int = typer.Option(10, "--k", "-k", min=1, max=200, help="How many signals to list."),
        internal: bool = typer.Option(False, "--internal", help="Also list counters, checksums and alive signals."),
        model: bool = typer.Option(True, "--model/--no-model", help="Rank by meaning with the embedding model too (--no-model: terms only, no model load)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per signal."),
    ) -> None:
        """List the signals of a DBC that match a phrase by meaning, with why each matched (name read through the
        glossary, unit, comment, value table, embedding similarity).

        Examples:

        \b
          rag-car signals --dbc vw_pq.dbc "coolant"
          rag-car signals --dbc hyundai_can.dbc "how fast am I going" -k 5 --json
        """
        from rag_car.errors import ConfigError
        from rag_car.vehicle.catalogue import load_catalogue

        missing = [str(p) for p in dbc if not p.is_file()]
        if missing:
            raise ConfigError(f"DBC file not found: {', '.join(missing)}", "check the --dbc path")
        if not query.strip():
            raise typer.BadParameter('the phrase is empty: e.g. rag-car signals --dbc FILE "coolant"', param_hint="QUERY")
        catalogue = load_catalogue(dbc)
        embed = None
        if model:
            embed = _embed_function(state(ctx).settings())
        note = catalogue.unplaced_note(", ".join(p.name for p in dbc))
        if note:
            typer.echo(f"note: {note}", err=True)
        matches = catalogue.search(query, k=k, embed=embed, include_internal=internal)
        if not matches:
            typer.echo(f"no signal of {len(catalogue)} in {', '.join(p.name for p in dbc)} matches {query!r}")
            raise typer.Exit(1)
        for m in matches:
            e = m.entry
            if as_json:
                typer.echo(json_text({"signal": e.key, "meaning": e.meaning, "unit": e.unit, "score": round(m.score, 4),
                                       "lexical": round(m.lexical, 4),
                                       "semantic": None if m.semantic is None else round(m.semantic, 4),
                                       "comment": e.comment, "values": list(e.choices), "minimum": e.minimum,
                                       "maximum": e.maximum, "internal": e.internal, "reason": m.reason},
                                      ensure_ascii=False))
            else:
                unit = f" [{e.unit}]" if e.unit else ""
                typer.echo(f"{m.score:.3f}  {e.key}{unit}: {e.label()}")
                typer.echo(f"       {m.reason}")


def _embed_function(settings: object) -> Optional[object]:
    """The embedding model's texts -> vectors (cached on disk), or None when it cannot be loaded (terms only)."""
    from rag_car.answer.vectors import SentenceVectors, cache_file
    from rag_car.errors import RagCarError
    from rag_car.knowledge.embed import load_embedder

    try:
        embedder = load_embedder(settings)
    except RagCarError as exc:
        typer.echo(f"note: ranking by terms only: {exc}", err=True)
        return None
    return SentenceVectors(embedder, cache_file(settings.cache_dir, embedder)).embed  # type: ignore[attr-defined]
