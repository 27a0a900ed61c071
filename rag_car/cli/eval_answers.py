"""`rag-car eval answers`: a QA file -> the answer metrics (facts, cited source, abstention, warnings, latency) per
backend, side by side, with the misses. Registers into the `eval` group of rag_car.cli.eval_cmd."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from rag_car.cli.groups import command_group
from rag_car.cli.state import state
from rag_car.cli.terminal import json_text


def register(app: typer.Typer) -> None:
    @command_group(app, "eval").command("answers")
    def answers(
        ctx: typer.Context,
        qa: Path = typer.Option(Path("tests/eval/qa.jsonl"), "--qa", help="QA file: JSON lines with question, history, expected, facts, safety, answerable."),
        backend: Optional[List[str]] = typer.Option(None, "--backend", help="Backends to compare (repeatable; default: llm.backend)."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON report to this file."),
        show_misses: bool = typer.Option(True, "--misses/--no-misses", help="List the questions that missed a target."),
        data_root: Optional[Path] = typer.Option(
            None, "--data-root", help="Where the QA file's header paths (corpus, warnings) start; default: the "
            "header's own data_root, relative to the QA file (../shared/data for tests/eval/real_manual_qa.jsonl)."),
    ) -> None:
        """Score the answers on a QA file, backends side by side: facts present, expected source cited (and among
        the first 5 citations), answerable questions wrongly refused, unanswerable ones refused, safety warnings
        carried or kept (hazard and instruction, for a set with warning ids), latency. The index must hold the
        set's documents.

        Example: rag-car eval answers --backend extractive --backend llamacpp

        Example: rag-car --data-dir /tmp/manual eval answers --qa tests/eval/real_manual_qa.jsonl
        """
        from rag_car.answer.assistant import Assistant
        from rag_car.answer.evaluate import evaluate_answers, format_reports, load_set, reports_json
        from rag_car.errors import ConfigError
        from rag_car.settings import LLM_BACKENDS

        settings = state(ctx).settings()
        backends = list(backend) if backend else [settings.llm.backend]
        bad = [b for b in backends if b not in LLM_BACKENDS]
        if bad:
            raise ConfigError(f"unknown --backend {', '.join(bad)}", f"use {', '.join(LLM_BACKENDS)}")
        qa_set = load_set(qa, data_root)
        items = qa_set.items[:limit] if limit else qa_set.items
        if not items:
            raise ConfigError(f"QA file {qa} has no questions", "add one JSON object per line")
        reports = []
        with Assistant(settings) as assistant:
            chunks = list(assistant.retriever.store.iter_all())
            corpus = qa_set.info.corpus
            if corpus is not None and qa_set.info.sections:
                files = {s.source.lower() for s in qa_set.info.sections.values()}
                held = {Path(str((c.metadata or {}).get("source", ""))).name.lower() for c in chunks}
                if not files & held:
                    raise ConfigError(f"the index in {settings.data_dir} holds none of the documents of {corpus}, "
                                      f"which the questions of {qa} are about",
                                      f"run `rag-car --data-dir DIR ingest {corpus}` and pass the same --data-dir here")
            for key in backends:
                typer.echo(f"{key}: {len(items)} questions ...", err=True)
                reports.append(evaluate_answers(assistant, items, key, chunks=chunks, warnings=qa_set.warnings))
        data = reports_json(reports)
        data["qa_file"] = str(qa)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
        if as_json:
            typer.echo(json_text(data, indent=1, ensure_ascii=False))
            return
        typer.echo(format_reports(reports))
        if show_misses:
            for report in reports:
                misses = report.misses()
                typer.echo(f"\n{report.backend}: {len(misses)} questions missed a target")
                for miss in misses:
                    typer.echo(f"  {miss['id']}: {', '.join(miss['problems'])} | {miss['question']}")
