"""The evaluation harness's metrics, on rankings with known answers (hand-computed values)."""

import json
import math

import pytest

from rag_car.errors import ConfigError
from rag_car.knowledge.retrieve.evaluate import (
    evaluate, first_hit_rank, format_report, is_hit, load_qa, ndcg_at_k, recall_at_k, reciprocal_rank,
)
from rag_car.knowledge.retrieve.passage import Passage, SearchResult


def P(source, section, duplicates=()):
    return Passage(chunk_id=f"{source}#{section}", text="", score=0.0,
                   metadata={"source": source, "section": section}, duplicates=list(duplicates))


OIL = {"source": "owner_manual.md", "section": "Engine oil"}
PLUG = {"source": "service_manual.md", "section": "Drain plug"}


def test_hit_rule_is_suffix_and_section_containment():
    assert is_hit("/abs/knowledge/owner_manual.md", "Maintenance > Engine Oil > Level", OIL)
    assert not is_hit("/abs/knowledge/owner_manual.md.bak", "Engine oil", OIL)
    assert not is_hit("/abs/knowledge/owner_manual.md", "Coolant", OIL)
    assert is_hit("/x/owner_manual.md", "anything", {"source": "owner_manual.md", "section": ""})


def test_rank_metrics_by_hand():
    ranking = [P("/k/a.md", "x"), P("/k/owner_manual.md", "Engine oil"), P("/k/b.md", "y"), P("/k/service_manual.md", "Drain plug")]
    assert first_hit_rank(ranking, [OIL]) == 2
    assert reciprocal_rank(ranking, [OIL]) == 0.5
    assert recall_at_k(ranking, [OIL, PLUG], k=2) == 0.5
    assert recall_at_k(ranking, [OIL, PLUG], k=4) == 1.0
    assert ndcg_at_k(ranking, [OIL, PLUG], k=4) == pytest.approx(
        (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3)))
    # the same expected item twice in the ranking is credited once
    twice = [P("/k/owner_manual.md", "Engine oil"), P("/k/owner_manual.md", "Engine oil > Level")]
    assert ndcg_at_k(twice, [OIL, PLUG], k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert reciprocal_rank([P("/k/a.md", "x")] * 10 + [P("/k/owner_manual.md", "Engine oil")], [OIL]) == 0.0


def test_a_folded_duplicate_counts_as_the_passage():
    folded = P("/k/owner_manual.md", "Oil", duplicates=[{"source": "/k/service_manual.md", "section": "Drain plug"}])
    assert first_hit_rank([folded], [PLUG]) == 1


class ScriptedRetriever:
    """A real small retriever: answers each question with a fixed ranking per mode."""

    def __init__(self, script):
        self.script = script
        self.calls = []

    def search(self, question, k=8, filters=None, history=None, mode="hybrid"):
        self.calls.append((question, tuple(history or ()), mode, k))
        passages, codes, unknown = self.script[(question, mode)]
        return SearchResult(question=question, query=question, passages=passages[:k], codes=codes, unknown_codes=unknown)


def write_qa(path, rows):
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    return path


def test_evaluate_on_a_fixture_set(tmp_path):
    qa = write_qa(tmp_path / "qa.jsonl", [
        {"id": "q1", "question": "oil?", "history": [], "expected": [OIL], "answerable": True},
        {"id": "q2", "question": "P0303?", "history": ["before"], "expected": [{"source": "dtc.md", "section": "P0303"}]},
        {"id": "q3", "question": "P0999?", "expected": [], "answerable": False},
    ])
    good, bad = P("/k/owner_manual.md", "Engine oil"), P("/k/other.md", "z")
    dtc = P("/k/dtc.md", "Codes > P0303")
    script = {
        ("oil?", "hybrid"): ([good, bad], [], []), ("oil?", "dense"): ([bad, good], [], []), ("oil?", "bm25"): ([bad] * 6 + [good], [], []),
        ("P0303?", "hybrid"): ([dtc], ["P0303"], []), ("P0303?", "dense"): ([bad, bad, dtc], ["P0303"], []),
        ("P0303?", "bm25"): ([dtc], ["P0303"], []),
        ("P0999?", "hybrid"): ([bad], ["P0999"], ["P0999"]), ("P0999?", "dense"): ([bad], ["P0999"], ["P0999"]),
        ("P0999?", "bm25"): ([bad], ["P0999"], ["P0999"]),
    }
    retriever = ScriptedRetriever(script)
    report = evaluate(retriever, load_qa(qa), k=5)
    h, d, b = report.modes["hybrid"], report.modes["dense"], report.modes["bm25"]
    assert (h.questions, h.recall, h.mrr, h.hit_at_1, h.ndcg) == (2, 1.0, 1.0, 1.0, 1.0)
    assert d.recall == 1.0 and d.mrr == pytest.approx((1 / 2 + 1 / 3) / 2) and d.hit_at_1 == 0.0
    assert b.recall == 0.5 and b.mrr == pytest.approx((1 / 7 + 1) / 2)
    assert [m["id"] for m in b.misses] == ["q1"] and b.misses[0]["rank"] == 7
    assert (h.code_questions, h.code_hit_at_1, d.code_hit_at_1) == (1, 1.0, 0.0)
    assert (report.unanswerable, report.unknown_code_questions, report.unknown_code_flagged) == (1, 1, 1)
    assert ("P0303?", ("before",), "hybrid", 10) in retriever.calls  # history passed, searched to MRR depth
    text = format_report(report)
    assert "recall@5" in text and "misses of bm25" in text and "[q1] oil?" in text


def test_bad_qa_files_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_qa(tmp_path / "nope.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "expected": []}\n{"expected": []}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="line 2"):
        load_qa(bad)
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1"):
        load_qa(bad)
