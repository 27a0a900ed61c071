"""Scenario files (bundled and a user's own), their errors with file and line, their agreement with the bundled
knowledge, and the physics of the simulated vehicle (without a bus: SimulatedVehicle stepped by hand)."""

from __future__ import annotations

import statistics
import textwrap
import tomllib

import pytest

from rag_car.vehicle.simulator.physics import FINAL_DRIVE, GEAR_RATIOS, TIRE_CIRCUMFERENCE_M
from rag_car.vehicle.simulator.runtime import build_vehicle
from rag_car.vehicle.simulator.scenario import ScenarioError, bundled_scenarios, load_scenario, resolve_scenario
from sim_helpers import CORRIN, DBC, FACTS

ISSUE_SCENARIOS = ("normal", "overheating", "misfire", "low_tire", "charging", "catalyst")


def _vehicle(scenario, **options):
    return build_vehicle(scenario, dbc=DBC, vehicle=FACTS, **options)


def _run(vehicle, seconds: float, dt: float = 0.05, every: float = 1.0):
    """Step the vehicle; return its values sampled every ``every`` seconds of scenario time."""
    samples = []
    steps = int(seconds / dt)
    sample_every = max(1, int(every / dt))
    for n in range(steps):
        vehicle.advance(dt)
        if n % sample_every == 0:
            samples.append(dict(vehicle.values))
    return samples


def test_simulator_scenario_bundled_files_are_all_there():
    assert set(ISSUE_SCENARIOS) <= set(bundled_scenarios())
    for name, path in bundled_scenarios().items():
        scenario = load_scenario(path)
        assert scenario.name == name and scenario.summary, name


@pytest.mark.parametrize("name", ISSUE_SCENARIOS)
def test_simulator_scenario_agrees_with_the_knowledge(name):
    """After a simulated 90 s each scenario shows what facts.toml [[scenario]] says: its DTCs, lamps, typical values."""
    facts = CORRIN
    expected = {t["name"]: t for t in tomllib.loads(FACTS.read_text(encoding="utf-8"))["scenario"]}[name]
    vehicle = _vehicle(name)
    recent = _run(vehicle, 90.0, every=0.05)[-600:]  # the last 30 s
    assert sorted(vehicle.dtcs) == sorted(expected["dtcs"])
    assert vehicle.lamps == expected["lamps"]
    driven = {e.signal for e in vehicle.scenario.effects}
    ranges = facts.normal_ranges()
    for signal, typical in expected["signals"].items():
        value = statistics.median(s[signal] for s in recent)  # rough or switching signals: their middle
        if signal in driven or signal not in ranges:
            # what the fault does (or a flag the vehicle sets): close to the value the documents give
            assert value == pytest.approx(typical, rel=0.12, abs=3.0 if abs(typical) > 50 else 0.3), f"{name}: {signal} = {value}"
        else:
            # a healthy signal: inside the documented normal range (the documents' typical value is for idle)
            low, high = ranges[signal]
            assert low <= value <= high, f"{name}: {signal} = {value}, normal {low}-{high}"
    for code in expected["dtcs"]:
        assert facts.dtcs[code].lamp in vehicle.lamps, f"{code}'s lamp per the DTC reference"


def test_simulator_scenario_unknown_name_lists_them():
    with pytest.raises(ScenarioError) as caught:
        resolve_scenario("overheat")
    assert caught.value.message == "unknown scenario 'overheat'"
    assert "did you mean overheating?" in caught.value.fix
    for name in ISSUE_SCENARIOS:
        assert name in caught.value.fix


@pytest.mark.parametrize("body,line,what", [
    ('name = "x"\n[[ramp]\nsignal = "a"\n', 2, "not valid TOML"),
    ('name = "x"\nspeed_profile = "motorway"\n', 2, "speed_profile 'motorway' is not one of city, highway, idle"),
    ('name = "x"\n\n[[ramp]]\nsignal = "ECM_EngineTemps.CoolantTemp"\nto = 120\noverr_s = 5\n', 6, "unknown key 'overr_s' in [[ramp]]"),
    ('[[ramp]]\nsignal = "ECM_EngineTemps.CoolantTemp"\n', 1, "[[ramp]] needs to = <value>"),
    ('[[set]]\nsignal = "ECM_EngineTemps.CoolantTemp"\nvalue = "hot"\n', 3, "value must be a number, got 'hot'"),
    ('[[dtc]]\ncode = "P9217"\n', 2, "code 'P9217' is not a DTC"),
    ('[[dtc]]\ncode = "P0217"\nwhen = "CoolantTemp is hot"\n', 3, "is not a condition like"),
    ('[[lamp]]\nkey = "tpms"\nstate = "blinking"\n', 3, "state 'blinking' is not 'on', 'flashing' or 'off'"),
    ('[start]\ncoolant = 20\n', 2, "unknown start quantity 'coolant'"),
    ('[obd]\nrefuse = { "0A" = "pleaseNo" }\n', 2, "NRC 'pleaseNo' is neither"),
])
def test_simulator_scenario_malformed_file_names_file_and_line(tmp_path, body, line, what):
    path = tmp_path / "mine.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(str(path))
    assert caught.value.message.startswith(f"scenario file {path}, line {line}"), caught.value.message
    assert what in caught.value.message
    assert "docs/simulator.md" in caught.value.fix


@pytest.mark.parametrize("body,line,what", [
    ('\n[[ramp]]\nsignal = "ECM_EngineTemps.CoolantTmp"\nto = 120\n', 2,
     "signal 'ECM_EngineTemps.CoolantTmp' is not in the DBC's messages (did you mean ECM_EngineTemps.CoolantTemp"),
    ('[[set]]\nsignal = "AliveCounter"\nvalue = 1\n', 1, "signal 'AliveCounter' is in several messages"),
    ('[[lamp]]\nkey = "tpm"\n', 1, "lamp key 'tpm' is not a [[lamp]] of facts.toml (did you mean tpms"),
    ('[[dtc]]\ncode = "P0700"\necu = "XYZ"\n', 1, "ecu 'XYZ' is not simulated"),
    ('[[dtc]]\ncode = "P0217"\nwhen = "CoolantTempp > 115"\n', 1, "signal 'CoolantTempp' is not in the DBC"),
])
def test_simulator_scenario_names_checked_against_dbc_and_facts(tmp_path, body, line, what):
    path = tmp_path / "mine.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        _vehicle(path)
    assert caught.value.message.startswith(f"scenario file {path}, line {line}"), caught.value.message
    assert what in caught.value.message


def test_simulator_scenario_users_own_fault(tmp_path):
    """A user's file: a short signal name, a condition with hold_s, a pending-then-confirmed DTC, an NRC refusal."""
    path = tmp_path / "oil.toml"
    path.write_text(textwrap.dedent('''
        summary = "Oil pump wearing out"
        speed_profile = "idle"
        [[ramp]]
        signal = "OilPressure"
        to = 40
        over_s = 20
        [[dtc]]
        code = "P0524"
        status = "pending"
        when = "ECM_Lubrication.OilPressure < 60"
        [[dtc]]
        code = "P0524"
        mil = true
        when = "ECM_Lubrication.OilPressure < 60"
        hold_s = 5
        [obd]
        refuse = { "04" = "conditionsNotCorrect", "0A" = 0x11 }
    '''), encoding="utf-8")
    vehicle = _vehicle(str(path))
    assert vehicle.scenario.refuse == {0x04: 0x22, 0x0A: 0x11}
    _run(vehicle, 19.0)
    assert vehicle.dtcs["P0524"].status == "pending" and not vehicle.mil_on
    _run(vehicle, 10.0)
    assert vehicle.dtcs["P0524"].status == "confirmed" and vehicle.mil_on
    # the vehicle itself reacts: oil pressure switch closes below 49 kPa, its lamp comes on, MIL from the DTC
    assert vehicle.values["ECM_Lubrication.OilPressureSwitch"] == 1
    assert vehicle.lamps == {"oil_pressure": "on", "check_engine": "on"}
    view = vehicle.ecu_view("ECM")
    assert view.stored == ("P0524",) and view.permanent == ("P0524",) and view.mil_on


def test_simulator_physics_engine_speed_follows_speed_and_gear():
    vehicle = _vehicle("normal", profile="highway")
    samples = _run(vehicle, 240.0)
    locked = [s for s in samples if s["TCM_TransmissionData.TorqueConverterClutch"] == 2]
    assert len(locked) > 50
    for s in locked:
        gear = int(s["TCM_TransmissionData.GearActual"])
        wheel_rpm = s["ABS_VehicleDynamics.VehicleSpeed"] / 3.6 / TIRE_CIRCUMFERENCE_M * 60
        expected = wheel_rpm * GEAR_RATIOS[gear - 1] * FINAL_DRIVE
        assert s["ECM_EngineData.EngineSpeed"] == pytest.approx(expected, rel=0.08)
    cruising = [s for s in samples[60:]]
    assert statistics.mean(s["ABS_VehicleDynamics.VehicleSpeed"] for s in cruising) > 85
    assert max(s["TCM_TransmissionData.GearActual"] for s in samples) == 6


def test_simulator_physics_smooth_city_drive_with_stops():
    vehicle = _vehicle("normal", profile="city")
    samples = _run(vehicle, 300.0, dt=0.05, every=0.05)
    speeds = [s["ABS_VehicleDynamics.VehicleSpeed"] for s in samples]
    assert min(speeds[200:]) == 0.0 and max(speeds) > 28  # stops at lights and 30-60 km/h between
    steps = [abs(b - a) for a, b in zip(speeds, speeds[1:])]
    assert max(steps) < 0.6  # km/h per 50 ms: at most ~3.3 m/s2, no jumps
    idle = [s["ECM_EngineData.EngineSpeed"] for s in samples if s["ABS_VehicleDynamics.VehicleSpeed"] == 0.0]
    assert 640 < statistics.mean(idle) < 760
    gears = {s["TCM_TransmissionData.GearActual"] for s in samples}
    assert {1.0, 2.0, 3.0} <= gears


def test_simulator_physics_wheel_speeds_agree_and_low_tire_spins_faster():
    normal = _run(_vehicle("normal", profile="highway"), 120.0)[-40:]
    for s in normal:
        v = s["ABS_VehicleDynamics.VehicleSpeed"]
        for wheel in ("FL", "FR", "RL", "RR"):
            assert s[f"ABS_WheelSpeeds.WheelSpeed{wheel}"] == pytest.approx(v, rel=0.01, abs=0.2)
    flat = _run(_vehicle("low_tire"), 90.0)[-10:]
    ratio = statistics.mean(s["ABS_WheelSpeeds.WheelSpeedFL"] / s["ABS_WheelSpeeds.WheelSpeedFR"] for s in flat)
    assert 1.008 < ratio < 1.03  # the smaller rolling radius of a 150 kPa tire


def test_simulator_physics_cold_start_warms_and_fuel_falls_slowly():
    vehicle = _vehicle("cold_start")
    samples = _run(vehicle, 900.0, dt=0.2, every=10.0)
    coolant = [s["ECM_EngineTemps.CoolantTemp"] for s in samples]
    assert coolant[0] < 15 and coolant[-1] > 85
    warm = next(i for i, c in enumerate(coolant) if c > 85)
    assert 120 < warm * 10 < 600  # warm in 2-10 minutes of town driving
    assert all(b >= a - 0.5 for a, b in zip(coolant[:warm], coolant[1:warm]))  # rises steadily
    assert all(85 < c < 100 for c in coolant[warm:])  # then the thermostat holds it
    first_idle = [s["ECM_EngineData.EngineSpeed"] for s in samples[:3] if s["ABS_VehicleDynamics.VehicleSpeed"] == 0]
    fuel = [s["IPC_VehicleInfo.FuelLevel"] for s in samples]
    assert all(b <= a for a, b in zip(fuel, fuel[1:]))
    assert 0.3 < fuel[0] - fuel[-1] < 4.0  # 15 min of town driving: about a litre of a 50 L tank
    if first_idle:
        assert statistics.mean(first_idle) > 900  # fast idle while cold


@pytest.mark.parametrize("name", sorted(set(bundled_scenarios()) - {"catalyst"}))
def test_simulator_physics_downstream_o2_holds_its_band_unless_the_catalyst_is_worn(name):
    """A good catalyst keeps ECM_FuelTrim.O2SensorVoltageB1S2 in 0.6-0.8 V (service/specifications.md) at every step:
    warm or cold start, idle, city stops with deceleration fuel cut, highway; only a worn catalyst lets it switch."""
    low, high = CORRIN.normal_ranges()["ECM_FuelTrim.O2SensorVoltageB1S2"]
    assert (low, high) == (0.6, 0.8)
    vehicle = _vehicle(name)
    values = [s["ECM_FuelTrim.O2SensorVoltageB1S2"] for s in _run(vehicle, 400.0, dt=0.1, every=0.1)]
    assert low <= min(values) and max(values) <= high, (name, min(values), max(values))
    assert 0.01 < statistics.pstdev(values) < 0.05  # steady, with a little noise, not a flat line


def test_simulator_physics_worn_catalyst_switches_its_downstream_o2():
    low, high = CORRIN.normal_ranges()["ECM_FuelTrim.O2SensorVoltageB1S2"]
    values = [s["ECM_FuelTrim.O2SensorVoltageB1S2"] for s in _run(_vehicle("catalyst"), 60.0, dt=0.05, every=0.05)]
    below = sum(v < low for v in values) / len(values)
    above = sum(v > high for v in values) / len(values)
    assert below > 0.2 and above > 0.2 and min(values) < 0.2 and max(values) > 0.85
    # switching: many crossings of the middle, as the upstream sensor does (a good catalyst: < 1 per 10 s)
    crossings = sum(1 for a, b in zip(values, values[1:]) if (a - 0.5) * (b - 0.5) < 0)
    assert crossings >= 60 / 1.3
