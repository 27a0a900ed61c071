"""Documents -> Chunks: structure-aware, sized in tokens of the embedding model's own tokenizer, with overlap.

A chunk never mixes two sections (the titles above it, joined " > "); tables and records (a DTC row, an
NHTSA record's parts) are chunks of their own, tables whole as long as the model can read them whole.
Chunk ids come from the content and its position (source, document key, index, embedded text), so the same
input always gives the same ids and a re-run adds nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from rag_car.knowledge.load.document import LIST, RECORD, TABLE, TEXT, TITLE, Document, Element
from rag_car.text.codes import find_codes as text_codes
from rag_car.text.sentences import split_sentences
from rag_car.text.lang import detect_language, has_cjk
from rag_car.text.notices import SAFETY_BLOCK, is_bare_label

Metadata = dict[str, str | int | float | bool]

# "P0300-P0399" in a heading names a block of codes, not a code the chunk is about
_CODE_RANGE = re.compile(r"\b[PCBU][0-3][0-9A-F]{3}\s*[-–]\s*[PCBU][0-3][0-9A-F]{3}\b")
# a safety notice ("WARNING: ...", "**CAUTION** ...") is one unit: a chunk boundary must never cut it, or the
# answer side could only quote it in part
_SAFETY_BLOCK = SAFETY_BLOCK  # rag_car.text.notices: English and Chinese labels
MAX_CONTEXT_WORDS = 40


@dataclass(frozen=True)
class Chunk:
    """One passage to embed and store: its id, its text and its metadata (see the contract in docs/ingest.md)."""

    id: str
    text: str
    metadata: Metadata


def context_line(title: str, section: str) -> str:
    """What is embedded above a chunk's text: ``title > section`` (capped at MAX_CONTEXT_WORDS words)."""
    line = " > ".join(p for p in (title, section) if p)
    words = line.split()
    return " ".join(words[:MAX_CONTEXT_WORDS]) if len(words) > MAX_CONTEXT_WORDS else line


def embedding_text(chunk: Chunk) -> str:
    """The text given to the embedding model for a chunk: its context line, then its text."""
    context = context_line(str(chunk.metadata.get("title", "")), str(chunk.metadata.get("section", "")))
    return f"{context}\n{chunk.text}" if context else chunk.text


def delimited(values: Iterable[str]) -> str:
    """``["P0301", "P0303"]`` -> ``",P0301,P0303,"`` (sorted, unique; "" when empty)."""
    unique = sorted({v.strip().replace(",", " ") for v in values if v and v.strip()})
    return "," + ",".join(unique) + "," if unique else ""


def find_codes(text: str) -> list[str]:
    """The trouble codes a text names (rag_car.text.codes), upper case, in order."""
    return [c.key for c in text_codes(text) if c.kind == "dtc"]


def find_refs(text: str) -> list[str]:
    """The other reference numbers a text names (campaigns, investigations, bulletins, parts), as written."""
    return [c.text for c in text_codes(text) if c.kind != "dtc"]


@dataclass
class _Unit:
    text: str
    tokens: int
    page: int
    paragraph: int
    is_item: bool = False
    lead: bool = False  # the first sentence of its paragraph or list item


def chunk_document(
    doc: Document,
    base: Metadata,
    count_tokens: Callable[[str], int],
    chunk_tokens: int = 200,
    overlap: int = 32,
    max_tokens: int = 254,
    known_refs: tuple[str, ...] = (),
) -> list[Chunk]:
    """Cut one document into chunks.

    ``base``: metadata every chunk gets (source, doc_type, vehicle, ingested_at, ...); the chunker adds title,
    section, page, codes, refs, content_hash, chunk_index and the document's extras. ``chunk_tokens``: the
    target size of a chunk's text; ``overlap``: tokens of the previous chunk repeated at the start of the next
    one in the same section; ``max_tokens``: what the model reads at most (context line included) -- a table
    or a sentence is cut only beyond it; ``known_refs``: reference numbers to record when a chunk mentions them.
    """
    chunks: list[Chunk] = []
    titles: list[tuple[int, str]] = []
    prefix = doc.chunk_prefix.strip()
    prefix_tokens = count_tokens(prefix) + 1 if prefix else 0
    budgets: dict[str, tuple[int, int]] = {}

    def budget_for(section: str) -> tuple[int, int]:
        if section not in budgets:
            context_tokens = count_tokens(context_line(doc.title, section)) + 1
            hard = max(16, max_tokens - context_tokens - prefix_tokens)
            budgets[section] = (max(16, min(chunk_tokens, hard)), hard)
        return budgets[section]

    def emit(section: str, units: list[_Unit]) -> None:
        if not units:
            return
        parts: list[str] = []
        for i, unit in enumerate(units):
            if i:
                same = unit.paragraph == units[i - 1].paragraph
                parts.append(" " if same else "\n")
            starts_item = unit.is_item and unit.lead
            parts.append(f"- {unit.text}" if starts_item and not _starts_with_marker(unit.text) else unit.text)
        body = "".join(parts).strip()
        text = f"{prefix}\n{body}" if prefix else body
        chunks.append(_make_chunk(doc, base, section, units[0].page, text, len(chunks), known_refs))

    section = ""
    pending: list[_Unit] = []
    paragraph = 0
    for element in _labels_joined(doc.elements):
        if element.kind == TITLE:
            _pack(pending, section, budget_for(section)[0], overlap, emit)
            pending = []
            while titles and titles[-1][0] >= element.depth:
                titles.pop()
            titles.append((element.depth, element.text))
            section = _section_path(titles, doc.title)
            continue
        paragraph += 1
        soft, hard = budget_for(section)
        if element.kind == TABLE:
            table_tokens = count_tokens(element.text)
            lead = sum(u.tokens for u in pending)
            if pending and lead + table_tokens <= hard and lead <= soft:
                # keep a short lead-in ("Specifications:") with its table
                emit(section, pending + [_Unit(element.text, table_tokens, element.page, paragraph)])
            else:
                _pack(pending, section, soft, overlap, emit)
                for piece in _table_pieces(element.text, count_tokens, hard):
                    emit(section, [_Unit(piece, 0, element.page, paragraph)])
            pending = []
            continue
        if element.kind == RECORD:
            _pack(pending, section, soft, overlap, emit)
            pending = []
            emit(section, [_Unit(element.text, 0, element.page, paragraph)])
            continue
        lead = True
        whole = _SAFETY_BLOCK.match(element.text) and count_tokens(element.text) <= soft
        for sentence in [element.text.strip()] if whole else _sentences(element.text):
            tokens = count_tokens(sentence)
            for piece, piece_tokens in _split_long(sentence, tokens, soft, count_tokens):
                pending.append(_Unit(piece, piece_tokens, element.page, paragraph, element.kind == LIST, lead))
                lead = False
    _pack(pending, section, budget_for(section)[0], overlap, emit)
    return chunks


def _labels_joined(elements: Iterable[Element]) -> list[Element]:
    """A paragraph that is only a safety label ("WARNING", "Warning!") joined to the paragraph after it, so that the
    notice is chunked, cited and carried as one text; a label followed by a heading, a table or nothing stays alone."""
    out: list[Element] = []
    label: Element | None = None
    for element in elements:
        if label is not None and element.kind in (TEXT, LIST):
            out.append(replace(element, text=f"{label.text.strip()} {element.text.lstrip()}", page=label.page or element.page))
            label = None
            continue
        if label is not None:
            out.append(label)
            label = None
        if element.kind == TEXT and is_bare_label(element.text):
            label = element
        else:
            out.append(element)
    if label is not None:
        out.append(label)
    return out


def _pack(units: list[_Unit], section: str, budget: int, overlap: int, emit) -> None:
    """Greedy packing of sentences into chunks of at most ``budget`` tokens, each next chunk starting with
    up to ``overlap`` tokens of whole sentences from the end of the previous one."""
    current: list[_Unit] = []
    size = 0
    fresh = 0  # units in `current` not carried over from the previous chunk
    for unit in units:
        if current and size + unit.tokens > budget:
            emit(section, current)
            tail: list[_Unit] = []
            tail_size = 0
            for previous in reversed(current[1:]):
                if tail_size + previous.tokens > overlap or tail_size + previous.tokens + unit.tokens > budget:
                    break
                tail.insert(0, previous)
                tail_size += previous.tokens
            current, size, fresh = tail, tail_size, 0
        current.append(unit)
        size += unit.tokens
        fresh += 1
    if current and fresh:
        emit(section, current)


def _sentences(text: str) -> list[str]:
    """Sentences (rag_car.text.sentences), also cut at ";": the places a long passage may be cut."""
    return split_sentences(text.strip(), ".!?;")


def _split_long(sentence: str, tokens: int, budget: int, count_tokens) -> list[tuple[str, int]]:
    """A sentence longer than the budget, cut at word boundaries into pieces that fit."""
    if tokens <= budget:
        return [(sentence, tokens)]
    words = sentence.split()
    joiner = " "
    if len(words) <= 2 and has_cjk(sentence):  # Chinese runs have no spaces: cut between characters
        words, joiner = list(sentence), ""
    pieces: list[tuple[str, int]] = []
    per_word = max(tokens / max(len(words), 1), 0.01)
    start = 0
    while start < len(words):
        n = max(1, int(budget / per_word * 0.9))
        while True:
            piece = joiner.join(words[start:start + n])
            size = count_tokens(piece)
            if size <= budget or n == 1:
                break
            n = max(1, int(n * 0.8))
        pieces.append((piece, size))
        start += n
    return pieces


def _table_pieces(text: str, count_tokens, hard: int) -> list[str]:
    """A table whole when the model can read it whole; else groups of rows, each repeating the header row."""
    if count_tokens(text) <= hard:
        return [text]
    rows = text.split("\n")
    header, body = rows[0], rows[1:]
    header_tokens = count_tokens(header)
    pieces: list[str] = []
    group: list[str] = []
    size = header_tokens
    for row in body:
        row_tokens = count_tokens(row) + 1
        if group and size + row_tokens > hard:
            pieces.append("\n".join([header, *group]))
            group, size = [], header_tokens
        if header_tokens + row_tokens > hard:  # one row too long even alone: cut it like a long sentence
            for piece, _ in _split_long(row, row_tokens, hard - header_tokens, count_tokens):
                pieces.append(f"{header}\n{piece}")
            continue
        group.append(row)
        size += row_tokens
    if group:
        pieces.append("\n".join([header, *group]))
    return pieces or [text]


def _section_path(titles: list[tuple[int, str]], doc_title: str) -> str:
    names = [text for _, text in titles]
    if names and names[0].strip().lower() == doc_title.strip().lower():
        names = names[1:]  # the document's own title is the chunk's title, not a section
    return " > ".join(names)


def _starts_with_marker(text: str) -> bool:
    return re.match(r"^\s*(?:[-*•]|\d{1,3}[.)])\s", text) is not None


def _make_chunk(doc: Document, base: Metadata, section: str, page: int, text: str, index: int,
                known_refs: tuple[str, ...] = ()) -> Chunk:
    context = context_line(doc.title, section)
    metadata: Metadata = dict(base)
    metadata.update(doc.extra)
    metadata.update(
        title=doc.title,
        section=section,
        page=int(page or 0),
        codes=delimited(find_codes(_CODE_RANGE.sub(" ", context)) + find_codes(text)),
        refs=delimited(list(doc.refs) + find_refs(f"{context}\n{text}") + [r for r in known_refs if r in text or r in context]),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        chunk_index=index,
        lang=detect_language(f"{section}\n{text}"),
    )
    position = "\x1f".join((str(base.get("source", doc.source)), doc.key, str(index), context, text))
    chunk_id = hashlib.sha256(position.encode("utf-8")).hexdigest()[:32]
    return Chunk(chunk_id, text, metadata)
