"""How the extractive answer is composed: a section's chunks read as one text, procedures quoted from their first
step, labelled paragraphs kept together, values carried with their qualification, topic warnings searched for,
sibling chunks read from the retriever's records; and the text units this rests on."""

from types import SimpleNamespace

from answer_fakes import KeywordRetriever, TermEmbedder, passage

from rag_car.answer.assistant import Assistant
from rag_car.answer.grounding import GroundingChecker, Part
from rag_car.answer.layout import Layout
from rag_car.answer.selection import ANY_QUANTITY, asked_measures
from rag_car.answer.sentences import measure_terms, split_sentences, terms
from rag_car.answer.siblings import MAX_CHUNKS_PER_SECTION, SectionIndex, section_siblings
from rag_car.answer.sources import Sources, build_sources
from rag_car.knowledge.chunk import Chunk
from rag_car.knowledge.retrieve import Passage
from rag_car.knowledge.retrieve.catalog import Catalog
from rag_car.knowledge.retrieve.records import Records
from rag_car.settings import load_settings
from rag_car.tuning import TUNING
from rag_car.vehicle.profile import Garage

JUMP = "Owner's manual > In an emergency > Jump starting"


def chunk_passage(n: int, text: str, section: str, index: int, source: str = "/k/owner/manual.md",
                  doc_type: str = "owner_manual") -> Passage:
    p = passage(n, text, source, section, doc_type=doc_type)
    p.metadata["chunk_index"] = index
    return p


# a procedure cut into two chunks that overlap by one step, as the chunker leaves them
JUMP_1 = chunk_passage(1, "A flat 12 V battery can be jump started from another vehicle's battery.\n"
                          "- Switch off both vehicles and all electrical loads.\n"
                          "- Open the red cover of the jump terminal on the fuse box.\n"
                          "- Connect the red cable to the jump terminal, then to the assisting battery.\n"
                          "- Connect the black cable to the ground point on the left strut tower.", JUMP, 0)
JUMP_2 = chunk_passage(2, "- Connect the black cable to the ground point on the left strut tower.\n"
                          "- Start the assisting vehicle, then start the engine.\n"
                          "- Disconnect the cables in reverse order.", JUMP, 1)
LAMP = chunk_passage(3, "The amber engine symbol is the malfunction indicator lamp.\n"
                        "Lamp on steadily: a fault has been detected that can increase emissions. The vehicle can be "
                        "driven, but have it checked by a dealer soon. First make sure the fuel filler cap is closed.\n"
                        "Lamp flashing: the engine is misfiring. Reduce speed and drive gently to a dealer.",
                     "Owner's manual > Warning lamps > Check-engine lamp", 0)
FUEL = chunk_passage(4, "Use unleaded gasoline with a research octane number (RON) of 91 or higher.\n"
                        "For the 2.0 engine, 95 RON gives the best performance.\n"
                        "The filler flap is on the right side.\nIt opens when you press it with the vehicle unlocked.\n"
                        "Stop filling when the nozzle shuts off the first time.\nClose the filler cap until it clicks.\n"
                        "A cap that is not closed turns on the check-engine lamp.\nThe tank holds 52 litres.\n"
                        "Do not carry spare fuel in the vehicle.", "Owner's manual > Fuel", 0)
ENTRY = chunk_passage(5, "P0217 Engine coolant over temperature. The ECM sets P0217 when the coolant stays above "
                         "115 degC for 10 s.\nCheck the radiator fan and the coolant level.", "P0217 Engine coolant over temperature",
                      0, source="/k/dtc/powertrain.md", doc_type="dtc")
ENTRY.metadata["codes"] = ",P0217,"
COOLANT = chunk_passage(6, "If the coolant temperature lamp comes on, stop and let the engine cool.\n"
                           "WARNING: Never open the coolant reservoir cap while the engine is hot. Hot coolant "
                           "can spray out and scald.", "Owner's manual > Warning lamps > Coolant temperature", 0)
PASSAGES = [JUMP_1, JUMP_2, LAMP, FUEL, ENTRY, COOLANT]


def make(tmp_path, passages=PASSAGES):
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    return Assistant(settings, retriever=KeywordRetriever(list(passages), TermEmbedder()), garage=Garage(),
                     tuning=TUNING.with_answer(abstain_below=0.1))


def test_a_how_to_question_gets_the_whole_procedure_once_in_order_across_chunks(tmp_path):
    answer = make(tmp_path).ask("how do I jump start a flat battery?", persona="owner")
    text = answer.answer
    steps = [line for line in text.splitlines() if line[:2].rstrip(".").isdigit()]
    assert [line.split(".", 1)[0] for line in steps] == [str(i) for i in range(1, 7)], text
    assert text.count("left strut tower") == 1  # the step both chunks hold is quoted once
    assert text.index("Switch off both vehicles") < text.index("reverse order")
    # both chunks are quoted; the section is one source, cited once
    assert [c.section for c in answer.citations] == [JUMP] and "[2]" not in text


def test_a_labelled_paragraph_is_quoted_together(tmp_path):
    answer = make(tmp_path, [LAMP]).ask("the engine lamp is on steadily, is it serious?", persona="owner")
    assert "have it checked by a dealer soon" in answer.answer
    assert "fuel filler cap" in answer.answer, answer.answer  # the same case, one sentence further


def test_a_value_comes_with_the_next_sentence_that_qualifies_it(tmp_path):
    answer = make(tmp_path, [FUEL]).ask("what octane can I use?", persona="owner")
    assert "91 or higher" in answer.answer and "95 RON" in answer.answer, answer.answer
    assert "filler flap" not in answer.answer


def test_a_safety_topic_without_a_warning_in_its_sources_searches_for_one(tmp_path):
    answer = make(tmp_path, [ENTRY, COOLANT]).ask("code P0217", persona="technician")
    assert any("reservoir cap" in w for w in answer.warnings), answer.answer
    cited = {c.source for c in answer.citations}
    assert "/k/owner/manual.md" in cited and "/k/dtc/powertrain.md" in cited


def test_a_quoted_sentence_naming_the_asked_code_is_an_answer_not_filler():
    docs = build_sources([(passage(1, "Supersedes: ASB-21-015", "/k/b.md", "ASB-22-003", doc_type="bulletin"), "question")])
    checker = GroundingChecker(Sources(docs=docs), None, "What replaced ASB-21-015?")
    quoted = checker.check_part(Part("Supersedes: ASB-21-015.", (1,)), generated=False)
    said = checker.check_part(Part("Supersedes: ASB-21-015.", (1,)), generated=True)
    assert quoted.supported and not quoted.filler
    assert said.filler and not said.supported


def test_layout_numbers_a_list_per_section_and_keeps_sentences_inside_it_unnumbered():
    layout = Layout()
    for part in [Part("Check the level.", (1,), role="step", group="a"), Part("Yes: go to 2.", (1,), role="cont", group="a"),
                 Part("Check the fan.", (2,), role="step", group="a"), Part("Read the codes.", (3,), role="step", group="b")]:
        layout.add(part)
    assert layout.text == ("1. Check the level [1]. Yes: go to 2 [1].\n2. Check the fan [2].\n\n"
                           "1. Read the codes [3].")
    assert Part("Procedure:", (4,)).render() == "Procedure [4]:"


def test_sibling_chunks_come_from_the_records_and_a_long_section_is_read_around_the_hit():
    chunks = [Chunk(f"c{i}", f"Step {i} of the procedure.", {"source": "/k/s.md", "section": "CO-05", "chunk_index": i,
                                                               "title": "S", "doc_type": "service_manual"})
              for i in range(MAX_CHUNKS_PER_SECTION + 3)]
    chunks.append(Chunk("x", "Other text.", {"source": "/k/s.md", "section": "CO-06", "chunk_index": 0}))
    retriever = SimpleNamespace(lexical=SimpleNamespace(catalog=Catalog.build(chunks), records=Records(chunks=chunks)))
    hit = Passage("c4", chunks[4].text, 0.7, {"bm25": 1}, dict(chunks[4].metadata))
    found = section_siblings(retriever, SectionIndex(), [hit])
    ids = [p.chunk_id for p in found]
    assert ids == ["c3", "c5", "c6", "c7", "c8"]  # a window of the section from the chunk before the hit
    assert all(p.score == 0.7 and p.section == "CO-05" for p in found)
    assert section_siblings(SimpleNamespace(), SectionIndex(), [hit]) == []  # a retriever without records


def test_sources_of_a_section_rank_as_their_retrieved_sibling():
    a = chunk_passage(1, "First part.", "Sec", 0)
    other = chunk_passage(2, "Other.", "Else", 0)
    b = chunk_passage(3, "Second part.", "Sec", 1)
    docs = build_sources([(a, "question"), (other, "question"), (b, "section")])
    assert [(d.n, d.rank, d.pulled) for d in docs] == [(1, 1, False), (2, 2, False), (3, 1, False)]


def test_text_units_paragraphs_signal_names_units_and_synonyms():
    sentences = split_sentences("It reports faults in the engine.\nLamp on steadily: a fault. The vehicle can be "
                                "driven.\nLamp flashing: stop.")
    assert [s.block for s in sentences][1] == [s.block for s in sentences][2] != sentences[0].block
    assert sentences[3].block != sentences[2].block
    assert {"coolant", "temperatur", "engin"} <= set(terms("ECM_EngineTemps.CoolantTemp"))
    # a unit says what is measured (measure_terms), it is no synonym of the quantity
    assert measure_terms("reads 13.2-14.8 V") == {"voltag"} and measure_terms("120 Nm") == {"torqu"}
    assert measure_terms("240 kPa") == {"pressur"} and "pressur" not in terms("240 kPa")
    assert terms("turn off the ESC") != terms("switch off the ESC")  # no folds between different words
    assert terms("blinking lamp") == terms("flashing light")


CRUISE_ON = chunk_passage(7, "Cruise control is active when the speed is stored as set speed.\n"
                             "Press the cruise control button on the steering wheel to turn on cruise control.\n"
                             "The current speed is kept.", "Owner's manual > Cruise control > Turning on cruise control", 0)
CRUISE_INFO = chunk_passage(8, "The system can be turned on starting at 30 km/h.\n"
                               "Settings may change with the driving mode.",
                            "Owner's manual > Cruise control > General information", 0)


def test_a_value_question_is_led_by_the_section_that_states_the_value(tmp_path):
    # the procedure's section names more of the question's words; the section stating a speed answers it
    answer = make(tmp_path, [CRUISE_ON, CRUISE_INFO]).ask("what is the lowest speed to turn on cruise control?",
                                                          persona="owner")
    assert answer.answer.startswith("The system can be turned on starting at 30 km/h"), answer.answer
    # a how-to question about the same thing is not a value question: the procedure's section leads
    how = make(tmp_path, [CRUISE_ON, CRUISE_INFO]).ask("how do I turn on cruise control?", persona="owner")
    assert not how.answer.startswith("The system can be turned on"), how.answer


def test_a_yes_no_question_asks_whether_not_how_much():
    def asked(question: str) -> frozenset[str]:
        return asked_measures(question, set(terms(question)))

    assert asked("What is the max weight of the car?") == {"mass", ANY_QUANTITY}
    assert asked("How many litres of oil does the engine take?") == {"volume", ANY_QUANTITY}
    assert asked("What is the lowest speed for cruise control?") == {"speed", ANY_QUANTITY}
    assert asked("Can I overload the car past its max weight?") == frozenset()
    assert asked("Is it ok to drive over the maximum speed in the snow?") == frozenset()
    assert asked("How do I set the speed?") == frozenset()
