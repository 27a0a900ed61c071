"""OBD-II request/response through the real can-isotp stack on a real virtual bus: services 01, 03, 07, 0A, 09,
negative responses with their NRC names, a truncated ISO-TP transfer, no ECU at all, the rate limit, two ECUs."""

from __future__ import annotations

import threading
import time
import uuid

import can
import pytest

from rag_car.vehicle.diagnostics.dtc import decode_dtc, encode_dtc, is_dtc
from rag_car.vehicle.diagnostics.ecu import EcuView, ObdEcu, answer
from rag_car.vehicle.diagnostics.nrc import nrc_name
from rag_car.vehicle.diagnostics.obd import (
    PIDS, NegativeResponseError, NoResponseError, ObdClient, TransferError, parse_dtc_answer, parse_pid_records,
)

VIN = "1HGCM82633A004352"
MANY = ("P0217", "P0303", "P0420", "P0562", "C1101", "B1500", "U0100", "P2096", "P0171", "P0300")


@pytest.fixture
def bus_pair():
    channel = f"obd-{uuid.uuid4().hex[:8]}"
    ecu_bus = can.Bus(interface="virtual", channel=channel)
    tester_bus = can.Bus(interface="virtual", channel=channel)
    yield ecu_bus, tester_bus
    ecu_bus.shutdown()
    tester_bus.shutdown()


@pytest.fixture
def tester(bus_pair):
    _ecu_bus, tester_bus = bus_pair
    # generous timeout: the suite shares two cores with everybody else's
    client = ObdClient(tester_bus.send, timeout_s=1.0, cf_timeout_ms=300).start()
    notifier = can.Notifier(tester_bus, [client.feed], timeout=0.02)
    yield client
    notifier.stop()
    client.stop()


def _ecu(bus: can.BusABC, view: EcuView, index: int = 0):
    ecu = ObdEcu(bus.send, view, index=index).start()
    return ecu


@pytest.fixture
def engine_ecu(bus_pair):
    ecu_bus, _ = bus_pair
    view = EcuView(values={"engine_speed": 812.5, "coolant_temp": 118, "vehicle_speed": 42, "stft_b1": 3.9, "ltft_b1": -1.6,
                           "module_voltage": 11.62, "engine_load": 31.4, "fuel_level": 60.0},
                   stored=MANY, pending=("P0303",), permanent=("P0420",), mil_on=True, vin=VIN)
    ecu = _ecu(ecu_bus, view)
    notifier = can.Notifier(ecu_bus, [ecu.feed], timeout=0.02)
    yield ecu
    notifier.stop()
    ecu.stop()


def test_simulator_obd_service01_physical_values(tester, engine_ecu):
    values, monitors = tester.read_pids([0x01, 0x0C, 0x05, 0x0D, 0x06, 0x07, 0x42, 0x04, 0x2F])
    got = {v.key: v.value for v in values}
    assert got["engine_speed"] == 812.5
    assert got["coolant_temp"] == 118
    assert got["vehicle_speed"] == 42
    assert got["stft_b1"] == pytest.approx(3.9, abs=0.8)  # one step of the PID is 0.78 %
    assert got["ltft_b1"] == pytest.approx(-1.6, abs=0.8)
    assert got["module_voltage"] == pytest.approx(11.62, abs=0.001)
    assert got["engine_load"] == pytest.approx(31.4, abs=0.4)
    assert got["fuel_level"] == pytest.approx(60.0, abs=0.4)
    assert [(m.mil_on, m.dtc_count, m.ecu) for m in monitors] == [(True, len(MANY), 0x7E8)]


def test_simulator_obd_dtc_services_multi_frame(tester, engine_ecu):
    stored = tester.read_dtcs(0x03)  # 10 codes: 22 bytes, a first frame and three consecutive frames
    assert [d.code for d in stored] == list(MANY)
    assert {(d.source, d.kind, d.ecu) for d in stored} == {("obd-03", "stored", 0x7E8)}
    assert [d.code for d in tester.read_dtcs(0x07)] == ["P0303"]
    assert [(d.code, d.source) for d in tester.read_dtcs(0x0A)] == [("P0420", "obd-0a")]


def test_simulator_obd_vin_service09(tester, engine_ecu):
    assert tester.read_vin() == VIN
    assert tester.read_ecu_name() == {0x7E8: "ECM-EngineControl"}
    supported = tester.supported_pids()[0x7E8]
    assert {0x01, 0x05, 0x0C, 0x0D, 0x42} <= supported and 0x10 not in supported


def test_simulator_obd_negative_response_names_nrc(bus_pair, tester):
    ecu_bus, _ = bus_pair
    view = EcuView(values={"engine_speed": 700}, refuse={0x0A: 0x11, 0x07: 0x21})
    ecu = _ecu(ecu_bus, view)
    notifier = can.Notifier(ecu_bus, [ecu.feed], timeout=0.02)
    try:
        with pytest.raises(NegativeResponseError) as caught:
            tester.read_dtcs(0x07)
        assert caught.value.nrc == 0x21 and "NRC 0x21 busyRepeatRequest" in caught.value.message
        # a missing service is kept quiet on a functional request (ISO 14229) and refused on a physical one
        with pytest.raises(NoResponseError):
            tester.read_dtcs(0x0A)
        with pytest.raises(NegativeResponseError) as caught:
            tester.read_dtcs(0x0A, ecu=0x7E8)
        assert caught.value.nrc == 0x11
        assert "ECU 0x7E8 refused service 0A: NRC 0x11 serviceNotSupported" in caught.value.message
        # clearing DTCs with the engine running: conditionsNotCorrect, as a real ECM says
        (refusal,) = tester.request(bytes([0x04]))
        assert (refusal.nrc, refusal.nrc_name) == (0x22, "conditionsNotCorrect")
    finally:
        notifier.stop()
        ecu.stop()


def test_simulator_obd_response_pending_then_answer(bus_pair, tester):
    """NRC 0x78 (response pending) makes the tester wait beyond its timeout for the real answer."""
    ecu_bus, _ = bus_pair

    def slow_ecu(msg: can.Message) -> None:
        if msg.arbitration_id == 0x7DF and bytes(msg.data[:2]) == b"\x01\x03":
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x03\x7f\x03\x78\xcc\xcc\xcc\xcc", is_extended_id=False))
            time.sleep(1.4)  # longer than the tester's 1.0 s timeout
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x04\x43\x01\x04\x20\xcc\xcc\xcc", is_extended_id=False))

    notifier = can.Notifier(ecu_bus, [slow_ecu], timeout=0.02)
    try:
        assert [d.code for d in tester.read_dtcs(0x03)] == ["P0420"]
    finally:
        notifier.stop()


def test_simulator_obd_truncated_transfer(bus_pair, tester):
    """An ECU that sends a first frame and one consecutive frame, then goes quiet: a TransferError that says so."""
    ecu_bus, _ = bus_pair

    def broken_ecu(msg: can.Message) -> None:
        if msg.arbitration_id == 0x7DF and msg.data[1] == 0x03:
            # 43 0A + 10 codes = 22 bytes announced; only 6 + 7 = 13 ever arrive
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x10\x16\x43\x0a\x02\x17\x03\x03", is_extended_id=False))
        elif msg.arbitration_id == 0x7E0 and msg.data[0] == 0x30:  # the tester's flow control
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x21\x04\x20\x05\x62\x51\x01\x95", is_extended_id=False))

    notifier = can.Notifier(ecu_bus, [broken_ecu], timeout=0.02)
    try:
        with pytest.raises(TransferError) as caught:
            tester.read_dtcs(0x03)
        assert "truncated ISO-TP transfer on 0x7E8" in caught.value.message
        assert "announced 22 bytes, 13 arrived" in caught.value.message
    finally:
        notifier.stop()


def test_simulator_obd_no_ecu_times_out_cleanly(tester):
    start = time.monotonic()
    with pytest.raises(NoResponseError) as caught:
        tester.read_dtcs(0x03)
    elapsed = time.monotonic() - start
    assert tester.timeout_s - 0.05 <= elapsed < tester.timeout_s + 0.6, elapsed
    assert "no ECU answered service 03" in caught.value.message and "ignition" in caught.value.fix
    assert tester.request(bytes([0x01, 0x00])) == []


def test_simulator_obd_rate_limited(bus_pair):
    """Four threads asking at once: requests go out one at a time, at least min_interval_s apart."""
    ecu_bus, tester_bus = bus_pair
    ecu = _ecu(ecu_bus, EcuView(values={"engine_speed": 700}))
    requests: list[float] = []

    def spy(msg: can.Message) -> None:
        if msg.arbitration_id == 0x7DF:
            requests.append(time.monotonic())

    ecu_notifier = can.Notifier(ecu_bus, [ecu.feed, spy], timeout=0.02)
    client = ObdClient(tester_bus.send, timeout_s=0.4, min_interval_s=0.25).start()
    notifier = can.Notifier(tester_bus, [client.feed], timeout=0.02)
    try:
        threads = [threading.Thread(target=client.read_pids, args=([0x0C],)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        gaps = [b - a for a, b in zip(requests, requests[1:])]
        assert len(requests) == 4 and min(gaps) >= 0.23, gaps
        assert ecu.requests_answered == 4
    finally:
        notifier.stop()
        ecu_notifier.stop()
        client.stop()
        ecu.stop()


def test_simulator_obd_two_ecus_answer_functional_request(bus_pair, tester):
    ecu_bus, _ = bus_pair
    ecm = _ecu(ecu_bus, EcuView(values={"engine_speed": 700}, stored=MANY))
    tcm = _ecu(ecu_bus, EcuView(values={"vehicle_speed": 42}, stored=("P0700",), ecu_name="TCM-TransmissionCtl"), index=1)
    notifier = can.Notifier(ecu_bus, [ecm.feed, tcm.feed], timeout=0.02)
    try:
        stored = tester.read_dtcs(0x03)
        assert {(d.code, d.ecu) for d in stored} == {*((c, 0x7E8) for c in MANY), ("P0700", 0x7E9)}
        assert tester.ecus == [0x7E8, 0x7E9]
        assert tester.read_ecu_name() == {0x7E8: "ECM-EngineControl", 0x7E9: "TCM-TransmissionCtl"}
    finally:
        notifier.stop()
        ecm.stop()
        tcm.stop()


def test_simulator_obd_encoding_round_trips():
    for code in ("P0303", "C1101", "B1500", "U0100", "P3FFF"):
        assert decode_dtc(encode_dtc(code)) == code
    assert encode_dtc("U0100") == 0xC100 and encode_dtc("C1101") == 0x5101
    for bad in ("P4000", "X0100", "P030", "p03031"):
        assert not is_dtc(bad.upper()) or len(bad) != 5
        with pytest.raises(ValueError):
            encode_dtc(bad)
    middle = {p.key: (p.minimum + p.maximum) / 2 for p in PIDS.values()}  # inside every PID's range
    view = EcuView(values=middle)
    for pid, spec in PIDS.items():
        reply = answer(bytes([0x01, pid]), view)
        ((got_pid, raw),) = parse_pid_records(reply[1:])
        assert got_pid == pid and spec.decode(raw) == pytest.approx(middle[spec.key], abs=spec.scale), spec.name
    assert parse_dtc_answer(bytes([0x00])) == []
    assert parse_dtc_answer(bytes([0x03, 0x00, 0x00, 0x00])) == ["P0300"]  # no count byte, zero padding
    assert nrc_name(0x31) == "requestOutOfRange" and nrc_name(0xF3) == "vehicleManufacturerSpecific"
    # functional requests for services an ECU lacks get no answer; physical ones get NRC 0x11
    assert answer(bytes([0x22, 0xF1, 0x90]), view, functional=True) is None
    assert answer(bytes([0x22, 0xF1, 0x90]), view, functional=False) == bytes([0x7F, 0x22, 0x11])
