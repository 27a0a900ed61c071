"""Question wording -> the wording manuals use: drivers say "engine light" and "handbrake", manuals say
"check-engine lamp" and "parking brake". The expansion is added to the BM25 query (never replaces a word).

The phrases are matched on whole words, case-insensitive; longer phrases first. Keep entries generic to cars
(not to one manual): this is the vocabulary of a search box, not a model of any particular document. Where the
entries come from: everyday automotive usage (US and UK) against the terms of SAE J1930 and owner's-manual
convention. Measured (benchmarks/bench_retrieval.py, "hybrid no synonyms"): recall@5 of the expected section with /
without the expansion, bundled set 0.992 / 0.956, real manual 0.872 / 0.862 (it stays: it helps on both).
"""

from __future__ import annotations

import re

# phrase as people type it -> words the documents use
_PHRASES: dict[str, str] = {
    # warning lamps described by their symbol or colloquially
    "engine light": "check-engine lamp mil malfunction indicator",
    "check engine light": "check-engine lamp mil malfunction indicator",
    "service engine soon": "check-engine lamp mil",
    "thermometer": "coolant temperature",
    "temperature light": "coolant temperature warning lamp",
    "battery light": "charging system warning lamp",
    "battery symbol": "charging system warning lamp",
    "oil light": "oil pressure warning lamp",
    "oil can": "oil pressure warning lamp",
    "abs light": "abs warning lamp anti-lock",
    "brake light": "brake warning lamp",
    "airbag light": "airbag srs warning lamp",
    "seatbelt": "seat belt",
    "seat belt light": "seat belt reminder lamp",
    "tpms light": "tire pressure warning lamp",
    "tire light": "tire pressure warning lamp",
    "exclamation": "warning lamp",
    "traction control": "esc stability control",
    "skid": "esc stability control",
    "immobiliser": "immobilizer",
    # parts and controls
    "handbrake": "parking brake",
    "e-brake": "parking brake",
    "emergency brake": "parking brake",
    "lug nut": "wheel nut",
    "lug nuts": "wheel nuts",
    "gas": "fuel",
    "gas tank": "fuel tank",
    "petrol": "fuel gasoline",
    "trunk": "tailgate luggage",
    "boot": "tailgate luggage",
    "hood": "bonnet engine compartment",
    "windshield": "windscreen",
    "wipers": "wiper",
    "aircon": "air conditioning a/c",
    "ac": "air conditioning a/c",
    "heater": "heating climate",
    "rev counter": "tachometer",
    "mileage": "odometer km",
    "flat tire": "puncture flat tire spare",
    "flat battery": "discharged battery jump start",
    "dead battery": "discharged battery jump start",
    "jump start": "jump starting booster",
    "battery drain": "parasitic draw current",
    "drain the battery": "parasitic draw current",
    "drains the battery": "parasitic draw current",
    "going flat": "discharged parasitic draw",
    "goes flat": "discharged parasitic draw",
    "key fob": "remote key smart key",
    "won't start": "starting engine does not start",
    "doesn't start": "starting engine does not start",
    "shakes": "vibration rough idle misfire",
    "shaking": "vibration rough idle misfire",
    "stalls": "stall engine stops",
    "overheating": "overheat coolant temperature",
    "smell": "odor",
    "squeal": "noise squeak",
    "grinding": "noise",
    "firing order": "firing order cylinder",
    "refrigerant": "refrigerant a/c r-1234yf",
    "capacity": "capacities",
    "how much oil": "engine oil capacity capacities",
    "tire pressure": "cold pressure tire pressures",
    "interval": "schedule every km months",
    "how often": "schedule interval every",
}
_PATTERNS = sorted(
    ((re.compile(r"(?<![A-Za-z0-9])" + re.escape(phrase).replace(r"\ ", r"[\s-]+") + r"(?![A-Za-z0-9])", re.IGNORECASE), words)
     for phrase, words in _PHRASES.items()),
    key=lambda item: -len(item[0].pattern),
)


def expansion(question: str) -> str:
    """The words to add to the BM25 query for ``question`` ("" when no phrase matches)."""
    words: list[str] = []
    for pattern, extra in _PATTERNS:
        if pattern.search(question):
            for word in extra.split():
                if word not in words:
                    words.append(word)
    return " ".join(words)
