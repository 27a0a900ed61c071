"""Live-first answers on real cars: a real DBC + real log replayed into a LiveState -> the reading leads the answer,
health questions answered from the bus, no refusal, no housekeeping signals shown."""

from __future__ import annotations

import warnings

import pytest

from rag_car.answer.assistant import Assistant
from rag_car.answer.live_answer import LiveAnswerer
from rag_car.settings import load_settings
from rag_car.vehicle.catalogue import build_catalogue
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.logs import open_log

AUDI = ("eldominio-canbuslogs/audi_a2/noecu.trc", "opendbc/vw_pq.dbc")
CAMARO = ("eldominio-canbuslogs/camaro/keyonlog.log", "opendbc/gm_global_a_powertrain.dbc")


def _replayed(shared_data, pair) -> LiveState:
    """The log fed frame by frame (arrival = the log's own clock), then ended like a played-out replay."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = LiveState([shared_data / pair[1]])
    with open_log(shared_data / pair[0]) as reading:
        for message in reading:
            state.on_frame(message, received_at=message.timestamp)
    state.set_bus(spec=f"replay:{pair[0]}", state="ended")
    return state


@pytest.fixture()
def assistant(tmp_path):
    settings = load_settings(None, {"data_dir": tmp_path / "data", "embedding": {"model": "hash"}})
    with Assistant(settings) as a:
        yield a


def test_the_audi_coolant_question_leads_with_the_reading(shared_data, assistant):
    assistant.live = _replayed(shared_data, AUDI)
    answer = assistant.ask("What's the coolant temperature?")
    assert answer.live_kind == "reading" and not answer.abstained
    assert answer.answer.startswith("kombi coolant temperature: 52.5 C") or "52.5 C" in answer.answer.split(".")[0]
    assert "Kombi_2.Kuehlmitteltemp__4_1__Kombi_2_" in answer.answer
    assert "do not mention" not in answer.answer
    first = answer.signals[0]
    assert (first.message, first.name, first.value) == ("Kombi_2", "Kuehlmitteltemp__4_1__Kombi_2_", 52.5)


def test_a_reading_is_aged_on_the_logs_own_clock_and_not_stale_at_its_end(shared_data, assistant):
    state = _replayed(shared_data, CAMARO)
    assistant.live = state
    answer = assistant.ask("What's the coolant temp?")
    assert answer.signals[0].name == "EngineCoolantTemp" and answer.signals[0].status == "ok"
    assert "40 C" in answer.answer and "stale" not in answer.answer and "replayed log" in answer.answer
    # a one-bit flag reads as on/off
    from rag_car.answer.live_answer import LiveClock

    snapshot = state.snapshot()
    brake = snapshot.signal("BCMGeneralPlatformStatus.ParkBrakeSwActive")
    shown = LiveAnswerer().show(brake, build_catalogue(state.db).entry("BCMGeneralPlatformStatus.ParkBrakeSwActive"),
                                LiveClock.of(snapshot))
    assert shown.value == "on (1)" and shown.status_key != "stale"


def test_health_on_a_healthy_real_car_says_what_was_checked(shared_data, tmp_path):
    """With the packaged embedding model (the kind of question is read from its similarity to a few descriptions)."""
    settings = load_settings(None, {"data_dir": tmp_path / "data"})
    with Assistant(settings, live=_replayed(shared_data, CAMARO)) as assistant:
        answer = assistant.ask("Any problems with the car right now?")
    assert answer.live_kind == "health" and not answer.abstained
    assert answer.answer.startswith("Nothing wrong found: no trouble codes, no lamps on,")
    assert "Checked:" in answer.answer and "read from the bus for" in answer.answer


def test_housekeeping_signals_are_never_shown(shared_data, assistant):
    assistant.live = _replayed(shared_data, CAMARO)
    for question in ("is anything wrong?", "what's the rolling counter?", "steering wheel angle right now?"):
        answer = assistant.ask(question)
        shown = {s.name for s in answer.signals}
        assert not shown & {"RollingCounter", "Counter1", "PSCMStatusChecksum"}
        assert "RollingCounter" not in answer.answer


def test_a_silent_bus_makes_every_reading_stale_with_its_reason(shared_data):
    state = _replayed(shared_data, CAMARO)
    state.set_bus(state="reconnecting")
    catalogue = build_catalogue(state.db)
    live = LiveAnswerer().answer("what's the coolant temp?", state.snapshot(), catalogue)
    assert live is not None and live.shown[0].status_key == "stale"
    assert "the bus is reconnecting" in live.text


def test_a_document_question_is_left_to_the_documents(shared_data):
    state = _replayed(shared_data, AUDI)
    catalogue = build_catalogue(state.db)
    answerer = LiveAnswerer()
    assert answerer.answer("what does P0301 mean?", state.snapshot(), catalogue) is None
    assert answerer.answer("What's the coolant temperature?", state.snapshot(), catalogue).kind == "reading"


def test_eval_live_scores_the_right_signal_value_and_refusal(shared_data, tmp_path):
    from rag_car.answer.evaluate_live import LiveItem, evaluate_live, format_live_report

    settings = load_settings(None, {"data_dir": tmp_path / "data", "embedding": {"model": "hash"}})
    items = [
        LiveItem("a", "What's the coolant temp?", "reading", CAMARO[0], CAMARO[1],
                 ("ECMEngineCoolantTemp.EngineCoolantTemp",), {"ECMEngineCoolantTemp.EngineCoolantTemp": 40.0}),
        LiveItem("b", "What's the coolant temp?", "reading", CAMARO[0], CAMARO[1],
                 ("ECMEngineStatus.EngineRPM",), {"ECMEngineStatus.EngineRPM": 0.0}),  # the wrong signal on purpose
    ]
    report = evaluate_live(settings, items, shared_data)
    first, second = report.results
    assert first.passed and first.signal_ok and first.value_ok and not first.refused
    assert not second.passed and not second.signal_ok
    assert report.rate() == 0.5 and "MISS b" in format_live_report(report)


def test_a_log_of_another_car_than_the_profiles_is_named_and_none_of_its_facts_applied(shared_data, tmp_path):
    """The Corrin's profile picked (its DBC), but the log is the Kona's: almost nothing decodes. A health question
    says so and what to do; no reading is offered; nothing of the Corrin (its ranges, its lamps) is claimed."""
    from rag_car.settings import BUNDLED_DBC_DIR, BUNDLED_KNOWLEDGE
    from rag_car.vehicle.profile import BUNDLED_NAME, load_profile

    corrin = load_profile(BUNDLED_KNOWLEDGE / "facts.toml", name=BUNDLED_NAME, bundled=True)
    state = LiveState(str(BUNDLED_DBC_DIR / "aldmoor_corrin.dbc"), profile=corrin, profile_how="picked")
    with open_log(shared_data / "eldominio-canbuslogs/kona/turnonlog.log") as reading:
        for message in reading:
            state.on_frame(message, received_at=message.timestamp)
    state.set_bus(spec="replay:turnonlog.log", state="ended")
    snapshot = state.snapshot()
    counters = snapshot.counters
    # the Kona's 7-byte 0x366 frames meet an 8-byte message of the Corrin's: read in part, never as a fit
    assert counters["frames"] > 1000 and counters["decoded"] - counters["truncated"] < 0.05 * counters["frames"]
    catalogue = build_catalogue(state.db)
    answerer = LiveAnswerer()
    health = answerer.answer("is anything wrong with my car?", snapshot, catalogue)
    assert health is not None and health.kind == "health"
    assert "another car's than the DBC's" in health.text and "rag-car vehicle add" in health.text
    assert "Nothing wrong found" not in health.text and "normal range" not in health.text.replace("no reading outside its normal range", "")
    # frames of the right car decode: no such sentence
    kona = _replayed(shared_data, ("eldominio-canbuslogs/kona/turnonlog.log", "opendbc/hyundai_can.dbc"))
    assert "another car's" not in answerer.answer("is anything wrong?", kona.snapshot(), build_catalogue(kona.db)).text
    # the assistant sets the picked profile aside on such a bus: no Corrin fact reaches any answer
    settings = load_settings(None, {"data_dir": tmp_path / "data", "embedding": {"model": "hash"}})
    with Assistant(settings) as assistant:
        resolution = assistant.profile_for(snapshot)
    assert resolution.profile is None and "another car's" in resolution.notes[0]


def test_a_bus_that_went_silent_mid_drive_says_how_old_its_readings_are(shared_data):
    """Frames stopped 30 s ago on a bus still 'connected' (no replay end): the reading is shown, stale, with its age;
    a health question names the quiet messages."""
    import time

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = LiveState([shared_data / CAMARO[1]])
    with open_log(shared_data / CAMARO[0]) as reading:
        frames = list(reading)
    last = frames[-1].timestamp
    silent_since = time.time() - 30.0
    for message in frames:
        state.on_frame(message, received_at=silent_since - (last - message.timestamp))
    state.set_bus(spec="socketcan:can0", state="connected")
    snapshot = state.snapshot()
    catalogue = build_catalogue(state.db)
    live = LiveAnswerer().answer("what's the coolant temp?", snapshot, catalogue)
    assert live is not None and live.kind == "reading" and live.shown[0].status_key == "stale"
    assert "stale: no new value for 3" in live.text  # 30 s, give or take the test's own run time
    health = LiveAnswerer().answer("is anything wrong with my car?", snapshot, catalogue)
    assert health.kind == "health" and "stale" in health.text and "Nothing wrong found" not in health.text


KONA = ("eldominio-canbuslogs/kona/turnonlog.log", "opendbc/hyundai_can.dbc")


@pytest.mark.parametrize("pair,question,first", [
    (KONA, "am I in park?", {"CLU15.CF_Clu_Gear", "LVR12.CF_Lvr_Gear"}),  # the value table: P = park
    (KONA, "how fast is the car going?", {"CLU15.CF_Clu_VehicleSpeed", "EMS_366.VS"}),  # the vehicle's speed, not one wheel's
    # the driver's: its buckle switch, or the indicator the cluster shows for it
    (KONA, "is my seat belt fastened?", {"CGW1.CF_Gway_DrvSeatBeltSw", "CGW2.CF_Gway_DrvSeatBeltInd",
                                         "CGW4.CF_Gway_DrvSeatBeltInd"}),
    (CAMARO, "is my seat belt fastened?", {"BCMDoorBeltStatus.LeftSeatBelt"}),  # left-hand drive
    (CAMARO, "is the driver's door open?", {"BCMDoorBeltStatus.FrontLeftDoor"}),
    (CAMARO, "is the passenger seat belt on?", {"BCMDoorBeltStatus.RightSeatBelt"}),
])
def test_yes_no_questions_value_tables_and_seats_by_terms_alone(shared_data, pair, question, first):
    """Without the embedding model, by the catalogue's evidence alone: the reading asked about leads."""
    state = _replayed(shared_data, pair)
    live = LiveAnswerer().answer(question, state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "reading" and live.shown[0].key in first, (live and live.text)


def test_a_document_question_naming_a_live_signal_gets_the_reading_when_the_documents_have_nothing(shared_data,
                                                                                                     assistant):
    """Nothing is indexed: the documents cannot answer "how do I replace the coolant?"; the answer says so, then what
    the bus reads now about what the question names."""
    question = "how do I replace the coolant?"
    state = _replayed(shared_data, AUDI)
    live = LiveAnswerer().answer(question, state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.defer  # the documents go first
    assistant.live = state
    answer = assistant.ask(question)
    assert answer.answer.startswith("No document answers this question; what the bus reads now:")
    assert answer.signals and "Kuehlmittel" in answer.signals[0].name
    # the Audi's DBC is the bus's, not the bundled car's: no profile applies (none was the Corrin's before)
    assert "profile" not in answer.vehicle


FORTE = ("eldominio-canbuslogs/forte/turnonwithgague.log", "eldominio-canbuslogs/forte/hyundai_kia_generic.dbc")


@pytest.mark.parametrize("pair,question,first,verdict", [
    # the engine's state from its speed, not from a status code (Forte: EMS16.ENG_STAT; Camaro: the power mode)
    (FORTE, "is the engine running?", "EMS11.N", "Yes: the engine is running (engine speed rpm 1150 rpm)"),
    (CAMARO, "is the engine running?", "ECMEngineStatus.EngineRPM", "No: the engine is not running"),
    # moving or stopped from the vehicle's speed
    (FORTE, "is the car stopped?", "EMS11.VS", "Yes: the vehicle is stopped (vehicle speed 0 km/h)"),
    (CAMARO, "are we moving?", "ECMVehicleSpeed.VehicleSpeed", "No: the vehicle is not moving"),
    # broken English: a yes/no without its verb in front
    (FORTE, "is engine run?", "EMS11.N", "Yes: the engine is running"),
    (FORTE, "the car is moving or no?", "EMS11.VS", "No: the vehicle is not moving"),
    # warmed up from the coolant: no profile here, so a general figure, named as one
    (CAMARO, "has the engine warmed up?", "ECMEngineCoolantTemp.EngineCoolantTemp",
     "No: the engine is not warmed up (engine coolant temperature 40 C, below about 80 degC"),
])
def test_a_state_question_is_decided_from_the_physical_reading_and_cites_it(shared_data, pair, question, first,
                                                                              verdict):
    state = _replayed(shared_data, pair)
    live = LiveAnswerer().answer(question, state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "reading" and live.shown[0].key == first, (live and live.text)
    assert live.text.startswith(verdict), live.text
    assert f"(signal {first}," in live.text
    if "general figure" in live.text:
        assert "no normal range is known for this car" in live.text


def test_warmed_up_is_judged_against_the_profiles_normal_range_when_there_is_one(shared_data):
    """The vehicle's own normal range (here the user's, by Message.Signal) decides, not the general figure."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        state = LiveState([shared_data / CAMARO[1]],
                          normal_ranges={"ECMEngineCoolantTemp.EngineCoolantTemp": (35.0, 105.0)})
    with open_log(shared_data / CAMARO[0]) as reading:
        for message in reading:
            state.on_frame(message, received_at=message.timestamp)
    state.set_bus(spec=f"replay:{CAMARO[0]}", state="ended")
    live = LiveAnswerer().answer("has the engine warmed up?", state.snapshot(), build_catalogue(state.db))
    assert live.text.startswith("Yes: the engine is warmed up (engine coolant temperature 40 C, at or above the low "
                                "end of its normal range, 35)"), live.text
    assert "general figure" not in live.text


@pytest.mark.parametrize("pair,question,first", [
    (CAMARO, "am I buckled in?", {"BCMDoorBeltStatus.LeftSeatBelt"}),  # a yes/no about one thing: a reading
    (FORTE, "am I buckled in?", {"ACU11.CF_DriBkl_Stat"}),  # the buckle, not its fault status (CF_DriBkl_FltStat)
    (CAMARO, "how far is the steering wheel turned?", {"PSCMSteeringAngle.SteeringWheelAngle"}),  # not the rate
    (CAMARO, "how high are the revs?", {"ECMEngineStatus.EngineRPM"}),
    (AUDI, "is the charge warning lamp on?", {"Kombi_1.Ladekontroll_Lampe__Kombi_"}),  # not the DDS lamp
    (KONA, "is the low beam on right now?", {"CGW1.CF_Gway_HeadLampLow"}),  # not a bulb's open-circuit report
    (KONA, "is the tire pressure light on?", {"TPMS11.TPMS_W_LAMP"}),  # a lamp asked: not a tire's pressure
    # a yes/no "pressed": the pedal's switch, not how far it travelled
    (CAMARO, "is the brake pedal being pressed?", {"EBCMVehicleDynamic.BrakePedalPressed",
                                                   "EBCMBrakePedalPosition.BrakePressed", "ECMEngineStatus.BrakePressed"}),
    # a quantity asked of one thing is not answered by another's: the engine's temperature is its coolant's (SAE
    # J1979 ECT), not its oil's; the Kona's coolant temperature is TEMP_ENG, not a yaw-rate sensor's temperature
    (AUDI, "what's the engine temperature?", {"Kombi_2.Kuehlmitteltemp__4_1__Kombi_2_"}),
    (KONA, "what's the coolant temperature?", {"EMS12.TEMP_ENG"}),
])
def test_the_thing_asked_leads_not_a_look_alike(shared_data, pair, question, first):
    state = _replayed(shared_data, pair)
    live = LiveAnswerer().answer(question, state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "reading" and live.shown[0].key in first, (live and live.text)


def test_advice_that_names_a_state_word_gets_no_verdict(shared_data):
    """"Should I stop driving?" asks what to do, not whether the car is moving: no yes/no from the speed."""
    state = _replayed(shared_data, CAMARO)
    live = LiveAnswerer().answer("My engine is overheating, should I stop driving?", state.snapshot(),
                                 build_catalogue(state.db))
    assert live is None or not live.text.startswith(("Yes:", "No:")), live.text


TRUCK = ("css-electronics/j1939_truck_00000001.MF4", "css-electronics/CSS-Electronics-SAE-J1939-DEMO.dbc")


@pytest.mark.parametrize("pair,question,not_shown", [
    # the truck's bus sends only an engine speed and a wheel-based speed: neither is a temperature or a fuel level
    (TRUCK, "how hot is the coolant?", {"EEC1.EngineSpeed", "CCVS1.WheelBasedVehicleSpeed"}),
    (TRUCK, "whats the fuel level", {"EEC1.EngineSpeed", "CCVS1.WheelBasedVehicleSpeed"}),
    # the Camaro's bus sends no fuel level: "left" is what remains, not the left wheel's speed
    (CAMARO, "how much fuel is left?", {"ECMVehicleSpeed.VehicleSpeedLeft", "ECMVehicleSpeed.VehicleSpeed"}),
])
def test_a_signal_of_another_quantity_than_the_one_asked_does_not_answer_it(shared_data, pair, question, not_shown):
    state = _replayed(shared_data, pair)
    live = LiveAnswerer().answer(question, state.snapshot(), build_catalogue(state.db))
    assert live is None or live.kind != "reading" or not {s.key for s in live.shown} & not_shown, live.text


def test_a_selector_value_off_its_table_goes_after_one_reporting_a_state(shared_data):
    """Camaro: PRNDL reads P; PRNDL2 reads 15, none of its states: the one reporting a gear leads."""
    state = _replayed(shared_data, CAMARO)
    live = LiveAnswerer().answer("what gear is it in?", state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "reading" and live.shown[0].key == "ECMPRDNL.PRNDL", live.text
    assert live.shown[0].value.startswith("P")


def test_why_is_a_light_on_gets_the_health_check_with_the_lamp_first(shared_data):
    state = _replayed(shared_data, FORTE)
    live = LiveAnswerer().answer("why is the engine light on?", state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "health", live and live.text
    assert live.shown[0].key == "EMS14.L_MIL" and "Checked:" in live.text


def test_parked_is_decided_from_the_vehicle_speed(shared_data):
    state = _replayed(shared_data, TRUCK)
    live = LiveAnswerer().answer("is the truck parked?", state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "reading", live and live.text
    assert live.text.startswith("Yes: the vehicle is stopped (wheel based vehicle speed 0 km/h)"), live.text


@pytest.mark.parametrize("pair,question,first", [
    (CAMARO, "what is the steering wheel angle", "PSCMSteeringAngle.SteeringWheelAngle"),
    (AUDI, "what is the fuel level?", "Kombi_1.Tankinhalt"),
])
def test_what_is_the_signals_name_asks_its_value_now(shared_data, tmp_path, pair, question, first):
    """With the embedding model, "what is the X" reads much like "what is the X for" (the documents'); a question
    that is nothing but a live signal's name after "what is the" asks its value: the reading answers."""
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    with Assistant(settings) as assistant:
        assistant.live = _replayed(shared_data, pair)
        live = assistant.live_answerer.answer(question, assistant.live.snapshot(), assistant._catalogue())
    assert live is not None and live.kind == "reading" and not live.defer, live and live.intent_scores
    assert live.shown[0].key == first, live.text


@pytest.mark.parametrize("pair,question", [
    (AUDI, "trouble codes?"),  # the frame is nothing but the signal's words: the whole question decides
    (AUDI, "is the engine light on and why?"),  # a cause asked, not at the front
])
def test_a_bare_or_why_health_question_gets_the_health_check(shared_data, tmp_path, pair, question):
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    with Assistant(settings) as assistant:
        assistant.live = _replayed(shared_data, pair)
        live = assistant.live_answerer.answer(question, assistant.live.snapshot(), assistant._catalogue())
    assert live is not None and live.kind == "health" and "Checked:" in live.text, live and live.intent_scores


YARIS = ("eldominio-canbuslogs/yaris_09/accellog.log", "opendbc/toyota_iQ_2009_can.dbc")
AUDI_MK4 = ("eldominio-canbuslogs/audi_a2/noecu.trc", "eldominio-canbuslogs/audi_a2/vw_golf_mk4.dbc")


@pytest.mark.parametrize("pair,question,first", [
    # the Yaris sends its engine speed in 3-byte frames where the DBC says 8: read from the bytes that came
    (YARIS, "what rpm is the engine at?", {"LOW_RES_INDICATORS.LOW_RES_RPM"}),
    (CAMARO, "speed in mph?", {"ECMVehicleSpeed.VehicleSpeed"}),  # the unit named: the speed read in mph
    (CAMARO, "is the emergency brake on?", {"BCMGeneralPlatformStatus.ParkBrakeSwActive"}),  # US for parking brake
    (CAMARO, "how far down is the gas pedal?", {"AcceleratorPedal.AcceleratorPedal", "ECMEngineStatus.EngineTPS"}),
    (AUDI_MK4, "what does the odometer say in km?", {"Kombi_3.Kilometerstand"}),
    # a steering wheel's angular rate (Grad/Sek) is no vehicle speed
    (AUDI_MK4, "are we stationary?", {"Kombi_1.Geschwindigkeit__Kombi_1_", "Kombi_1.Angezeigte_Geschwindigkeit",
                                      "Bremse_1.Geschwindigkeit_neu__Bremse_1_"}),
])
def test_units_idioms_and_short_frames_find_the_signal(shared_data, pair, question, first):
    state = _replayed(shared_data, pair)
    live = LiveAnswerer().answer(question, state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.shown and live.shown[0].key in first, (live and live.text)


def test_a_comment_that_does_not_name_the_signal_is_not_its_label(shared_data):
    """The Camaro DBC's comment on VehicleSpeed is a writer's note ("Spinouts show here on 2wd"): the reading is
    labelled by what its name means."""
    state = _replayed(shared_data, CAMARO)
    live = LiveAnswerer().answer("how fast am I going?", state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.shown[0].key == "ECMVehicleSpeed.VehicleSpeed"
    assert live.shown[0].label == "Vehicle speed" and "Spinouts" not in live.text


def test_a_quantity_the_bus_does_not_send_is_said_first_then_the_documents(shared_data, tmp_path):
    """The Yaris's bus sends no temperature at all: the answer says so before anything else, and shows no reading
    of another quantity."""
    state = _replayed(shared_data, YARIS)
    live = LiveAnswerer().answer("how hot is the coolant right now?", state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "absent" and live.defer and not live.shown
    assert live.text.startswith("This bus sends no coolant temperature reading")
    settings = load_settings(None, {"data_dir": tmp_path / "data", "embedding": {"model": "hash"}})
    with Assistant(settings, live=state) as assistant:
        answer = assistant.ask("how hot is the coolant right now?")
    assert answer.answer.startswith("This bus sends no coolant temperature reading") and answer.live_kind == "absent"
    assert not answer.signals


def test_an_outside_temperature_on_a_bus_that_sends_only_the_engines_is_absent(shared_data):
    """The Forte's bus sends engine and fuel temperatures, no outside one: said so, no engine temperature shown."""
    state = _replayed(shared_data, FORTE)
    live = LiveAnswerer().answer("what's the outside temperature?", state.snapshot(), build_catalogue(state.db))
    assert live is not None and live.kind == "absent" and not live.shown
    assert live.text.startswith("This bus sends no outside temperature reading"), live.text
