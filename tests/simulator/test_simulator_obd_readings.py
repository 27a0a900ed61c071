"""OBD-II service 01 values as first-class snapshot readings ("OBD.EngineSpeed", source obd-01): polled through the
real can-isotp stack from the simulated vehicle, with units, ages and status against the documented normal ranges,
beside (never instead of) the broadcast DBC signals; and `rag-car monitor --once --json` showing them when polling is on."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import can
import pytest

from rag_car.vehicle.diagnostics.obd import MonitorStatus, PidValue
from rag_car.vehicle.diagnostics.readings import documented_range, pid_readings
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.simulator.runtime import open_simulator
from sim_helpers import DBC, FACTS, REPO, free_port, new_live_state, wait_for

ISSUE_PIDS = ("EngineSpeed", "CoolantTemp", "VehicleSpeed", "ShortTermFuelTrimB1", "LongTermFuelTrimB1",
              "ControlModuleVoltage", "MilStatus", "DtcCount")
UNITS = {"EngineSpeed": "rpm", "CoolantTemp": "degC", "VehicleSpeed": "km/h", "ShortTermFuelTrimB1": "%",
         "LongTermFuelTrimB1": "%", "ControlModuleVoltage": "V", "MilStatus": "", "DtcCount": ""}


def _obd(snapshot, name: str, message: str = "OBD"):
    return next((s for s in snapshot.signals if s.message == message and s.name == name), None)


def test_simulator_obd_readings_in_the_snapshot_over_isotp():
    channel = f"obd-read-{uuid.uuid4().hex[:8]}"
    vehicle_bus = can.Bus(interface="virtual", channel=channel)
    listener_bus = can.Bus(interface="virtual", channel=channel)
    state, session = new_live_state()
    notifier = can.Notifier(listener_bus, [state, *session.listeners], timeout=0.05)
    try:
        with open_simulator(vehicle_bus, "charging", dbc=DBC, vehicle=FACTS, time_scale=20.0, probe_s=0.1):
            session.start_polling(listener_bus.send)

            def ready():
                snap = state.snapshot()
                volts = _obd(snap, "ControlModuleVoltage")
                count = _obd(snap, "DtcCount")
                return (all(_obd(snap, n) for n in ISSUE_PIDS) and volts.status == "low" and count.value == 1
                        and snap.signal("PSM_BatteryStatus.BatteryVoltage").status == "low") and snap

            snap = wait_for(ready, timeout_s=12.0)
            assert snap, [(s.message, s.name, s.value, s.status) for s in state.snapshot().signals if s.source]
            for name in ISSUE_PIDS:
                reading = _obd(snap, name)
                assert reading.source == "obd-01" and reading.unit == UNITS[name], reading
                assert reading.age_s < 3.0 and reading.status != "stale", reading
                assert reading.to_json()["source"] == "obd-01"
            # the documented ranges apply: coolant 85-105 degC, trims -10..10 %, the 12 V system 12.4-14.8 V
            assert _obd(snap, "CoolantTemp").normal == (85, 105) and _obd(snap, "CoolantTemp").status == "ok"
            assert _obd(snap, "ShortTermFuelTrimB1").normal == (-10, 10)
            volts = _obd(snap, "ControlModuleVoltage")
            assert volts.normal == (12.4, 14.8) and volts.value < 11.8
            assert "low: normal 12.4-14.8 V" in volts.to_text() and "OBD-II PID 42, ECM" in volts.to_text()
            assert _obd(snap, "MilStatus").label == "Off"  # P0562 is one-trip, MIL off
            # OBD-II and the broadcast agree, and each keeps its own reading
            broadcast = snap.signal("ECM_EngineTemps.CoolantTemp")
            assert broadcast.source == "" and abs(broadcast.value - _obd(snap, "CoolantTemp").value) <= 3
            assert snap.signal("CoolantTemp").message == "ECM_EngineTemps"  # a bare name finds the DBC signal first
            names = [(s.message, s.name) for s in snap.signals]
            assert len(names) == len(set(names))
            # the transmission ECU answers too, under its own message name
            assert _obd(snap, "VehicleSpeed", "OBD_TCM") is not None
            assert state.snapshot(names=["OBD.EngineSpeed"]).signals[0].name == "EngineSpeed"
            session.stop()
            # polling stopped: the OBD-II readings go stale, the broadcast ones stay current
            stale = wait_for(lambda: _obd(state.snapshot(), "EngineSpeed").status == "stale", timeout_s=8.0)
            assert stale and state.snapshot().signal("ECM_EngineData.EngineSpeed").status != "stale"
    finally:
        session.stop()
        notifier.stop()
        vehicle_bus.shutdown()
        listener_bus.shutdown()


def test_simulator_obd_readings_ranges_and_names():
    """Without a bus: readings per ECU, range lookup by signal name (ambiguous or unknown: none), user ranges win."""
    ranges = {"ECM_EngineTemps.CoolantTemp": (85, 105), "PSM_BatteryStatus.BatteryVoltage": (12.4, 14.8),
              "A.Temp": (0, 10), "B.Temp": (5, 20), "OBD.EngineSpeed": (600, 3000), "ECM_EngineData.EngineSpeed": (0, 6500)}
    assert documented_range("CoolantTemp", "OBD", ranges) == (85, 105)
    assert documented_range("ControlModuleVoltage", "OBD", ranges) == (12.4, 14.8)
    assert documented_range("Temp", "OBD", ranges) is None  # two different ranges: none is trusted
    assert documented_range("EngineSpeed", "OBD", ranges) == (600, 3000)  # set for the OBD reading itself
    assert documented_range("EngineLoad", "OBD", ranges) is None
    values = [PidValue(0x05, "coolant_temp", "Engine coolant temperature", 118.0, "degC", 0x7E8),
              PidValue(0x0D, "vehicle_speed", "Vehicle speed", 42.0, "km/h", 0x7E9),
              PidValue(0x0D, "vehicle_speed", "Vehicle speed", 41.0, "km/h", 0x7EB)]
    readings = pid_readings(values, [MonitorStatus(True, 2, 0x7E8)], {0x7E8: "ECM", 0x7E9: "TCM"}, ranges)
    assert [(r.message, r.name, r.value) for r in readings] == [
        ("OBD", "CoolantTemp", 118.0), ("OBD_TCM", "VehicleSpeed", 42.0), ("OBD_7EB", "VehicleSpeed", 41.0),
        ("OBD", "MilStatus", 1), ("OBD", "DtcCount", 2)]
    state = LiveState(str(DBC))
    state.set_readings("obd-01", readings, stale_s=2.0)
    now = time.time()
    snap = state.snapshot(now=now + 0.5)
    coolant = snap.signal("OBD.CoolantTemp")
    assert (coolant.status, coolant.normal, round(coolant.age_s, 1)) == ("high", (85, 105), 0.5)
    assert snap.signal("OBD.MilStatus").status == "ok" and snap.signal("OBD.MilStatus").label == "On"
    assert state.snapshot(now=now + 3.0).signal("OBD.CoolantTemp").status == "stale"
    state.set_bus(state="reconnecting")
    assert state.snapshot(now=now + 0.5).signal("OBD.CoolantTemp").status == "stale"
    state.clear()
    assert state.snapshot().signals == []


@pytest.mark.slow
def test_simulator_obd_readings_in_monitor_once_json(cli_env):
    """`simulate --serve` in one process, `monitor --once --json` with can.poll_obd on in another: OBD.* readings shown;
    with polling off (the default), none."""
    port = free_port()
    simulator = subprocess.Popen([sys.executable, "-m", "rag_car", "simulate", "--scenario", "overheating", "--serve",
                                  f"127.0.0.1:{port}", "--time-scale", "20", "--duration", "90"],
                                 cwd=REPO, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    spec = f"remote:ws://127.0.0.1:{port}/"

    def monitor(poll: bool) -> dict:
        env = {**cli_env, "RAG_CAR_CAN__POLL_OBD": "true" if poll else "false"}
        deadline = time.monotonic() + 40
        while True:
            result = subprocess.run([sys.executable, "-m", "rag_car", "monitor", "--bus", spec, "--once", "--json",
                                     "--listen", "4"], cwd=REPO, env=env, capture_output=True, text=True, timeout=90)
            if result.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # the simulator is still starting
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    try:
        polled = monitor(poll=True)
        obd = {s["name"]: s for s in polled["signals"] if s["message"] == "OBD"}
        assert set(ISSUE_PIDS) <= set(obd), sorted(obd)
        assert {s["source"] for s in obd.values()} == {"obd-01"}
        assert obd["CoolantTemp"]["unit"] == "degC" and obd["EngineSpeed"]["unit"] == "rpm"
        assert obd["CoolantTemp"]["status"] in ("ok", "high") and obd["EngineSpeed"]["age_s"] < 4
        broadcast = [s for s in polled["signals"] if s["message"] == "ECM_EngineTemps" and s["name"] == "CoolantTemp"]
        assert len(broadcast) == 1 and "source" not in broadcast[0]
        assert polled["bus"]["obd"]["polling"] is True
        quiet = monitor(poll=False)
        assert not [s for s in quiet["signals"] if s["message"].startswith("OBD")]
        assert "obd" not in quiet["bus"]
    finally:
        if simulator.poll() is None:
            simulator.send_signal(signal.SIGINT)
        try:
            _out, err = simulator.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            simulator.kill()
            _out, err = simulator.communicate()
    # the polling monitor said goodbye on its own connection too: no reset-socket tracebacks in the server
    assert "Traceback" not in err and "stopped after" in err, (simulator.returncode, err)
