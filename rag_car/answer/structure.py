"""A section of the indexed documents -> the safety notices that protect it, found by the headings tree.

A manual puts a procedure's warnings where its structure says: in the section itself, inside its steps, in a
sibling or parent section titled like "Safety information" / "Safety notes", or in the parent's own text above
its subsections. A section path is the chunk metadata's headings joined " > " ("Hood > Opening the hood"), so
its parent is the path without its last heading and its siblings are the parent's other children. No word of
any one manual is needed: a "safety section" is a section whose heading names safety (or warnings, cautions,
hazards) and that holds a notice, or whose sentences are mostly notices.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Iterable

from rag_car.answer.sentences import Sentence, split_sentences
from rag_car.answer.siblings import SectionIndex
from rag_car.answer.sources import defang

SEP = " > "
# headings that announce a section of safety notices, in English manuals: "Safety information", "Safety notes",
# "Precautions", "Warnings and cautions" (not "Warning lamps", "Hazard warning system": those name a thing)
SAFETY_HEADING = re.compile(r"\bsafety\b|\bprecautions?\b|^(?:important )?(?:warnings?|cautions?|dangers?)"
                            r"(?: (?:and|&) (?:warnings?|cautions?|notices?|notes?))?$", re.IGNORECASE)
MAX_SECTION_CHUNKS = 12  # a related section longer than this is not read for its notices (a whole chapter)


@dataclass(frozen=True)
class Notice:
    """A safety notice (WARNING, CAUTION, DANGER, NOTICE) that protects a section: its whole text, the chunk it
    is quoted from, where it sits (``section``) and how far up the tree (0: the section itself or its own safety
    subsection; 1: its parent's level; ...)."""

    text: str
    chunk: Any  # the Chunk (id, text, metadata) it is quoted from
    section: str
    distance: int
    position: int  # reading order inside its section


def parent_of(section: str) -> str:
    return section.rsplit(SEP, 1)[0] if SEP in section else ""


def ancestors(section: str) -> list[str]:
    """The parent, the grandparent ... up to the document's top level ("")."""
    out = []
    while section:
        section = parent_of(section)
        out.append(section)
    return out


def is_safety_heading(section: str) -> bool:
    return bool(SAFETY_HEADING.search(section.rsplit(SEP, 1)[-1])) if section else False


class Outline:
    """The headings tree of an index, read from the retriever's catalog and records; notices cached per section.

    Without a catalog (a retriever over hand-made passages) it answers from the chunks it is given
    (:meth:`notices_in`), so the same rules hold on any retriever.
    """

    def __init__(self, sections: SectionIndex | None = None) -> None:
        self.sections = sections or SectionIndex()
        self._catalog: Any = None
        self._children: dict[tuple[str, str], list[str]] = {}
        self._notices: dict[tuple[str, str], list[tuple[Any, int, Sentence]]] = {}
        self._lock = threading.Lock()

    # -- the tree --------------------------------------------------------------------------------------------
    def _sync(self, catalog: Any) -> None:
        if catalog is self._catalog:
            return
        children: dict[tuple[str, str], list[str]] = {}
        sources, sections = catalog.columns["source"], catalog.columns["section"]
        seen: set[tuple[str, str]] = set()
        for row in range(catalog.size):
            key = (sources[row], sections[row])
            if key in seen:
                continue
            seen.add(key)
            path = sections[row]
            # every ancestor of a path is in the tree, even one with no text of its own
            while path:
                parent = parent_of(path)
                siblings = children.setdefault((key[0], parent), [])
                if path not in siblings:
                    siblings.append(path)
                path = parent
        self._children, self._notices, self._catalog = children, {}, catalog

    def _section_notices(self, retriever: Any, source: str, section: str) -> list[tuple[Any, int, Sentence]]:
        """(chunk, reading position, sentence) of every notice of one section, in reading order, each text once."""
        key = (source, section)
        if key in self._notices:
            return self._notices[key]
        state = getattr(retriever, "lexical", None)
        catalog, records = getattr(state, "catalog", None), getattr(state, "records", None)
        rows = self.sections.rows(catalog, source, section) if catalog is not None else []
        found: list[tuple[Any, int, Sentence]] = []
        if rows and len(rows) <= MAX_SECTION_CHUNKS and records is not None:
            chunks = [chunk for _, chunk in sorted(records.get(rows).items())]
            found = notices_in(chunks)
            found = [(chunk, i, s) for i, (chunk, s) in enumerate(found)]
        self._notices[key] = found
        return found

    def _is_safety_section(self, retriever: Any, source: str, section: str) -> bool:
        """A section of safety notices: its heading says so and it holds at least one notice ("Safety mode"
        names a function and holds none)."""
        return is_safety_heading(section) and bool(self._section_notices(retriever, source, section))

    def notices_for(self, retriever: Any, source: str, section: str) -> list[Notice]:
        """The notices that protect ``section`` of ``source``, nearest first: its own (steps included), those of
        its safety subsections, then at each level up the tree those of the safety sections beside it and the
        parent's own text. Empty when the retriever keeps no catalog."""
        state = getattr(retriever, "lexical", None)
        catalog = getattr(state, "catalog", None)
        if catalog is None or not hasattr(catalog, "columns") or getattr(state, "records", None) is None:
            return []
        try:
            with self._lock:
                self._sync(catalog)
                return self._collect(retriever, source, section)
        except Exception:  # a catalog of another shape, records gone: the answer keeps the notices it quotes
            return []

    def _collect(self, retriever: Any, source: str, section: str) -> list[Notice]:
        out: list[Notice] = []

        def take(path: str, distance: int) -> None:
            for chunk, position, sentence in self._section_notices(retriever, source, path):
                out.append(Notice(sentence.text, chunk, path, distance, position))

        take(section, 0)
        for child in self._children.get((source, section), []):
            if self._is_safety_section(retriever, source, child):
                take(child, 0)
        below = section
        for distance, ancestor in enumerate(ancestors(section), 1):
            for sibling in self._children.get((source, ancestor), []):
                if sibling != below and self._is_safety_section(retriever, source, sibling):
                    take(sibling, distance)
            if ancestor:
                take(ancestor, distance)
            below = ancestor
        return out


def notices_in(chunks: Iterable[Any]) -> list[tuple[Any, Sentence]]:
    """(chunk, sentence) of every safety notice in ``chunks`` (read in order), each text once: a notice repeated
    in the overlap of two chunks, or cut at the first one's end, is kept once, whole."""
    found: list[tuple[Any, Sentence]] = []
    norms: list[str] = []
    for chunk in chunks:
        for sentence in split_sentences(defang(chunk.text)):
            if not sentence.is_safety:
                continue
            norm = _norm(sentence.text)
            twin = next((i for i, seen in enumerate(norms) if norm in seen or seen in norm), None)
            if twin is None:
                found.append((chunk, sentence))
                norms.append(norm)
            elif len(norm) > len(norms[twin]):
                found[twin], norms[twin] = (chunk, sentence), norm
    return found


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def relation(section: str, other: str) -> int | None:
    """How ``other`` stands to ``section`` in the tree, for notices: 0 the section itself or its safety
    subsection, d >= 1 an ancestor d levels up or a safety section beside that ancestor's child; None otherwise.
    (By headings alone: what a retriever without a catalog can tell from the passages it returned.)"""
    if other == section or (parent_of(other) == section and is_safety_heading(other)):
        return 0
    for distance, ancestor in enumerate(ancestors(section), 1):
        if ancestor and other == ancestor:
            return distance
        if parent_of(other) == ancestor and is_safety_heading(other):
            return distance
    return None
