"""A question not in English + the retriever's cross-lingual vectors -> what the answer side needs to judge and rank
English passages for it: the question's multilingual vector, sentence vectors from the same model, and the support
of the index's nearest chunk compared with unrelated probes (the same yardstick as calibration.py, in the
multilingual space, where a Chinese question and an English passage can meet; their words never do)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from rag_car.answer.calibration import Calibration, unrelated_probes
from rag_car.text.lang import detect_language


class CrossSentenceVectors:
    """Sentence vectors from the multilingual model (``embed(texts)``, like SentenceVectors), kept in memory."""

    def __init__(self, embedder: Any, size: int = 20_000) -> None:
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._size = size

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self.embedder.embed_documents(missing)):
                self._cache[text] = vector
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class CrossLingual:
    """The cross-lingual side of one retriever (None from :func:`for_question` when it has none)."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.embedder = retriever.multilingual
        self.sentences = CrossSentenceVectors(self.embedder)
        self._calibration: tuple[int, Calibration] | None = None

    def applies(self, question: str, passages: list[Any]) -> bool:
        """True for a question not in English whose best passage is in another language than the question (a
        question over passages in its own language is judged by their shared words, as English ones are), when
        every chunk has a cross-lingual vector."""
        lang = detect_language(question)
        if lang == "en" or not passages or self._vectors() is None:
            return False
        best = passages[0]
        return str((best.metadata or {}).get("lang") or detect_language(best.text)) != lang

    def _vectors(self) -> np.ndarray | None:
        state = getattr(self.retriever, "lexical", None)
        return getattr(state, "cross_vectors", None)

    def vector(self, question: str) -> np.ndarray:
        return self.embedder.embed_query(question)

    def support(self, vector: np.ndarray) -> float:
        """The cosine of the index's nearest chunk to the question, in the multilingual space."""
        vectors = self._vectors()
        return float((vectors @ np.asarray(vector, dtype=np.float32)).max()) if vectors is not None and len(vectors) else 0.0

    def calibration(self) -> Calibration:
        """The same support for the unrelated probes of calibration.py (once per index generation)."""
        generation = int(getattr(self.retriever.lexical, "generation", 0))
        if self._calibration is None or self._calibration[0] != generation:
            probes = unrelated_probes()
            vectors = self._vectors()
            null = (vectors @ self.embedder.embed_documents(probes).T).max(axis=0) if vectors is not None else []
            self._calibration = (generation, Calibration(tuple(sorted(float(v) for v in null))))
        return self._calibration[1]


def for_retriever(retriever: Any) -> CrossLingual | None:
    """The cross-lingual side when the retriever has a multilingual embedder, else None."""
    if getattr(retriever, "multilingual", None) is None:
        return None
    return CrossLingual(retriever)
