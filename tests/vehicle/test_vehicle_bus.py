"""Bus specs and connections: virtual in-process, remote across processes on loopback, replay, reconnection."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings

import can
import pytest

from rag_car.errors import BusError, LogFormatError
from rag_car.vehicle.bus import create_bus, open_bus, shutdown_quietly
from rag_car.vehicle.dbc import load_dbc
from rag_car.vehicle.feed import open_feed
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.replay import ReplayBus
from rag_car.vehicle.spec import BUS_KINDS, parse_bus_spec
from vehicle_helpers import BENCH_DBC, FAST_CAN_IMPORT, FILES, RemoteServer, wait_until

SENDER = """
import sys, time, can
url, count, gap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
bus = can.Bus(interface="remote", channel=url)
for i in range(count):
    # EngineStatus: EngineSpeed = 1000 rpm + i, CoolantTemp 85 degC, gear Drive
    raw = (4000 + i) & 0xFFFF
    bus.send(can.Message(arbitration_id=0x100, data=bytes([raw & 0xFF, raw >> 8, 125, 3, 75, 0, 0, 0]), is_extended_id=False))
    if gap:
        time.sleep(gap)
bus.shutdown()
"""


@pytest.fixture
def state():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # 100 ms cycle x 100: frames from a sender process that takes a while to exit still count as current
        return LiveState(load_dbc(BENCH_DBC), stale_factor=100)


def _send_from_another_process(url: str, count: int, gap: float = 0.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", FAST_CAN_IMPORT + SENDER, url, str(count), str(gap)], capture_output=True, text=True, timeout=120)


def test_spec_kinds_options_and_typos():
    assert parse_bus_spec("virtual:rag-car").channel == "rag-car"
    assert parse_bus_spec("remote:ws://127.0.0.1:5000/").host_port == ("127.0.0.1", 5000)
    replay = parse_bus_spec("replay:/tmp/drive.log?speed=max&loop=1")
    assert (replay.channel, replay.speed, replay.loop) == ("/tmp/drive.log", None, True)
    assert parse_bus_spec("replay:x.log?speed=2.5").speed == 2.5
    assert parse_bus_spec("socketcan:can0?fd=1").flag("fd")
    with pytest.raises(BusError) as info:
        parse_bus_spec("virtaul:rag-car")
    assert all(kind in info.value.fix for kind in BUS_KINDS) and "did you mean virtual" in info.value.message
    for bad in ("", "virtual", "nonsense:x", "remote:http://x/", "replay:x.log?speed=0", "replay:x.log?speed=fast",
                "socketcan:can0?bitrate=5", "udp:239.0.0.1?colour=red"):
        with pytest.raises(BusError):
            parse_bus_spec(bad)


def test_virtual_bus_feeds_the_live_state_in_process(state):
    with open_feed("virtual:test-virtual-feed", state) as feed:
        assert feed.connected
        with can.Bus(interface="virtual", channel="test-virtual-feed") as tx:
            for i in range(50):
                tx.send(can.Message(arbitration_id=0x100, data=bytes([i, 15, 125, 3, 75, 0, 0, 0]), is_extended_id=False))
            assert wait_until(lambda: state.counters.decoded == 50)
        snap = state.snapshot()
        assert snap.bus["state"] == "connected" and snap.signal("CoolantTemp").value == 85
        assert snap.signal("GearPosition").label == "Drive"
    assert state.snapshot().bus["state"] == "closed"


def test_open_bus_is_a_context_manager(state):
    with open_bus("virtual:test-open-bus") as rx, open_bus("virtual:test-open-bus") as tx:
        tx.send(can.Message(arbitration_id=0x123, data=b"\x01", is_extended_id=False))
        got = rx.recv(1.0)
    assert got is not None and got.arbitration_id == 0x123


def test_remote_bus_across_processes_loses_nothing(state):
    with RemoteServer("test-remote") as server, open_feed(server.spec, state) as feed:
        assert feed.connected
        sent = _send_from_another_process(server.url, 500)
        assert sent.returncode == 0, sent.stderr
        assert wait_until(lambda: state.counters.frames == 500, timeout=20)
        history = state.history("EngineSpeed")
        assert [v for _t, v in history][-1] == (4000 + 499) / 4
        assert state.snapshot().bus["state"] == "connected"


def test_remote_bus_that_is_not_running_is_a_clear_error(state):
    with RemoteServer() as server:
        port = server.port
    with pytest.raises(BusError) as info:
        create_bus(f"remote:ws://127.0.0.1:{port}/")
    assert "not reachable" in info.value.message and "can_remote" in info.value.fix
    with pytest.raises(BusError):
        with open_feed(f"remote:ws://127.0.0.1:{port}/", state):
            pass
    assert state.snapshot().bus["state"] in ("disconnected", "closed")


def test_reconnects_with_backoff_and_marks_everything_stale_meanwhile(state):
    server = RemoteServer("test-reconnect").start()
    try:
        with open_feed(server.spec, state, initial_backoff_s=0.05, max_backoff_s=0.3) as feed:
            assert _send_from_another_process(server.url, 20).returncode == 0
            assert wait_until(lambda: state.counters.frames == 20)
            assert state.snapshot().signal("CoolantTemp").status == "ok"
            server.stop()  # the bus disappears mid-stream
            assert wait_until(lambda: state.snapshot().bus["state"] == "reconnecting", timeout=10)
            snap = state.snapshot()
            assert {s.status for s in snap.signals} == {"stale"} and "went away" in (snap.bus["error"] or "")
            assert state.counters.frames == 20  # nothing already decoded is lost
            time.sleep(0.5)  # a few failed attempts, with backoff
            server.start()
            assert feed.wait_connected(10) and wait_until(lambda: state.snapshot().bus["state"] == "connected")
            assert feed.reconnects >= 1
            assert _send_from_another_process(server.url, 10).returncode == 0
            assert wait_until(lambda: state.counters.frames == 30)
            assert state.snapshot().signal("CoolantTemp").status == "ok"
    finally:
        server.stop()


def test_replay_as_fast_as_possible_plays_every_frame(state, shared_data):
    log = shared_data / "eldominio-canbuslogs" / "yaris_09" / "accellog.log"
    with open_feed(f"replay:{log}?speed=max", state) as feed:
        assert feed.wait_ended(20)
    assert state.counters.frames == sum(1 for _ in can.LogReader(log))
    assert state.snapshot().bus["state"] == "ended"


def test_replay_keeps_real_and_scaled_time(tmp_path):
    log = tmp_path / "timed.log"
    log.write_text("".join(f"({1700000000 + i * 0.05:.6f}) can0 100#A00F7D0300140000\n" for i in range(11)))  # 0.5 s
    for speed, expected in ((1.0, 0.5), (2.0, 0.25)):
        bus = ReplayBus(log, speed=speed)
        started = time.monotonic()
        frames = []
        while not bus.finished:
            msg = bus.recv(0.2)
            if msg is not None:
                frames.append(msg)
        elapsed = time.monotonic() - started
        bus.shutdown()
        assert len(frames) == 11
        assert expected * 0.9 < elapsed < expected + 0.4, (speed, elapsed)
        assert frames[0].timestamp == pytest.approx(1700000000.0)


def test_replay_loop_keeps_timestamps_increasing(tmp_path):
    log = tmp_path / "short.log"
    log.write_text("".join(f"({1700000000 + i * 0.01:.6f}) can0 100#A00F7D0300140000\n" for i in range(5)))
    bus = ReplayBus(log, speed=None, loop=True)
    stamps = [bus.recv(1).timestamp for _ in range(17)]
    bus.shutdown()
    assert all(b > a for a, b in zip(stamps, stamps[1:])) and bus.loops == 3
    assert not bus.finished


def test_replay_bus_is_read_only_and_reports_bad_lines(tmp_path):
    bus = create_bus(f"replay:{FILES / 'bad_lines.log'}?speed=max")
    with pytest.raises(can.CanOperationError, match="read-only"):
        bus.send(can.Message(arbitration_id=1))
    while not bus.finished:
        bus.recv(0.1)
    assert bus.report.bad == 2
    shutdown_quietly(bus)
    with pytest.raises(LogFormatError):
        create_bus(f"replay:{tmp_path / 'nothing.log'}")


@pytest.mark.socketcan
def test_socketcan_opt_in(state):
    interface = os.environ.get("RAG_CAR_TEST_SOCKETCAN")
    if not interface:
        pytest.skip("set RAG_CAR_TEST_SOCKETCAN=vcan0 (a real or vcan interface) to run")
    with open_feed(f"socketcan:{interface}", state), can.Bus(interface="socketcan", channel=interface) as tx:
        tx.send(can.Message(arbitration_id=0x100, data=bytes([0, 15, 125, 3, 75, 0, 0, 0]), is_extended_id=False))
        assert wait_until(lambda: state.counters.decoded >= 1)


def test_socketcan_missing_interface_is_a_clear_error():
    with pytest.raises(BusError) as info:
        create_bus("socketcan:rcnosuch0")
    assert "rcnosuch0" in info.value.message and info.value.fix


UDP_SCRIPT = FAST_CAN_IMPORT + """
import warnings
warnings.simplefilter("ignore")
import can
from rag_car.vehicle.dbc import load_dbc
from rag_car.vehicle.feed import open_feed
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.bus import open_bus
state = LiveState(load_dbc(sys.argv[1]), stale_factor=100)
with open_feed("udp:239.74.163.2?port=43998", state), open_bus("udp:239.74.163.2?port=43998") as tx:
    for i in range(20):
        tx.send(can.Message(arbitration_id=0x100, data=bytes([0, 15, 125, 3, 75, 0, 0, 0]), is_extended_id=False))
    import time
    deadline = time.time() + 10
    while state.counters.decoded < 20 and time.time() < deadline:
        time.sleep(0.01)
    print("DECODED", state.counters.decoded, state.snapshot().signal("CoolantTemp").value)
"""


def test_udp_multicast_inside_a_loopback_only_namespace(tmp_path):
    # udp_multicast binds every interface: run it only where loopback is the only one
    if os.geteuid() != 0 or not (os.path.exists("/usr/bin/unshare") and os.path.exists("/usr/sbin/ip")):
        pytest.skip("needs root, unshare and ip for a network namespace")
    script = tmp_path / "udp_feed.py"
    script.write_text(UDP_SCRIPT)
    command = (f"ip link set lo up && ip route add 224.0.0.0/4 dev lo && "
               f"{sys.executable} {script} {BENCH_DBC}")
    result = subprocess.run(["unshare", "-n", "sh", "-c", command], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(FILES.parent.parent.parent)})
    if "Operation not permitted" in result.stderr:
        pytest.skip("network namespaces are not allowed here")
    assert "DECODED 20 85" in result.stdout, result.stderr
