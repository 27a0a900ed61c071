"""The setting ``ui.language`` + the evidence at hand (a question, a browser's or a terminal's locale) -> the language
the interface's frame speaks (``en`` or ``zh``), and the names of units and personas as that frame writes them.

One rule for the web UI and the CLI: a setting that names a language wins; with ``auto``, a question's own language
(the script it is written in, as its answer's frame: rag_car/answer/i18n.py), else the locale of the browser or the
terminal. Values keep their numbers: only a unit's name changes ("96 km/h" -> "96 公里/小时").
"""

from __future__ import annotations

from collections.abc import Mapping

from rag_car.answer.i18n import answer_language

LANGUAGES = ("en", "zh")

# Units as a Chinese instrument cluster or owner's manual writes them (the names of GB 3100/3102's legal units, with
# the everyday 公里 for km). Symbols that Chinese text keeps as they are (°C, V, A, kPa, bar, %, Nm, Hz) are absent.
UNITS_ZH: dict[str, str] = {
    "km/h": "公里/小时", "kph": "公里/小时", "mph": "英里/小时", "km": "公里", "mi": "英里", "m": "米",
    "rpm": "转/分", "1/min": "转/分", "l": "升", "L": "升", "l/100km": "升/百公里", "L/100km": "升/百公里",
    "s": "秒", "min": "分钟", "h": "小时", "kWh": "千瓦时", "kW": "千瓦", "W": "瓦",
}
# the DBC spellings of units a reader knows by another symbol (cantools keeps a DBC's unit text verbatim)
_SYMBOLS = {"degC": "°C", "deg C": "°C", "degF": "°F"}

PERSONA_NAMES: dict[str, dict[str, str]] = {
    "owner": {"en": "Owner", "zh": "车主"},
    "technician": {"en": "Technician", "zh": "技师"},
}

# the document types of rag_car/knowledge/tags.py as a reader names them
DOC_TYPE_NAMES: dict[str, dict[str, str]] = {
    "owner_manual": {"en": "owner manual", "zh": "车主手册"},
    "service_manual": {"en": "service manual", "zh": "维修手册"},
    "dtc": {"en": "dtc", "zh": "故障码表"},
    "bulletin": {"en": "bulletin", "zh": "技术通告"},
    "recall": {"en": "recall", "zh": "召回"},
    "complaint": {"en": "complaint", "zh": "用户投诉"},
    "investigation": {"en": "investigation", "zh": "缺陷调查"},
    "other": {"en": "other", "zh": "其他"},
}


def locale_language(locale: str | None) -> str | None:
    """``zh`` or ``en`` for a locale tag ("zh-CN", "zh_TW.UTF-8", "en-GB"), None for another language or none."""
    tag = (locale or "").strip().lower()
    for lang in LANGUAGES:
        if tag == lang or tag.startswith((f"{lang}-", f"{lang}_", f"{lang}.")):
            return lang
    return None


def terminal_locale(environ: Mapping[str, str]) -> str | None:
    """The locale a terminal's messages use, in POSIX order: LC_ALL, then LC_MESSAGES, then LANG (None: unset)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    return None


def frame_language(setting: str, question: str | None = None, locale: str | None = None) -> str:
    """``en`` or ``zh``: ``setting`` when it names one; with ``auto``, the language of ``question`` when there is one
    (a Chinese question gets a Chinese frame whatever the browser says), else ``locale``'s, else English."""
    if setting in LANGUAGES:
        return setting
    if question and question.strip():
        return answer_language(question)
    return locale_language(locale) or "en"


def unit_label(unit: str | None, lang: str = "en") -> str:
    """How the frame writes ``unit`` in ``lang`` ("km/h" -> "公里/小时" in Chinese; "degC" -> "°C" in both)."""
    text = (unit or "").strip()
    text = _SYMBOLS.get(text, text)
    if lang == "zh":
        return UNITS_ZH.get(text, text)
    return text


def with_unit(value: str, unit: str | None, lang: str = "en") -> str:
    """``value`` followed by its unit as the frame writes it ("96 公里/小时"); the number is never changed."""
    return f"{value} {unit_label(unit, lang)}".strip()


def persona_name(persona: str, lang: str = "en") -> str:
    """The persona's display name in ``lang`` (its key when it has none)."""
    names = PERSONA_NAMES.get(persona)
    return names.get(lang, names["en"]) if names else persona


def doc_type_name(doc_type: str, lang: str = "en") -> str:
    """A document type's name in ``lang`` ("owner_manual" -> "owner manual", "车主手册"); unknown ones as written."""
    names = DOC_TYPE_NAMES.get(doc_type)
    return names.get(lang, names["en"]) if names else doc_type.replace("_", " ")
