"""A question -> the language its answer's frame is written in, and the frame's strings in that language: the lead,
refusals, "closest sources", notices and labels. The quoted sources are never translated (the extractive backend
quotes them as written and says so once); generative backends are asked to answer in the question's language."""

from __future__ import annotations

from rag_car.text.lang import detect_language

LANGUAGES = ("en", "zh")
LANGUAGE_NAMES = {"en": "English", "zh": "Simplified Chinese (简体中文)"}

_STRINGS: dict[str, dict[str, str]] = {
    "not_covered": {"en": "The documents do not cover this question, so I will not guess.",
                    "zh": "资料中没有涉及这个问题，我不作猜测。"},
    "no_value": {"en": "The documents do not give this value, so I will not guess.",
                 "zh": "资料中没有给出这个数值，我不作猜测。"},
    "closest": {"en": "Closest sources: {listed}.", "zh": "最接近的资料：{listed}。"},
    "empty_question": {"en": "Please type a question, for example: What does code P0301 mean? or "
                             "Why is the temperature lamp on?",
                       "zh": "请输入问题，例如：故障码 P0301 是什么意思？或者：温度警告灯为什么亮了？"},
    "quoted_as_written": {"en": "the sources are quoted as written, in {languages}",
                          "zh": "以下资料按原文引用（{languages}）"},
    "stop": {"en": "STOP: ", "zh": "请停车："},
    "live_data": {"en": "Live data:", "zh": "实时数据："},
}
_LANGUAGE_IN = {"en": {"en": "English", "zh": "Chinese"}, "zh": {"en": "英文", "zh": "中文"}}


def answer_language(question: str) -> str:
    """``zh`` for a question written in Chinese, else ``en`` (other languages get the English frame)."""
    return "zh" if detect_language(question) == "zh" else "en"


def text(key: str, lang: str = "en", **values: str) -> str:
    """The frame string ``key`` in ``lang`` (English when there is no translation), formatted with ``values``."""
    table = _STRINGS[key]
    return table.get(lang, table["en"]).format(**values)


def localise(sentence: str, lang: str) -> str:
    """A fixed frame sentence written in English (a refusal from answerability.py) in ``lang``; others unchanged."""
    for table in _STRINGS.values():
        if table["en"] == sentence:
            return table.get(lang, sentence)
    return sentence


def quoted_note(lang: str, source_languages: set[str]) -> str | None:
    """The one notice that sources in another language than the answer's are quoted as written, or None."""
    other = sorted(source_languages - {lang})
    if not other:
        return None
    names = _LANGUAGE_IN.get(lang, _LANGUAGE_IN["en"])
    return text("quoted_as_written", lang, languages=("、" if lang == "zh" else ", ").join(names.get(o, o) for o in other))


def prompt_language_rule(question: str) -> str:
    """The instruction that makes a generative backend answer in the question's language from sources in any."""
    return (f"Answer in {LANGUAGE_NAMES[answer_language(question)]}, the language of the question, whatever the "
            "language of the sources; copy numbers, units and codes exactly, and keep WARNING/CAUTION (警告/注意) text "
            "whole, translated faithfully when the source is in another language.")
