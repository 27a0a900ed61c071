"""`rag-car ask`: a question (or one per line of stdin) -> a grounded, cited answer (text or JSON lines)."""

from __future__ import annotations

import sys
from typing import Any, Optional

import typer

from rag_car.cli import labels
from rag_car.cli.state import state
from rag_car.cli.terminal import json_text


def register(app: typer.Typer) -> None:
    @app.command("ask")
    def ask(
        ctx: typer.Context,
        question: str = typer.Argument(..., help='The question, or "-" to read one question per line from standard input.'),
        persona: Optional[str] = typer.Option(None, "--persona", help="owner (plain words, what to do now) or technician (codes, specs, procedures)."),
        vehicle: Optional[str] = typer.Option(None, "--vehicle", help='Answer for this vehicle, e.g. "Aldmoor Corrin 2021" (default: the VIN read from the bus).'),
        bus: Optional[str] = typer.Option(None, "--bus", help="Listen to this bus first so live data grounds the answer, e.g. remote:ws://127.0.0.1:54701/ or elm327:/dev/ttyUSB0 (an OBD-II adapter)."),
        listen: Optional[float] = typer.Option(None, "--listen", min=0, help="Seconds to listen to --bus before answering (default 2)."),
        backend: Optional[str] = typer.Option(None, "--backend", help="extractive (default), llamacpp, ollama or openai."),
        profile: Optional[str] = typer.Option(None, "--profile", help="The vehicle profile to apply when the bus's VIN does not name one (see `rag-car vehicle list`)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per question (see docs/answer.md for the schema)."),
        more: bool = typer.Option(False, "--more", help="Also print what the sources add beyond the short answer (an owner's answer is short by default)."),
    ) -> None:
        """Answer a question from the vehicle's documents (and its live data with --bus), citing each statement.

        Examples:

        \b
          rag-car ask "What is the tire pressure?"
          rag-car ask "How do I jump start the car?" --more
          rag-car ask "what's wrong with my car?" --bus remote:ws://127.0.0.1:54701/ --listen 3
          rag-car ask "P0301 next diagnostic step" --persona technician --backend llamacpp --json
          printf 'P0301?\\nwheel nut torque?\\n' | rag-car ask --json -
        """
        from rag_car.errors import ConfigError
        from rag_car.settings import LLM_BACKENDS, PERSONAS

        if persona is not None and persona not in PERSONAS:
            raise ConfigError(f"unknown persona {persona!r}", f"use --persona {' or '.join(PERSONAS)}")
        if backend is not None and backend not in LLM_BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}", f"use --backend with one of {', '.join(LLM_BACKENDS)}")
        if question != "-" and not question.strip():
            raise typer.BadParameter("the question is empty: type a question, e.g. \"What is the tire pressure?\"",
                                     param_hint="QUESTION")
        settings = state(ctx).settings({"llm": {"backend": backend, "persona": persona}, "can": {"listen_s": listen},
                                        "vehicle": {"profile": profile}})

        from rag_car.answer.assistant import Assistant
        from rag_car.language import frame_language

        live_feed = None
        if bus:
            from rag_car.cli.bus_listen import listen_to_bus

            live_feed = listen_to_bus(settings, bus, settings.can.listen_s)
        try:
            with Assistant(settings, live=live_feed.state if live_feed else None) as assistant:
                questions = (line.rstrip("\n") for line in sys.stdin) if question == "-" else iter([question])
                failed = False
                for text in questions:
                    if question == "-" and not text.strip():
                        continue
                    answer = _answer(assistant, text, vehicle, as_json, stream=not as_json and question != "-", more=more,
                                     lang=frame_language(settings.ui.language, text))
                    failed = failed or answer.error is not None
                if failed and question != "-":
                    raise typer.Exit(1)
        finally:
            if live_feed is not None:
                live_feed.close()


def _answer(assistant: Any, text: str, vehicle: str | None, as_json: bool, stream: bool, more: bool = False,
            lang: str = "en") -> Any:
    """Answer one question and print it, its frame in ``lang`` (JSON keeps its keys); returns the Answer."""
    if as_json:
        answer = assistant.ask(text, vehicle=vehicle)
        typer.echo(json_text(answer.to_json(), ensure_ascii=False))
        sys.stdout.flush()
        return answer
    printed = False

    def show(piece: str) -> None:
        nonlocal printed
        printed = True
        sys.stdout.write(piece)
        sys.stdout.flush()

    answer = assistant.ask(text, vehicle=vehicle, stream=show if stream else None)
    if not printed:
        sys.stdout.write(answer.answer)
    sys.stdout.write("\n")
    if answer.more and more:
        sys.stdout.write(f"\n{labels.text('more', lang)}\n{answer.more}\n")
    elif answer.more:
        typer.echo(labels.text("more_hint", lang), err=True)
    print_footer(answer, lang)
    return answer


def print_footer(answer: Any, lang: str = "en") -> None:
    """Sources, then the notes (fallback first) on stderr; the frame's words in ``lang``, the sources' titles and the
    notes' own text as they are."""
    from rag_car.language import doc_type_name

    if answer.citations:
        typer.echo("\n" + labels.text("sources", lang))
        for c in answer.citations:
            kind = c.doc_type if lang == "en" else doc_type_name(c.doc_type, lang)
            typer.echo(f"  [{c.n}] {citation_label(c, lang)} ({kind})")
    note = lambda text: typer.echo(labels.text("note", lang, text=text), err=True)  # noqa: E731
    if answer.fallback:
        note(labels.text("fallback", lang, reason=answer.fallback))
    if answer.vehicle.get("profile"):
        note(labels.text("profile", lang, name=answer.vehicle["profile"], how=answer.vehicle.get("profile_from", "")))
    for notice in answer.notices:
        if answer.fallback and notice.startswith(answer.fallback):
            continue
        note(notice)
    sys.stdout.flush()


def citation_label(citation: Any, lang: str = "en") -> str:
    """``Title, Section, p. 42`` (``Title，Section，第 42 页`` in Chinese): how the CLI lists a source."""
    if lang == "en":
        return citation.label()
    label = "，".join(part for part in (citation.title or citation.source, citation.section) if part)
    return labels.text("page", lang, label=label, page=citation.page) if citation.page else label
