"""Live vehicle page through AppTest: the simulated vehicle on an in-process virtual bus -> metrics, flags, lamp, DTC, charts."""

from __future__ import annotations

from ui_apptest import wait_until, new_app, page_text, ui_env  # noqa: F401  (fixture)

from rag_car.vehicle.simulator.runtime import open_simulator
from rag_car.vehicle.pycan import import_can
from ui import conversation, resources

can = import_can()


def test_live_page_with_the_simulated_vehicle(ui_env):
    """The overheating scenario, sped up, on an in-process virtual bus: metrics, flags, lamp, DTC, charts, ask."""
    state = ui_env()
    channel = state["bus"].split(":", 1)[1]
    at = new_app().run()
    at.switch_page("views/live.py").run()
    assert not at.exception
    live = resources.live_feed().live
    with can.Bus(interface="virtual", channel=channel) as bus, \
            open_simulator(bus, "overheating", time_scale=20.0, warn=lambda *_: None):
        wait_until(lambda: any(d.code == "P0217" for d in live.snapshot().dtcs), 30.0)
        wait_until(lambda: any(l.key == "coolant_temp" and l.state == "on" for l in live.snapshot().lamps), 10.0)
        at.run()
        assert not at.exception
        text = page_text(at)
        assert f"Connected to `{state['bus']}`" in text and "frames received" in text
        metrics = {m.label: m for m in at.metric}
        assert set(metrics) >= {"Speed", "Engine speed", "Coolant", "12 V battery", "Fuel", "Tire FL", "Tire RR"}
        coolant = live.snapshot().signal("CoolantTemp")
        assert coolant.value > 115 and coolant.status == "high"
        assert metrics["Coolant"].value.endswith("°C") and metrics["Coolant"].proto.delta == "high"
        assert metrics["Engine speed"].value.endswith("rpm") and metrics["Speed"].value.endswith("km/h")
        assert "Out of range or stale" in text and any(row == "CoolantTemp" for row in at.dataframe[0].value["signal"])
        lamp = next(l for l in live.snapshot().lamps if l.key == "coolant_temp")
        assert any(lamp.name in e.value for e in at.error)
        assert "P0217" in text

        # charts: pick a signal, its history is drawn
        picker = at.multiselect[0]
        key = next(option for option in picker.options if option.endswith("› CoolantTemp (degC)"))
        picker.select(key).run()
        assert not at.exception
        assert any(m.value.startswith("**") and "› CoolantTemp" in m.value for m in at.markdown)
        assert len(at.get("vega_lite_chart")) == 1
        at.toggle(key="_w_live_show_all").set_value(True).run()
        assert any(m.value.startswith("**All signals received (") for m in at.markdown)
        assert "FuelLevel" in list(at.dataframe[-1].value["signal"])

        # "Ask about this" asks the assistant in the current persona, on the chat page
        at.sidebar.segmented_control[0].set_value("technician").run()
        next(b for b in at.button if b.label == "Ask about this").click().run()
        assert not at.exception
    turns = at.session_state[conversation.TURNS]
    assert turns and "P0217" in turns[-1].question and turns[-1].persona == "technician"
    assert at.title[0].value == "Ask about your vehicle"


def test_unreachable_bus_is_explained_and_the_rest_of_the_app_works(ui_env):
    with __import__("socket").socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ui_env(RAG_CAR_CAN__BUS=f"remote:ws://127.0.0.1:{port}/")
    at = new_app().run()
    at.switch_page("views/live.py").run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert f"remote:ws://127.0.0.1:{port}/" in errors and "not reachable" in errors and "Fix:" in errors
    assert "Retrying" in errors
    at.switch_page("views/settings.py").run()
    assert not at.exception and "Health" in page_text(at)


def test_invalid_bus_spec_is_a_clear_message(ui_env):
    ui_env(RAG_CAR_CAN__BUS="bogus:thing")
    at = new_app().run()
    at.switch_page("views/live.py").run()
    assert not at.exception
    assert any("bogus:thing" in e.value and "Fix:" in e.value for e in at.error)
