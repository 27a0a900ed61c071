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

ZH_QUANTITY_QUESTION = re.compile(r"多少|几(?!乎)|多[大高长久远重快宽]")
ZH_REASON_QUESTION = re.compile(r"为什么|为何|什么原因|原因是|怎么回事")
ZH_HOW_TO = re.compile(r"怎么(?!回事)|怎样|如何|步骤|办法|方法")


def asks_quantity(question: str) -> bool:
    """True for a Chinese question that asks for an amount ("备胎气压是多少？"), not how or why."""
    return bool(ZH_QUANTITY_QUESTION.search(question or "")) and not asks_how_or_why(question)


def asks_how_or_why(question: str) -> bool:
    """True for a Chinese question that asks how to do something or why something happens."""
    return bool(ZH_HOW_TO.search(question or "") or ZH_REASON_QUESTION.search(question or ""))


def asks_how_to(question: str) -> bool:
    """True for a Chinese question that asks how to do something ("电瓶没电了怎么搭电启动")."""
    return bool(ZH_HOW_TO.search(question or ""))


_N = r"\d(?:[\d,.]*\d)?\s*"
# 几/多少 + the unit the answer is counted in ("几秒", "多少公里"), and 多久 / 多长时间 (how long: a time or a distance
# between services), -> how a sentence in either language writes a value in that unit (SI units, their English
# and Chinese names)
_ASKED_UNIT = re.compile(r"(?:几|多少)\s*个?\s*(秒|公里|千米|年|月|小时|分钟|升)")
_UNIT_GIVEN = {
    "秒": r"(?:s|secs?|seconds?|秒)", "公里": r"(?:km|kilomet(?:er|re)s?|公里)", "千米": r"(?:km|千米|公里)",
    "年": r"(?:years?|年)", "月": r"(?:months?|个月|月)", "小时": r"(?:h|hours?|小时)", "分钟": r"(?:min|minutes?|分钟)",
    "升": r"(?:L|litres?|liters?|升)",
}
_HOW_LONG = re.compile(r"多久|多长时间")
_DURATION = r"(?:km|miles?|mi|days?|weeks?|months?|years?|hours?|h|min|公里|天|周|个月|月|年|小时|分钟)"


def asked_units(question: str) -> list[re.Pattern[str]]:
    """How a value in the unit a Chinese quantity question asks in is written ("几秒": "8.5 s", "8.5 秒"); empty
    when it names no unit."""
    out = [re.compile(_N + _UNIT_GIVEN[m.group(1)] + r"(?![A-Za-z])", re.IGNORECASE)
           for m in _ASKED_UNIT.finditer(question or "")]
    if _HOW_LONG.search(question or ""):
        out.append(re.compile(_N + _DURATION + r"(?![A-Za-z])", re.IGNORECASE))
    return out
