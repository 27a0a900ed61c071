"""Live page on a real car's DBC (Audi A2, German signal names) through AppTest: key tiles found through the signal
catalogue, values whole (not cut by narrow columns)."""

from __future__ import annotations

import json
import time

from ui_apptest import new_app, ui_env  # noqa: F401  (fixture)

from ui import resources


def test_key_tiles_of_a_real_dbc_come_from_the_catalogue(ui_env, shared_data):
    log = shared_data / "eldominio-canbuslogs/audi_a2/noecu.trc"
    dbc = shared_data / "opendbc/vw_pq.dbc"
    ui_env(RAG_CAR_CAN__BUS=f"replay:{log}?speed=max", RAG_CAR_CAN__DBC=json.dumps([str(dbc)]))
    at = new_app().run()
    at.switch_page("views/live.py").run()
    assert not at.exception
    feed = resources.live_feed()
    end = time.monotonic() + 60
    while time.monotonic() < end and len(feed.live.snapshot().signals) < 200:
        time.sleep(0.1)
    at.run()
    assert not at.exception
    metrics = {m.label: m for m in at.metric}
    assert metrics["Coolant"].value == "52.5 C"
    assert metrics["Coolant"].proto.help == "Kombi_2.Kuehlmitteltemp__4_1__Kombi_2_"
    assert metrics["Fuel"].value == "34 l" and metrics["Fuel"].proto.help == "Kombi_1.Tankinhalt"
    assert metrics["Speed"].value.endswith("km/h")
    # no tire pressure on this bus: no row of empty tiles; at most three tiles share a row
    assert not any(label.startswith("Tire") for label in metrics)
