"""`rag-car search`: a question -> the ranked passages, with fused and per-retriever ranks (or JSON lines)."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from rag_car.cli.state import state
from rag_car.cli.terminal import json_text
from rag_car.knowledge.tags import DOC_TYPES



def register(app: typer.Typer) -> None:
    @app.command("search")
    def search(
        ctx: typer.Context,
        question: str = typer.Argument(..., help='The question, or "-" to read one question per line from standard input.'),
        k: Optional[int] = typer.Option(None, "--k", "-k", min=1, max=100, help="Passages to return (default: retrieval.k = 8)."),
        vehicle: Optional[str] = typer.Option(None, "--vehicle", help='Only this vehicle (and general documents), e.g. "Aldmoor Corrin 2021".'),
        doc_type: Optional[List[str]] = typer.Option(None, "--doc-type", help=f"Only these document types (repeatable): {', '.join(DOC_TYPES)}."),
        mode: str = typer.Option("hybrid", "--mode", help="hybrid (default), dense or bm25."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per question."),
    ) -> None:
        """Search the indexed documents: the ranked passages with their fused and per-retriever ranks.

        Examples:

        \b
          rag-car search "car shakes at idle and the engine light blinks" --k 5
          rag-car search P0303 --vehicle "Aldmoor Corrin 2021" --json
          printf 'P0301\\nTSB 21-004\\n' | rag-car search --json -
        """
        from rag_car.errors import ConfigError

        bad = [d for d in doc_type or [] if d not in DOC_TYPES]
        if bad:
            raise ConfigError(f"unknown --doc-type {', '.join(bad)}", f"use one of {', '.join(DOC_TYPES)}")
        if mode not in ("hybrid", "dense", "bm25"):
            raise ConfigError(f"unknown --mode {mode}", "use hybrid, dense or bm25")
        if question != "-" and not question.strip():
            raise typer.BadParameter("the question is empty: type a question or a code such as P0301", param_hint="QUESTION")

        settings = state(ctx).settings({"retrieval": {"vehicle": vehicle, "doc_types": list(doc_type) if doc_type else None}})
        from rag_car.answer.vectors import open_best_sentences
        from rag_car.knowledge.retrieve import open_retriever

        with open_retriever(settings) as retriever, open_best_sentences(settings, retriever.embedder) as best:
            retriever.sentences = best  # as the assistant's retriever ranks
            questions = (line.rstrip("\n") for line in sys.stdin) if question == "-" else iter([question])
            for text in questions:
                result = retriever.search(text, k=k, mode=mode)
                if as_json:
                    typer.echo(json_text(result.to_json(), ensure_ascii=False))
                    sys.stdout.flush()
                else:
                    _print_text(result)


def _print_text(result) -> None:
    if result.query != result.question:
        typer.echo(f"query: {result.query}")
    applied = result.filters.describe()
    if applied != "none":
        inferred = f" (inferred: {', '.join(result.inferred)})" if result.inferred else ""
        typer.echo(f"filters: {applied}{inferred}")
    if result.codes:
        typer.echo(f"codes: {', '.join(result.codes)}")
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    if not result.passages:
        typer.echo("no passage found")
    for rank, p in enumerate(result.passages, 1):
        ranks = "  ".join(f"{name} {r}" for name, r in p.ranks.items())
        where = p.source.rsplit("/", 1)[-1]
        section = f" > {p.section}" if p.section else ""
        page = f" p. {p.page}" if p.page else ""
        typer.echo(f"{rank:>2}. {p.score:.4f}  [{ranks}]  {where}{section}{page}  ({p.doc_type})")
        snippet = " ".join(p.text.split())
        typer.echo(f"    {snippet[:220]}{'...' if len(snippet) > 220 else ''}")
        for dup in p.duplicates:
            typer.echo(f"    also in {dup['source'].rsplit('/', 1)[-1]} > {dup['section']}")
    t = result.timings
    typer.echo(f"({t.get('total_ms', 0):.1f} ms, embedding {t.get('embed_ms', 0):.1f} ms)")
