"""`rag-car chat`: a conversation on the terminal; follow-ups use the history, slash commands change the session."""

from __future__ import annotations

import sys
from typing import Optional

import typer

from rag_car.cli.state import state

HELP = """commands:
  /reset                       forget the conversation
  /persona owner|technician    change who the answers are written for
  /live on|off                 use the live bus data or not
  /backend NAME                extractive, llamacpp, ollama or openai
  /help                        this list
  /quit                        leave (or Ctrl-D)"""


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
        session = ChatSession(persona=settings.llm.persona, backend=settings.llm.backend, live=feed is not None)
        interactive = sys.stdin.isatty()
        if interactive:
            typer.echo("rag-car chat: ask about your vehicle; /help for commands, /quit to leave.", err=True)
        try:
            with Assistant(settings, live=feed.state if feed else None) as assistant:
                while True:
                    try:
                        line = input("you> " if interactive else "")
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

                    answer = assistant.ask(line, history=session.history, persona=session.persona, vehicle=vehicle,
                                           backend=session.backend, use_live=session.live, stream=show)
                    sys.stdout.write("\n")
                    print_footer(answer)
                    typer.echo("")
                    session.remember(line, answer.answer)
        finally:
            if feed is not None:
                feed.close()


class ChatSession:
    """The state a chat keeps between questions: history, persona, backend, whether live data is used."""

    def __init__(self, persona: str = "owner", backend: str = "extractive", live: bool = True, turns: int = 10,
                 has_bus: bool | None = None) -> None:
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

        name, _, arg = line.strip().partition(" ")
        name, arg = name.lower(), arg.strip().lower()
        if name in ("/quit", "/exit", "/q"):
            return None
        if name == "/reset":
            self.history = []
            return "conversation reset"
        if name == "/persona":
            if arg not in PERSONAS:
                return f"usage: /persona {'|'.join(PERSONAS)} (now {self.persona})"
            self.persona = arg
            return f"persona: {arg}"
        if name == "/live":
            if arg not in ("on", "off"):
                return f"usage: /live on|off (now {'on' if self.live else 'off'})"
            self.live = arg == "on"
            if self.live and not self.has_bus:
                return "live data: on (no bus is connected: start rag-car chat with --bus SPEC)"
            return f"live data: {arg}"
        if name == "/backend":
            if arg not in LLM_BACKENDS:
                return f"usage: /backend {'|'.join(LLM_BACKENDS)} (now {self.backend})"
            self.backend = arg
            return f"backend: {arg}"
        if name == "/help":
            return HELP
        return f"unknown command {name}\n{HELP}"
