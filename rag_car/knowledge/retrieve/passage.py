"""The data retrieval hands out: Passage (a chunk with its score and citation), Filters, SearchResult."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Passage:
    """One retrieved chunk: its text, the fused score, the 1-based rank each retriever gave it, its metadata."""

    chunk_id: str
    text: str
    score: float
    ranks: dict[str, int] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    # near-duplicates folded into this passage (the same paragraph elsewhere): chunk_id, source, section
    duplicates: list[dict[str, str]] = field(default_factory=list)

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", ""))

    @property
    def section(self) -> str:
        return str(self.metadata.get("section", ""))

    @property
    def page(self) -> int:
        try:
            return int(self.metadata.get("page", 0) or 0)
        except (TypeError, ValueError):
            return 0

    @property
    def doc_type(self) -> str:
        return str(self.metadata.get("doc_type", ""))

    @property
    def codes(self) -> list[str]:
        """The DTC codes the chunk's metadata carries."""
        raw = self.metadata.get("codes", "")
        return [c for c in str(raw).split(",") if c] if raw else []

    @property
    def vehicle(self) -> str:
        """"Make Model 2019-2023" (what is known of it), or ""."""
        meta = self.metadata
        parts = [str(meta.get("make", "") or ""), str(meta.get("model", "") or "")]
        low, high = int(meta.get("year_min", 0) or 0), int(meta.get("year_max", 0) or 0)
        if low:
            parts.append(str(low) if high in (0, low) else f"{low}-{high}")
        return " ".join(p for p in parts if p)

    def citation(self) -> str:
        """A short human citation: "title, section, p. 12"."""
        bits = [self.title or self.source.rsplit("/", 1)[-1]]
        if self.section:
            bits.append(self.section)
        if self.page:
            bits.append(f"p. {self.page}")
        return ", ".join(bits)


@dataclass
class Filters:
    """Narrow a search: a vehicle (make, model, a year inside the chunk's model-year range), doc types, sources.

    Every field is optional; empty means "any". ``sources`` match a chunk whose source path ends with one of them.
    """

    make: str | None = None
    model: str | None = None
    year: int | None = None
    doc_types: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.make or self.model or self.year or self.doc_types or self.sources)

    def merged(self, other: "Filters | None") -> "Filters":
        """These filters with every field ``other`` sets on top."""
        if other is None:
            return Filters(self.make, self.model, self.year, list(self.doc_types), list(self.sources))
        return Filters(
            make=other.make or self.make,
            model=other.model or self.model,
            year=other.year or self.year,
            doc_types=list(other.doc_types or self.doc_types),
            sources=list(other.sources or self.sources),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], "")}

    def describe(self) -> str:
        parts = []
        vehicle = " ".join(str(v) for v in (self.make, self.model, self.year) if v)
        if vehicle:
            parts.append(f"vehicle {vehicle}")
        if self.doc_types:
            parts.append("doc type " + "/".join(self.doc_types))
        if self.sources:
            parts.append("source " + "/".join(self.sources))
        return ", ".join(parts) or "none"


@dataclass
class SearchResult:
    """What one search found.

    ``query`` is the standalone query actually searched (a follow-up rewritten); ``filters`` the filters applied,
    inferred ones included (``inferred`` names which fields were inferred from the question); ``codes`` the codes
    recognised in the question and ``unknown_codes`` those nothing in the index mentions; ``notes`` plain-language
    remarks for the user (a filter that matches nothing, a question that was truncated).
    """

    question: str
    query: str
    passages: list[Passage]
    filters: Filters = field(default_factory=Filters)
    codes: list[str] = field(default_factory=list)
    unknown_codes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    inferred: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mode: str = "hybrid"

    def to_json(self) -> dict[str, Any]:
        """The `rag-car search --json` object."""
        return {
            "question": self.question,
            "query": self.query,
            "passages": [
                {
                    "rank": i,
                    "source": p.source,
                    "title": p.title,
                    "section": p.section,
                    "page": p.page,
                    "doc_type": p.doc_type,
                    "text": p.text,
                    "score": round(p.score, 6),
                    "ranks": p.ranks,
                    "metadata": p.metadata,
                    "duplicates": p.duplicates,
                }
                for i, p in enumerate(self.passages, 1)
            ],
            "filters": self.filters.to_dict(),
            "inferred": self.inferred,
            "codes": self.codes,
            "unknown_codes": self.unknown_codes,
            "notes": self.notes,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
