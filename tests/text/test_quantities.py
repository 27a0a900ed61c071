"""The one model of quantity (rag_car.text.quantities): values written with SI and common car units are read as
their kind, and a question that names a unit or a measuring verb asks for that kind."""

from __future__ import annotations

import pytest

from rag_car.text import quantities
from rag_car.text.quantities import asked_kinds, asks_value, stated_kinds


@pytest.mark.parametrize("text, kind", [
    # SI units and their common car counterparts (BIPM SI brochure; SAE J1930 / owner's manual conventions)
    ("Top speed 250 km/h", "speed"), ("limited to 155 mph", "speed"),
    ("0-100 km/h in 6.1 s", "sprint"), ("wait 10 minutes", "time"), ("every 2 years", "period"),
    ("every 15,000 km", "distance"), ("every 10,000 miles", "distance"),
    ("Ground clearance: 180 mm", "length"), ("turning circle 11.4 m", "length"),
    ("kerb weight 1,540 kg", "mass"), ("roof load 165 lbs", "mass"),
    ("Engine oil: 5.2 L", "volume"), ("tank 13.2 gallons", "volume"),
    ("Wheel nuts: 140 Nm", "torque"), ("103 lb-ft", "torque"),
    ("240 kPa", "pressure"), ("35 psi", "pressure"), ("2.4 bar", "pressure"),
    ("below 5 °C", "temperature"), ("12 V", "voltage"), ("a 40 A fuse", "current"),
    ("135 kW (184 hp)", "power"), ("usable 80 kWh", "energy"), ("a 70 Ah battery", "charge"),
    ("6.4 l/100 km", "economy"), ("38 mpg", "economy"), ("CO2: 146 g/km", "emissions"),
    ("idles at 750 rpm", "rotation"), ("costs $120", "money"), ("about 90 euros", "money"),
])
def test_a_value_is_read_as_its_kind_from_its_unit(text, kind):
    assert kind in stated_kinds(text)
    assert quantities.value_pattern(kind).search(text)


@pytest.mark.parametrize("text", ["step 2 in the manual", "Press the button.", "see page 12", "kWh" ])
def test_a_number_without_a_unit_states_no_quantity(text):
    assert stated_kinds(text) == frozenset()


def test_kilowatt_hours_are_energy_not_power_and_kilometres_per_hour_a_speed_not_a_distance():
    assert stated_kinds("80 kWh") == {"energy"}
    assert stated_kinds("130 km/h") == {"speed"}
    assert stated_kinds("38 miles per gallon is 38 mpg") >= {"economy"}


@pytest.mark.parametrize("question, kind", [
    ("What is the turning circle in metres?", "length"),
    ("What are the CO2 emissions in g/km?", "emissions"),
    ("How much does it weigh empty?", "mass"),
    ("How many litres does the tank hold?", "volume"),
    ("What's the engine output in kW?", "power"),
    ("How long does the battery last?", "period"),
    ("What does a new key cost?", "money"),
    ("What is the fuel economy in miles per gallon?", "economy"),
    ("How far can I drive with the fuel light on?", "distance"),
])
def test_a_question_naming_a_unit_or_a_measuring_verb_asks_for_that_kind(question, kind):
    assert kind in asked_kinds(question)
    assert asks_value(question)


def test_a_unit_after_a_number_states_a_value_and_a_yes_no_or_how_to_question_asks_no_value():
    assert "speed" not in asked_kinds("What happens above 130 km/h?")  # states a speed, does not ask for one
    assert "economy" in asked_kinds("fuel economy in miles per gallon") and \
        "distance" not in asked_kinds("fuel economy in miles per gallon")  # the longer name is read first
    assert not asks_value("Can I drive at 130 km/h on the spare?")
    assert not asks_value("How do I check the pressure in psi?")
    assert not asks_value("When was the last service?")  # "last" here is no measuring verb
    assert asked_kinds("When was the last service?") == frozenset()


def test_a_frequency_written_in_words_is_a_period():
    assert "period" in stated_kinds("Check the tire pressure at least twice a month.")
    assert "period" in stated_kinds("Have it inspected every year.")
    assert stated_kinds("Check the tire pressure regularly.") == frozenset()
