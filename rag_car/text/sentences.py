"""Text -> where its sentences end: the one sentence splitter of rag-car (chunking, answer sentences, and a generated
answer read while it streams).

A sentence ends at ``.``, ``!`` or ``?`` (plus any closing quotes or brackets and citation marks ``[1]`` after it) when whitespace and the start of another sentence follow: a capital, a digit, an opening quote or
bracket. It does not end after a common abbreviation ("e.g.", "approx.", "No.") nor after a bare short number or
letter, which is a list marker ("1.", "a)"), also in a list flattened into one line. A line break after an end mark
always ends the sentence. Chinese end marks (``。！？``, and ``；`` where the caller cuts at ";") end a sentence
wherever text follows, since Chinese puts no space after them (full-width ``．`` is not one: it is a decimal point).
"""

from __future__ import annotations

import re

# Abbreviations that end with a full stop inside a sentence (English technical writing: manuals, bulletins).
ABBREVIATIONS = frozenset({
    "e.g.", "i.e.", "approx.", "fig.", "no.", "nos.", "vs.", "etc.", "min.", "max.", "ref.", "sec.", "p.", "pp.", "cf.",
    "ca.", "mr.", "dr.", "st.", "incl.", "excl.", "resp.", "esp.", "cont.", "dept.", "ft.", "in.", "lb.", "lbs.", "oz.",
})
# "[1]", "[2, 3]" after the end mark belong to the sentence; "[live]" opens the next one (it marks what follows)
CITATION_MARK = r"\[\d+(?:\s*[,;]\s*\d+)*\]"
_END = re.compile(r"[.!?]+[\"'\u2019\u201d)\]]*(?:\s*" + CITATION_MARK + r")*")
_NEXT = re.compile(r"[ \t]*\n|\s+(?=(?:\[[Ll][Ii][Vv][Ee]\]\s*)?[\"'\u2018\u201c(\[]?[A-Z0-9])")
# a list marker ("1.", "a)"), also inside a flattened list ("... 1. Press 1. Select"): a bare short number or letter
_LIST_MARKER = re.compile(r"(?:^|\s)(?:\d{1,3}|[A-Za-z])[.)]$")


_CJK_CLOSING = "\"'\u2019\u201d\u300d\u300f\uff09)\\]"


def _cjk_ends(text: str, marks: str) -> list[int]:
    cjk = "。！？" + ("；" if ";" in marks else "")
    ends = []
    for match in re.finditer("[" + cjk + "]+[" + _CJK_CLOSING + "]*", text):
        if text[match.end():].strip():
            ends.append(match.end())
    return ends


def sentence_ends(text: str, marks: str = ".!?") -> list[int]:
    """Offsets just after each sentence end of ``text`` that is followed by another sentence (so the last sentence,
    and a sentence still being written, have none). ``marks``: the end punctuation (the chunker also cuts at ";")."""
    ends: list[int] = []
    pattern = _END if marks == ".!?" else re.compile(
        "[" + re.escape(marks) + r"]+[\"'\u2019\u201d)\]]*(?:\s*" + CITATION_MARK + r")*")
    for match in pattern.finditer(text or ""):
        if not _NEXT.match(text, match.end()):
            continue
        before = text[max(0, match.start() - 24):match.start() + 1]  # the word before the mark is all that matters
        last = before.rsplit(None, 1)[-1].lower().lstrip("(\"'") if before.strip() else ""
        last = last.rsplit("/", 1)[-1]  # "30 km/h/approx. 20 mph": two units joined by a slash, then the abbreviation
        if last in ABBREVIATIONS or _LIST_MARKER.search(before if match.start() >= 24 else text[:match.start() + 1]):
            continue
        ends.append(match.end())
    if text and not text.isascii():
        ends = sorted(set(ends) | set(_cjk_ends(text, marks)))
    return ends


def split_sentences(text: str, marks: str = ".!?") -> list[str]:
    """The sentences of ``text`` in order, stripped; empty pieces dropped."""
    pieces, start = [], 0
    for end in sentence_ends(text, marks):
        pieces.append(text[start:end].strip())
        start = end
    pieces.append((text or "")[start:].strip())
    return [piece for piece in pieces if piece]
