"""An unknown word + the words an index knows -> the word the user meant: the one typo corrector of rag-car (BM25
query tokens and the answer side's terms).

A word is corrected only when the index does not know it, it is not an English word (a real word is never a typo,
even when the documents do not use it: "cost", "paint", "dashcam"), it has at least 4 letters, and a known word is
one typing slip away: a letter left out ("chek"), one too many, two neighbours swapped ("thermsotat"); a different
letter only in a long word (7+ letters: "coolent"), since in a short one it makes another word ("cost", "lost").
Among several, the word most documents hold wins (ties: alphabetical).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Mapping

MIN_CORRECTABLE = 4  # shorter unknown words are too ambiguous to correct


class TypoCorrector:
    """Corrects words against ``frequencies`` (word -> how many documents hold it)."""

    def __init__(self, frequencies: Mapping[str, int]) -> None:
        self.frequencies = frequencies
        self._neighbours: dict[str, list[str]] | None = None

    def correct(self, word: str) -> str:
        """``word``, or the known word it is a slip of (see the module docstring; the English check is the
        caller's: it knows the word as typed, this may see a stem)."""
        if word in self.frequencies or len(word) < MIN_CORRECTABLE or not word.isalpha():
            return word
        neighbours = self.neighbours()
        candidates: set[str] = set()
        for variant in {word, *_deletions(word)}:
            candidates.update(neighbours.get(variant, ()))
        candidates = {c for c in candidates if is_slip(word, c)}
        return max(candidates, key=lambda c: (self.frequencies[c], c)) if candidates else word

    def neighbours(self) -> dict[str, list[str]]:
        """Symmetric-deletion index of the alphabetic words: each word and each of its one-letter deletions."""
        if self._neighbours is None:
            index: dict[str, list[str]] = {}
            for known in self.frequencies:
                if len(known) >= MIN_CORRECTABLE - 1 and known.isalpha():
                    for variant in {known, *_deletions(known)}:
                        index.setdefault(variant, []).append(known)
            self._neighbours = index
        return self._neighbours


def is_slip(typed: str, word: str) -> bool:
    """One insertion, deletion or adjacent swap; a substitution only in a long word (7+ letters)."""
    if len(typed) != len(word):
        longer, shorter = (typed, word) if len(typed) > len(word) else (word, typed)
        return len(longer) - len(shorter) == 1 and any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))
    diff = [i for i in range(len(word)) if typed[i] != word[i]]
    if len(diff) == 2 and diff[1] == diff[0] + 1:
        return typed[diff[0]] == word[diff[1]] and typed[diff[1]] == word[diff[0]]
    return len(diff) == 1 and len(word) >= 7


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole English words of the packaged embedding model's WordPiece vocabulary (30,522 entries; empty when the
    model is not installed): the dictionary that tells a real word from a typo."""
    try:
        from rag_car.offline import embedding_model_path

        path = Path(embedding_model_path()) / "vocab.txt"
        return frozenset(w for w in path.read_text(encoding="utf-8").split() if w.isalpha() and w.islower())
    except Exception:  # no packaged model (tests with the hash embedder): no dictionary
        return frozenset()
