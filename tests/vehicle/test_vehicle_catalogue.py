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
    # valid TOML, an entry of the wrong shape: a state word without the quantity that decides it
    bad.write_text('[states]\nrunning = { yes = "above zero" }\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_glossary(bad)
    assert str(bad) in str(info.value) and "asks" in str(info.value) and info.value.fix


def test_signals_command_lists_matches_with_their_reason(shared_data, capsys, tmp_path):
    from rag_car.cli.main import run

    code = run(["--data-dir", str(tmp_path), "signals", "--dbc", str(shared_data / "opendbc/vw_pq.dbc"), "--no-model",
                "-k", "3", "coolant"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Kuehlm" in out and "kuehlm" in out.lower() and "=coolant" in out
    code = run(["--data-dir", str(tmp_path), "signals", "--dbc", str(tmp_path / "missing.dbc"), "coolant"])
    assert code != 0 and "DBC file not found" in capsys.readouterr().err


BARE_DBC = """VERSION ""

BU_: ECU1

BO_ 256 M100: 8 ECU1
 SG_ XQ1 : 0|16@1+ (0.1,0) [0|6553.5] "" Vector__XXX
 SG_ ZV7 : 16|8@1+ (1,-40) [-40|215] "" Vector__XXX

BO_ 257 M101: 8 ECU1
 SG_ KWJ : 0|8@1+ (1,0) [0|255] "" Vector__XXX
"""


def test_a_dbc_with_no_signal_the_catalogue_can_place(tmp_path, capsys):
    """Bare names, no units, no comments: the commands say so and what to do; the bus answers no reading it cannot
    place, and still answers a health question."""
    import can

    from rag_car.answer.live_answer import LiveAnswerer
    from rag_car.cli.main import run
    from rag_car.vehicle.catalogue import build_catalogue
    from rag_car.vehicle.live import LiveState

    dbc = tmp_path / "bare.dbc"
    dbc.write_text(BARE_DBC, encoding="utf-8")
    catalogue = load_catalogue([dbc])
    assert len(catalogue) == 3 and catalogue.placed == []
    assert "none of the 3 signals of bare.dbc could be placed" in catalogue.unplaced_note("bare.dbc")
    code = run(["--data-dir", str(tmp_path / "d"), "signals", "--dbc", str(dbc), "--no-model", "coolant"])
    captured = capsys.readouterr()
    assert code != 0 and "could be placed" in captured.err and "glossary" in captured.err

    state = LiveState(str(dbc))
    for t in range(5):
        state.on_frame(can.Message(arbitration_id=256, data=bytes([10, 0, 130, 0, 0, 0, 0, 0]), is_extended_id=False,
                                   timestamp=float(t)), received_at=float(t))
        state.on_frame(can.Message(arbitration_id=257, data=bytes(8), is_extended_id=False, timestamp=float(t)),
                       received_at=float(t))
    state.set_bus(spec="replay:x.log", state="ended")
    answerer = LiveAnswerer()
    assert answerer.answer("what's the coolant temperature?", state.snapshot(), build_catalogue(state.db)) is None
    health = answerer.answer("is anything wrong with my car?", state.snapshot(), build_catalogue(state.db))
    assert health is not None and health.kind == "health" and "3 signals" in health.text


@pytest.mark.parametrize("question,measure,state", [
    ("how far is the steering wheel turned?", "angle", None),
    ("how high are the revs?", "revolutions", None),
    ("what's the engine speed?", "revolutions", None),
    ("how fast is the engine spinning?", "revolutions", None),  # an engine's speed is its revolutions
    ("how fast am I going?", "speed", None),
    ("how far down is the gas pedal?", "extent", None),
    ("how much fuel is left?", "amount", None),
    ("is the engine running right now?", "revolutions", "running"),
    ("are we stopped?", "speed", "stopped"),
    ("has the engine warmed up?", "temperature", "warmed"),
    ("is the door open?", "", None),
    ("how hot's the engine running?", "temperature", None),  # a state word outside a yes/no question asks no state
    ("is the engine turning over?", "revolutions", "turning over"),
    ("whats the fuel level", "amount", None),
    ("how quick is the engine turning?", "revolutions", None),
])
def test_what_a_question_asks_for_is_read_from_its_form(shared_data, question, measure, state):
    catalogue = _catalogue(shared_data, "opendbc/gm_global_a_powertrain.dbc")
    asked = catalogue.asked(question)
    assert asked.measure == measure and (asked.state.word if asked.state else None) == state


def test_what_a_signal_measures_comes_from_its_unit_then_its_name(shared_data):
    camaro = _catalogue(shared_data, "opendbc/gm_global_a_powertrain.dbc")
    kona = _catalogue(shared_data, "opendbc/hyundai_can.dbc")
    audi = _catalogue(shared_data, "opendbc/vw_pq.dbc")
    measured = {key: c.measure(c.entry(key)) for c, keys in (
        (camaro, ["PSCMSteeringAngle.SteeringWheelAngle", "PSCMSteeringAngle.SteeringWheelRate",
                  "ECMEngineStatus.EngineRPM", "ECMVehicleSpeed.VehicleSpeed", "BCMTurnSignals.HighBeamsActive"]),
        (kona, ["EMS12.TEMP_ENG", "SAS11.SAS_Angle", "SAS11.SAS_Stat", "SAS11.SAS_Speed", "TCU_DCT13.Cluster_Engine_RPM"]),
        (audi, ["Lenkwinkel_1.LW1_LRW", "Lenkwinkel_1.LW1_Lenk_Gesch"])) for key in keys}
    assert measured == {
        "PSCMSteeringAngle.SteeringWheelAngle": "angle", "PSCMSteeringAngle.SteeringWheelRate": "angular rate",
        "ECMEngineStatus.EngineRPM": "revolutions", "ECMVehicleSpeed.VehicleSpeed": "speed",
        "BCMTurnSignals.HighBeamsActive": "state",
        "EMS12.TEMP_ENG": "temperature",  # "deg" is an angle or a temperature: the name decides
        "SAS11.SAS_Angle": "angle", "SAS11.SAS_Stat": "state",  # a sensor's status code is no angle
        "SAS11.SAS_Speed": "angular rate", "TCU_DCT13.Cluster_Engine_RPM": "revolutions",  # no unit: the name
        "Lenkwinkel_1.LW1_LRW": "angle", "Lenkwinkel_1.LW1_Lenk_Gesch": "angular rate",  # "°Grad", "°Grad/s"
    }


@pytest.mark.parametrize("dbc,question,first,below", [
    # the quantity asked against the unit: an angle, not its rate; the engine's revolutions, not a road speed
    ("opendbc/gm_global_a_powertrain.dbc", "how far is the steering wheel turned?",
     "PSCMSteeringAngle.SteeringWheelAngle", "PSCMSteeringAngle.SteeringWheelRate"),
    ("opendbc/gm_global_a_powertrain.dbc", "how high are the revs?", "ECMEngineStatus.EngineRPM",
     "ECMVehicleSpeed.VehicleSpeed"),
    # a lamp's open-circuit report is not the lamp being on; a sensor's fault flag is not its reading
    ("opendbc/hyundai_can.dbc", "are the low beams on?", "CGW1.CF_Gway_HeadLampLow", "CGW5.C_HLampLowLhOpenSts"),
    ("opendbc/vw_pq.dbc", "what's the coolant temperature?", "Kombi_2.Kuehlmitteltemp__4_1__Kombi_2_",
     "Kombi_2.Fehlerst__Kuehlmitteltemp__4_1"),
    # the whole vehicle's speed above one wheel's when the question names no wheel
    ("opendbc/hyundai_can.dbc", "how fast go I?", "EMS11.VS", "WHL_SPD11.WHL_SPD_FL"),
    # a number asked: a pedal's travel, not a button
    ("opendbc/gm_global_a_powertrain.dbc", "how far is the accelerator pedal pushed?",
     "AcceleratorPedal.AcceleratorPedal", "ASCMSteeringButton.DistanceButton"),
])
def test_the_signal_that_is_the_thing_asked_ranks_above_its_look_alikes(shared_data, dbc, question, first, below):
    catalogue = _catalogue(shared_data, dbc)
    ranked = [m.entry.key for m in catalogue.search(question, k=len(catalogue))]
    assert first in ranked and (below not in ranked or ranked.index(first) < ranked.index(below)), ranked[:6]


def test_a_fault_question_keeps_the_fault_signal(shared_data):
    """Ranking a fault report below the signal holds only while the question does not ask about the fault."""
    catalogue = _catalogue(shared_data, "opendbc/vw_pq.dbc")
    asked = catalogue.asked("is there a coolant temperature sensor fault?")
    assert asked.fault
    entry = catalogue.entry("Kombi_2.Fehlerst__Kuehlmitteltemp__4_1")
    assert catalogue.reports_fault(entry) == "fault"
    assert not any("fault" in why for why in catalogue.fit(entry, asked)[1])
    assert any("fault" in why for why in catalogue.fit(entry, catalogue.asked("what's the coolant temperature?"))[1])


def test_units_are_read_from_dbcs_and_from_questions():
    glossary = bundled_glossary()
    # a quantity per time is that quantity's rate, whatever the language of the time unit
    assert glossary.quantity_of_unit("Grad/Sek") == "angular rate"
    assert glossary.quantity_of_unit("km/h") == glossary.quantity_of_unit("mph") == "speed"
    assert glossary.quantity_of_unit("l/h") == "fuel rate" and glossary.quantity_of_unit("furlongs") == ""
    assert glossary.unit_asked("How many mph am I doing?") == "speed"
    assert glossary.unit_asked("odometer in kilometres?") == "distance"
    assert glossary.unit_asked("what is the 12v battery at") == "voltage"
    assert glossary.unit_asked("is it a v shaped engine") == ""  # a lone letter is a unit only after a number


def test_a_name_that_repeats_its_unit_says_what_it_measures(shared_data):
    catalogue = _catalogue(shared_data, "opendbc/hyundai_can.dbc")
    assert catalogue.entry("BAT11.BAT_SNSR_V").meaning == "battery sensor voltage"
    assert catalogue.search("12 v battery", k=1)[0].entry.key in {"BAT11.BAT_SNSR_V", "EMS14.VB"}
    assert catalogue.search("battery state of charge in percent", k=1)[0].entry.key == "BAT11.BAT_SOC"


def test_words_for_the_vehicle_itself_do_not_name_a_signal(shared_data):
    """"the car" is the vehicle, and a VW DBC's Fahrzeug_Klasse (vehicle class) says "vehicle": the odometer, read in
    the kilometres asked, leads."""
    catalogue = _catalogue(shared_data, "eldominio-canbuslogs/audi_a2/vw_golf_mk4.dbc")
    assert catalogue.search("how many kilometres does the car have", k=1)[0].entry.key == "Kombi_3.Kilometerstand"


# the common quantities on real DBCs that come with no log (opendbc, the Tesla Model 3 community DBC, cantools'
# test DBCs): a question in plain English finds the signal by its name, unit and glossary alone
@pytest.mark.parametrize("dbc,question,expected", [
    ("opendbc/vw_mqbevo.dbc", "coolant temperature", {"Motor_07.MO_Kuehlmittel_Temp", "Motor_09.MO_ITM_Kuehlmittel_Temp",
                                                      "OBD_01.OBD_Eng_Cool_Temp"}),
    ("opendbc/vw_mqbevo.dbc", "outside temperature", {"Kombi_02.KBI_Aussen_Temp_gef"}),
    ("opendbc/vw_mqbevo.dbc", "steering wheel angle", {"LWI_01.LWI_Lenkradwinkel"}),
    ("opendbc/vw_mqbevo.dbc", "parking brake", {"Kombi_01.KBI_Handbremse"}),
    ("opendbc/gm_global_a_powertrain.dbc", "coolant temperature", {"ECMEngineCoolantTemp.EngineCoolantTemp"}),
    ("opendbc/toyota_prius_2010_pt.dbc", "engine speed rpm", {"POWERTRAIN.ENGINE_RPM"}),
    ("opendbc/toyota_prius_2010_pt.dbc", "gear", {"GEAR_PACKET.GEAR"}),
    ("opendbc/tesla_can.dbc", "vehicle speed", {"ESP_B.ESP_vehicleSpeed", "DI_torque2.DI_vehicleSpeed"}),
    ("opendbc/tesla_can.dbc", "gear", {"DI_torque2.DI_gear"}),
    ("opendbc/hyundai_can.dbc", "battery voltage", {"BAT11.BAT_SNSR_V", "EMS14.VB"}),
    ("opendbc/vw_pq.dbc", "battery voltage", {"BSG_Last.Batteriespannung_Bordnetzbatter"}),
    ("model3dbc/Model3CAN.dbc", "accelerator pedal", {"ID118DriveSystemStatus.DI_accelPedalPos"}),
    ("model3dbc/Model3CAN.dbc", "steering wheel angle", {"ID129SteeringAngle.SteeringAngle129"}),
    ("cantools/vehicle.dbc", "engine speed rpm", {"RT_DL1MK3_RPM.RPM"}),
])
def test_common_quantities_are_placed_on_dbcs_without_a_log(shared_data, dbc, question, expected):
    best = _catalogue(shared_data, dbc).search(question, k=1)
    assert best and best[0].entry.key in expected, [(m.entry.key, m.reason) for m in best]
