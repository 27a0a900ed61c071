"""Question + Sources + persona -> ranked sentences and relevant live lines: what an answer is made of.

A sentence's relevance mixes lexical coverage of the question (IDF-weighted over the candidate sentences, the
passage heading counting half), embedding similarity to the question, and the passage's retrieval rank; the persona
adds its preferences (specs and codes for a technician, actions and "safe to drive" for an owner).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rag_car.answer.personas import SPEC, Persona
from rag_car.answer.sentences import KIND_OF_MEASURE, Sentence, codes, measure_terms, numbers, terms
from rag_car.text import quantities, zh_forms
from rag_car.text.quantities import HOW_OR_WHY, QUANTITY_QUESTION, YES_NO_QUESTION
from rag_car.text.gloss import english_gloss
from rag_car.text.lang import HAN_RUN, has_cjk
from rag_car.answer.sources import DocSource, LiveLine

# Questions that ask about the vehicle's state as a whole: every flagged live line is relevant to them.
_GENERAL = re.compile(
    r"\b(?:wrong|problem|issue|matter|status|health|ok|okay|fine|safe|warning|lamp|light|dash|dashboard|code|codes|dtc|"
    r"fault|faults|diagnos\w*|check|going on|happening|now|live|reading|readings)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Scored:
    n: int
    sentence: Sentence
    lexical: float
    semantic: float
    score: float
    focus: bool = False  # names a code asked about or active on the bus, or comes from such a code's entry


_EXTREME = re.compile(r"\b(?:minimum|maximum|lowest|highest|biggest|largest|smallest|min|max)\b", re.IGNORECASE)
ANY_QUANTITY = "*"  # a value question that names no quantity a unit measures: any number with a unit answers it
VALUE_BONUS = 0.15  # a sentence stating a value of the quantity asked for ("240 kPa" for "tire pressure")


def asked_measures(question: str, question_terms: set[str]) -> frozenset[str]:
    """The kinds of quantity (rag_car.text.quantities) a value question asks for: named ("What is the tire
    pressure?": pressure) or by the unit it asks in ("how many litres": volume); empty for a how-to, why or yes/no
    question."""
    if HOW_OR_WHY.search(question or "") or YES_NO_QUESTION.search(question or ""):
        return frozenset()  # "can I overload it past its max weight?" asks whether, not how much
    asked = {KIND_OF_MEASURE[t] for t in question_terms if t in KIND_OF_MEASURE}
    asked |= quantities.named_kinds(question or "")  # "in litres": a volume
    if QUANTITY_QUESTION.search(question or "") or _EXTREME.search(question or ""):
        asked.add(ANY_QUANTITY)  # "how many km ...", "the lowest speed ...": a number with its unit
    if has_cjk(question):
        # a Chinese question: its interrogatives say whether it asks for an amount (多少, 几, 多久), the dictionary's
        # English for its words what quantity ("气压": pressure), as the units of the sentences say theirs
        if zh_forms.asks_how_or_why(question):
            return frozenset()
        if zh_forms.asks_quantity(question):
            asked |= {KIND_OF_MEASURE[t] for t in terms(english_gloss(question)) if t in KIND_OF_MEASURE}
            asked.add(ANY_QUANTITY)
    return frozenset(asked)


@dataclass
class Ranking:
    sentences: list[Scored]
    confidence: float  # best lexical/semantic support of any sentence for the question, 0..1
    question_terms: set[str]
    measures: frozenset[str] = frozenset()  # the quantities a value question asks for

    def states_value(self, text: str) -> bool:
        """Whether ``text`` gives a value of a quantity the question asks for (a number with its unit)."""
        return bool(self.measures and (quantities.stated_kinds(text) & self.measures
                                       or ANY_QUANTITY in self.measures and SPEC.search(text)))

    def best(self, n: int) -> list[Scored]:
        return [s for s in self.sentences if s.n == n]


def rank_sentences(
    question: str,
    docs: list[DocSource],
    persona: Persona,
    question_vector: np.ndarray | None = None,
    vectors: Any = None,
    focus_codes: set[str] | frozenset[str] = frozenset(),
    max_docs: int = 8,
    vocabulary: Any = None,
    glossed: str = "",
) -> Ranking:
    """Every sentence of the first ``max_docs`` sources, best first.

    ``vectors``: a SentenceVectors (or None: lexical only). ``focus_codes``: codes asked about or active on the bus;
    a sentence naming one is preferred. ``vocabulary``: the index's term frequencies; with it a question term
    weighs by its rarity in the whole index, otherwise by its rarity among the candidate sentences. ``glossed``:
    English words a dictionary gives for a Chinese question's words; they count for sentences in another language
    than the question's only, and the question's Chinese words for Chinese sentences only.
    """
    q_terms = set(vocabulary.correct_text(question) if vocabulary is not None else terms(question))
    native = set(q_terms)
    q_terms |= set(terms(glossed))
    if codes(question):
        q_terms -= {"code", "dtc", "mean", "fault", "error"}  # "code P0217": the code says it all
    candidates = [(doc, s) for doc in docs[:max_docs] for s in doc.sentences]
    asked = f"{question} {glossed}".strip()  # what kind of answer is wanted reads in the glosses too ("how long")
    measures = asked_measures(asked, q_terms)
    if not candidates:
        return Ranking([], 0.0, q_terms, measures)

    sentence_terms = [set(terms(s.text)) | measure_terms(s.text) for _, s in candidates]
    df: dict[str, int] = {}
    for own in sentence_terms:
        for t in own & q_terms:
            df[t] = df.get(t, 0) + 1
    total = len(candidates)
    if vocabulary is not None:
        idf = {t: vocabulary.idf(t) for t in q_terms}
    else:
        idf = {t: math.log(1.0 + total / (1.0 + df.get(t, 0))) for t in q_terms}
    weight_sum = sum(idf.values()) or 1.0
    # a Chinese question's own words can only meet Chinese sentences: an English sentence is scored by the share of
    # the question's other terms it holds (its Latin words, codes and numbers, and the dictionary's English words
    # for its Chinese ones, when they were added to the query), not diluted by words it can never hold
    mixed = any(has_cjk(t) for t in q_terms)
    # per language: the terms a sentence in the question's language can hold, and those one in another can
    own_terms = {t for t in q_terms if t in native} if mixed else q_terms
    other_terms = {t for t in q_terms if not has_cjk(t)} if mixed else q_terms
    own_sum = sum(idf[t] for t in own_terms) or 1.0
    other_sum = sum(idf[t] for t in other_terms) or 1.0

    semantic = np.zeros(total, dtype=np.float32)
    mat = np.zeros((0, 0), dtype=np.float32)
    if vectors is not None and question_vector is not None:
        mat = vectors.embed([s.text for _, s in candidates])
        if mat.size:
            semantic = np.clip(mat @ np.asarray(question_vector, dtype=np.float32), 0.0, 1.0)

    focus = {c.upper() for c in focus_codes}
    scored: list[Scored] = []
    for i, ((doc, sentence), own) in enumerate(zip(candidates, sentence_terms)):
        chinese = has_cjk(sentence.text)
        wanted = (own_terms if chinese else other_terms) if mixed else q_terms
        hits = own & wanted
        heading_hits = (doc.heading_terms - hits) & wanted
        # a code in the heading ("P0217 Engine coolant over temperature") is what every sentence below is about
        code_hits = {t for t in heading_hits if any(ch.isdigit() for ch in t)}
        total_weight = (own_sum if chinese else other_sum) if mixed else weight_sum
        coverage = (sum(idf[t] for t in hits | code_hits) + 0.6 * sum(idf[t] for t in heading_hits - code_hits)) / total_weight
        density = len(hits) / math.sqrt(max(len(own), 1)) if own else 0.0
        lexical = min(1.0, 0.85 * coverage + 0.15 * min(1.0, density))
        sem = float(semantic[i])
        rank_prior = 1.0 / (1.0 + 0.5 * ((doc.rank or doc.n) - 1))
        # the words of the question decide most; meaning catches paraphrase; the retriever's rank of the passage
        # breaks ties; the persona's taste and the kind of answer asked for ("how often": an interval) nudge
        score = 0.55 * lexical + 0.30 * sem + 0.15 * rank_prior
        score += 0.5 * persona.feature_bonus(sentence.text, sentence.kind, doc.doc_type)
        score += answer_type_bonus(asked, sentence.text)
        if measures and (quantities.stated_kinds(sentence.text) & measures
                         or ANY_QUANTITY in measures and SPEC.search(sentence.text)):
            score += VALUE_BONUS
        on_focus = False
        if focus and (codes(sentence.text) & focus or doc.heading_codes & focus):
            score += 0.25
            on_focus = True
        elif focus and doc.reason.startswith(("dtc", "bulletin")):
            score += 0.08
            on_focus = True
        if _length(sentence.text) < 25 and not any(ch.isdigit() for ch in sentence.text):
            score -= 0.1  # fragments ("See below.") say little on their own
        scored.append(Scored(doc.n, sentence, lexical, sem, score, on_focus))
    if mixed and semantic.any():
        scored = in_asker_language(scored, mat)
    scored.sort(key=lambda s: (-s.score, s.n, s.sentence.position))
    confidence = max((0.5 * s.lexical + 0.5 * s.semantic) if vectors is not None else s.lexical for s in scored)
    return Ranking(scored, float(confidence), q_terms, measures)


def in_asker_language(scored: list[Scored], mat: np.ndarray) -> list[Scored]:
    """``scored`` (in candidate order, rows of ``mat``: the sentences' multilingual vectors) with each sentence in
    another language than a Chinese question's that has its translation among the candidates scored as that
    translation was, and the translation as it was: a Chinese driver reads the Chinese manual's sentence where
    both manuals say the same thing. A translation is read from the vectors, not from any word: the two sentences
    are each other's nearest in the other language (mutual nearest neighbours, the test of bilingual sentence
    mining; Artetxe & Schwenk, ACL 2019), and every number the replaced sentence gives, its translation gives too."""
    if mat.shape[0] != len(scored):
        return scored
    chinese = [i for i, s in enumerate(scored) if has_cjk(s.sentence.text)]
    other = [i for i, s in enumerate(scored) if not has_cjk(s.sentence.text)]
    if not chinese or not other:
        return scored
    sims = mat[other] @ mat[chinese].T
    nearest_chinese, nearest_other = sims.argmax(axis=1), sims.argmax(axis=0)
    out = list(scored)
    for a, i in enumerate(other):
        b = int(nearest_chinese[a])
        j = chinese[b]
        if int(nearest_other[b]) != a or out[i].score <= out[j].score:
            continue
        mine, theirs = numbers(out[j].sentence.text), numbers(out[i].sentence.text)
        if not theirs <= mine:  # the value it gives is never lost
            continue
        out[i], out[j] = replace(out[i], score=out[j].score), replace(out[j], score=out[i].score)
    return out


def _length(text: str) -> int:
    """The length of a text in Latin letters: a Han character says about as much as three of them (an English
    translation of a Chinese text runs about three times its characters), so "警告灯亮着时不要继续行驶。" is no fragment."""
    return len(text) + 2 * sum(len(run) for run in HAN_RUN.findall(text))


# (what the question asks for, what a sentence answering it looks like, bonus)
_ANSWER_TYPES = [
    (re.compile(r"\bhow often\b|\binterval\b|\bwhen (?:should|do|to) (?:i )?(?:change|replace|service)", re.I),
     re.compile(r"\bevery\b|\binterval\b|\d+\s*(?:months?|years?)\b|\d[\d,]*\s*(?:km|miles)\b", re.I), 0.12),
    (re.compile(r"\bhow (?:much|many|far|long|fast|big|heavy)\b|\bcapacity\b|\btorque\b|\bpressure\b|\bspec", re.I),
     re.compile(r"\d"), 0.06),
    (re.compile(r"\bwhich fuse\b|\bfuse\b", re.I), re.compile(r"\bF\d{1,3}\b"), 0.10),
    (re.compile(r"\bwhat (?:do|should) i do\b|\bwhat now\b|\bwhat to do\b|\bcan i (?:keep|still|continue) driv", re.I),
     re.compile(r"^(?:what to do|stop|do not|don't|never|have|drive|pull|switch|turn|reduce|check)\b", re.I), 0.10),
    (re.compile(r"\b(?:still (?:current|valid)|superseded|replaced|latest|current version)\b|\bwhat replaced\b", re.I),
     re.compile(r"\bsupersed\w*|\breplaced by\b|\bfor all new repairs\b", re.I), 0.15),
    (re.compile(r"\bwhat'?s (?:wrong|up)\b|\bwhat is wrong\b|\bproblem\b|\bwhat happened\b", re.I),
     re.compile(r"^[PCBU][0-3][0-9A-F]{3}: "), 0.2),
    (re.compile(r"\bwhat (?:does|is) (?:code )?[PCBU][0-3][0-9A-F]{3}\b|\bmean(?:s|ing)?\b", re.I),
     re.compile(r"^[PCBU][0-3][0-9A-F]{3}\b|\bmeans?\b|\bindicates?\b|\bcomes on when\b", re.I), 0.08),
]


def answer_type_bonus(question: str, sentence: str) -> float:
    """A nudge for sentences shaped like the answer the question asks for."""
    return sum(bonus for asks, looks, bonus in _ANSWER_TYPES if asks.search(question) and looks.search(sentence))


def relevant_live(question: str, lines: list[LiveLine], topics: list[str], limit: int = 6) -> list[int]:
    """Indexes of the live lines an answer should show: those sharing terms with the question, and every flagged one
    (out of range, active, on) when the question is about the vehicle's state or a safety topic."""
    q_terms = set(terms(question))
    general = bool(_GENERAL.search(question or "")) or bool(topics)
    chosen: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        if line.kind == "vehicle":
            continue
        overlap = len(line.terms & q_terms)
        if line.flagged and (general or overlap):
            chosen.append((0 if line.kind in ("dtc", "lamp") else 1, i))
        elif overlap >= 1 and line.kind == "signal" and _specific_overlap(line.terms & q_terms):
            chosen.append((2, i))
    chosen.sort()
    return [i for _, i in chosen[:limit]]


def _specific_overlap(shared: set[str]) -> bool:
    # "engine" or "speed" alone match too many signals; a second term or a specific one is needed
    generic = {"engine", "speed", "status", "vehicle", "lamp", "temperature", "pressure", "level", "state"}
    return len(shared) >= 2 or bool(shared - generic)
