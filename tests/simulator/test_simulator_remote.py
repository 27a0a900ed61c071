"""Every scenario across processes: `rag-car simulate --serve` in a child process, this process listening over
``remote:ws://127.0.0.1:PORT/`` sees its DTC (broadcast and service 03), lamp and out-of-range signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rag_car.vehicle.diagnostics.session import FeedSender
from rag_car.vehicle.feed import Feed
from sim_helpers import FAULT_SCENARIOS, REPO, free_port, new_live_state, shows_fault, wait_for

pytestmark = pytest.mark.slow


def _spawn(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_CAR_")}
    return subprocess.Popen([sys.executable, "-m", "rag_car", "simulate", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stop(process: subprocess.Popen) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        _out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
    return process.returncode, err


@pytest.fixture(scope="module")
def served():
    """All fault scenarios started at once (they start in parallel), each serving its own loopback port."""
    running = {}
    for scenario in FAULT_SCENARIOS:
        port = free_port()
        running[scenario] = (port, _spawn("--scenario", scenario, "--serve", f"127.0.0.1:{port}", "--time-scale", "20",
                                          "--duration", "120"))
    yield running
    for _port, process in running.values():
        _stop(process)


def _connect(port: int, timeout_s: float = 30.0):
    """A LiveState fed over remote: from the served port, once the child is listening (the caller stops the feed)."""
    state, session = new_live_state()
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return state, session, Feed(f"remote:ws://127.0.0.1:{port}/", state, listeners=session.listeners).start()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.parametrize("scenario", FAULT_SCENARIOS)
def test_simulator_remote_scenario_shows_across_processes(served, scenario):
    port, process = served[scenario]
    state, session, feed = _connect(port)
    try:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        session.start_polling(FeedSender(feed))
        assert wait_for(lambda: not shows_fault(state, scenario), timeout_s=15.0), \
            f"{scenario} over remote: still missing {shows_fault(state, scenario)}"
        # a fault already set when this test connects shows at once, before many frames have come
        assert wait_for(lambda: state.snapshot().bus["frames"] > 100, timeout_s=5.0)
        assert state.snapshot().bus["state"] == "connected"
        assert wait_for(lambda: state.snapshot().vehicle.get("model") == "Corrin", timeout_s=6.0), session.poll_errors
    finally:
        session.stop()
        feed.stop()


def test_simulator_remote_second_simulator_refused_and_ctrl_c_is_clean():
    port = free_port()
    first = _spawn("--scenario", "normal", "--serve", f"127.0.0.1:{port}", "--duration", "60")
    try:
        state, _session, feed = _connect(port)
        try:
            assert wait_for(lambda: state.snapshot().bus.get("frames", 0) > 50, timeout_s=10)
        finally:
            feed.stop()
        # a second vehicle on the served bus: refused, with the reason
        second = subprocess.run([sys.executable, "-m", "rag_car", "simulate", "--scenario", "misfire",
                                 "--bus", f"remote:ws://127.0.0.1:{port}/", "--duration", "5"],
                                cwd=REPO, capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "another vehicle is already sending" in second.stderr
        # a second server on the same port: refused, with the reason
        third = subprocess.run([sys.executable, "-m", "rag_car", "simulate", "--serve", f"127.0.0.1:{port}", "--duration", "1"],
                               cwd=REPO, capture_output=True, text=True, timeout=60)
        assert third.returncode == 1 and f"cannot serve the simulated bus on 127.0.0.1:{port}" in third.stderr
    finally:
        code, err = _stop(first)
    assert code == 0, err
    assert "stopped after" in err and "frames sent" in err
