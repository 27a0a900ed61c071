"""Ranked texts -> the same ranking with near-duplicates folded into the first of their kind.

Two texts are near-duplicates when the Jaccard similarity of their word 3-shingles reaches a threshold:
the same paragraph in the owner's and the service manual, one recall campaign repeated per model year.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

_WORDS = re.compile(r"[a-z0-9]+")


def shingles(text: str, size: int = 3) -> frozenset[int]:
    """Hashed word ``size``-grams of the lower-cased text (the words themselves when it is shorter)."""
    words = _WORDS.findall(text.lower())
    if len(words) < size:
        return frozenset(hash(w) for w in words)
    return frozenset(hash(tuple(words[i:i + size])) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def fold_duplicates(texts: Sequence[str], k: int, threshold: float = 0.8,
                    signature: Callable[[int], frozenset[int]] | None = None) -> list[tuple[int, list[int]]]:
    """Walk ``texts`` in rank order and keep the first ``k`` that are not near-duplicates of one kept before.

    Returns [(index kept, [indices folded into it])]. Candidates after the k-th kept one are not examined,
    so this costs O(k * examined) comparisons. ``signature(i)``: the shingles of text i (to use a cache).
    """
    kept: list[tuple[int, list[int], frozenset[int]]] = []
    for i, text in enumerate(texts):
        sig = signature(i) if signature is not None else shingles(text)
        for _, folded, kept_sig in kept:
            if jaccard(sig, kept_sig) >= threshold:
                folded.append(i)
                break
        else:
            if len(kept) >= k:
                break
            kept.append((i, [], sig))
    return [(i, folded) for i, folded, _ in kept]
