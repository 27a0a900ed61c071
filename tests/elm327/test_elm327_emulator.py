"""rag-car's ELM327 client against ELM327-emulator (CC-BY-NC-SA-4.0: a test-time dependency only, never imported by
rag_car/): over TCP on loopback and over a pseudo-terminal (the serial-port path through pyserial)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time

import pytest

from rag_car.vehicle.elm327.feed import Elm327Feed

from elm_helpers import REPO, new_state, wait_for

elm = pytest.importorskip("elm")
STORED = ["0420", "0303"]  # SAE J2012 bytes: P0420, P0303


@contextlib.contextmanager
def emulator(mode: str):
    """ELM327-emulator's 'car' scenario (a Toyota Auris Hybrid's answers) with two stored DTCs; yields the spec."""
    from elm import obd_message

    kwargs = {"batch_mode": True}
    if mode == "tcp":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        kwargs.update(net_port=port, net_interface="127.0.0.1")  # loopback only
    saved = list(obd_message.DTC_STORED)
    obd_message.DTC_STORED[:] = STORED
    try:
        with elm.Elm(**kwargs) as session:
            session.scenario = "car"
            session.set_sorted_obd_msg("car")
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (session.sock_inet if mode == "tcp" else session.slave_name) is None:
                time.sleep(0.05)
            yield f"elm327:socket://127.0.0.1:{port}" if mode == "tcp" else f"elm327:{session.get_pty()}"
    finally:
        obd_message.DTC_STORED[:] = saved


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    """ELM327-emulator writes elm.log into the working directory: keep it out of the repository."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("mode", ["tcp", "pty"])
def test_elm327_client_reads_elm327_emulator(mode):
    state = new_state()
    with emulator(mode) as spec:
        feed = Elm327Feed(spec, state, timeout_s=2.0).start(timeout_s=20)
        try:
            assert feed.wait_live(30), state.snapshot().bus
            snapshot = state.snapshot()
        finally:
            feed.stop()
    stored = sorted(d.code for d in snapshot.dtcs if d.source == "obd-03")
    assert stored == ["P0303", "P0420"]
    assert next(l for l in snapshot.lamps if l.key == "check_engine").state == "on"
    rpm = next(s for s in snapshot.signals if s.source == "obd-01" and s.name == "EngineSpeed")
    assert rpm.unit == "rpm" and 0 <= rpm.value < 8000  # a hybrid: the engine often rests
    coolant = next(s for s in snapshot.signals if s.source == "obd-01" and s.name == "CoolantTemp")
    assert coolant.unit == "degC" and -40 <= coolant.value <= 215
    assert snapshot.vehicle["vin"] and len(snapshot.vehicle["vin"]) == 17
    assert snapshot.bus["adapter"]["version"].startswith("ELM327 v")
    assert snapshot.bus["adapter"]["protocol"].endswith("ISO 15765-4 (CAN 11/500)")


def test_elm327_clear_codes_asks_then_clears(cli_env):
    with emulator("tcp") as spec:
        declined = subprocess.run([sys.executable, "-m", "rag_car", "clear-codes", "--bus", spec], input="n\n", cwd=REPO,
                                  env=cli_env, capture_output=True, text=True, timeout=120)
        assert declined.returncode != 0 and "P0303, P0420" in declined.stderr and "aborted" in declined.stderr.lower()
        state = new_state()
        feed = Elm327Feed(spec, state, timeout_s=2.0).start(timeout_s=20)
        try:
            assert feed.wait_live(30)
            assert sorted(d.code for d in state.snapshot().dtcs if d.source == "obd-03") == ["P0303", "P0420"]
        finally:
            feed.stop()
        cleared = subprocess.run([sys.executable, "-m", "rag_car", "clear-codes", "--bus", spec, "--yes"], cwd=REPO,
                                 env=cli_env, capture_output=True, text=True, timeout=120)
    assert cleared.returncode == 0, cleared.stderr
    assert "cleared by 0x7E8" in cleared.stdout and "stored codes now: none" in cleared.stdout
