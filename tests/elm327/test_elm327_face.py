"""The simulator's ELM327 face: python-OBD (GPL, test-time only) and rag-car's own client read the simulated ECUs
through it, as they would a car through a Wi-Fi adapter; --obd-replay answers with a real drive's readings."""

from __future__ import annotations

import time

import pytest

from rag_car.vehicle.elm327.adapter import Elm327
from rag_car.vehicle.elm327.feed import Elm327Feed
from rag_car.vehicle.elm327.link import open_link
from rag_car.vehicle.simulator.elm327_face import AdapterState, Answerer, can_frames
from rag_car.vehicle.spec import parse_bus_spec

from elm_helpers import new_state, simulated_elm327, wait_for

obd = pytest.importorskip("obd")

# what python-OBD must read from each scenario: the DTC the scenario sets
SCENARIO_DTCS = {"misfire": "P0303", "overheating": "P0217", "catalyst": "P0420"}


def _python_obd(port: int):
    connection = obd.OBD(f"socket://127.0.0.1:{port}", baudrate=38400, fast=False, check_voltage=False, timeout=2)
    assert connection.status() == obd.OBDStatus.CAR_CONNECTED, connection.status()
    return connection


@pytest.mark.parametrize("scenario", sorted(SCENARIO_DTCS))
def test_elm327_python_obd_reads_the_simulated_vehicle(scenario):
    code = SCENARIO_DTCS[scenario]
    with simulated_elm327(scenario) as (port, simulator):
        connection = _python_obd(port)
        try:
            assert connection.protocol_id() == "6"
            assert wait_for(lambda: code in [c for c, _ in connection.query(obd.commands.GET_DTC).value or []], 30), \
                connection.query(obd.commands.GET_DTC).value
            rpm = connection.query(obd.commands.RPM).value.magnitude
            coolant = connection.query(obd.commands.COOLANT_TEMP).value.magnitude
            assert rpm == pytest.approx(simulator.ecus["ECM"].view.values["engine_speed"], abs=400)
            assert coolant == pytest.approx(simulator.ecus["ECM"].view.values["coolant_temp"], abs=3)
            status = connection.query(obd.commands.STATUS).value
            assert status.DTC_count >= 1
            # python-OBD's VIN decoder strips the characters 0, 1, 2, x and \ off both ends of the string (its own
            # quirk), so compare with the VIN stripped the same way, and read the raw frames as well
            vin = simulator.vehicle.vin
            got = connection.query(obd.commands.VIN).value
            assert bytes(got).decode() == vin.strip("012x\\")
            raw = connection.query(obd.OBDCommand("VIN_RAW", "VIN, raw", b"0902", 0, lambda messages: messages[0].data,
                                                  obd.protocols.ECU.ALL, False), force=True).value
            assert bytes(raw)[-17:].decode() == vin
        finally:
            connection.close()


def test_elm327_own_client_polls_the_face_six_pids_at_a_time():
    state = new_state()
    with simulated_elm327("misfire") as (port, simulator):
        feed = Elm327Feed(f"elm327:socket://127.0.0.1:{port}", state, timeout_s=1.0, dtc_interval_s=0.5).start()
        try:
            assert feed.wait_live(15), state.snapshot().bus
            assert wait_for(lambda: any(d.code == "P0303" and d.source == "obd-03" for d in state.snapshot().dtcs), 20)
            snapshot = state.snapshot()
        finally:
            feed.stop()
    bus = snapshot.bus
    assert bus["obd"]["pids_per_request"] == 6 and bus["adapter"]["protocol"] == "AUTO, ISO 15765-4 (CAN 11/500)"
    assert snapshot.vehicle["vin"] == simulator.vehicle.vin and snapshot.vehicle["vin_source"] == "obd-09"
    names = {(s.message, s.name) for s in snapshot.signals if s.source == "obd-01"}
    assert {("OBD", "EngineSpeed"), ("OBD", "CoolantTemp"), ("OBD", "MilStatus"), ("OBD_TCM", "VehicleSpeed")} <= names
    lamp = next(l for l in snapshot.lamps if l.key == "check_engine")
    assert lamp.state == "on"
    assert "OBD-II adapter data from elm327:socket://" in snapshot.to_text()
    assert [step for step in ("first_dtcs_s", "first_readings_s", "live_s") if step in bus["timings"]] == \
        ["first_dtcs_s", "first_readings_s", "live_s"]
    assert bus["timings"]["first_dtcs_s"] <= bus["timings"]["first_readings_s"] <= bus["timings"]["live_s"]


def test_elm327_face_answers_like_an_elm327():
    def views():
        from rag_car.vehicle.diagnostics.ecu import EcuView

        return [(0x7E0, EcuView(values={"engine_speed": 1726.0, "coolant_temp": 83.0}, vin="1C4RJFBG8FC123456",
                                stored=("P0420",), mil_on=True))]

    adapter = AdapterState(Answerer(views))
    assert adapter.handle("ATZ") == "ATZ\r\rELM327 v1.5\r\r>"
    assert adapter.handle("ATE0") == "ATE0\rOK\r\r>"
    assert adapter.handle("AT H1") == "OK\r\r>"
    assert adapter.handle("010C") == "SEARCHING...\r7E8 04 41 0C 1A F8\r\r>"
    assert adapter.handle("0105") == "7E8 03 41 05 7B\r\r>"  # the standard's vectors, encoded
    assert adapter.handle("03") == "7E8 04 43 01 04 20\r\r>"
    vin = adapter.handle("0902")
    assert vin.startswith("7E8 10 14 49 02 01 31 43 34\r7E8 21 ") and vin.count("7E8 2") == 2
    assert adapter.handle("ATDPN") == "A6\r\r>"
    assert adapter.handle("ATH0") == "OK\r\r>"
    assert adapter.handle("0902").startswith("014\r0: 49 02 01 31 43 34\r1: ")
    assert adapter.handle("0160") == "NO DATA\r\r>"  # nothing supported there: the ECU stays silent
    assert adapter.handle("01ZZ") == "?\r\r>" and adapter.handle("ATXYZ") == "?\r\r>"
    assert adapter.handle("ATH1") == "OK\r\r>" and adapter.handle("010C1") == "7E8 04 41 0C 1A F8\r\r>"  # count digit
    assert adapter.handle("") == "7E8 04 41 0C 1A F8\r\r>"  # a bare CR repeats the last command
    assert adapter.handle("ATSP3") == "OK\r\r>" and adapter.handle("0100") == "BUS INIT: ...ERROR\r\r>"
    assert [f.hex() for f in can_frames(bytes(range(20)))][:2] == ["1014000102030405", "2106070809 0a0b0c".replace(" ", "")]


def test_elm327_face_replays_a_real_drive(shared_data):
    from rag_car.vehicle.simulator.obd_replay import load_obd_replay

    replay = load_obd_replay(shared_data / "carobd" / "drive1.csv", period_s=1000.0)
    # a moment of the drive with the engine running, held for the whole test (period 1000 s)
    row = next(n for n, values in enumerate(replay.rows) if values["engine_speed"] > 1500 and values["vehicle_speed"] > 20)
    replay.start(time.monotonic() - row * 1000.0 - 1.0)
    expected = replay.rows[row]
    assert not replay.ignored and len(expected) == 27
    with simulated_elm327("normal", obd_values=replay) as (port, _simulator):
        client = Elm327(open_link(parse_bus_spec(f"elm327:socket://127.0.0.1:{port}")), timeout_s=1.0)
        try:
            client.initialise()
            supported = set().union(*client.supported_pids().values())
            client.probe_multi_pid([0x0C, 0x0D])
            values, _ = client.read_pids([0x0C, 0x0D, 0x05, 0x3C, 0x44, 0x42])
        finally:
            client.close()
    ecm = {v.key: v.value for v in values if v.ecu == 0x7E8}
    assert {0x0C, 0x0D, 0x05, 0x3C, 0x3E, 0x44, 0x49, 0x4A, 0x4E} <= supported  # the log's 27 PIDs, no more from the ECM
    for key in ("engine_speed", "vehicle_speed", "coolant_temp", "catalyst_temp_b1s1", "commanded_lambda", "module_voltage"):
        resolution = {"engine_speed": 0.25, "catalyst_temp_b1s1": 0.1, "commanded_lambda": 2 / 65536, "module_voltage": 0.001}
        assert ecm[key] == pytest.approx(expected[key], abs=resolution.get(key, 1.0)), key


def test_elm327_python_obd_fast_mode_reads_the_face():
    # fast=True: python-OBD appends the number of answers to wait for and repeats a command with a bare CR
    with simulated_elm327("misfire") as (port, simulator):
        connection = obd.OBD(f"socket://127.0.0.1:{port}", baudrate=38400, fast=True, check_voltage=False, timeout=2)
        try:
            assert connection.status() == obd.OBDStatus.CAR_CONNECTED
            speeds = [connection.query(obd.commands.RPM).value for _ in range(3)]
            assert all(s is not None and s.magnitude == pytest.approx(simulator.ecus["ECM"].view.values["engine_speed"],
                                                                    abs=400) for s in speeds), speeds
        finally:
            connection.close()
