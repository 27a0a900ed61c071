"""Text -> terms: the words that answers, retrieval and the signal catalogue compare (stopwords dropped, spelling
variants and a few synonyms folded, stemmed; Chinese words by jieba)."""

from __future__ import annotations

import re
from functools import lru_cache

from rag_car.text.lang import chinese_words, has_cjk
from rag_car.text.words import NEGATIONS, PARTICLES, SPELLINGS, SYNONYMS, stem
from rag_car.text.words import STOPWORDS as _STOPWORDS

# "CoolantTemp" -> "Coolant Temp" in words of 6+ letters (not units: "kPa", "mA")
_CAMEL_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]{5,}(?![A-Za-z0-9])")
_CAMEL_CUT = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _split_camel(text: str) -> str:
    return _CAMEL_WORD.sub(lambda m: _CAMEL_CUT.sub(" ", m.group(0)), text)


_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")

# Bumped when terms() changes, so that caches of terms (the vocabulary) are rebuilt.
TERMS_VERSION = 6

# one word list for answers and retrieval (rag_car.text.words; answers also drop the particles); a negation folds to
# "not", so that "don't" and "do not" compare equal
STOPWORDS = _STOPWORDS | PARTICLES
_CANONICAL = {**{typed: ("not" if spelled in NEGATIONS else spelled) for typed, spelled in SPELLINGS.items()},
              **SYNONYMS,
              **{negation: "not" for negation in NEGATIONS if " " not in negation}}


def words(text: str) -> list[str]:
    """Lowercase words in order (codes and hyphenated words kept whole)."""
    return [w.lower() for w in _WORD.findall(text or "")]


@lru_cache(maxsize=100_000)
def _fold(word: str) -> tuple[str, ...]:
    word = word.lower()
    canonical = _CANONICAL.get(word, word)
    out = []
    for part in canonical.split():
        if part in STOPWORDS:
            continue
        out.append(part if any(ch.isdigit() for ch in part) or "-" in part else stem(part))
    return tuple(out)


def normalise_term(word: str) -> str:
    """One word as a term: its canonical form, stemmed ("tyres" -> "tire", "warning" -> "warn")."""
    folded = _fold(word)
    return folded[0] if folded else word.lower()


def terms(text: str) -> list[str]:
    """Content terms: words without stopwords, folded (spelling variants, a few synonyms) and stemmed. A signal
    name's words count on their own ("ECM_EngineTemps.CoolantTemp": engine, temperature, coolant)."""
    return list(_terms(text or ""))


@lru_cache(maxsize=100_000)  # the same source sentences are scored, checked and quoted answer after answer
def _terms(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for w in words(_split_camel(text)):
        if (w in STOPWORDS or len(w) < 2) and not w.isdigit():
            continue
        if "-" in w and w.replace("-", "").isalpha():
            # "space-saver" is "space saver"; a code ("5w-30", "p0301-00") stays whole
            for part in w.split("-"):
                if part and part not in STOPWORDS and len(part) > 1:
                    out.extend(_fold(part))
            continue
        out.extend(_fold(w))
    if has_cjk(text):  # Chinese words by jieba (rag_car.text.lang): the same terms BM25 searched with
        out.extend(chinese_words(text))
    return tuple(out)
