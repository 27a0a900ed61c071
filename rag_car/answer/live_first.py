"""LiveAnswer + documents -> the pieces of an Answer that leads with the bus: readings or findings, then the document
passages that explain a finding (an active code's entry; a lamp's or range's own document), cited."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from rag_car.answer.live_answer import LiveAnswer, LiveAnswerer
from rag_car.answer.schema import Answer, Citation, DtcCitation, SignalCitation
from rag_car.errors import RagCarError
from rag_car.vehicle.catalogue import SignalCatalogue
from rag_car.vehicle.live import LiveSnapshot

if TYPE_CHECKING:
    from rag_car.vehicle.profile import VehicleProfile

# query -> passages (a retriever's search bound to the vehicle's filters); None: no documents to search
Search = Callable[[str, list[str] | None], list]


@dataclass(frozen=True)
class Explanation:
    """What a document says about one finding: the query, and the sources (knowledge-relative) it may come from."""

    query: str
    sources: tuple[str, ...] = ()
    code: str = ""


def stream_live_answer(answerer: LiveAnswerer, live: LiveAnswer, answer: Answer, search: Search | None,
                       t0: float, explanations: list[Explanation] | None = None) -> Iterator[str | Answer]:
    """Fill ``answer`` from ``live`` (text, signals, codes, citations) and yield its pieces, then the Answer."""
    text_parts: list[str] = []
    for sentence in live.sentences:
        piece = ("" if not text_parts else " ") + sentence
        text_parts.append(piece)
        yield piece
    # the status as shown (nothing to compare with is "ok"; a played-out log's readings are aged on its own clock)
    answer.signals = [SignalCitation(name=s.reading.name, message=s.reading.message, value=s.reading.value,
                                     unit=s.reading.unit, status=s.status_key if s.status_key != "none" else "ok",
                                     age_s=round(float(s.age_s), 3)) for s in live.shown]
    answer.dtcs = [DtcCitation(code=str(d.code), source=str(d.source), description=str(d.description or ""))
                   for d in live.dtcs]
    t_docs = time.perf_counter()
    citations: list[Citation] = []
    if search is not None and explanations:
        lines: list[str] = []
        for item in explanations:
            try:
                hits = search(item.query, list(item.sources) or None)
            except RagCarError as exc:
                answer.notices.append(f"the documents could not be searched: {exc}")
                break
            for passage in hits[:2]:
                if item.code and item.code.upper() not in passage.text.upper():
                    continue  # an entry that does not name the code explains something else
                if any(c.source == passage.source and c.section == passage.section for c in citations):
                    continue
                n = len(citations) + 1
                citations.append(Citation(n=n, source=passage.source, title=passage.title, section=passage.section,
                                          page=passage.page, doc_type=passage.doc_type, text=passage.text,
                                          score=float(passage.score), metadata=dict(passage.metadata)))
                lines.append(f"{item.code or item.query}: {_first_sentence(passage.text)} [{n}]")
                break
        if lines:
            piece = " What the documents say: " + " ".join(lines)
            text_parts.append(piece)
            yield piece
    answer.citations = citations
    answer.answer = "".join(text_parts)
    answer.grounded = True
    answer.abstained = False
    answer.confidence = 1.0
    answer.backend = "extractive"
    answer.live_kind = live.kind
    answer.timings = {"retrieve_ms": (time.perf_counter() - t_docs) * 1000.0, "generate_ms": 0.0,
                      "total_ms": (time.perf_counter() - t0) * 1000.0}
    yield answer


def explanations_for(live: LiveAnswer, snapshot: LiveSnapshot, profile: "VehicleProfile | None") -> list[Explanation]:
    """The findings documents can explain: each active code (its reference entry must name it); a lamp on and a
    reading outside its normal range, from the document the vehicle profile in force names for it (none without a
    profile: another vehicle's documents never explain this one)."""
    out = [Explanation(query=str(d.code), code=str(d.code)) for d in live.dtcs]
    if profile is None:
        return out
    for lamp in snapshot.lamps:
        fact = profile.lamps.get(lamp.key)
        if lamp.state != "off" and fact is not None and fact.doc:
            out.append(Explanation(query=f"{fact.name} {fact.section}".strip(), sources=(profile.doc_path(fact.doc),)))
    for shown in live.shown:
        rng = profile.range_for(shown.key)
        if shown.status_key in ("low", "high") and rng is not None and rng.doc:
            out.append(Explanation(query=f"{shown.label} {rng.section} {shown.status_key}".strip(),
                                   sources=(profile.doc_path(rng.doc),)))
    return out


def catalogue_of(live_source: object) -> SignalCatalogue | None:
    """The signal catalogue of a LiveState's DBC files (None for another kind of live source)."""
    from rag_car.vehicle.catalogue import build_catalogue
    from rag_car.vehicle.live import LiveState

    if isinstance(live_source, LiveState):
        return build_catalogue(live_source.db)
    return None


def _first_sentence(text: str, limit: int = 240) -> str:
    from rag_car.answer.sentences import split_sentences

    sentences = [s.text for s in split_sentences(text) if len(s.text) > 20]
    first = sentences[0] if sentences else " ".join(text.split())
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " ..."
