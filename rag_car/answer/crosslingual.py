"""A question not in English + the retriever's cross-lingual vectors -> what the answer side needs to judge and rank
English passages for it: the question's multilingual vector, sentence vectors from the same model, and the support
of the index's nearest chunk compared with unrelated probes (the same yardstick as calibration.py, in the
multilingual space, where a Chinese question and an English passage can meet; their words never do)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from rag_car.answer.calibration import Calibration, unrelated_probes
from rag_car.text.gloss import english_gloss
from rag_car.text.lang import detect_language

PROBES_ZH = Path(__file__).with_name("probes_zh.txt")


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
        self._calibrations: dict[tuple[int, str], Calibration] = {}
        self._last: tuple[str, np.ndarray] | None = None

    def reads(self, question: str) -> bool:
        """True for a question not in English when every chunk has a cross-lingual vector: the English model cannot
        read it, so its support is measured with the multilingual model whatever the passages' language."""
        return detect_language(question) != "en" and self._vectors() is not None

    def applies(self, question: str, passages: list[Any]) -> bool:
        """True for a question not in English when any of its passages is in another language than the question,
        when every chunk has a cross-lingual vector: their sentences are then ranked in the multilingual space and
        by the dictionary's English for the question's words, whichever language the best passage is in (a
        sentence in another language, held to the question's Latin words alone, would otherwise match fully by
        naming the one unit it names: "多少kPa"). A question over passages all in its own language is judged by
        their shared words, as English ones are."""
        lang = detect_language(question)
        if lang == "en" or not passages or self._vectors() is None:
            return False
        return any(_language(p) != lang for p in passages)

    def _vectors(self) -> np.ndarray | None:
        state = getattr(self.retriever, "lexical", None)
        return getattr(state, "cross_vectors", None)

    @staticmethod
    def english_terms(question: str, passages: list[Any]) -> str:
        """The English words a dictionary gives for the question's Chinese words (rag_car.text.gloss), for ranking
        sentences of passages in another language ("" when every passage is in the question's own language).
        Sentences in the question's language are ranked by its own words alone (rank_sentences' ``glossed``), so
        the glosses never dilute them."""
        lang = detect_language(question)
        if all(_language(p) == lang for p in passages):
            return ""
        return english_gloss(question)

    def vector(self, question: str) -> np.ndarray:
        """The question's multilingual vector (the last one is kept: ranking and support ask for it in turn)."""
        if self._last is None or self._last[0] != question:
            self._last = (question, self.embedder.embed_query(question))
        return self._last[1]

    def support(self, vector: np.ndarray) -> float:
        """The cosine of the index's nearest chunk to the question, in the multilingual space."""
        vectors = self._vectors()
        return float((vectors @ np.asarray(vector, dtype=np.float32)).max()) if vectors is not None and len(vectors) else 0.0

    def calibration(self, question: str = "") -> Calibration:
        """The same support for unrelated probes in the question's language (once per index generation and
        language): a Chinese question meets English passages at lower cosines than an English one does, so its
        yardstick is Chinese questions about unrelated things (``probes_zh.txt``), not calibration.py's English ones."""
        generation = int(getattr(self.retriever.lexical, "generation", 0))
        lang = detect_language(question) if question else "en"
        key = (generation, lang)
        if key not in self._calibrations:
            probes = probes_in(lang)
            vectors = self._vectors()
            null = (vectors @ self.embedder.embed_documents(probes).T).max(axis=0) if vectors is not None else []
            self._calibrations = {k: v for k, v in self._calibrations.items() if k[0] == generation}
            self._calibrations[key] = Calibration(tuple(sorted(float(v) for v in null)))
        return self._calibrations[key]


def _language(passage: Any) -> str:
    return str((passage.metadata or {}).get("lang") or detect_language(passage.text))


def probes_in(lang: str) -> list[str]:
    """The unrelated probes in ``lang``: this module's Chinese ones for ``zh``, calibration.py's English ones else."""
    if lang == "zh":
        return [line.strip() for line in PROBES_ZH.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    return unrelated_probes()


def for_retriever(retriever: Any) -> CrossLingual | None:
    """The cross-lingual side when the retriever has a multilingual embedder, else None."""
    if getattr(retriever, "multilingual", None) is None:
        return None
    return CrossLingual(retriever)
