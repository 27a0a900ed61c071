"""VIN decoding: check digit (position 9), model year (position 10), our vehicle from knowledge/facts.toml;
real public VINs, the partial VINs of NHTSA's complaint files (with their model year), bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from rag_car.vehicle.diagnostics.vin import check_digit, decode_vin, model_year_candidates
from sim_helpers import CORRIN

# Widely published VINs (the first is the long-standing textbook example of the check digit).
PUBLIC = [
    ("1HGCM82633A004352", 2003),  # Honda Accord
    ("JH4KA7561PC008269", 1993),  # Acura Legend
    ("1M8GDM9AXKP042788", 1989),  # Motor Coach Industries coach: check digit X
]


@pytest.fixture(scope="module")
def vehicle():
    return CORRIN


@pytest.mark.parametrize("vin,year", PUBLIC)
def test_simulator_vin_real_public_vins(vin, year):
    info = decode_vin(vin)
    assert info.check_digit_ok is True and info.valid, info.problems
    assert info.model_year == year
    assert info.make == "" and not info.matches_vehicle  # not our vehicle


def test_simulator_vin_nhtsa_partial_vins_give_their_model_year(shared_data):
    """NHTSA keeps the first 11 VIN characters of each complaint next to the model year the owner gave."""
    rows = []
    for name in ("flat_complaints_sample100.tsv", "csvmedkit_nhtsa-complaints_sample.tsv"):
        for line in (shared_data / "nhtsa" / name).read_text(encoding="utf-8", errors="replace").splitlines():
            fields = line.split("\t")
            if len(fields) > 15 and len(fields[14]) == 11 and fields[5].isdigit() and 1981 <= int(fields[5]) <= 2030:
                rows.append((fields[14], int(fields[5])))
    assert len(rows) > 100
    agree = sum(decode_vin(vin).model_year == year for vin, year in rows)
    # owners and clerks make a few mistakes (a typed-in VIN, the wrong year); the decoder must match the rest
    assert agree / len(rows) >= 0.9, f"{agree} of {len(rows)}"
    partial = decode_vin(rows[0][0])
    assert partial.check_digit_ok is None and "17 characters" in partial.problems[0]


def test_simulator_vin_ours_maps_to_make_model_variant_year(vehicle):
    for vin in vehicle.identity.example_vins:
        info = decode_vin(vin, vehicle)
        assert info.valid, info.problems
        assert (info.make, info.model, info.profile) == ("Aldmoor", "Corrin", "aldmoor-corrin")
        assert info.model_year == vehicle.identity.model_year_codes[vin[9]]
        assert info.plant == vehicle.identity.plants[vin[10]]
    gasoline = decode_vin("0AMCG5A23KA100001", vehicle).to_vehicle()
    assert gasoline == {"vin": "0AMCG5A23KA100001", "make": "Aldmoor", "model": "Corrin", "variant": "Corrin 2.0",
                        "year": 2019, "vin_valid": True, "plant": "Ashby Assembly", "problems": [], "maker": "",
                        "profile": "aldmoor-corrin", "notes": []}
    assert decode_vin("0AMCH5A88MT500001", vehicle).variant == "Corrin Hybrid"


def test_simulator_vin_bad_check_digit_reported_and_still_shown(vehicle):
    vin = "0AMCG5A24PT500002"  # a real-looking Corrin VIN with one serial digit changed
    info = decode_vin(vin, vehicle)
    assert info.vin == vin and info.matches_vehicle and info.model_year == 2023
    assert info.check_digit_ok is False and not info.valid
    assert info.problems == [f"check digit (position 9) is '4', the other characters give '{check_digit(vin)}'"]
    assert info.to_vehicle()["vin_valid"] is False
    assert "check digit" in info.describe() and vin in info.describe()


def test_simulator_vin_bad_input_never_raises(vehicle):
    assert decode_vin("").problems == ["no VIN"]
    short = decode_vin("1HGCM8263")
    assert short.model_year is None and "17 characters" in short.problems[0]
    letters = decode_vin("1HGCM82633AOO4352")  # O is never used in a VIN
    assert letters.check_digit_ok is None and "O" in letters.problems[0]
    hybrid_2019 = decode_vin("0AMCH5A8" + "1" + "KA100001", vehicle)
    assert any("not built in 2019" in p for p in hybrid_2019.problems)
    not_ours = decode_vin("0AMZG5A23KA100001", vehicle)
    assert not not_ours.matches_vehicle and any("pattern" in p for p in not_ours.problems)
    too_late = decode_vin("0AMCG5A2" + "0" + "KA199999", vehicle)
    assert any("past the last one built" in p for p in too_late.problems)


def test_simulator_vin_year_cycle_rule():
    assert model_year_candidates("A") == (1980, 2010) and model_year_candidates("9") == (2009, 2039)
    assert model_year_candidates("U") == () and model_year_candidates("0") == ()
    # position 7 a letter: the 2010-2039 cycle, unless that is more than a year in the future
    assert decode_vin("1FTFW1EF9BF000000", today=dt.date(2026, 12, 1)).model_year == 2011
    assert decode_vin("1FTFW1EF9YF000000", today=dt.date(2026, 12, 1)).model_year == 2000
