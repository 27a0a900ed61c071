"""The passages cache of the records file under eviction: a cache of a few entries over a real Chroma index
still returns full passages (issue #19: a cleared cache lost rows cached before the clear -> KeyError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_car.knowledge.chunk import Chunk
from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.retrieve import open_retriever
from rag_car.knowledge.retrieve.records import Records, write_records
from rag_car.knowledge.store import open_store
from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent / "files"
QUESTIONS = [
    "What does P0303 mean?", "coolant temperature warning", "how do I check the tyre pressure",
    "TZB-20-001", "brake fluid", "engine misfire at idle", "what replaced TZB-20-001?", "oil change interval",
    "battery warning light", "P0301 cylinder 1", "headlight bulb", "coolant temperature warning",
    "caliper pad rotor", "wiper relay fuse", "alternator voltage", "seat belt airbag module", "injector misfire",
]


def test_rows_asked_for_again_after_evictions_are_read_again(tmp_path):
    chunks = [Chunk(f"id{i}", f"text number {i}", {"source": f"s{i}.md", "n": i}) for i in range(20)]
    write_records(tmp_path, chunks)
    records = Records(tmp_path, cache_rows=3)
    try:
        # overlapping requests, each larger than the cache, and repeats of rows that were evicted
        for rows in ([0, 1, 2, 3, 4], [3, 4, 5, 6], [0, 19, 3], [3, 3, 7], list(range(20)), [1, 2], [19, 0, 1, 2, 3]):
            got = records.get(rows)
            assert sorted(got) == sorted(set(rows))
            for row in rows:
                assert got[row] == chunks[row]
        assert len(records._cache) <= 3  # bounded
    finally:
        records.close()


def write_procedures(folder: Path, n_files: int = 24) -> None:
    """Manual-like Markdown files, each section about its own parts, so that searches return different rows."""
    import random

    rng = random.Random(19)
    words = ("coolant sensor thermostat relay harness connector voltage pressure gauge torque bolt gasket pump valve "
             "injector misfire catalyst oxygen idle throttle brake caliper pad rotor fluid hose clamp fan fuse ground "
             "circuit module battery alternator starter wiper lamp bulb mirror seat belt airbag tyre wheel").split()
    folder.mkdir(parents=True)
    for i in range(n_files):
        lines = [f"# Procedure {i}", ""]
        for s in range(4):
            topic = rng.sample(words, 3)
            lines += [f"## {' '.join(topic).capitalize()} {i}.{s}", ""]
            for _ in range(3):
                lines += [" ".join(rng.choice(topic + words) for _ in range(40)).capitalize() + ".", ""]
        (folder / f"procedure_{i:02d}.md").write_text("\n".join(lines), encoding="utf-8")


@pytest.mark.parametrize("cache", [1, 5])
def test_searches_return_full_passages_with_a_tiny_cache(tmp_path, cache):
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {"model": "hash"},
                                        "retrieval": {"record_cache": cache}})
    write_procedures(tmp_path / "procedures")
    report = ingest(settings, [FILES / "kb", FILES / "other", tmp_path / "procedures"])
    assert report.ok, report.to_json()
    with open_store(settings, create=False) as store:
        stored = {c.id: c for c in store.iter_all()}
    assert len(stored) > 100
    with open_retriever(settings) as retriever:
        returned = 0
        for question in QUESTIONS * 2:
            result = retriever.search(question, k=8)
            assert result.passages, question
            for passage in result.passages:
                chunk = stored[passage.chunk_id]
                assert passage.text == chunk.text
                assert passage.metadata["source"] == chunk.metadata["source"]
                assert passage.metadata["chunk_index"] == chunk.metadata["chunk_index"]
                returned += 1
        assert len(retriever.lexical.records._cache) <= cache
    assert returned > 8 * len(QUESTIONS)
