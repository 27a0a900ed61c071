"""The weights and thresholds rag-car ranks and answers with: internal constants, measured by the benchmarks (not
choices a user makes, so not in Settings and not shown by `rag-car config`). One frozen object; the retriever and the
assistant take it as an argument (default :data:`TUNING`) so that a benchmark can compare a variant side by side.

Where each value comes from: benchmarks/bench_retrieval.py (--part quality) scores every ranking step switched off
and the fusion variants on the three evaluation sets; docs/retrieval.md keeps the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal


@dataclass(frozen=True)
class RetrievalTuning:
    """How dense and BM25 candidates are fused and which passages are demoted or promoted."""

    fusion: Literal["weighted", "rrf"] = "weighted"  # weighted: both normalised scores for every candidate
    rrf_k: int = 60  # the constant of reciprocal rank fusion (fusion="rrf")
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    sentence_weight: float = 0.25  # a candidate's best sentence (cosine, normalised) added to its fused score
    candidates: int = 50  # taken from each retriever before fusion (at least 3 k)
    expand_synonyms: bool = True  # add the manuals' words for drivers' words to the query (synonyms.py)
    superseded_factor: float = 0.5  # a bulletin or campaign another indexed one supersedes
    year_mismatch_factor: float = 0.8  # a section whose heading's model years exclude the year asked about
    code_reference_factor: float = 0.85  # a trouble-code entry when the question is not about codes
    section_intent_factor: float = 1.15  # a section of the kind asked for ("fix?" -> Repair procedure)
    thin_chunk_factor: float = 0.5  # a chunk with fewer than 4 search terms of its own (a banner, "Page 1")
    dedup_threshold: float = 0.8  # word-shingle Jaccard above which two passages are duplicates
    # a Chinese question over English rows: the share of their lexical part from the dictionary's glosses of its
    # words, the rest from the multilingual cosine (even: a rough translation against a model; 1.0 lost sections)
    gloss_share: float = 0.5
    # an English question's third leg: the multilingual companion's cosine (USE, trained on question-answer pairs)
    # fused with MiniLM's and BM25's, and its nearest rows added to the candidates (``use_pool``); 0: two legs only.
    # An index without the companion ignores it.
    use_weight: float = 0.0
    use_pool: bool = True

    def __post_init__(self) -> None:
        if self.fusion not in ("weighted", "rrf"):
            raise ValueError(f"unknown fusion {self.fusion!r}")
        for name in ("superseded_factor", "year_mismatch_factor", "code_reference_factor", "thin_chunk_factor",
                     "dedup_threshold", "gloss_share"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in (0, 1]")
        if self.use_weight < 0:
            raise ValueError("use_weight must be >= 0")
        if self.section_intent_factor < 1 or self.candidates < 1 or self.rrf_k < 1:
            raise ValueError("section_intent_factor >= 1, candidates >= 1 and rrf_k >= 1")


@dataclass(frozen=True)
class AnswerTuning:
    """When the assistant answers from the documents."""

    abstain_below: float = 0.3  # retrieval confidence under which the answer is "not in the documents"


@dataclass(frozen=True)
class Tuning:
    retrieval: RetrievalTuning = field(default_factory=RetrievalTuning)
    answer: AnswerTuning = field(default_factory=AnswerTuning)

    def ranking_key(self) -> str:
        """A short digest of the retrieval values: what a cache of results that depend on the ranking (the refusal
        calibration) is keyed by, so that a ranking change measures again."""
        import hashlib

        return hashlib.sha1(repr(self.retrieval).encode("utf-8")).hexdigest()[:10]

    def with_retrieval(self, **changes: Any) -> "Tuning":
        """A copy with some retrieval values changed (a benchmark's variant)."""
        return replace(self, retrieval=replace(self.retrieval, **changes))

    def with_answer(self, **changes: Any) -> "Tuning":
        return replace(self, answer=replace(self.answer, **changes))


TUNING = Tuning()
