"""Fusion of rankings (RRF and weighted scores) and near-duplicate folding."""

import pytest

from rag_car.knowledge.retrieve.diversity import fold_duplicates, jaccard, shingles
from rag_car.knowledge.retrieve.fusion import fuse, reciprocal_rank_fusion, weighted_fusion


def test_rrf_rewards_agreement_and_records_ranks():
    fused = reciprocal_rank_fusion({"dense": [("a", .9), ("b", .8), ("c", .7)], "bm25": [("b", 12.0), ("d", 9.0)]}, k=60)
    assert [f.chunk_id for f in fused][:2] == ["b", "a"]
    b = fused[0]
    assert b.ranks == {"dense": 2, "bm25": 1}
    assert b.score == pytest.approx(1 / 62 + 1 / 61)
    assert {f.chunk_id for f in fused} == {"a", "b", "c", "d"}


def test_rrf_weights_and_deterministic_ties():
    only_bm25 = reciprocal_rank_fusion({"dense": [("a", 1.0)], "bm25": [("b", 1.0)]}, weights={"dense": 0.0})
    assert only_bm25[0].chunk_id == "b"
    tie = reciprocal_rank_fusion({"dense": [("z", 1.0)], "bm25": [("y", 1.0)]})
    assert [f.chunk_id for f in tie] == ["y", "z"]  # equal score and rank: by id


def test_weighted_fusion_normalises_each_list():
    fused = weighted_fusion({"dense": [("a", 0.9), ("b", 0.5)], "bm25": [("b", 30.0), ("a", 10.0), ("c", 5.0)]})
    scores = {f.chunk_id: f.score for f in fused}
    assert scores["a"] == pytest.approx(1.0 + 0.2)
    assert scores["b"] == pytest.approx(0.0 + 1.0)
    assert scores["c"] == pytest.approx(0.0)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="rrf"):
        fuse({}, method="borda")


PARA = "Check the engine oil level with the engine off and the vehicle on level ground, wait five minutes first."


def test_near_duplicates_fold_into_the_first():
    texts = [PARA, "Replace the cabin air filter every 20,000 km.", PARA.replace("five", "5"), PARA + " See page 4."]
    groups = fold_duplicates(texts, k=5, threshold=0.6)
    assert groups == [(0, [2, 3]), (1, [])]
    assert jaccard(shingles(PARA), shingles(PARA)) == 1.0
    assert jaccard(shingles(PARA), shingles(texts[1])) < 0.1


def test_folding_stops_at_k():
    texts = [f"distinct passage number {i} about topic {i * 7}" for i in range(10)]
    assert [i for i, _ in fold_duplicates(texts, k=3)] == [0, 1, 2]
