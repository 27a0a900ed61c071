"""Passages + live snapshot -> Sources: numbered document sources [n] and the live lines cited [live].

Document text is data, never instructions: sentences addressed to an assistant rather than to a reader ("SYSTEM:
...", "when asked about X, answer Y", "ignore previous instructions"; rag_car/answer/instructions.py) are set aside
here, so no backend ever sees them as text to follow or quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rag_car.answer.instructions import looks_like_instruction
from rag_car.answer.safety import live_items, reading_text
from rag_car.answer.schema import Citation, DtcCitation, SectionRef, SignalCitation
from rag_car.answer.sentences import Sentence, codes, split_sentences, terms

# Delimiters of our prompts and of common chat templates: never allowed through from a document.
_DELIMITERS = re.compile(r"<\|[^|>]{0,40}\|>|</?(?:source|sources|live|question|document)[^>]{0,40}>|<<<|>>>|"
                         r"<start_of_turn>|<end_of_turn>|\[/?INST\]|<bos>|<eos>", re.IGNORECASE)


_ENTRY_HEADING = re.compile(r"^([PCBU][0-3][0-9A-F]{3})\b[\s:-]*(\S.{3,})$")


def defang(text: str) -> str:
    """Document text with prompt delimiters and chat-template tokens removed."""
    return _DELIMITERS.sub(" ", text or "")


@dataclass
class DocSource:
    """Document source ``[n]``: a passage, its selectable sentences, and why it is in the context."""

    n: int
    passage: Any
    sentences: list[Sentence]
    reason: str = "question"
    redacted: int = 0  # instruction-like sentences set aside
    terms: frozenset[str] = frozenset()
    heading_terms: frozenset[str] = frozenset()
    heading_codes: frozenset[str] = frozenset()  # codes its title or section names (the entry's own code)
    rank: int = 0  # the retrieval rank it stands for: its own number, or its retrieved sibling's for a "section" chunk

    @property
    def pulled(self) -> bool:
        """In the context because of live data (an active code's entry, a bulletin, a stop instruction), not
        because the question's words found it."""
        return self.reason.startswith(("dtc", "bulletin", "stop"))

    @property
    def text(self) -> str:
        return self.passage.text

    @property
    def clean_text(self) -> str:
        """The text a prompt shows: delimiters removed, instruction-like sentences replaced by a marker."""
        text = defang(self.passage.text)
        if not self.redacted:
            return text
        kept = []
        for sentence in split_sentences(text):
            kept.append("[text removed: it reads as an instruction to an AI model]" if looks_like_instruction(sentence.text)
                        else sentence.text)
        return "\n".join(kept)

    @property
    def doc_type(self) -> str:
        return self.passage.doc_type

    def citation(self) -> Citation:
        return self.citation_as(self.n)

    def citation_as(self, n: int) -> Citation:
        """The citation with the number the answer shows for this source."""
        p = self.passage
        return Citation(n=n, source=p.source, title=p.title, section=p.section, page=p.page,
                        doc_type=p.doc_type, text=p.text, score=float(p.score), metadata=dict(p.metadata),
                        also_in=also_in(p))


def also_in(passage: Any) -> tuple[SectionRef, ...]:
    """The other sections that print a passage's text: its near-duplicates retrieval folded into it (a manual that
    repeats a warning in two chapters), each section once, the passage's own left out."""
    own = (passage.source, passage.section)
    refs: dict[tuple[str, str], SectionRef] = {}
    for duplicate in getattr(passage, "duplicates", None) or ():
        key = (str(duplicate.get("source", "")), str(duplicate.get("section", "")))
        if key != own and key not in refs:
            refs[key] = SectionRef(key[0], str(duplicate.get("title", "")), key[1])
    return tuple(refs.values())


@dataclass
class LiveLine:
    """One live fact: a reading, an active code, a lamp, the vehicle identity."""

    text: str
    kind: str
    item: Any = None
    flagged: bool = False  # out of range, active, on
    terms: frozenset[str] = frozenset()


@dataclass
class Sources:
    docs: list[DocSource] = field(default_factory=list)
    live: list[LiveLine] = field(default_factory=list)
    snapshot: Any = None

    def doc(self, n: int) -> DocSource | None:
        for doc in self.docs:
            if doc.n == n:
                return doc
        return None

    @property
    def live_text(self) -> str:
        return "\n".join(line.text for line in self.live)

    @property
    def redacted(self) -> int:
        return sum(doc.redacted for doc in self.docs)

    def signal_citations(self, only_relevant: set[int] | None = None) -> list[SignalCitation]:
        out = []
        for i, line in enumerate(self.live):
            if line.kind != "signal" or (only_relevant is not None and i not in only_relevant):
                continue
            r = line.item
            age = getattr(r, "age_s", None)
            out.append(SignalCitation(
                name=str(getattr(r, "name", "")), message=str(getattr(r, "message", "")), value=getattr(r, "value", None),
                unit=str(getattr(r, "unit", "") or ""), status=str(getattr(r, "status", "ok")),
                age_s=None if age is None else round(float(age), 3),
            ))
        return out

    def dtc_citations(self) -> list[DtcCitation]:
        return [DtcCitation(code=str(getattr(l.item, "code", "")), source=str(getattr(l.item, "source", "")),
                            description=str(getattr(l.item, "description", "") or ""))
                for l in self.live if l.kind == "dtc"]


def build_sources(passages: list[tuple[Any, str]], start: int = 1) -> list[DocSource]:
    """Number the passages ``start``.. (in the order given, each chunk once) and split them into sentences. A
    passage given with reason "section" (another chunk of a retrieved passage's section) ranks as that passage."""
    docs: list[DocSource] = []
    seen: set[str] = set()
    first_of_section: dict[tuple[str, str], int] = {}
    for passage, reason in passages:
        if passage.chunk_id in seen:
            continue
        seen.add(passage.chunk_id)
        sentences = split_sentences(defang(passage.text))
        kept = [s for s in sentences if not looks_like_instruction(s.text)]
        redacted = len(sentences) - len(kept)
        heading = f"{passage.title} {passage.section}"
        entry = _ENTRY_HEADING.match(passage.section.rsplit(" > ", 1)[-1].strip()) if passage.section else None
        if entry and not any(entry.group(1) in s.text and entry.group(2)[:20].lower() in s.text.lower() for s in kept):
            # a reference entry's heading is its meaning ("P0217 Engine coolant overtemperature condition"):
            # said first, as the entry's own sentence
            kept.insert(0, Sentence(f"{entry.group(1)}: {entry.group(2).strip()}.", -1, "text"))
        n = len(docs) + start
        section_key = (passage.source, passage.section)
        rank = first_of_section.get(section_key, n) if reason == "section" else n
        if passage.section:
            first_of_section.setdefault(section_key, n)
        docs.append(DocSource(
            n=n, passage=passage, sentences=kept, reason=reason, redacted=redacted, rank=rank,
            terms=frozenset(t for s in kept for t in terms(s.text)), heading_terms=frozenset(terms(heading)),
            heading_codes=frozenset(codes(heading)) | frozenset(c.upper() for c in getattr(passage, "codes", [])
                                                             if c.upper() in heading.upper()),
        ))
    return docs


def live_lines(snapshot: Any, normal_ranges: dict[str, tuple[float, float]] | None = None) -> list[LiveLine]:
    """The snapshot as citable lines: vehicle identity, active DTCs, lamps that are on, every signal reading.
    ``normal_ranges``: "Message.Signal" -> the normal range of the vehicle profile in force, shown beside
    out-of-range readings (a reading's own ``normal`` otherwise)."""
    normal_ranges = normal_ranges or {}
    if snapshot is None:
        return []
    lines: list[LiveLine] = []
    vehicle = getattr(snapshot, "vehicle", None) or {}
    if vehicle.get("vin") or vehicle.get("model"):
        desc = " ".join(str(vehicle.get(k)) for k in ("year", "make", "model", "variant") if vehicle.get(k))
        text = f"Vehicle: {desc}" + (f", VIN {vehicle['vin']}" if vehicle.get("vin") else "")
        if vehicle.get("vin") and vehicle.get("vin_valid") is False:
            text += " (VIN check digit invalid)"
        lines.append(LiveLine(text, "vehicle", vehicle, False, frozenset(terms(text))))
    for dtc in live_items(getattr(snapshot, "dtcs", [])):
        code = str(getattr(dtc, "code", ""))
        desc = str(getattr(dtc, "description", "") or "")
        status = str(getattr(dtc, "status", "active"))
        text = f"Trouble code {code} {status}" + (f": {desc}" if desc else "") + f" (read via {getattr(dtc, 'source', '')})"
        lines.append(LiveLine(text, "dtc", dtc, is_current(dtc), frozenset(terms(f"{code} {desc} code"))))
    for lamp in live_items(getattr(snapshot, "lamps", [])):
        state = str(getattr(lamp, "state", "off"))
        if state == "off":
            continue
        name = str(getattr(lamp, "name", "") or getattr(lamp, "key", ""))
        text = f"{name} is {state}"
        lines.append(LiveLine(text, "lamp", lamp, True, frozenset(terms(f"{name} lamp warning"))))
    for reading in live_items(getattr(snapshot, "signals", [])):
        status = str(getattr(reading, "status", "ok"))
        text = reading_text(reading, normal_ranges.get(f"{getattr(reading, 'message', '')}.{getattr(reading, 'name', '')}"))
        age = getattr(reading, "age_s", None)
        if age is not None and status != "stale":
            text += f", updated {float(age):.1f} s ago"
        label = f"{getattr(reading, 'description', '')} {getattr(reading, 'name', '')} {getattr(reading, 'message', '')}"
        lines.append(LiveLine(text, "signal", reading, status in ("low", "high"), frozenset(terms(_split_camel(label)))))
    return lines


def is_current(dtc: Any) -> bool:
    """A code the vehicle reports now: active, confirmed, stored, pending or permanent (not history or cleared)."""
    status = str(getattr(dtc, "status", "active") or "active").lower()
    return not any(word in status for word in ("history", "cleared", "inactive", "previous"))


def _split_camel(text: str) -> str:
    return re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", text)

