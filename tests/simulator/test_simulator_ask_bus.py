"""What `ask --bus` and `chat --bus` listen with (rag_car.cli.bus_listen): passive by default, OBD-II service 01
and 03 answers from the simulated vehicle when can.poll_obd is on, on the bus named by the spec."""

from __future__ import annotations

import uuid

import can

from rag_car.cli.bus_listen import listen_to_bus
from rag_car.settings import load_settings
from rag_car.vehicle.simulator.runtime import open_simulator
from sim_helpers import DBC, FACTS, wait_for


def _settings(poll: bool):
    # can.bus names another channel: the spec given to listen_to_bus must be the one polled
    return load_settings(overrides={"can": {"bus": "virtual:not-this-one", "poll_obd": poll}})


def _obd_readings(listening) -> list:
    return [s for s in listening.state.snapshot().signals if s.source == "obd-01"]


def test_ask_bus_polls_obd_on_the_spec_bus_only_when_asked():
    channel = f"ask-bus-{uuid.uuid4().hex[:8]}"
    vehicle_bus = can.Bus(interface="virtual", channel=channel)
    try:
        with open_simulator(vehicle_bus, "catalyst", dbc=DBC, vehicle=FACTS, time_scale=5.0, probe_s=0.1):
            passive = listen_to_bus(_settings(poll=False), f"virtual:{channel}", 1.5)
            try:
                snap = passive.state.snapshot()
                assert snap.signals and not _obd_readings(passive)  # it heard the car and sent nothing
                assert not any(d.source.startswith("obd") for d in snap.dtcs)
            finally:
                passive.close()

            polling = listen_to_bus(_settings(poll=True), f"virtual:{channel}", 0.0)
            try:
                def polled():
                    snap = polling.state.snapshot()
                    speeds = [s for s in _obd_readings(polling) if s.name == "EngineSpeed"]
                    stored = [d for d in snap.dtcs if d.code == "P0420" and d.source == "obd-03"]
                    return speeds and stored and snap

                snap = wait_for(polled, timeout_s=15.0)
                assert snap, [(s.name, s.source) for s in polling.state.snapshot().signals if s.source]
                broadcast = snap.signal("ECM_EngineData.EngineSpeed")
                assert broadcast is not None and broadcast.source == ""  # the DBC signal stays beside the OBD one
            finally:
                polling.close()
    finally:
        vehicle_bus.shutdown()
