"""rag_car/text: the one sentence splitter, word list and typo corrector that retrieval and answers share."""

from rag_car.text.sentences import sentence_ends, split_sentences
from rag_car.text.typos import TypoCorrector, is_slip
from rag_car.text.words import NEGATIONS, PARTICLES, STOPWORDS, spelled, stem, words


def test_sentences_end_at_marks_before_a_new_sentence_only():
    text = "Check the level approx. 5 min. after stopping, e.g. in the morning. Then top up [1]. [live] Coolant 90 degC."
    assert split_sentences(text) == ["Check the level approx. 5 min. after stopping, e.g. in the morning.",
                                     "Then top up [1].", "[live] Coolant 90 degC."]
    assert split_sentences("Steps: 1. Open the cap. 2. Add fluid.") == ["Steps: 1. Open the cap.", "2. Add fluid."]
    assert split_sentences('Press "OK." Then wait.') == ['Press "OK."', "Then wait."]
    assert split_sentences("contact BMW KOREA Co. or the institute.") == ["contact BMW KOREA Co. or the institute."]
    assert split_sentences("Too hot; stop now. Done") == ["Too hot; stop now.", "Done"]
    assert split_sentences("Too hot; Stop now.", ".!?;") == ["Too hot;", "Stop now."]  # the chunker's cut points
    assert sentence_ends("A sentence still being writ") == []
    assert split_sentences("Ends here.\nnew line starts lower case") == ["Ends here.", "new line starts lower case"]
    # two units joined by slashes, then an abbreviation: "30 km/h/approx. 20 mph" is one value, not two sentences
    assert split_sentences("Starts at 30 km/h/approx. 20 mph. Then hold.") == ["Starts at 30 km/h/approx. 20 mph.",
                                                                            "Then hold."]


def test_one_word_list_keeps_negations_and_drops_asking_words():
    assert NEGATIONS.isdisjoint(STOPWORDS) and PARTICLES.isdisjoint(STOPWORDS)
    assert {"the", "please", "tell", "what", "would"} <= STOPWORDS
    assert spelled("tyres") == "tires" and spelled("bonnet") == "hood" and spelled("boot") == "boot"
    assert spelled("garage") == "garage"  # where a car is parked, not a dealer
    assert stem("warnings") == "warn" and words("Don't drive 5W-30") == ["don't", "drive", "5w-30"]


def test_typos_are_corrected_only_to_a_known_word_one_slip_away():
    known = TypoCorrector({"check": 9, "coolant": 5, "torqu": 3, "thermostat": 2, "lost": 4, "cheek": 1})
    assert known.correct("chek") == "check"  # a letter left out; the more frequent of check/cheek
    assert known.correct("thermsotat") == "thermostat"  # two letters swapped
    assert known.correct("coolent") == "coolant"  # one letter changed in a long word
    assert known.correct("cost") == "cost"  # ... but not in a short one
    assert known.correct("dashcam") == "dashcam" and known.correct("P0301") == "P0301"
    assert is_slip("torq", "torqu") and not is_slip("paint", "point")


def _imported_modules(path) -> set[str]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return out


def test_earlier_stages_never_import_the_answer_stage():
    """vehicle/ and text/ come before answer/ in the data flow: the catalogue reads terms from rag_car.text."""
    from pathlib import Path

    import rag_car

    root = Path(rag_car.__file__).parent
    offenders = {str(p.relative_to(root)): sorted(m for m in _imported_modules(p) if m.startswith("rag_car.answer"))
                 for folder in ("vehicle", "text") for p in (root / folder).rglob("*.py")}
    offenders = {k: v for k, v in offenders.items() if v}
    assert not offenders, offenders
    from rag_car.answer.sentences import terms as answer_terms
    from rag_car.text.terms import terms as text_terms

    assert answer_terms is text_terms  # one copy, not two
    assert text_terms("CoolantTemp warning") == ["coolant", "temperatur", "warn"]
