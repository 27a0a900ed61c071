"""`rag-car eval retrieval`: a QA file -> recall@k, MRR, nDCG@k for hybrid, dense-only and BM25-only, with the misses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from rag_car.cli.groups import command_group
from rag_car.cli.state import state
from rag_car.cli.terminal import json_text


def register(app: typer.Typer) -> None:
    @command_group(app, "eval").command("retrieval")
    def retrieval(
        ctx: typer.Context,
        qa: Path = typer.Option(..., "--qa", help="QA file: JSON lines with question, history, expected [{source, section}]."),
        k: int = typer.Option(5, "--k", "-k", min=1, max=100, help="Cut-off for recall@k and nDCG@k (MRR looks 10 deep)."),
        mode: Optional[List[str]] = typer.Option(None, "--mode", help="Only these modes (repeatable): hybrid, dense, bm25."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON report to this file."),
        min_recall: Optional[float] = typer.Option(None, "--min-recall", help="Exit 1 when hybrid recall@k is below this."),
    ) -> None:
        """Score retrieval on a QA file: recall@k, hit@1, MRR and nDCG@k for each mode side by side, then the misses.

        Example: rag-car eval retrieval --qa tests/eval/qa.jsonl --k 5
        """
        from rag_car.answer.vectors import open_best_sentences
        from rag_car.errors import ConfigError
        from rag_car.knowledge.retrieve import open_retriever
        from rag_car.knowledge.retrieve.evaluate import MODES, evaluate, format_report, load_qa

        modes = list(mode) if mode else list(MODES)
        bad = [m for m in modes if m not in MODES]
        if bad:
            raise ConfigError(f"unknown --mode {', '.join(bad)}", f"use {', '.join(MODES)}")
        items = load_qa(qa)
        if not items:
            raise ConfigError(f"QA file {qa} has no questions", "add one JSON object per line")
        settings = state(ctx).settings()
        with open_retriever(settings) as retriever, open_best_sentences(settings, retriever.embedder) as best:
            retriever.sentences = best  # as the assistant's retriever ranks
            report = evaluate(retriever, items, k=k, modes=modes)
        report.qa_file = str(qa)
        data = report.to_json()
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(data, indent=1), encoding="utf-8")
        if as_json:
            typer.echo(json_text(data, indent=1))
        else:
            typer.echo(f"{qa}: {len(items)} questions, k={k}")
            typer.echo(format_report(report))
        if min_recall is not None and "hybrid" in report.modes and report.modes["hybrid"].recall < min_recall:
            typer.echo(f"hybrid recall@{k} {report.modes['hybrid'].recall:.3f} is below {min_recall}", err=True)
            raise typer.Exit(1)
