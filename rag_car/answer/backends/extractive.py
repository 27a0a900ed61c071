"""Ranked source sentences -> an answer made of them, each cited: no model, no network, deterministic."""

from __future__ import annotations

from typing import Iterator

from rag_car.answer.backends.base import Backend, Request
from rag_car.answer.grounding import Part
from rag_car.answer.personas import ACTION, DIAGNOSTIC_STEP, DRIVE_SAFETY, WORKSHOP
from rag_car.answer.selection import Scored
from rag_car.answer.sentences import terms


class ExtractiveBackend(Backend):
    """Quotes the sources. The passage holding the best sentence is the anchor: its sentences that answer the
    question are taken, best first, up to the persona's length budget (a short section is quoted whole); one
    strong sentence from each of up to two other passages may follow. A chosen sentence that introduces a list
    brings the list. The persona adds its must-have (an owner: what to do; a technician: the next diagnostic
    step). The result reads in the sources' own order. Safety warnings and live readings are added around this
    body by the assistant, as for every backend."""

    key = "extractive"
    generative = False

    # a sentence of the anchor passage is taken when its score reaches this share of the anchor's best
    relative_floor = 0.5
    # and at least this much in absolute terms
    absolute_floor = 0.2
    # a sentence of another passage must reach this share of the best score
    other_source_floor = 0.8
    other_sources = 3

    def describe(self) -> str:
        return "extractive (sentences of the sources, no model)"

    @staticmethod
    def _anchor(ranked: list[Scored], by_doc: dict, question_terms: set[str]) -> Scored:
        """The sentence whose passage leads the answer: the best sentence, its passage's second best and how much
        of the question the passage's heading names ("Check-engine lamp (MIL)" for "engine light") all count."""
        per_doc: dict[int, list[Scored]] = {}
        for s in ranked:
            per_doc.setdefault(s.n, []).append(s)
        wanted = question_terms or set()

        def value(n: int) -> float:
            top = per_doc[n]
            doc = by_doc.get(n)
            heading = len(doc.heading_terms & wanted) / max(len(wanted), 1) if doc is not None else 0.0
            second = top[1].score if len(top) > 1 else 0.0
            return top[0].score + 0.1 * second + 0.25 * heading

        return per_doc[max(per_doc, key=lambda n: (value(n), -n))][0]

    def stream(self, request: Request) -> Iterator[str]:
        yield " ".join(p.render() for p in self.compose(request))

    def compose(self, request: Request) -> list[Part]:
        """The body of the answer as cited parts (empty when no sentence answers the question)."""
        skip = {t.strip().lower() for t in request.exclude}
        candidates = [s for s in request.ranking.sentences
                      if not s.sentence.is_safety and s.sentence.text.strip().lower() not in skip
                      and (request.only_docs is None or s.n in request.only_docs)]
        # the anchor and the other passages are chosen among sentences that answer the question; inside the
        # anchor's section any sentence may follow them (its context: "What to do: stop ...")
        ranked = [s for s in candidates if _on_question(s)]
        if not ranked:
            return []
        persona = request.persona
        budget = 800 if persona.name == "owner" else 1100
        limit = persona.max_sentences + 1
        by_doc = {doc.n: doc for doc in request.sources.docs}
        best = self._anchor(ranked, by_doc, request.ranking.question_terms)
        anchor = best.n
        picked: list[Scored] = []
        used = 0

        def take(s: Scored) -> bool:
            nonlocal used
            if any(p.n == s.n and p.sentence.position == s.sentence.position for p in picked):
                return False
            own = set(terms(s.sentence.text))
            if any(_similar(own, set(terms(p.sentence.text))) for p in picked):
                return False
            picked.append(s)
            used += len(s.sentence.text)
            if s.sentence.text.rstrip().endswith(":"):
                # it introduces a list: the steps or rows right after it belong with it
                doc = by_doc.get(s.n)
                for follow in (doc.sentences if doc else [])[s.sentence.position + 1:]:
                    if follow.kind not in ("step", "row") or len(picked) >= limit + 3:
                        break
                    picked.append(Scored(s.n, follow, s.lexical, s.semantic, s.score - 0.01, s.focus))
                    used += len(follow.text)
            return True

        # the anchor is the best sentence's passage and its siblings (the same section cut into several chunks)
        def section_of(n: int) -> tuple[str, str]:
            doc = by_doc.get(n)
            return (doc.passage.source, doc.passage.section) if doc and doc.passage.section else ("", str(n))

        anchor_section = section_of(anchor)
        in_anchor = {n for n in by_doc if section_of(n) == anchor_section}
        floor = max(best.score * self.relative_floor, self.absolute_floor)
        section = [s for s in candidates if s.n in in_anchor]
        if sum(len(s.sentence.text) for s in section) <= budget and len(section) <= limit + 2:
            floor = 0.0  # a short section is quoted whole: it was written to be read as one
        take(best)
        for s in candidates:
            if s.n not in in_anchor or s.score < floor:
                continue
            if picked and (len(picked) >= limit or used + len(s.sentence.text) > budget):
                break
            take(s)

        others = 0
        seen_docs = set(in_anchor)
        for s in ranked:
            if others >= self.other_sources or s.score < best.score * self.other_source_floor:
                break
            if s.n in seen_docs:
                continue
            seen_docs.add(s.n)
            if take(s):
                others += 1

        # the persona's must-have: a technician gets the next diagnostic step, an owner what to do
        wanted = (DIAGNOSTIC_STEP,) if persona.name == "technician" else (ACTION, WORKSHOP, DRIVE_SAFETY)
        if not any(_matches(p, s.sentence.text) for s in picked for p in wanted):
            docs = {s.n for s in picked}
            for s in ranked:
                if s in picked or s.score < self.absolute_floor or not (s.n in docs or s.focus):
                    continue
                if any(_matches(p, s.sentence.text) for p in wanted):
                    take(s)
                    break

        order: dict[int, int] = {}
        for s in picked:
            order.setdefault(s.n, len(order))
        # a bulletin refines a diagnosis: it comes after the entries it refines
        is_bulletin = {doc.n: doc.doc_type == "bulletin" for doc in request.sources.docs}
        picked.sort(key=lambda s: (is_bulletin.get(s.n, False), order[s.n], s.sentence.position))
        parts = []
        for s in picked:
            role = "step" if s.sentence.kind == "step" else "body"
            parts.append(Part(_sentence_end(s.sentence.text), (s.n,), False, role))
        return parts


def _matches(pattern, text: str) -> bool:
    # action patterns are anchored at the start of the sentence ("Stop ...", "Check ...")
    return bool(pattern.match(text) if pattern.pattern.startswith("^") else pattern.search(text))


def _on_question(s: Scored) -> bool:
    # a sentence that shares nothing with the question and is not close to it in meaning answers nothing
    return s.lexical >= 0.12 or s.semantic >= 0.45 or s.focus


def _similar(a: set[str], b: set[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= 0.6


def _sentence_end(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?:":
        text += "."
    return text
