"""Bad adapters and bad links, against a scripted ELM327 on a real loopback socket: clear messages naming the
port, reconnects that back off, readings marked stale, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag_car.errors import BusError
from rag_car.vehicle.elm327.adapter import Elm327
from rag_car.vehicle.elm327.feed import Elm327Feed
from rag_car.vehicle.elm327.link import SerialLink, open_link
from rag_car.vehicle.spec import parse_bus_spec

from elm_helpers import REPO, Step, scripted_adapter, new_state, wait_for

HEALTHY = {
    "0100": "7E8 06 41 00 98 18 80 01\r\r>",  # 01, 04, 05, 0C, 0D, 11 (and 20: nothing more)
    "0120": "7E8 06 41 20 00 00 00 00\r\r>",
    "0101": "7E8 06 41 01 00 07 65 00\r\r>",
    "010C": "7E8 04 41 0C 1A F8\r\r>",
    "0105": "7E8 03 41 05 7B\r\r>",
    "010D": "7E8 03 41 0D 3C\r\r>",
    "0104": "7E8 03 41 04 7F\r\r>",
    "0111": "7E8 03 41 11 21\r\r>",
    "03": "7E8 02 43 00\r\r>", "07": "7E8 02 47 00\r\r>", "0A": "7E8 02 4A 00\r\r>",
}


def _feed(spec: str, state, **options) -> Elm327Feed:
    defaults = dict(timeout_s=0.5, search_timeout_s=0.5, initial_backoff_s=0.2, max_backoff_s=0.8, idle_backoff_s=0.3,
                    min_round_s=0.05)
    return Elm327Feed(spec, state, **{**defaults, **options})


def _obd(snapshot, name: str):
    return next((s for s in snapshot.signals if s.source == "obd-01" and s.message == "OBD" and s.name == name), None)


@pytest.mark.parametrize("status,words", [("NO DATA", "ignition"), ("CAN ERROR", "ignition"),
                                          ("BUS INIT: ...ERROR", "ignition"), ("UNABLE TO CONNECT", "ignition")])
def test_elm327_vehicle_that_does_not_answer_is_reported_not_invented(status, words):
    state = new_state()
    with scripted_adapter({}, default=f"{status}\r\r>") as adapter:
        feed = _feed(adapter.spec, state).start()
        try:
            assert wait_for(lambda: state.snapshot().bus.get("error"), 5)
            assert wait_for(lambda: adapter.commands.count("0100") >= 2, 5)  # asked again, not given up
            bus = state.snapshot().bus
        finally:
            feed.stop()
    assert bus["progress"] == "finding supported PIDs" and feed.reconnects == 0
    text = f"{bus['error']} {bus.get('fix')}"
    assert words in text and (status in text or "no ECU answered" in text), text
    assert not [s for s in state.snapshot().signals if s.source == "obd-01"]
    # it does not spin: with idle_backoff_s 0.3 a few attempts a second at most
    assert adapter.commands.count("0100") < 25


def test_elm327_clone_lacking_commands_stopped_and_garbage_still_reads():
    replies = dict(HEALTHY)
    replies.update({
        "ATZ": "\r\rELM327 v2.1\r\r>", "ATAT1": "?\r\r>", "ATS1": "?\r\r>", "ATRV": "?\r\r>",
        "010C": [Step("STOPPED\r\r>"), Step("7E8 04 41 0C 1A F8\r\r>")],   # interrupted once, then answered
        "0105": Step("7E8 03 41 05 7B\r\r>", raw=b"\x00\xff\xfe\r"),         # line noise before the answer
        "010D": Step("7E8 03 41 0D 3C\r\r>", delay_s=0.3),                    # a slow adapter, within its timeout
    })
    state = new_state()
    with scripted_adapter(replies) as adapter:
        feed = _feed(adapter.spec, state, timeout_s=1.0).start()
        try:
            assert feed.wait_live(15), state.snapshot().bus
            snapshot = state.snapshot()
            info = feed.adapter.info
        finally:
            feed.stop()
    assert info.version == "ELM327 v2.1" and {"ATAT1", "ATS1"} <= set(info.missing)
    assert _obd(snapshot, "EngineSpeed").value == 1726.0
    assert _obd(snapshot, "CoolantTemp").value == 83
    assert _obd(snapshot, "VehicleSpeed").value == 60.0
    assert snapshot.bus["obd"]["garbage_lines"] >= 1


def test_elm327_peer_closing_mid_answer_marks_readings_stale_and_reconnects():
    replies = dict(HEALTHY)
    # the third 010C answer stops half-way and the connection closes (adapter unplugged mid-read)
    replies["010C"] = [Step(HEALTHY["010C"]), Step(HEALTHY["010C"]), Step("7E8 04 41", close=True), Step(HEALTHY["010C"])]
    state = new_state()
    with scripted_adapter(replies) as adapter:
        feed = _feed(adapter.spec, state).start()
        try:
            assert wait_for(lambda: feed.reconnects >= 1, 15), state.snapshot().bus
            snapshot = state.snapshot()
            if snapshot.bus["state"] != "connected":
                rpm = _obd(snapshot, "EngineSpeed")
                assert rpm is not None and rpm.status == "stale"  # kept, but not passed off as current
            assert "socket://127.0.0.1" in str(feed.error) and "closed the connection" in str(feed.error)
            assert "reconnects by itself" in feed.error.fix
            assert wait_for(lambda: feed.connected and _obd(state.snapshot(), "EngineSpeed").status != "stale", 15)
        finally:
            feed.stop()
    assert adapter.connections >= 2


def test_elm327_stalled_adapter_counts_as_gone():
    # after answering each request once, the adapter never prompts again (hung firmware, a dead Bluetooth link)
    replies = {command: [Step(text), Step("")] for command, text in HEALTHY.items()}
    state = new_state()
    with scripted_adapter(replies) as adapter:
        feed = _feed(adapter.spec, state, timeout_s=0.3).start()
        try:
            assert wait_for(lambda: feed.reconnects >= 1, 20), state.snapshot().bus
            assert "no prompt" in str(feed.error) or "stopped answering" in str(feed.error)
        finally:
            feed.stop()


def test_elm327_reconnect_backs_off_instead_of_spinning():
    state = new_state()
    with scripted_adapter({"ATZ": Step("", close=True)}) as adapter:  # accepts, then hangs up at once
        feed = _feed(adapter.spec, state, retry_first=True, initial_backoff_s=0.2, max_backoff_s=0.8).start()
        try:
            wait_for(lambda: False, 3.0)
            bus = state.snapshot().bus
        finally:
            feed.stop()
    assert 2 <= adapter.connections <= 8, adapter.connections
    gaps = [b - a for a, b in zip(adapter.connect_times, adapter.connect_times[1:])]
    assert gaps[-1] >= 0.5, gaps  # the wait doubled up to the cap
    assert bus["state"] in ("reconnecting", "connecting") and "socket://127.0.0.1" in bus["error"]


def test_elm327_missing_refused_and_busy_ports_say_what_to_try(tmp_path):
    missing = "elm327:/dev/ttyRAGCAR_NOT_THERE"
    with pytest.raises(BusError) as info:
        Elm327Feed(missing, new_state()).start()
    assert "/dev/ttyRAGCAR_NOT_THERE" in info.value.message and "plug the adapter in" in info.value.fix
    with scripted_adapter({}) as adapter:
        spec = adapter.spec
    with pytest.raises(BusError) as info:  # nothing listens there any more
        open_link(parse_bus_spec(spec))
    assert spec.split("elm327:")[1] in info.value.message and "rag-car simulate --elm327" in info.value.fix
    master, slave = os.openpty()
    try:
        name = os.ttyname(slave)
        first = SerialLink(name, 38400)
        try:
            with pytest.raises(BusError) as info:
                SerialLink(name, 38400)
            assert name in info.value.message and "another program holds" in info.value.fix
        finally:
            first.close()
    finally:
        os.close(master)
        os.close(slave)


def test_elm327_cli_prints_one_line_not_a_traceback(cli_env):
    with scripted_adapter({}) as adapter:
        spec = adapter.spec
    result = subprocess.run([sys.executable, "-m", "rag_car", "monitor", "--bus", spec, "--once"], cwd=REPO, env=cli_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and spec.split("elm327:")[1] in lines[0] and "not reachable" in lines[0], result.stderr
    bad = subprocess.run([sys.executable, "-m", "rag_car", "monitor", "--bus", "elm327:socket://127.0.0.1:99999", "--once"],
                         cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "socket://HOST:PORT" in bad.stderr and "Traceback" not in bad.stderr


def test_elm327_adapter_request_errors_name_the_port():
    with scripted_adapter({"0100": "CAN ERROR\r\r>", "0902": "?\r\r>"}) as adapter:
        client = Elm327(open_link(parse_bus_spec(adapter.spec)), timeout_s=0.5)
        try:
            client.initialise()
            with pytest.raises(BusError) as info:
                client.supported_pids()
            assert adapter.spec.split("elm327:")[1] in info.value.message and "CAN ERROR" in info.value.message
            assert "ignition" in info.value.fix
            with pytest.raises(BusError) as info:
                client.read_vin()
            assert "'?'" in info.value.message
        finally:
            client.close()


def test_elm327_protocol_search_gets_its_own_time():
    replies = dict(HEALTHY)
    replies["0100"] = Step("SEARCHING...\r" + HEALTHY["0100"], delay_s=1.5)  # slower than a request may take later
    state = new_state()
    with scripted_adapter(replies) as adapter:
        feed = _feed(adapter.spec, state, timeout_s=0.5, search_timeout_s=4.0).start()
        try:
            assert feed.wait_live(15), state.snapshot().bus
            assert feed.adapter.timeouts == 0 and adapter.commands.count("0100") == 1
        finally:
            feed.stop()
