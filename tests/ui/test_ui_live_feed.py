"""The UI's live feed: the real Feed and LiveState on a real python-can virtual bus, an unreachable remote bus."""

from __future__ import annotations

import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from rag_car.settings import load_settings  # noqa: E402
from rag_car.vehicle.live import live_state_from_settings  # noqa: E402
from rag_car.vehicle.pycan import import_can  # noqa: E402
from ui.live_feed import LiveFeed  # noqa: E402
from ui.live_model import find_key_signals, signal_history, signal_options, split_snapshot  # noqa: E402

can = import_can()


def _wait(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def live(data_dir):
    return live_state_from_settings(load_settings(overrides={"data_dir": str(data_dir)}))


def _frame(live, message_name: str, **values) -> "can.Message":
    message = live.db.get_message_by_name(message_name)
    data = {signal.name: 0 for signal in message.signals}
    data.update(values)
    return can.Message(arbitration_id=message.frame_id, data=message.encode(data), is_extended_id=message.is_extended_frame)


def test_frames_reach_the_live_state_and_the_key_metrics(live):
    channel = f"ui-feed-{uuid.uuid4().hex[:8]}"
    feed = LiveFeed(f"virtual:{channel}", live).start()
    try:
        assert _wait(lambda: feed.status().state == "connected")
        with can.Bus(interface="virtual", channel=channel) as sender:
            for speed in (40.0, 50.0, 60.0):
                sender.send(_frame(live, _message_of(live, "VehicleSpeed"), VehicleSpeed=speed))
                time.sleep(0.02)
            sender.send(_frame(live, _message_of(live, "CoolantTemp"), CoolantTemp=118))
            assert _wait(lambda: feed.status().frames >= 4)
        status = feed.status()
        assert status.receiving and status.reachable and status.spec == f"virtual:{channel}"
        snapshot = feed.snapshot()
        found = find_key_signals(split_snapshot(snapshot).signals)
        assert found["Speed"].value == pytest.approx(60.0)
        assert found["Coolant"].value == 118 and found["Coolant"].status == "high"  # normal range from facts.toml
        assert found["Tire FL"] is None
        key = f"{found['Speed'].message}.VehicleSpeed"
        assert key in signal_options(snapshot)
        series = signal_history(live, snapshot, [key])[key]
        assert [row["value"] for row in series] == pytest.approx([40.0, 50.0, 60.0])
        assert series[-1]["seconds ago"] == 0 and series[0]["seconds ago"] < 0
    finally:
        feed.stop()


def test_key_metrics_prefer_the_broadcast_signal_over_the_polled_obd_value(live):
    from rag_car.vehicle.live import SignalReading

    live.on_frame(_frame(live, _message_of(live, "CoolantTemp"), CoolantTemp=96))
    # OBD-II service 01 answers sit beside the DBC signals, under the same signal name
    polled = SignalReading(name="CoolantTemp", message="OBD", value=118.0, unit="degC", label=None, timestamp=time.time(),
                           age_s=0.0, status="ok", source="obd-01")
    live.set_readings("obd-01", [polled])
    signals = split_snapshot(live.snapshot()).signals
    assert any(s.source == "obd-01" and s.name == "CoolantTemp" for s in signals)
    for order in (signals, list(reversed(signals))):
        found = find_key_signals(order)
        assert found["Coolant"].value == 96 and found["Coolant"].source == ""
    # with nothing broadcast, the polled value is shown
    only_obd = find_key_signals([s for s in signals if s.source])
    assert only_obd["Coolant"].value == 118.0


def test_an_unreachable_bus_is_reported_and_retried(live):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    feed = LiveFeed(f"remote:ws://127.0.0.1:{port}/", live, max_backoff_s=0.1).start(timeout_s=5)
    try:
        status = _wait(lambda: feed.status() if feed.status().state == "unreachable" else None)
        assert status is not None, feed.status()
        assert not status.reachable and not status.receiving
        assert str(port) in status.error and status.fix
        assert _wait(lambda: feed.feed.reconnects >= 0 and feed.snapshot().bus.get("state") == "reconnecting")
    finally:
        feed.stop()


def _message_of(live, signal: str) -> str:
    for message in live.db.messages:
        if any(s.name == signal for s in message.signals):
            return message.name
    raise AssertionError(f"{signal} is not in the bundled DBC")
