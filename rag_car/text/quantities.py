"""Text -> the quantities it states (a number with its unit), and a question -> the quantities it asks for.

One model of quantity for retrieval, sentence choice and answerability: each kind (a speed, a mass, a length ...)
with the units its values are written in (SI and the common car units: general knowledge, not any document's
words), the names of those units a question may use ("in litres", "how many kW"), the words and verbs that ask for
it ("how heavy", "weigh", "cost", "last"), and the noun that names it in a sentence's terms (a value "240 kPa" is
about pressure). Chinese questions are read by rag_car.text.zh_forms and the dictionary's English glosses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Kind:
    """A kind of quantity. ``units``: a regex of how its unit is written after a number ("km/h"), case as written
    unless wrapped in (?i:...); ``prefix``: of a unit written before the number ("$"); ``names``: how a question
    names the unit (plain words, any case; only names that mean nothing else in a car's manual: not "bar", "in",
    "second", "pounds"); ``asked``: regex of the English forms that ask for this kind; ``noun``: the word a value of
    this kind adds to its sentence's terms ("" where the kind's own name means other things in a manual: "time",
    "distance control")."""

    name: str
    units: str
    names: tuple[str, ...] = ()
    asked: str = ""
    noun: str = ""
    prefix: str = ""


# the verbs that ask for a quantity by measuring it ("how much does it weigh", "what does it cost", "how long does
# it last"): they say what kind of answer is wanted, not what the question is about
MEASURING_VERBS = ("weigh", "weighs", "weighed", "cost", "costs", "last", "lasts")
_LAST = r"\blasts?\s*(?:[?.!,;]|$|for\b|before\b)"
_INTERVAL = r"\bhow often\b|\bwhen (?:do|does|should|must)\b.*\b(?:replac|chang|renew)|" + _LAST
KINDS: tuple[Kind, ...] = (
    Kind("speed", r"(?i:km/h|kph|mph|m/s)", ("km/h", "kph", "mph", "kilometres per hour", "kilometers per hour",
                                            "miles per hour"), r"\b(?:top|maximum|max)\s+speed\b|\bhow fast\b", "speed"),
    Kind("economy", r"(?i:mpg|l\s*/\s*100\s*km|km\s*/\s*l)", ("mpg", "miles per gallon", "l/100km", "l/100 km"),
         r"\bfuel (?:consumption|economy)\b"),
    Kind("emissions", r"(?i:g\s*/\s*km|g\s*/\s*mi)", ("g/km", "g/mi", "grams per kilometre", "grams per kilometer",
                                                      "grams per mile")),
    Kind("rotation", r"(?i:rpm|r/min)", ("rpm", "revolutions per minute")),
    Kind("torque", r"(?i:N·?m|lb-?ft|ft-?lbs?)", ("nm", "newton metres", "newton meters", "lb-ft", "ft-lb", "ft-lbs",
                                                  "pound-feet"), "", "torque"),
    Kind("pressure", r"(?i:kPa|psi|bar|MPa)", ("kpa", "psi", "mpa"), "", "pressure"),
    Kind("temperature", r"°\s?[CF]|degC|(?i:degrees? (?:celsius|fahrenheit|c|f))",
         ("celsius", "fahrenheit", "°c", "°f"), "", "temperature"),
    Kind("energy", r"(?i:kWh|Wh)", ("kwh", "kilowatt hours", "kilowatt-hours")),
    Kind("charge", r"(?i:Ah|mAh)", ("ah", "amp hours", "amp-hours", "ampere hours")),
    Kind("power", r"(?i:hp|bhp|kW|ps|watts?)|W", ("hp", "bhp", "kw", "kilowatts", "kilowatt", "watts", "horsepower"),
         r"\bpower output\b"),
    Kind("voltage", r"V|(?i:volts?)", ("volts",), "", "voltage"),
    Kind("current", r"A|mA|(?i:amps?|amperes?)", ("amps", "amperes")),
    Kind("volume", r"L|(?i:mL|litres?|liters?|gal(?:lons?)?|qts?|quarts?|cc)", ("litres", "liters", "litre", "liter",
                                                                             "gallons", "quarts", "ml", "cc"),
         "", "capacity"),
    Kind("mass", r"(?i:kg|kilograms?|lbs?|tonnes?|tons?|t)", ("kg", "kilograms", "lbs", "tonnes", "tons"),
         r"\b(?:curb|kerb|gross|maximum|max)\s+(?:\w+\s+)?(?:weight|load)\b|\bpayload\b|\bhow heavy\b|"
         r"\bweigh(?:s|ed|ing)?\b", "weight"),
    # a road distance (an interval, a range) and a length of a part or of the car: one dimension, written at scales
    # that do not answer each other ("every 15,000 km" is no wear limit of "2 mm")
    Kind("distance", r"(?i:km|kilomet(?:re|er)s?|miles?|mi)", ("km", "kilometres", "kilometers", "miles"),
         r"\bhow far\b|" + _INTERVAL),
    Kind("length", r"(?i:mm|cm|met(?:re|er)s?|m|ft|feet|inch(?:es)?)|in\b(?!\s+[a-z])",
         ("mm", "cm", "millimetres", "millimeters", "centimetres", "centimeters", "metres", "meters", "metre", "feet",
          "inches"),
         r"\bground clearance\b|\bhow (?:tall|wide|long) is (?:the|it|my) (?:car|vehicle)\b|"
         r"\bwhen (?:do|does|should|must)\b.*\b(?:replac|chang|renew)"),  # a wear limit ("below 2 mm")
    # a time at the scale of a drive (0-100 in 8 s, idle for 10 minutes) and a period of the calendar (every 2 years):
    # one dimension at scales that do not answer each other
    Kind("time", r"(?i:s|secs?|seconds?|mins?|minutes?|h|hrs?|hours?)", ("seconds", "minutes", "hours"), _LAST),
    # an acceleration time (0-100 km/h, 0-60 mph) is given in seconds, as every maker states it
    Kind("sprint", r"(?i:s|secs?|seconds?)", (), r"\b0\s*(?:-|to)\s*(?:60|62|100)\b|\bacceleration\b|\bhow quick(?:ly)?\b"),
    Kind("period", r"(?i:days?|weeks?|months?|years?|yrs?)", ("days", "weeks", "months", "years"), _INTERVAL),
    Kind("money", r"(?i:usd|eur|gbp|dollars?|euros?)", ("dollars", "euros", "usd", "eur", "gbp"),
         r"\b(?:cost|costs|costing|price|priced)\b", prefix=r"[$€£]"),
)
BY_NAME = {kind.name: kind for kind in KINDS}

# A question that asks for a quantity: its answer holds a number. The forms of English questions that ask for one
# (how much/many/long ...), not words of any one document.
QUANTITY_QUESTION = re.compile(
    r"\bhow (?:much|many|long|far|fast|big|heavy)\b|"
    r"\bwhat(?:'s| is| are)? (?:the |my |its )?(?:\w+ ){0,3}(?:capacity|size|speed|torque|horsepower|weight|mileage|"
    r"price|cost|power output|acceleration|consumption|clearance)\b|\bhorsepower\b|"
    r"\bhow (?:quick|quickly)\b.*\d|\b0\s*(?:-|to)\s*(?:60|62|100)\b|\bzero to sixty\b",
    re.IGNORECASE)
# A yes/no question ("can I overload it past its max weight?") asks whether, not how much, even when it names a
# quantity: the English auxiliaries such a question opens with.
YES_NO_QUESTION = re.compile(r"^\W*(?:can|could|may|might|should|shall|is|are|am|was|were|do|does|did|will|would|must|"
                             r"has|have)\b", re.IGNORECASE)
# a question that asks how or why wants a procedure or a reason, even when it names a quantity
HOW_OR_WHY = re.compile(r"\bhow (?:do|can|should|would|to)\b|\bwhy\b|\bwhat (?:do|should) i do\b", re.IGNORECASE)

_N = r"\d(?:[\d,.]*\d)?\s*"
# a frequency is often written in words, without a digit: "twice a month", "every year", "annually" (English)
_WORDED = {"period": r"(?i:\b(?:once|twice|\w+ times)\s+(?:a|per|every)\s+(?:day|week|month|year)\b|"
                     r"\bevery\s+(?:day|week|month|year)\b|\b(?:daily|weekly|monthly|yearly|annually)\b)"}
_VALUES = {kind.name: re.compile((rf"{kind.prefix}\s?\d|" if kind.prefix else "") + _N + rf"(?:{kind.units})(?![A-Za-z/])"
                                 + (rf"|{_WORDED[kind.name]}" if kind.name in _WORDED else "")) for kind in KINDS}
# the unit names a question may use, longest first so that "miles per gallon" is read before "miles"
_NAMES = sorted(((name, kind.name) for kind in KINDS for name in kind.names), key=lambda item: -len(item[0]))
# a unit name asks for a value in it where a question asks in what unit: "in litres", "how many kW" (elsewhere it is
# a word of the question, "feet up on the dash", "after two weeks")
_NAMED = re.compile(r"\b(?:in|how many|how much|number of)\s+(" + "|".join(re.escape(name) for name, _ in _NAMES)
                    + r")(?![\w/])", re.IGNORECASE)
_KIND_OF_NAME = {name.lower(): kind for name, kind in _NAMES}
_ASKED = [(re.compile(kind.asked, re.IGNORECASE), kind.name) for kind in KINDS if kind.asked]


def value_pattern(kind: str) -> re.Pattern[str]:
    """How a value of ``kind`` is written: a number with one of its units ("8.5 s", "$120")."""
    return _VALUES[kind]


@lru_cache(maxsize=50_000)
def stated_kinds(text: str) -> frozenset[str]:
    """The kinds of the quantities ``text`` states ("13.2-14.8 V": voltage)."""
    return frozenset(name for name, pattern in _VALUES.items() if pattern.search(text or ""))


def states(text: str, kinds: frozenset[str] | set[str]) -> bool:
    """Whether ``text`` states a value of one of ``kinds``."""
    return any(_VALUES[kind].search(text or "") for kind in kinds)


def asked_kinds(question: str) -> frozenset[str]:
    """The kinds of quantity a question asks for: by its English forms and measuring verbs ("how heavy", "weigh",
    "how long does it last"), or by the unit it names ("turning circle in metres", "how many kW"). Whether the
    question asks how much at all (not whether, how or why) is the caller's to decide (:func:`asks_value`)."""
    text = question or ""
    found = {name for pattern, name in _ASKED if pattern.search(text)}
    found |= named_kinds(text)
    return frozenset(found)


def named_kinds(question: str) -> frozenset[str]:
    """The kinds of the units a question asks in ("in litres", "how many kW"): the part of :func:`asked_kinds` that
    sentence choice reads (its own answer types weigh intervals and the like, rag_car.answer.selection)."""
    return frozenset(_KIND_OF_NAME[m.group(1).lower()] for m in _NAMED.finditer(question or ""))


def asks_value(question: str) -> bool:
    """Whether an English question asks how much: a quantity form or kind, and not a yes/no, how-to or why question."""
    text = question or ""
    if YES_NO_QUESTION.search(text) or HOW_OR_WHY.search(text):
        return False
    return bool(QUANTITY_QUESTION.search(text) or asked_kinds(text))


def nouns(kinds: frozenset[str] | set[str]) -> frozenset[str]:
    """The nouns of ``kinds`` that have one."""
    return frozenset(BY_NAME[k].noun for k in kinds if BY_NAME[k].noun)


def unit_names() -> tuple[str, ...]:
    """Every unit name a question may use."""
    return tuple(name for name, _ in _NAMES)


