"""Two vehicle profiles, two buses, one assistant: the simulated Aldmoor Corrin and a real Hyundai Kona log (opendbc's
hyundai_can.dbc). Nothing of the Corrin (its documents, ranges, stop rules, bulletins, ECU names) appears in an
answer about the Kona, while the Corrin's own answers still carry them."""

from __future__ import annotations

import uuid

import can
import pytest

from rag_car.answer.assistant import Assistant
from rag_car.cli.bus_listen import listen_to_bus
from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings
from rag_car.vehicle.simulator.runtime import open_simulator
from sim_helpers import DBC, FACTS, wait_for

pytestmark = pytest.mark.slow

# What only the Corrin's profile and documents say: any of these in a Kona answer is another car's fact.
CORRIN_MARKERS = ("Aldmoor", "Corrin", "ASB-", "85-105", "Ashby", "Tarrow", "AM20", "ECM_", "IPC_")
KONA_QUESTIONS = [
    "Is anything wrong with my car?",
    "What's the coolant temperature?",
    "My engine is overheating, should I stop driving?",
    "Are there any service bulletins for my car?",
    "What does trouble code P0217 mean?",
]
# the retriever's note on what the index holds is about the documents, not a fact applied to the vehicle
INDEX_NOTE = "no indexed document is about the vehicle"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The bundled knowledge indexed (hash embedder) and a Kona profile beside the bundled one."""
    from rag_car.knowledge.ingest import ingest

    data = tmp_path_factory.mktemp("two-vehicles") / "data"
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash"},
                                        "ingest": {"answer_sentences": False}})
    report = ingest(settings, [BUNDLED_KNOWLEDGE])
    assert not [f for f in report.files if f.status == "failed"]
    return data


def _kona_profile(data, shared_data):
    folder = data / "vehicles"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kona.toml").write_text(
        '[vehicle]\nmake = "Hyundai"\nmodel = "Kona"\nyears = [2018, 2023]\nwmi = ["KM8"]\n'
        f'dbc = ["{shared_data / "opendbc" / "hyundai_can.dbc"}"]\n\n'
        '# our own test range, not a maker figure\n[[signal_range]]\nmessage = "EMS12"\nsignal = "TEMP_ENG"\n'
        'low = 70\nhigh = 110\nunit = "deg"\n', encoding="utf-8")


def _text(answer) -> str:
    notices = [n for n in answer.notices if not n.startswith(INDEX_NOTE)]
    return "\n".join([answer.answer, *notices, *answer.warnings, str(answer.vehicle),
                      *(f"{c.source} {c.section}" for c in answer.citations)])


def test_nothing_of_the_corrin_in_an_answer_about_the_kona(indexed, shared_data):
    _kona_profile(indexed, shared_data)
    base = {"data_dir": str(indexed), "embedding": {"model": "hash"}}
    kona_settings = load_settings(overrides={**base, "can": {"dbc": [str(shared_data / "opendbc" / "hyundai_can.dbc")]}})
    corrin_settings = load_settings(overrides=base)  # the bundled DBC: the Corrin's

    log = shared_data / "eldominio-canbuslogs" / "kona" / "runlog.trc"
    kona = listen_to_bus(kona_settings, f"replay:{log}?speed=max", 0.0)
    channel = f"two-{uuid.uuid4().hex[:8]}"
    vehicle_bus = can.Bus(interface="virtual", channel=channel)
    try:
        assert kona.feed.wait_ended(60)
        kona_snap = kona.state.snapshot()
        assert kona_snap.profile is not None and kona_snap.profile.name == "kona" and kona_snap.profile_how == "dbc"
        coolant = kona_snap.signal("EMS12.TEMP_ENG")
        assert coolant is not None and coolant.normal == (70.0, 110.0)  # the Kona's own range
        assert all(r.normal is None for r in kona_snap.signals if r.message != "EMS12")  # none borrowed by name

        with open_simulator(vehicle_bus, "overheating", dbc=DBC, vehicle=FACTS, time_scale=20.0, probe_s=0.1):
            corrin = listen_to_bus(corrin_settings, f"virtual:{channel}", 0.0)
            try:
                snap = wait_for(lambda: (s := corrin.state.snapshot()).profile_how == "vin"
                                and any(d.code == "P0217" for d in s.dtcs) and s, timeout_s=20.0)
                assert snap and snap.profile.name == "aldmoor-corrin", corrin.state.snapshot().profile_how

                with Assistant(kona_settings, live=kona.state) as assistant:
                    for question in KONA_QUESTIONS:
                        answer = assistant.ask(question)
                        text = _text(answer)
                        found = [m for m in CORRIN_MARKERS if m in text]
                        assert not found, (question, found, text)
                        assert not any(c.source.startswith(str(BUNDLED_KNOWLEDGE)) for c in answer.citations), question
                        assert answer.vehicle.get("profile") == "kona", answer.vehicle
                        assert not answer.error, answer.error

                    # the same assistant on the Corrin's bus: its facts are there (so the markers above can be found)
                    assistant.live = corrin.state
                    answer = assistant.ask("My engine is overheating, should I stop driving?")
                    text = _text(answer)
                    assert answer.vehicle.get("profile") == "aldmoor-corrin" and answer.vehicle.get("profile_from") == "vin"
                    assert "Corrin" in text and answer.warnings  # the stop-driving condition of its profile
                    assert any(c.source.startswith(str(BUNDLED_KNOWLEDGE)) for c in answer.citations)
            finally:
                corrin.close()
    finally:
        kona.close()
        vehicle_bus.shutdown()
