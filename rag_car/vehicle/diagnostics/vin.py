"""VIN text -> VinInfo: check digit (position 9), model year (position 10), plant (11), and our vehicle when it matches.

Decoding never raises on a bad VIN: what is wrong goes into ``VinInfo.problems`` and the VIN is still
shown, as a scan tool shows what the ECU sent. A partial VIN (the first 10 or 11 characters, as NHTSA's
complaint files keep them) still gives the model year.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

VIN_LENGTH = 17
_ALLOWED = re.compile(r"^[A-HJ-NPR-Z0-9]*$")  # I, O and Q are never used
_TRANSLITERATION = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
# Position 10: a 30-year cycle of codes; 1980-2009 and again 2010-2039.
YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"


def check_digit(vin: str) -> str:
    """The check digit a 17-character VIN must carry at position 9 ('0'-'9' or 'X')."""
    total = sum(_TRANSLITERATION[ch] * weight for ch, weight in zip(vin.upper(), _WEIGHTS))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def model_year_candidates(code: str) -> tuple[int, ...]:
    """Position-10 code -> the years it can mean (1980-2009 and 2010-2039), () for a code not in the table."""
    index = YEAR_CODES.find(code.upper()) if code else -1
    if index < 0:
        return ()
    return (1980 + index, 2010 + index)


@dataclass
class VinInfo:
    """What a VIN says. ``check_digit_ok`` is None when it cannot be judged (partial VIN, invalid characters)."""

    vin: str
    check_digit_ok: bool | None = None
    expected_check_digit: str = ""
    wmi: str = ""
    model_year: int | None = None
    year_candidates: tuple[int, ...] = ()
    plant_code: str = ""
    serial: str = ""
    make: str = ""
    model: str = ""
    variant: str = ""
    plant: str = ""
    matches_vehicle: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.check_digit_ok is True and not self.problems

    def to_vehicle(self) -> dict[str, Any]:
        """The ``set_vehicle`` dict of the live state: vin, make, model, variant, year, vin_valid (+ problems)."""
        return {
            "vin": self.vin, "make": self.make, "model": self.model, "variant": self.variant,
            "year": self.model_year, "vin_valid": self.valid, "plant": self.plant, "problems": list(self.problems),
        }

    def describe(self) -> str:
        parts = [self.vin]
        if self.make:
            parts.append(" ".join(p for p in (str(self.model_year or ""), self.make, self.model, self.variant) if p))
        elif self.model_year:
            parts.append(f"model year {self.model_year}")
        parts.extend(self.problems)
        return "; ".join(parts)


def decode_vin(text: str, vehicle: dict[str, Any] | None = None, today: _dt.date | None = None) -> VinInfo:
    """Decode a VIN; ``vehicle`` is the ``[vehicle]`` table of knowledge/facts.toml (to recognise our vehicle).

    The model year follows the rule of the US VIN standard for light vehicles: position 7 a digit means
    1980-2009, a letter means 2010-2039; a year more than one ahead of ``today`` falls back a cycle.
    For our own vehicle (WMI and pattern of facts.toml) its ``model_year_codes`` table decides.
    """
    vin = (text or "").strip().upper()
    info = VinInfo(vin=vin)
    if not vin:
        info.problems.append("no VIN")
        return info
    if not _ALLOWED.match(vin):
        bad = sorted({ch for ch in vin if not _ALLOWED.match(ch)})
        info.problems.append(f"characters not allowed in a VIN: {', '.join(bad)} (I, O, Q and punctuation never appear)")
    if len(vin) != VIN_LENGTH:
        info.problems.append(f"a VIN has {VIN_LENGTH} characters, this one {len(vin)}")
    info.wmi = vin[:3]
    if len(vin) >= 11:
        info.plant_code = vin[10]
    if len(vin) == VIN_LENGTH:
        info.serial = vin[11:]
    if len(vin) == VIN_LENGTH and all(ch in _TRANSLITERATION for ch in vin):
        info.expected_check_digit = check_digit(vin)
        info.check_digit_ok = vin[8] == info.expected_check_digit
        if not info.check_digit_ok:
            info.problems.append(f"check digit (position 9) is {vin[8]!r}, the other characters give {info.expected_check_digit!r}")
    if len(vin) >= 10:
        info.year_candidates = model_year_candidates(vin[9])
        info.model_year = _pick_year(vin, info.year_candidates, today or _dt.date.today())
        if not info.year_candidates:
            info.problems.append(f"position 10 {vin[9]!r} is not a model-year code")
    if vehicle:
        _match_vehicle(info, vehicle)
    return info


def _pick_year(vin: str, candidates: tuple[int, ...], today: _dt.date) -> int | None:
    if not candidates:
        return None
    early, late = candidates
    if len(vin) >= 7 and vin[6].isdigit():
        return early
    return late if late <= today.year + 1 else early


def _match_vehicle(info: VinInfo, vehicle: dict[str, Any]) -> None:
    wmi = str(vehicle.get("wmi", "")).upper()
    pattern = vehicle.get("vin_pattern") or ""
    if not wmi or info.wmi != wmi:
        return
    if pattern and len(info.vin) == VIN_LENGTH:
        try:
            if not re.fullmatch(pattern, info.vin):
                info.problems.append(f"WMI {wmi} is {vehicle.get('make', '')}'s, but the VIN does not follow its pattern {pattern}")
                return
        except re.error:
            pass
    info.matches_vehicle = True
    info.make = str(vehicle.get("make", ""))
    info.model = str(vehicle.get("model", ""))
    codes = {str(k).upper(): int(v) for k, v in (vehicle.get("model_year_codes") or {}).items()}
    if len(info.vin) >= 10 and info.vin[9] in codes:
        info.model_year = codes[info.vin[9]]
    years = vehicle.get("years") or []
    if info.model_year and len(years) == 2 and not years[0] <= info.model_year <= years[1]:
        info.problems.append(f"model year {info.model_year} is outside the {info.make} {info.model} years {years[0]}-{years[1]}")
    plants = {str(k).upper(): str(v) for k, v in (vehicle.get("plants") or {}).items()}
    info.plant = plants.get(info.plant_code, "")
    info.variant = _variant(info, vehicle.get("variants") or [])
    for run in vehicle.get("production") or []:
        if run.get("year") == info.model_year and str(run.get("plant", "")).upper() == info.plant_code and info.serial.isdigit():
            if int(info.serial) > int(run.get("last_serial", 0)):
                info.problems.append(f"serial {info.serial} is past the last one built at {info.plant or info.plant_code} "
                                     f"in {info.model_year} ({run['last_serial']})")


def _variant(info: VinInfo, variants: list[dict[str, Any]]) -> str:
    """The variant whose ``vin_position_N`` characters all match the VIN and whose years include the model year."""
    for variant in variants:
        positions = {int(k.rsplit("_", 1)[1]): str(v).upper() for k, v in variant.items()
                     if k.startswith("vin_position_") and k.rsplit("_", 1)[1].isdigit()}
        if not positions:
            continue
        if any(n > len(info.vin) or info.vin[n - 1] != ch for n, ch in positions.items()):
            continue
        years = variant.get("years") or []
        if info.model_year and len(years) == 2 and not years[0] <= info.model_year <= years[1]:
            info.problems.append(f"the {variant.get('name', variant.get('code'))} was not built in {info.model_year} "
                                 f"(only {years[0]}-{years[1]})")
        return str(variant.get("name") or variant.get("code", ""))
    return ""
