"""knowledge/facts.toml -> VehicleFacts: the parts the diagnostics and the simulator read (vehicle, lamps, DTCs, broadcasts)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag_car.errors import ConfigError


@dataclass(frozen=True)
class LampFact:
    key: str
    name: str
    message: str
    signal: str
    on_values: tuple[int, ...]
    flashing_values: tuple[int, ...]
    stop_driving: bool = False

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


@dataclass
class VehicleFacts:
    """What knowledge/facts.toml says; tables that are absent are empty."""

    path: Path | None = None
    vehicle: dict[str, Any] = field(default_factory=dict)
    lamps: dict[str, LampFact] = field(default_factory=dict)
    dtcs: dict[str, dict[str, Any]] = field(default_factory=dict)
    signal_ranges: list[dict[str, Any]] = field(default_factory=list)
    dtc_broadcast: dict[str, Any] = field(default_factory=dict)
    vin_broadcast: dict[str, Any] = field(default_factory=dict)
    obd: dict[str, Any] = field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = field(default_factory=dict)

    def describe_dtc(self, code: str) -> str:
        return str(self.dtcs.get(code, {}).get("description", ""))

    def normal_ranges(self) -> dict[str, tuple[float, float]]:
        """"Message.Signal" -> (low, high) of every [[signal_range]]."""
        return {f"{r['message']}.{r['signal']}": (float(r["low"]), float(r["high"])) for r in self.signal_ranges}

    def ecu_names(self) -> dict[int, str]:
        """OBD response ID -> ECU name ([obd] physical_responses), e.g. 0x7E8 -> "ECM"."""
        return {int(v): str(k) for k, v in (self.obd.get("physical_responses") or {}).items()}


def load_facts(path: Path | str) -> VehicleFacts:
    """Parse facts.toml; raises ConfigError naming the file (and line, from tomllib) when it does not parse."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"facts file {path} does not exist", "the bundled one is knowledge/facts.toml") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"facts file {path} is not valid TOML ({exc})", "fix the file") from exc
    lamps = {}
    for item in data.get("lamp", []):
        lamps[item["key"]] = LampFact(
            key=item["key"], name=item.get("name", item["key"]), message=item["message"], signal=item["signal"],
            on_values=tuple(int(v) for v in item.get("on_values", [1])),
            flashing_values=tuple(int(v) for v in item.get("flashing_values", [])),
            stop_driving=bool(item.get("stop_driving", False)),
        )
    return VehicleFacts(
        path=path,
        vehicle=data.get("vehicle", {}),
        lamps=lamps,
        dtcs={str(item["code"]).upper(): item for item in data.get("dtc", []) if "code" in item},
        signal_ranges=list(data.get("signal_range", [])),
        dtc_broadcast=data.get("dtc_broadcast", {}),
        vin_broadcast=data.get("vin_broadcast", {}),
        obd=data.get("obd", {}),
        scenarios={item["name"]: item for item in data.get("scenario", []) if "name" in item},
    )


def bundled_facts_path() -> Path:
    from rag_car.settings import BUNDLED_KNOWLEDGE

    return BUNDLED_KNOWLEDGE / "facts.toml"
