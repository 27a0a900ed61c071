"""A profile TOML file -> VehicleProfile (the one loader), and VehicleProfile -> TOML text for `rag-car vehicle add`.

The format is the bundled knowledge/facts.toml's: ``[vehicle]`` (identity, ``dbc``, ``documents``),
``[[signal_range]]``, ``[[lamp]]``, ``[[dtc]]``, ``[[bulletin]]``, optional ``[[stop_driving]]``,
``[dtc_broadcast]``, ``[vin_broadcast]``, ``[obd]``. Relative paths are relative to the file's folder.
Every problem is a ProfileError naming the file, the table and what to write instead.
"""

from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rag_car.errors import ProfileError
from rag_car.vehicle.profile.model import (
    Bulletin,
    DtcFact,
    Identity,
    Lamp,
    NormalRange,
    ObdAddresses,
    ProductionRun,
    StopRule,
    Variant,
    VehicleProfile,
    VinRange,
)
from rag_car.vehicle.profile.patterns import compile_pattern

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DIRECTIONS = ("", "high", "low")


def check_name(name: str) -> str:
    """A valid profile name (lower-case letters, digits, '-' and '_'), else ProfileError."""
    if not NAME.match(name or ""):
        raise ProfileError(f"profile name {name!r} is not usable as a file name",
                           "use lower-case letters, digits, '-' and '_' (e.g. kona-2019)")
    return name


def load_profile(path: str | Path, *, name: str | None = None, bundled: bool = False,
                 check_files: bool = True) -> VehicleProfile:
    """Read one profile TOML. ``name``: the profile's name (default: [vehicle] name, else the file's stem).

    ``check_files``: every DBC it names must exist (False only to read a documents folder's identity).
    Raises ProfileError for a missing or unparsable file, a missing DBC, a bad VIN pattern, a range whose low is
    above its high, a lamp or code table without its key.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"vehicle profile {path} does not exist",
                           "`rag-car vehicle list` shows the profiles; `rag-car vehicle add` writes one") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"vehicle profile {path} cannot be read ({exc})", "check the file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"vehicle profile {path} is not valid TOML ({exc})", "fix the file") from exc
    return profile_from_data(data, path, name=name, bundled=bundled, check_files=check_files)


def profile_from_data(data: dict[str, Any], path: Path, *, name: str | None = None, bundled: bool = False,
                      check_files: bool = True) -> VehicleProfile:
    """The profile of parsed TOML ``data`` read from ``path`` (see :func:`load_profile`)."""
    where = str(path)
    root = path.parent
    vehicle = _table(data.get("vehicle", {}), where, "[vehicle]")
    name = check_name(name or str(vehicle.get("name") or path.stem).lower())
    identity = _identity(vehicle, where)
    dbc = tuple(_paths(vehicle.get("dbc"), root, where, "dbc"))
    if check_files:
        for file in dbc:
            if not file.is_file():
                raise ProfileError(f"vehicle profile {name} ({where}) names DBC file {file}, which does not exist",
                                   f"fix [vehicle] dbc in {where}, or re-add it with `rag-car vehicle add {name} --dbc FILE`")
    documents = tuple(_paths(vehicle.get("documents"), root, where, "documents"))
    lamps = {lamp.key: lamp for lamp in (_lamp(t, where, i) for i, t in enumerate(_tables(data, "lamp", where), 1))}
    ranges: dict[str, NormalRange] = {}
    for index, table in enumerate(_tables(data, "signal_range", where), 1):
        item = _range(table, where, index)
        ranges.setdefault(item.key, item)
    dtcs = {fact.code: fact for fact in (_dtc(t, where, i) for i, t in enumerate(_tables(data, "dtc", where), 1))}
    bulletins = tuple(_bulletin(t, where, i) for i, t in enumerate(_tables(data, "bulletin", where), 1))
    obd = _table(data.get("obd", {}), where, "[obd]")
    return VehicleProfile(
        name=name, identity=identity, path=path, root=root, dbc=dbc, documents=documents or ((root,) if bundled else ()),
        lamps=MappingProxyType(lamps), ranges=MappingProxyType(ranges), dtcs=MappingProxyType(dtcs),
        bulletins=bulletins, stop_rules=_stop_rules(data, lamps, dtcs, where),
        obd=ObdAddresses(functional_request=int(obd.get("functional_request", 0x7DF)),
                         physical_requests=MappingProxyType(_ids(obd.get("physical_requests"), where)),
                         physical_responses=MappingProxyType(_ids(obd.get("physical_responses"), where))),
        dtc_broadcast=MappingProxyType(_table(data.get("dtc_broadcast", {}), where, "[dtc_broadcast]")),
        vin_broadcast=MappingProxyType(_table(data.get("vin_broadcast", {}), where, "[vin_broadcast]")),
        dtc_source=str(vehicle.get("dtc_source") or (f"{path.name} [[dtc]]" if dtcs else "")),
        bulletin_source=str(vehicle.get("bulletin_source") or (f"{path.name} [[bulletin]]" if bulletins else "")),
        bundled=bundled,
    )


def profile_toml(profile: VehicleProfile) -> str:
    """The TOML text of a user profile's identity, DBCs and documents (what `rag-car vehicle add` writes)."""
    ident = profile.identity
    lines = ["# A rag-car vehicle profile: what rag-car knows about one vehicle (format: docs/profiles.md).", "[vehicle]",
             f"name = {_quote(profile.name)}"]
    for key, value in (("make", ident.make), ("model", ident.model)):
        if value:
            lines.append(f"{key} = {_quote(value)}")
    if ident.years:
        lines.append(f"years = [{ident.years[0]}, {ident.years[1]}]")
    if ident.wmi:
        lines.append("wmi = [" + ", ".join(_quote(w) for w in ident.wmi) + "]")
    if ident.vin_pattern is not None:
        lines.append(f"vin_pattern = {_quote(ident.vin_pattern.text)}")
    lines.append("dbc = [" + ", ".join(_quote(str(p)) for p in profile.dbc) + "]")
    if profile.documents:
        lines.append("documents = [" + ", ".join(_quote(str(p)) for p in profile.documents) + "]")
    lines += ["", "# Add what the vehicle's documents state, e.g.:",
              "# [[signal_range]]  message = \"...\"  signal = \"...\"  low = 80  high = 110  unit = \"degC\"",
              "# [[lamp]]  key = \"...\"  name = \"...\"  message = \"...\"  signal = \"...\"  stop_driving = true"]
    return "\n".join(lines) + "\n"


# -- tables --------------------------------------------------------------------------------------------------
def _identity(vehicle: dict[str, Any], where: str) -> Identity:
    wmi_raw = vehicle.get("wmi") or []
    wmi = tuple(str(w).strip().upper() for w in ([wmi_raw] if isinstance(wmi_raw, str) else wmi_raw) if str(w).strip())
    for w in wmi:
        if not re.fullmatch(r"[A-HJ-NPR-Z0-9]{3}", w):
            raise ProfileError(f"{where}: [vehicle] wmi {w!r} is not a 3-character WMI", "write VIN positions 1-3, e.g. KM8")
    pattern = None
    if vehicle.get("vin_pattern"):
        try:
            pattern = compile_pattern(str(vehicle["vin_pattern"]))
        except ValueError as exc:
            raise ProfileError(f"{where}: [vehicle] vin_pattern {vehicle['vin_pattern']!r} is {exc}",
                               "write a regular expression over the 17 VIN characters, e.g. ^KM8K[0-9A-Z]{13}$") from None
    variants = []
    for table in vehicle.get("variants") or []:
        positions = {int(k.rsplit("_", 1)[1]): str(v).upper() for k, v in table.items()
                     if k.startswith("vin_position_") and k.rsplit("_", 1)[1].isdigit()}
        variants.append(Variant(code=str(table.get("code", "")), name=str(table.get("name") or table.get("code", "")),
                                positions=MappingProxyType(positions), years=_years(table.get("years"), where, "variant"),
                                engine=str(table.get("engine", ""))))
    production = []
    for run in vehicle.get("production") or []:
        try:
            production.append(ProductionRun(int(run["year"]), str(run["plant"]).upper(), int(run["last_serial"])))
        except (KeyError, TypeError, ValueError):
            raise ProfileError(f"{where}: a [[vehicle.production]] entry lacks year, plant or last_serial",
                               "give all three") from None
    return Identity(
        make=str(vehicle.get("make", "")), model=str(vehicle.get("model", "")),
        years=_years(vehicle.get("years"), where, "[vehicle]"), wmi=wmi, vin_pattern=pattern,
        body=str(vehicle.get("body", "")),
        example_vins=tuple(str(v).upper() for v in vehicle.get("example_vins") or []),
        model_year_codes=MappingProxyType({str(k).upper(): int(v) for k, v in (vehicle.get("model_year_codes") or {}).items()}),
        plants=MappingProxyType({str(k).upper(): str(v) for k, v in (vehicle.get("plants") or {}).items()}),
        variants=tuple(variants), production=tuple(production), check_digit=bool(vehicle.get("check_digit", False)),
    )


def _lamp(table: dict[str, Any], where: str, index: int) -> Lamp:
    for key in ("key", "message", "signal"):
        if not table.get(key):
            raise ProfileError(f"{where}: [[lamp]] number {index} has no {key}", "give each lamp a key, message and signal")
    return Lamp(key=str(table["key"]), name=str(table.get("name") or table["key"]), message=str(table["message"]),
                signal=str(table["signal"]), on_values=tuple(int(v) for v in table.get("on_values", [1])),
                flashing_values=tuple(int(v) for v in table.get("flashing_values", [])),
                stop_driving=bool(table.get("stop_driving", False)), colour=str(table.get("colour", "")),
                doc=str(table.get("doc", "")), section=str(table.get("section", "")))


def _range(table: dict[str, Any], where: str, index: int) -> NormalRange:
    if not table.get("signal") or not table.get("message"):
        raise ProfileError(f"{where}: [[signal_range]] number {index} has no message or signal",
                           "ranges are keyed by Message.Signal: give both, as the DBC names them")
    low, high = _number(table.get("low"), where, index), _number(table.get("high"), where, index)
    if low is not None and high is not None and low > high:
        raise ProfileError(f"{where}: [[signal_range]] {table['message']}.{table['signal']} has low {low:g} above high {high:g}",
                           "swap them")
    return NormalRange(message=str(table["message"]), signal=str(table["signal"]), low=low, high=high,
                       unit=str(table.get("unit", "")), doc=str(table.get("doc", "")), section=str(table.get("section", "")))


def _dtc(table: dict[str, Any], where: str, index: int) -> DtcFact:
    code = str(table.get("code", "")).strip().upper()
    if not re.fullmatch(r"[PCBU][0-9A-F]{4}", code):
        raise ProfileError(f"{where}: [[dtc]] number {index} has code {table.get('code')!r}", "write a code like P0217")
    return DtcFact(code=code, description=str(table.get("description", "")), lamp=str(table.get("lamp", "")),
                   signals=tuple(str(s) for s in table.get("signals", [])), doc=str(table.get("doc", "")),
                   section=str(table.get("section", "")))


def _bulletin(table: dict[str, Any], where: str, index: int) -> Bulletin:
    if not table.get("number"):
        raise ProfileError(f"{where}: [[bulletin]] number {index} has no number", "give each bulletin its number")
    spans = [tuple(r) for r in table.get("vin_ranges") or []]
    if not spans and (table.get("vin_from") or table.get("vin_to")):
        spans = [(table.get("vin_from") or "", table.get("vin_to") or "")]
    ranges = tuple(VinRange(str(a).upper(), str(b).upper()) for a, b in spans if a and b)
    return Bulletin(number=str(table["number"]), title=str(table.get("title", "")),
                    dtcs=tuple(str(c).upper() for c in table.get("dtcs", [])),
                    years=_years(table.get("years"), where, f"[[bulletin]] {table['number']}"), vin_ranges=ranges,
                    supersedes=tuple(str(s) for s in table.get("supersedes", [])), doc=str(table.get("doc", "")),
                    date=str(table.get("date", "")))


def _stop_rules(data: dict[str, Any], lamps: dict[str, Lamp], dtcs: dict[str, DtcFact], where: str) -> tuple[StopRule, ...]:
    """Explicit [[stop_driving]] rules, then those the tables imply: a stop-driving lamp, a code whose lamp is one,
    and the signals such a code names."""
    rules: list[StopRule] = []
    for index, table in enumerate(_tables(data, "stop_driving", where), 1):
        kind = str(table.get("kind", "signal"))
        target = str(table.get("signal") or table.get("lamp") or table.get("code") or "")
        direction = str(table.get("direction", ""))
        if kind not in ("signal", "lamp", "dtc") or not target or direction not in DIRECTIONS:
            raise ProfileError(f"{where}: [[stop_driving]] number {index} is incomplete",
                               'write kind = "signal", signal = "Message.Signal", direction = "high" or "low"')
        rules.append(StopRule(kind, target.upper() if kind == "dtc" else target, direction, doc=str(table.get("doc", "")),
                              section=str(table.get("section", ""))))
    for lamp in lamps.values():
        if lamp.stop_driving:
            rules.append(StopRule("lamp", lamp.key, doc=lamp.doc, section=lamp.section))
    for fact in dtcs.values():
        if fact.lamp in lamps and lamps[fact.lamp].stop_driving:
            rules.append(StopRule("dtc", fact.code, code=fact.code, doc=fact.doc, section=fact.section))
            rules.extend(StopRule("signal", s, code=fact.code, doc=fact.doc, section=fact.section) for s in fact.signals)
    return tuple(rules)


# -- values --------------------------------------------------------------------------------------------------
def _tables(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ProfileError(f"{where}: {key} is not a list of [[{key}]] tables", f"write each as [[{key}]]")
    return value


def _table(value: Any, where: str, label: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: {label} is not a table", f"write it as {label}")
    return dict(value)


def _paths(value: Any, root: Path, where: str, key: str) -> list[Path]:
    items = [value] if isinstance(value, str) else list(value or [])
    if not all(isinstance(v, str) and v for v in items):
        raise ProfileError(f"{where}: [vehicle] {key} is not a file path or a list of them", f'write {key} = ["FILE", ...]')
    return [(root / Path(v).expanduser()).resolve() if not Path(v).expanduser().is_absolute() else Path(v).expanduser()
            for v in items]


def _years(value: Any, where: str, label: str) -> tuple[int, int] | None:
    if value in (None, [], ""):
        return None
    try:
        items = [int(v) for v in (value if isinstance(value, list) else [value])]
    except (TypeError, ValueError):
        items = []
    if not items or len(items) > 2 or items[0] > items[-1] or not 1886 <= items[0] <= 2100:
        raise ProfileError(f"{where}: {label} years {value!r} are not [FIRST, LAST]", "write e.g. years = [2019, 2024]")
    return (items[0], items[-1])


def _number(value: Any, where: str, index: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ProfileError(f"{where}: [[signal_range]] number {index} has a limit that is not a number ({value!r})",
                           "write low and high as numbers")
    return float(value)


def _ids(value: Any, where: str) -> dict[str, int]:
    try:
        return {str(k): int(v) for k, v in (value or {}).items()}
    except (AttributeError, TypeError, ValueError):
        raise ProfileError(f"{where}: [obd] ids are not a table of NAME = number", "write e.g. { ECM = 0x7E8 }") from None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
