"""The candidates re-ranked by their best sentence (retrieve/sentences.py, answer/vectors.BestSentences): a long
section that answers the question in one sentence is not buried under a short one that only shares its words.
Real ingest (sentence vectors filled as `rag-car ingest` fills them), real Chroma, real BM25, hash embedder."""

from __future__ import annotations

import numpy as np
import pytest

from rag_car.answer.vectors import BestSentences, SentenceVectors, cache_file
from rag_car.knowledge.embed import HashEmbedder
from rag_car.knowledge.retrieve.sentences import with_sentences
from rag_car.tuning import TUNING


def test_with_sentences_adds_the_weighted_normalised_best_sentence():
    # best cosines 0.2, 0.8, 0.5 -> normalised 0, 1, 0.5; weight 0.5 adds 0, 0.5, 0.25
    assert with_sentences([1.0, 0.9, 0.5], [0.2, 0.8, 0.5], 0.5) == pytest.approx([1.0, 1.4, 0.75])
    # one candidate's sentences unknown: no candidate is re-ranked; weight 0: switched off
    assert with_sentences([1.0, 0.9], [0.2, None], 0.5) is None
    assert with_sentences([1.0, 0.9], [0.2, 0.8], 0.0) is None
    # equal best sentences change nothing
    assert with_sentences([1.0, 0.9], [0.4, 0.4], 0.5) == [1.0, 0.9]


def test_best_sentences_reads_cached_vectors_only(tmp_path):
    embedder = HashEmbedder()
    vectors = SentenceVectors(embedder, tmp_path / "sentences.sqlite")
    known = "The roof rails carry at most 75 kg. Fold the mirrors before a car wash."
    vectors.embed(["The roof rails carry at most 75 kg.", "Fold the mirrors before a car wash."])
    before = vectors.computed
    fresh = SentenceVectors(embedder, tmp_path / "sentences.sqlite")  # read back from the file
    best = BestSentences(fresh).best([known, "A sentence nobody embedded."], embedder.embed_query("roof rails load kg"))
    assert best[1] is None and fresh.computed == 0 and vectors.computed == before
    q = embedder.embed_query("roof rails load kg")
    expected = max(float(embedder.embed_documents([s])[0] @ q)
                   for s in ("The roof rails carry at most 75 kg.", "Fold the mirrors before a car wash."))
    assert best[0] == pytest.approx(expected, abs=1e-6)


NOTES = """# Roof

## Roof rails

Roof rails are fitted on each side of the roof. The rails are made of aluminium and painted black.
Roof rails suit the cross bars of the roof carrier system from the accessories range.

## Care notes

Wash the paint by hand in winter. Dry the rubber seals after washing.
Wax the paint twice a year. Clean the glass with a soft cloth.
Keep the drain holes free of leaves. Check the wiper blades every spring.
Treat the door locks with a spray before frost. Polish the chrome trim with a suitable cleaner.
The maximum roof load including the cross bars is 75 kg.

## Sunroof

Press the switch briefly to open the sunroof fully. Hold the switch to stop the sunroof at any position.

## Roof antenna

The antenna on the roof receives radio and navigation signals. Remove it before an automatic car wash.

## Mirrors

Fold the exterior mirrors before a car wash. The mirrors are heated with the rear window.
"""


@pytest.mark.slow
def test_a_section_answering_in_one_sentence_moves_up(tmp_path):
    from rag_car.answer.vectors import ingest_fill
    from rag_car.knowledge.embed import load_embedder
    from rag_car.knowledge.ingest import ingest
    from rag_car.knowledge.retrieve import open_retriever
    from rag_car.settings import load_settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "roof.md").write_text(NOTES, encoding="utf-8")
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {"model": "hash"}})
    embedder = load_embedder(settings)
    fill = ingest_fill(settings, embedder)  # the sentence vectors, filled as `rag-car ingest` fills them
    assert ingest(settings, [docs], embedder=embedder, after_add=fill).ok
    fill.vectors.close()
    assert fill.sentences > 0
    question = "maximum roof load cross bars"
    with open_retriever(settings) as retriever:
        plain = [p.section for p in retriever.search(question, k=2).passages]
        retriever.sentences = BestSentences(SentenceVectors(retriever.embedder,
                                                            cache_file(settings.cache_dir, retriever.embedder)))
        ranked = retriever.search(question, k=2)
    assert TUNING.retrieval.sentence_weight > 0
    assert plain[0] == "Roof rails", plain  # the short section sharing the question's words wins on chunks alone
    assert [p.section for p in ranked.passages][0] == "Care notes", [p.section for p in ranked.passages]
    assert ranked.timings["sentences_ms"] >= 0
    assert np.isfinite(ranked.passages[0].score)
    # the assistant opens its retriever so: its answers come from the re-ranked passages
    from rag_car.answer.assistant import Assistant

    with Assistant(settings) as assistant:
        assert isinstance(assistant.retriever.sentences, BestSentences)
        assert assistant.retriever.search(question, k=2).passages[0].section == "Care notes"
