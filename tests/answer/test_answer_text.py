"""Sentences, numbers, codes and the other text units answers are selected and checked in."""

from rag_car.answer.sentences import (
    citation_marks,
    codes,
    dtc_codes,
    has_negation,
    looks_english,
    numbers,
    split_sentences,
    strip_citations,
    terms,
)

MANUAL = """# Cooling

Both engines use a wax thermostat that starts to open at 88 °C. It is fully open at 100 °C, e.g. on a hot day.

> **WARNING:** Never open the coolant reservoir cap while the engine is hot. Coolant above 100 °C can scald.

**Specifications:**

| Item | Value |
|---|---|
| Test pressure | 140 kPa (20 psi) |
| Thermostat housing bolts | 10 Nm |

**Procedure:**

1. Engine cold. Check the coolant level.
2. Tighten the bolts to 10 Nm in a cross pattern.
"""


def test_sentences_keep_warnings_whole_and_tables_and_steps_as_units():
    units = split_sentences(MANUAL)
    kinds = [(u.kind, u.text) for u in units]
    assert ("text", "Both engines use a wax thermostat that starts to open at 88 °C.") in kinds
    # "e.g." does not end a sentence
    assert ("text", "It is fully open at 100 °C, e.g. on a hot day.") in kinds
    warning = [u for u in units if u.kind == "warning"]
    assert len(warning) == 1 and warning[0].text.startswith("WARNING: Never open") and warning[0].text.endswith("can scald.")
    assert ("row", "Test pressure: 140 kPa (20 psi)") in kinds
    assert ("row", "Thermostat housing bolts: 10 Nm") in kinds
    assert ("step", "Tighten the bolts to 10 Nm in a cross pattern.") in kinds
    assert not any("Cooling" == u.text for u in units)  # headings are not sentences
    assert [u.position for u in units] == list(range(len(units)))


def test_numbers_and_codes_are_normalised():
    assert numbers("2.4 bar, 1,200 rpm, 1,5 L and 35 psi") == {2.4, 1200.0, 1.5, 35.0}
    found = codes("Use 5W-30 oil; P0301 and TSB 21-034 apply to the M12 bolt")
    assert {"5W30", "P0301", "21034", "M12"} <= found
    assert dtc_codes("p0301 then P0171 and P0301 again") == ["P0301", "P0171"]


def test_citation_marks():
    assert citation_marks("Tighten to 120 Nm [2] and check [1, 3].") == ({1, 2, 3}, False)
    assert citation_marks("[live] Coolant 118 C") == (set(), True)
    assert strip_citations("Tighten to 120 Nm [2].") == "Tighten to 120 Nm."


def test_terms_fold_spelling_and_synonyms():
    assert terms("tyre pressure") == terms("tire pressure")
    assert "lamp" in terms("the check engine light")
    assert "the" not in terms("the brake")


def test_negation_and_language():
    assert has_negation("Do not drive with the lamp on.")
    assert not has_negation("Drive to a workshop.")
    assert looks_english("What is the tire pressure?")
    assert looks_english("P0301")
    assert not looks_english("Wie hoch ist der Reifendruck bei meinem Auto?")
    assert not looks_english("Quelle est la pression des pneus pour ma voiture ?")
    assert not looks_english("タイヤの空気圧はいくつですか")
