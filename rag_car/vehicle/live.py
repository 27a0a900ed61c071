"""CAN frames -> LiveState -> LiveSnapshot: the latest value of every signal, its age, range and history.

LiveState is a python-can Listener: attach it to a ``can.Notifier`` (or use
:func:`rag_car.vehicle.feed.open_feed`, which also reconnects). Per frame it only decodes (with the
payload cache) and appends to one ring buffer per message and multiplexer branch, so the bus
thread stays cheap; signal readings, staleness and range status are worked out when a snapshot is
taken. Ages count from when a frame arrived here (a replayed log keeps its own timestamps).

The DTC, lamp and vehicle parts of a snapshot are filled by the diagnostics side through
:meth:`LiveState.set_dtcs`, :meth:`LiveState.set_lamps` and :meth:`LiveState.set_vehicle`; readings that do
not come from DBC frames (OBD-II service 01 answers) through :meth:`LiveState.set_readings`.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from rag_car.vehicle.dbc import VehicleDb, load_dbc
from rag_car.vehicle.decode import DEFAULT_CACHE_SIZE, FrameDecoder
from rag_car.vehicle.pycan import import_can

if TYPE_CHECKING:
    from rag_car.settings import Settings
    from rag_car.vehicle.profile import VehicleProfile

can = import_can()

STATUSES = ("ok", "low", "high", "stale")
DTC_SOURCES = ("broadcast", "obd-03", "obd-07", "obd-0a", "j1939-dm1")
LAMP_STATES = ("on", "off", "flashing")
# bus states in which nothing can be current, whatever the frames' ages
NOT_LIVE = ("connecting", "reconnecting", "disconnected")
_STATUS_ORDER = {"high": 0, "low": 0, "stale": 2, "ok": 1}


@dataclass(frozen=True)
class SignalReading:
    """One signal's latest reading.

    ``timestamp``: the frame's own timestamp (the bus clock; a replayed log's clock);
    ``age_s``: seconds since that frame arrived here. ``status``: "ok", "low", "high" or "stale".
    ``normal``: the documented normal range, ``limits``: the DBC's min/max (None when unset).
    ``source``: "" for a signal decoded from a DBC frame, else who reported it (e.g. "obd-01").
    """

    name: str
    message: str
    value: Any
    unit: str
    label: str | None
    timestamp: float
    age_s: float
    status: str
    description: str = ""
    normal: tuple[float | None, float | None] | None = None
    limits: tuple[float | None, float | None] | None = None
    source: str = ""

    def to_text(self) -> str:
        """"Engine coolant temperature 118 degC (high: normal 85-105 degC), updated 0.2 s ago"."""
        unit = f" {self.unit}" if self.unit else ""
        value = format_number(self.value)
        shown = f"{self.label} ({value})" if self.label else f"{value}{unit}"
        detail = ""
        if self.status in ("low", "high"):
            if self.normal is not None and side_of(self.value, self.normal):
                detail = f" ({self.status}: normal {_range(self.normal)}{unit})"
            elif self.limits is not None:
                detail = f" ({self.status}: outside the DBC range {_range(self.limits)}{unit})"
            else:
                detail = f" ({self.status})"
        elif self.status == "stale":
            detail = " (stale)"
        elif self.normal is not None:
            detail = f" (normal {_range(self.normal)}{unit})"
        return f"{self.description or self.name} {shown}{detail}, updated {format_age(self.age_s)} ago"

    def to_json(self) -> dict[str, Any]:
        data = {"name": self.name, "message": self.message, "value": _json_number(self.value), "unit": self.unit,
                "label": self.label, "status": self.status, "age_s": round(self.age_s, 3)}
        if self.source:
            data["source"] = self.source
        return data


@dataclass(frozen=True)
class DtcReading:
    """An active (or pending, permanent) trouble code. ``source``: one of DTC_SOURCES."""

    code: str
    source: str
    description: str = ""
    status: str = "active"
    ecu: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "source": self.source, "description": self.description,
                "status": self.status, "ecu": self.ecu}


@dataclass(frozen=True)
class LampReading:
    """A warning lamp: ``state`` "on", "off" or "flashing"."""

    key: str
    name: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "state": self.state}


@dataclass
class LiveSnapshot:
    """What the car says at one moment: for the LLM (to_text) and for programs (to_json)."""

    signals: list[SignalReading]
    dtcs: list[DtcReading] = field(default_factory=list)
    lamps: list[LampReading] = field(default_factory=list)
    vehicle: dict[str, Any] = field(default_factory=dict)
    bus: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, Any] = field(default_factory=dict)
    taken_at: float = 0.0
    # the vehicle profile in force (None: no vehicle's facts apply), how it was chosen and what to tell the user
    profile: "VehicleProfile | None" = None
    profile_how: str = "none"
    profile_notes: tuple[str, ...] = ()

    def signal(self, name: str, message: str | None = None) -> SignalReading | None:
        """The reading of a signal ("Signal" or "Message.Signal"), or None if it was never received."""
        if message is None and "." in name:
            message, name = name.split(".", 1)
        for reading in self.signals:
            if reading.name == name and (message is None or reading.message == message):
                return reading
        return None

    @property
    def problems(self) -> list[SignalReading]:
        """Signals outside their range (low or high)."""
        return [s for s in self.signals if s.status in ("low", "high")]

    def to_text(self, limit: int | None = None) -> str:
        """Plain lines for a prompt: bus, vehicle, DTCs, lamps, then signals (out of range first)."""
        lines = [self._bus_line()]
        if self.vehicle:
            lines.append(_vehicle_line(self.vehicle))
        if self.dtcs:
            lines.append("Active DTCs: " + "; ".join(
                f"{d.code}{' ' + d.description if d.description else ''} ({d.source}"
                f"{', ' + d.status if d.status != 'active' else ''}{', ' + d.ecu if d.ecu else ''})" for d in self.dtcs))
        else:
            lines.append("Active DTCs: none reported")
        lit = [lamp for lamp in self.lamps if lamp.state != "off"]
        if self.lamps:
            lines.append("Warning lamps: " + ("; ".join(f"{l.name} {l.state.upper()}" for l in lit) if lit else "all off"))
        ordered = sorted(self.signals, key=lambda s: (_STATUS_ORDER.get(s.status, 3), s.message, s.name))
        if limit is not None and len(ordered) > limit:
            hidden = len(ordered) - limit
            ordered = ordered[:limit]
        else:
            hidden = 0
        lines += [reading.to_text() for reading in ordered]
        if hidden:
            lines.append(f"... and {hidden} more signals")
        return "\n".join(lines)

    def _bus_line(self) -> str:
        bus = self.bus
        source = "OBD-II adapter data" if str(bus.get("spec") or "").startswith("elm327:") else "CAN data"
        parts = [f"Live {source} from {bus.get('spec') or 'the bus'}: {bus.get('state', 'unknown')}"]
        if bus.get("error"):
            parts.append(f"({bus['error']})")
        problems = len(self.problems)
        stale = sum(1 for s in self.signals if s.status == "stale")
        parts.append(f"- {len(self.signals)} signals, {problems} out of range, {stale} stale")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "signals": [s.to_json() for s in self.signals],
            "dtcs": [{"code": d.code, "source": d.source, "description": d.description} for d in self.dtcs],
            "lamps": [lamp.to_json() for lamp in self.lamps],
            "vehicle": dict(self.vehicle),
            "bus": dict(self.bus),
            "counters": dict(self.counters),
            "profile": {"name": self.profile.name if self.profile else "", "how": self.profile_how,
                        "notes": list(self.profile_notes)},
        }


class _SignalInfo:
    __slots__ = ("unit", "description", "limits", "normal")

    def __init__(self, unit: str, description: str, limits, normal) -> None:
        self.unit = unit
        self.description = description
        self.limits = limits
        self.normal = normal


class LiveState(can.Listener):
    """The live view of the bus, fed frame by frame; thread-safe.

    ``dbs``: a VehicleDb, DBC path(s), or cantools Database object(s).
    ``profile``: the vehicle profile in force (its normal ranges by "Message.Signal"); :meth:`set_profile`
    changes it (a VIN heard on the bus). ``normal_ranges``: the user's own ranges over the profile's,
    "Message.Signal" or a bare "Signal" (every message's signal of that name) -> (low, high).
    ``history``: readings kept per signal.
    A message is stale after ``stale_factor`` times its GenMsgCycleTime without a frame, or after
    ``default_stale_s`` when it has none.
    """

    def __init__(self, dbs: Any, normal_ranges: Mapping[str, tuple[float | None, float | None]] | None = None,
                 history: int = 600, stale_factor: float = 3.0, default_stale_s: float = 2.0,
                 cache_size: int = DEFAULT_CACHE_SIZE, profile: "VehicleProfile | None" = None,
                 profile_how: str = "none", profile_notes: Iterable[str] = ()) -> None:
        self.db = _as_vehicle_db(dbs)
        self.decoder = FrameDecoder(self.db, cache_size=cache_size)
        self._user_ranges = dict(normal_ranges or {})
        self.profile: "VehicleProfile | None" = None
        self.profile_how = "none"
        self.profile_notes: tuple[str, ...] = ()
        self.normal_ranges: dict[str, tuple[float | None, float | None]] = {}
        self.history_len = max(1, int(history))
        self.stale_factor = stale_factor
        self.default_stale_s = default_stale_s
        self._lock = threading.Lock()
        self._rings: dict[int, deque] = {}
        self._infos: dict[tuple[int, str], _SignalInfo] = {}
        self._stale_limits: dict[int, float] = {}
        self._dtcs: dict[str, list[DtcReading]] = {}
        self._lamps: list[LampReading] = []
        self._vehicle: dict[str, Any] = {}
        self._bus: dict[str, Any] = {"spec": None, "state": "unknown"}
        self._external: dict[str, tuple[float, float, list[SignalReading]]] = {}
        self._first_arrival: float | None = None
        self._last_arrival: float | None = None
        # the bus clock of the first and last frame (a replayed log's own timestamps): how long the bus was read
        self._first_stamp: float | None = None
        self._last_stamp: float | None = None
        self.set_profile(profile, profile_how, profile_notes)

    def set_profile(self, profile: "VehicleProfile | None", how: str = "", notes: Iterable[str] = ()) -> None:
        """Make ``profile`` the one in force (None: no vehicle's facts): its ranges replace the previous one's."""
        ranges = dict(profile.normal_ranges()) if profile is not None else {}
        ranges.update(self._user_ranges)
        with self._lock:
            self.profile = profile
            self.profile_how = how or ("none" if profile is None else self.profile_how)
            self.profile_notes = tuple(notes)
            self.normal_ranges = ranges
            self._infos = {}

    # --- the bus side -----------------------------------------------------------------------------
    def on_message_received(self, msg: "can.Message") -> None:
        self.on_frame(msg)

    def on_frame(self, msg: "can.Message", received_at: float | None = None) -> None:
        """Decode one frame and update the state. Never raises: a bad frame is counted."""
        arrived = time.time() if received_at is None else received_at
        with self._lock:
            try:
                entry = self.decoder.decode(msg)
            except Exception as exc:  # a malformed Message object (None data, odd types): count it, keep going
                counters = self.decoder.counters
                counters.errors += 1
                counters.count(getattr(msg, "arbitration_id", -1) or 0, "errors", f"{type(exc).__name__}: {exc}")
                return
            if self._first_arrival is None:
                self._first_arrival = arrived
                self._first_stamp = msg.timestamp
            self._last_arrival = arrived
            self._last_stamp = msg.timestamp
            if entry is None:
                return
            ring = self._rings.get(entry.track)
            if ring is None:
                ring = self._rings[entry.track] = deque(maxlen=self.history_len)
            ring.append((msg.timestamp, arrived, entry))

    # --- the diagnostics side ---------------------------------------------------------------------
    def set_dtcs(self, source: str, dtcs: Iterable[DtcReading]) -> None:
        """Replace the DTC list reported by one source ("broadcast", "obd-03", ...)."""
        with self._lock:
            self._dtcs[source] = list(dtcs)

    def set_lamps(self, lamps: Iterable[LampReading]) -> None:
        with self._lock:
            self._lamps = list(lamps)

    def set_vehicle(self, info: Mapping[str, Any]) -> None:
        """VIN, make, model, variant, year, vin_valid (merged into what is known)."""
        with self._lock:
            self._vehicle.update(info)

    def set_readings(self, source: str, readings: Iterable[SignalReading], stale_s: float | None = None) -> None:
        """Replace the readings one non-frame source reports (OBD-II service 01 answers: "obd-01").

        They appear in snapshots after the decoded signals, under their own message name (e.g. "OBD"), so
        they never overwrite a DBC signal. Their age counts from this call; at snapshot time a reading is
        "stale" after ``stale_s`` (default ``default_stale_s``) without a new call, else "low"/"high" against
        its ``normal`` range (or normal_ranges["Message.Signal"]), "ok" when it has a label.
        """
        arrived = time.time()
        items = list(readings)
        with self._lock:
            self._external[source] = (arrived, self.default_stale_s if stale_s is None else stale_s, items)

    def set_bus(self, **info: Any) -> None:
        """Bus facts for the snapshot: spec, state ("connected", "reconnecting", "ended", ...), error, reconnects."""
        with self._lock:
            self._bus.update(info)

    # --- reading ----------------------------------------------------------------------------------
    def snapshot(self, now: float | None = None, names: Iterable[str] | None = None) -> LiveSnapshot:
        """Every signal received so far, with status and age at ``now`` (default: time.time()).

        ``names``: only these signals ("Signal" or "Message.Signal").
        """
        now = time.time() if now is None else now
        wanted = None if names is None else set(names)
        with self._lock:
            latest = [(track, ring[-1]) for track, ring in self._rings.items()]
            dtcs = [d for source in self._dtcs.values() for d in source]
            lamps = list(self._lamps)
            vehicle = dict(self._vehicle)
            bus = dict(self._bus)
            counters = self.decoder.counters.to_json(top=20)
            external = [(arrived, stale_s, r) for arrived, stale_s, items in self._external.values() for r in items]
            last_arrival = self._last_arrival
            first_arrival = self._first_arrival
            stamps = (self._first_stamp, self._last_stamp)
        force_stale = bus.get("state") in NOT_LIVE
        best: dict[tuple[str, str], tuple[float, float, Any, Any]] = {}
        for _track, (stamp, arrived, entry) in latest:
            message = entry.message
            for name, value in entry.signals.items():
                key = (message.name, name)
                if wanted is not None and name not in wanted and f"{message.name}.{name}" not in wanted:
                    continue
                seen = best.get(key)
                if seen is None or arrived > seen[1]:
                    best[key] = (stamp, arrived, entry, value)
        readings = []
        for (message_name, name), (stamp, arrived, entry, value) in best.items():
            message = entry.message
            info = self._info(message, name)
            age = max(0.0, now - arrived)
            label = entry.labels.get(name)
            if force_stale or age > self._stale_limit(message):
                status = "stale"
            elif label is not None:
                status = "ok"
            else:
                status = _range_status(value, info.normal, info.limits)
            readings.append(SignalReading(
                name=name, message=message_name, value=value, unit=info.unit, label=label, timestamp=stamp,
                age_s=age, status=status, description=info.description, normal=info.normal, limits=info.limits))
        readings.sort(key=lambda r: (r.message, r.name))
        readings += self._external_readings(external, now, wanted, force_stale)
        total = counters.get("frames", 0)
        bus["frames"] = total
        bus["last_frame_age_s"] = None if last_arrival is None else round(max(0.0, now - last_arrival), 3)
        if first_arrival is not None and last_arrival is not None and last_arrival > first_arrival:
            bus["frames_per_s"] = round(total / (last_arrival - first_arrival), 1)
        if stamps[0] is not None:
            bus["first_frame_ts"], bus["last_frame_ts"] = stamps
        return LiveSnapshot(signals=readings, dtcs=dtcs, lamps=lamps, vehicle=vehicle, bus=bus,
                            counters=counters, taken_at=now, profile=self.profile, profile_how=self.profile_how,
                            profile_notes=self.profile_notes)

    def _external_readings(self, external, now: float, wanted: set[str] | None, force_stale: bool) -> list[SignalReading]:
        """The set_readings() readings with their age and status at ``now`` (after the frames' own, so that a bare
        signal name finds the DBC signal first)."""
        out = []
        for arrived, stale_s, reading in external:
            if wanted is not None and reading.name not in wanted and f"{reading.message}.{reading.name}" not in wanted:
                continue
            normal = reading.normal or self.normal_ranges.get(f"{reading.message}.{reading.name}")
            age = max(0.0, now - arrived)
            if force_stale or age > stale_s:
                status = "stale"
            elif reading.label is not None:
                status = "ok"
            else:
                status = _range_status(reading.value, normal, reading.limits)
            out.append(replace(reading, age_s=age, status=status, normal=normal))
        out.sort(key=lambda r: (r.message, r.name))
        return out

    def history(self, signal: str, message: str | None = None) -> list[tuple[float, Any]]:
        """(timestamp, value) of the readings kept for one signal, oldest first."""
        if message is None and "." in signal:
            message, signal = signal.split(".", 1)
        with self._lock:
            rings = [list(ring) for ring in self._rings.values()]
        points = []
        for ring in rings:
            if not ring:
                continue
            entry = ring[-1][2]
            if signal not in entry.signals or (message is not None and entry.message.name != message):
                continue
            points += [(arrived, stamp, e.signals[signal]) for stamp, arrived, e in ring]
        points.sort(key=lambda p: p[0])
        return [(stamp, value) for _arrived, stamp, value in points]

    def latest(self, signal: str, message: str | None = None, now: float | None = None) -> SignalReading | None:
        key = signal if message is None else f"{message}.{signal}"
        return self.snapshot(now=now, names=[key]).signal(signal, message)

    @property
    def counters(self):
        return self.decoder.counters

    def clear(self) -> None:
        """Forget every reading (not the DTCs, lamps or vehicle)."""
        with self._lock:
            self._rings.clear()
            self._external.clear()
            self._first_arrival = self._last_arrival = None
            self._first_stamp = self._last_stamp = None

    # --- per-signal facts, worked out once --------------------------------------------------------
    def _info(self, message, name: str) -> _SignalInfo:
        key = (id(message), name)
        info = self._infos.get(key)
        if info is None:
            signal = message.get_signal_by_name(name)
            limits = None
            low, high = signal.minimum, signal.maximum
            if low is not None or high is not None:
                if not (low == high == 0 or (low is not None and high is not None and low >= high)):
                    limits = (low, high)  # [0|0] is "not given" in most real DBCs
            # the profile's ranges are keyed by Message.Signal only; a bare name is the user's own override
            normal = self.normal_ranges.get(f"{message.name}.{name}") or self._user_ranges.get(name)
            if normal is not None:
                normal = (normal[0], normal[1])
            info = self._infos[key] = _SignalInfo(signal.unit or "", _description(signal.comment), limits, normal)
        return info

    def _stale_limit(self, message) -> float:
        limit = self._stale_limits.get(id(message))
        if limit is None:
            cycle = message.cycle_time
            limit = self.stale_factor * cycle / 1000.0 if cycle else self.default_stale_s
            self._stale_limits[id(message)] = limit
        return limit


def live_state_from_settings(settings: "Settings", dbc: Iterable[str | Path] | None = None) -> LiveState:
    """A LiveState for the configured DBC files (``dbc`` overrides them), with the vehicle profile in force before any
    VIN is heard (the picked one, else the one whose DBC files these are; see rag_car.vehicle.profile) and
    can.normal_ranges over its ranges."""
    from rag_car.vehicle.profile import garage_for

    files = list(dbc) if dbc else settings.dbc_files()
    if not files:
        from rag_car.errors import DbcError

        raise DbcError("no DBC file configured and none bundled in dbc/", "pass --dbc FILE or set can.dbc in rag_car.toml")
    db = load_dbc(files, cache_dir=settings.cache_dir / "dbc")
    ranges = {key: (value[0], value[1]) for key, value in (settings.can.normal_ranges or {}).items()}
    garage = garage_for(settings)
    resolution = garage.resolve(picked=settings.vehicle.profile or None, dbc=files)
    notes = list(resolution.notes) + [f"vehicle profile {p.source}: {p.message}" for p in garage.problems]
    return LiveState(db, normal_ranges=ranges, history=settings.can.history, stale_factor=settings.can.stale_factor,
                     default_stale_s=settings.can.default_stale_s, profile=resolution.profile,
                     profile_how=resolution.how, profile_notes=notes)


def _as_vehicle_db(dbs: Any) -> VehicleDb:
    if isinstance(dbs, VehicleDb):
        return dbs
    from cantools.database.can import Database

    from rag_car.vehicle.dbc import DbcFile, LoadReport

    items = [dbs] if isinstance(dbs, (str, Path, Database)) else list(dbs)
    if items and all(isinstance(item, Database) for item in items):
        return VehicleDb([DbcFile(path=Path("<memory>"), database=item, report=LoadReport(Path("<memory>")))
                          for item in items])
    return load_dbc(items)


def _range_status(value: Any, normal, limits) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or (isinstance(value, float) and math.isnan(value)):
        return "ok"
    for bounds in (limits, normal):
        if bounds is not None and (side := side_of(value, bounds)):
            return side
    return "ok"


def side_of(value: float, bounds: tuple[float | None, float | None]) -> str:
    """``low`` or ``high`` when ``value`` is outside ``(low, high)`` (either end may be None: open), else ""."""
    low, high = bounds
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return ""


def _description(comment: str | None) -> str:
    """The first sentence of a signal comment, when it is short enough to name the signal."""
    if not comment:
        return ""
    first = comment.strip().split("\n", 1)[0]
    for stop in (". ", "; "):
        first = first.split(stop, 1)[0]
    first = first.rstrip(".;: ")
    return first if 0 < len(first) <= 60 else ""


def format_number(value: Any) -> str:
    """A reading's value as shown to a person: whole floats without ".0", others to 6 significant digits."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.6g}"
    return str(value)


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _range(bounds) -> str:
    low, high = bounds
    if low is None:
        return f"up to {format_number(high)}"
    if high is None:
        return f"from {format_number(low)}"
    return f"{format_number(low)}-{format_number(high)}"


def format_age(seconds: float) -> str:
    """An age or duration as shown to a person: "0.4 s", "42 s", "3.5 min", "2.1 h"."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _vehicle_line(vehicle: Mapping[str, Any]) -> str:
    name = " ".join(str(vehicle[k]) for k in ("year", "make", "model", "variant") if vehicle.get(k))
    vin = vehicle.get("vin")
    if vin:
        valid = vehicle.get("vin_valid")
        name += f" (VIN {vin}{'' if valid is None else ', valid' if valid else ', NOT valid'})"
    return f"Vehicle: {name or 'unknown'}"
