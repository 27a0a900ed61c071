"""A question -> what kind of passage it asks for: a section kind ("fix?" -> the repair procedure) and whether
it is about a trouble code at all. Preferences that reorder good candidates, never filters.

Service documents share a handful of section kinds: bulletins and recalls have a symptom, a cause, a repair
(remedy, correction), parts and labour time; manuals have procedures. A technician asking "harsh 2-3 shift,
fix?" wants the repair, "why does it ..." the cause. Every passage already carries its document's title in its
citation, so preferring the section that answers costs the reader nothing: "ASB-24-002 ... > Repair procedure"
says both that the bulletin exists and what to do.
"""

from __future__ import annotations

import re

from rag_car.text.codes import find_codes

# question wording -> the innermost headings that answer it
_SECTION_INTENTS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = (
    ("repair",
     re.compile(r"\b(?:fix|fixes|fixed|fixing|remedy|remedies|cure|solution|solve|correction|repair procedure|"
                r"how (?:do i|to|can i) (?:fix|repair|cure)|what (?:to|should i) do|any (?:service )?bulletins?|"
                r"is there an? (?:service )?(?:bulletin|tsb)|any tsbs?)\b", re.IGNORECASE),
     re.compile(r"\b(?:repair|remedy|correction|fix|solution|service procedure)\b", re.IGNORECASE)),
    ("cause", re.compile(r"\b(?:why|causes?|caused|reason)\b", re.IGNORECASE), re.compile(r"\bcauses?\b", re.IGNORECASE)),
    ("symptom", re.compile(r"\bsymptoms?\b", re.IGNORECASE), re.compile(r"\bsymptoms?\b", re.IGNORECASE)),
    ("parts", re.compile(r"\b(?:part numbers?|parts|kit|p/n)\b", re.IGNORECASE), re.compile(r"\bparts\b", re.IGNORECASE)),
    ("labour", re.compile(r"\b(?:labou?r|flat rate)\b", re.IGNORECASE), re.compile(r"\blabou?r\b", re.IGNORECASE)),
)
# words that make a question about trouble codes even when it names none ("which code is ...", "fault codes")
_CODE_WORDS = re.compile(r"\b(?:codes?|dtcs?|obd(?:-?ii|2)?|fault|faults|error|errors|trouble)\b", re.IGNORECASE)


def section_intents(question: str) -> list[str]:
    """The section kinds the question asks for ("repair", "cause", "symptom", "parts", "labour"), in that order."""
    return [kind for kind, asks, _ in _SECTION_INTENTS if asks.search(question)]


def answers_intent(heading: str, kinds: list[str]) -> bool:
    """Does an innermost heading ("Repair procedure", "Cause") answer one of these section kinds?"""
    return any(pattern.search(heading) for kind, _, pattern in _SECTION_INTENTS if kind in kinds)


def about_codes(question: str) -> bool:
    """Does the question name a code, or talk about codes? A trouble-code reference entry answers such a
    question; for any other ("airbag light stays on") it is background, and a manual's section comes first."""
    return bool(_CODE_WORDS.search(question) or find_codes(question))
