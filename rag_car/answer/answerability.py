"""Question + what is indexed + the ranked sentences -> may this be answered from the documents, or why not.

An assistant that guesses is worse than one that says "the documents don't cover that". A question is not
answered when it names a code nothing mentions, asks about a model year the documents do not cover, asks mostly
about things no document mentions at all ("Bluetooth", "diesel"), or when no sentence supports it well enough
(the retrieval confidence below ``tuning.answer.abstain_below``, rag_car.tuning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rag_car.answer.sentences import STOPWORDS, measure_terms, numbers, terms, words

_YEAR = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
# words that say nothing about what is asked: the vehicle's own name and the like
_GENERIC = {"car", "vehicl", "model", "make", "year", "mine", "thing", "problem", "question", "help", "work", "happen",
            "use", "mean", "need", "tell", "know", "say", "way", "get", "go", "goe", "come", "see", "look", "want"}
_GENERIC |= {"take", "give", "put", "got", "keep", "make", "show", "find", "came", "went", "dash", "lit"}
# units say what form the answer has, not what it is about
_UNITS = {"km", "mi", "mph", "kph", "kg", "lb", "ml", "nm", "n-m", "psi", "kpa", "bar", "volt", "amp", "rpm", "mm", "cm",
          "inch", "liter", "gallon", "percent", "degre", "hour", "minut", "second", "l", "c", "f", "v", "a"}
# a "value question" asks for a quantity: its answer must hold a number
_VALUE = re.compile(r"\b(?:how (?:much|many|long|far|fast|big|heavy|often|old|high|wide)|what(?:'s| is| are)? (?:the )?"
                    r"(?:\w+ ){0,3}(?:pressure|torque|capacity|size|speed|time|consumption|load|clearance|rating|weight|"
                    r"voltage|temperature|interval|range|cost|price|length|width|height|distance|economy|power|output|"
                    r"mileage|warranty))\b", re.IGNORECASE)
_SHORT_QUESTION = re.compile(r"^\s*(?:and\s+)?(?:what(?:'s| is| are| does)?|how (?:do|can|should) (?:i|you|we)|how to|"
                             r"how (?:much|many|long|far|fast|big))\b", re.IGNORECASE)
# the words that say what kind of answer is wanted, not what it is about
_ASKING = {"much", "mani", "long", "far", "fast", "big", "often", "kind", "type"}
OOV_SHARE = 1 / 4  # at least this share of the question's salient terms unknown to every document: abstain
STRICT_TERMS = 3  # a short what/how question of at most this many salient terms needs one sentence naming them all


@dataclass(frozen=True)
class Verdict:
    answerable: bool
    reason: str = ""  # the sentence shown to the user when not answerable
    unknown_terms: tuple[str, ...] = ()


def judge(question: str, *, unknown_codes: list[str], known_codes: list[str], vocabulary: Any, confidence: float,
          threshold: float, vehicles: list[dict[str, Any]], live_focus: bool, vehicle_words: set[str],
          docs: list[Any] = ()) -> Verdict:
    """The verdict for one question (see the module docstring). ``live_focus``: active codes or stop conditions
    give the answer something to stand on even when the question is vague ("what's wrong with my car?").
    ``docs``: the numbered sources (DocSource), for the check that a short question's terms meet in one sentence."""
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

    salient = salient_terms(question, vocabulary, vehicle_words)
    if vocabulary is not None and not live_focus:
        unknown = [t for t in salient if t not in vocabulary]
        if salient and unknown and len(unknown) / len(salient) >= OOV_SHARE - 1e-9:
            shown = _surface(question, unknown)
            return Verdict(False, f"The documents do not mention {shown}, so I will not guess.", tuple(unknown))

    if not live_focus and not known_codes and docs and salient and len(salient) <= STRICT_TERMS \
            and _SHORT_QUESTION.search(question):
        wants_number = bool(_VALUE.search(question))
        if not any(_covers(doc, sentence, salient, wants_number) for doc in docs for sentence in doc.sentences):
            return Verdict(False, "The documents do not cover this question, so I will not guess.")

    if confidence < threshold and not live_focus:
        return Verdict(False, "The documents do not cover this question, so I will not guess.")
    return Verdict(True)


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
    return out


def _covers(doc: Any, sentence: Any, salient: list[str], wants_number: bool) -> bool:
    own = set(terms(sentence.text)) | set(doc.heading_terms)
    own |= measure_terms(sentence.text)
    if not all(t in own for t in salient):
        return False
    return not wants_number or bool(numbers(sentence.text))


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
