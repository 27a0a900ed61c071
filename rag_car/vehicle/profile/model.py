"""The data of a vehicle profile: identity, DBCs, lamps, normal ranges, DTCs, bulletins, stop rules (frozen)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from rag_car.vehicle.profile.patterns import VinPattern

EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it holds read-only mappings
class Variant:
    """A variant the VIN tells apart: ``positions`` maps a 1-based VIN position to the character it carries."""

    code: str
    name: str
    positions: Mapping[int, str] = field(default_factory=lambda: EMPTY)
    years: tuple[int, int] | None = None
    engine: str = ""


@dataclass(frozen=True)
class ProductionRun:
    """The last serial built at ``plant`` (VIN position 11) in model ``year``."""

    year: int
    plant: str
    last_serial: int


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it holds read-only mappings
class Identity:
    """Who the vehicle is: make, model, model years, WMIs (VIN positions 1-3) and the VIN pattern its VINs follow.

    ``model_year_codes``/``plants``/``variants``/``production``: what the maker's VIN positions 10, 11, 4-8 and
    12-17 mean for this model (empty when unknown; the standard year table is used then). ``check_digit``: its
    VINs carry a position-9 check digit (mandatory in North America and China whatever this says).
    """

    make: str = ""
    model: str = ""
    years: tuple[int, int] | None = None
    wmi: tuple[str, ...] = ()
    vin_pattern: VinPattern | None = None
    body: str = ""
    example_vins: tuple[str, ...] = ()
    model_year_codes: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    plants: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    variants: tuple[Variant, ...] = ()
    production: tuple[ProductionRun, ...] = ()
    check_digit: bool = False  # its VINs carry an ISO 3779 check digit even outside North America

    def label(self) -> str:
        """"Aldmoor Corrin 2019-2024" (what is known of it)."""
        years = ""
        if self.years:
            years = str(self.years[0]) if self.years[0] == self.years[1] else f"{self.years[0]}-{self.years[1]}"
        return " ".join(p for p in (self.make, self.model, years) if p)

    def matches_vin(self, vin: str) -> bool:
        """True when ``vin`` is one of this vehicle's: it follows the VIN pattern (or, with no pattern, starts with
        one of the WMIs). A profile with neither claims no VIN."""
        vin = (vin or "").strip().upper()
        if not vin:
            return False
        if self.vin_pattern is not None:
            return self.vin_pattern.matches(vin)
        return bool(self.wmi) and vin[:3] in self.wmi

    def claims_vins(self) -> bool:
        """Whether a VIN can be told to be this vehicle's or not (a pattern or a WMI is known)."""
        return self.vin_pattern is not None or bool(self.wmi)


@dataclass(frozen=True)
class Lamp:
    """A warning lamp: the DBC signal that carries it, its raw values, and what it means (``stop_driving``)."""

    key: str
    name: str
    message: str
    signal: str
    on_values: tuple[int, ...] = (1,)
    flashing_values: tuple[int, ...] = ()
    stop_driving: bool = False
    colour: str = ""
    doc: str = ""  # the document (relative to the profile's documents root) that explains it
    section: str = ""

    @property
    def key_signal(self) -> str:
        return f"{self.message}.{self.signal}"

    def state_of(self, raw: int) -> str | None:
        """Raw signal value -> "on", "flashing", "off", or None for a value that means "not available"."""
        if raw in self.flashing_values:
            return "flashing"
        if raw in self.on_values:
            return "on"
        if raw == 0:
            return "off"
        return None

    def raw_for(self, state: str) -> int:
        """"on"/"flashing"/"off" -> the raw value to send."""
        if state == "flashing" and self.flashing_values:
            return self.flashing_values[0]
        if state in ("on", "flashing") and self.on_values:
            return self.on_values[0]
        return 0


@dataclass(frozen=True)
class NormalRange:
    """A documented normal range of one DBC signal. ``low``/``high`` None: a one-sided limit."""

    message: str
    signal: str
    low: float | None
    high: float | None
    unit: str = ""
    doc: str = ""
    section: str = ""

    @property
    def key(self) -> str:
        """"Message.Signal", the key ranges are looked up by."""
        return f"{self.message}.{self.signal}"

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        return (self.low, self.high)

    def status(self, value: float) -> str:
        """"low", "high" or "ok" for a value."""
        if self.low is not None and value < self.low:
            return "low"
        if self.high is not None and value > self.high:
            return "high"
        return "ok"


@dataclass(frozen=True)
class DtcFact:
    """What the profile's DTC reference says about one code: its description, the lamp it lights, the
    "Message.Signal"s it concerns, and the document section that explains it."""

    code: str
    description: str = ""
    lamp: str = ""
    signals: tuple[str, ...] = ()
    doc: str = ""
    section: str = ""


@dataclass(frozen=True)
class VinRange:
    """First and last VIN of a bulletin's range (both the profile's; ordered by model year, plant, serial)."""

    first: str
    last: str


@dataclass(frozen=True)
class Bulletin:
    """A service bulletin: the codes and model years it covers, its VIN ranges, what it supersedes, its document."""

    number: str
    title: str = ""
    dtcs: tuple[str, ...] = ()
    years: tuple[int, int] | None = None
    vin_ranges: tuple[VinRange, ...] = ()
    supersedes: tuple[str, ...] = ()
    doc: str = ""
    date: str = ""


@dataclass(frozen=True)
class StopRule:
    """A live condition that means "stop driving": a lamp on (``kind`` "lamp", ``target`` the lamp key), an active
    code (``kind`` "dtc", ``target`` the code) or a signal out of range (``kind`` "signal", ``target``
    "Message.Signal", ``direction`` "high"/"low"/"" for either) -- with the section that says so."""

    kind: str
    target: str
    direction: str = ""
    code: str = ""
    doc: str = ""
    section: str = ""


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it holds read-only mappings
class ObdAddresses:
    """OBD-II CAN ids: the functional request and the physical request/response id of each ECU by name."""

    functional_request: int = 0x7DF
    physical_requests: Mapping[str, int] = field(default_factory=lambda: EMPTY)
    physical_responses: Mapping[str, int] = field(default_factory=lambda: EMPTY)

    def ecu_names(self) -> dict[int, str]:
        """Response id -> ECU name, e.g. 0x7E8 -> "ECM" (only what the profile says)."""
        return {int(v): str(k) for k, v in self.physical_responses.items()}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: it holds read-only mappings
class VehicleProfile:
    """What rag-car knows about one vehicle; nothing here is ever applied to another vehicle.

    ``name``: the profile's key ("aldmoor-corrin", "kona"). ``path``: the TOML it was loaded from; ``root``: the
    folder its relative ``doc`` paths are under. ``dbc``: its DBC files. ``ranges``: "Message.Signal" ->
    NormalRange. ``dtcs``: code -> DtcFact (where its DTC descriptions come from: ``dtc_source``).
    ``bulletins``: its service bulletins (``bulletin_source``). ``documents``: files or folders about it.
    ``dtc_broadcast``/``vin_broadcast``: the layout of its own DTC and VIN broadcast messages (as written in the
    TOML; empty when it has none).
    """

    name: str
    identity: Identity = field(default_factory=Identity)
    path: Path | None = None
    root: Path | None = None
    dbc: tuple[Path, ...] = ()
    documents: tuple[Path, ...] = ()
    lamps: Mapping[str, Lamp] = field(default_factory=lambda: EMPTY)
    ranges: Mapping[str, NormalRange] = field(default_factory=lambda: EMPTY)
    dtcs: Mapping[str, DtcFact] = field(default_factory=lambda: EMPTY)
    bulletins: tuple[Bulletin, ...] = ()
    stop_rules: tuple[StopRule, ...] = ()
    obd: ObdAddresses = field(default_factory=ObdAddresses)
    dtc_broadcast: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    vin_broadcast: Mapping[str, Any] = field(default_factory=lambda: EMPTY)
    dtc_source: str = ""
    bulletin_source: str = ""
    bundled: bool = False

    # -- identity ------------------------------------------------------------------------------------------
    @property
    def make(self) -> str:
        return self.identity.make

    @property
    def model(self) -> str:
        return self.identity.model

    @property
    def years(self) -> tuple[int, int] | None:
        return self.identity.years

    def label(self) -> str:
        """"Aldmoor Corrin 2019-2024", else the profile name."""
        return self.identity.label() or self.name

    def matches_vin(self, vin: str) -> bool:
        return self.identity.matches_vin(vin)

    # -- lookups -------------------------------------------------------------------------------------------
    def range_for(self, key: str) -> NormalRange | None:
        """The normal range of ``key`` ("Message.Signal" exactly: a bare signal name finds nothing, so that
        another message's or another DBC's signal of the same name never gets this one's range)."""
        return self.ranges.get(key)

    def normal_ranges(self) -> dict[str, tuple[float | None, float | None]]:
        """"Message.Signal" -> (low, high) of every range (what LiveState takes)."""
        return {key: r.bounds for key, r in self.ranges.items()}

    def describe_dtc(self, code: str) -> str:
        """The profile's description of ``code`` ("" when its reference does not list it)."""
        fact = self.dtcs.get(code.upper())
        return fact.description if fact else ""

    def ecu_names(self) -> dict[int, str]:
        return self.obd.ecu_names()

    def doc_path(self, doc: str) -> str:
        """The absolute path of a profile-relative ``doc`` (what Passage.source holds), "" for none."""
        if not doc:
            return ""
        path = Path(doc)
        if not path.is_absolute() and self.root is not None:
            path = self.root / path
        return str(path.resolve())

    def stop_signals(self) -> dict[str, StopRule]:
        """"Message.Signal" -> the StopRule that names it (signal rules, then signals of stop-driving codes)."""
        out: dict[str, StopRule] = {}
        for rule in self.stop_rules:
            if rule.kind == "signal":
                out.setdefault(rule.target, rule)
        return out

    def stop_lamp(self, key: str) -> bool:
        lamp = self.lamps.get(key)
        return bool(lamp and lamp.stop_driving)

    def stop_code(self, code: str) -> StopRule | None:
        """The rule that makes active ``code`` a stop-driving condition on this vehicle, if any."""
        code = code.upper()
        return next((r for r in self.stop_rules if r.kind == "dtc" and r.target == code), None)

    def bulletins_for(self, code: str, year: int | None = None, vin: str | None = None) -> list[Bulletin]:
        """The bulletins that name ``code`` and apply to model ``year`` and ``vin`` (when known), superseded ones
        dropped. A VIN that is not this vehicle's gets none: a bulletin's VIN range is read in this maker's VIN
        layout only."""
        if vin and not self.matches_vin(vin):
            return []
        code = code.upper()
        hits = [b for b in self.bulletins if code in b.dtcs and self._applies(b, year, vin)]
        superseded = {s for b in hits for s in b.supersedes}
        return [b for b in hits if b.number not in superseded]

    def _applies(self, bulletin: Bulletin, year: int | None, vin: str | None) -> bool:
        if year and bulletin.years and not bulletin.years[0] <= int(year) <= bulletin.years[1]:
            return False
        if vin and bulletin.vin_ranges:
            key = self._vin_order(vin)
            if key is None:
                return True  # cannot place it: do not drop a bulletin on a guess
            for span in bulletin.vin_ranges:
                first, last = self._vin_order(span.first), self._vin_order(span.last)
                if first is not None and last is not None and first <= key <= last:
                    return True
            return False
        return True

    def _vin_order(self, vin: str) -> tuple[int, str, str] | None:
        """(model year, plant, serial) of one of this vehicle's VINs: the order a maker builds in."""
        vin = vin.strip().upper()
        if len(vin) != 17:
            return None
        year = self.identity.model_year_codes.get(vin[9])
        if year is None:
            from rag_car.vehicle.diagnostics.vin import model_year_candidates

            candidates = model_year_candidates(vin[9])
            year = candidates[-1] if candidates else None
        if year is None or not re.fullmatch(r"[A-Z0-9]{6}", vin[11:]):
            return None
        return (int(year), vin[10], vin[11:])

    def summary(self) -> dict[str, Any]:
        """Plain data for `rag-car vehicle show` and the UI."""
        ident = self.identity
        return {
            "name": self.name, "vehicle": self.label(), "make": ident.make, "model": ident.model,
            "years": list(ident.years) if ident.years else None, "wmi": list(ident.wmi),
            "vin_pattern": ident.vin_pattern.text if ident.vin_pattern else "",
            "file": str(self.path) if self.path else "", "bundled": self.bundled,
            "dbc": [str(p) for p in self.dbc], "documents": [str(p) for p in self.documents],
            "lamps": len(self.lamps), "normal_ranges": len(self.ranges), "dtcs": len(self.dtcs),
            "bulletins": len(self.bulletins), "stop_rules": len(self.stop_rules),
            "dtc_source": self.dtc_source, "bulletin_source": self.bulletin_source,
        }
