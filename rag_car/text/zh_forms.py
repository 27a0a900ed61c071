"""A Chinese question -> what kind of answer it asks for, read from the grammar of Mandarin questions (the
interrogatives every Chinese question is asked with), not from any document's words: the Chinese counterparts of
the English forms in rag_car.answer.selection, answerability and the extractive backend ("how much", "how do I",
"why").

- a quantity: 多少 (how much / how many), 几 + a measure (几次, 几公里; not 几乎 "almost"), 多 + an adjective of size
  (多大, 多高, 多长, 多久, 多远, 多重, 多快, 多宽);
- a procedure: 怎么 / 怎样 / 如何 (how), 步骤 (steps), 办法 / 方法 (the way to), but not 怎么回事 (what is going on);
- a reason: 为什么 / 为何 / 什么原因 / 怎么回事 (why, what is going on).
"""

from __future__ import annotations

import re

from rag_car.text.cedict import to_simplified

ZH_QUANTITY_QUESTION = re.compile(r"多少|几(?!乎)|多[大高长久远重快宽]")
ZH_REASON_QUESTION = re.compile(r"为什么|为何|什么原因|原因是|怎么回事")
ZH_HOW_TO = re.compile(r"怎么(?!回事)|怎样|如何|步骤|办法|方法")


def asks_quantity(question: str) -> bool:
    """True for a Chinese question that asks for an amount ("备胎气压是多少？", "雨刷片要買多長的？"), not how or why."""
    return bool(ZH_QUANTITY_QUESTION.search(_simplified(question))) and not asks_how_or_why(question)


def asks_how_or_why(question: str) -> bool:
    """True for a Chinese question that asks how to do something or why something happens."""
    simple = _simplified(question)
    return bool(ZH_HOW_TO.search(simple) or ZH_REASON_QUESTION.search(simple))


def asks_how_to(question: str) -> bool:
    """True for a Chinese question that asks how to do something ("电瓶没电了怎么搭电启动", "怎樣")."""
    return bool(ZH_HOW_TO.search(_simplified(question)))


def _simplified(question: str) -> str:
    # the forms above are written in simplified characters; a question in traditional ones (多長, 怎樣, 為什麼) asks
    # the same
    return to_simplified(question or "")


_N = r"\d(?:[\d,.]*\d)?\s*"
# 几/多少 + the unit the answer is counted in ("几秒", "多少公里"), and 多久 / 多长时间 (how long: a time or a distance
# between services), -> how a sentence in either language writes a value in that unit (SI units, their English
# and Chinese names)
# 几/多少 + the unit the answer is counted in ("几秒", "多少公里", "多少千帕"), and 多久 / 多长时间 (how long: a time or a
# distance between services), -> how a sentence in either language writes a value in that unit: the SI units and the
# units cars are specified in, by their Chinese names (GB 3100-1993's names and their everyday forms: 公斤 for 千克)
# and symbols
_UNIT_GIVEN = {
    "秒": r"(?:s|secs?|seconds?|秒)", "公里": r"(?:km|kilomet(?:er|re)s?|公里)", "千米": r"(?:km|千米|公里)",
    "年": r"(?:years?|年)", "月": r"(?:months?|个月|月)", "小时": r"(?:h|hours?|小时)", "分钟": r"(?:min|minutes?|分钟)",
    "升": r"(?:L|litres?|liters?|升)", "毫升": r"(?:ml|millilit(?:er|re)s?|毫升)",
    "公斤": r"(?:kg|kilograms?|公斤|千克)", "千克": r"(?:kg|kilograms?|公斤|千克)", "吨": r"(?:t|tonnes?|吨)",
    "千帕": r"(?:kPa|千帕)", "帕": r"(?:k?Pa|bar|psi|千帕|帕)", "巴": r"(?:bar|巴)",
    "毫米": r"(?:mm|millimet(?:er|re)s?|毫米)", "厘米": r"(?:cm|centimet(?:er|re)s?|厘米)",
    "度": r"(?:°\s*[CF]|℃|degrees?|度)", "摄氏度": r"(?:°\s*C|℃|degrees?|摄氏度)",
    "伏": r"(?:V|volts?|伏)", "伏特": r"(?:V|volts?|伏)",
    "牛米": r"(?:N\s*·?\s*m|牛米|牛·米)", "瓦": r"(?:k?W|瓦)", "千瓦": r"(?:kW|千瓦)",
}
_ASKED_UNIT = re.compile(r"(?:几|多少)\s*个?\s*(" + "|".join(sorted(_UNIT_GIVEN, key=len, reverse=True)) + ")")
# ... or a unit's symbol ("多少kPa", "几V": the SI symbols and the others car specifications use): a value is written
# with that same symbol
_SYMBOLS = "kPa MPa Pa psi bar km/h mph km mm cm kg t L mL ml V Ah A kW W hp Nm N·m h min s".split()
_ASKED_SYMBOL = re.compile(r"(?:几|多少)\s*(" + "|".join(re.escape(u) for u in _SYMBOLS) + r")(?![A-Za-z])")
_HOW_LONG = re.compile(r"多久|多长时间")
# how long: a time of any length, from seconds ("the chime sounds for 90 seconds") to years, or a distance
_DURATION = (r"(?:km|miles?|mi|days?|weeks?|months?|years?|hours?|h|min|minutes?|s|secs?|seconds?|"
             r"公里|天|周|个月|月|年|小时|分钟|秒)")


def asked_units(question: str) -> list[re.Pattern[str]]:
    """How a value in the unit a Chinese quantity question asks in is written ("几秒": "8.5 s", "8.5 秒"); empty
    when it names no unit."""
    question = _simplified(question)
    out = [re.compile(_N + _UNIT_GIVEN[m.group(1)] + r"(?![A-Za-z])", re.IGNORECASE)
           for m in _ASKED_UNIT.finditer(question)]
    out += [re.compile(_N + re.escape(m.group(1)) + r"(?![A-Za-z])", re.IGNORECASE)
            for m in _ASKED_SYMBOL.finditer(question)]
    if _HOW_LONG.search(question):
        out.append(re.compile(_N + _DURATION + r"(?![A-Za-z])", re.IGNORECASE))
    return out
