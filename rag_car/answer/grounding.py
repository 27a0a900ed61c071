"""Answer text + Sources -> checked parts: each sentence supported by its cited source (or a live reading) or not.

A sentence is supported when every number and code in it appears in the cited source, its negation (and its "on"
or "off") matches the source sentences it restates, it does not narrate in the first person where the source does
not, and enough of its content is there: lexical overlap of content terms, or a weaker
lexical overlap with a close embedding match. A sentence citing the wrong source is re-cited to the one that
supports it; one with no support is removed (or flagged) by the assistant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag_car.answer.sentences import (
    UNIT_TERMS,
    citation_marks,
    code_space,
    codes,
    has_negation,
    numbers,
    split_sentences,
    strip_citations,
    terms,
)
from rag_car.answer.sources import Sources

_SAFETY_CLAIM = re.compile(r"\b(?:safe(?:ly)?|fine|okay|ok|harmless|nothing to worry|no need to worry|normal|"
                           r"(?:continue|keep|can|may|still) (?:to )?driv\w*|going to (?:keep )?driv\w*|"
                           r"(?:will|'ll|could|should) (?:keep |continue )?(?:to )?driv\w*|driv\w* it)\b", re.IGNORECASE)
# a model telling a story ("I'm going to drive it for a few minutes."): manuals and bulletins do not say "I"
_FIRST_PERSON = re.compile(r"(?<![\w-])(?:I(?:'m|'ll|'ve|'d)?|[Mm]e|[Mm]y|[Mm]ine|[Mm]yself)(?![\w-])")
_ON = re.compile(r"\bon\b", re.IGNORECASE)
_OFF = re.compile(r"\boff\b", re.IGNORECASE)
_MARKS = r"(?:\s*\[(?:\d+(?:\s*[,;]\s*\d+)*|live)\])"
# "... bar. [1]" -> "... bar [1]." (numbers cite backwards); "[live]" after a full stop cites backwards only at the
# end of a line, otherwise it opens the next sentence ("[live] Coolant 118 C")
_TRAILING_MARKS = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+(?:\s*\[live\](?=\s*(?:$|\n)))?)", re.IGNORECASE)
_TRAILING_LIVE = re.compile(r"([.!?])(\s*\[live\])(?=\s*(?:$|\n|\[))", re.IGNORECASE)
_LEADING_LIVE = re.compile(r"^\s*\[live\]\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    """One unit of an answer: its text (markers removed), the documents it cites, whether it cites live data,
    and its role in the layout (lead, body, step, cont (a sentence inside a list of steps, not numbered), live,
    warning, note)."""

    text: str
    docs: tuple[int, ...] = ()
    live: bool = False
    role: str = "body"
    group: str = ""  # the section it is quoted from: a list of steps is numbered within one section
    detail: bool = False  # not needed to decide the question: shown behind "more" (Answer.more)


    def render(self) -> str:
        marks = "".join(f"[{n}]" for n in self.docs)
        if self.live and self.role == "live":
            return f"[live] {self.text}" + (f" {marks}" if marks else "")
        tail = " ".join(x for x in (marks, "[live]" if self.live else "") if x)
        if not tail:
            return self.text
        # the citation goes before the final full stop: "... 2.4 bar [1]." ("Procedure [1]:" likewise)
        if self.text.endswith((".", "!", "?", ":", "。", "！", "？", "：")) and not self.text.endswith("..."):
            return f"{self.text[:-1]} {tail}{self.text[-1]}"
        return f"{self.text} {tail}"


@dataclass
class Verdict:
    part: Part
    supported: bool
    reason: str = "ok"
    filler: bool = False
    recited: bool = False
    lexical: float = 0.0
    semantic: float = 0.0


@dataclass
class GroundingReport:
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def kept(self) -> list[Part]:
        return [v.part for v in self.verdicts if v.supported or v.filler]

    @property
    def supported(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.supported and not v.filler]

    @property
    def removed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.supported and not v.filler]


def parse_answer(text: str) -> list[Part]:
    """Split generated text into parts, reading the citation markers of each sentence ("... bar. [1]" counts too)."""
    text = _TRAILING_MARKS.sub(lambda m: f"{m.group(2)}{m.group(1)}", text or "")
    text = _TRAILING_LIVE.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)
    parts: list[Part] = []
    for sentence in split_sentences(text):
        raw = sentence.text
        docs, live = citation_marks(raw)
        body = strip_citations(raw)
        body = re.sub(r"\s+([.!?,;:])", r"\1", body).strip(" -")
        if not body:
            continue
        role = "warning" if sentence.is_safety else ("step" if sentence.kind == "step" else "body")
        parts.append(Part(body, tuple(sorted(docs)), live or bool(_LEADING_LIVE.match(raw)), role))
    return parts


_STREAM_BOUNDARY = re.compile(r"(?:[.!?]" + _MARKS + r"*|" + _MARKS + r"+[.!?]?)(?=\s+[^\s\[])|\n")


class SentenceStream:
    """Token pieces -> complete sentences, so that a streamed answer can be checked sentence by sentence.
    A sentence is complete once the text after its end (and after any citation markers) has begun."""

    def __init__(self) -> None:
        self.buffer = ""

    def feed(self, piece: str) -> list[str]:
        self.buffer += piece
        cut = 0
        for match in _STREAM_BOUNDARY.finditer(self.buffer):
            end = match.end()
            if end < len(self.buffer):  # something follows: the sentence (and its markers) is over
                cut = end
        if not cut:
            return []
        done, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return [done] if done.strip() else []

    def flush(self) -> list[str]:
        done, self.buffer = self.buffer, ""
        return [done] if done.strip() else []


class GroundingChecker:
    """Checks parts against the sources. ``vectors`` (a SentenceVectors) adds embedding similarity; without it the
    check is lexical only. ``question`` numbers and codes count as given (the user wrote them)."""

    def __init__(self, sources: Sources, vectors: Any = None, question: str = "",
                 lexical_min: float = 0.6, lexical_floor: float = 0.35, semantic_min: float = 0.62) -> None:
        self.sources = sources
        self.vectors = vectors
        self.lexical_min = lexical_min
        self.lexical_floor = lexical_floor
        self.semantic_min = semantic_min
        self.question_numbers = numbers(question)
        self.question_codes = codes(question)
        self.question_terms = set(terms(question))
        self._doc_text: dict[int, str] = {}
        self._doc_terms: dict[int, set[str]] = {}
        self._doc_numbers: dict[int, set[float]] = {}
        self._doc_codes: dict[int, str] = {}
        self._doc_sentences: dict[int, list[str]] = {}
        # per document: (numbers of a sentence, the terms around it) to check a number is about the same thing
        self._windows: dict[int, list[tuple[set[float], set[str]]]] = {}
        for doc in sources.docs:
            body = "\n".join(s.text for s in doc.sentences)
            full = f"{doc.passage.title}\n{doc.passage.section}\n{body}"
            self._doc_text[doc.n] = full
            self._doc_terms[doc.n] = set(terms(full))
            self._doc_numbers[doc.n] = numbers(full)
            self._doc_codes[doc.n] = code_space(full)
            self._doc_sentences[doc.n] = [s.text for s in doc.sentences]
            self._windows[doc.n] = _number_windows(doc)
        live_text = sources.live_text
        self._live_terms = set(terms(live_text)) | {t for line in sources.live for t in line.terms}
        self._live_numbers = numbers(live_text)
        self._live_codes = code_space(live_text)
        self._live_sentences = [line.text for line in sources.live]

    def check(self, parts: list[Part]) -> GroundingReport:
        return GroundingReport([self.check_part(p) for p in parts])

    def check_part(self, part: Part, generated: bool = True) -> Verdict:
        """The verdict on one part. ``generated``: written by a model (a quoted source sentence that happens to
        repeat the question's words answers it; a generated one only parrots it)."""
        text = part.text
        own_terms = set(terms(text))
        own_numbers = numbers(text) - self.question_numbers
        own_codes = codes(text) - self.question_codes
        # a quoted source sentence that names the code or number asked about ("Supersedes: ASB-21-015") answers
        # it; a generated one that only repeats them says nothing
        quoted_values = not generated and bool(codes(text) or numbers(text))
        if len(own_terms) <= 2 and not own_numbers and not own_codes and not quoted_values \
                and not _SAFETY_CLAIM.search(text):
            return Verdict(part, supported=False, reason="filler", filler=True)
        if generated and self.question_terms and len(own_terms - self.question_terms) <= 1 and not own_numbers \
                and not own_codes:
            # the question said back ("The red thermometer light on my dash lit."): no answer in it
            return Verdict(part, supported=False, reason="echo of the question", filler=True)

        cited: list[int | str] = [n for n in part.docs if n in self._doc_text] + (["live"] if part.live else [])
        if cited:
            verdict = self._support(part, cited, own_terms, own_numbers, own_codes)
            if verdict.supported:
                return verdict
        # not supported where it points (or it points nowhere): does one other source support it, alone or with
        # the live readings? Then it was cited wrongly, and is re-cited.
        options: list[list[int | str]] = [[n] for n in self._doc_text]
        if self._live_sentences:
            options.append(["live"])
            options.extend([n, "live"] for n in self._doc_text)
        options = [o for o in options if o != cited]
        alternatives = [self._support(part, o, own_terms, own_numbers, own_codes) for o in options]
        alternatives = [v for v in alternatives if v.supported]
        if alternatives:
            alternatives.sort(key=lambda v: (-(v.lexical + v.semantic), len(v.part.docs) + v.part.live))
            best = alternatives[0]
            best.recited = bool(cited)
            return best
        if cited:
            return verdict
        return Verdict(part, supported=False, reason="no citation and no source supports it")

    def _support(self, part: Part, sources: list[int | str], own_terms: set[str], own_numbers: set[float],
                 own_codes: set[str]) -> Verdict:
        src_terms: set[str] = set()
        src_numbers: set[float] = set()
        src_codes = ""
        src_sentences: list[str] = []
        for source in sources:
            if source == "live":
                src_terms |= self._live_terms
                src_numbers |= self._live_numbers
                src_codes += "|" + self._live_codes
                src_sentences += self._live_sentences
            else:
                n = int(source)
                src_terms |= self._doc_terms[n]
                src_numbers |= self._doc_numbers[n]
                src_codes += "|" + self._doc_codes[n]
                src_sentences += self._doc_sentences[n]
        where = "+".join(str(x) for x in sources)
        new_part = replace(part, docs=tuple(sorted(int(x) for x in sources if x != "live")), live="live" in sources)
        lexical = len(own_terms & src_terms) / max(len(own_terms), 1)
        missing_numbers = [x for x in own_numbers if not any(abs(x - y) < 1e-9 for y in src_numbers)]
        if missing_numbers:
            return Verdict(new_part, False, f"number {missing_numbers[0]:g} is not in source {where}", lexical=lexical)
        missing_codes = [c for c in own_codes if c not in src_codes]
        if missing_codes:
            return Verdict(new_part, False, f"code {missing_codes[0]} is not in source {where}", lexical=lexical)
        unbound = self._unbound_number(own_numbers, own_terms, [x for x in sources if x != "live"], "live" in sources)
        if unbound is not None:
            return Verdict(new_part, False, f"number {unbound:g} is about something else in source {where}",
                           lexical=lexical)
        closest, closest_overlap = _closest_sentence(own_terms, src_sentences)
        if closest and closest_overlap >= 0.5 and has_negation(closest) != has_negation(part.text):
            return Verdict(new_part, False, f"negation differs from source {where}", lexical=lexical)
        if _FIRST_PERSON.search(part.text) and not any(
                _FIRST_PERSON.search(s) and _containment(own_terms, s) >= 0.5 for s in src_sentences):
            return Verdict(new_part, False, f"first-person narration that source {where} does not contain", lexical=lexical)
        if _on_off_flipped(part.text, own_terms, src_sentences):
            return Verdict(new_part, False, f"on/off differs from source {where}", lexical=lexical)
        if lexical < self.lexical_floor:
            return Verdict(new_part, False, f"too little overlap with source {where} (lexical {lexical:.2f})", lexical=lexical)
        semantic = self._semantic(part.text, src_sentences) if lexical < self.lexical_min else lexical
        ok = lexical >= self.lexical_min or semantic >= self.semantic_min
        if ok:
            # each claim ("safe", "keep driving", "drive it") must be one the source makes in those words: its
            # "stop as soon as it is safe" does not make "you will drive it" safe
            made = _claims(" ".join(src_sentences))
            unmade = sorted(_claims(part.text) - made)
            if unmade:
                return Verdict(new_part, False, f"safety claim '{unmade[0]}' not made by source {where}",
                               lexical=lexical, semantic=semantic)
        reason = "ok" if ok else f"too little overlap with source {where} (lexical {lexical:.2f}, embedding {semantic:.2f})"
        return Verdict(new_part, ok, reason, lexical=lexical, semantic=semantic)

    def _unbound_number(self, own_numbers: set[float], own_terms: set[str], docs: list, live: bool) -> float | None:
        """A number of the sentence that no cited source states about the same thing: "the wheel nut torque is
        4.0 Nm" when 4.0 Nm is the TPMS valve nut's. A number is bound when some source sentence holding it,
        with its heading and (for prose) its neighbours, holds most of the sentence's other content words."""
        words_ = {t for t in own_terms if not any(ch.isdigit() for ch in t) and t not in UNIT_TERMS}
        if not own_numbers or len(words_) < 2:
            return None
        for number in own_numbers:
            if live and any(abs(number - y) < 1e-9 for y in self._live_numbers):
                continue  # a live reading's value: the live line is the source
            bound = False
            for n in docs:
                for numbers_, window in self._windows.get(int(n), []):
                    if any(abs(number - y) < 1e-9 for y in numbers_) and len(words_ & window) >= 0.75 * len(words_):
                        bound = True
                        break
                if bound:
                    break
            if not bound:
                return number
        return None

    def _semantic(self, text: str, sentences: list[str]) -> float:
        if self.vectors is None or not sentences:
            return 0.0
        mat = self.vectors.embed([text] + sentences[:60])
        return float(np.max(mat[1:] @ mat[0])) if len(mat) > 1 else 0.0


def _number_windows(doc: Any) -> list[tuple[set[float], set[str]]]:
    """For each sentence with numbers: its numbers and the terms that frame them (its own and its heading's;
    for prose also its neighbours', since "Tighten them to 110 Nm" follows "Fit the wheel nuts")."""
    sentences = doc.sentences
    heading = set(doc.heading_terms)
    out = []
    for i, sentence in enumerate(sentences):
        found = numbers(sentence.text)
        if not found:
            continue
        window = set(terms(sentence.text)) | heading
        if sentence.kind != "row":
            for j in (i - 1, i + 1):
                if 0 <= j < len(sentences) and sentences[j].kind != "row":
                    window |= set(terms(sentences[j].text))
        out.append((found, window))
    return out


def _claims(text: str) -> set[str]:
    return {" ".join(m.group(0).lower().split()) for m in _SAFETY_CLAIM.finditer(text)}


def _containment(own_terms: set[str], sentence: str) -> float:
    """How much of a sentence's content terms ``sentence`` holds (0..1)."""
    return len(own_terms & set(terms(sentence))) / max(len(own_terms), 1)


def _polarity(text: str) -> str:
    on, off = bool(_ON.search(text)), bool(_OFF.search(text))
    return "on" if on and not off else "off" if off and not on else ""


def _on_off_flipped(text: str, own_terms: set[str], sentences: list[str]) -> bool:
    """"the air conditioning is on" where the sentences that hold its content say "off" (and none says "on")."""
    own = _polarity(text)
    if not own or len(own_terms) < 2:
        return False
    seen = {_polarity(s) for s in sentences if _containment(own_terms, s) >= 0.6} - {""}
    return bool(seen) and own not in seen


def _closest_sentence(own_terms: set[str], sentences: list[str]) -> tuple[str, float]:
    best, best_overlap = "", 0.0
    for sentence in sentences:
        other = set(terms(sentence))
        if not other:
            continue
        overlap = len(own_terms & other) / max(len(own_terms | other), 1)
        if overlap > best_overlap:
            best, best_overlap = sentence, overlap
    return best, best_overlap
