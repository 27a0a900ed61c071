"""Indexed chunks -> Vocabulary: how many chunks hold each term, so that a question can be checked against what
the documents talk about at all ("Bluetooth", "diesel": nowhere) before any sentence is chosen.

Built once per index generation from the store and cached under the data dir (about 1 s per 1,000 chunks).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from rag_car.answer.sentences import TERMS_VERSION, terms, words
from rag_car.text.lang import chinese_words, has_cjk
from rag_car.text.typos import TypoCorrector, english_words


class Vocabulary:
    """Document frequencies of the answer side's terms over the indexed chunks."""

    def __init__(self, df: dict[str, int], size: int) -> None:
        self.df = df
        self.size = max(size, 1)
        self._typos = TypoCorrector(df)

    @classmethod
    def build(cls, chunks: Iterable[Any]) -> "Vocabulary":
        df: Counter[str] = Counter()
        size = 0
        for chunk in chunks:
            meta = getattr(chunk, "metadata", {}) or {}
            text = f"{meta.get('title', '')} {meta.get('section', '')} {getattr(chunk, 'text', '')}"
            df.update(set(terms(text)))
            size += 1
        return cls(dict(df), size)

    def __contains__(self, term: str) -> bool:
        return term in self.df

    def idf(self, term: str) -> float:
        return math.log(1.0 + self.size / (1.0 + self.df.get(term, 0)))

    def correct(self, term: str) -> str:
        """The term, or the most frequent indexed term one typing slip away when it is unknown (rag_car.text.typos)."""
        return self._typos.correct(term)

    def correct_text(self, text: str) -> list[str]:
        """The terms of ``text`` with typos corrected. A real English word is never a typo, even when the
        documents do not use it ("cost", "paint"): only unknown spellings ("chek", "torqe") are corrected. Chinese
        words (jieba's, as the index's terms hold them) are kept as they are: a typo there is a wrong character,
        which no edit distance finds."""
        english = english_words()
        out: list[str] = []
        for word in words(text):
            folded = terms(word)
            if word in english and len(word) >= 3:
                out.extend(folded)
            else:
                out.extend(self.correct(t) for t in folded)
        if has_cjk(text):
            out.extend(chinese_words(text))
        return out

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"size": self.size, "df": self.df}), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Vocabulary | None":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls({str(k): int(v) for k, v in data["df"].items()}, int(data["size"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def vocabulary_for(settings: Any, retriever: Any) -> Vocabulary | None:
    """The vocabulary of what ``retriever`` searches: loaded from the cache when the index generation matches,
    otherwise built from its store (None when there is no store to read)."""
    store = getattr(retriever, "store", None)
    if store is None or not hasattr(store, "iter_all"):
        return None
    try:
        from rag_car.knowledge.manifest import load_generation

        key = f"{load_generation(settings)}-{store.count()}-t{TERMS_VERSION}"  # the count guards a store changed some other way
    except Exception:  # no manifest, no count: build without caching
        key = None
    path = Path(settings.cache_dir) / "answer" / f"vocabulary-{key}.json" if key is not None else None
    if path is not None:
        cached = Vocabulary.load(path)
        if cached is not None:
            return cached
    try:
        vocabulary = Vocabulary.build(store.iter_all())
    except Exception:  # the store went away: answer without the check rather than fail
        return None
    if path is not None:
        try:
            for old in path.parent.glob("vocabulary-*.json"):
                old.unlink(missing_ok=True)
            vocabulary.save(path)
        except OSError:
            pass
    return vocabulary
