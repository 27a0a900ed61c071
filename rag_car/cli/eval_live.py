"""`rag-car eval live`: a live QA file over real DBC + log pairs -> right signal, its value, no refusal, health answered.
Registers into the `eval` group of rag_car.cli.eval_cmd."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rag_car.cli.groups import command_group
from rag_car.cli.state import state
from rag_car.cli.terminal import json_text


def register(app: typer.Typer) -> None:
    @command_group(app, "eval").command("live")
    def live(
        ctx: typer.Context,
        qa: Path = typer.Option(Path("tests/eval/live_qa.jsonl"), "--qa", help="Live QA file: JSON lines with question, kind, log, dbc, expected_signal, expected_value."),
        data: Path = typer.Option(Path("../shared/data"), "--data", help="The directory the QA file's log and dbc paths are relative to."),
        limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N questions."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
        out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON report to this file."),
        min_pass: Optional[float] = typer.Option(None, "--min-pass", help="Exit 1 when the pass rate is below this."),
    ) -> None:
        """Replay each log at maximum speed with its DBC, ask the questions about it, and score the live answers:
        the right signal first, its value at the end of the replay, no refusal; health questions answered from the bus.

        Example: rag-car eval live --qa tests/eval/live_qa.jsonl --data ../shared/data
        """
        from rag_car.answer.evaluate_live import evaluate_live, format_live_report, load_live_items
        from rag_car.errors import ConfigError

        items = load_live_items(qa)
        items = items[:limit] if limit else items
        if not items:
            raise ConfigError(f"live QA file {qa} has no questions", "add one JSON object per line")
        settings = state(ctx).settings()
        report = evaluate_live(settings, items, data.expanduser().resolve(), progress=lambda s: typer.echo(s, err=True))
        payload = report.to_json()
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
        typer.echo(json_text(payload, indent=1, ensure_ascii=False) if as_json else format_live_report(report))
        if min_pass is not None and report.rate() < min_pass:
            typer.echo(f"pass rate {report.rate():.3f} is below {min_pass}", err=True)
            raise typer.Exit(1)
