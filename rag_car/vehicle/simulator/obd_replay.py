"""A CSV of OBD-II service 01 readings, one row a second -> the engine ECU's PID values at any moment of a replay.

The columns are named by quantity. Accepted names: our own PID keys (``engine_speed``), the PID number
(``0C`` or ``010C``), or the command names that python-OBD-based loggers write (``ENGINE_RPM ()``), as in the
carOBD logs of a real 2014 Toyota Etios (../shared/data/carobd). Values are engineering values in the PID's
unit. Columns that name no PID we decode are ignored and listed; the replay loops at its end.
"""

from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

from rag_car.errors import ConfigError
from rag_car.vehicle.diagnostics.obd import PIDS, PIDS_BY_KEY

# python-OBD command names (as loggers built on it write them in CSV headers) -> our PID keys.
# Source: the J1979 PID each command reads; the carOBD headers use them (and "ENGINE_RUN_TINE", a typo there).
LOGGER_NAMES = {
    "ENGINE_LOAD": "engine_load", "COOLANT_TEMP": "coolant_temp", "COOLANT_TEMPERATURE": "coolant_temp",
    "SHORT_FUEL_TRIM_1": "stft_b1", "SHORT_TERM_FUEL_TRIM_BANK_1": "stft_b1",
    "LONG_FUEL_TRIM_1": "ltft_b1", "LONG_TERM_FUEL_TRIM_BANK_1": "ltft_b1",
    "SHORT_FUEL_TRIM_2": "stft_b2", "LONG_FUEL_TRIM_2": "ltft_b2", "FUEL_PRESSURE": "fuel_pressure",
    "INTAKE_PRESSURE": "map", "INTAKE_MANIFOLD_PRESSURE": "map", "RPM": "engine_speed", "ENGINE_RPM": "engine_speed",
    "SPEED": "vehicle_speed", "VEHICLE_SPEED": "vehicle_speed", "TIMING_ADVANCE": "timing_advance",
    "INTAKE_TEMP": "intake_temp", "INTAKE_AIR_TEMP": "intake_temp", "MAF": "maf", "THROTTLE_POS": "throttle",
    "THROTTLE": "throttle", "RUN_TIME": "run_time", "ENGINE_RUN_TIME": "run_time", "ENGINE_RUN_TINE": "run_time",
    "DISTANCE_W_MIL": "distance_mil_on", "DISTANCE_TRAVELED_WITH_MIL_ON": "distance_mil_on",
    "COMMANDED_EGR": "commanded_egr", "EVAPORATIVE_PURGE": "evap_purge", "COMMANDED_EVAPORATIVE_PURGE": "evap_purge",
    "FUEL_LEVEL": "fuel_level", "FUEL_TANK": "fuel_level", "WARMUPS_SINCE_DTC_CLEAR": "warmups_since_clear",
    "WARM_UPS_SINCE_CODES_CLEARED": "warmups_since_clear", "DISTANCE_SINCE_DTC_CLEAR": "distance_since_clear",
    "BAROMETRIC_PRESSURE": "baro", "ABSOLUTE_BAROMETRIC_PRESSURE": "baro",
    "CATALYST_TEMP_B1S1": "catalyst_temp_b1s1", "CATALYST_TEMPERATURE_BANK1_SENSOR1": "catalyst_temp_b1s1",
    "CATALYST_TEMP_B1S2": "catalyst_temp_b1s2", "CATALYST_TEMPERATURE_BANK1_SENSOR2": "catalyst_temp_b1s2",
    "CONTROL_MODULE_VOLTAGE": "module_voltage", "ABSOLUTE_LOAD": "absolute_load",
    "COMMANDED_EQUIV_RATIO": "commanded_lambda", "FUEL_AIR_COMMANDED_EQUIV_RATIO": "commanded_lambda",
    "RELATIVE_THROTTLE_POS": "relative_throttle", "RELATIVE_THROTTLE_POSITION": "relative_throttle",
    "AMBIANT_AIR_TEMP": "ambient_temp", "AMBIENT_AIR_TEMP": "ambient_temp",
    "THROTTLE_POS_B": "throttle_b", "ABSOLUTE_THROTTLE_B": "throttle_b", "THROTTLE_POS_C": "throttle_c",
    "ACCELERATOR_POS_D": "pedal_d", "PEDAL_D": "pedal_d", "ACCELERATOR_POS_E": "pedal_e", "PEDAL_E": "pedal_e",
    "ACCELERATOR_POS_F": "pedal_f", "THROTTLE_ACTUATOR": "commanded_throttle",
    "COMMANDED_THROTTLE_ACTUATOR": "commanded_throttle", "RUN_TIME_MIL": "time_mil_on", "TIME_RUN_WITH_MIL_ON": "time_mil_on",
    "TIME_SINCE_DTC_CLEARED": "time_since_clear", "TIME_SINCE_TROUBLE_CODES_CLEARED": "time_since_clear",
    "ETHANOL_PERCENT": "ethanol_percent", "OIL_TEMP": "oil_temp", "FUEL_RATE": "fuel_rate",
}


def column_key(header: str) -> str | None:
    """A CSV column name -> our PID key, or None when it names no PID we decode."""
    name = header.split("(")[0].strip()
    if name.lower() in PIDS_BY_KEY:
        return name.lower()
    digits = name.upper().removeprefix("0X")
    if len(digits) in (2, 4) and all(c in "0123456789ABCDEF" for c in digits):
        pid = int(digits[-2:], 16)
        if (len(digits) == 2 or digits[:2] == "01") and pid in PIDS:
            return PIDS[pid].key
    return LOGGER_NAMES.get(name.upper())


@dataclass
class ObdReplay:
    """Rows of PID values (``rows[n]``: second n of the drive), played from :meth:`start` on, looping."""

    path: Path
    rows: list[dict[str, float]]
    ignored: list[str] = field(default_factory=list)
    period_s: float = 1.0
    started: float = 0.0

    def start(self, now: float | None = None) -> "ObdReplay":
        self.started = time.monotonic() if now is None else now
        return self

    def values_at(self, seconds: float) -> dict[str, float]:
        """The row in force ``seconds`` into the replay."""
        return dict(self.rows[int(max(0.0, seconds) / self.period_s) % len(self.rows)])

    def __call__(self) -> dict[str, float]:
        """The values now (the replay's own clock since start())."""
        return self.values_at(time.monotonic() - self.started)


def load_obd_replay(path: Path | str, period_s: float = 1.0) -> ObdReplay:
    """Read a CSV of OBD-II readings; ConfigError naming the file when it cannot be used."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"OBD-II replay file {path} does not exist", "give a CSV of PID readings, one row a second")
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                raise ConfigError(f"OBD-II replay file {path} is empty", "give a CSV with a header row naming the PIDs")
            keys = [column_key(name) for name in header]
            ignored = [name.strip() for name, key in zip(header, keys) if key is None and name.strip()]
            if not any(keys):
                raise ConfigError(f"no column of {path} names an OBD-II PID ({', '.join(h.strip() for h in header[:5])}, ...)",
                                  "name columns by PID key (engine_speed), number (010C) or python-OBD name (RPM)")
            rows: list[dict[str, float]] = []
            for line_no, record in enumerate(reader, start=2):
                row: dict[str, float] = {}
                for key, cell in zip(keys, record):
                    if key is None or not cell.strip():
                        continue
                    try:
                        row[key] = float(cell)
                    except ValueError:
                        raise ConfigError(f"{path} line {line_no}: {cell.strip()!r} is not a number",
                                          "fix the row, or remove it") from None
                if row:
                    rows.append(row)
    except OSError as exc:
        raise ConfigError(f"OBD-II replay file {path} cannot be read ({exc.strerror or exc})", "check the path") from exc
    if not rows:
        raise ConfigError(f"OBD-II replay file {path} has no rows of readings", "give at least one row")
    return ObdReplay(path, rows, ignored, period_s)
