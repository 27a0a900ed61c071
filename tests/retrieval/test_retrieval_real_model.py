"""Ranking with the real embedding model (all-MiniLM-L6-v2, packaged) and over the real third-party data."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.retrieve import open_retriever
from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent / "files"


@pytest.mark.slow
@pytest.mark.real_model
def test_real_model_ranks_a_paraphrase_and_hybrid_beats_each_side(tmp_path):
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    assert ingest(settings, [FILES / "kb"]).ok
    with open_retriever(settings) as retriever:
        assert retriever.embedder.name == "all-MiniLM-L6-v2"
        # no word in common with the headings: only the model knows a hot engine is a coolant matter
        dense = retriever.search("my engine is getting much too hot", k=3, mode="dense")
        assert "coolant" in dense.passages[0].section.lower(), dense.passages[0].section
        hybrid = retriever.search("how do I connect jumper cables to a flat battery", k=3)
        assert hybrid.passages[0].section.endswith("Jump starting")
        assert set(hybrid.passages[0].ranks) >= {"dense", "bm25"}
        code = retriever.search("U0100 what now", k=3)
        assert code.passages[0].section.startswith("U0100") and code.passages[0].ranks["code"] == 1
        assert code.timings["embed_ms"] > 0


@pytest.mark.slow
def test_real_third_party_data_codes_and_campaigns(shared_data, tmp_path):
    """The generic DTC table and the NHTSA recalls as they are: exact codes first, unknown ones said so."""
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {"model": "hash"}})
    report = ingest(settings, [shared_data / "dtc" / "todrobbins_dtcdb_generic.csv",
                               shared_data / "nhtsa" / "flat_recalls_sample100.tsv"])
    assert report.ok, report.to_json()
    with open_retriever(settings) as retriever:
        for code in ("P0118", "P0302", "P0420", "P0171"):
            top = retriever.search(f"what does {code} mean", k=3).passages[0]
            assert top.text.startswith(f"{code}:") or f"{code}:" in top.text, (code, top.text[:80])
        recall = retriever.search("campaign 02V-288", k=3)
        assert recall.codes == ["02V288000"] and "02V288000" in recall.passages[0].title
        assert retriever.search("P0999", k=3).unknown_codes == ["P0999"]
        # one campaign over many models and years is one passage, not a page of copies
        rambler = retriever.search("Holiday Rambler Admiral recall structure", k=5)
        titles = [p.title for p in rambler.passages]
        assert len(titles) == len(set(titles)) or len({p.text for p in rambler.passages}) == len(rambler.passages)
        vehicles = {(v["make"], v["model"]) for v in retriever.known_vehicles()}
        assert ("FORD", "FOCUS") in vehicles
        focus = retriever.search("battery cables recall on a 2001 Ford Focus", k=3)
        assert focus.filters.make == "FORD" and focus.filters.year == 2001
        assert "02V288000" in focus.passages[0].title
