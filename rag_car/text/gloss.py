"""Chinese text -> the English words a dictionary gives for its words: the lexical bridge from a Chinese question to
English documents (BM25, hybrid search's lexical part for English chunks, the answer's sentence choice), where the
multilingual model's vectors are the other one.

The dictionary is CC-CEDICT (rag_car.text.cedict, shipped by a PyPI package: nothing is downloaded). Each Chinese
word of the question (jieba's search mode over the simplified text, the same words BM25 indexes, stopwords out) is
looked up; its first senses give the English words. Senses that only point elsewhere (measure words "CL:", "variant of", "see ...", surnames) and explanations in
brackets are left out; the English tokenizer then drops stop words and stems, and BM25's IDF weighs what is left.
"""

from __future__ import annotations

import functools
import re

from rag_car.text.cedict import senses
from rag_car.text.lang import ZH_STOPWORDS, chinese_words, normalize

# how many senses of a word are kept: CC-CEDICT lists the common sense first and rarer, figurative ones after
SENSES = 3
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|[\u3400-\u9fff|]+")
_ENGLISH = re.compile(r"[A-Za-z][A-Za-z'-]+")


@functools.lru_cache(maxsize=50_000)
def word_gloss(word: str) -> tuple[str, ...]:
    """The English words of the first senses of one Chinese word ("胎压" -> ("tire", "pressure")); a single character
    keeps only its first sense (it has many, mostly as part of other words); a word the dictionary does not have
    is glossed by the longest words it has inside it (known_parts: "雨刷片" -> windshield wiper, disk); () when
    nothing is known."""
    known = senses(word)
    if not known:
        if len(word) < 2:
            return ()
        return tuple(dict.fromkeys(w for part in known_parts(word) for w in word_gloss(part)))
    return tuple(dict.fromkeys(w for sense in _kept_senses(word) for w in sense.split()))


def english_gloss(text: str) -> str:
    """The English words the dictionary gives for the Chinese words of ``text``, each once, in order ("" when the text
    has no Chinese word the dictionary knows). A part of a longer word the dictionary has is not glossed again
    (jieba's search mode gives "仪表盘" and its parts "仪表", "表盘": the whole says what is meant)."""
    return " ".join(dict.fromkeys(w for _, kept in gloss_senses(text) for sense in kept for w in sense.split()))


def known_parts(word: str) -> list[str]:
    """A word the dictionary lacks, cut into the longest words it has, left to right (forward maximum matching:
    "雨刷片" -> 雨刷, 片), a character where no longer word starts."""
    parts: list[str] = []
    start = 0
    while start < len(word):
        end = next((e for e in range(len(word), start + 1, -1) if (e - start < len(word)) and senses(word[start:e])),
                   start + 1)
        parts.append(word[start:end])
        start = end
    return parts


def gloss_senses(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Each Chinese word of ``text`` that :func:`english_gloss` glosses, with its kept senses as English words, in
    the dictionary's order: [("胎压", ("tire pressure",)), ("处理", ("to handle", "to deal with", ...))]. A word
    the dictionary lacks gives its known parts instead (:func:`known_parts`), each a word of its own. For a query
    that counts each word once, whatever its number of senses (LexicalIndex.grouped_scores)."""
    found = list(dict.fromkeys(chinese_words(normalize(text))))
    whole = [w for w in found if senses(w)]
    out: dict[str, tuple[str, ...]] = {}
    for word in found:
        if any(word != other and word in other for other in whole):
            continue
        parts = [word] if senses(word) or len(word) < 2 else [p for p in known_parts(word) if p not in ZH_STOPWORDS]
        for part in parts:  # (an asking word inside an unknown one, "多少" of "多少升", says nothing either)
            kept = _kept_senses(part)
            if kept:
                out.setdefault(part, kept)
    return list(out.items())


def _kept_senses(word: str) -> tuple[str, ...]:
    """The English words of each kept sense of a word the dictionary has (several for a word, the first for a
    single character, brackets out), senses without English words left out."""
    kept = (" ".join(w.lower() for w in _ENGLISH.findall(_BRACKETS.sub(" ", sense)))
            for sense in senses(word)[:SENSES if len(word) > 1 else 1])
    return tuple(sense for sense in kept if sense)
