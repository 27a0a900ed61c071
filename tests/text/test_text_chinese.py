"""Chinese text: language by script, jieba words for BM25, NFKC folding, sentence ends on 。！？；."""

from __future__ import annotations

from rag_car.knowledge.retrieve.lexical import tokenize
from rag_car.text.lang import chinese_words, detect_language, normalize
from rag_car.text.sentences import split_sentences


def test_language_is_read_from_the_script():
    assert detect_language("冷却液温度警告灯在多少度时点亮？") == "zh"
    assert detect_language("P0301 是什么意思") == "zh"  # a code inside Chinese text
    assert detect_language("What does P0301 mean?") == "en"
    assert detect_language("冷卻液溫度警告燈") == "zh"  # traditional characters
    assert detect_language("冷却液 coolant temperature warning lamp on the dash") == "en"


def test_full_width_digits_and_punctuation_fold():
    assert normalize("胎压２３０ｋＰａ，") == "胎压230kPa,"


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
