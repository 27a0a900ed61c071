"""The BM25 side over Chunk-like records: tokens, ranking, persistence, the catalog's code map and filters."""

from dataclasses import dataclass, field

import numpy as np

from rag_car.knowledge.retrieve import filters as F
from rag_car.knowledge.retrieve.catalog import Catalog
from rag_car.knowledge.retrieve.lexical import LexicalIndex, tokenize
from rag_car.knowledge.retrieve.passage import Filters


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    metadata: dict = field(default_factory=dict)


def meta(**kw):
    base = {"source": "/k/doc.md", "title": "", "doc_type": "other", "make": "", "model": "", "year_min": 0,
            "year_max": 0, "section": "", "codes": "", "refs": ""}
    base.update(kw)
    return base


RECORDS = [
    Record("dtc-1", "P0303 Cylinder 3 misfire detected. The engine shakes at idle.",
           meta(source="/k/dtc.md", doc_type="dtc", codes=",P0303,", section="Codes > P0303")),
    Record("dtc-2", "P0304 Cylinder 4 misfire detected.", meta(source="/k/dtc.md", doc_type="dtc", codes=",P0304,")),
    Record("oil", "Engine oil: drain plug torque 30 N·m. Change the oil filter every 10,000 km.",
           meta(source="/k/owner.md", doc_type="owner_manual", make="Ford", model="Focus", year_min=2000, year_max=2004)),
    Record("rcl", "Recall 02V288000: misrouted battery cables could short. Dealers will reroute the cables.",
           meta(source="/n/recalls.tsv", doc_type="recall", make="FORD", model="FOCUS SVT", year_min=2001, year_max=2001,
                refs=",02V288000,")),
    Record("tsb", "Service bulletin TSB 21-004: rough idle after cold start; reflash the engine control module.",
           meta(source="/k/bulletins.md", doc_type="bulletin", make="Acme", model="Aurora", year_min=2019, year_max=2021)),
]


def test_tokens_keep_codes_and_stem_words():
    tokens = tokenize("The engine SHAKES at idle; P0303 set, TSB 21-004, campaign 02V-288.")
    assert "p0303" in tokens and "shake" in tokens and "idl" in tokens
    assert {"21", "004", "21004"} <= set(tokens)
    assert "02v288000" in tokens
    assert "the" not in tokens and "at" not in tokens
    assert "off" in tokenize("the light stays off")  # a little word that matters is kept


def test_bm25_ranks_exact_code_and_words():
    index = LexicalIndex.build(r.text for r in RECORDS)
    assert index.size == 5
    rows = index.search(tokenize("what does P0303 mean"), k=3)
    assert rows[0][0] == 0 and all(score > 0 for _, score in rows)
    assert index.search(tokenize("drain plug torque"), k=1)[0][0] == 2
    assert index.search(tokenize("zzzz qqqq"), k=3) == []


def test_bm25_weight_mask_excludes_rows(tmp_path):
    index = LexicalIndex.build(r.text for r in RECORDS)
    mask = np.array([0, 1, 1, 1, 1], dtype=np.float32)
    assert all(row != 0 for row, _ in index.search(tokenize("P0303 misfire"), k=5, weight_mask=mask))
    index.save(tmp_path / "bm25")
    again = LexicalIndex.load(tmp_path / "bm25", size=5)
    assert again.search(tokenize("battery cables"), k=1) == index.search(tokenize("battery cables"), k=1)


def test_empty_corpus_finds_nothing():
    index = LexicalIndex.build([])
    assert index.size == 0 and index.search(["p0303"], k=5) == []


def test_catalog_code_map_prefers_metadata(tmp_path):
    catalog = Catalog.build(RECORDS)
    assert catalog.codes["P0303"] == [0]
    assert catalog.codes["02V288000"] == [3] and 3 in catalog.code_in_metadata["02V288000"]
    assert catalog.codes["21004"] == [4] and "21004" not in catalog.code_in_metadata  # text mention only
    catalog.save(tmp_path / "c.json")
    loaded = Catalog.load(tmp_path / "c.json")
    assert loaded.ids == catalog.ids and loaded.codes == catalog.codes
    assert loaded.vehicles() == [
        {"make": "Acme", "model": "Aurora", "year_min": 2019, "year_max": 2021},
        {"make": "Ford", "model": "Focus", "year_min": 2000, "year_max": 2004},
        {"make": "FORD", "model": "FOCUS SVT", "year_min": 2001, "year_max": 2001},
    ]


def test_filters_mask_and_where_agree():
    catalog = Catalog.build(RECORDS)
    ford = Filters(make="ford", model="focus", year=2001)
    mask = F.row_mask(ford, catalog)
    assert mask.tolist() == [True, True, True, True, False]  # generic rows pass, Aurora does not
    where = F.chroma_where(ford, catalog)
    assert {"make": {"$in": ["", "FORD", "Ford"]}} in where["$and"]
    assert {"model": {"$in": ["", "FOCUS SVT", "Focus"]}} in where["$and"]
    assert F.row_mask(Filters(year=2003), catalog).tolist() == [True, True, True, False, False]
    assert F.row_mask(Filters(doc_types=["dtc"]), catalog).tolist() == [True, True, False, False, False]
    assert F.row_mask(Filters(sources=["recalls.tsv"]), catalog).tolist() == [False, False, False, True, False]
    assert F.chroma_where(Filters(), catalog) is None and F.row_mask(Filters(), catalog) is None


def test_vehicle_parsing_and_inference():
    catalog = Catalog.build(RECORDS)
    assert F.parse_vehicle("Acme Aurora 2020", catalog) == Filters(make="Acme", model="Aurora", year=2020)
    assert F.parse_vehicle("aurora", catalog) == Filters(make="Acme", model="Aurora")
    assert F.parse_vehicle("Tesla Roadster 2010", catalog) == Filters(make="Tesla", model="Roadster", year=2010)
    assert F.infer_filters("Does my 2020 Aurora have a bulletin for rough idle?", catalog) == (
        Filters(make="Acme", model="Aurora", year=2020), ["make", "model", "year"])
    # an everyday word that is also a model name is not a vehicle; a year nothing covers is not inferred
    assert F.infer_filters("I can't focus on the road in 1975", catalog) == (Filters(), [])
    assert F.infer_filters("ford focus 2001 battery", catalog)[0] == Filters(make="Ford", model="FOCUS SVT", year=2001) or \
        F.infer_filters("ford focus 2001 battery", catalog)[0].make.lower() == "ford"


def test_unknown_vehicle_note():
    catalog = Catalog.build(RECORDS)
    note = F.describe_unknown_vehicle(Filters(make="Tesla"), catalog)
    assert note and "Tesla" in note and "Acme Aurora 2019-2021" in note
    assert F.describe_unknown_vehicle(Filters(make="acme"), catalog) is None


def test_fast_scoring_equals_the_library_scoring():
    texts = [r.text for r in RECORDS] * 40  # repeated words: long postings
    index = LexicalIndex.build(texts)
    tokens = tokenize("engine misfire cylinder idle oil cables cables")
    ours = index.scores(tokens)
    theirs = index._bm25.get_scores(tokens)
    assert np.allclose(ours, theirs, atol=1e-5) and ours.max() > 0


def test_grouped_scores_count_each_translated_word_once():
    # a structured query (Pirkola 1998): per source word the best of its senses, a sense the mean of its tokens;
    # checked against the plain BM25 of the same index, token by token
    index = LexicalIndex.from_tokens([["handl", "lamp"], ["handl", "deal", "lamp"], ["tire", "pressur"], ["pressur"],
                                      ["wiper"]])
    one = {t: index.scores([t]) for t in ("handl", "deal", "lamp", "tire", "pressur")}
    handle_lamp = index.grouped_scores([[["handl"], ["deal"]], [["lamp"]]])
    # row 1 has two senses of the first word: it gets the better one, not their sum
    assert np.allclose(handle_lamp, np.maximum(one["handl"], one["deal"]) + one["lamp"])
    assert handle_lamp[1] < index.scores(["handl", "deal", "lamp"])[1]
    # a two-word sense counts fully only where both words are: "pressure" alone gets half
    tire = index.grouped_scores([[["tire", "pressur"]]])
    assert np.allclose(tire, (one["tire"] + one["pressur"]) / 2)
    assert tire[2] > tire[3] > 0 and tire[4] == 0
    # filters apply as in scores(); nothing indexed -> None
    mask = np.array([1, 0, 1, 1, 1], dtype=np.float32)
    assert index.grouped_scores([[["handl"]]], mask)[1] == 0
    assert index.grouped_scores([[["absent"]]]) is None
    # the ceiling: every word matched by its best sense, each token at its best row; no row scores above it
    ceiling = index.grouped_ceiling([[["handl"], ["deal"]], [["lamp"]]])
    assert np.isclose(ceiling, max(one["handl"].max(), one["deal"].max()) + one["lamp"].max())
    assert handle_lamp.max() <= ceiling
    assert np.isclose(index.grouped_ceiling([[["tire", "pressur"]]]), (one["tire"].max() + one["pressur"].max()) / 2)
    assert index.grouped_ceiling([[["absent"]]]) == 0.0
