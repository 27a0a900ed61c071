"""Answers to Chinese questions over Chinese text (hand-made manual, the real answer pipeline, extractive backend):
the value is quoted, the 警告 notice travels whole, the frame (refusal, closest sources) is in Chinese, and no
"does not look like English" notice; sources quoted as written are said to be so once."""

from types import SimpleNamespace

from answer_fakes import KeywordRetriever, TermEmbedder, passage

from rag_car.answer.assistant import Assistant
from rag_car.vehicle.profile import Garage
from rag_car.knowledge.chunk import Chunk
from rag_car.knowledge.retrieve.catalog import Catalog
from rag_car.knowledge.retrieve.records import Records
from rag_car.settings import load_settings
from rag_car.tuning import TUNING

SRC = "/k/owner/manual_zh.md"
WARNING = "警告：冷却液温度警告灯亮着时不要继续行驶，否则发动机可能严重损坏。请在安全的地方停车并关闭发动机。"


def chunk(i: int, section: str, text: str) -> Chunk:
    return Chunk(f"c{i}", text, {"source": SRC, "title": "用户手册", "section": section, "chunk_index": i,
                                 "doc_type": "owner_manual", "page": 0})


CHUNKS = [
    chunk(0, "第2章 仪表与警告灯 > 2.4 冷却液温度警告灯",
          "冷却液温度超过 113 °C 时，红色温度警告灯点亮。发动机正常工作温度约为 85-105 °C。\n" + WARNING),
    chunk(1, "第3章 轮胎气压 > 3.1 推荐冷胎气压", "冷车时前轮胎压为 230 kPa，后轮胎压为 220 kPa。满载时后轮为 250 kPa。"),
    chunk(2, "第4章 应急处置 > 4.2 搭电启动", "先连接正极电缆，再连接负极电缆。启动后先拆负极电缆。"),
]


class IndexedRetriever(KeywordRetriever):
    def __init__(self, chunks):
        passages = [passage(int(c.id[1:]) + 1, c.text, SRC, str(c.metadata["section"])) for c in chunks]
        for p, c in zip(passages, chunks):
            p.chunk_id = c.id
            p.metadata["chunk_index"] = c.metadata["chunk_index"]
        super().__init__(passages, TermEmbedder())
        self.lexical = SimpleNamespace(catalog=Catalog.build(chunks), records=Records(chunks=chunks))


def ask(tmp_path, question: str):
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    assistant = Assistant(settings, retriever=IndexedRetriever(CHUNKS), garage=Garage(),
                          tuning=TUNING.with_answer(abstain_below=0.1))
    return assistant.ask(question, persona="owner")


def test_a_chinese_question_gets_the_value_and_the_whole_warning(tmp_path):
    answer = ask(tmp_path, "冷却液温度警告灯在多少度时点亮？")
    assert not answer.abstained, answer.answer
    assert "113 °C" in answer.answer
    assert any(WARNING in w or w in WARNING and len(w) > 20 for w in answer.warnings), answer.warnings
    assert not any("English" in n for n in answer.notices), answer.notices
    assert ". " not in answer.answer  # Chinese sentences end with their own marks
    assert [c.section for c in answer.citations][:1] == ["第2章 仪表与警告灯 > 2.4 冷却液温度警告灯"]


def test_the_tire_pressure_is_quoted_in_chinese(tmp_path):
    answer = ask(tmp_path, "满载时后轮胎压应该是多少？")
    assert not answer.abstained and "250 kPa" in answer.answer


def test_an_uncovered_chinese_question_is_refused_in_chinese(tmp_path):
    answer = ask(tmp_path, "天窗怎么关闭？")
    assert answer.abstained
    assert "资料中没有涉及这个问题" in answer.answer or "最接近的资料" in answer.answer or not answer.citations


def test_mixed_and_traditional_questions_get_the_same_answer(tmp_path):
    for question in ("冷却液 warning lamp 在多少度时点亮？", "冷卻液溫度警告燈在多少度時點亮？"):
        answer = ask(tmp_path, question)
        assert not answer.abstained and "113 °C" in answer.answer, (question, answer.answer)


def test_a_language_no_model_reads_gets_a_clear_notice_not_a_guess(tmp_path):
    answer = ask(tmp_path, "የጎማ ግፊት ስንት ነው?")  # Amharic: neither model nor tokenizer reads Ethiopic script
    assert answer.abstained
    assert any("does not look like English" in n for n in answer.notices), answer.notices


def test_full_width_digits_letters_and_punctuation_get_the_same_answer(tmp_path):
    # what a Chinese keyboard types: full-width letters, digits and punctuation, an ideographic space
    answer = ask(tmp_path, "满载时后轮胎压应该是多少ｋＰａ？")
    assert not answer.abstained and "250 kPa" in answer.answer, answer.answer
    answer = ask(tmp_path, "冷却液温度超过多少度，\u3000温度警告灯会点亮？")
    assert not answer.abstained and "113 °C" in answer.answer, answer.answer


def test_a_full_width_unit_in_the_question_is_the_unit(tmp_path):
    # a Chinese keyboard types "ｋＰａ": the question is read (and shown) with the plain letters the text uses
    answer = ask(tmp_path, "满载时后轮胎压是多少ｋＰａ？")
    assert answer.question == "满载时后轮胎压是多少kPa？"
    assert not answer.abstained and "250 kPa" in answer.answer, answer.answer
