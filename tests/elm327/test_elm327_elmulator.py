"""rag-car's ELM327 client against elmulator (MIT): every bundled scenario, checked against the scan summary the
scenario itself declares (its author's expectations, not ours)."""

from __future__ import annotations

import json

import pytest

from rag_car.vehicle.elm327.feed import Elm327Feed

from elm_helpers import elmulator_server, new_state, wait_for

elmulator = pytest.importorskip("elmulator")
SCANS = ["p0420_basic", "p0301_basic", "no_codes_basic", "malformed", "chunked_stream", "headers_off_echo_on"]


def _expected(name: str) -> dict:
    from elmulator import _bundled

    return json.loads(_bundled.BUNDLED[name])["expected_scan_summary"]


def _codes(snapshot, source: str) -> list[str]:
    return sorted(d.code for d in snapshot.dtcs if d.source == source)


@pytest.mark.parametrize("name", SCANS)
def test_elm327_client_reads_each_elmulator_scenario(name):
    expected = _expected(name)
    state = new_state()
    with elmulator_server(name) as port:
        feed = Elm327Feed(f"elm327:socket://127.0.0.1:{port}", state, timeout_s=1.0, min_round_s=0.2).start()
        try:
            assert feed.wait_live(20), f"{name}: no first round ({state.snapshot().bus})"
            snapshot = state.snapshot()
        finally:
            feed.stop()
    bus = snapshot.bus
    assert bus["state"] in ("connected", "closed") and bus["adapter"]["version"] == "ELM327 v1.5"
    assert _codes(snapshot, "obd-03") == expected["stored_codes"]
    assert _codes(snapshot, "obd-07") == expected["pending_codes"]
    assert _codes(snapshot, "obd-0a") == expected["permanent_codes"]
    live = [s for s in snapshot.signals if s.source == "obd-01" and s.name not in ("MilStatus", "DtcCount")]
    assert len(live) == expected["live_value_count"], [s.name for s in live]
    assert bool(snapshot.vehicle.get("vin")) == expected["vin_reported"]
    if "mil_reported_on" in expected:
        lamp = next(l for l in snapshot.lamps if l.key == "check_engine")
        assert (lamp.state == "on") == expected["mil_reported_on"]
    if expected["live_value_count"]:
        rpm = next(s for s in live if s.name == "EngineSpeed")
        coolant = next(s for s in live if s.name == "CoolantTemp")
        assert (rpm.value, rpm.unit, coolant.value) == (1726.0, "rpm", 83)  # 41 0C 1A F8, 41 05 7B
    if name == "p0301_basic":
        assert bus["freeze_frame"]["code"] == "P0301"
    if name == "malformed":
        # no invented data: every garbled answer is a noted problem instead
        errors = bus["obd"]["errors"]
        assert {"obd-03", "obd-07", "obd-0a", "vin"} <= set(errors), errors
        assert len(errors) >= expected["min_session_warnings"]
    if name == "headers_off_echo_on":
        assert bus["adapter"]["echoes"] is True


def test_elm327_adapter_disconnect_scenario_reconnects_without_inventing_data():
    state = new_state()
    with elmulator_server("adapter_disconnect") as port:
        feed = Elm327Feed(f"elm327:socket://127.0.0.1:{port}", state, timeout_s=0.5, search_timeout_s=0.5,
                          initial_backoff_s=0.2, max_backoff_s=0.4).start()
        try:
            # the first 0100 stalls (a timeout, asked again), the retry is answered, then 03 drops the connection
            assert wait_for(lambda: feed.reconnects >= 1, 20), state.snapshot().bus
            snapshot = state.snapshot()
            assert snapshot.bus["state"] in ("reconnecting", "connecting", "connected")
            assert f"socket://127.0.0.1:{port}" in (snapshot.bus.get("error") or "") or feed.reconnects >= 1
            assert f"socket://127.0.0.1:{port}" in str(feed.error)
            assert not any(d.source.startswith("obd-") for d in snapshot.dtcs)  # 03 never answered: no codes made up
            assert all(s.status == "stale" for s in snapshot.signals if s.source == "obd-01")
            assert wait_for(lambda: feed.reconnects >= 2, 20)  # it keeps trying, with backoff
        finally:
            feed.stop()
