"""Ranked source sentences -> an answer made of them, each cited: no model, no network, deterministic."""

from __future__ import annotations

import re

from rag_car.text import zh_forms
from rag_car.text.lang import detect_language
from dataclasses import dataclass, field
from typing import Iterator

from rag_car.answer.backends.base import Backend, Request
from rag_car.answer.grounding import Part
from rag_car.answer.personas import ACTION, DIAGNOSTIC_STEP, DRIVE_SAFETY, WORKSHOP, WORKSHOP_DOC_TYPES
from rag_car.answer.selection import Scored
from rag_car.answer.sentences import numbers, strip_citations, terms

# A question asking how to do something wants the procedure, not a few of its steps.
HOW_TO = re.compile(
    r"\bhow (?:do|can|should|would|to) (?:i |you |we )?\w+|\bhow to\b|\bprocedure\b|\bsteps?\b|\bwhere do i start\b|"
    r"\bwhat (?:do|should) i do\b|\bwhat to do\b|\b(?:relearn|bleed|bleeding|register|calibrat\w*|diagnos\w*|"
    r"fix|repair)\b|\bany (?:bulletins?|tsbs?)\b",
    re.IGNORECASE,
)
MAX_STEPS = {"owner": 8, "technician": 10}
# the seeds (sentences chosen for their own score, with their context) that make a persona's answer: at most this
# many, each scoring at least LEAD_SHARE of the best; the rest is shown behind "more" (None: everything)
LEAD_SEEDS: dict[str, int | None] = {"owner": 5, "technician": None}
LEAD_SHARE = 0.9
# "Tread depth: replace ...": an entry of a reference list, not a step of a procedure
_ITEM_LABEL = re.compile(r"^[A-Z][\w/()-]*(?: [\w/()-]+){0,3}: ")
# "Lamp on steadily: ...", "Specifications: ...": a paragraph that opens with a label is about one case
# (Chinese: "闪烁：发动机严重失火 ..." a short label of Han characters before a full-width colon)
_PARA_LABEL = re.compile(r"^[A-Z][\w/()-]*(?: [\w/()-]+){0,4}: \S|^[\u4e00-\u9fff]{1,8}[：:]\s*\S")
MAX_PARAGRAPH = 600
# sentence terms too common to tie one sentence to the next
_WEAK_TERMS = {"check", "vehicl", "engin", "use", "mm", "v", "c", "nm", "kpa", "s", "l", "km"}


@dataclass
class _Section:
    """One section of a document as the sources hold it: the sentences of its chunks in reading order, with
    the overlap between neighbouring chunks removed (``where`` maps a duplicate to the sentence it repeats)."""

    key: tuple[str, str]
    order: int
    seq: list[Scored] = field(default_factory=list)
    where: dict[tuple[int, int], int] = field(default_factory=dict)
    bulletin: bool = False
    blocks: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (n, paragraph) -> indexes in seq

    def paragraph(self, i: int) -> list[int]:
        """The indexes of the labelled paragraph sentence ``i`` belongs to ("Lamp on steadily: ... . The vehicle
        can be driven ... . First check the fuel filler cap ..."), when it is short enough to quote whole;
        otherwise just ``i``. The label says what case every sentence of the paragraph is about."""
        s = self.seq[i]
        if s.sentence.kind != "text" or s.sentence.block < 0:
            return [i]
        members = self.blocks.get((s.n, s.sentence.block), [i])
        if len(members) < 2 or not _PARA_LABEL.match(self.seq[members[0]].sentence.text):
            return [i]
        if sum(len(self.seq[j].sentence.text) for j in members) > MAX_PARAGRAPH:
            return [i]
        return members

    def is_procedure(self, first: int, last: int) -> bool:
        """A list of steps to follow in order, not a list of things: most items are sentences ("Remove the
        cover.") rather than noun phrases ("Wiring fault at the connector") or labelled entries ("Rotation: ...")."""
        items = [s.sentence.text for s in self.seq[first:last + 1] if s.sentence.kind == "step"]
        sentences = sum(1 for t in items if t.rstrip().endswith((".", "?", "!")) and not _ITEM_LABEL.match(t))
        return sentences * 2 > len(items)

    def runs(self) -> list[tuple[int, int]]:
        """(first, last) indexes of the lists of steps; one plain sentence inside a list (a chunk boundary's
        leftover, "Yes: go to 2.") does not end it."""
        out: list[tuple[int, int]] = []
        start = last = None
        for i, s in enumerate(self.seq):
            if s.sentence.kind == "step":
                if start is None:
                    start = i
                last = i
            elif start is not None and (i - last > 1 or s.sentence.text.rstrip().endswith(":")):
                out.append((start, last))
                start = last = None
        if start is not None:
            out.append((start, last))
        return out


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def _sections(docs: list, usable: list[Scored]) -> tuple[dict[tuple[str, str], _Section], dict[int, tuple[str, str]]]:
    """Group the sources by section and read each section's chunks as one text."""
    scored = {(s.n, s.sentence.position): s for s in usable}
    groups: dict[tuple[str, str], list] = {}
    of_doc: dict[int, tuple[str, str]] = {}
    for doc in docs:
        key = (doc.passage.source, doc.passage.section) if doc.passage.section else ("", str(doc.n))
        groups.setdefault(key, []).append(doc)
        of_doc[doc.n] = key
    sections: dict[tuple[str, str], _Section] = {}
    for order, (key, members) in enumerate(groups.items()):
        section = _Section(key, order, bulletin=members[0].doc_type == "bulletin")
        members.sort(key=lambda d: (_chunk_index(d), d.n))
        norms: list[str] = []
        for doc in members:
            for sentence in doc.sentences:
                s = scored.get((doc.n, sentence.position))
                if s is None:
                    continue
                text = _norm(sentence.text)
                twin = next((i for i, seen in enumerate(norms) if text and (text in seen or seen in text)), None)
                if twin is None:
                    section.where[(doc.n, sentence.position)] = len(section.seq)
                    section.blocks.setdefault((doc.n, sentence.block), []).append(len(section.seq))
                    section.seq.append(s)
                    norms.append(text)
                    continue
                if len(text) > len(norms[twin]):  # the later chunk holds the whole of a sentence cut at a boundary
                    section.seq[twin], norms[twin] = s, text
                section.where[(doc.n, sentence.position)] = twin
        sections[key] = section
    return sections, of_doc


def _chunk_index(doc) -> int:
    try:
        return int(doc.passage.metadata.get("chunk_index", 0) or 0)
    except (TypeError, ValueError, AttributeError):
        return 0


class ExtractiveBackend(Backend):
    """Quotes the sources. The section holding the best sentences is the anchor (its chunks read as one text):
    its sentences that answer the question are taken, best first, up to the persona's length budget (a short
    section is quoted whole), each with its labelled paragraph and the next sentence when that qualifies its
    value; a procedure with two or more chosen steps is quoted from its first step (whole, up to a cap, when the
    question asks how to do something). One strong sentence that adds something new may follow from each of up
    to three other sections. A chosen sentence that introduces a list brings the list. The persona adds its
    must-have (an owner: what to do; a technician: the next diagnostic step). The result reads in the sources'
    own order. Safety warnings and live readings are added around this body by the assistant, as for every
    backend."""

    key = "extractive"
    generative = False

    # a sentence of the anchor section is taken when its score reaches this share of the anchor's best
    relative_floor = 0.5
    # and at least this much in absolute terms
    absolute_floor = 0.2
    # a sentence of another section must reach this share of the best score
    other_source_floor = 0.8
    other_sources = 3

    def describe(self) -> str:
        return "extractive (sentences of the sources, no model)"

    @staticmethod
    def _anchor(ranked: list[Scored], sections: dict, of_doc: dict, by_doc: dict, question_terms: set[str]) -> Scored:
        """The sentence whose section leads the answer: the section's best sentence, its second best and how
        much of the question the heading names ("Check-engine lamp (MIL)" for "engine light") all count."""
        per_section: dict[tuple[str, str], list[Scored]] = {}
        for s in ranked:
            per_section.setdefault(of_doc[s.n], []).append(s)
        wanted = question_terms or set()

        def value(key: tuple[str, str]) -> float:
            top = per_section[key]
            doc = by_doc.get(top[0].n)
            heading = len(doc.heading_terms & wanted) / max(len(wanted), 1) if doc is not None else 0.0
            second = top[1].score if len(top) > 1 else 0.0
            # a heading that names everything asked ("Throttle body cleaning and relearn") is the section about it
            named = 0.15 if heading >= 1.0 and len(wanted) >= 2 else 0.0
            return top[0].score + 0.1 * second + 0.25 * heading + named

        key = max(per_section, key=lambda k: (value(k), -sections[k].order))
        return per_section[key][0]

    def _value_anchor(self, best: Scored, ranked: list[Scored], sections: dict, of_doc: dict, ranking) -> Scored:
        """For a value question ("the lowest speed for cruise control"), a section that states the value leads:
        when the anchor section states no value of the quantity asked for, the best-ranked sentence that does
        (scoring at least ``other_source_floor`` of the best) moves the anchor to its section; otherwise ``best``."""
        anchor = sections[of_doc[best.n]]
        floor = best.score * self.relative_floor
        if any(ranking.states_value(s.sentence.text) and s.score >= floor for s in anchor.seq):
            return best
        for s in ranked:
            if s.score < best.score * self.other_source_floor:
                break
            if ranking.states_value(s.sentence.text):
                return s
        return best

    @staticmethod
    def _continued(previous: str, ranked: list[Scored], sections: dict, of_doc: dict) -> Scored | None:
        """For a question that leans on the previous answer ("and the rear ones?"): the best sentence of the
        section that answer led with, when that section answers this question too (the conversation goes on
        about the same thing); None otherwise."""
        said = _norm(strip_citations(previous))
        if not said:
            return None
        lead: tuple[int, tuple[str, str]] | None = None
        for key, section in sections.items():
            for s in section.seq:
                text = _norm(s.sentence.text)
                at = said.find(text) if len(text) >= 20 else -1
                if at >= 0 and (lead is None or at < lead[0]):
                    lead = (at, key)
        if lead is None:
            return None
        return next((s for s in ranked if of_doc[s.n] == lead[1]), None)

    def stream(self, request: Request) -> Iterator[str]:
        yield " ".join(p.render() for p in self.compose(request))

    def compose(self, request: Request) -> list[Part]:
        """The body of the answer as cited parts (empty when no sentence answers the question)."""
        skip = {t.strip().lower() for t in request.exclude}
        persona = request.persona
        workshop = {d.n for d in request.sources.docs if d.doc_type in WORKSHOP_DOC_TYPES}
        usable = [s for s in request.ranking.sentences
                  if not s.sentence.is_safety and s.sentence.text.strip().lower() not in skip
                  and (request.only_docs is None or s.n in request.only_docs)
                  and (persona.workshop_steps or s.sentence.kind != "step" or s.n not in workshop)]
        # the anchor and the other sections are chosen among sentences that answer the question; inside the
        # anchor section any sentence may follow them (its context: "What to do: stop ...")
        ranked = [s for s in usable if _on_question(s)]
        if not ranked:
            return []
        by_doc = {doc.n: doc for doc in request.sources.docs}
        sections, of_doc = _sections(request.sources.docs, usable)
        best = (request.follow_up and self._continued(request.follow_up, ranked, sections, of_doc)) \
            or self._anchor(ranked, sections, of_doc, by_doc, request.ranking.question_terms)
        if request.ranking.measures and not request.follow_up:
            best = self._value_anchor(best, ranked, sections, of_doc, request.ranking)
        chosen = _Selection(sections, of_doc, sections[of_doc[best.n]], persona.max_sentences + 1,
                            800 if persona.name == "owner" else 1100)
        anchor = chosen.anchor

        if request.ranking.measures:
            # a value question: the section's first statement of the value leads (a table's first row is its
            # default case: "Normal load" before "Full load" and the spare wheel)
            values = [s for s in anchor.seq if request.ranking.states_value(s.sentence.text)
                      and s.score >= best.score * self.relative_floor]
            values.sort(key=lambda s: s.sentence.kind != "row")  # a table states values; text may state a change
            if values:
                best = values[0]
        floor = max(best.score * self.relative_floor, self.absolute_floor)
        if sum(len(s.sentence.text) for s in anchor.seq) <= chosen.budget and len(anchor.seq) <= chosen.limit + 2:
            floor = 0.0  # a short section is quoted whole: it was written to be read as one
        chosen.take(best)
        for s in sorted(anchor.seq, key=lambda s: (-s.score, s.n, s.sentence.position)):
            if s.score < floor:
                continue
            if chosen.full(len(s.sentence.text)):
                break
            chosen.take(s)

        how_to = bool(HOW_TO.search(request.question)) or zh_forms.asks_how_to(request.question)
        cap = MAX_STEPS.get(persona.name, 8)
        anchor_procedure = chosen.procedures(anchor, how_to, cap)

        others = 0
        seen_sections = {anchor.key}
        for s in ranked:
            if others >= self.other_sources or s.score < best.score * self.other_source_floor \
                    or chosen.used > 1.5 * chosen.budget:
                break
            key = of_doc[s.n]
            if key in seen_sections or not _adds(s.sentence.text, chosen.picked.values()):
                continue  # another source saying again what the answer says already adds length, not content
            seen_sections.add(key)
            if chosen.take(s):
                others += 1

        if how_to and not anchor_procedure:
            # "harsh shift, fix?": the words match the symptom's section, the answer is the repair procedure
            for key in dict.fromkeys(k for k, _ in chosen.picked):
                if key != anchor.key and chosen.procedures(sections[key], True, cap):
                    break

        # the persona's must-have: a technician gets the next diagnostic step, an owner what to do
        wanted = (DIAGNOSTIC_STEP,) if persona.name == "technician" else (ACTION, WORKSHOP, DRIVE_SAFETY)
        if not any(_matches(p, s.sentence.text) for s in chosen.picked.values() for p in wanted):
            chosen_sections = {key for key, _ in chosen.picked}
            for s in ranked:
                if s.score < self.absolute_floor or not (of_doc[s.n] in chosen_sections or s.focus):
                    continue
                if any(_matches(p, s.sentence.text) for p in wanted) and chosen.take(s, seed=-1):
                    break
        return chosen.parts(LEAD_SEEDS.get(persona.name))


class _Selection:
    """The sentences chosen for one answer, by section and reading position, and what choosing one brings along."""

    def __init__(self, sections: dict[tuple[str, str], _Section], of_doc: dict[int, tuple[str, str]],
                 anchor: _Section, limit: int, budget: int) -> None:
        self.sections = sections
        self.of_doc = of_doc
        self.anchor = anchor
        self.limit = limit  # sentences chosen for their own score (their context comes on top)
        self.budget = budget  # characters of those
        self.picked: dict[tuple[tuple[str, str], int], Scored] = {}
        # the seed (0: the best sentence, 1: the next one chosen for its own score ...) each pick came with;
        # -1 for the persona's must-have, -2 for a procedure's steps quoted because the question asks how to
        self.seed_of: dict[tuple[tuple[str, str], int], int] = {}
        self._current = 0
        self.seed_scores: list[float] = []  # the score of each seed, in the order chosen
        self._terms: list[set[str]] = []
        self.used = 0  # characters of everything chosen
        self._seeds = 0
        self._seed_chars = 0

    def full(self, more: int) -> bool:
        """Whether the sentences chosen for their own score have used up the persona's length budget."""
        return bool(self._seeds) and (self._seeds >= self.limit or self._seed_chars + more > self.budget)

    def add(self, section: _Section, i: int, check_similar: bool = True) -> bool:
        if (section.key, i) in self.picked:
            return False
        s = section.seq[i]
        # numbers count as terms: two rows of one table share their words, not their values
        own = set(terms(s.sentence.text)) | {f"#{v:g}" for v in numbers(s.sentence.text)}
        if check_similar and any(_similar(own, other) for other in self._terms):
            return False
        self.picked[(section.key, i)] = s
        self.seed_of[(section.key, i)] = self._current
        self._terms.append(own)
        self.used += len(s.sentence.text)
        return True

    def take(self, s: Scored, seed: int | None = None) -> bool:
        """Choose ``s`` for its own score, with its context: the list it introduces, its labelled paragraph (in
        the anchor section), the next sentence when that qualifies its value. ``seed``: what it is chosen as
        (default: the next seed in score order)."""
        section = self.sections[self.of_doc[s.n]]
        i = section.where[(s.n, s.sentence.position)]
        self._current = self._seeds if seed is None else seed
        if not self.add(section, i):
            return False
        self._seeds += 1
        self.seed_scores.append(s.score)
        self._seed_chars += len(s.sentence.text)
        if section.seq[i].sentence.text.rstrip().endswith(":"):
            # it introduces a list: the steps or rows right after it belong with it
            for j in range(i + 1, len(section.seq)):
                if section.seq[j].sentence.kind not in ("step", "row") or len(self.picked) >= self.limit + 3:
                    break
                self.add(section, j)
            return True
        if section is self.anchor:
            for j in section.paragraph(i):
                self.add(section, j, check_similar=False)
        self._qualify(section, i)
        return True

    def _qualify(self, section: _Section, i: int) -> None:
        # the next sentence gives another value of the same thing ("... RON 91 or higher." "For the 2.0,
        # 95 RON gives the best performance."): a quoted value is not shown without its qualification
        if i + 1 >= len(section.seq):
            return
        s, nxt = section.seq[i].sentence, section.seq[i + 1].sentence
        if s.kind != "text" or nxt.kind != "text" or not numbers(nxt.text) or not numbers(s.text):
            return
        shared = (set(terms(s.text)) & set(terms(nxt.text))) - _WEAK_TERMS
        if shared and len(nxt.text) <= 200:
            self.add(section, i + 1, check_similar=False)

    def procedures(self, section: _Section, whole: bool, cap: int) -> bool:
        """Complete the procedures of ``section`` that have chosen steps: two or more chosen steps are quoted
        from the first step to the last chosen (steps 3 and 5 leave out what comes before and between them);
        ``whole`` (asked how to do it): the whole procedure, up to ``cap`` steps. True when the section holds a
        chosen procedure."""
        found = False
        for first, last in section.runs():
            chosen = [i for i in range(first, last + 1) if (section.key, i) in self.picked]
            if not chosen or not section.is_procedure(first, last) or self.used > 2 * self.budget:
                continue
            if not whole and len(chosen) < 2:
                continue  # one step quoted for its value ("Below 24.0 mm: replace the disc") stays alone
            found = True
            end = last if whole else max(chosen)
            self._current = -2 if whole else min(self.seed_of[(section.key, i)] for i in chosen)
            if first > 0 and section.seq[first - 1].sentence.text.rstrip().endswith(":"):
                self.add(section, first - 1)  # "Procedure (hybrid inverter loop):"
                if (section.key, first - 1) in self.picked:
                    self.seed_of[(section.key, first - 1)] = min(self.seed_of[(section.key, first - 1)], self._current)
            steps = 0
            for i in range(first, end + 1):
                if section.seq[i].sentence.kind == "step":
                    steps += 1
                    if steps > cap:
                        break
                self.add(section, i)
                if (section.key, i) in self.picked:  # a procedure is one unit: all of it, or none, leads
                    self.seed_of[(section.key, i)] = min(self.seed_of[(section.key, i)], self._current)
        return found

    def parts(self, lead_seeds: int | None = None) -> list[Part]:
        """The chosen sentences as cited parts. The deciding sentence leads with its context (a value with its
        qualification, a labelled paragraph); the rest follows in the sources' own order (a procedure's steps in
        theirs), a bulletin after the entries it refines. ``lead_seeds``: only the first that many seeds (with
        the steps and the persona's must-have) are the answer; the others are marked ``detail``."""
        first_seen: dict[tuple[str, str], int] = {}
        for key, _ in self.picked:
            first_seen.setdefault(key, len(first_seen))
        inside = {(section.key, i) for section in self.sections.values() for first, last in section.runs()
                  for i in range(first, last + 1)}
        best = [k for k in self.picked if self.seed_of[k] == 0]
        # a step leads only as part of its procedure, in order; a sentence of a paragraph leads with its own
        leads = set(best) if best and not any(k in inside for k in best) else set()

        def place(k) -> tuple:
            return (k not in leads, self.sections[k[0]].bulletin, first_seen[k[0]], k[1])

        order = sorted(self.picked, key=place)
        parts = []
        for key in order:
            s = self.picked[key]
            seed = self.seed_of[key]
            # the leading section is the answer; what other sections add is "more", unless it scores near the best
            detail = lead_seeds is not None and seed >= 0 and key[0] != self.anchor.key and not (
                seed < lead_seeds and self.seed_scores[seed] >= LEAD_SHARE * max(self.seed_scores[:1] or [0.0]))
            if s.sentence.kind == "step":
                role = "step"
            elif key in inside and not s.sentence.text.rstrip().endswith(":"):
                role = "cont"  # "Yes: go to 2." between two steps belongs to the step before it
            else:
                role = "body"
            parts.append(Part(_sentence_end(s.sentence.text), (s.n,), False, role, group="|".join(key[0]), detail=detail))
        return parts


def _matches(pattern, text: str) -> bool:
    # action patterns are anchored at the start of the sentence ("Stop ...", "Check ...")
    return bool(pattern.match(text) if pattern.pattern.startswith("^") else pattern.search(text))


def _on_question(s: Scored) -> bool:
    # a sentence that shares nothing with the question and is not close to it in meaning answers nothing
    return s.lexical >= 0.12 or s.semantic >= 0.45 or s.focus


def _adds(text: str, chosen) -> bool:
    """Whether a sentence says something the chosen ones do not: three new content terms, or a new number."""
    said_terms: set[str] = set()
    said_numbers: set[float] = set()
    for s in chosen:
        said_terms.update(terms(s.sentence.text))
        said_numbers |= numbers(s.sentence.text)
    return len(set(terms(text)) - said_terms) >= 3 or bool(numbers(text) - said_numbers)


def _similar(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= 0.6


def _sentence_end(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?:。！？：；":  # Chinese sentences end with their own marks
        text += "。" if detect_language(text) == "zh" else "."
    return text
