"""Grounding: each sentence supported by its cited source or a live reading, or not; parsing and streaming."""

from answer_fakes import TermEmbedder, passage, reading, snapshot

from rag_car.answer.grounding import GroundingChecker, Part, SentenceStream, parse_answer
from rag_car.answer.sources import Sources, build_sources, live_lines
from rag_car.answer.vectors import SentenceVectors

TIRES = passage(1, "The recommended cold tire pressure is 240 kPa (35 psi) front and 220 kPa (32 psi) rear.\n"
                   "Check the pressure when the tires are cold.", "/k/owner.md", "Tires > Tire pressure")
COOLING = passage(2, "If the coolant temperature warning lamp comes on, stop the vehicle in a safe place and switch off "
                     "the engine.\nDo not open the radiator cap while the engine is hot.", "/k/owner.md", "Warning lamps")
MISFIRE = passage(3, "P0301 Cylinder 1 misfire detected. Check the ignition coil of cylinder 1.", "/k/dtc.md", "P0301",
                  doc_type="dtc", codes=",P0301,")


def checker(with_live=False, vectors=None):
    docs = build_sources([(TIRES, "question"), (COOLING, "question"), (MISFIRE, "question")])
    live = live_lines(snapshot(signals=[reading("CoolantTemp", "ECM_EngineTemps", 118.0, "degC",
                                                "Engine coolant temperature", "high", (85, 105))])) if with_live else []
    return GroundingChecker(Sources(docs=docs, live=live), vectors=vectors, question="")


def test_a_restated_sentence_is_supported_by_its_citation():
    verdict = checker().check_part(Part("The front tire pressure is 240 kPa (35 psi).", (1,)))
    assert verdict.supported, verdict.reason


def test_a_number_not_in_the_cited_source_is_not_supported():
    verdict = checker().check_part(Part("The front tire pressure is 260 kPa.", (1,)))
    assert not verdict.supported and "260" in verdict.reason


def test_a_code_not_in_the_source_is_not_supported():
    verdict = checker().check_part(Part("Cylinder 1 misfire is code P0302.", (3,)))
    assert not verdict.supported and "P0302" in verdict.reason


def test_a_flipped_negation_is_not_supported():
    verdict = checker().check_part(Part("Open the radiator cap while the engine is hot.", (2,)))
    assert not verdict.supported and "negation" in verdict.reason


def test_a_safety_claim_the_source_does_not_make_is_not_supported():
    verdict = checker().check_part(Part("It is safe to keep driving with a P0301 misfire.", (3,)))
    assert not verdict.supported


def test_a_sentence_with_the_wrong_citation_is_re_cited():
    verdict = checker().check_part(Part("Check the ignition coil of cylinder 1.", (1,)))
    assert verdict.supported and verdict.recited and verdict.part.docs == (3,)


def test_an_uncited_sentence_nothing_supports_is_rejected():
    verdict = checker().check_part(Part("The towing capacity is 1500 kg."))
    assert not verdict.supported


def test_live_readings_support_sentences_citing_live():
    c = checker(with_live=True)
    assert c.check_part(Part("Engine coolant temperature is 118 degC, above the normal 85-105 degC.", (), True)).supported
    assert not c.check_part(Part("Engine coolant temperature is 125 degC.", (), True)).supported


def test_embedding_similarity_rescues_a_paraphrase_but_not_unrelated_text():
    paraphrase = Part("Check the tire pressure when cold before a long trip on the motorway.", (1,))
    # 4 of 7 content words are in the source: too few on their own ...
    assert not checker().check_part(paraphrase).supported
    # ... but close enough in embedding space
    vectors = SentenceVectors(TermEmbedder())
    assert checker(vectors=vectors).check_part(paraphrase).supported
    assert not checker(vectors=vectors).check_part(Part("Rotate the wheels every season for even wear.", (1,))).supported


def test_filler_is_neither_supported_nor_a_claim():
    verdict = checker().check_part(Part("Here is the answer."))
    assert verdict.filler and not verdict.supported


def test_parse_answer_reads_markers_before_and_after_the_full_stop():
    parts = parse_answer("The pressure is 240 kPa. [1] Check it cold [1]. [live] Coolant 118 degC.\n- Stop the car [2].")
    assert [(p.text, p.docs, p.live) for p in parts] == [
        ("The pressure is 240 kPa.", (1,), False),
        ("Check it cold.", (1,), False),
        ("Coolant 118 degC.", (), True),
        ("Stop the car.", (2,), False),
    ]
    assert parts[-1].role == "step"


def test_sentence_stream_yields_each_sentence_once_with_its_markers():
    stream = SentenceStream()
    out = []
    for piece in ["The pres", "sure is 240", " kPa [1]. Check", " it cold.", " [1]", " Done [2]."]:
        out += stream.feed(piece)
    out += stream.flush()
    assert "".join(out) == "The pressure is 240 kPa [1]. Check it cold. [1] Done [2]."
    assert [p.docs for s in out for p in parse_answer(s)] == [(1,), (1,), (2,)]


def test_part_render_puts_the_citation_before_the_full_stop():
    assert Part("Tighten to 120 Nm.", (2,)).render() == "Tighten to 120 Nm [2]."
    assert Part("Coolant 118 degC", (), True, "live").render() == "[live] Coolant 118 degC"


def test_a_number_taken_from_another_entry_is_not_supported():
    table = passage(4, "| Fastener | Torque |\n|---|---|\n| Wheel speed sensor bolts | 9 Nm |\n"
                       "| TPMS sensor valve nut | 4.0 Nm |\n| Wheel nuts | 110 Nm |", "/k/spec.md", "Torque specifications",
                    doc_type="service_manual")
    prose = passage(5, "Fit the wheel nuts with the tapered side toward the wheel. Lower the vehicle and tighten the nuts "
                       "in a star pattern to 110 Nm.", "/k/owner.md", "Changing a wheel")
    c = GroundingChecker(Sources(docs=build_sources([(table, "question"), (prose, "question")])))
    # 4.0 Nm is in the source, but it is the TPMS valve nut's torque, not the wheel nuts'
    wrong = c.check_part(Part("The wheel nut torque is 4.0 Nm.", (1,)))
    assert not wrong.supported and "about something else" in wrong.reason
    assert c.check_part(Part("The wheel nut torque is 110 Nm.", (1,))).supported
    # a neighbouring sentence of prose frames the number too ("them" are the wheel nuts)
    assert c.check_part(Part("Tighten the wheel nuts to 110 Nm.", (2,))).supported


AIRCON = passage(4, "Stop as soon as it is safe and let the engine idle for a few minutes with the air conditioning off.\n"
                    "I noticed the lamp while driving on the motorway, the owner wrote.", "/k/owner.md", "Overheating")


def aircon_checker():
    return GroundingChecker(Sources(docs=build_sources([(AIRCON, "question")]), live=[]), question="can i keep driving?")


def test_first_person_narration_the_source_does_not_contain_is_not_supported():
    c = aircon_checker()
    verdict = c.check_part(Part("I'm going to let the engine idle for a few minutes.", (1,)))
    assert not verdict.supported and "first-person" in verdict.reason
    # a complaint that is itself in the first person may be restated
    assert c.check_part(Part("I noticed the lamp while driving on the motorway.", (1,))).supported


def test_a_drive_on_claim_the_source_does_not_make_is_not_supported():
    verdict = aircon_checker().check_part(Part("You will drive it for a few minutes with the engine idle.", (1,)))
    assert not verdict.supported and "safety claim" in verdict.reason


def test_on_where_the_source_says_off_is_not_supported():
    c = aircon_checker()
    flipped = c.check_part(Part("Let the engine idle with the air conditioning on.", (1,)))
    assert not flipped.supported and "on/off" in flipped.reason
    assert c.check_part(Part("Let the engine idle with the air conditioning off.", (1,))).supported
