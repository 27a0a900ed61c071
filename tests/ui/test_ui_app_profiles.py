"""The Settings page's vehicle profile: which one is in force and why, the known ones, and picking one (AppTest)."""

from __future__ import annotations

from ui_apptest import new_app, page_text, ui_env  # noqa: F401  (fixture)

from rag_car.settings import BUNDLED_DBC_DIR


def test_settings_page_shows_and_picks_the_vehicle_profile(ui_env, tmp_path):  # noqa: F811
    state = ui_env()
    folder = state["data_dir"] / "vehicles"
    folder.mkdir(parents=True, exist_ok=True)
    # a second profile decoding with the same DBC file under its own VIN pattern
    (folder / "bench.toml").write_text(f'[vehicle]\nmake = "Bench"\nmodel = "Rig"\nvin_pattern = "^BNC.{{14}}$"\n'
                                       f'dbc = ["{BUNDLED_DBC_DIR / "aldmoor_corrin.dbc"}"]\n', encoding="utf-8")
    (folder / "broken.toml").write_text("[vehicle\n", encoding="utf-8")
    at = new_app().run().switch_page("views/settings.py").run()
    assert not at.exception
    text = page_text(at)
    # two profiles own the DBC in use, so it picks neither; nothing is picked, no VIN was heard: none in force
    assert "**in force**: none" in text
    assert "broken.toml" in text and "not valid TOML" in text
    table = at.dataframe[0].value
    assert list(table["profile"]) == ["aldmoor-corrin", "bench"]
    select = at.selectbox(key="vehicle_profile")
    assert select.options == ["(none)", "aldmoor-corrin", "bench"] and select.value == "(none)"
    at = select.set_value("aldmoor-corrin").run()
    at = at.button(key="use_profile").click().run()
    assert not at.exception
    assert "**in force**: aldmoor-corrin (Aldmoor Corrin 2019-2024), picked" in page_text(at)
