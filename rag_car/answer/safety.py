"""Question + passages + live snapshot -> safety topics, the documents' WARNING/CAUTION text, live stop conditions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from rag_car.answer.sentences import Sentence, terms

if TYPE_CHECKING:
    from rag_car.vehicle.profile import VehicleProfile

# Topics where a wrong answer can hurt someone; each with the words that raise it.
SAFETY_TOPICS: dict[str, tuple[str, ...]] = {
    "brakes": ("brake", "brakes", "braking", "abs", "brake pad", "brake pads", "rotor", "rotors", "caliper", "calipers",
               "brake fluid", "parking brake", "handbrake", "stopping distance", "pedal", "disc", "discs", "epb"),
    "steering": ("steering", "power steering", "eps", "steering wheel", "tie rod", "alignment", "pulls to"),
    "airbags": ("airbag", "airbags", "air bag", "srs", "pretensioner", "seat belt", "seatbelt", "occupant classification"),
    "overheating": ("overheat", "overheating", "overheated", "coolant", "radiator", "temperature gauge", "engine temperature",
                    "steam", "boiling", "thermostat", "running hot", "too hot"),
    "high voltage": ("high voltage", "high-voltage", "hv battery", "traction battery", "hybrid battery", "orange cable",
                     "inverter", "service plug", "service disconnect", "ev battery", "electric shock"),
    "fuel leaks": ("fuel leak", "fuel leaking", "leaking fuel", "fuel smell", "smell of fuel", "smell fuel", "gasoline smell",
                   "petrol smell", "smell gas", "fuel line", "fuel odor", "fuel odour", "fuel tank leak"),
    "tires": ("tire", "tires", "tyre", "tyres", "puncture", "flat tire", "flat tyre", "tread", "tpms", "blowout", "wheel nut",
              "wheel nuts", "lug nut", "lug nuts", "spare wheel", "spare", "space saver", "inflation", "snow chains",
              "jack", "jacking"),
    "towing": ("tow", "towing", "towed", "trailer", "tongue load", "hitch"),
    "battery": ("jump start", "jumpstart", "jump starting", "booster", "jumper cables", "battery acid"),
    "hood": ("hood", "bonnet", "steam"),
    "oil pressure": ("oil pressure", "oil warning", "oil lamp", "oil light"),
}

_STOP_DIRECTIONS = (
    # (words in the signal name/label, the out-of-range status that means "stop", the topic)
    (("coolant", "temp"), "high", "overheating"),
    (("oil", "press"), "low", "oil pressure"),
    (("brake", "fluid"), "low", "brakes"),
    (("brake", "press"), "low", "brakes"),
)


@dataclass(frozen=True)
class SafetyWarning:
    """A WARNING/CAUTION unit quoted from a document source ``n``."""

    n: int
    text: str
    kind: str


@dataclass(frozen=True)
class StopCondition:
    """A live reading or lamp that the documents say requires stopping the vehicle."""

    text: str  # "Engine coolant temperature 118 C (high: normal 85-105 C)"
    topic: str
    reason: str  # "lamp", "signal", "dtc"
    doc: str = ""  # knowledge-relative document that says so, when known
    section: str = ""
    key: str = ""  # the lamp key / signal / code


@dataclass
class SafetyCheck:
    topics: list[str] = field(default_factory=list)
    warnings: list[SafetyWarning] = field(default_factory=list)
    stops: list[StopCondition] = field(default_factory=list)

    @property
    def relevant(self) -> bool:
        return bool(self.topics or self.stops)


def safety_topics(text: str) -> list[str]:
    """The safety topics a question (or a passage) touches, in the fixed order of SAFETY_TOPICS."""
    low = " " + re.sub(r"[^a-z0-9]+", " ", (text or "").lower()) + " "
    found = []
    for topic, words in SAFETY_TOPICS.items():
        if any(f" {w} " in low for w in words):
            found.append(topic)
    return found


def topic_words(topic: str) -> set[str]:
    return {t for phrase in SAFETY_TOPICS.get(topic, ()) for t in terms(phrase)}


def select_warnings(
    topics: Iterable[str],
    question_terms: set[str],
    doc_sentences: dict[int, list[Sentence]],
    cited: set[int],
    limit: int = 3,
) -> list[SafetyWarning]:
    """The WARNING/CAUTION units to carry: those of the cited sources, then those of any other source that touch
    a safety topic of the question. Most relevant first, each text once, at most ``limit``."""
    topic_terms: set[str] = set()
    for topic in topics:
        topic_terms |= topic_words(topic)
    scored: list[tuple[float, int, int, SafetyWarning]] = []
    seen: set[str] = set()
    for n, sentences in doc_sentences.items():
        for sentence in sentences:
            if not sentence.is_safety:
                continue
            key = re.sub(r"\W+", " ", sentence.text.lower()).strip()
            if key in seen:
                continue
            own = set(terms(sentence.text))
            on_topic = len(own & topic_terms)
            on_question = len(own & question_terms)
            if n in cited:
                # a warning of a passage the answer quotes always travels with it
                score = 2.0 + on_topic + on_question
            elif on_topic:
                score = 1.0 + on_topic + 0.5 * on_question
            else:
                continue
            seen.add(key)
            scored.append((score, n, sentence.position, SafetyWarning(n, sentence.text, sentence.kind)))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    return [item[3] for item in scored[:limit]]


def stop_conditions(snapshot: Any, profile: "VehicleProfile | None" = None) -> list[StopCondition]:
    """The live conditions that mean "stop driving": a stop-driving lamp on or flashing, an active DTC whose lamp is
    one, a signal out of range in the direction that matters (coolant high, oil pressure low, brake fluid low).

    ``profile``: the vehicle profile in force; its lamps, codes and signals are the only vehicle-specific rules
    used (None: only what the lamp's or signal's own name says)."""
    if snapshot is None:
        return []
    lamps_by_key = dict(profile.lamps) if profile is not None else {}
    out: list[StopCondition] = []
    seen: set[str] = set()

    for lamp in live_items(getattr(snapshot, "lamps", [])):
        state = str(getattr(lamp, "state", "off"))
        if state not in ("on", "flashing"):
            continue
        key = str(getattr(lamp, "key", ""))
        fact = lamps_by_key.get(key)
        name = str(getattr(lamp, "name", "") or (fact.name if fact else key))
        if fact is not None and not fact.stop_driving:
            continue
        if fact is None and not _stop_by_words(name, "on"):
            continue
        topic = _topic_of(name) or "vehicle"
        seen.add(f"lamp:{key}")
        out.append(StopCondition(f"{name} is {state}", topic, "lamp", fact.doc if fact else "",
                                 fact.section if fact else "", key))

    for dtc in live_items(getattr(snapshot, "dtcs", [])):
        code = str(getattr(dtc, "code", "")).upper()
        rule = profile.stop_code(code) if profile is not None else None
        if rule is None:
            continue  # another vehicle's code table says nothing about this one's codes
        fact = profile.dtcs.get(code) if profile is not None else None
        lamp = lamps_by_key.get(fact.lamp) if fact else None
        if (lamp is not None and f"lamp:{lamp.key}" in seen) or f"dtc:{code}" in seen:
            continue
        seen.add(f"dtc:{code}")
        description = getattr(dtc, "description", "") or (fact.description if fact else "")
        out.append(StopCondition(f"trouble code {code} is active ({description})" if description else f"trouble code {code} is active",
                                 _topic_of(description + " " + (lamp.name if lamp else "")) or "vehicle", "dtc",
                                 rule.doc, rule.section, code))

    stop_signals = profile.stop_signals() if profile is not None else {}
    for reading in live_items(getattr(snapshot, "signals", [])):
        status = str(getattr(reading, "status", "ok"))
        if status not in ("low", "high"):
            continue
        name = str(getattr(reading, "name", ""))
        message = str(getattr(reading, "message", ""))
        label = str(getattr(reading, "description", "") or name)
        rule = stop_signals.get(f"{message}.{name}")  # by Message.Signal only: never another DBC's same-named signal
        direction_ok = _stop_by_words(f"{name} {label}", status) or (rule is not None and rule.direction == status)
        linked = rule
        if linked is None and not direction_ok:
            continue
        if linked is not None and not direction_ok and (linked.direction or _has_direction(f"{name} {label}")):
            continue  # e.g. coolant temperature *low* is not a stop condition even though P0217 names the signal
        if f"signal:{name}" in seen:
            continue
        seen.add(f"signal:{name}")
        text = reading_text(reading)
        topic = _topic_of(f"{name} {label}") or "vehicle"
        out.append(StopCondition(text, topic, "signal", linked.doc if linked else "", linked.section if linked else "", name))
    return out


def reading_text(reading: Any, normal: tuple[float, float] | None = None) -> str:
    """"Engine coolant temperature 118 degC (high: normal 85-105 degC)": one live reading as a line (the reading's
    own to_text() when it has one, without the age). ``normal``: the documents' normal range, when known."""
    to_text = getattr(reading, "to_text", None)
    if callable(to_text):
        return re.sub(r", updated [^,]* ago$", "", to_text())
    name = str(getattr(reading, "description", "") or getattr(reading, "name", ""))
    value = getattr(reading, "value", "")
    unit = str(getattr(reading, "unit", "") or "")
    status = str(getattr(reading, "status", "ok"))
    label = getattr(reading, "label", None)
    if isinstance(value, float):
        value = f"{value:.1f}".rstrip("0").rstrip(".")
    text = f"{name} {label} ({value})" if label else f"{name} {value}{(' ' + unit) if unit else ''}"
    normal = normal or getattr(reading, "normal", None)
    if status in ("low", "high", "stale"):
        text += f" ({status}" + (f": normal {normal[0]:g}-{normal[1]:g}{(' ' + unit) if unit else ''}" if normal else "") + ")"
    return text


def _stop_by_words(text: str, status: str) -> bool:
    low = text.lower()
    for words, direction, _topic in _STOP_DIRECTIONS:
        if all(w in low for w in words) and (status == direction or status == "on"):
            return True
    return False


def _has_direction(text: str) -> bool:
    low = text.lower()
    return any(all(w in low for w in words) for words, _d, _t in _STOP_DIRECTIONS)


def _topic_of(text: str) -> str:
    topics = safety_topics(text)
    low = text.lower()
    if "oil" in low and "press" in low:
        return "oil pressure"
    if "temp" in low and "coolant" in low:
        return "overheating"
    return topics[0] if topics else ""


def live_items(value: Any) -> list[Any]:
    """A snapshot's readings, codes or lamps as a list, whether it holds a list, a dict by name, or nothing."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    return list(value)
