"""Vehicle profiles: the loader and its errors, VIN-pattern overlap, which profile is in force, real VINs, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_car.errors import ProfileError
from rag_car.settings import BUNDLED_DBC_DIR, BUNDLED_KNOWLEDGE
from rag_car.vehicle.diagnostics.j1939 import VEHICLE_ID_PGN, bam_frames
from rag_car.vehicle.diagnostics.session import DiagnosticsSession
from rag_car.vehicle.diagnostics.vin import decode_vin
from rag_car.vehicle.live import LiveState
from rag_car.vehicle.profile import BUNDLED_NAME, Garage, compile_pattern, load_garage, load_profile, vin_overlap
from rag_car.vehicle.profile.patterns import overlap

CORRIN_DBC = BUNDLED_DBC_DIR / "aldmoor_corrin.dbc"
CORRIN_VIN = "0AMCG5A23KA100001"
KONA_VIN = "KM8K281EGKU000001"  # a Hyundai WMI (Korea): the Kona of the tests below


def write_profile(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


def kona_toml(dbc: Path, pattern: str = "^KM[8H][A-Z0-9]{14}$") -> str:
    return (f'[vehicle]\nmake = "Hyundai"\nmodel = "Kona"\nyears = [2018, 2023]\nvin_pattern = "{pattern}"\n'
            f'dbc = ["{dbc}"]\n\n[[signal_range]]\nmessage = "EMS12"\nsignal = "TEMP_ENG"\nlow = 70\nhigh = 110\n'
            'unit = "deg"\n')


@pytest.fixture(scope="module")
def corrin():
    return load_profile(BUNDLED_KNOWLEDGE / "facts.toml", name=BUNDLED_NAME, bundled=True)


def test_the_bundled_vehicle_is_one_profile(corrin):
    assert corrin.label() == "Aldmoor Corrin 2019-2024" and corrin.dbc == (CORRIN_DBC.resolve(),)
    assert len(corrin.ranges) == 18 and len(corrin.lamps) == 18 and len(corrin.dtcs) == 96 and len(corrin.bulletins) == 15
    rng = corrin.range_for("ECM_EngineTemps.CoolantTemp")
    assert (rng.low, rng.high, rng.unit, rng.status(118.0)) == (85.0, 105.0, "degC", "high")
    assert corrin.range_for("CoolantTemp") is None  # never by a bare signal name
    assert corrin.stop_code("P0217") is not None and corrin.stop_code("P0420") is None  # the coolant lamp means stop
    assert corrin.ecu_names()[0x7E8] == "ECM" and corrin.describe_dtc("P0217")
    assert corrin.doc_path("bulletins/ASB-23-009.docx").endswith("knowledge/bulletins/ASB-23-009.docx")


def test_bulletins_attach_by_the_vehicles_own_vin_order_never_to_another_vin(corrin):
    # ASB-23-009 covers 0AMCG5A23KA100001 .. 0AMCG5A2XNA168400 and supersedes ASB-19-004
    assert [b.number for b in corrin.bulletins_for("P0217", 2019, CORRIN_VIN)] == ["ASB-23-009"]
    assert corrin.bulletins_for("P0217", 2023, "0AMCG5A24PT500001") == []  # a 2023 car is past its years
    # a Kona whose serial falls inside the Corrin range: the serial alone used to attach it
    assert corrin.bulletins_for("P0217", 2019, "KM8K281EGKU100001") == []


@pytest.mark.parametrize("body,what", [
    ('[vehicle]\ndbc = "missing.dbc"\n', "names DBC file"),
    ("[vehicle\n", "not valid TOML"),
    ('[vehicle]\nvin_pattern = "^KM8(["\n', "not a regular expression"),
    ('[vehicle]\nyears = [2024, 2019]\n', "not [FIRST, LAST]"),
    ('[[lamp]]\nkey = "oil"\n', "has no message"),
    ('[[dtc]]\ncode = "oil"\n', "write a code like P0217"),
    ('[vehicle]\nwmi = "KM"\n', "not a 3-character WMI"),
])
def test_bad_profiles_are_one_clear_error_each(tmp_path, body, what):
    path = write_profile(tmp_path, "bad", body)
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert what in str(caught.value) and str(path) in caught.value.message and caught.value.fix


def test_vin_patterns_overlap_position_by_position():
    corrin = compile_pattern("^0AMC[GH]5A[28][0-9X][KLMNPR][AT][0-9]{6}$")
    assert overlap(corrin, compile_pattern("^0AMC.{13}$")) is not None
    assert corrin.matches(overlap(corrin, compile_pattern("^0AMC.{13}$")))
    assert overlap(corrin, compile_pattern("^0AMC[JK].{12}$")) is None  # position 5 differs
    assert overlap(corrin, compile_pattern("^KM8.{14}$")) is None
    # not positional (alternation): only sample VINs can show an overlap
    alternation = compile_pattern("^(0AMC|KM8K).*$")
    assert alternation.positions is None and overlap(corrin, alternation, (CORRIN_VIN,)) == CORRIN_VIN


def test_overlapping_profiles_are_a_problem_and_select_neither(tmp_path, corrin):
    folder = tmp_path / "vehicles"
    write_profile(folder, "copycat", f'[vehicle]\nmake = "Other"\nvin_pattern = "^0AMC.{{13}}$"\ndbc = "{CORRIN_DBC}"\n')
    garage = load_garage(folder)
    assert garage.names() == [BUNDLED_NAME, "copycat"]
    assert any("both claim VIN" in p.message for p in garage.problems)
    resolution = garage.resolve(vin=CORRIN_VIN)
    assert resolution.profile is None and "several profiles" in resolution.notes[0]


def test_the_profile_in_force_vin_then_pick_then_dbc_then_none(tmp_path, shared_data, corrin):
    hyundai = shared_data / "opendbc" / "hyundai_can.dbc"
    write_profile(tmp_path / "vehicles", "kona", kona_toml(hyundai))
    garage = load_garage(tmp_path / "vehicles")
    assert not garage.problems, garage.problems
    assert (garage.resolve(vin=CORRIN_VIN).name, garage.resolve(vin=CORRIN_VIN).how) == (BUNDLED_NAME, "vin")
    assert garage.resolve(vin=KONA_VIN).name == "kona"
    assert (garage.resolve(picked="kona").name, garage.resolve(picked="kona").how) == ("kona", "picked")
    assert (garage.resolve(dbc=[CORRIN_DBC]).name, garage.resolve(dbc=[CORRIN_DBC]).how) == (BUNDLED_NAME, "dbc")
    assert garage.resolve(dbc=[hyundai]).name == "kona"
    assert garage.resolve().profile is None and garage.resolve(dbc=[shared_data / "opendbc" / "vw_pq.dbc"]).profile is None
    # the VIN wins over the pick, and says so
    wins = garage.resolve(vin=CORRIN_VIN, picked="kona")
    assert wins.name == BUNDLED_NAME and "not the picked profile kona" in wins.notes[0]
    # a log of another car than the picked profile's: no profile at all
    other = garage.resolve(vin="WVWZZZ1JZ3W386752", picked="kona")
    assert other.profile is None and "does not fit profile kona" in other.notes[0]
    # a pick whose DBC files are not the ones in use is not applied: the profile of those DBC files is, and it says so
    mismatch = garage.resolve(picked=BUNDLED_NAME, dbc=[hyundai])
    assert (mismatch.name, mismatch.how) == ("kona", "dbc") and "hyundai_can.dbc" in mismatch.notes[0]
    assert garage.resolve(picked="kona", dbc=[shared_data / "opendbc" / "vw_pq.dbc"]).profile is None
    unknown = garage.resolve(picked="nope")
    assert unknown.profile is None and "no vehicle profile named 'nope'" in unknown.notes[0]


def test_a_broken_user_profile_does_not_hide_the_others(tmp_path):
    folder = tmp_path / "vehicles"
    write_profile(folder, "gone", '[vehicle]\ndbc = "/nowhere/car.dbc"\n')
    garage = load_garage(folder)
    assert garage.names() == [BUNDLED_NAME]
    assert "names DBC file /nowhere/car.dbc, which does not exist" in garage.problems[0].message
    with pytest.raises(ProfileError, match="cannot be used"):
        garage.get("gone")


@pytest.mark.parametrize("vin,maker,valid", [
    ("1HGCM82633A004352", "Honda", True),  # North America: check digit right
    ("WVWZZZ1JZ3W386752", "Volkswagen", True),  # Europe: 'Z' at position 9, no check digit, still valid
    ("KM8K281EGKU000001", "Hyundai", True),
    ("1HGCM82643A004352", "Honda", False),  # North America: a wrong check digit is a problem
])
def test_real_vins_maker_from_the_wmi_check_digit_only_where_mandatory(vin, maker, valid):
    info = decode_vin(vin)
    assert info.maker == maker and info.valid is valid, info.describe()
    assert (info.region == "North America") == (vin[0] == "1")


def test_vins_of_16_or_18_characters_say_what_is_wrong():
    for vin, word in (("KM8K281EGKU00000", "missing"), ("KM8K281EGKU0000011", "extra")):
        info = decode_vin(vin)
        assert not info.valid and f"this one {len(vin)}: one is {word}" in info.problems[0]
        assert info.maker == "Hyundai"  # what can be read is still read


def test_a_vin_of_another_car_on_the_bus_sets_the_profile_aside(corrin):
    """The Corrin's profile is picked, but the bus announces a Volkswagen VIN (J1939 vehicle identification)."""
    state = LiveState(str(CORRIN_DBC), profile=corrin, profile_how="picked")
    session = DiagnosticsSession(state, corrin, db=state.db)
    for frame in bam_frames(VEHICLE_ID_PGN, 0x00, b"WVWZZZ1JZ3W386752*"):
        session.on_message_received(frame)
    snap = state.snapshot()
    assert snap.vehicle["vin"] == "WVWZZZ1JZ3W386752" and snap.vehicle["maker"] == "Volkswagen"
    assert snap.profile is None and not snap.vehicle["make"]
    assert "does not fit profile aldmoor-corrin" in snap.profile_notes[0]
    assert state.normal_ranges == {} and session.profile is None
    assert session._ecu(0x7E8) == "0x7E8"  # not the Corrin's "ECM"
    assert session._describe("P0217") == ""  # not the Corrin's description


def test_vehicle_commands(cli, tmp_path, shared_data, data_dir):
    hyundai = shared_data / "opendbc" / "hyundai_can.dbc"
    added = cli("vehicle", "add", "kona", "--dbc", str(hyundai), "--make", "Hyundai", "--model", "Kona",
                "--years", "2018-2023", "--wmi", "KM8")
    assert added.returncode == 0, added.stderr
    assert "added vehicle profile kona: Hyundai Kona 2018-2023" in added.stdout and "signals" in added.stdout
    assert "hyundai_can.dbc:1656: dropped" in added.stderr  # opendbc's CM_ line, said once
    assert (data_dir / "vehicles" / "kona.toml").is_file()
    listed = cli("vehicle", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [p["name"] for p in data["profiles"]] == [BUNDLED_NAME, "kona"] and data["problems"] == []
    shown = cli("vehicle", "show", "kona")
    assert shown.returncode == 0 and "vehicle: Hyundai Kona 2018-2023" in shown.stdout and str(hyundai.resolve()) in shown.stdout
    corrin = cli("vehicle", "show", BUNDLED_NAME)
    assert "range ECM_EngineTemps.CoolantTemp: 85-105 degC" in corrin.stdout
    # bad input: one line each, exit 1
    for args, message in (
        (("vehicle", "add", "kona2", "--dbc", str(hyundai), "--wmi", "KM8"), "would overlap profile kona's"),
        (("vehicle", "add", "kona", "--dbc", str(hyundai)), "already exists"),
        (("vehicle", "add", "x", "--dbc", str(tmp_path / "none.dbc")), "does not exist"),
        (("vehicle", "add", "Bad Name", "--dbc", str(hyundai)), "not usable as a file name"),
        (("vehicle", "add", "y", "--dbc", str(hyundai), "--years", "2023-2018"), "not YEAR or FIRST-LAST"),
        (("vehicle", "show", "nope"), "no vehicle profile named 'nope'"),
    ):
        result = cli(*args)
        assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)
    # a profile whose DBC went away: listed as a problem, the others still work
    (data_dir / "vehicles" / "gone.toml").write_text('[vehicle]\ndbc = "/nowhere/car.dbc"\n')
    listed = cli("vehicle", "list")
    assert listed.returncode == 0 and "kona" in listed.stdout and "problem:" in listed.stderr and "/nowhere/car.dbc" in listed.stderr


def test_vin_overlap_between_a_pattern_and_a_wmi(corrin, tmp_path):
    from rag_car.vehicle.profile.load import profile_from_data

    by_wmi = profile_from_data({"vehicle": {"wmi": ["0AM"]}}, tmp_path / "w.toml")
    other = profile_from_data({"vehicle": {"wmi": ["KM8"]}}, tmp_path / "k.toml")
    assert vin_overlap(corrin, by_wmi) == "0AM..." and vin_overlap(corrin, other) is None
    assert Garage((corrin, other)).resolve(vin="KM8K281EGKU000001").name == "k"


def test_doctor_checks_the_profiles(tmp_path):
    from rag_car.health import check_profiles
    from rag_car.settings import load_settings

    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")})
    good = check_profiles(settings)
    assert good.ok and BUNDLED_NAME in good.detail
    picked = check_profiles(load_settings(overrides={"data_dir": str(tmp_path / "data"), "vehicle": {"profile": "kona"}}))
    assert not picked.ok and "'kona', which is not a profile" in picked.detail and "vehicle add kona" in picked.fix
    write_profile(tmp_path / "data" / "vehicles", "broken", "[vehicle\n")
    broken = check_profiles(settings)
    assert not broken.ok and "broken.toml" in broken.detail and "not valid TOML" in broken.detail
