"""Helpers shared by the simulator tests: what each bundled scenario must show, and waiting for a live state to show it."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from rag_car.vehicle.diagnostics.session import DiagnosticsSession
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.profile import load_profile

REPO = Path(__file__).resolve().parents[2]
DBC = REPO / "dbc" / "aldmoor_corrin.dbc"
FACTS = REPO / "knowledge" / "facts.toml"
CORRIN = load_profile(FACTS, name="aldmoor-corrin", bundled=True)  # the bundled vehicle profile

# scenario -> (DTC, lamp key and state, "Message.Signal" that goes out of its normal range and how: "low", "high",
# or "out" for a signal that swings across its range, so that either side will do)
EXPECTED = {
    "overheating": ("P0217", ("coolant_temp", "on"), ("ECM_EngineTemps.CoolantTemp", "high")),
    "misfire": ("P0303", ("check_engine", "flashing"), ("ECM_FuelTrim.ShortTermFuelTrimB1", "high")),
    "low_tire": (None, ("tpms", "on"), ("TPMS_TirePressures.TirePressureFL", "low")),
    "charging": ("P0562", ("charging", "on"), ("PSM_BatteryStatus.BatteryVoltage", "low")),
    # the worn catalyst's downstream O2 sensor switches 0.1-0.9 V instead of holding a steady 0.6-0.8 V
    "catalyst": ("P0420", ("check_engine", "on"), ("ECM_FuelTrim.O2SensorVoltageB1S2", "out")),
}
FAULT_SCENARIOS = sorted(EXPECTED)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_live_state() -> tuple[LiveState, DiagnosticsSession]:
    state = LiveState(str(DBC), profile=CORRIN, profile_how="picked")
    session = DiagnosticsSession(state, CORRIN, db=state.db, dtc_interval_s=0.5, pid_interval_s=0.5,
                                 timeout_s=1.0, min_interval_s=0.02)
    return state, session


def wait_for(check, timeout_s: float, step_s: float = 0.1):
    """Call ``check()`` until it returns something truthy; return that, or the last falsy value after the timeout."""
    deadline = time.monotonic() + timeout_s
    result = check()
    while not result and time.monotonic() < deadline:
        time.sleep(step_s)
        result = check()
    return result


def shows_fault(state: LiveState, scenario: str) -> list[str]:
    """What is still missing from the snapshot for ``scenario`` (empty when everything shows)."""
    code, (lamp_key, lamp_state), (signal, status) = EXPECTED[scenario]
    snap = state.snapshot()
    missing = []
    sources = {d.source for d in snap.dtcs if d.code == code}
    if code is not None:
        for source in ("broadcast", "obd-03"):
            if source not in sources:
                missing.append(f"{code} from {source}")
    else:
        if snap.dtcs:
            missing.append(f"no DTC expected, got {[d.code for d in snap.dtcs]}")
    lamps = {lamp.key: lamp.state for lamp in snap.lamps}
    if lamps.get(lamp_key) != lamp_state:
        missing.append(f"lamp {lamp_key} {lamp_state} (is {lamps.get(lamp_key)})")
    reading = snap.signal(signal)
    wanted = ("low", "high") if status == "out" else (status,)
    if reading is None or reading.status not in wanted:
        missing.append(f"{signal} {status} (is {reading.status if reading else 'absent'})")
    return missing
