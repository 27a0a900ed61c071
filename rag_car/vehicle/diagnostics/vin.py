"""VIN text -> VinInfo: maker (WMI), check digit (position 9, where mandatory), model year (10), plant (11), profile match.

Decoding never raises on a bad VIN: what is wrong goes into ``VinInfo.problems`` and the VIN is still
shown, as a scan tool shows what the ECU sent. A partial VIN (the first 10 or 11 characters, as NHTSA's
complaint files keep them) still gives the model year.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag_car.vehicle.profile import Identity, VehicleProfile

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


# Where the position-9 check digit is mandatory, by the first WMI character: North America (US 49 CFR 565,
# Canada, Mexico: '1'-'5') and China (GB 16735: 'L'). Elsewhere (ISO 3779) position 9 is the maker's to use.
CHECK_DIGIT_REGIONS = {"1": "North America", "2": "North America", "3": "North America", "4": "North America",
                       "5": "North America", "L": "China"}


@dataclass
class VinInfo:
    """What a VIN says. ``check_digit_ok`` is None when it cannot be judged (partial VIN, invalid characters).

    ``maker``/``country``/``region``: from the WMI (positions 1-3), for any real maker. ``make``/``model``/
    ``variant``/``plant``: from the vehicle profile whose VIN pattern the VIN follows (``profile``), else empty.
    ``problems`` make the VIN invalid; ``notes`` do not (e.g. no check digit where none is mandatory).
    """

    vin: str
    check_digit_ok: bool | None = None
    expected_check_digit: str = ""
    check_digit_required: bool = False
    wmi: str = ""
    maker: str = ""
    country: str = ""
    region: str = ""
    model_year: int | None = None
    year_candidates: tuple[int, ...] = ()
    plant_code: str = ""
    serial: str = ""
    make: str = ""
    model: str = ""
    variant: str = ""
    plant: str = ""
    profile: str = ""
    matches_vehicle: bool = False
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        """A full VIN with no problem (a wrong check digit is one only where the check digit is mandatory)."""
        return not self.problems and len(self.vin) == VIN_LENGTH

    def to_vehicle(self) -> dict[str, Any]:
        """The ``set_vehicle`` dict of the live state: vin, make, model, variant, year, vin_valid (+ problems),
        maker (from the WMI), profile (the profile whose pattern it follows, "" for none)."""
        return {
            "vin": self.vin, "make": self.make, "model": self.model, "variant": self.variant,
            "year": self.model_year, "vin_valid": self.valid, "plant": self.plant, "problems": list(self.problems),
            "maker": self.maker, "profile": self.profile, "notes": list(self.notes),
        }

    def describe(self) -> str:
        parts = [self.vin]
        if self.make:
            parts.append(" ".join(p for p in (str(self.model_year or ""), self.make, self.model, self.variant) if p))
        elif self.maker or self.model_year:
            parts.append(" ".join(p for p in ((f"model year {self.model_year}" if self.model_year else ""),
                                              self.maker, f"({self.country})" if self.country else "") if p))
        parts.extend(self.problems)
        parts.extend(self.notes)
        return "; ".join(parts)


def maker_of(vin: str) -> str:
    """The maker a VIN's WMI (positions 1-3) is assigned to, from vininfo's WMI table ("" when unknown)."""
    return _wmi_facts(vin)[0]


def decode_vin(text: str, vehicle: "VehicleProfile | Identity | None" = None, today: _dt.date | None = None) -> VinInfo:
    """Decode a VIN; ``vehicle``: a VehicleProfile (or its Identity) to recognise that vehicle's VINs by.

    The model year follows the rule of the US VIN standard for light vehicles: position 7 a digit means
    1980-2009, a letter means 2010-2039; a year more than one ahead of ``today`` falls back a cycle.
    For the profile's own vehicle its ``model_year_codes`` table decides. The check digit (position 9) is a
    problem only where it is mandatory (North America, China, or a profile whose VINs carry one); elsewhere a
    wrong one is a note. Never raises.
    """
    identity = getattr(vehicle, "identity", vehicle)
    vin = (text or "").strip().upper()
    info = VinInfo(vin=vin)
    if not vin:
        info.problems.append("no VIN")
        return info
    if not _ALLOWED.match(vin):
        bad = sorted({ch for ch in vin if not _ALLOWED.match(ch)})
        info.problems.append(f"characters not allowed in a VIN: {', '.join(bad)} (I, O, Q and punctuation never appear)")
    if len(vin) != VIN_LENGTH:
        info.problems.append(_length_problem(vin))
    info.wmi = vin[:3]
    if len(vin) >= 3:
        info.maker, info.country, info.region = _wmi_facts(vin)
    info.check_digit_required = (vin[:1] in CHECK_DIGIT_REGIONS
                                 or bool(identity is not None and getattr(identity, "check_digit", False)
                                         and identity.matches_vin(vin)))
    if len(vin) >= 11:
        info.plant_code = vin[10]
    if len(vin) == VIN_LENGTH:
        info.serial = vin[11:]
    if len(vin) == VIN_LENGTH and all(ch in _TRANSLITERATION for ch in vin):
        info.expected_check_digit = check_digit(vin)
        info.check_digit_ok = vin[8] == info.expected_check_digit
        if not info.check_digit_ok:
            if vin[8] not in "0123456789X":
                info.check_digit_ok = None  # not a check digit at all: nothing to judge
                where = CHECK_DIGIT_REGIONS.get(vin[:1], "")
                info.notes.append(f"position 9 {vin[8]!r} is not a check digit: this VIN carries none"
                                  + (f" (one is required in {where}: check that the VIN was read right)" if where else ""))
            elif info.check_digit_required:
                info.problems.append(f"check digit (position 9) is {vin[8]!r}, the other characters give {info.expected_check_digit!r}")
            else:
                info.notes.append(f"position 9 is not the ISO 3779 check digit ({info.expected_check_digit!r}); "
                                  f"makers outside North America need not use one")
    if len(vin) >= 10:
        info.year_candidates = model_year_candidates(vin[9])
        info.model_year = _pick_year(vin, info.year_candidates, today or _dt.date.today())
        if not info.year_candidates:
            info.problems.append(f"position 10 {vin[9]!r} is not a model-year code")
    if identity is not None:
        _match_vehicle(info, identity, getattr(vehicle, "name", ""))
    return info


def _length_problem(vin: str) -> str:
    n = len(vin)
    if n in (VIN_LENGTH - 1, VIN_LENGTH + 1):
        return (f"a VIN has {VIN_LENGTH} characters, this one {n}: one is {'missing' if n < VIN_LENGTH else 'extra'} "
                f"(a character lost or doubled when it was read or typed); re-read it from the vehicle")
    return f"a VIN has {VIN_LENGTH} characters, this one {n}"


def _wmi_facts(vin: str) -> tuple[str, str, str]:
    """(maker, country, region) of the VIN's WMI from vininfo's tables; empty strings when unknown."""
    try:
        from vininfo import Vin
        from vininfo.exceptions import VininfoException
    except ImportError:  # pragma: no cover - a declared dependency
        return ("", "", "")
    head = re.sub(r"[^A-HJ-NPR-Z0-9]", "0", vin[:3].upper())
    try:
        parsed = Vin(head + "0" * (VIN_LENGTH - len(head)))
        maker = parsed.manufacturer
    except (VininfoException, KeyError, AttributeError):
        return ("", "", "")
    maker = "" if not maker or maker == "UnsupportedBrand" else str(maker)
    return (maker, str(parsed.country or ""), str(parsed.region or ""))


def _pick_year(vin: str, candidates: tuple[int, ...], today: _dt.date) -> int | None:
    """The US rule for light vehicles (49 CFR 565: position 7 a digit -> 1980-2009), which the makers of cars sold
    in North America follow whatever their WMI (checked on NHTSA's complaint VINs); a year more than one ahead of
    ``today`` falls back a cycle."""
    if not candidates:
        return None
    early, late = candidates
    if len(vin) >= 7 and vin[6].isdigit():
        return early
    return late if late <= today.year + 1 else early


def _match_vehicle(info: VinInfo, identity: "Identity", profile: str) -> None:
    """Fill make/model/variant/plant when the VIN is the profile's vehicle; note why when its WMI is but the rest is not."""
    if len(info.vin) == VIN_LENGTH and identity.matches_vin(info.vin):
        pass
    elif info.wmi and info.wmi in identity.wmi:
        if identity.vin_pattern is not None and len(info.vin) == VIN_LENGTH:
            info.problems.append(f"WMI {info.wmi} is {identity.make}'s, but the VIN does not follow its pattern "
                                 f"{identity.vin_pattern.text}")
        return
    else:
        return
    info.matches_vehicle = True
    info.profile = profile
    info.make, info.model = identity.make, identity.model
    if len(info.vin) >= 10 and info.vin[9] in identity.model_year_codes:
        info.model_year = identity.model_year_codes[info.vin[9]]
    years = identity.years
    if info.model_year and years and not years[0] <= info.model_year <= years[1]:
        info.problems.append(f"model year {info.model_year} is outside the {info.make} {info.model} years {years[0]}-{years[1]}")
    info.plant = identity.plants.get(info.plant_code, "")
    info.variant = _variant(info, identity.variants)
    for run in identity.production:
        if run.year == info.model_year and run.plant == info.plant_code and info.serial.isdigit():
            if int(info.serial) > run.last_serial:
                info.problems.append(f"serial {info.serial} is past the last one built at {info.plant or info.plant_code} "
                                     f"in {info.model_year} ({run.last_serial})")


def _variant(info: VinInfo, variants: Any) -> str:
    """The variant whose VIN position characters all match the VIN and whose years include the model year."""
    for variant in variants:
        if not variant.positions:
            continue
        if any(n > len(info.vin) or info.vin[n - 1] != ch for n, ch in variant.positions.items()):
            continue
        if info.model_year and variant.years and not variant.years[0] <= info.model_year <= variant.years[1]:
            info.problems.append(f"the {variant.name} was not built in {info.model_year} "
                                 f"(only {variant.years[0]}-{variant.years[1]})")
        return variant.name
    return ""
