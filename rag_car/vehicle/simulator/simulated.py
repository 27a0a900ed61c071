"""Scenario + DBC + vehicle profile -> SimulatedVehicle: at every tick the physics, the scenario's effects, the vehicle's own
reactions (warnings, lamps, MIL), and the frames that are due, encoded with cantools.

Names come from the files, not from this code: DBC signals from vehicle.toml (checked against the DBC),
lamps, the DTC broadcast and the VIN broadcast from the vehicle profile (knowledge/facts.toml), value-table labels
("Confirmed, MIL on", "ECM") from the DBC itself.
"""

from __future__ import annotations

import difflib
import math
import random
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import can

from rag_car.errors import ConfigError, DbcError
from rag_car.vehicle.diagnostics.dtc import encode_dtc
from rag_car.vehicle.diagnostics.ecu import EcuView
from rag_car.vehicle.diagnostics.vin import decode_vin
from rag_car.vehicle.simulator.physics import PLACARD_KPA, WHEELS, VehicleModel
from rag_car.vehicle.simulator.profiles import PROFILES, SpeedProfile
from rag_car.vehicle.simulator.scenario import Effect, Scenario, Trigger

if TYPE_CHECKING:
    from rag_car.vehicle.profile import VehicleProfile

MODEL_FILE = Path(__file__).resolve().parent / "vehicle.toml"
# service 01 values the ECM reports, by PID key (diagnostics.obd.PIDS), from the physics quantities
ECM_PID_KEYS = ("engine_load", "coolant_temp", "stft_b1", "ltft_b1", "map", "engine_speed", "vehicle_speed",
                "intake_temp", "throttle", "run_time", "distance_mil_on", "fuel_level", "distance_since_clear",
                "baro", "module_voltage", "ambient_temp")
TCM_PID_KEYS = ("vehicle_speed", "module_voltage")


def load_vehicle_db(path: Path | str):
    """The vehicle's own DBC, loaded strictly with cantools; DbcError naming the file when it does not load."""
    import cantools

    path = Path(path)
    try:
        return cantools.database.load_file(str(path), strict=True)
    except FileNotFoundError as exc:
        raise DbcError(f"DBC file {path} does not exist", "check --dbc / RAG_CAR_CAN__DBC, or restore dbc/ from the repository") from exc
    except Exception as exc:  # cantools raises several parse error types
        raise DbcError(f"DBC file {path} does not load strictly: {exc}", "fix the file; the simulator needs the vehicle's own DBC") from exc


@dataclass
class _Message:
    """One message the vehicle sends, with what is needed to build each frame fast."""

    message: Any
    cycle_s: float
    signals: list[tuple[str, str, float | None, float | None]]  # (signal, full name, min, max)
    mux: str | None = None
    pages: dict[int, list[str]] | None = None
    page: int = 0
    due: float = 0.0


@dataclass
class ActiveDtc:
    code: str
    status: str  # pending, confirmed
    mil: bool
    ecu: str
    occurrences: int
    since_s: float


class SimulatedVehicle:
    """The simulated car; :meth:`advance` moves it on, :meth:`frames_due` gives what to put on the bus.

    ``time_scale`` runs scenario time faster than the wall clock (20 = a 60 s fault shows in 3 s).
    ``profile``: city, highway or idle; None takes the scenario's. Raises ScenarioError or ConfigError
    when the scenario or vehicle.toml names something the DBC or the vehicle profile (``vehicle``) do not have.
    """

    def __init__(self, db, vehicle: "VehicleProfile", scenario: Scenario, *, profile: str | None = None,
                 time_scale: float = 1.0, seed: int = 7, model_file: Path = MODEL_FILE) -> None:
        if time_scale <= 0:
            raise ConfigError(f"time scale {time_scale:g} is not positive", "use e.g. --time-scale 1 (real time) or 20")
        profile = profile or scenario.speed_profile
        if profile not in PROFILES:
            raise ConfigError(f"unknown speed profile {profile!r}", f"use one of {', '.join(PROFILES)}")
        self.db = db
        self.vehicle = vehicle
        self.scenario = scenario
        self.time_scale = time_scale
        self.profile_name = profile
        self._random = random.Random(seed)
        self._load_model(model_file)
        self._index_messages()
        scenario.bind(self.resolve, set(vehicle.lamps), set(self.ecus))
        self.model = VehicleModel(SpeedProfile(profile, seed=seed), scenario.start, seed=seed + 4)
        self.vin = scenario.vin or self._default_vin()
        self.t = 0.0
        self.values: dict[str, float] = {}
        self.quantities: dict[str, float] = {}
        self.dtcs: dict[str, ActiveDtc] = {}
        self.lamps: dict[str, str] = {}
        self._fired: dict[int, float] = {}
        self._ramp_from: dict[int, float] = {}
        self._holding: dict[int, float] = {}
        self._counters: dict[str, int] = {name: 0 for name in self._counter_signals}
        self._dtc_cursor = 0
        self.advance(0.0)

    # --- configuration -----------------------------------------------------------------------------
    def _load_model(self, path: Path) -> None:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        self.model_file = path
        vehicle = data.get("vehicle", {})
        self.not_fitted = set(vehicle.get("not_fitted", []))
        self.diagnostic_senders = set(vehicle.get("diagnostic_senders", []))
        self.bindings: dict[str, str] = dict(data.get("signals", {}))
        self.constants: dict[str, float] = {k: float(v) for k, v in data.get("constant", {}).items()}
        self._counter_signals: list[str] = list(data.get("counters", {}).get("signals", []))
        self.thresholds: dict[str, float] = {k: float(v) for k, v in data.get("thresholds", {}).items()}
        self.ecus: dict[str, int] = {k: int(v) for k, v in data.get("ecus", {"ECM": 0}).items()}
        self.ecu_names: dict[str, str] = dict(data.get("ecu_names", {}))

    def _index_messages(self) -> None:
        self.messages: list[_Message] = []
        self.signal_index: dict[str, tuple[Any, Any]] = {}
        for message in self.db.messages:
            senders = set(message.senders or [])
            if senders & (self.not_fitted | self.diagnostic_senders):
                continue
            for signal in message.signals:
                self.signal_index[f"{message.name}.{signal.name}"] = (message, signal)
            if not message.cycle_time:
                continue
            mux = None
            pages = None
            for node in message.signal_tree:
                if isinstance(node, dict):
                    mux, branches = next(iter(node.items()))
                    pages = {int(k): list(v) for k, v in branches.items()}
            signals = [(s.name, f"{message.name}.{s.name}", s.minimum, s.maximum) for s in message.signals]
            self.messages.append(_Message(message, message.cycle_time / 1000.0, signals, mux, pages))
        missing = [f"{q} = {name!r}" for q, name in self.bindings.items() if name not in self.signal_index]
        missing += [repr(name) for name in [*self.constants, *self._counter_signals] if name not in self.signal_index]
        if missing:
            raise ConfigError(f"{self.model_file} names signals the DBC does not have: {', '.join(missing[:5])}"
                              + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""),
                              "rename them to the DBC's Message.Signal names")
        self.quantity_of = {name: q for q, name in self.bindings.items()}
        self.frame_ids = {m.message.frame_id for m in self.messages}
        self._dtc_message = self._profile_message(self.vehicle.dtc_broadcast.get("message"))
        self._vin_message = self._profile_message(self.vehicle.vin_broadcast.get("message"))

    def _profile_message(self, name: str | None):
        if not name:
            return None
        for item in self.messages:
            if item.message.name == name:
                return item.message
        return None

    def resolve(self, name: str) -> str:
        """"Message.Signal" or a unique "Signal" -> the full name; KeyError with a hint otherwise."""
        if name in self.signal_index:
            return name
        if "." not in name:
            owners = [full for full in self.signal_index if full.split(".", 1)[1] == name]
            if len(owners) == 1:
                return owners[0]
            if len(owners) > 1:
                raise KeyError(f"signal {name!r} is in several messages: write one of {', '.join(owners)}")
        close = difflib.get_close_matches(name, list(self.signal_index), n=3, cutoff=0.6)
        if not close and "." not in name:
            close = difflib.get_close_matches(name, [f.split(".", 1)[1] for f in self.signal_index], n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else " (names are Message.Signal as in the DBC)"
        raise KeyError(f"signal {name!r} is not in the DBC's messages{hint}")

    def _default_vin(self) -> str:
        examples = self.vehicle.identity.example_vins
        variant = next((v for v in self.vehicle.identity.variants if v.code == "G20"), None)
        for vin in examples:
            info = decode_vin(vin, self.vehicle)
            if info.valid and (variant is None or info.variant == variant.name):
                return vin
        return examples[0] if examples else ""

    # --- one tick ----------------------------------------------------------------------------------
    def advance(self, dt_wall: float) -> None:
        """Move the vehicle on by ``dt_wall`` seconds of wall-clock time (times the time scale)."""
        dt = dt_wall * self.time_scale
        previous = self.values
        q = self.model.step(dt)
        self.t = self.model.state.t
        values: dict[str, float] = {name: q[quantity] for quantity, name in self.bindings.items() if quantity in q}
        values.update(self.constants)
        overridden: set[str] = set()
        for n, effect in enumerate(self.scenario.effects):
            if not self._fires(n, effect.trigger, previous):
                continue
            self._apply(n, effect, values, overridden)
        for name in overridden | {e.signal for e in self.scenario.effects}:
            quantity = self.quantity_of.get(name)
            if quantity is not None and name in values:
                q[quantity] = values[name]
        self._derive(q, overridden)
        self._update_dtcs(previous)
        self._derive_diagnostics(q, overridden)
        for quantity, name in self.bindings.items():
            if name not in overridden and quantity in q:
                values[name] = q[quantity]
        self._update_lamps(q, previous, values, overridden)
        self.model.feedback(q)
        self.quantities = q
        self.values = values

    def _fires(self, n: int, trigger: Trigger, values: dict[str, float]) -> bool:
        if n in self._fired:
            return True
        if self.t < trigger.at_s:
            return False
        if trigger.when is not None:
            current = values.get(trigger.when.signal)
            if current is None or not trigger.when.holds(current):
                self._holding.pop(n, None)
                return False
            since = self._holding.setdefault(n, self.t)
            if self.t - since < trigger.hold_s:
                return False
        self._fired[n] = self.t
        return True

    def _apply(self, n: int, effect: Effect, values: dict[str, float], overridden: set[str]) -> None:
        name = effect.signal
        base = values.get(name, 0.0)
        since = self.t - self._fired[n]
        if effect.kind == "ramp":
            if n not in self._ramp_from:
                self._ramp_from[n] = base if effect.start is None else effect.start
            begin = self._ramp_from[n]
            values[name] = begin + (effect.to - begin) * min(1.0, since / effect.over_s)
            overridden.add(name)
        elif effect.kind == "set":
            values[name] = effect.value
            overridden.add(name)
        elif effect.shape == "sine":
            values[name] = base + effect.amplitude * math.sin(2 * math.pi * since / effect.period_s)
        else:
            values[name] = base + self._random.uniform(-effect.amplitude, effect.amplitude)

    def _derive(self, q: dict[str, float], overridden: set[str]) -> None:
        """The vehicle's own reactions to its (final) quantities, unless the scenario holds that signal."""
        th = self.thresholds

        def put(quantity: str, value: float) -> None:
            if self.bindings.get(quantity) not in overridden:
                q[quantity] = value

        coolant = q.get("coolant_temp", 90.0)
        fan_on, fan_full = th.get("fan_on_c", 98), th.get("fan_full_c", 106)
        put("radiator_fan", 0.0 if coolant < fan_on else min(100.0, 100.0 * (coolant - fan_on) / max(1.0, fan_full - fan_on)))
        put("coolant_warning", 1.0 if coolant >= th.get("coolant_warning_c", 113) else 0.0)
        put("engine_protection", 1.0 if coolant >= th.get("engine_protection_c", 120) else 0.0)
        put("oil_pressure_switch", 1.0 if q.get("oil_pressure", 300) < th.get("oil_pressure_switch_kpa", 49) else 0.0)
        fraction = th.get("tire_low_fraction", 0.75)
        any_low = False
        for i, wheel in enumerate(WHEELS):
            is_low = q.get(f"tire_pressure_{wheel}", PLACARD_KPA[i]) < fraction * PLACARD_KPA[i]
            any_low = any_low or is_low
            put(f"tire_low_{wheel}", 1.0 if is_low else 0.0)
        put("tpms_status", 1.0 if any_low else 0.0)
        put("charge_mode", 5.0 if q.get("alternator_fault") else 1.0)
        q["module_voltage"] = q.get("battery_voltage", 14.2) - 0.15
        self.model.wheel_speeds(q)
        for wheel in WHEELS:
            name = self.bindings.get(f"wheel_speed_{wheel}")
            if name in overridden:
                q[f"wheel_speed_{wheel}"] = self.values.get(name, q[f"wheel_speed_{wheel}"])

    def _update_dtcs(self, previous: dict[str, float]) -> None:
        base = len(self.scenario.effects)
        for n, event in enumerate(self.scenario.dtcs):
            if not self._fires(base + n, event.trigger, previous):
                continue
            current = self.dtcs.get(event.code)
            if current is None:
                self.dtcs[event.code] = ActiveDtc(event.code, event.status, event.mil, event.ecu, event.occurrences, self.t)
            elif (current.status, current.mil, current.ecu) != (event.status, event.mil, event.ecu) and \
                    self._fired[base + n] >= current.since_s:
                current.status, current.mil, current.ecu = event.status, event.mil, event.ecu
                current.occurrences = max(current.occurrences, event.occurrences)
                current.since_s = self._fired[base + n]

    def _derive_diagnostics(self, q: dict[str, float], overridden: set[str]) -> None:
        mil = self.mil_on
        if self.bindings.get("mil_commanded") not in overridden:
            q["mil_commanded"] = 1.0 if mil else 0.0
        if self.bindings.get("dtc_count") not in overridden:
            q["dtc_count"] = float(sum(1 for d in self.dtcs.values() if d.status == "confirmed"))

    @property
    def mil_on(self) -> bool:
        return any(d.status == "confirmed" and d.mil for d in self.dtcs.values())

    def _update_lamps(self, q: dict[str, float], previous: dict[str, float], values: dict[str, float],
                      overridden: set[str]) -> None:
        th = self.thresholds
        lamps: dict[str, str] = {}
        if self.mil_on:
            lamps["check_engine"] = "on"
        if q.get("coolant_warning"):
            lamps["coolant_temp"] = "on"
        if q.get("tpms_status") == 1.0:
            lamps["tpms"] = "on"
        if q.get("alternator_fault"):
            lamps["charging"] = "on"
        if q.get("oil_pressure_switch"):
            lamps["oil_pressure"] = "on"
        if q.get("fuel_level", 100) < th.get("low_fuel_pct", 10):
            lamps["low_fuel"] = "on"
        base = len(self.scenario.effects) + len(self.scenario.dtcs)
        for n, event in enumerate(self.scenario.lamps):
            if self._fires(base + n, event.trigger, previous):
                lamps[event.key] = event.state
        self.lamps = {k: v for k, v in lamps.items() if v != "off" and k in self.vehicle.lamps}
        for key, lamp in self.vehicle.lamps.items():
            name = f"{lamp.message}.{lamp.signal}"
            if name in self.signal_index and name not in overridden:
                values[name] = float(lamp.raw_for(self.lamps.get(key, "off")))

    # --- frames ------------------------------------------------------------------------------------
    def frames_due(self, now: float) -> list[can.Message]:
        """The frames whose cycle time has come at monotonic time ``now`` (each message at its own rate)."""
        frames: list[can.Message] = []
        for item in self.messages:
            if now < item.due:
                continue
            item.due = now + item.cycle_s if now - item.due > item.cycle_s else item.due + item.cycle_s
            frame = self.build_frame(item)
            if frame is not None:
                frames.append(frame)
        return frames

    def build_frame(self, item: _Message) -> can.Message | None:
        message = item.message
        if message is self._dtc_message:
            data = self._dtc_values(message)
        elif message is self._vin_message:
            data = self._vin_values(item)
        else:
            names = [s for s in item.signals]
            if item.pages is not None and item.mux is not None:
                page = sorted(item.pages)[item.page % len(item.pages)]
                item.page += 1
                allowed = set(item.pages[page]) | {item.mux}
                names = [s for s in item.signals if s[0] in allowed]
                data = {item.mux: page}
            else:
                data = {}
            for signal, full, low, high in names:
                if signal in data:
                    continue
                if full in self._counters:
                    data[signal] = self._counters[full]
                    self._counters[full] = (self._counters[full] + 1) % 16
                    continue
                value = self.values.get(full, 0.0 if low is None else max(low, 0.0) if (high is None or high >= 0) else low)
                if low is not None:
                    value = max(low, value)
                if high is not None:
                    value = min(high, value)
                data[signal] = value
        try:
            payload = message.encode(data, scaling=True, padding=True, strict=False)
        except Exception:  # a value the DBC cannot carry: skip this frame rather than stop the vehicle
            return None
        return can.Message(arbitration_id=message.frame_id, data=payload, is_extended_id=message.is_extended_frame,
                           dlc=len(payload))

    def _dtc_values(self, message) -> dict[str, Any]:
        spec = self.vehicle.dtc_broadcast
        active = sorted(self.dtcs.values(), key=lambda d: d.since_s)
        count = len(active)
        data = {spec.get("count_signal", "DtcCount"): count, spec.get("index_signal", "DtcIndex"): 0,
                spec.get("code_signal", "DtcCode"): 0}
        status_signal = spec.get("status_signal", "DtcStatus")
        ecu_signal = spec.get("ecu_signal", "DtcEcu")
        occurrences_signal = spec.get("occurrences_signal", "DtcOccurrences")
        names = {s.name for s in message.signals}
        if status_signal in names:
            data[status_signal] = 0
        if ecu_signal in names:
            data[ecu_signal] = 0
        if occurrences_signal in names:
            data[occurrences_signal] = 0
        if count:
            index = self._dtc_cursor % count
            self._dtc_cursor = index + 1
            dtc = active[index]
            data[spec.get("index_signal", "DtcIndex")] = index
            data[spec.get("code_signal", "DtcCode")] = encode_dtc(dtc.code)
            if status_signal in names:
                label = "pending" if dtc.status == "pending" else ("confirmed, mil on" if dtc.mil else "confirmed")
                data[status_signal] = _raw_for_label(message.get_signal_by_name(status_signal), label, 1)
            if ecu_signal in names:
                data[ecu_signal] = _raw_for_label(message.get_signal_by_name(ecu_signal), dtc.ecu, 0)
            if occurrences_signal in names:
                data[occurrences_signal] = min(255, dtc.occurrences)
        return {k: v for k, v in data.items() if k in names}

    def _vin_values(self, item: _Message) -> dict[str, Any]:
        spec = self.vehicle.vin_broadcast
        signals = spec.get("signals", [])
        page = item.page % max(1, len(signals))
        item.page += 1
        chunk = self.vin[page * 7:page * 7 + (7 if page < 2 else 3)].encode("ascii")
        width = 7 if page < 2 else 3
        return {spec.get("page_signal", "VinPage"): page, signals[page]: int.from_bytes(chunk.ljust(width, b"0"), "big")}

    # --- what the diagnostic ECUs know --------------------------------------------------------------
    def ecu_view(self, ecu: str) -> EcuView:
        q = self.quantities
        keys = ECM_PID_KEYS if ecu == "ECM" else TCM_PID_KEYS
        mine = [d for d in sorted(self.dtcs.values(), key=lambda d: d.since_s) if d.ecu == ecu]
        confirmed = tuple(d.code for d in mine if d.status == "confirmed")
        return EcuView(
            values={k: q[k] for k in keys if k in q},
            stored=confirmed,
            pending=tuple(d.code for d in mine),  # failed this drive cycle: pending and confirmed alike
            permanent=tuple(d.code for d in mine if d.status == "confirmed" and d.mil),
            mil_on=any(d.status == "confirmed" and d.mil for d in mine),
            vin=self.vin if ecu == "ECM" else "",
            ecu_name=self.ecu_names.get(ecu, ecu),
            refuse=dict(self.scenario.refuse) if ecu == "ECM" else {},
            engine_running=bool(q.get("engine_running", 1.0)),
        )


def _raw_for_label(signal, label: str, default: int) -> int:
    for raw, name in (signal.choices or {}).items():
        if str(name).lower() == label.lower():
            return int(raw)
    return default

