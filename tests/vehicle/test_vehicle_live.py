"""LiveState: latest values, staleness, range status, history, DTC/lamp/vehicle hooks, snapshot text and JSON."""

from __future__ import annotations

import json
import threading
import warnings

import can
import cantools
import pytest

from rag_car.errors import ProfileError
from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings
from rag_car.vehicle.dbc import load_dbc
from rag_car.vehicle.live import DtcReading, LampReading, LiveState, live_state_from_settings
from rag_car.vehicle.profile import load_profile
from vehicle_helpers import BENCH_DBC

T0 = 1_000_000.0
ENGINE = cantools.database.load_file(str(BENCH_DBC)).get_message_by_name("EngineStatus")


def _engine(coolant=90, speed=800, gear=3, oil=300, **extra):
    data = ENGINE.encode({"EngineSpeed": speed, "CoolantTemp": coolant, "GearPosition": gear, "OilPressure": oil,
                          "ThrottleSigned": 0, **extra})
    return can.Message(arbitration_id=ENGINE.frame_id, data=data, is_extended_id=False, timestamp=T0)


@pytest.fixture
def live():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        db = load_dbc(BENCH_DBC)
    return LiveState(db, normal_ranges={"CoolantTemp": (85, 105), "EngineStatus.OilPressure": (100, 550)},
                     history=5, stale_factor=3.0, default_stale_s=2.0)


def test_latest_value_unit_label_and_timestamp(live):
    live.on_frame(_engine(coolant=92), received_at=T0)
    snap = live.snapshot(now=T0 + 0.2)
    coolant = snap.signal("CoolantTemp")
    assert (coolant.value, coolant.unit, coolant.status, coolant.message) == (92, "degC", "ok", "EngineStatus")
    assert coolant.age_s == pytest.approx(0.2) and coolant.timestamp == T0
    gear = snap.signal("EngineStatus.GearPosition")
    assert gear.label == "Drive" and gear.value == 3


def test_range_status_against_normal_ranges_and_dbc_limits(live):
    live.on_frame(_engine(coolant=118, oil=40), received_at=T0)
    snap = live.snapshot(now=T0 + 0.2)
    assert snap.signal("CoolantTemp").status == "high"
    assert snap.signal("OilPressure").status == "low"
    assert snap.signal("EngineSpeed").status == "ok"
    assert {s.name for s in snap.problems} == {"CoolantTemp", "OilPressure"}
    # the DBC's own min/max (here -64..63.5 for a signed throttle is the full range; use the speed max instead)
    raw = bytearray(_engine().data)
    raw[0:2] = (65535).to_bytes(2, "little")  # 16383.75 rpm, above the DBC's 8000
    live.on_frame(can.Message(arbitration_id=256, data=bytes(raw), is_extended_id=False, timestamp=T0), received_at=T0)
    speed = live.snapshot(now=T0 + 0.1).signal("EngineSpeed")
    assert speed.status == "high" and "outside the DBC range 0-8000 rpm" in speed.to_text()


def test_text_line_reads_like_the_issue_says(live):
    live.on_frame(_engine(coolant=118), received_at=T0)
    line = live.snapshot(now=T0 + 0.2).signal("CoolantTemp").to_text()
    assert line == "Engine coolant temperature 118 degC (high: normal 85-105 degC), updated 0.2 s ago"
    live.on_frame(_engine(coolant=95), received_at=T0 + 1)
    assert live.snapshot(now=T0 + 1.05).signal("CoolantTemp").to_text() == \
        "Engine coolant temperature 95 degC (normal 85-105 degC), updated 0.1 s ago"


def test_staleness_follows_the_cycle_time(live):
    live.on_frame(_engine(), received_at=T0)  # EngineStatus: GenMsgCycleTime 100 ms -> stale after 0.3 s
    assert live.snapshot(now=T0 + 0.29).signal("CoolantTemp").status == "ok"
    stale = live.snapshot(now=T0 + 0.31).signal("CoolantTemp")
    assert stale.status == "stale" and "(stale)" in stale.to_text()
    # a message with no cycle time goes stale after default_stale_s
    live.on_frame(can.Message(arbitration_id=768, data=bytes(4), is_extended_id=False), received_at=T0)
    assert live.snapshot(now=T0 + 1.9).signal("Level").status == "ok"
    assert live.snapshot(now=T0 + 2.1).signal("Level").status == "stale"


def test_a_bus_that_is_away_makes_everything_stale(live):
    live.on_frame(_engine(), received_at=T0)
    live.set_bus(spec="remote:ws://127.0.0.1:1/", state="reconnecting", error="bus went away")
    snap = live.snapshot(now=T0 + 0.01)
    assert {s.status for s in snap.signals} == {"stale"}
    assert "reconnecting" in snap.to_text().splitlines()[0]
    live.set_bus(state="connected", error=None)
    assert live.snapshot(now=T0 + 0.01).signal("CoolantTemp").status == "ok"


def test_history_is_a_bounded_ring(live):
    for i in range(8):
        live.on_frame(_engine(coolant=80 + i), received_at=T0 + i * 0.1)
    history = live.history("CoolantTemp")
    assert [value for _t, value in history] == [83, 84, 85, 86, 87]  # history=5
    assert live.history("EngineStatus.CoolantTemp") == history
    assert live.history("Nope") == []


def test_multiplexed_signals_keep_their_latest_branch_values(live):
    live.on_frame(can.Message(arbitration_id=512, data=bytes([0, 0b0001, 0, 0, 0, 0, 0, 0]), is_extended_id=False), received_at=T0)
    live.on_frame(can.Message(arbitration_id=512, data=bytes([1, 100, 0, 0, 0, 0, 0, 0]), is_extended_id=False), received_at=T0 + 0.1)
    snap = live.snapshot(now=T0 + 0.2)
    assert snap.signal("DoorFL").label == "Open" and snap.signal("CabinTemp").value == 30.0
    assert snap.signal("Page").value == 1  # from the newest frame


def test_bad_frames_are_counted_not_raised(live):
    for msg in (can.Message(arbitration_id=256, data=b"", is_extended_id=False),
                can.Message(arbitration_id=0x7AB, data=bytes(8), is_extended_id=False),
                can.Message(is_error_frame=True),
                can.Message(arbitration_id=256, is_remote_frame=True, is_extended_id=False)):
        live.on_frame(msg)
    live.on_frame(object())  # not even a Message
    counters = live.snapshot().counters
    assert (counters["frames"], counters["unknown"], counters["error_frames"], counters["remote_frames"]) == (5, 1, 1, 1)
    assert counters["errors"] == 2 and counters["per_id"]["0x7AB"] == {"unknown": 1}


def test_dtcs_lamps_and_vehicle_from_the_diagnostics_side(live):
    live.set_dtcs("broadcast", [DtcReading("P0217", "broadcast", "Engine coolant over temperature", ecu="ECM")])
    live.set_dtcs("obd-03", [DtcReading("P0217", "obd-03", "Engine coolant over temperature")])
    live.set_dtcs("obd-03", [])  # replaces that source's list
    live.set_lamps([LampReading("coolant_temp", "Coolant temperature warning lamp", "on"),
                    LampReading("check_engine", "Check-engine lamp (MIL)", "off")])
    live.set_vehicle({"vin": "0AMCG5A23KA100001", "make": "Aldmoor", "model": "Corrin", "year": 2019, "vin_valid": True})
    snap = live.snapshot()
    assert [(d.code, d.source) for d in snap.dtcs] == [("P0217", "broadcast")]
    text = snap.to_text()
    assert "P0217 Engine coolant over temperature (broadcast, ECM)" in text
    assert "Coolant temperature warning lamp ON" in text and "Check-engine" not in text
    assert "Vehicle: 2019 Aldmoor Corrin (VIN 0AMCG5A23KA100001, valid)" in text
    data = snap.to_json()
    assert data["dtcs"] == [{"code": "P0217", "source": "broadcast", "description": "Engine coolant over temperature"}]
    assert data["lamps"][0] == {"key": "coolant_temp", "name": "Coolant temperature warning lamp", "state": "on"}
    assert data["vehicle"]["vin_valid"] is True


def test_json_snapshot_has_the_documented_shape(live):
    live.on_frame(_engine(coolant=118), received_at=T0)
    data = json.loads(json.dumps(live.snapshot(now=T0 + 0.5).to_json()))
    assert set(data) >= {"signals", "dtcs", "lamps", "bus", "counters"}
    coolant = next(s for s in data["signals"] if s["name"] == "CoolantTemp")
    assert coolant == {"name": "CoolantTemp", "message": "EngineStatus", "value": 118, "unit": "degC", "label": None,
                       "status": "stale", "age_s": 0.5}


def test_text_puts_out_of_range_signals_first_and_can_be_limited(live):
    live.on_frame(_engine(coolant=118), received_at=T0)
    lines = live.snapshot(now=T0 + 0.1).to_text(limit=2).splitlines()
    assert lines[0].startswith("Live CAN data") and "1 out of range" in lines[0]
    assert lines[2].startswith("Engine coolant temperature 118")
    assert lines[-1].startswith("... and ")


def test_concurrent_frames_and_snapshots(live):
    errors = []

    def feed():
        try:
            for i in range(3000):
                live.on_frame(_engine(coolant=80 + i % 40))
        except Exception as exc:  # pragma: no cover - the test fails on it
            errors.append(exc)

    thread = threading.Thread(target=feed)
    thread.start()
    while thread.is_alive():
        live.snapshot()
        live.history("CoolantTemp")
    thread.join()
    assert not errors and live.counters.decoded == 3000


def test_live_state_accepts_cantools_databases_and_paths():
    state = LiveState(cantools.database.load_file(str(BENCH_DBC)))
    state.on_frame(_engine())
    assert state.snapshot().signal("CoolantTemp").value == 90
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert LiveState([str(BENCH_DBC)]).db.messages


def test_normal_ranges_come_from_the_profile_by_message_and_signal(tmp_path):
    """The bundled profile's ranges apply to its Message.Signal only: a bench DBC's own CoolantTemp gets none."""
    corrin = load_profile(BUNDLED_KNOWLEDGE / "facts.toml", name="aldmoor-corrin")
    assert corrin.range_for("ECM_EngineTemps.CoolantTemp").bounds == (85.0, 105.0)
    assert corrin.range_for("CoolantTemp") is None and all("." in key for key in corrin.ranges)
    assert all(r.doc for r in corrin.ranges.values())
    state = LiveState(str(BENCH_DBC), profile=corrin)  # the Corrin's facts on a bus it does not describe
    state.on_frame(_engine(coolant=118), received_at=T0)
    reading = state.snapshot(now=T0).signal("CoolantTemp")
    assert reading.normal is None and reading.status == "ok"  # not "high" by another vehicle's 85-105 degC


def test_bad_profile_ranges_are_profile_errors(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[signal_range]]\nmessage = 'M'\nsignal = 'X'\nlow = 'cold'\n")
    with pytest.raises(ProfileError, match="not a number"):
        load_profile(bad)
    flipped = tmp_path / "flipped.toml"
    flipped.write_text("[[signal_range]]\nmessage = 'M'\nsignal = 'X'\nlow = 9\nhigh = 1\n")
    with pytest.raises(ProfileError, match="above high"):
        load_profile(flipped)
    bare = tmp_path / "bare.toml"
    bare.write_text("[[signal_range]]\nsignal = 'CoolantTemp'\nlow = 80\nhigh = 100\n")
    with pytest.raises(ProfileError, match="Message.Signal"):
        load_profile(bare)


def test_live_state_from_settings_uses_settings_ranges(data_dir, monkeypatch):
    monkeypatch.setenv("RAG_CAR_CAN__NORMAL_RANGES", json.dumps({"CoolantTemp": [70, 100]}))
    settings = load_settings(overrides={"can": {"dbc": [str(BENCH_DBC)], "history": 7}})
    state = live_state_from_settings(settings)
    assert state.normal_ranges["CoolantTemp"] == (70, 100) and state.history_len == 7
    state.on_frame(_engine(coolant=101), received_at=T0)
    assert state.snapshot(now=T0).signal("CoolantTemp").status == "high"
    assert list((data_dir / "cache" / "dbc").glob("*.pickle"))
