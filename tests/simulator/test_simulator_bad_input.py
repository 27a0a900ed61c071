"""The issue's bad input, end to end into the live snapshot: an ECU's negative response reported with its NRC name even
when another ECU answers, a VIN with a bad check digit reported and still shown, a truncated ISO-TP transfer reported
while polling goes on. (Unknown and malformed scenarios: test_simulator_scenario/_cli; DM1 with zero DTCs:
test_simulator_j1939; two simulators on one bus: test_simulator_live/_remote.)"""

from __future__ import annotations

import textwrap
import uuid

import can
import pytest

from rag_car.vehicle.diagnostics.session import DiagnosticsSession
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.simulator.runtime import open_simulator
from sim_helpers import CORRIN, DBC, FACTS, new_live_state, wait_for

BAD_VIN = "0AMCG5A24PT500002"  # a Corrin VIN with one serial digit changed: its check digit no longer fits


@pytest.fixture
def bus_pair():
    channel = f"bad-{uuid.uuid4().hex[:8]}"
    buses = [can.Bus(interface="virtual", channel=channel) for _ in range(2)]
    yield buses
    for bus in buses:
        bus.shutdown()


def test_simulator_bad_input_nrc_named_and_bad_vin_shown(bus_pair, tmp_path):
    path = tmp_path / "refusing.toml"
    path.write_text(textwrap.dedent(f'''
        summary = "ECM refuses pending DTCs; a VIN typed in wrong"
        vin = "{BAD_VIN}"
        [[dtc]]
        code = "P0420"
        mil = true
        [obd]
        refuse = {{ "07" = "conditionsNotCorrect" }}
    '''), encoding="utf-8")
    vehicle_bus, listener_bus = bus_pair
    state, session = new_live_state()
    notifier = can.Notifier(listener_bus, [state, *session.listeners], timeout=0.05)
    try:
        with open_simulator(vehicle_bus, path, dbc=DBC, vehicle=FACTS, time_scale=20.0, probe_s=0.1):
            session.start_polling(listener_bus.send)
            refused = lambda: (state.snapshot().bus.get("obd") or {}).get("errors", {}).get("obd-07")  # noqa: E731
            message = wait_for(refused, timeout_s=10.0)
            # the TCM answered service 07 (no codes); the ECM's refusal is still reported, by name
            assert message and "ECU 0x7E8 refused service 07: NRC 0x22 conditionsNotCorrect" in message, session.poll_errors
            assert wait_for(lambda: any(d.code == "P0420" and d.source == "obd-03" for d in state.snapshot().dtcs), 5.0)
            vehicle = wait_for(lambda: state.snapshot().vehicle.get("vin_source") == "obd-09" and state.snapshot().vehicle, 8.0)
            assert vehicle, state.snapshot().vehicle
            # reported (not valid, and why) and still shown, with what it does tell: our vehicle, model year 2023
            assert vehicle["vin"] == BAD_VIN and vehicle["vin_valid"] is False
            assert "check digit (position 9) is '4'" in vehicle["problems"][0]
            assert (vehicle["make"], vehicle["model"], vehicle["year"]) == ("Aldmoor", "Corrin", 2023)
            assert f"VIN {BAD_VIN}, NOT valid" in state.snapshot().to_text()
    finally:
        session.stop()
        notifier.stop()


def test_simulator_bad_input_truncated_transfer_reported_polling_goes_on(bus_pair):
    """An ECU cuts its multi-frame service 03 answer short: the snapshot says so, polls continue, service 07 still reads."""
    ecu_bus, tester_bus = bus_pair

    def broken_ecu(msg: can.Message) -> None:
        if msg.arbitration_id == 0x7DF and msg.data[1] == 0x03:
            # 43 + count 10 + 20 bytes announced (22); a first frame, one consecutive frame, then silence
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x10\x16\x43\x0a\x02\x17\x03\x03", is_extended_id=False))
        elif msg.arbitration_id == 0x7E0 and msg.data[0] == 0x30:
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x21\x04\x20\x05\x62\x51\x01\x95", is_extended_id=False))
        elif msg.arbitration_id == 0x7DF and msg.data[1] == 0x07:
            ecu_bus.send(can.Message(arbitration_id=0x7E8, data=b"\x04\x47\x01\x03\x03\xcc\xcc\xcc", is_extended_id=False))

    state = LiveState(str(DBC))
    session = DiagnosticsSession(state, CORRIN, db=state.db, dtc_interval_s=0.2, pid_interval_s=5.0,
                                 timeout_s=0.3, min_interval_s=0.02, cf_timeout_ms=300, idle_backoff_s=0.2)
    ecu_notifier = can.Notifier(ecu_bus, [broken_ecu], timeout=0.02)
    notifier = can.Notifier(tester_bus, [state, *session.listeners], timeout=0.02)
    try:
        session.start_polling(tester_bus.send)
        cut = lambda: session.poll_errors.get("obd-03")  # noqa: E731
        assert wait_for(cut, timeout_s=10.0), session.poll_errors
        assert "truncated ISO-TP transfer on 0x7E8" in cut() and "announced 22 bytes, 13 arrived" in cut()
        shown = lambda: (state.snapshot().bus.get("obd") or {}).get("errors", {}).get("obd-03")  # noqa: E731
        assert wait_for(shown, timeout_s=5.0) and "truncated ISO-TP transfer on 0x7E8" in shown()
        assert not [d for d in state.snapshot().dtcs if d.source == "obd-03"]  # nothing half-decoded
        polls = session.polls
        assert wait_for(lambda: session.polls >= polls + 2, timeout_s=10.0)
        assert [(d.code, d.source) for d in state.snapshot().dtcs] == [("P0303", "obd-07")]
    finally:
        session.stop()
        notifier.stop()
        ecu_notifier.stop()
