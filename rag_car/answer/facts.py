"""knowledge/facts.toml -> VehicleFacts: lamps, DTCs and bulletins the assistant links live data to."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag_car.settings import BUNDLED_KNOWLEDGE


@dataclass
class VehicleFacts:
    """The machine-readable index of the bundled knowledge (contract 1), as lookups.

    ``lamps``: lamp key -> table; ``dtcs``: code -> table; ``bulletins``: the [[bulletin]] tables;
    ``stop_signals``: "MESSAGE.Signal" -> {doc, section, code} for signals named by a DTC whose lamp means stop;
    ``normal_ranges``: signal name -> (low, high) the documents call normal.
    """

    vehicle: dict[str, Any] = field(default_factory=dict)
    lamps: dict[str, dict[str, Any]] = field(default_factory=dict)
    dtcs: dict[str, dict[str, Any]] = field(default_factory=dict)
    bulletins: list[dict[str, Any]] = field(default_factory=list)
    stop_signals: dict[str, dict[str, Any]] = field(default_factory=dict)
    normal_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    root: Path = BUNDLED_KNOWLEDGE

    def doc_path(self, doc: str) -> str:
        """The absolute path of a knowledge-relative ``doc`` (what Passage.source holds)."""
        return str((self.root / doc).resolve()) if doc else ""

    def bulletins_for(self, code: str, year: int | None = None, vin: str | None = None) -> list[dict[str, Any]]:
        """The bulletins that name ``code`` and apply to the model year and VIN (when known), superseded ones dropped."""
        code = code.upper()
        hits = [b for b in self.bulletins if code in [str(c).upper() for c in b.get("dtcs", [])]]
        hits = [b for b in hits if _applies(b, year, vin)]
        superseded = {str(s) for b in hits for s in b.get("supersedes", [])}
        return [b for b in hits if str(b.get("number", "")) not in superseded]


def load_facts(path: Path | None = None) -> VehicleFacts:
    """Read ``facts.toml`` (default: the bundled knowledge's). A missing or broken file gives empty facts:
    the assistant then works from the documents alone."""
    path = Path(path) if path else BUNDLED_KNOWLEDGE / "facts.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return VehicleFacts(root=path.parent)
    lamps = {str(t.get("key", "")): dict(t) for t in data.get("lamp", []) if t.get("key")}
    dtcs = {str(t.get("code", "")).upper(): dict(t) for t in data.get("dtc", []) if t.get("code")}
    stop_signals: dict[str, dict[str, Any]] = {}
    for code, table in dtcs.items():
        lamp = lamps.get(str(table.get("lamp", "")))
        if not lamp or not lamp.get("stop_driving"):
            continue
        for signal in table.get("signals", []):
            entry = {"doc": table.get("doc", ""), "section": table.get("section", ""), "code": code}
            stop_signals.setdefault(str(signal), entry)
            stop_signals.setdefault(str(signal).rsplit(".", 1)[-1], entry)
    ranges = {}
    for table in data.get("signal_range", []):
        try:
            ranges[str(table["signal"])] = (float(table["low"]), float(table["high"]))
        except (KeyError, TypeError, ValueError):
            continue
    return VehicleFacts(
        vehicle=dict(data.get("vehicle", {})),
        normal_ranges=ranges,
        lamps=lamps,
        dtcs=dtcs,
        bulletins=[dict(t) for t in data.get("bulletin", [])],
        stop_signals=stop_signals,
        root=path.parent,
    )


def _applies(bulletin: dict[str, Any], year: int | None, vin: str | None) -> bool:
    years = bulletin.get("years") or []
    if year and len(years) == 2 and not (int(years[0]) <= int(year) <= int(years[1])):
        return False
    low, high = str(bulletin.get("vin_from", "") or ""), str(bulletin.get("vin_to", "") or "")
    if vin and (low or high) and len(vin) == 17:
        serial = vin[-6:]
        if low and re.fullmatch(r"\w{6,17}", low) and serial < low[-6:]:
            return False
        if high and re.fullmatch(r"\w{6,17}", high) and serial > high[-6:]:
            return False
    return True
