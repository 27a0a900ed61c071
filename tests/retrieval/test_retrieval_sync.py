"""The BM25 side stays the same as the vector store through ingest, change, removal and restart."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.retrieve import open_retriever
from rag_car.knowledge.retrieve.sync import lexical_dir, read_state
from rag_car.knowledge.store import open_store
from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture
def library(tmp_path):
    """A folder of documents to change, and settings for a private index over it (hash embedder)."""
    folder = tmp_path / "docs"
    shutil.copytree(FILES / "kb", folder)
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {"model": "hash"}})
    return folder, settings


def agree(retriever, settings) -> set[str]:
    """Assert the catalog rows are exactly the store's chunks (ids and texts); return the ids."""
    state = retriever.sync()
    with open_store(settings) as store:
        stored = {c.id: c.text for c in store.iter_all()}
    assert set(state.catalog.ids) == set(stored)
    records = state.records.get(range(state.catalog.size))
    assert {c.id: c.text for c in records.values()} == stored
    assert state.index.size == len(stored)
    return set(stored)


def bm25_sources(retriever, question: str) -> list[str]:
    return [Path(p.source).name for p in retriever.search(question, k=5, mode="bm25").passages]


@pytest.mark.slow
def test_ingest_change_remove_restart(library):
    folder, settings = library
    ingest(settings, [folder])
    retriever = open_retriever(settings)
    first = agree(retriever, settings)
    assert "trouble_codes.md" in bm25_sources(retriever, "U0100 lost communication")

    # change: a new word appears, an old one goes
    codes = folder / "dtc" / "trouble_codes.md"
    codes.write_text(codes.read_text().replace("No messages from the engine control module",
                                               "Quaggafrost silence from the engine control module"))
    ingest(settings, [folder])
    changed = agree(retriever, settings)
    assert changed != first
    assert bm25_sources(retriever, "quaggafrost")[:1] == ["trouble_codes.md"]
    assert retriever.search("quaggafrost", k=3).passages[0].source.endswith("trouble_codes.md")

    # a new file, then its removal
    (folder / "dtc" / "extra_codes.md").write_text("# Extra codes\n\n## B1234 Zanzibarite sensor open\n\nCheck the plug.\n")
    ingest(settings, [folder])
    assert "extra_codes.md" in bm25_sources(retriever, "zanzibarite")
    assert retriever.search("B1234", k=1).passages[0].source.endswith("extra_codes.md")
    (folder / "dtc" / "extra_codes.md").unlink()
    ingest(settings, [folder])
    assert agree(retriever, settings) == changed
    assert "extra_codes.md" not in bm25_sources(retriever, "zanzibarite")
    assert retriever.search("B1234", k=3).unknown_codes == ["B1234"]
    retriever.close()

    # restart: a new process loads the saved BM25 side without rebuilding it, and ranks the same
    state_before = read_state(lexical_dir(settings))
    again = open_retriever(settings)
    assert not again.lexical.rebuilt and again.lexical.generation == state_before["generation"]
    assert bm25_sources(again, "quaggafrost")[:1] == ["trouble_codes.md"]
    script = (
        "import json, sys; from rag_car.settings import load_settings; from rag_car.knowledge.retrieve import open_retriever;"
        f"s = load_settings(overrides={{'data_dir': {str(settings.data_dir)!r}, 'embedding': {{'model': 'hash'}}}});"
        "r = open_retriever(s); res = r.search('quaggafrost', k=1);"
        "print(json.dumps([r.lexical.rebuilt, res.passages[0].chunk_id]))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f'[false, "{again.search("quaggafrost", k=1).passages[0].chunk_id}"]'
    again.close()


def test_damaged_or_stale_lexical_files_are_rebuilt(library):
    folder, settings = library
    ingest(settings, [folder])
    with open_retriever(settings) as retriever:
        ids = agree(retriever, settings)
    directory = lexical_dir(settings)
    (directory / "catalog.json").write_text("{not json")
    with open_retriever(settings) as retriever:
        assert retriever.lexical.rebuilt and agree(retriever, settings) == ids
    # the store changed behind the manifest's back (same generation, other count): rebuilt too
    with open_store(settings) as store:
        store.delete([sorted(ids)[0]])
    with open_retriever(settings) as retriever:
        assert retriever.lexical.rebuilt and agree(retriever, settings) == ids - {sorted(ids)[0]}


class FailingStore:
    """The real store whose chunk listing breaks after a few chunks (a server that went away)."""

    def __init__(self, store, after: int) -> None:
        self.store = store
        self.after = after

    def iter_all(self, batch: int = 1000):
        from rag_car.errors import StoreError

        for i, chunk in enumerate(self.store.iter_all(batch=batch)):
            if i == self.after:
                raise StoreError("the store went away", "start it again")
            yield chunk

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_rebuild_reads_vectors_too_and_a_failing_store_is_an_error_not_a_hang(library):
    from rag_car.errors import StoreError
    from rag_car.knowledge.retrieve.sync import build

    folder, settings = library
    assert ingest(settings, [folder]).ok
    with open_store(settings) as store:
        for _ in range(3):  # the reader thread hands over chunks, then vectors: every time, not by luck
            state = build(settings, store, generation=1)
            assert state.vectors is not None and state.vectors.shape[0] == state.catalog.size == store.count()
            state.records.close()
        with pytest.raises(StoreError, match="went away"):
            build(settings, FailingStore(store, after=3), generation=2)
