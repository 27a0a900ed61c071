"""`ask --bus` / `chat --bus` over an adapter: listen_to_bus returns a state with the codes and readings in it."""

from __future__ import annotations

from rag_car.cli.bus_listen import listen_to_bus
from rag_car.settings import load_settings

from elm_helpers import simulated_elm327


def test_elm327_listen_to_bus_answers_with_the_adapter_readings():
    for poll in (False, True):  # can.poll_obd does not matter: the adapter is always polled, by the feed itself
        settings = load_settings(overrides={"can": {"bus": "virtual:not-this-one", "poll_obd": poll}})
        with simulated_elm327("catalyst") as (port, _simulator):
            listening = listen_to_bus(settings, f"elm327:socket://127.0.0.1:{port}", 0.5)
            try:
                snapshot = listening.state.snapshot()
                assert listening.feed.polls_obd and listening.session.obd is None  # nobody polls through a CAN sender
            finally:
                listening.close()
        assert any(d.code == "P0420" and d.source == "obd-03" for d in snapshot.dtcs), snapshot.dtcs
        coolant = snapshot.signal("OBD.CoolantTemp")
        assert coolant is not None and coolant.source == "obd-01" and coolant.status in ("ok", "low", "high")
        text = snapshot.to_text()
        assert "P0420" in text and "Engine coolant temperature (OBD-II PID 05, ECM)" in text
