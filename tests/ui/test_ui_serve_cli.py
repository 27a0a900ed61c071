"""`rag-car serve`: the Streamlit command line it builds, and its refusals before anything starts."""

from __future__ import annotations

from rag_car.cli.serve import APP, free_port, is_loopback, streamlit_command


def test_streamlit_runs_headless_on_loopback_without_the_file_watcher():
    command = streamlit_command("127.0.0.1", 8600, max_upload_mb=12.5)
    options = dict(zip(command[5::2], command[6::2]))
    assert command[3:5] == ["run", str(APP)] and APP.name == "server.py"
    assert options["--server.headless"] == "true"
    assert options["--server.address"] == "127.0.0.1" and options["--server.port"] == "8600"
    assert options["--server.fileWatcherType"] == "none"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--server.maxUploadSize"] == "13"  # MB, rounded up from ingest.max_file_mb


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10") and not is_loopback("example.org")


def test_free_port_prefers_the_given_one_and_falls_back():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = free_port(port)
        assert other != port and other > 0


def test_a_bad_bus_spec_fails_at_once(cli):
    result = cli("serve", "--bus", "bogus:thing", "--port", str(free_port(0)), timeout=60)
    assert result.returncode == 1
    assert "error: bus spec 'bogus:thing' is not valid" in result.stderr and "virtual:" in result.stderr


def test_ctrl_c_on_serve_with_the_simulator_stops_cleanly(tmp_path):
    """Ctrl-C in a terminal signals the whole foreground group: serve stops the UI (whose bus listener stops before
    its bus) and then the simulator, and says "stopped" -- no traceback from a Notifier or python-can-remote thread."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import pytest

    from ui_server import REPO_ROOT, base_env, free_port, wait_http

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rag_car", "serve", "--port", str(port), "--with-simulator"],
                                env=base_env(tmp_path / "data"), cwd=str(REPO_ROOT), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own group, as a terminal's foreground job
        try:
            wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout=120, proc=proc)
            time.sleep(3)  # the UI's bus listener is connected to the simulator by now
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(timeout=60) == 0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = log.read_text()
    if "simulated vehicle" not in text:
        pytest.fail(text)
    assert "Traceback" not in text and "Aborted" not in text, text
    assert text.rstrip().endswith("stopped"), text
