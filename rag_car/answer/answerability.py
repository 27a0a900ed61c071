"""Question + the passages retrieved for it -> may this be answered from the documents, or why not.

An assistant that guesses is worse than one that says "the documents don't cover that". The decision rests on
evidence, not on vocabulary: how well the best retrieved passage supports the question (its embedding's cosine to
the question, the passage read with its heading path, and the share of the question's weight its words and
headings hold), compared with the support the same index gives to questions it cannot answer (see
rag_car.answer.calibration). A question word the documents never use is no reason to refuse ("pop the hood"):
a passage that supports the question well is. Beside that, a question is not answered when it names a code
nothing mentions, asks about a model year or a variant of the vehicle ("the Corrin diesel") the documents do not
cover, or asks for a quantity ("how long",
"how much") that none of its best sentences gives, or a quantity of a known kind (a speed, a time, a fuel economy,
a power, a weight, a length, an interval, a price) that none of its best sentences gives in that kind's units.
The value must also be about the thing asked: a sentence that gives it names, in its own words or its section's
headings, one of the question's words that say what it is about (not the words that ask for a quantity: "how
often", "maximum", "weight"), of those the documents use. "When do the spark plugs have to be replaced?" over a
manual that gives the fire extinguisher's "every 2 years" but no interval for spark plugs is not answered with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from rag_car.text import quantities, zh_forms
from rag_car.text.quantities import QUANTITY_QUESTION, YES_NO_QUESTION  # noqa: F401  (the quantity model's forms)
from rag_car.text.gloss import english_gloss, word_gloss
from rag_car.text.lang import chinese_words, has_cjk
from rag_car.answer.sentences import STOPWORDS, measure_terms, numbers, terms, words

_YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
# words that say nothing about what is asked: the vehicle's own name and the like
_GENERIC = {"car", "vehicl", "model", "make", "year", "mine", "thing", "problem", "question", "help", "work", "happen",
            "use", "mean", "need", "tell", "know", "say", "way", "get", "go", "goe", "come", "see", "look", "want"}
_GENERIC |= {"take", "give", "put", "got", "keep", "make", "show", "find", "came", "went", "dash", "lit"}
# units say what form the answer has, not what it is about
_UNITS = {"km", "mi", "mph", "kph", "kg", "lb", "ml", "nm", "n-m", "psi", "kpa", "bar", "volt", "amp", "rpm", "mm", "cm",
          "inch", "liter", "gallon", "percent", "degre", "hour", "minut", "second", "l", "c", "f", "v", "a"}
_UNITS |= {t for name in quantities.unit_names() for t in terms(name)}
# the words that say what kind of answer is wanted, not what it is about
_ASKING = {"much", "mani", "long", "far", "fast", "big", "often", "kind", "type"}
# ... and the English words a quantity question asks with (those of the quantity model's forms and its measuring
# verbs): a value is about the thing asked when its sentence names something else of the question
_QUANTITY_WORDS = frozenset(t for w in (
    "quick quickly heavy top maximum max minimum speed acceleration weight load payload capacity size torque "
    "horsepower power output mileage price cost consumption economy clearance interval replace replaced replacing "
    "change changed changing renew renewed value spec specification").split() + list(quantities.MEASURING_VERBS)
    for t in terms(w)) | _ASKING
# meaning weighs more than words in the support: a driver's words are not the manual's ("pop the hood")
DENSE_WEIGHT = 0.7
TOP_PASSAGES = 5  # the best passages retrieval returns are the evidence; the rest are there for context
QUANTITY_SENTENCES = 12  # the best sentences searched for the quantity a quantity question asks for


@dataclass(frozen=True)
class Evidence:
    """A best-ranked sentence of the sources and the terms of its section's headings (title, section path)."""

    text: str
    headings: frozenset[str] = frozenset()

    def names(self, term: str) -> bool:
        return term in self.headings or term in terms(self.text)


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    reason: str = ""  # the sentence shown to the user when not answerable
    unknown_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Support:
    """How well the best passages support a question (0..1): ``dense`` the best cosine of a passage's embedding
    to the question's (chunks are embedded under their heading path), ``lexical`` the largest share of the
    question's weight (IDF) one passage's words and headings hold, ``score`` their mix."""

    score: float
    dense: float = 0.0
    lexical: float = 0.0


def passage_support(question_terms: Iterable[str], idf: Callable[[str], float], passages: Iterable[Any],
                    dense: Callable[[Any], float | None]) -> Support:
    """The Support of the best TOP_PASSAGES of ``passages`` (Passage objects, best first). ``dense(passage)``:
    the cosine of the passage's vector to the question's, None when unknown (then lexical evidence alone counts)."""
    wanted = list(dict.fromkeys(t for t in question_terms if t))
    weights = {t: idf(t) for t in wanted}
    total = sum(weights.values()) or 1.0
    best_dense: float | None = None
    best_lexical = 0.0
    for passage in list(passages)[:TOP_PASSAGES]:
        meta = passage.metadata or {}
        own = set(terms(f"{meta.get('title', '')} {meta.get('section', '')} {passage.text}")) | measure_terms(passage.text)
        if wanted:
            best_lexical = max(best_lexical, sum(w for t, w in weights.items() if t in own) / total)
        cosine = dense(passage)
        if cosine is not None:
            best_dense = max(best_dense or 0.0, float(cosine))
    if best_dense is None:
        return Support(round(best_lexical, 4), 0.0, round(best_lexical, 4))
    score = DENSE_WEIGHT * best_dense + (1 - DENSE_WEIGHT) * best_lexical
    return Support(round(score, 4), round(best_dense, 4), round(best_lexical, 4))


def chunk_cosines(retriever: Any, vector: Any) -> Callable[[Any], float | None]:
    """passage -> the cosine of its indexed vector to ``vector`` (from the retriever's row-aligned chunk vectors;
    None when the retriever keeps none)."""
    state = getattr(retriever, "lexical", None)
    catalog, vectors = getattr(state, "catalog", None), getattr(state, "vectors", None)
    if vector is None or catalog is None or vectors is None:
        return lambda passage: None
    q = np.asarray(vector, dtype=np.float32)

    def cosine(passage: Any) -> float | None:
        row = catalog.row_of(passage.chunk_id)
        if row is None or row >= len(vectors):
            return None
        return float(np.asarray(vectors[row], dtype=np.float32) @ q)

    return cosine


def judge(question: str, *, unknown_codes: list[str], known_codes: list[str], support: Support, threshold: float,
          vehicles: list[dict[str, Any]], live_focus: bool, best_sentences: Sequence[str | Evidence] = (),
          about: Sequence[str] = (), variant: str = "") -> Verdict:
    """The verdict for one question (see the module docstring). ``threshold``: the support a question must reach
    on this index (its calibration). ``live_focus``: active codes or stop conditions give the answer something to
    stand on even when the question is vague ("what's wrong with my car?"). ``best_sentences``: the best-ranked
    sentences of the sources (text, or Evidence with their headings), searched for the quantity a quantity question
    asks for. ``about``: the terms that say what the question is about (:func:`topic_terms`); a value counts only
    from a sentence that names one of them, itself or in its headings (all count when there are none).
    ``variant``: the variant of an indexed vehicle the question names that no document mentions
    (rag_car.answer.variants: "the Corrin diesel"), "" when none."""
    if unknown_codes and not known_codes:
        listed = ", ".join(unknown_codes)
        return Verdict(False, f"The documents do not mention {listed}, so I cannot say what it means.")

    year = _asked_year(question)
    if year is not None and vehicles:
        spans = [(int(v.get("year_min") or 0), int(v.get("year_max") or 0)) for v in vehicles]
        spans = [(lo, hi or lo) for lo, hi in spans if lo]
        if spans and not any(lo <= year <= hi for lo, hi in spans):
            covered = "; ".join(_vehicle_span(v) for v in vehicles if v.get("year_min"))
            return Verdict(False, f"The documents cover {covered}; they say nothing about a {year} model, so I will not guess.")
    if variant and vehicles:
        covered = "; ".join(_vehicle_span(v) for v in vehicles)
        return Verdict(False, f"The documents cover {covered} and never mention a {variant}, so I will not guess.")

    if live_focus or known_codes:
        return Verdict(True)
    if support.score < threshold:
        return Verdict(False, "The documents do not cover this question, so I will not guess.")
    evidence = [s if isinstance(s, Evidence) else Evidence(s) for s in best_sentences]
    if quantities.asks_value(question):
        kinds = quantities.asked_kinds(question)  # by its forms, measuring verbs or the unit it names
        of_it = [e for e in evidence if not about or any(e.names(t) for t in about)]  # values of the thing asked
        if not any(numbers(e.text) or quantities.stated_kinds(e.text) for e in of_it):  # "twice a month" too
            return Verdict(False, "The documents do not give this value, so I will not guess.")
        if kinds and not any(quantities.states(e.text, kinds) for e in of_it):
            return Verdict(False, "The documents do not give this value, so I will not guess.")
    if has_cjk(question) and zh_forms.asks_quantity(question):
        # a Chinese question for an amount ("最高车速是多少？"): the best sentences that name what it is about must
        # give a number; a sentence in another language names its words by the dictionary's English for them
        # ("安全带": seat belt), so the Chinese words of an unrelated passage ("安全信息") do not outvote the English
        # sentence that answers ...
        glossed = {t for w in about if has_cjk(w) for t in terms(" ".join(word_gloss(w)))} - _QUANTITY_WORDS
        of_it = [e for e in evidence if any(e.names(t) for t in about)
                 or not has_cjk(e.text) and any(e.names(t) for t in glossed)]
        if of_it and not any(numbers(e.text) for e in of_it):
            return Verdict(False, "The documents do not give this value, so I will not guess.")
        # ... and a value of the kind it asks for, in either language: the unit it names ("几秒"), or the English
        # quantity kinds of the dictionary's words for it ("百公里油耗": fuel consumption, L/100 km)
        gloss = english_gloss(question)
        units = zh_forms.asked_units(question) + [quantities.value_pattern(k) for k in quantities.asked_kinds(gloss)]
        if units and not any(given.search(e.text) for given in units for e in evidence):
            return Verdict(False, "The documents do not give this value, so I will not guess.")
    return Verdict(True)


def topic_terms(question: str, vocabulary: Any, vehicle_words: set[str]) -> list[str]:
    """The question's salient terms that say what it is about, not what kind of value it asks for, of those the
    documents use (a driver's word the documents never use cannot be looked for in them: "pop the hood")."""
    return [t for t in salient_terms(question, vocabulary, vehicle_words)
            if t not in _QUANTITY_WORDS and (vocabulary is None or t in vocabulary)]


def salient_terms(question: str, vocabulary: Any, vehicle_words: set[str]) -> list[str]:
    """The question's terms that say what it is about: no generic words, units, the vehicle's name, typos of
    stop words ("dose" for "does"); typos of indexed words corrected."""
    out = []
    for word in dict.fromkeys(words(question)):
        if word in STOPWORDS or _typo_of_stopword(word):
            continue
        for term in (vocabulary.correct_text(word) if vocabulary is not None else terms(word)):
            if term in _GENERIC or term in _UNITS or term in _ASKING or term in vehicle_words or term.isdigit() \
                    or len(term) < 2:
                continue
            if term not in out:
                out.append(term)
    if has_cjk(question):  # Chinese words by jieba; one character alone says too little
        out.extend(w for w in dict.fromkeys(chinese_words(question)) if len(w) >= 2 and w not in out)
    return out


def _typo_of_stopword(word: str) -> bool:
    """"dose" (does), "wat" (what), "teh" (the): one swap, insertion or deletion away from a stop word of 3+ letters.
    Substitutions do not count: "cost" is not a typo of "most"."""
    if len(word) < 3 or not word.isalpha() or word in STOPWORDS:
        return False
    for stop in _LONG_STOPWORDS:
        if abs(len(stop) - len(word)) > 1:
            continue
        if len(stop) == len(word):
            diff = [i for i in range(len(word)) if word[i] != stop[i]]
            if len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == stop[diff[1]] and word[diff[1]] == stop[diff[0]]:
                return True
        else:
            longer, shorter = (word, stop) if len(word) > len(stop) else (stop, word)
            if any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer))):
                return True
    return False


_LONG_STOPWORDS = [w for w in STOPWORDS if len(w) >= 3 and w.isalpha()]


def _asked_year(question: str) -> int | None:
    match = _YEAR.search(question or "")
    return int(match.group(1)) if match else None


def _vehicle_span(vehicle: dict[str, Any]) -> str:
    name = " ".join(str(vehicle.get(k)) for k in ("make", "model") if vehicle.get(k)) or "the indexed vehicles"
    lo, hi = int(vehicle.get("year_min") or 0), int(vehicle.get("year_max") or 0)
    return f"{name} {lo}-{hi}" if hi and hi != lo else f"{name} {lo}"


def _surface(question: str, unknown: list[str]) -> str:
    """The user's own words for the unknown terms ("Bluetooth", not "bluetooth" stemmed)."""
    shown = []
    for word in words(question):
        folded = terms(word)
        if folded and folded[0] in unknown and word not in shown:
            shown.append(word)
    original = {w.lower(): w for w in re.findall(r"[A-Za-z0-9][\w'-]*", question)}
    names = [f'"{original.get(w, w)}"' for w in shown] or [f'"{u}"' for u in unknown]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
