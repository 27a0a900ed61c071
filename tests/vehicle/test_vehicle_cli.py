"""`rag-car monitor` and `rag-car replay` driven as real commands, over replay: and a real remote: bus."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings

import can
import pytest

from rag_car.vehicle.dbc import load_dbc
from rag_car.vehicle.feed import open_feed
from rag_car.vehicle.live import LiveState
from vehicle_helpers import BENCH_DBC, FAST_CAN_IMPORT, RemoteServer, wait_until

REPEATER = """
import sys, time, can
url, seconds = sys.argv[1], float(sys.argv[2])
bus = can.Bus(interface="remote", channel=url)
end = time.time() + seconds
while time.time() < end:
    bus.send(can.Message(arbitration_id=0x100, data=bytes([160, 15, 158, 3, 75, 0, 0, 0]), is_extended_id=False))
    time.sleep(0.02)
bus.shutdown()
"""


def test_monitor_once_json_over_a_replayed_log(cli, shared_data):
    log = shared_data / "eldominio-canbuslogs" / "kona" / "runlog.trc"
    result = cli("monitor", "--bus", f"replay:{log}?speed=max", "--dbc", str(shared_data / "opendbc" / "hyundai_can.dbc"),
                 "--once", "--json", "--listen", "10")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"signals", "dtcs", "lamps", "bus", "counters"}
    assert len(data["signals"]) > 50
    assert set(data["signals"][0]) == {"name", "message", "value", "unit", "label", "status", "age_s"}
    assert data["bus"]["state"] == "ended" and data["counters"]["frames"] == sum(1 for _ in can.LogReader(log))
    assert "hyundai_can.dbc:1656: dropped" in result.stderr


def test_monitor_once_json_over_a_remote_bus_fed_by_another_process(cli):
    with RemoteServer("test-monitor") as server:
        repeater = subprocess.Popen([sys.executable, "-c", FAST_CAN_IMPORT + REPEATER, server.url, "20"])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                probe = LiveState(load_dbc(BENCH_DBC))
            with open_feed(server.spec, probe):  # wait until the other process is sending
                assert wait_until(lambda: probe.counters.frames > 0, timeout=30)
            result = cli("monitor", "--bus", server.spec, "--dbc", str(BENCH_DBC), "--once", "--json", "--listen", "2",
                         "--filter", r"EngineStatus\.(CoolantTemp|GearPosition)")
        finally:
            repeater.kill()
            repeater.wait()
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    signals = {s["name"]: s for s in data["signals"]}
    assert set(signals) == {"CoolantTemp", "GearPosition"}
    assert signals["CoolantTemp"]["value"] == 118 and signals["CoolantTemp"]["unit"] == "degC"
    assert signals["GearPosition"]["label"] == "Drive"
    assert signals["CoolantTemp"]["status"] == "ok"  # no normal range for this fixture's DBC: inside -40..150
    assert data["bus"]["state"] in ("connected", "closed") and data["counters"]["decoded"] > 20


def test_monitor_once_text(cli, shared_data):
    log = shared_data / "eldominio-canbuslogs" / "yaris_09" / "accellog.log"
    result = cli("monitor", "--bus", f"replay:{log}?speed=max", "--dbc", str(shared_data / "opendbc" / "toyota_iQ_2009_can.dbc"),
                 "--once", "--listen", "10")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Live CAN data from replay:") and "updated" in result.stdout


def test_monitor_errors(cli):
    with RemoteServer() as server:
        dead = server.spec
    result = cli("monitor", "--bus", dead, "--dbc", str(BENCH_DBC), "--once", "--json")
    assert result.returncode == 1 and "not reachable" in result.stderr and "Traceback" not in result.stderr
    typo = cli("monitor", "--bus", "remtoe:ws://127.0.0.1:1/", "--dbc", str(BENCH_DBC), "--once")
    assert typo.returncode == 1 and "virtual, remote, socketcan, udp, replay" in typo.stderr


def test_replay_command_plays_a_real_log_onto_a_remote_bus(cli, shared_data):
    log = shared_data / "eldominio-canbuslogs" / "yaris_09" / "steering.log"
    frames = sum(1 for _ in can.LogReader(log))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = LiveState(load_dbc(shared_data / "opendbc" / "toyota_iQ_2009_can.dbc"))
    with RemoteServer("test-replay") as server, open_feed(server.spec, state):
        result = cli("replay", str(log), "--to", server.spec, "--speed", "max", "--quiet")
        assert result.returncode == 0, result.stderr
        assert f"replayed {frames} frames" in result.stderr
        assert wait_until(lambda: state.counters.frames == frames, timeout=20), state.counters.frames  # sent = received
    assert state.counters.decoded > 0


def test_replay_command_errors(cli, tmp_path):
    with RemoteServer() as server:
        dead = server.spec
    log = tmp_path / "a.log"
    log.write_text("(1.0) can0 100#00\n")
    result = cli("replay", str(log), "--to", dead)
    assert result.returncode == 1 and "not reachable" in result.stderr
    result = cli("replay", str(log), "--to", "virtual:x", "--speed", "fast")
    assert result.returncode == 1 and "--speed" in result.stderr
    result = cli("replay", str(tmp_path / "none.log"), "--to", "virtual:x")
    assert result.returncode == 1 and "does not exist" in result.stderr


@pytest.mark.parametrize("command", ["decode", "monitor", "replay"])
def test_help_starts_fast_and_shows_an_example(cli, command):
    started = time.monotonic()
    result = cli(command, "--help")
    elapsed = time.monotonic() - started
    assert result.returncode == 0 and "Example" in result.stdout
    assert elapsed < 3.0  # a generous bound on a shared machine; the benchmark reports the real figure
