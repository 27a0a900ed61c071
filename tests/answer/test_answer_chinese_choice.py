"""How Chinese answers are chosen (#18): a Chinese question's own words rank Chinese sentences (the vocabulary kept
them), the dictionary's English words rank English ones without being diluted by Chinese words they can never
hold, a Chinese value question leads with the value of the quantity it asks for, a labelled Chinese paragraph is
one unit, a Chinese question for an amount the sentences never give in its unit is refused, and a sentence with
its translation among the candidates yields to the asker's language."""

from types import SimpleNamespace

import numpy as np

from answer_fakes import passage

from rag_car.answer.answerability import Evidence, Support, judge
from rag_car.answer.personas import get_persona
from rag_car.answer.selection import Scored, _length, asked_measures, in_asker_language, rank_sentences
from rag_car.answer.sentences import Sentence, split_sentences, terms
from rag_car.answer.sources import build_sources
from rag_car.answer.vocabulary import Vocabulary
from rag_car.text import zh_forms

OWNER = get_persona("owner")


def test_the_vocabulary_keeps_a_chinese_questions_words():
    chunks = [SimpleNamespace(text="冷却液温度警告灯在 113 °C 时点亮。", metadata={}),
              SimpleNamespace(text="Check the coolant level when the engine is cold.", metadata={})]
    vocabulary = Vocabulary.build(chunks)
    got = vocabulary.correct_text("冷却液 coolent 多少度")
    assert "冷却液" in got and "coolant" in got  # the Chinese word kept, the English typo corrected
    assert vocabulary.correct_text("check the coolant") == terms("check the coolant")  # English as before


def test_chinese_question_forms():
    assert zh_forms.asks_quantity("备胎气压是多少？") and zh_forms.asks_quantity("多久换一次机油")
    assert not zh_forms.asks_quantity("为什么胎压灯亮了") and not zh_forms.asks_quantity("几乎每天都亮")
    assert zh_forms.asks_how_to("电瓶没电了怎么搭电启动") and not zh_forms.asks_how_to("这是怎么回事")
    assert zh_forms.asks_how_or_why("这是怎么回事") and zh_forms.asks_how_or_why("为什么会过热")
    seconds, = zh_forms.asked_units("百公里加速需要几秒？")
    assert seconds.search("0-100 km/h in 8.5 s") and seconds.search("需要 8.5 秒") and not seconds.search("8.5 m")
    how_long, = zh_forms.asked_units("多长时间换一次？")
    assert how_long.search("every 15,000 km or 12 months") and not how_long.search("0W-20")
    assert zh_forms.asked_units("胎压是多少") == []


def test_a_chinese_value_question_asks_for_the_quantity_its_words_name():
    assert asked_measures("满载时轮胎气压应该是多少", set()) >= {"pressure"}
    assert asked_measures("发动机正常工作温度是多少", set()) >= {"temperature"}
    assert asked_measures("为什么胎压会低", set()) == frozenset()  # why, not how much
    assert asked_measures("What is the tire pressure?", {"tire", "pressur"}) == {"pressure"}  # English as before (kinds of rag_car.text.quantities)


def test_a_chinese_tire_pressure_question_leads_with_the_pressure():
    docs = build_sources([(passage(1, "请在冷胎时检查轮胎气压。\n正常载荷时轮胎气压为前轮 240 kPa。", "/k/zh.md",
                                   "3.1 推荐冷胎气压"), "question")])
    ranking = rank_sentences("轮胎气压是多少", docs, OWNER)
    assert "240 kPa" in ranking.sentences[0].sentence.text
    assert ranking.states_value(ranking.sentences[0].sentence.text)
    assert not ranking.states_value(ranking.sentences[1].sentence.text)
    how = rank_sentences("轮胎气压怎么检查", docs, OWNER)  # how, not how much: no value is asked for
    assert not how.measures


def test_glosses_rank_english_sentences_as_the_english_words_would():
    docs = build_sources([
        (passage(1, "If the airbag warning lamp stays on, have the system checked soon.", "/k/en.md", "Airbag lamp"),
         "question"),
        (passage(2, "Fasten the seat belt; the lamp goes out.", "/k/en.md", "Seat belt lamp"), "question"),
        (passage(3, "安全气囊警告灯一直亮着时，请尽快检查。", "/k/zh.md", "安全气囊警告灯"), "question"),
    ])
    crossed = rank_sentences("安全气囊灯一直亮着", docs, OWNER, glossed="airbag lamp")
    english = rank_sentences("airbag lamp", docs, OWNER)
    lexical = {s.sentence.text: s.lexical for s in crossed.sentences}
    plain = {s.sentence.text: s.lexical for s in english.sentences}
    airbag = docs[0].sentences[0].text
    assert lexical[airbag] == plain[airbag] > 0.5  # the Chinese words do not dilute an English sentence
    chinese = docs[2].sentences[0].text
    assert lexical[chinese] > 0.5  # ... nor the glosses a Chinese one


def test_a_labelled_chinese_paragraph_is_one_block():
    text = ("黄色发动机图形是发动机故障指示灯。\n常亮：系统检测到故障。车辆可以继续行驶。\n"
            "闪烁：发动机严重失火。请降低车速，尽快开到经销商处。")
    sentences = split_sentences(text)
    block = {s.text: s.block for s in sentences}
    assert block["闪烁：发动机严重失火。"] == block["请降低车速，尽快开到经销商处。"]
    assert block["常亮：系统检测到故障。"] == block["车辆可以继续行驶。"] != block["闪烁：发动机严重失火。"]
    assert block["黄色发动机图形是发动机故障指示灯。"] != block["常亮：系统检测到故障。"]
    # a hard-wrapped Chinese line (no end mark) still carries on its sentence
    wrapped = split_sentences("发动机过热时请在安全的地方\n停车并关闭发动机。")
    assert [s.text for s in wrapped] == ["发动机过热时请在安全的地方 停车并关闭发动机。"]


def test_a_short_chinese_sentence_is_no_fragment():
    assert _length("警告灯亮着时不要继续行驶。") >= 25
    assert _length("See below.") == len("See below.")


def _judge(question: str, sentences: list[str], about: list[str]):
    return judge(question, unknown_codes=[], known_codes=[], support=Support(0.9, 0.9, 0.0), threshold=0.5,
                 vehicles=[], live_focus=False, best_sentences=[Evidence(s) for s in sentences], about=about)


def test_a_chinese_question_for_an_amount_never_given_is_refused():
    # the sentences about its topic give no number
    assert not _judge("这款车的最高车速是多少？", ["请降低车速，避免急刹车。"], ["车速"]).answerable
    assert _judge("这款车的最高车速是多少？", ["最高车速为 180 km/h。"], ["车速"]).answerable
    # the unit asked ("几秒") appears nowhere, in either language
    assert not _judge("百公里加速需要几秒？", ["Towing limit 1,500 kg.", "请降低车速。"], []).answerable
    assert _judge("百公里加速需要几秒？", ["0-100 km/h takes 8.5 s."], []).answerable
    # not a quantity question: the value rules do not apply
    assert _judge("发动机过热怎么办？", ["请停车并关闭发动机。"], ["发动机"]).answerable


def test_question_forms_read_traditional_characters_and_units_by_name_or_symbol():
    assert zh_forms.asks_quantity("雨刷片要買多長的？") and zh_forms.asks_how_to("怎樣更換雨刷？")
    assert zh_forms.asks_how_or_why("為什麼胎壓燈會亮？")
    kg, = zh_forms.asked_units("拖车最多能拖多少公斤？")
    assert kg.search("braked trailer 750 kg") and kg.search("最大 750 千克") and not kg.search("750 km")
    kpa, = zh_forms.asked_units("前轮低于多少kPa时灯会亮？")
    assert kpa.search("below about 180 kPa") and not kpa.search("26 psi")
    assert zh_forms.asked_units("车上有多少安全气囊？") == []  # 安 begins a word here, not a unit
    chime, = zh_forms.asked_units("提示音会响多久？")  # how long: seconds too
    assert chime.search("a chime sounds for up to 90 seconds") and chime.search("响 90 秒")


def test_an_english_sentence_names_a_chinese_value_questions_topic_by_its_english():
    # a Chinese sentence of an unrelated passage shares a word ("安全") but gives no number; the English sentence
    # about the seat belt does, and it names the topic in English ("安全带": seat belt)
    unrelated = "本手册用三种形式标出安全信息："
    answers = "Above 20 km/h a chime sounds for up to 90 seconds if the seat belt is not fastened."
    assert _judge("没系安全带，提示音会响多久？", [unrelated, answers], ["安全", "安全带"]).answerable
    no_value = "Fasten the seat belt; the lamp goes out."
    assert not _judge("没系安全带，提示音会响多久？", [unrelated, no_value], ["安全", "安全带"]).answerable


def _scored(n: int, text: str, score: float) -> Scored:
    return Scored(n, Sentence(text, 0), 0.0, 0.0, score)


def test_a_sentence_yields_to_its_translation_in_the_askers_language():
    never = _scored(1, "Never tow the vehicle with the front wheels on the ground.", 0.8)
    never_zh = _scored(2, "任何距离都不要让前轮着地拖车。", 0.5)
    brake = _scored(1, "Release the parking brake before towing.", 0.6)
    flatbed_zh = _scored(2, "尽量用平板拖车运输车辆。", 0.4)
    limit = _scored(1, "Tow at no more than 50 km/h.", 0.7)
    slow_zh = _scored(2, "拖车时请慢速行驶。", 0.3)
    mat = np.array([[1.0, 0.0, 0.0, 0.0], [0.9, 0.1, 0.0, 0.0],  # a translation pair
                    [0.6, 0.4, 0.0, 0.0], [0.0, 0.3, 0.2, 0.0],  # "brake" is nearest "never_zh", which is not nearest it
                    [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.1, 0.9]])  # a pair, but the Chinese one drops the 50 km/h
    mat = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    out = in_asker_language([never, never_zh, brake, flatbed_zh, limit, slow_zh], mat)
    score = {s.sentence.text: s.score for s in out}
    assert score[never_zh.sentence.text] == 0.8 and score[never.sentence.text] == 0.5
    assert score[brake.sentence.text] == 0.6 and score[flatbed_zh.sentence.text] == 0.4
    assert score[limit.sentence.text] == 0.7 and score[slow_zh.sentence.text] == 0.3
