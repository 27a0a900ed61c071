"""Candidates + the question's vector -> each candidate's best sentence: a passage is as relevant as its best
sentences, and one embedding per chunk blurs a long section's many topics ("Tow truck" among the towing notes).

The vectors of every indexed sentence are kept by the answering side (rag_car.answer.vectors, filled at ingest);
this module only says what the retriever needs of them (:class:`SentenceScores`), so that retrieval does not
depend on the answering side: the assistant hands its sentence vectors to the retriever it opens.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np


class SentenceScores(Protocol):
    def best(self, texts: Sequence[str], vector: np.ndarray) -> list[float | None]:
        """For each chunk text, the highest cosine of one of its sentences to ``vector``; None for a text whose
        sentences are not all embedded yet (nothing is embedded here: a search must stay fast)."""
        ...


def with_sentences(scores: Sequence[float], best: Sequence[float | None], weight: float) -> list[float] | None:
    """The candidates' fused scores plus ``weight`` x their best sentence's cosine, min-max normalised over the
    candidates (as the dense and BM25 parts of the fusion are); None when a candidate's sentences are unknown
    (then the candidates are not re-ranked at all rather than some of them)."""
    if weight <= 0 or not best or any(b is None for b in best):
        return None
    values = np.asarray(best, dtype=np.float64)
    span = float(values.max() - values.min())
    normalised = (values - values.min()) / span if span > 0 else np.zeros(len(values))
    return [float(s + weight * n) for s, n in zip(scores, normalised)]
