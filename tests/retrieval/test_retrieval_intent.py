"""What a question asks for reorders good candidates: the section kind ("fix?"), code entries only for code
questions, banners last; and the filtered dense search is exact over the row vectors, never Chroma's ``where``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.retrieve import Filters, open_retriever
from rag_car.knowledge.retrieve.intent import about_codes, answers_intent, section_intents
from rag_car.knowledge.retrieve.lexical import chunk_tokens, document_text, tokenize
from rag_car.knowledge.retrieve.retriever import Retriever, masked_nearest
from rag_car.knowledge.retrieve.sync import row_order
from rag_car.settings import load_settings
from rag_car.tuning import TUNING

FILES = Path(__file__).resolve().parent / "files"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("intent-index")
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash"}})
    assert ingest(settings, [FILES / "intent", FILES / "kb"]).ok
    return data


def open_with(index_dir: Path, **tuning):
    settings = load_settings(overrides={"data_dir": str(index_dir), "embedding": {"model": "hash"}})
    return open_retriever(settings, tuning=TUNING.with_retrieval(**tuning))


def where(passage) -> str:
    return f"{Path(passage.source).name} > {passage.section}"


def test_section_intents_from_the_wording():
    assert section_intents("harsh 2-3 shift on 2020 corrin, fix?") == ["repair"]
    assert section_intents("P0420 on a 2020 Corrin, any bulletin?") == ["repair"]
    assert section_intents("why does the pump whine") == ["cause"]
    assert section_intents("part number of the pump seal") == ["parts"]
    assert section_intents("how much oil does the engine take") == []
    assert answers_intent("Repair procedure", ["repair"]) and not answers_intent("Cause", ["repair"])
    assert about_codes("which code is coolant temperature high") and about_codes("P0303 at idle")
    assert not about_codes("airbag light stays on after start up")


def test_a_trouble_code_entry_yields_to_the_manual_when_no_code_is_asked(index_dir):
    with open_with(index_dir) as retriever:
        assert where(retriever.search("key fob battery type", k=3).passages[0]) == "owner_manual.md > Keys > Key fob battery"
        # asked about the code, the entry comes first again
        asked = retriever.search("which code is key fob battery low", k=3).passages[0]
        assert where(asked) == "trouble_codes.md > B1602 Key fob battery low"
    with open_with(index_dir, code_reference_factor=1.0) as retriever:  # the factor is what makes the difference
        assert where(retriever.search("key fob battery type", k=3).passages[0]) == "trouble_codes.md > B1602 Key fob battery low"


def test_code_carriers_start_with_the_section_asked_for_and_banners_last(index_dir):
    with open_with(index_dir) as retriever:
        result = retriever.search("P0128 on my Vesper, any bulletin?", k=8)
        assert result.codes == ["P0128"]
        assert where(result.passages[0]) == "QVB-22-010.txt > Repair procedure"
        bulletin = [p for p in result.passages if p.source.endswith("QVB-22-010.txt")]
        assert bulletin[-1].text.strip() == "QUILLON SERVICE BULLETIN"  # the banner line of the text file
        assert where(retriever.search("P0128 bulletin symptoms", k=3).passages[0]) == "QVB-22-010.txt > Symptom"
    with open_with(index_dir, section_intent_factor=1.0) as retriever:  # off: fused order decides
        assert where(retriever.search("P0128 on my Vesper, any bulletin?", k=3).passages[0]) != "QVB-22-010.txt > Repair procedure"


def test_masked_nearest_is_exact():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(500, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[7] + 0.1
    for mask in (rng.random(500) < 0.2, np.r_[np.zeros(100, bool), np.ones(50, bool), np.zeros(350, bool)]):
        rows = np.flatnonzero(mask)
        expected = rows[np.argsort(-(vectors[rows] @ query), kind="stable")][:10]
        got = masked_nearest(vectors, query, mask, 10)
        assert [r for r, _ in got] == expected.tolist()
        assert got[0][1] == pytest.approx(float(vectors[expected[0]] @ query), abs=1e-5)


class RecordingStore:
    """The real store, recording the ``where`` of every dense query."""

    def __init__(self, store) -> None:
        self.store = store
        self.wheres: list[object] = []

    def query_ids(self, vector, k, where=None):
        self.wheres.append(where)
        return self.store.query_ids(vector, k, where=where)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_filtered_search_is_exact_and_never_uses_the_chroma_filter(index_dir):
    with open_with(index_dir) as plain:
        recording = RecordingStore(plain.store)
        retriever = Retriever(plain.settings, recording, plain.embedder)
        narrow = Filters(doc_types=["bulletin"])
        result = retriever.search("rough idle coolant pump", k=4, filters=narrow, mode="dense")
        assert result.passages and all(p.doc_type == "bulletin" for p in result.passages)
        assert all(w is None for w in recording.wheres)  # a narrow filter is not even sent to Chroma
        wide = retriever.search("rough idle coolant pump", k=4, filters=Filters(make="Testco"), mode="dense")
        assert wide.passages and recording.wheres and all(w is None for w in recording.wheres)
        # the same ranking as Chroma's own filtered search (exact on an index this small)
        vector = plain.embedder.embed_query("rough idle coolant pump")
        from rag_car.knowledge.retrieve.filters import chroma_where

        chroma = plain.store.query_ids(vector, 4, where=chroma_where(narrow, retriever.lexical.catalog))
        assert [p.chunk_id for p in result.passages] == [cid for cid, _ in chroma]


def test_rows_are_grouped_by_vehicle_and_tokens_match_the_document_text(index_dir):
    with open_with(index_dir) as retriever:
        catalog = retriever.lexical.catalog
        records = retriever.lexical.records.get(range(catalog.size))
        chunks = [records[row] for row in range(catalog.size)]
        assert chunks == sorted(chunks, key=row_order)
        makes = [m.lower() for m in catalog.columns["make"]]
        assert makes == sorted(makes) and {"quillon", "testco"} <= set(makes)
        headings: dict[str, list[str]] = {}
        for row, chunk in enumerate(chunks):
            tokens, own = chunk_tokens(chunk, None, headings)
            assert set(tokens) == set(tokenize(document_text(chunk)))
            assert own == catalog.text_tokens[row] == len(tokenize(chunk.text))
