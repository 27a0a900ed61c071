"""Issue 15 over hand-made manuals: warnings found by the documents' structure (the answered section, a sibling or
parent "Safety information", the steps themselves) travel with the answer, whole and cited, and no unrelated one
does; the deciding sentence leads (a value question's value); an owner's answer is short, the rest behind "more";
a workshop procedure is for the technician; odd input never crashes."""

from types import SimpleNamespace

import pytest
from answer_fakes import KeywordRetriever, TermEmbedder, passage

from rag_car.answer.assistant import Assistant
from rag_car.vehicle.profile import Garage
from rag_car.answer.sentences import strip_citations
from rag_car.answer.structure import Outline, ancestors, is_safety_heading, relation
from rag_car.knowledge.chunk import Chunk
from rag_car.knowledge.retrieve.catalog import Catalog
from rag_car.knowledge.retrieve.records import Records
from rag_car.settings import load_settings
from rag_car.tuning import TUNING

SRC = "/k/owner/manual.md"
HOOD_WARNING = ("WARNING: The radiator fan under the hood may start by itself even when the car is off. There is a "
                "risk of injury. Keep hands and clothing away from moving parts.")
SEAT_WARNING = ("WARNING: Adjusting the seat while driving can cause a loss of control. There is a risk of accident. "
                "Adjust the seat only when the vehicle is stationary.")
ROADS_WARNING = ("WARNING: Roads can be icy even above freezing. There is a risk of accident. Adapt your speed "
                 "on bridges and in shade.")


def chunk(i: int, section: str, text: str) -> Chunk:
    return Chunk(f"c{i}", text, {"source": SRC, "title": "Owner's manual", "section": section, "chunk_index": i,
                                 "doc_type": "owner_manual", "page": 0})


CHUNKS = [
    chunk(0, "Hood > Safety information", "Work in the engine compartment needs care.\n" + HOOD_WARNING),
    chunk(1, "Hood > Opening the hood", "1. Pull the release lever twice.\n2. Lift the hood until it stays open."),
    chunk(2, "Hood > Closing the hood", "Drop the hood from about 30 cm so that it engages on both sides."),
    chunk(3, "Seats > Safety information", SEAT_WARNING),
    chunk(4, "Seats > Adjusting the seat", "Push the lever forward to move the seat."),
    chunk(5, "Displays > Warning lamps > Outside temperature", "The outside temperature shows in the cluster.\n"
                                                               + ROADS_WARNING),
    chunk(6, "Tires > Tire pressures", "The recommended pressures are on the label on the door pillar.\n"
                                       "Pressures rise by 20 kPa when the tires are warm.\n"
                                       "| Load | Pressure |\n|---|---|\n| Normal load | Front 240 kPa, rear 230 kPa |\n"
                                       "| Full load | Front 250 kPa, rear 280 kPa |"),
]


class IndexedRetriever(KeywordRetriever):
    """The keyword retriever with the catalog and records a real index keeps (what the structure is read from)."""

    def __init__(self, chunks):
        passages = [passage(int(c.id[1:]) + 1, c.text, SRC, str(c.metadata["section"])) for c in chunks]
        for p, c in zip(passages, chunks):
            p.chunk_id = c.id
            p.metadata["chunk_index"] = c.metadata["chunk_index"]
        super().__init__(passages, TermEmbedder())
        self.lexical = SimpleNamespace(catalog=Catalog.build(chunks), records=Records(chunks=chunks))


def make(tmp_path, retriever=None) -> Assistant:
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    return Assistant(settings, retriever=retriever or IndexedRetriever(CHUNKS), garage=Garage(),
                     tuning=TUNING.with_answer(abstain_below=0.1))


def test_the_tree_by_headings():
    assert ancestors("Hood > Opening the hood") == ["Hood", ""]
    assert is_safety_heading("Hood > Safety information") and is_safety_heading("Precautions")
    assert not is_safety_heading("Displays > Warning lamps") and not is_safety_heading("Hazard warning system")
    assert relation("Hood > Opening the hood", "Hood > Safety information") == 1
    assert relation("Hood", "Hood > Safety information") == 0
    assert relation("Hood > Opening the hood", "Seats > Safety information") is None


def test_notices_come_from_the_section_its_safety_siblings_and_parents_only():
    retriever = IndexedRetriever(CHUNKS)
    found = Outline().notices_for(retriever, SRC, "Hood > Opening the hood")
    assert [n.text for n in found] == [HOOD_WARNING] and found[0].distance == 1
    assert Outline().notices_for(SimpleNamespace(), SRC, "Hood > Opening the hood") == []  # no catalog: none


def test_a_procedure_carries_its_sibling_safety_warning_whole_and_cited(tmp_path):
    answer = make(tmp_path).ask("How do I pop the hood open?", persona="owner")
    assert not answer.abstained
    assert "1. Pull the release lever twice" in answer.answer
    assert HOOD_WARNING in strip_citations(answer.answer)  # whole, as the manual says it
    assert SEAT_WARNING not in answer.answer and ROADS_WARNING not in answer.answer
    cited = {c.section for c in answer.citations}
    assert {"Hood > Opening the hood", "Hood > Safety information"} <= cited
    assert answer.answer.count("[") == answer.answer.count("]")


def test_a_warning_of_an_unrelated_section_does_not_travel(tmp_path):
    answer = make(tmp_path).ask("How do I close the hood?", persona="owner")
    assert "engages on both sides" in answer.answer
    assert ROADS_WARNING not in answer.answer and SEAT_WARNING not in answer.answer


def test_a_value_question_leads_with_the_value_and_the_rest_is_more(tmp_path):
    answer = make(tmp_path).ask("What is the tire pressure?", persona="owner")
    first = answer.answer.split("\n")[0]
    assert first.startswith("Normal load") and "240 kPa" in first, answer.answer
    assert "Full load" not in answer.answer.split(".")[0]
    technician = make(tmp_path).ask("What is the tire pressure?", persona="technician")
    assert technician.more == "" and "Full load" in technician.answer  # a technician gets it all at once
    everything = answer.answer + answer.more
    assert len({s for s in everything.split(". ") if s}) == len([s for s in everything.split(". ") if s])  # no twice


def test_an_owner_gets_no_workshop_procedure_a_technician_does(tmp_path):
    entry = passage(1, "P0217 Engine coolant overtemperature.\nIf the lamp is on, stop and let the engine cool.\n"
                       "Have the vehicle checked by a dealer.\n1. Pressure test the cooling system.\n"
                       "2. Clear codes and road test.", "/k/dtc/p.md", "P0217 Engine coolant overtemperature",
                    doc_type="dtc", codes=",P0217,")
    retriever = KeywordRetriever([entry], TermEmbedder())
    owner = make(tmp_path, retriever).ask("What does P0217 mean and what should I do?", persona="owner")
    technician = make(tmp_path, retriever).ask("What does P0217 mean and what should I do?", persona="technician")
    assert "Pressure test" not in owner.answer + owner.more and "Clear codes" not in owner.answer + owner.more
    assert "dealer" in owner.answer or "stop" in owner.answer
    assert "Pressure test" in technician.answer


@pytest.mark.parametrize("question", ["hood", "x" * 2500, "Wie öffne ich die Motorhaube? hood", "P0217",
                                      "ASB-22-099", "T-SB-0123-21", "how do i opne teh hood", "?!", "24V-123"])
def test_odd_input_is_an_answer_or_a_clear_refusal(tmp_path, question):
    answer = make(tmp_path).ask(question)
    assert answer.answer.strip()
    assert answer.abstained or answer.citations


PARKING = [
    chunk(10, "Parking > Leaving the vehicle",
          "Before you get out of the car, on a slope or on the flat, switch off the drive-ready state and take the key.\n"
          "NOTICE: Wet paint can mark the seat covers. There is a risk of damage. Wait until the paint has dried.\n"
          "CAUTION: A door opened into traffic can be hit. There is a risk of accident. Look behind before opening.\n"
          "NOTICE: Items left on the dashboard can fade in sunlight. There is a risk of damage. Store them away.\n"
          "WARNING: Children left alone can work the windows. There is a risk of injury. Take children with you."),
    chunk(11, "Parking > Safety information",
          "WARNING: A car left on a slope without the parking brake set may roll. There is a risk of accident. "
          "Set the parking brake before you get out on a slope."),
]
SLOPE = PARKING[1].text


def test_the_notice_closest_to_the_question_travels_first(tmp_path):
    # the answered section holds four notices of its own; the one about the question sits in its "Safety
    # information" sibling: nearer in meaning, it leads the notices even though it is a level further away
    answer = make(tmp_path, IndexedRetriever(PARKING)).ask("What do I do before I get out of the car on a slope?")
    assert "switch off the drive-ready state" in answer.answer
    notices = answer.answer.split("\n\n")[1:]
    assert notices and strip_citations(notices[0]).strip() == SLOPE, answer.answer
    assert "Parking > Safety information" in {c.section for c in answer.citations}


TIRES = [
    chunk(20, "Tires > Tire pressures",
          "The recommended cold tire pressures are on the label on the door pillar.\n"
          "| Load | Pressure |\n|---|---|\n| Normal load | Front 240 kPa, rear 230 kPa |\n"
          "| Full load | Front 250 kPa, rear 280 kPa |"),
    chunk(21, "Displays > Warning lamps > Tire pressure lamp",
          "Lamp on steadily: a tire is at least 25 % below its recommended pressure, below about 180 kPa at the "
          "front or 173 kPa at the rear.\nReduce speed and check the pressures at the next opportunity."),
]


def test_a_follow_up_goes_on_with_the_section_the_answer_before_led_with(tmp_path):
    assistant = make(tmp_path, IndexedRetriever(TIRES))
    before = ("Normal load | Front 240 kPa, rear 230 kPa [1]. The recommended cold tire pressures are on the label "
              "on the door pillar [1].")
    history = [{"role": "user", "content": "What is the tire pressure?"}, {"role": "assistant", "content": before}]
    rear = assistant.ask("and the rear ones?", history=history)
    assert "230 kPa" in rear.answer.split("\n")[0], rear.answer  # the rear pressure, not the lamp's threshold
    assert not rear.answer.startswith("Lamp on")
    # a question that does not lean on the answer before is answered on its own
    lamp = assistant.ask("When does the tire pressure lamp come on?", history=history)
    assert lamp.answer.startswith("Lamp on"), lamp.answer


# our own wording of a pattern real manuals have: one notice printed in a short and a fuller form, and again for
# another body style with one word changed
TAILGATE = ("WARNING: A raised tailgate sticks out past the body and puts other traffic at risk. You could be hurt. "
            "Keep the tailgate shut while driving.")
TAILGATE_MORE = ("WARNING: A raised tailgate sticks out past the body and puts other traffic at risk. Engine exhaust "
                 "can also be drawn into the cabin. You could be hurt. Keep the tailgate shut while driving.")
TRUNK_LID = TAILGATE_MORE.replace("tailgate", "trunk lid")
PINCH = ("WARNING: Fingers and hands can get caught as the tailgate comes down. You could be hurt. Watch the closing "
         "path while it moves.")


def test_a_notice_said_again_in_other_words_travels_once_the_fuller_one(tmp_path):
    from rag_car.answer.assistant import distinct_notices

    ranked = [("a", TAILGATE), ("b", TAILGATE_MORE), ("c", TRUNK_LID), ("d", PINCH)]
    # the fuller variant takes the first one's place; the trunk-lid variant adds one word; the pinch notice is another
    assert distinct_notices(ranked, 4) == ["b", "d"]
    assert distinct_notices(ranked, 1) == ["b"]
    chunks = [chunk(10, "Tailgate > Safety information", "\n".join([TAILGATE, TAILGATE_MORE, TRUNK_LID, PINCH])),
              chunk(11, "Tailgate > Driving with the tailgate open",
                    "If you have to drive with the tailgate up, close every window and keep your speed down.")]
    answer = make(tmp_path, IndexedRetriever(chunks)).ask("Can I drive with the tailgate open?", persona="owner")
    text = strip_citations(answer.answer)
    assert TAILGATE_MORE in text and PINCH in text, answer.answer
    assert TRUNK_LID not in text and text.count("sticks out past the body") == 1, answer.answer


# our own wording: a section that is one safety notice, and the sections around it
EXHAUST = [
    chunk(30, "Exhaust > Safety information",
          "WARNING: The tail pipe stays hot for a long time after a drive. Touching it can burn the skin. There is a "
          "risk of injury. Keep children away from the tail pipe until it has cooled down."),
    chunk(31, "Exhaust > Tail pipe trim", "The tail pipe trim is stainless steel and is cleaned with a soft cloth."),
]


def refusing(tmp_path, chunks) -> Assistant:
    """An assistant that refuses every question (its bar above any support), to see what a refusal carries."""
    settings = load_settings(overrides={"data_dir": str(tmp_path)})
    return Assistant(settings, retriever=IndexedRetriever(chunks), garage=Garage(),
                     tuning=TUNING.with_answer(abstain_below=10.0))


def test_a_refusal_carries_the_notice_its_closest_section_holds_when_the_question_points_at_it(tmp_path):
    answer = refusing(tmp_path, EXHAUST).ask("Can my child touch the hot tail pipe after a drive?")
    assert answer.abstained, answer.answer
    assert EXHAUST[0].text in strip_citations(answer.answer), answer.answer  # whole, as the section says it
    assert answer.warnings == [EXHAUST[0].text]
    cited = {c.section for c in answer.citations}
    assert "Exhaust > Safety information" in cited


def test_a_refusal_carries_no_notice_of_a_neighbouring_section(tmp_path):
    # the closest section holds no notice of its own: its parent's "Safety information" protects a procedure
    # the answer quotes, but a refusal quotes nothing, so nothing of the neighbourhood travels with it
    answer = refusing(tmp_path, CHUNKS).ask("How do I close the hood from about 30 cm?")
    assert answer.abstained, answer.answer
    assert "Hood > Closing the hood" in answer.answer  # named among the closest sources
    assert HOOD_WARNING not in strip_citations(answer.answer) and not answer.warnings, answer.answer
