"""Backend interface: a Request (question, sources, prompt) -> streamed answer text."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

from rag_car.errors import BackendUnavailable

if TYPE_CHECKING:
    from rag_car.answer.personas import Persona
    from rag_car.answer.selection import Ranking
    from rag_car.answer.sources import Sources
    from rag_car.settings import Settings


class BackendTimeout(BackendUnavailable):
    """The backend did not finish within llm.timeout_s; ``partial`` holds what it wrote until then."""

    def __init__(self, message: str, fix: str | None = None, partial: str = "") -> None:
        super().__init__(message, fix)
        self.partial = partial


@dataclass
class Request:
    """Everything a backend may use. Generative backends read ``messages`` (chat) or ``completion_prompt``
    (base models); the extractive backend reads the sources and the ranking directly."""

    question: str
    persona: "Persona"
    sources: "Sources"
    ranking: "Ranking"
    live_idx: list[int] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)  # sentences already in the answer (the lead)
    only_docs: set[int] | None = None  # answer from these sources only (a vague question about live faults)
    follow_up: str = ""  # the previous answer, when the question leans on it ("and the rear ones?")
    messages: list[tuple[str, str]] = field(default_factory=list)
    completion_prompt: str = ""
    max_tokens: int = 200
    temperature: float = 0.0
    timeout_s: float = 30.0


class Backend(ABC):
    """One way of writing answers. Subclasses set ``key`` and implement :meth:`stream`.

    Adapters translate their library's exceptions into BackendUnavailable (down, misconfigured, failed) or
    BackendTimeout (no answer within the timeout), so that the assistant can fall back to ``extractive``.
    """

    key: ClassVar[str] = ""
    generative: ClassVar[bool] = True

    def __init__(self, settings: "Settings") -> None:
        self.settings = settings

    @abstractmethod
    def stream(self, request: Request) -> Iterator[str]:
        """Yield pieces of answer text as they are produced."""

    def generate(self, request: Request) -> str:
        return "".join(self.stream(request))

    def describe(self) -> str:
        """"ollama gemma3:270m at http://127.0.0.1:11434": what the CLI and the UI show."""
        return self.key

    def close(self) -> None:
        """Release the model or the connection pool (the default has nothing to release)."""


def bounded(pieces: Iterator[str], timeout_s: float, what: str, fix: str) -> Iterator[str]:
    """Pass ``pieces`` through, raising BackendTimeout once ``timeout_s`` have passed since the first call
    (checked between pieces; the HTTP clients bound each wait on their own)."""
    deadline = time.monotonic() + timeout_s
    written: list[str] = []
    for piece in pieces:
        written.append(piece)
        yield piece
        if time.monotonic() > deadline:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
            raise BackendTimeout(f"{what} did not finish within {timeout_s:g} s", fix, partial="".join(written))
