"""A paragraph -> whether it opens a safety notice, and of which kind: the labels of ANSI Z535 / ISO 3864 style
notices (DANGER, WARNING, CAUTION, NOTICE) and their Chinese equivalents in GB 2894 and Chinese owner's manuals
(危险, 警告, 注意, 提示), one table for the chunker and the answer side."""

from __future__ import annotations

import re

# the Chinese label -> the kind it is (a Chinese label counts only when a colon or "!" follows: "注意" is also a verb)
ZH_LABELS = {"危险": "danger", "警告": "warning", "注意": "caution", "提示": "notice"}

# "WARNING: ...", "**CAUTION** ...", "Danger! ...", "NOTICE: ...", "警告：..." open a safety text; "Warning lamp."
# (a label) and "警告灯" (a warning lamp) do not
SAFETY_LEAD = re.compile(r"^\W{0,4}(?:(WARNING|CAUTION|DANGER|NOTICE)\b|(Warning|Caution|Danger|Notice)\s*[:!]|"
                         r"(" + "|".join(ZH_LABELS) + r")\W{0,2}\s*[:：!！])\W*")
# what the chunker keeps whole: the capitalised English labels and the Chinese ones
SAFETY_BLOCK = re.compile(r"^\W{0,4}(?:(?:WARNING|CAUTION|DANGER|NOTICE)\b|(?:" + "|".join(ZH_LABELS) + r")\W{0,2}\s*[:：!！])")


def is_bare_label(text: str) -> bool:
    """Whether a paragraph is a safety label and nothing else ("WARNING", "**Warning!**", "注意："): the notice's text
    is the paragraph that follows it (a label on its own line is common in PDFs and reStructuredText line blocks)."""
    match = SAFETY_LEAD.match((text or "").strip())
    return match is not None and match.end() == len(text.strip())


def safety_kind(text: str) -> str | None:
    """``warning``, ``caution``, ``danger`` or ``notice`` when the text opens with a safety label, else None."""
    match = SAFETY_LEAD.match(text or "")
    if match is None:
        return None
    if match.group(3):
        return ZH_LABELS[match.group(3)]
    return (match.group(1) or match.group(2)).lower()
