"""Answer, Citation, SignalCitation, DtcCitation: what the assistant returns, and the JSON schema of `ask --json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SectionRef:
    """Another place a cited text is printed (near) word for word: a manual repeats a warning in several chapters."""

    source: str
    title: str
    section: str

    def label(self) -> str:
        return ", ".join(part for part in (self.title or self.source, self.section) if part)


@dataclass(frozen=True)
class Citation:
    """A numbered document source: ``[n]`` in the answer text maps to this passage."""

    n: int
    source: str
    title: str
    section: str
    page: int
    doc_type: str
    text: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)
    also_in: tuple[SectionRef, ...] = ()  # the other sections that print this text (retrieval folded them into it)

    def label(self) -> str:
        """``"Owner's Manual, Cooling system > Overheating, p. 42"``: how the CLI lists the source; a text the
        documents print in several sections names the others: ``"..., p. 42 (also in: Manual, Towing > Safety)"``."""
        parts = [self.title or self.source]
        if self.section:
            parts.append(self.section)
        label = ", ".join(parts)
        label = f"{label}, p. {self.page}" if self.page else label
        return f"{label} (also in: {'; '.join(ref.label() for ref in self.also_in)})" if self.also_in else label


@dataclass(frozen=True)
class SignalCitation:
    """A live reading the answer relied on (cited ``[live]`` in the text)."""

    name: str
    message: str
    value: Any
    unit: str
    status: str
    age_s: float | None


@dataclass(frozen=True)
class DtcCitation:
    """An active trouble code read from the vehicle."""

    code: str
    source: str
    description: str


@dataclass
class Answer:
    """One answer. The first eleven fields are the ``ask --json`` object of issue 8.

    ``backend`` is the backend that produced the text (``extractive`` after a fallback);
    ``requested_backend`` the one configured, and ``fallback`` says why they differ (None: they don't).
    ``warnings`` are the safety texts carried in the answer (live stop conditions, the documents'
    WARNING/CAUTION text); ``notices`` say what happened on the way (fallback, removed sentences,
    a silent bus, a question cut to length). ``abstained``: the answer is "not in the documents".
    """

    question: str
    answer: str
    backend: str
    persona: str
    grounded: bool
    citations: list[Citation] = field(default_factory=list)
    signals: list[SignalCitation] = field(default_factory=list)
    dtcs: list[DtcCitation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    requested_backend: str = ""
    fallback: str | None = None
    abstained: bool = False
    confidence: float = 0.0
    notices: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    query: str = ""
    vehicle: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the documents could not be searched at all (nothing indexed, store down)
    live_kind: str = ""  # "reading" or "health" when the bus answered first (rag_car/answer/live_first.py); "absent":
    # the bus sends nothing that measures the quantity asked, said before the documents' answer
    more: str = ""  # what the sources add beyond the short answer (the UI's "more", `ask --more`), same citations

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``json.dumps``; validates against :data:`ANSWER_JSON_SCHEMA`."""
        data = asdict(self)
        data["timings"] = {key: round(float(value), 2) for key, value in self.timings.items()}
        data["confidence"] = round(float(self.confidence), 4)
        for citation in data["citations"]:
            citation["score"] = round(float(citation["score"]), 4)
            citation["metadata"] = {key: _plain(value) for key, value in citation["metadata"].items()}
            citation["also_in"] = list(citation["also_in"])
        for signal in data["signals"]:
            signal["value"] = _plain(signal["value"])
        return data


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


_CITATION = {
    "type": "object",
    "required": ["n", "source", "title", "section", "page", "doc_type", "text", "score", "metadata"],
    "properties": {
        "n": {"type": "integer", "minimum": 1},
        "source": {"type": "string"},
        "title": {"type": "string"},
        "section": {"type": "string"},
        "page": {"type": "integer", "minimum": 0},
        "doc_type": {"type": "string"},
        "text": {"type": "string"},
        "score": {"type": "number"},
        "metadata": {"type": "object"},
        "also_in": {"type": "array", "items": {
            "type": "object", "required": ["source", "title", "section"],
            "properties": {"source": {"type": "string"}, "title": {"type": "string"}, "section": {"type": "string"}}}},
    },
}

_SIGNAL = {
    "type": "object",
    "required": ["name", "message", "value", "unit", "status", "age_s"],
    "properties": {
        "name": {"type": "string"},
        "message": {"type": "string"},
        "value": {"type": ["number", "string", "boolean", "null"]},
        "unit": {"type": "string"},
        "status": {"enum": ["ok", "low", "high", "stale"]},
        "age_s": {"type": ["number", "null"]},
    },
}

_DTC = {
    "type": "object",
    "required": ["code", "source", "description"],
    "properties": {"code": {"type": "string"}, "source": {"type": "string"}, "description": {"type": "string"}},
}

#: The ``ask --json`` object (JSON Schema draft 2020-12). Extra keys are allowed; these are promised.
ANSWER_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "rag-car answer",
    "type": "object",
    "required": ["question", "answer", "backend", "persona", "grounded", "citations", "signals", "dtcs", "warnings", "timings"],
    "properties": {
        "question": {"type": "string"},
        "answer": {"type": "string"},
        "backend": {"enum": ["extractive", "llamacpp", "ollama", "openai"]},
        "persona": {"enum": ["owner", "technician"]},
        "grounded": {"type": "boolean"},
        "citations": {"type": "array", "items": _CITATION},
        "signals": {"type": "array", "items": _SIGNAL},
        "dtcs": {"type": "array", "items": _DTC},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "timings": {
            "type": "object",
            "required": ["retrieve_ms", "generate_ms", "total_ms"],
            "properties": {
                "retrieve_ms": {"type": "number", "minimum": 0},
                "generate_ms": {"type": "number", "minimum": 0},
                "total_ms": {"type": "number", "minimum": 0},
            },
        },
        "requested_backend": {"type": "string"},
        "fallback": {"type": ["string", "null"]},
        "abstained": {"type": "boolean"},
        "confidence": {"type": "number"},
        "notices": {"type": "array", "items": {"type": "string"}},
        "unsupported": {"type": "array", "items": {"type": "string"}},
        "query": {"type": "string"},
        "vehicle": {"type": "object"},
        "error": {"type": ["string", "null"]},
        "more": {"type": "string"},
    },
}
