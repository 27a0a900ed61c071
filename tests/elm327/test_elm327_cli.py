"""The real commands over an elm327: spec: `simulate --elm327` serves, `monitor` reads, `clear-codes` asks the ECU."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

from elm_helpers import REPO


def _start_simulator(cli_env, tmp_path, *extra: str, address: str = "127.0.0.1:0") -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, "-m", "rag_car", "simulate", "--elm327", address, "--duration", "60",
                                *extra], cwd=tmp_path, env=cli_env, stderr=subprocess.PIPE, text=True)
    for _ in range(5):
        line = process.stderr.readline()
        match = re.search(r"ELM327 adapter face on 127\.0\.0\.1:(\d+)", line)
        if match:
            return process, int(match.group(1))
    process.kill()
    raise AssertionError(f"no face address in the simulator's output ({line!r})")


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=20)[1]
    finally:
        if process.poll() is None:
            process.kill()


def test_elm327_monitor_reads_the_simulated_overheating(cli, cli_env, tmp_path):
    process, port = _start_simulator(cli_env, tmp_path, "--scenario", "overheating", "--time-scale", "30")
    try:
        deadline = time.monotonic() + 60
        snapshot: dict = {}
        while time.monotonic() < deadline:
            result = cli("monitor", "--bus", f"elm327:socket://127.0.0.1:{port}", "--once", "--json")
            assert result.returncode == 0, result.stderr
            snapshot = json.loads(result.stdout)
            if any(d["code"] == "P0217" for d in snapshot["dtcs"]):
                break
        codes = {(d["code"], d["source"]) for d in snapshot["dtcs"]}
        assert ("P0217", "obd-03") in codes, snapshot["dtcs"]
        coolant = next(s for s in snapshot["signals"] if s["message"] == "OBD" and s["name"] == "CoolantTemp")
        assert coolant["status"] == "high" and coolant["value"] > 105  # against the documented normal range
        assert snapshot["vehicle"]["vin"] == "0AMCG5A23KA100001"
        assert snapshot["bus"]["progress"] == "live" and snapshot["bus"]["adapter"]["version"] == "ELM327 v1.5"
        refused = cli("clear-codes", "--bus", f"elm327:socket://127.0.0.1:{port}", "--yes")
        assert refused.returncode == 1 and "Traceback" not in refused.stderr
        assert "refused" in refused.stderr and "switch the engine off" in refused.stderr  # NRC 0x22 while it runs
    finally:
        rest = _stop(process)
    assert "OBD-II requests answered" in rest and "P0217" in rest


def test_elm327_cli_bad_input(cli, tmp_path):
    result = cli("simulate", "--elm327", "localhost", "--duration", "1")
    assert result.returncode == 1 and "--elm327 'localhost' is not HOST:PORT" in result.stderr
    result = cli("simulate", "--elm327", "127.0.0.1:0", "--obd-replay", str(tmp_path / "none.csv"), "--duration", "1")
    assert result.returncode == 1 and "none.csv does not exist" in result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("Speed of light,colour\n1,2\n", encoding="utf-8")
    result = cli("simulate", "--elm327", "127.0.0.1:0", "--obd-replay", str(bad), "--duration", "1")
    assert result.returncode == 1 and "names an OBD-II PID" in result.stderr
    result = cli("clear-codes", "--bus", "virtual:rag-car", "--yes")
    assert result.returncode == 1 and "talks to an OBD-II adapter" in result.stderr
    result = cli("monitor", "--bus", "elm327:/dev/ttyUSB0?baud=fast", "--once")
    assert result.returncode == 1 and "baud='fast'" in result.stderr
    for text in (r.stderr for r in [cli("monitor", "--bus", "elm327:/dev/ttyUSB0?protocol=Z", "--once")]):
        assert "not an ELM327 protocol" in text and "Traceback" not in text


def test_elm327_simulate_replays_a_real_drive(cli, cli_env, tmp_path, shared_data):
    # a bare port is a loopback address
    process, port = _start_simulator(cli_env, tmp_path, "--obd-replay", str(shared_data / "carobd" / "idle1.csv"), address="0")
    try:
        result = cli("monitor", "--bus", f"elm327:socket://127.0.0.1:{port}", "--once", "--json")
    finally:
        _stop(process)
    assert result.returncode == 0, result.stderr
    signals = {s["name"]: s["value"] for s in json.loads(result.stdout)["signals"] if s["message"] == "OBD"}
    # columns of the real log, answered by the ECM (e.g. the catalyst temperature, which the simulated ECM lacks)
    assert {"CatalystTempB1S1", "CommandedLambda", "PedalD", "TimeSinceClear"} <= set(signals), sorted(signals)
