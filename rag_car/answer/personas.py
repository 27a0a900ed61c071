"""Persona name -> Persona: how an owner's and a technician's answers differ in selection and wording."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag_car.errors import ConfigError
from rag_car.settings import PERSONAS

_UNIT = r"(?:N·m|N-m|Nm|lb[- ]?ft|ft[- ]?lb|in[- ]?lb|kPa|psi|bar|mm|cm|ml|mL|l|L|V|A|mA|ohms?|Ω|°C|°F|C|F|rpm|km/h|mph|km|mi|%|s|ms|Hz|kg|g|qt|quarts?|liters?|litres?|seconds?|minutes?|hours?|days?|weeks?|months?|years?|miles?|watts?|W|in|inch(?:es)?|lbs?)"
SPEC = re.compile(r"\d+(?:[.,]\d+)?\s*(?:-|–|to)?\s*(?:\d+(?:[.,]\d+)?)?\s*" + _UNIT + r"(?![A-Za-z])")
TORQUE = re.compile(r"\b(?:torque|tighten|N·m|Nm|lb[- ]?ft)\b", re.IGNORECASE)
DTC = re.compile(r"\b[PCBU][0-3][0-9A-F]{3}\b")
SIGNAL_NAME = re.compile(r"\b[A-Z][A-Za-z0-9]*_[A-Za-z0-9_]+\b|\b[A-Z]{2,}[a-z]+[A-Z][A-Za-z]+\b|\b[a-z]+[A-Z][A-Za-z]+\b")
ACTION = re.compile(
    r"^(?:what to do|stop|pull over|switch off|turn off|turn on|check|have|contact|call|take|see|visit|do not|don't|never|drive|"
    r"keep|avoid|reduce|let|wait|open|close|press|use|add|top up|make sure|if)\b",
    re.IGNORECASE,
)
WORKSHOP = re.compile(r"\b(?:dealer|workshop|service (?:centre|center|facility|department)|garage|technician|qualified)\b", re.IGNORECASE)
DRIVE_SAFETY = re.compile(r"\b(?:safe(?:ly)? to (?:drive|continue)|stop (?:the (?:vehicle|car|engine)|driving)|"
                          r"continue driving|keep driving|do not drive|tow(?:ed|ing)?|pull over)\b", re.IGNORECASE)
NEXT_STEP = re.compile(r"\b(?:inspect|measure|check|test|verify|replace|clear the code|freeze frame|scan tool|"
                       r"diagnos\w*|resistance|voltage|continuity|connector|wiring|harness)\b", re.IGNORECASE)

# a sentence that *is* a diagnostic step (what a technician should do next)
DIAGNOSTIC_STEP = re.compile(r"^(?:next step:?\s*)?(?:inspect|measure|check|test|verify|replace|clear|read|confirm|repair|"
                             r"remove|go to|compare|look)\b|\bnext step\b|\bgo to step\b", re.IGNORECASE)


# sentence features a persona weighs: (weight name, what shows it)
FEATURES = (("spec", SPEC), ("torque", TORQUE), ("code", DTC), ("signal", SIGNAL_NAME), ("action", ACTION),
            ("workshop", WORKSHOP), ("drive_safety", DRIVE_SAFETY), ("next_step", NEXT_STEP))


@dataclass(frozen=True)
class Persona:
    """Who is asking. ``weights`` score sentence features for the extractive backend; ``doc_types`` bias sources;
    ``instructions`` go into the prompt of the generative backends."""

    name: str
    instructions: str
    max_sentences: int
    weights: dict[str, float] = field(default_factory=dict)
    doc_types: dict[str, float] = field(default_factory=dict)
    # the steps of a workshop document's procedure (a pressure test, "clear codes") are for a technician: an
    # owner is told what to do now and when to get help, from the same sources
    workshop_steps: bool = True

    def feature_bonus(self, text: str, kind: str, doc_type: str) -> float:
        """The persona's preference for one sentence, added to its relevance score (about -0.2 .. +0.3)."""
        w = self.weights
        bonus = self.doc_types.get(doc_type, 0.0)
        bonus += sum(w.get(name, 0.0) for name, pattern in FEATURES if pattern.search(text))
        if kind in ("step", "row"):
            bonus += w.get(kind, 0.0)
        return bonus


OWNER = Persona(
    name="owner",
    instructions=(
        "The reader is the vehicle's owner, not a mechanic. Use plain words. Say first what to do now, then whether it is "
        "safe to keep driving (only if the sources say so), then when to see a workshop. Leave out torque values, signal "
        "names and workshop procedures unless asked."
    ),
    max_sentences=4,
    weights={"action": 0.12, "workshop": 0.08, "drive_safety": 0.15, "spec": 0.02, "torque": -0.08, "code": -0.03,
             "signal": -0.10, "next_step": -0.02, "step": -0.02, "row": -0.04},
    doc_types={"owner_manual": 0.08, "service_manual": -0.06, "dtc": -0.02, "bulletin": -0.04, "recall": 0.02, "complaint": -0.08},
    workshop_steps=False,
)

TECHNICIAN = Persona(
    name="technician",
    instructions=(
        "The reader is a qualified technician. Be precise: give codes, specifications, torque values, signal names and "
        "procedures exactly as the sources state them, and end with the next diagnostic step the sources give."
    ),
    max_sentences=6,
    weights={"action": 0.0, "workshop": -0.06, "drive_safety": 0.04, "spec": 0.12, "torque": 0.10, "code": 0.08,
             "signal": 0.06, "next_step": 0.08, "step": 0.06, "row": 0.05},
    doc_types={"service_manual": 0.08, "dtc": 0.06, "bulletin": 0.05, "owner_manual": -0.02, "complaint": -0.06},
)

_PERSONAS = {"owner": OWNER, "technician": TECHNICIAN}
# the documents written for a workshop, not for the driver
WORKSHOP_DOC_TYPES = frozenset({"service_manual", "dtc", "bulletin"})


def get_persona(name: str | None) -> Persona:
    """The persona called ``name`` (default owner); raises ConfigError listing the valid names."""
    key = (name or "owner").strip().lower()
    if key not in _PERSONAS:
        raise ConfigError(f"unknown persona {name!r}", f"use one of {', '.join(PERSONAS)}")
    return _PERSONAS[key]
