"""`rag-car chat`: a conversation on the terminal; follow-ups use the history, slash commands change the session."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer

from rag_car.cli import labels
from rag_car.cli.state import state
from rag_car.language import frame_language, persona_name, terminal_locale


def register(app: typer.Typer) -> None:
    @app.command("chat")
    def chat(
        ctx: typer.Context,
        persona: Optional[str] = typer.Option(None, "--persona", help="owner (default) or technician."),
        vehicle: Optional[str] = typer.Option(None, "--vehicle", help='The vehicle, e.g. "Aldmoor Corrin 2021" (default: the VIN read from the bus).'),
        bus: Optional[str] = typer.Option(None, "--bus", help="Keep listening to this bus during the chat, e.g. remote:ws://127.0.0.1:54701/ or elm327:/dev/ttyUSB0."),
        backend: Optional[str] = typer.Option(None, "--backend", help="extractive (default), llamacpp, ollama or openai."),
    ) -> None:
        """Talk to the assistant: follow-up questions work ("and the rear ones?"); /help lists the commands.

        Examples:

        \b
          rag-car chat
          rag-car chat --persona technician --bus remote:ws://127.0.0.1:54701/
        """
        from rag_car.errors import ConfigError
        from rag_car.settings import LLM_BACKENDS, PERSONAS

        if persona is not None and persona not in PERSONAS:
            raise ConfigError(f"unknown persona {persona!r}", f"use --persona {' or '.join(PERSONAS)}")
        if backend is not None and backend not in LLM_BACKENDS:
            raise ConfigError(f"unknown backend {backend!r}", f"use --backend with one of {', '.join(LLM_BACKENDS)}")
        settings = state(ctx).settings({"llm": {"backend": backend, "persona": persona}})

        from rag_car.answer.assistant import Assistant
        from rag_car.cli.ask import print_footer

        feed = None
        if bus:
            from rag_car.cli.bus_listen import listen_to_bus

            feed = listen_to_bus(settings, bus, 0.0)
        # the frame's language: ui.language, else each question's; before the first question, the terminal's locale
        session = ChatSession(persona=settings.llm.persona, backend=settings.llm.backend, live=feed is not None,
                              lang=frame_language(settings.ui.language, locale=terminal_locale(os.environ)))
        interactive = sys.stdin.isatty()
        if interactive:
            typer.echo(labels.text("chat_greeting", session.lang), err=True)
        try:
            with Assistant(settings, live=feed.state if feed else None) as assistant:
                while True:
                    try:
                        line = input(labels.text("chat_prompt", session.lang) if interactive else "")
                    except EOFError:
                        break
                    line = line.strip()
                    if not line:
                        continue
                    if line.startswith("/"):
                        reply = session.command(line)
                        if reply is None:
                            break
                        typer.echo(reply)
                        continue

                    def show(piece: str) -> None:
                        sys.stdout.write(piece)
                        sys.stdout.flush()

                    session.lang = frame_language(settings.ui.language, line)
                    answer = assistant.ask(line, history=session.history, persona=session.persona, vehicle=vehicle,
                                           backend=session.backend, use_live=session.live, stream=show)
                    sys.stdout.write("\n")
                    print_footer(answer, session.lang)
                    typer.echo("")
                    session.remember(line, answer.answer)
        finally:
            if feed is not None:
                feed.close()


class ChatSession:
    """The state a chat keeps between questions: history, persona, backend, whether live data is used, and the
    language its replies are in (``lang``: the last question's, see rag_car/language.py)."""

    def __init__(self, persona: str = "owner", backend: str = "extractive", live: bool = True, turns: int = 10,
                 has_bus: bool | None = None, lang: str = "en") -> None:
        self.lang = lang
        self.persona = persona
        self.has_bus = live if has_bus is None else has_bus
        self.backend = backend
        self.live = live
        self.turns = turns
        self.history: list[dict[str, str]] = []

    def remember(self, question: str, answer: str) -> None:
        self.history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        self.history = self.history[-2 * self.turns:]

    def command(self, line: str) -> str | None:
        """Apply a slash command; returns the reply to print, or None to leave."""
        from rag_car.settings import LLM_BACKENDS, PERSONAS

        lang = self.lang
        name, _, arg = line.strip().partition(" ")
        name, arg = name.lower(), arg.strip().lower()
        if name in ("/quit", "/exit", "/q"):
            return None
        if name == "/reset":
            self.history = []
            return labels.text("reset", lang)
        if name == "/persona":
            if arg not in PERSONAS:
                return labels.text("persona_usage", lang, choices="|".join(PERSONAS), now=self._persona(self.persona))
            self.persona = arg
            return labels.text("persona_set", lang, name=self._persona(arg))
        if name == "/live":
            if arg not in ("on", "off"):
                return labels.text("live_usage", lang, now=labels.text("on" if self.live else "off", lang))
            self.live = arg == "on"
            if self.live and not self.has_bus:
                return labels.text("live_no_bus", lang)
            return labels.text("live_set", lang, state=labels.text(arg, lang))
        if name == "/backend":
            if arg not in LLM_BACKENDS:
                return labels.text("backend_usage", lang, choices="|".join(LLM_BACKENDS), now=self.backend)
            self.backend = arg
            return labels.text("backend_set", lang, name=arg)
        if name == "/help":
            return labels.text("chat_help", lang)
        return labels.text("unknown_command", lang, name=name) + "\n" + labels.text("chat_help", lang)

    def _persona(self, persona: str) -> str:
        """``owner`` in English; ``车主（owner）`` in Chinese, so that the key to type stays in sight."""
        return persona if self.lang == "en" else f"{persona_name(persona, self.lang)}（{persona}）"
