"""A LiveSnapshot -> what the live page shows: the key signals, the chartable signals, their history."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

# Title -> DBC signal names tried first, then a pattern for other vehicles' DBCs.
KEY_SIGNALS: list[tuple[str, tuple[str, ...], str]] = [
    ("Speed", ("VehicleSpeed",), r"^(vehicle_?speed|veh_?spd|speed)$"),
    ("Engine speed", ("EngineSpeed",), r"^(engine_?speed|eng_?rpm|rpm)$"),
    ("Coolant", ("CoolantTemp",), r"coolant.*temp|temp.*coolant"),
    ("12 V battery", ("BatteryVoltage",), r"^(battery_?voltage|batt_?volt|12v)"),
    ("Fuel", ("FuelLevel",), r"^fuel_?level"),
    ("Tire FL", ("TirePressureFL",), r"tire_?pressure_?fl|tyre.*fl"),
    ("Tire FR", ("TirePressureFR",), r"tire_?pressure_?fr|tyre.*fr"),
    ("Tire RL", ("TirePressureRL",), r"tire_?pressure_?rl|tyre.*rl"),
    ("Tire RR", ("TirePressureRR",), r"tire_?pressure_?rr|tyre.*rr"),
]


# Title -> what the tile shows, in words, and the quantities its unit may measure: how a DBC whose names differ from
# ours (Kombi_1.Tankinhalt, EMS11.N, CF_Clu_Vanz) finds its tiles through the signal catalogue
KEY_MEANINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Speed": ("vehicle speed", ("speed",)),
    "Engine speed": ("engine speed rpm", ("revolutions",)),
    "Coolant": ("engine coolant temperature", ("temperature", "angle or temperature degrees")),
    "12 V battery": ("battery voltage", ("voltage",)),
    "Fuel": ("fuel level in the tank", ("volume", "percent", "")),
}
_CATALOGUES: dict[int, Any] = {}


@dataclass
class SnapshotParts:
    signals: list[Any] = field(default_factory=list)
    dtcs: list[Any] = field(default_factory=list)
    lamps: list[Any] = field(default_factory=list)
    vehicle: dict[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    return list(value)


def split_snapshot(snapshot: Any) -> SnapshotParts:
    """The snapshot's parts as plain lists (signals sorted by message, then name)."""
    if snapshot is None:
        return SnapshotParts()
    signals = sorted(_as_list(snapshot.signals), key=lambda r: (r.message, r.name))
    return SnapshotParts(signals, _as_list(snapshot.dtcs), _as_list(snapshot.lamps), dict(snapshot.vehicle or {}))


def catalogue_for(live: Any) -> Any:
    """The signal catalogue of a LiveState's DBC files (built once per DBC set), None without one."""
    db = getattr(live, "db", None)
    if db is None:
        return None
    if id(db) not in _CATALOGUES:
        from rag_car.vehicle.catalogue import build_catalogue

        _CATALOGUES.clear()
        _CATALOGUES[id(db)] = build_catalogue(db)
    return _CATALOGUES[id(db)]


def find_key_signals(signals: list[Any], catalogue: Any = None) -> dict[str, Any]:
    """Title -> the reading (or None) for each key signal: by our DBC's names, else a name pattern, else (with a
    ``catalogue``) the live signal whose meaning and unit fit the tile best."""
    by_name: dict[str, Any] = {}
    for reading in signals:  # a DBC signal wins over the same value polled over OBD-II (source "obd-01")
        if reading.name not in by_name or not getattr(reading, "source", ""):
            by_name[reading.name] = reading
    found: dict[str, Any] = {}
    for title, names, pattern in KEY_SIGNALS:
        reading = next((by_name[n] for n in names if n in by_name), None)
        if reading is None:
            regex = re.compile(pattern, re.IGNORECASE)
            matches = [r for r in signals if regex.search(r.name)]
            reading = next((r for r in matches if not getattr(r, "source", "")), matches[0] if matches else None)
        if reading is None and catalogue is not None and title in KEY_MEANINGS:
            reading = _by_meaning(signals, catalogue, *KEY_MEANINGS[title])
        found[title] = reading
    return found


def _by_meaning(signals: list[Any], catalogue: Any, query: str, quantities: tuple[str, ...]) -> Any:
    by_key = {f"{r.message}.{r.name}": r for r in signals if not getattr(r, "source", "")}
    for match in catalogue.search(query, k=8, only=list(by_key)):
        entry = match.entry
        # the unit must measure what the tile shows (a wheel-speed pulse count is not a speed), and the name must
        # say it too: a unit alone is not enough
        if entry.quantity in quantities and match.lexical >= 0.5 and not entry.is_flag:
            return by_key[entry.key]
    return None


def signal_key(message: str, name: str) -> str:
    return f"{message}.{name}"


def signal_options(snapshot: Any, live: Any = None) -> dict[str, str]:
    """``"MESSAGE.Signal"`` -> ``"MESSAGE › Signal (unit)"``: every signal of the DBC (``live.db``) and every
    signal seen, sorted by message then signal."""
    found: dict[str, tuple[str, str, str]] = {}
    for message in getattr(getattr(live, "db", None), "messages", None) or []:
        for signal in message.signals:
            found[signal_key(message.name, signal.name)] = (message.name, signal.name, signal.unit or "")
    for reading in split_snapshot(snapshot).signals:
        found.setdefault(signal_key(reading.message, reading.name), (reading.message, reading.name, reading.unit or ""))
    options: dict[str, str] = {}
    for key, (message, name, unit) in sorted(found.items(), key=lambda item: (item[1][0], item[1][1])):
        options[key] = f"{message} › {name}" + (f" ({unit})" if unit else "")
    return options


def signal_history(live: Any, snapshot: Any, keys: list[str], now: float | None = None) -> dict[str, list[dict]]:
    """key -> rows ``{"seconds ago", "value"}`` of the readings kept by the LiveState (oldest first).

    Times count back from the newest reading, on the bus's own clock (a replayed log keeps its stamps).
    """
    now = time.time() if now is None else now
    out: dict[str, list[dict]] = {}
    for key in keys:
        message, _, name = key.partition(".")
        rows: list[dict] = []
        points = _history_points(live, message, name)
        last = points[-1][0] if points else now
        for stamp, value in points:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    continue
            rows.append({"seconds ago": round(stamp - last, 2), "value": float(value)})
        out[key] = rows
    return out


def _history_points(live: Any, message: str, name: str) -> list[tuple[float, Any]]:
    if live is None:
        return []
    getter = getattr(live, "history", None)
    if not callable(getter):
        return []
    try:
        points = getter(name, message or None)
    except (KeyError, TypeError, ValueError):
        return []
    return [_point(p) for p in points]


def _point(point: Any) -> tuple[float, Any]:
    if isinstance(point, tuple):
        return float(point[0]), point[1]
    return float(getattr(point, "timestamp")), getattr(point, "value")
