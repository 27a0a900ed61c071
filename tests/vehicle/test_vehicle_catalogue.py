"""Signal catalogue: real DBCs nobody wrote aliases for -> each signal's meaning, housekeeping marked, found by words."""

from __future__ import annotations

import warnings

import pytest

from rag_car.vehicle.catalogue import bundled_glossary, load_catalogue, load_glossary, name_tokens
from rag_car.errors import ConfigError


def _catalogue(shared_data, *paths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_catalogue([shared_data / p for p in paths])


def test_name_tokens_split_underscores_camel_case_digits_and_umlauts():
    assert name_tokens("CF_Clu_VehicleSpeed") == ("cf", "clu", "vehicle", "speed")
    assert name_tokens("HVBatteryVoltage") == ("hv", "battery", "voltage")
    assert name_tokens("Kühlmitteltemp_4_1") == ("kuehlmitteltemp", "4", "1")


def test_german_compounds_are_read_through_the_glossary():
    glossary = bundled_glossary()
    assert glossary.split("kuehlmitteltemperatur") == ["kuehlmittel", "temperatur"]
    assert glossary.split("aussentemperatur") in (["aussen", "temperatur"], ["aussentemperatur"])
    assert glossary.split("xyzqwv") is None  # nothing known: not guessed


def test_vw_pq_german_names_found_by_english_words(shared_data):
    catalogue = _catalogue(shared_data, "opendbc/vw_pq.dbc")
    best = catalogue.search("coolant temperature", k=3)
    assert "Kombi_2.Kuehlmitteltemp__4_1__Kombi_2_" in [m.entry.key for m in best]
    assert "kuehlmittel=coolant" in best[0].reason
    assert catalogue.search("oil temperature", k=1)[0].entry.key == "Kombi_2.Oeltemperatur_4_1"
    assert catalogue.search("fuel level", k=1)[0].entry.key == "Kombi_1.Tankinhalt"
    assert catalogue.search("engine speed", k=1)[0].entry.key == "Motor_1.Motordrehzahl"


def test_units_and_everyday_words_are_evidence(shared_data):
    catalogue = _catalogue(shared_data, "opendbc/gm_global_a_powertrain.dbc")
    top = catalogue.search("how hot is the engine coolant", k=1)[0]
    assert top.entry.key == "ECMEngineCoolantTemp.EngineCoolantTemp"
    assert any("unit C is a temperature" in r for r in top.reasons) or "coolant" in top.reason


def test_counters_checksums_and_alive_signals_are_housekeeping(shared_data):
    catalogue = _catalogue(shared_data, "opendbc/hyundai_can.dbc", "opendbc/gm_global_a_powertrain.dbc")
    internal = {e.name for e in catalogue.entries if e.internal}
    assert {"CF_Clu_AliveCnt1", "MsgCount", "RollingCounter", "Checksum", "CF_Mdps_Chksum"} <= internal
    assert not any(m.entry.internal for m in catalogue.search("counter checksum alive", k=20))
    assert any(m.entry.internal for m in catalogue.search("counter checksum alive", k=20, include_internal=True))
    # a signal the glossary reads as a real quantity is not housekeeping because of a housekeeping word inside it
    assert not catalogue.entry("CLU12.CF_Clu_Odometer").internal


def test_a_question_nothing_on_the_dbc_is_about_finds_nothing_strong(shared_data):
    catalogue = _catalogue(shared_data, "opendbc/toyota_iQ_2009_can.dbc")
    matches = catalogue.search("tire pressure of the spare wheel", k=3)
    assert all(m.lexical < 0.5 for m in matches)


def test_a_broken_glossary_is_a_clear_error(tmp_path):
    bad = tmp_path / "glossary.toml"
    bad.write_text("[german\nkuehl = ", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_glossary(bad)
    assert str(bad) in str(info.value) and info.value.fix


def test_signals_command_lists_matches_with_their_reason(shared_data, capsys, tmp_path):
    from rag_car.cli.main import run

    code = run(["--data-dir", str(tmp_path), "signals", "--dbc", str(shared_data / "opendbc/vw_pq.dbc"), "--no-model",
                "-k", "3", "coolant"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Kuehlm" in out and "kuehlm" in out.lower() and "=coolant" in out
    code = run(["--data-dir", str(tmp_path), "signals", "--dbc", str(tmp_path / "missing.dbc"), "coolant"])
    assert code != 0 and "DBC file not found" in capsys.readouterr().err
