"""The live page over an ELM327 adapter (AppTest): a progress state while the adapter comes up, then the same
metrics, lamp and trouble codes as over a CAN bus."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))

from ui_apptest import wait_until, new_app, page_text, ui_env  # noqa: E402,F401  (fixture)

from elm_helpers import Step, scripted_adapter  # noqa: E402
from ui import resources  # noqa: E402

SLOW_CAR = {
    "ATZ": Step("\r\rELM327 v1.5\r\r>", delay_s=2.0),  # a real adapter takes about a second to reset
    # the first request makes the adapter search the protocols: seconds on a real car (here 6 s, so the page sees it)
    "0100": [Step("SEARCHING...\r7E8 06 41 00 98 18 80 01\r\r>", delay_s=6.0), Step("7E8 06 41 00 98 18 80 01\r\r>")],
    "0120": "7E8 06 41 20 00 00 00 00\r\r>",
    "0101": "7E8 06 41 01 81 07 65 00\r\r>",
    "010C": "7E8 04 41 0C 1A F8\r\r>", "0105": "7E8 03 41 05 7B\r\r>", "010D": "7E8 03 41 0D 3C\r\r>",
    "0104": "7E8 03 41 04 7F\r\r>", "0111": "7E8 03 41 11 21\r\r>",
    "03": "7E8 04 43 01 04 20\r\r>", "07": "7E8 02 47 00\r\r>", "0A": "7E8 02 4A 00\r\r>",
}


def live_progress() -> str:
    return resources.live_feed().live.snapshot().bus.get("progress")


def test_elm327_live_page_shows_progress_then_the_car(ui_env):
    with scripted_adapter(SLOW_CAR) as adapter:
        ui_env(RAG_CAR_CAN__BUS=adapter.spec)
        at = new_app().run()
        at.switch_page("views/live.py").run()
        assert not at.exception
        bars = at.get("progress")
        assert bars, page_text(at)
        text = bars[0].proto.text
        assert f"OBD-II adapter `{adapter.spec}`" in text and "step" in text, text
        if any(step in text for step in ("opening port", "initialising adapter", "finding supported PIDs")):
            assert "P0420" not in page_text(at)  # no code read yet, none shown
        wait_until(lambda: live_progress() == "live", 30.0)
        live = resources.live_feed().live
        at.run()
        assert not at.exception
        page = page_text(at)
        assert f"Reading `{adapter.spec}` through the OBD-II adapter" in page
        metrics = {m.label: m for m in at.metric}
        assert metrics["Engine speed"].value.startswith("1,726") and metrics["Coolant"].value == "83 °C"
        assert "P0420" in page and "obd-03" in page
        assert any(l.key == "check_engine" and l.state == "on" for l in live.snapshot().lamps), live.snapshot().lamps
        assert any("Check-engine" in e.value for e in at.error), [e.value for e in at.error]
        assert not at.get("progress")
