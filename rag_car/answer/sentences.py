"""Text -> sentences, terms, numbers and codes: the units that answers are selected and checked in."""

from __future__ import annotations

import re

from rag_car.text import quantities
from rag_car.text.lang import has_cjk
from rag_car.text.notices import SAFETY_LEAD, safety_kind
from dataclasses import dataclass
from functools import lru_cache

from rag_car.text.sentences import split_sentences as sentence_pieces
# terms live in rag_car.text (the signal catalogue reads them too); answers import them from here as before
from rag_car.text.terms import (STOPWORDS, TERMS_VERSION, _WORD, normalise_term,  # noqa: F401
                                terms, words)

# A sentence kind: "text", "step" (a list item or numbered step), "row" (a table row), or a safety notice's own
# label: "warning", "caution", "danger", "notice".
SAFETY_KINDS = frozenset({"warning", "caution", "danger", "notice"})
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*)$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+\u2022]|\d{1,2}[.)]|[a-z][.)])\s+(.*)$")
# a line that opens with a short label: "Description. The fuel ...", "Diagnostic steps." (before a list)
_LABEL = re.compile(r"^(?!(?:It|This|That|These|Those|They|We|You|He|She|There|A|An|The|If|Do|Use|See)\b)"
                    r"([A-Z][\w/()-]*(?: [\w/()-]+){0,4})\.(?:\s+(?=[A-Z0-9\"(-])|$)")
_GENERIC_HEADERS = {"value", "values", "specification", "specifications", "spec", "data", "description", "details",
                    "setting", "meaning", "notes", "note", "information", "info", ""}
_UNDERLINE = re.compile(r"^[=\-~^*_]{3,}$")
_DOT_LEADER = re.compile(r"^(\S.*?)\s*\.{4,}\s*(\S.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
# "WARNING: ...", "**CAUTION** ...", "Danger! ...", "NOTICE: ..." open a safety text; "Warning lamp." (a label)
# does not
_SAFETY_LEAD = SAFETY_LEAD  # rag_car.text.notices: English and Chinese labels
_CITATION_MARK = re.compile(r"\s*\[(?:live|\d+(?:\s*[,;]\s*\d+)*)\]", re.IGNORECASE)

_NUMBER = re.compile(r"(?<![A-Za-z0-9.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![A-Za-z0-9.,])\d+(?:[.,]\d+)?")
_DTC = re.compile(r"\b[PCBU][0-3][0-9A-F]{3}\b")
_CODE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*\b|\b\d+(?:-\d+)+\b", re.IGNORECASE)

# unit words: they say how a quantity is measured, not what it is about
UNIT_TERMS = frozenset("""nm n-m lb-ft lbft ft in kpa mpa psi bar mm cm km mi mph kph rpm v mv a ma c f l ml kg lb g s ms min
    h hz kw w ah ohm degc deg percent""".split())



@dataclass(frozen=True)
class Sentence:
    """One selectable unit of a passage: its text, where it sits, and what kind it is."""

    text: str
    position: int
    kind: str = "text"
    block: int = -1  # the paragraph (or list item, row) it comes from: sentences of one paragraph share it

    @property
    def is_safety(self) -> bool:
        return self.kind in SAFETY_KINDS


def split_sentences(text: str) -> list[Sentence]:
    """Sentences of a passage, in order (see :func:`_split`; cached by text: passages come back answer after
    answer)."""
    return list(_split(text or ""))


@lru_cache(maxsize=20_000)
def _split(text: str) -> tuple[Sentence, ...]:
    """Sentences of a passage, in order. Headings are dropped, list items and table rows are units of their own,
    and a WARNING/CAUTION paragraph stays whole so that it is never quoted in part. Hard-wrapped lines (text
    files, PDF extracts) are joined back; dot-leader lines ("Hot idle ...... 100 kPa") read as table rows."""
    blocks: list[list] = []  # [kind, text]: kind "para", "step", "warning", "caution", "row"
    header: list[str] | None = None

    def add(kind: str, body: str) -> None:
        blocks.append([kind, body])

    def continues(line: str) -> bool:
        # a line that is no new block carries on the last one, unless that one ended a sentence and this one
        # starts a new one (a new paragraph with no blank line between, as PDF extracts have)
        if not blocks or blocks[-1][0] in ("row", "break"):
            return False
        kind, body = blocks[-1]
        # a hard-wrapped line carries on its paragraph; a line after a finished sentence that starts a new one
        # is a new paragraph ("...systems." / "Lamp on steadily: ..."), which only matters for what belongs
        # together (the sentences are split the same either way)
        # (Chinese: a line after one that ended with 。！？ or ： starts a new paragraph; Han characters have no case)
        ended = body.rstrip()
        if ended.endswith(("。", "！", "？", "：")) and has_cjk(line[:1]):
            return False
        return not (ended.endswith((".", "!", "?", ":")) and line[:1].isupper())

    for raw in (text or "").replace("\r", "").split("\n"):
        line = raw.strip()
        if not line:
            if blocks and blocks[-1][0] != "row":
                blocks.append(["break", ""])
            header = None
            continue
        if _UNDERLINE.match(line):
            if blocks and blocks[-1][0] == "para" and blocks[-1][1].count(" ") < 12:
                blocks.pop()  # the line above was a heading ("LU-01 Oil pressure test" + "-----")
            continue
        if _HEADING.match(line):
            add("break", "")
            continue
        if line.startswith("|") or line.count("|") >= 2 or " | " in line:  # markdown, or a table flattened by a loader
            if _TABLE_SEPARATOR.match(line):
                continue
            cells = [cell.strip(" *") for cell in line.strip().strip("|").split("|")]
            cells = [cell for cell in cells if cell]
            if not cells:
                continue
            if header is None:
                header = cells  # the header row labels the cells of the rows below it
            elif len(cells) == len(header) == 2:
                # "Wheel nuts | 120 Nm" under "Fastener | Torque": "Wheel nuts torque: 120 Nm"
                label = header[1].strip()
                plain = label.lower() in _GENERIC_HEADERS or label.lower() in cells[0].lower()
                add("row", f"{cells[0]}: {cells[1]}" if plain else f"{cells[0]} {label.lower()}: {cells[1]}")
            elif len(cells) == len(header):
                # the first cell names the row ("Wheel nuts"); the others are labelled by their header
                add("row", f"{cells[0]}: " + "; ".join(f"{h}: {c}" if h and h != c else c
                                                        for h, c in zip(header[1:], cells[1:])))
            else:
                add("row", "; ".join(cells))
            continue
        header = None
        leader = _DOT_LEADER.match(line)
        if leader:
            add("row", f"{leader.group(1).strip()}: {leader.group(2).strip()}")
            continue
        if line.startswith(">"):
            line = line.lstrip("> ").strip()
        item = _LIST_ITEM.match(line)
        if item:
            body = item.group(1).strip()
            add(_safety_kind(body) if _SAFETY_LEAD.match(body) else "step", body)
            continue
        if _SAFETY_LEAD.match(line):
            add(_safety_kind(line), line)
            continue
        label = _LABEL.match(line)
        if label:
            add("para", f"{label.group(1)}:{line[label.end() - 1:] if label.end() < len(line) else ''}".rstrip())
            continue
        if continues(line):
            blocks[-1][1] += " " + line
        else:
            add("para", line)

    units: list[tuple[str, str, int]] = []
    for number, (kind, body) in enumerate(blocks):
        if kind == "break" or not body.strip():
            continue
        if kind == "para":
            units.extend((k, piece, number) for k, piece in _split_paragraph(body))
        else:
            units.append((kind, _clean(body), number))
    out: list[Sentence] = []
    for kind, body, number in units:
        body = body.strip()
        if len(body) < 3 or not (_WORD.search(body) or has_cjk(body)):
            continue
        out.append(Sentence(text=body, position=len(out), kind=kind, block=number))
    return tuple(out)


def _split_paragraph(paragraph: str) -> list[tuple[str, str]]:
    paragraph = _clean(paragraph)
    if _SAFETY_LEAD.match(paragraph):
        return [(_safety_kind(paragraph), paragraph)]
    return [("text", piece) for piece in sentence_pieces(paragraph)]


def _safety_kind(text: str) -> str:
    return safety_kind(text) or "warning"


def _clean(text: str) -> str:
    text = re.sub(r"\*\*|__|`", "", text)
    return re.sub(r"\s+", " ", text).strip()


def strip_citations(text: str) -> str:
    """The sentence without its ``[n]`` / ``[live]`` markers."""
    return _CITATION_MARK.sub("", text).strip()


def citation_marks(text: str) -> tuple[set[int], bool]:
    """(document numbers cited, whether ``[live]`` is cited) in a piece of answer text."""
    numbers: set[int] = set()
    live = False
    for match in _CITATION_MARK.finditer(text):
        inner = match.group(0).strip()[1:-1]
        if inner.lower() == "live":
            live = True
        else:
            numbers.update(int(part) for part in re.split(r"\s*[,;]\s*", inner) if part.strip().isdigit())
    return numbers, live


@lru_cache(maxsize=50_000)
def measure_terms(text: str) -> frozenset[str]:
    """The terms of what the quantities in ``text`` measure, read from their units ("13.2-14.8 V": voltage), of the
    kinds whose noun names nothing else (rag_car.text.quantities)."""
    return frozenset(_NOUN_TERMS[kind] for kind in quantities.stated_kinds(text) if kind in _NOUN_TERMS)


# kind -> the term of its noun ("pressure": "pressur"), and the terms of the quantities a unit can measure
_NOUN_TERMS = {kind.name: terms(kind.noun)[0] for kind in quantities.KINDS if kind.noun}
MEASURES = frozenset(_NOUN_TERMS.values())
KIND_OF_MEASURE = {term: kind for kind, term in _NOUN_TERMS.items()}


def numbers(text: str) -> set[float]:
    """Every number written in digits ("1,200" and "1200" are the same; "1,5" is 1.5)."""
    return set(_numbers(text or ""))


@lru_cache(maxsize=100_000)
def _numbers(text: str) -> frozenset[float]:
    out: set[float] = set()
    for raw in _NUMBER.findall(text or ""):
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
            raw = raw.replace(",", "")
        else:
            raw = raw.replace(",", ".")
        try:
            out.add(float(raw))
        except ValueError:
            continue
    return frozenset(out)


def codes(text: str) -> set[str]:
    """Codes that must never be invented: DTCs, part/bulletin numbers, grades like 5W-30 (uppercased, no hyphens)."""
    found = {m.group(0) for m in _DTC.finditer(text or "")}
    found.update(m.group(0) for m in _CODE.finditer(text or ""))
    return {_code_key(code) for code in found if len(_code_key(code)) >= 3}


def dtc_codes(text: str) -> list[str]:
    """DTCs (P0301, U0100 ...) in order of appearance, each once."""
    seen: dict[str, None] = {}
    for match in _DTC.finditer((text or "").upper()):
        seen.setdefault(match.group(0), None)
    return list(seen)


def _code_key(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def code_space(text: str) -> str:
    """The text in the form codes are compared in: uppercased, spaces and hyphens removed."""
    return _code_key(text or "")


_FOREIGN = frozenset(
    """der die das und ist nicht ein eine mein meine wie was warum wann ich mit auf für zu bei le la les et est une un mon ma
    pourquoi comment quand je avec pour dans el los las es una mi por qué cómo cuando yo con para il lo è di che perché come
    quando sono het een is niet mijn waarom hoe wanneer o os um uma meu minha não porque como quando eu com para em""".split()
)
_ENGLISH = STOPWORDS | frozenset({"what", "why", "how", "when", "is", "the", "my", "car", "does", "should", "can"})


def looks_english(text: str) -> bool:
    """False for a question plainly in another language (its function words, or a non-Latin script);
    short or code-only questions count as English."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(1 for ch in letters if ord(ch) > 0x24F) / len(letters) > 0.3:
        return False
    lowered = [w.lower() for w in re.findall(r"[^\W\d_]+", text)]
    if len(lowered) < 3:
        return True
    english = sum(1 for w in lowered if w in _ENGLISH)
    foreign = sum(1 for w in lowered if w in _FOREIGN and w not in _ENGLISH)
    return not (foreign >= 2 and foreign > english)


def has_negation(text: str) -> bool:
    low = f" {(text or '').lower()} "
    return bool(re.search(r"\b(not|no|never|don't|doesn't|cannot|can't|without|nothing|none|avoid)\b", low))
