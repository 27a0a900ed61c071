"""Every scenario on a real in-process python-can virtual bus: the live snapshot shows its DTC (broadcast and
service 03), its lamp and its out-of-range signal within a few seconds; two simulators on one bus are refused."""

from __future__ import annotations

import time
import uuid

import can
import pytest

from rag_car.errors import BusError
from rag_car.vehicle.simulator.runtime import open_simulator
from sim_helpers import DBC, FACTS, FAULT_SCENARIOS, new_live_state, shows_fault, wait_for

TIME_SCALE = 20.0


def _channel() -> str:
    return f"sim-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def virtual_pair():
    """Two Bus objects on one fresh virtual channel: the vehicle's and the listener's."""
    channel = _channel()
    vehicle_bus = can.Bus(interface="virtual", channel=channel)
    listener_bus = can.Bus(interface="virtual", channel=channel)
    yield vehicle_bus, listener_bus
    vehicle_bus.shutdown()
    listener_bus.shutdown()


@pytest.mark.parametrize("scenario", FAULT_SCENARIOS)
def test_simulator_scenario_shows_in_live_snapshot(virtual_pair, scenario):
    vehicle_bus, listener_bus = virtual_pair
    state, session = new_live_state()
    notifier = can.Notifier(listener_bus, [state, *session.listeners], timeout=0.05)
    try:
        with open_simulator(vehicle_bus, scenario, dbc=DBC, vehicle=FACTS, time_scale=TIME_SCALE, probe_s=0.1):
            session.start_polling(listener_bus.send)
            missing = wait_for(lambda: not shows_fault(state, scenario), timeout_s=10.0)
            assert missing, f"{scenario}: still missing after 10 s: {shows_fault(state, scenario)}"
            snap = state.snapshot()
            # the VIN came both ways and maps to our vehicle
            assert snap.vehicle.get("make") == "Aldmoor" and snap.vehicle.get("vin_valid") is True
            if scenario == "catalyst":
                # the worn catalyst's downstream O2 sensor switches like the upstream one (0.1-0.9 V, not a steady 0.6-0.8 V)
                history = lambda: [v for _t, v in state.history("ECM_FuelTrim.O2SensorVoltageB1S2")]  # noqa: E731
                values = wait_for(lambda: len(history()) >= 30 and history(), timeout_s=5.0)
                assert min(values) < 0.3 and max(values) > 0.8, (min(values), max(values))
                permanent = lambda: any(d.code == "P0420" and d.source == "obd-0a" for d in state.snapshot().dtcs)  # noqa: E731
                assert wait_for(permanent, timeout_s=5.0), "P0420 is permanent (MIL on): service 0A reports it"
    finally:
        session.stop()
        notifier.stop()


def test_simulator_normal_has_no_fault(virtual_pair):
    vehicle_bus, listener_bus = virtual_pair
    state, session = new_live_state()
    notifier = can.Notifier(listener_bus, [state, *session.listeners], timeout=0.05)
    try:
        with open_simulator(vehicle_bus, "normal", dbc=DBC, vehicle=FACTS, time_scale=TIME_SCALE, probe_s=0.1):
            session.start_polling(listener_bus.send)
            assert wait_for(lambda: session.polls >= 2 and state.snapshot().lamps, timeout_s=8.0)
            # watched for 3 s (a simulated minute of town driving, stops and deceleration fuel cuts included)
            problems = set()
            end = time.monotonic() + 3.0
            while time.monotonic() < end:
                problems |= {f"{s.message}.{s.name} {s.status} {s.value}" for s in state.snapshot().problems}
                time.sleep(0.05)
            assert problems == set()
            assert state.snapshot().signal("ECM_FuelTrim.O2SensorVoltageB1S2").normal == (0.6, 0.8)
            snap = state.snapshot()
            assert snap.dtcs == []
            assert all(lamp.state == "off" for lamp in snap.lamps), [(l.key, l.state) for l in snap.lamps if l.state != "off"]
            # OBD-II agrees with the broadcast: no stored DTC, MIL off
            assert session.poll_errors == {}, session.poll_errors
    finally:
        session.stop()
        notifier.stop()


def test_simulator_two_on_one_bus_refused(virtual_pair):
    first_bus, second_bus = virtual_pair
    with open_simulator(first_bus, "normal", dbc=DBC, vehicle=FACTS, probe_s=0.1):
        with pytest.raises(BusError) as caught:
            with open_simulator(second_bus, "misfire", dbc=DBC, vehicle=FACTS, probe_s=0.5, bus_name="virtual:test"):
                pass
    assert "another vehicle is already sending on virtual:test" in caught.value.message
    assert "stop the other simulator" in caught.value.fix


def test_simulator_frames_decode_and_keep_cycle_times(virtual_pair):
    """On the bus: every frame decodes with the DBC, each message comes at about its GenMsgCycleTime."""

    import cantools

    db = cantools.database.load_file(str(DBC))
    vehicle_bus, listener_bus = virtual_pair
    counts: dict[int, int] = {}
    with open_simulator(vehicle_bus, "normal", dbc=DBC, vehicle=FACTS, probe_s=0.1):
        start = time.monotonic()
        while time.monotonic() - start < 2.0:
            msg = listener_bus.recv(0.1)
            if msg is None:
                continue
            message = db.get_message_by_frame_id(msg.arbitration_id)
            message.decode(msg.data)  # raises if the frame does not fit the DBC
            counts[msg.arbitration_id] = counts.get(msg.arbitration_id, 0) + 1
        elapsed = time.monotonic() - start
    hybrid = {m.frame_id for m in db.messages if "HCU" in (m.senders or [])}
    for message in db.messages:
        if not message.cycle_time or message.frame_id in hybrid:
            assert message.frame_id not in counts or message.frame_id >= 0x7E8, f"{message.name} should not be sent"
            continue
        expected = elapsed * 1000 / message.cycle_time
        got = counts.get(message.frame_id, 0)
        # a loaded 2-core machine drops some ticks; never more frames than the cycle time allows
        assert 0.5 * expected - 1 <= got <= expected + 2, f"{message.name}: {got} frames in {elapsed:.2f} s, expected ~{expected:.0f}"


def test_simulator_passive_listener_never_transmits():
    """attach_passive: DTCs and lamps from the broadcast, and not one diagnostic request on the bus."""

    from rag_car.settings import load_settings
    from rag_car.vehicle.diagnostics.session import attach_passive
    from rag_car.vehicle.live import LiveState

    channel = _channel()
    buses = [can.Bus(interface="virtual", channel=channel) for _ in range(3)]
    vehicle_bus, listener_bus, watcher = buses
    requests: list[int] = []

    def spy(msg: can.Message) -> None:
        if 0x7DF <= msg.arbitration_id <= 0x7E7:
            requests.append(msg.arbitration_id)

    state = LiveState(str(DBC))
    session = attach_passive(load_settings(overrides={"can": {"bus": f"virtual:{channel}"}}), state)
    notifiers = [can.Notifier(listener_bus, [state, *session.listeners], timeout=0.05), can.Notifier(watcher, [spy], timeout=0.05)]
    try:
        with open_simulator(vehicle_bus, "overheating", dbc=DBC, vehicle=FACTS, time_scale=TIME_SCALE, probe_s=0.1) as sim:
            assert wait_for(lambda: any(d.source == "broadcast" for d in state.snapshot().dtcs), timeout_s=10.0)
            assert wait_for(lambda: any(l.state == "on" for l in state.snapshot().lamps), timeout_s=5.0)
            time.sleep(0.5)
            answered = sum(ecu.requests_answered for ecu in sim.ecus.values())
        assert requests == [] and answered == 0 and session.obd is None
    finally:
        session.stop()
        for notifier in notifiers:
            notifier.stop()
        for bus in buses:
            bus.shutdown()


def test_simulator_attach_polls_over_its_own_connection_when_enabled():
    """can.poll_obd = true: attach() opens its own connection to can.bus and reads service 03 there."""
    from rag_car.settings import load_settings
    from rag_car.vehicle.diagnostics.session import attach
    from rag_car.vehicle.live import LiveState

    channel = _channel()
    vehicle_bus = can.Bus(interface="virtual", channel=channel)
    listener_bus = can.Bus(interface="virtual", channel=channel)
    state = LiveState(str(DBC))
    session = attach(load_settings(overrides={"can": {"bus": f"virtual:{channel}", "poll_obd": True}}), state)
    notifier = can.Notifier(listener_bus, [state, *session.listeners], timeout=0.05)
    try:
        with open_simulator(vehicle_bus, "catalyst", dbc=DBC, vehicle=FACTS, time_scale=TIME_SCALE, probe_s=0.1):
            found = wait_for(lambda: {d.source for d in state.snapshot().dtcs if d.code == "P0420"} >= {"obd-03", "obd-0a", "broadcast"},
                             timeout_s=10.0)
            assert found, [(d.code, d.source) for d in state.snapshot().dtcs]
            assert state.snapshot().bus["obd"]["ecus"] == ["ECM", "TCM"]
    finally:
        session.stop()
        notifier.stop()
        vehicle_bus.shutdown()
        listener_bus.shutdown()
