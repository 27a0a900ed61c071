"""The store contract, run against both modes: an embedded PersistentClient and a real `chroma run` server."""

from __future__ import annotations

import numpy as np
import pytest

from ingest_helpers import free_port, make_settings
from rag_car.errors import StoreError
from rag_car.knowledge.chunk import Chunk
from rag_car.knowledge.embed import HashEmbedder
from rag_car.knowledge.store import open_store

EMBEDDER = HashEmbedder()
TEXTS = {
    "c-cool": "coolant temperature thermostat radiator fan",
    "c-brake": "brake fluid pads caliper rotor",
    "c-oil": "engine oil pressure lamp filter",
    "c-tire": "tire pressure sensor TPMS relearn",
}


def chunk(i: str, text: str, **meta) -> Chunk:
    base = {"source": f"/docs/{i}.md", "title": i, "doc_type": "service_manual", "make": "Brenner", "model": "Tavo",
            "year_min": 2020, "year_max": 2023, "section": "", "page": 0, "codes": "", "refs": "",
            "content_hash": i, "ingested_at": "2026-12-01T00:00:00Z", "chunk_index": 0}
    return Chunk(i, text, {**base, **meta})


@pytest.fixture(params=["embedded", "server"])
def store_settings(request, tmp_path):
    if request.param == "embedded":
        return make_settings(tmp_path / "data")
    host, port = request.getfixturevalue("chroma_server")
    collection = f"test_{request.node.name.split('[')[0][-40:]}_{free_port()}".replace("-", "_")
    return make_settings(tmp_path / "data", store={"mode": "server", "host": host, "port": port, "collection": collection})


class TestStoreContract:
    def test_add_get_query_count(self, store_settings):
        with open_store(store_settings, EMBEDDER.dim, EMBEDDER.name) as store:
            chunks = [chunk(i, t, doc_type="dtc" if i == "c-oil" else "service_manual") for i, t in TEXTS.items()]
            store.add(chunks, EMBEDDER.embed_documents([c.text for c in chunks]))
            store.add(chunks[:1], EMBEDDER.embed_documents([chunks[0].text]))  # the same id again: no duplicate
            assert store.count() == 4
            got = store.get(ids=["c-tire", "nope", "c-cool"])
            assert [c.id for c in got] == ["c-tire", "c-cool"] and got[0].text == TEXTS["c-tire"]
            assert got[0].metadata["year_min"] == 2020 and isinstance(got[0].metadata["year_min"], int)
            hits = store.query(EMBEDDER.embed_query("radiator fan coolant"), k=3)
            assert hits[0][0].id == "c-cool" and 0.5 < hits[0][1] <= 1.0001
            assert hits[0][1] >= hits[1][1] >= hits[2][1]
            filtered = store.query(EMBEDDER.embed_query("radiator fan coolant"), k=3, where={"doc_type": "dtc"})
            assert [c.id for c, _ in filtered] == ["c-oil"]
            assert [c.id for c in store.get(where={"doc_type": "dtc"})] == ["c-oil"]
            assert len(store.query(EMBEDDER.embed_query("x"), k=50)) == 4
            assert store.mode in store.describe() or "Chroma" in store.describe()

    def test_iter_all_delete_update(self, store_settings):
        with open_store(store_settings, EMBEDDER.dim, EMBEDDER.name) as store:
            chunks = [chunk(f"n{i:03d}", f"text number {i}") for i in range(25)]
            store.add(chunks, EMBEDDER.embed_documents([c.text for c in chunks]))
            assert sorted(c.id for c in store.iter_all(batch=7)) == [c.id for c in chunks]
            assert sorted(store.ids(batch=10)) == [c.id for c in chunks]
            store.delete(["n000", "n001", "never-there"])
            assert store.count() == 23
            store.update_metadata([chunk("n002", "text number 2", make="Other")])
            assert store.get(ids=["n002"])[0].metadata["make"] == "Other"
            assert store.get(ids=["n002"])[0].text == "text number 2"

    def test_another_model_or_dimension_is_refused(self, store_settings):
        with open_store(store_settings, EMBEDDER.dim, EMBEDDER.name) as store:
            store.add([chunk("a", "alpha")], EMBEDDER.embed_documents(["alpha"]))
        with pytest.raises(StoreError, match="was built with the embedding model hash"):
            open_store(store_settings, EMBEDDER.dim, "all-MiniLM-L6-v2")
        with pytest.raises(StoreError, match="holds 256-dimensional vectors"):
            open_store(store_settings, 384, "hash")
        with open_store(store_settings, create=False) as reader:  # metadata-only commands open it anyway
            assert reader.count() == 1 and reader.model == "hash" and reader.dim == 256

    def test_a_missing_collection_reads_as_empty(self, store_settings):
        with open_store(store_settings, create=False) as store:
            assert store.count() == 0 and store.get() == [] and list(store.iter_all()) == [] and not store.exists
            assert store.query(np.ones(EMBEDDER.dim), k=3) == []


def test_server_mode_describes_the_server(chroma_server, tmp_path):
    host, port = chroma_server
    settings = make_settings(tmp_path, store={"mode": "server", "host": host, "port": port, "collection": "describe_me"})
    with open_store(settings, EMBEDDER.dim, EMBEDDER.name) as store:
        assert store.describe() == f"Chroma server at http://{host}:{port} (collection describe_me)"


def test_an_unreachable_server_is_a_store_error_with_a_fix(tmp_path):
    settings = make_settings(tmp_path, store={"mode": "server", "host": "127.0.0.1", "port": free_port()})
    with pytest.raises(StoreError) as caught:
        open_store(settings, EMBEDDER.dim)
    assert "is not reachable" in caught.value.message and "chroma run" in caught.value.fix


def test_a_bad_collection_name(tmp_path):
    with pytest.raises(StoreError, match="not valid for Chroma"):
        open_store(make_settings(tmp_path, store={"collection": "a"}), EMBEDDER.dim)


def test_only_store_py_imports_chromadb():
    from pathlib import Path

    import rag_car

    root = Path(rag_car.__file__).parent
    importers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                       if "import chromadb" in p.read_text() or "from chromadb" in p.read_text())
    assert importers == ["knowledge/store.py"], importers
