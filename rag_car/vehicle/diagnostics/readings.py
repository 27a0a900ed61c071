"""OBD-II service 01 answers (PidValue, MonitorStatus) -> SignalReadings for the live snapshot ("OBD.EngineSpeed", ...).

The readings sit beside the decoded DBC signals under their own message name, so the two never
overwrite each other: "OBD" for the engine ECU (response ID 0x7E8, as ISO 15765-4 assigns it), "OBD_<ECU>"
for the others ("OBD_TCM.VehicleSpeed"). Their names are the DBC's own signal names where the bundled DBC
has the quantity (EngineSpeed, CoolantTemp, ShortTermFuelTrimB1, ...), so the documented normal range of
that signal applies to the OBD-II value as well.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping

from rag_car.vehicle.diagnostics.obd import FIRST_RESPONSE_ID, PIDS, MonitorStatus, PidValue
from rag_car.vehicle.live import SignalReading

SOURCE = "obd-01"
# PID key (obd.PIDS) -> reading name
READING_NAMES = {
    "engine_load": "EngineLoad",
    "coolant_temp": "CoolantTemp",
    "stft_b1": "ShortTermFuelTrimB1",
    "ltft_b1": "LongTermFuelTrimB1",
    "map": "ManifoldAbsPressure",
    "engine_speed": "EngineSpeed",
    "vehicle_speed": "VehicleSpeed",
    "intake_temp": "IntakeAirTemp",
    "throttle": "ThrottlePosition",
    "run_time": "RunTime",
    "distance_mil_on": "DistanceWithMil",
    "fuel_level": "FuelLevel",
    "distance_since_clear": "DistanceSinceClear",
    "baro": "BarometricPressure",
    "module_voltage": "ControlModuleVoltage",
    "ambient_temp": "OutsideAirTemp",
    "timing_advance": "IgnitionTimingAdvance",
    "maf": "MassAirFlow",
    "evap_purge": "EvapPurgeDuty",
    "warmups_since_clear": "WarmupsSinceClear",
    "catalyst_temp_b1s1": "CatalystTempB1S1",
    "oil_temp": "EngineOilTemp",
    "fuel_rate": "FuelConsumptionRate",  # the same quantity in L/h; FuelRailPressure is in MPa, not kPa: not mapped
    "o2_b1s2_voltage": "O2SensorVoltageB1S2",
}


def reading_name(key: str) -> str:
    """The reading name of a PID key: the DBC's own name where the bundled DBC has the quantity, else the key in
    CamelCase ("commanded_egr" -> "CommandedEgr", "catalyst_temp_b1s2" -> "CatalystTempB1S2")."""
    return READING_NAMES.get(key) or "".join(part.upper() if re.fullmatch(r"(b\d)?(s\d)?", part) else part[:1].upper() + part[1:]
                                             for part in key.split("_"))
# A reading whose quantity the documents give under another signal's name: the ECM's supply is the 12 V system.
RANGE_OF = {"ControlModuleVoltage": "BatteryVoltage"}


def obd_message(ecu_id: int, ecu_names: Mapping[int, str]) -> str:
    """"OBD" for the engine ECU (0x7E8), "OBD_TCM" (or "OBD_7E9" when unnamed) for the others."""
    if ecu_id == FIRST_RESPONSE_ID:
        return "OBD"
    return f"OBD_{ecu_names.get(ecu_id) or f'{ecu_id:03X}'}"


def documented_range(name: str, message: str, normal_ranges: Mapping[str, tuple]) -> tuple | None:
    """The normal range for reading ``message.name``: one set for it ("OBD.CoolantTemp"), else the one range the
    documents give a signal of that name in any message ("ECM_EngineTemps.CoolantTemp"); None when none or ambiguous."""
    own = normal_ranges.get(f"{message}.{name}")
    if own is not None:
        return tuple(own)
    wanted = RANGE_OF.get(name, name)
    found = {tuple(bounds) for key, bounds in normal_ranges.items() if key == wanted or key.endswith("." + wanted)}
    return found.pop() if len(found) == 1 else None


def pid_readings(values: Iterable[PidValue], monitors: Iterable[MonitorStatus], ecu_names: Mapping[int, str],
                 normal_ranges: Mapping[str, tuple] | None = None, at: float | None = None) -> list[SignalReading]:
    """One SignalReading per decoded PID and ECU, plus each ECU's MIL status and confirmed-DTC count (PID 01).

    ``ecu_names``: response ID -> ECU name (facts [obd] physical_responses); ``normal_ranges`` as LiveState's.
    Status and age are placeholders: LiveState.set_readings works them out at snapshot time.
    """
    at = time.time() if at is None else at
    ranges = normal_ranges or {}
    out: list[SignalReading] = []
    for value in values:
        spec = PIDS.get(value.pid)
        if spec is None:
            continue
        name = reading_name(value.key)
        message = obd_message(value.ecu, ecu_names)
        ecu = ecu_names.get(value.ecu) or f"0x{value.ecu:03X}"
        out.append(SignalReading(
            name=name, message=message, value=value.value, unit=value.unit, label=None, timestamp=at, age_s=0.0,
            status="ok", description=f"{spec.name} (OBD-II PID {spec.pid:02X}, {ecu})",
            normal=documented_range(name, message, ranges), source=SOURCE))
    for status in monitors:
        message = obd_message(status.ecu, ecu_names)
        ecu = ecu_names.get(status.ecu) or f"0x{status.ecu:03X}"
        out.append(SignalReading(
            name="MilStatus", message=message, value=1 if status.mil_on else 0, unit="", label="On" if status.mil_on else "Off",
            timestamp=at, age_s=0.0, status="ok", description=f"Check-engine lamp (MIL) commanded (OBD-II PID 01, {ecu})",
            source=SOURCE))
        out.append(SignalReading(
            name="DtcCount", message=message, value=status.dtc_count, unit="", label=None, timestamp=at, age_s=0.0,
            status="ok", description=f"Confirmed emission DTCs (OBD-II PID 01, {ecu})", source=SOURCE))
    return out
