"""The evaluation sets and their scoring: the warning-kept rule, gold sections of a section-marked manual, the set
header, and the consistency of tests/eval/real_manual_qa.jsonl with the real manual it is about (skipped without
../shared/data)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from rag_car.answer.evaluate import KEEP_SHARE, fact_present, load_items, load_set, warning_kept, warning_parts
from rag_car.errors import ConfigError
from rag_car.knowledge.marked_manual import ManualWarning, load_sections
from rag_car.knowledge.retrieve.evaluate import is_hit, load_qa

REPO = Path(__file__).resolve().parents[2]
REAL_SET = REPO / "tests" / "eval" / "real_manual_qa.jsonl"

# a warning of our own, in the manual's shape: cause, risk sentence, instruction
JACK = ManualWarning(
    id="w-jack", type="Warning",
    text="A vehicle raised on the jack alone can slip off and fall. Anyone beneath it may be crushed. "
         "Never work under a vehicle that is supported only by the jack. Use axle stands on firm ground.",
    risk_sentences=("Anyone beneath it may be crushed.",), section_id="s-jack")

MANUAL = """<!-- section-id: s-top -->
# Wheels and jacking

<!-- section-id: s-jack -->
## Jacking the vehicle

Put the jack under the marked point.

<!-- section-id: s-jack-safety -->
### Safety information

<!-- warning-id: w-jack -->
> **WARNING:** A vehicle raised on the jack alone can slip off and fall.

<!-- section-id: s-wheels -->
## Changing a wheel

Loosen the wheel bolts by half a turn first.
"""


def _manual(tmp_path: Path) -> Path:
    folder = tmp_path / "manual_md"
    folder.mkdir()
    (folder / "wheels.md").write_text(MANUAL, encoding="utf-8")
    return folder


def _write_set(tmp_path: Path, lines: list[dict]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def test_a_warning_is_kept_only_with_its_hazard_and_its_instruction():
    hazard, instruction, risks = warning_parts(JACK)
    assert hazard.endswith("be crushed.") and instruction.startswith("Never work under")
    assert risks == ["Anyone beneath it may be crushed."]
    assert warning_kept(JACK, f"Lift at the marked point. {JACK.text} [1]").kept
    # whitespace, case and punctuation do not matter
    assert warning_kept(JACK, JACK.text.upper().replace(". ", ".\n")).kept
    no_instruction = warning_kept(JACK, "A vehicle raised on the jack alone can slip off and fall. Anyone beneath it may be "
                                        "crushed.")
    assert not no_instruction.kept and no_instruction.hazard == 1.0 and no_instruction.instruction < KEEP_SHARE
    no_hazard = warning_kept(JACK, "Never work under a vehicle that is supported only by the jack. Use axle stands on "
                                   "firm ground.")
    assert not no_hazard.kept and no_hazard.instruction == 1.0 and not no_hazard.risk
    assert not warning_kept(JACK, "Jacking the vehicle: put the jack under the marked point.").kept


def test_a_warning_without_a_risk_sentence_is_cut_after_its_first_sentence():
    phone = ManualWarning(id="w-phone", type="Warning", risk_sentences=(), section_id="",
                          text="Stop the vehicle before making a call. Use the hands-free system while driving.")
    hazard, instruction, risks = warning_parts(phone)
    assert (hazard, instruction, risks) == ("Stop the vehicle before making a call.",
                                            "Use the hands-free system while driving.", [])
    assert warning_kept(phone, phone.text).kept and not warning_kept(phone, "Use the hands-free system.").kept


def test_gold_sections_hold_their_subsections_only(tmp_path):
    sections = load_sections(_manual(tmp_path))
    assert sections["s-jack"].path == "Jacking the vehicle"
    assert sections["s-jack-safety"].path == "Jacking the vehicle > Safety information"
    assert sections["s-top"].path == "" and "marked point" in sections["s-jack"].text
    jack = {"source": "wheels.md", "section": "", "path": "Jacking the vehicle"}
    assert is_hit("/any/where/wheels.md", "Jacking the vehicle > Safety information", jack)
    assert is_hit("wheels.md", "jacking  the vehicle", jack)
    assert not is_hit("wheels.md", "Changing a wheel", jack)
    assert not is_hit("other.md", "Jacking the vehicle", jack)
    assert not is_hit("wheels.md", "Jacking the vehicle extra", jack)  # a prefix of the words is not the section


def test_a_set_header_resolves_corpus_warnings_and_gold_ids(tmp_path):
    _manual(tmp_path)
    (tmp_path / "warnings.jsonl").write_text(json.dumps({
        "warning_id": JACK.id, "type": JACK.type, "warning_text": JACK.text, "risk_sentences": list(JACK.risk_sentences),
        "gold_section_id": "s-jack", "extra_ids": ["w-jack-2"]}) + "\n", encoding="utf-8")
    header = {"meta": {"data_root": ".", "corpus": "manual_md", "warnings": "warnings.jsonl"}}
    path = _write_set(tmp_path, [header,
                                 {"id": "a", "question": "can I get under the car on the jack", "kind": "warning",
                                  "warning_id": "w-jack-2", "gold_section_id": "s-jack", "safety": True},
                                 {"id": "b", "question": "bolts?", "kind": "fact", "facts": ["half a turn"],
                                  "gold_section_id": "s-wheels", "alt_section_ids": ["s-top"]},
                                 {"id": "c", "question": "0-60?", "kind": "uncovered", "answerable": False}])
    qa_set = load_set(path)
    assert [i.id for i in qa_set.items] == ["a", "b", "c"]  # the header is no question
    assert qa_set.warnings["w-jack-2"].id == "w-jack"  # an extra id names the same warning
    assert qa_set.items[0].expected == [{"source": "wheels.md", "section": "", "path": "Jacking the vehicle"}]
    assert [e["path"] for e in qa_set.items[1].expected] == ["Changing a wheel", ""]
    assert [i.id for i in load_qa(path)] == ["a", "b", "c"]  # the retrieval evaluation reads the same file
    assert load_qa(path)[0].expected == qa_set.items[0].expected

    with pytest.raises(ConfigError, match="not at"):
        load_set(path, data_root=tmp_path / "elsewhere")
    bad = _write_set(tmp_path, [header, {"id": "x", "question": "q", "gold_section_id": "s-none"}])
    with pytest.raises(ConfigError, match="s-none"):
        load_items(bad)
    unknown = _write_set(tmp_path, [header, {"id": "y", "question": "q", "warning_id": "w-none", "safety": True}])
    with pytest.raises(ConfigError, match="questions y name warnings"):
        load_set(unknown)


def test_sets_without_a_header_load_as_before():
    items = load_items(REPO / "tests" / "eval" / "qa.jsonl")
    assert len(items) > 100 and all(not i.warning_id for i in items)
    assert load_set(REPO / "tests" / "eval" / "real_qa.jsonl").info.corpus is None


# -- the development set over the real manual --------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_set():
    meta = json.loads(REAL_SET.read_text(encoding="utf-8").splitlines()[0])["meta"]
    if not (REAL_SET.parent / meta["data_root"] / meta["corpus"]).is_dir():
        pytest.skip("the real manual is not in ../shared/data")
    return load_set(REAL_SET)


def test_real_manual_set_has_the_issue_mix(real_set):
    kinds = Counter(i.kind for i in real_set.items)
    n = len(real_set.items)
    assert n >= 100 and set(kinds) == {"warning", "fact", "uncovered"}
    assert 0.55 <= kinds["warning"] / n <= 0.65 and 0.2 <= kinds["fact"] / n <= 0.3 and 0.1 <= kinds["uncovered"] / n <= 0.2
    assert len({i.id for i in real_set.items}) == n and len({i.question for i in real_set.items}) == n
    for item in real_set.items:
        if item.kind == "warning":
            assert item.safety and item.answerable and item.warning_id in real_set.warnings and item.expected
        elif item.kind == "fact":
            assert item.facts and item.answerable and item.expected
        else:
            assert not item.answerable and not item.expected
    words = Counter(len(i.question.split()) for i in real_set.items)
    assert words[1] >= 2 and max(words) >= 15  # one-word questions and long ones


def test_real_manual_set_states_facts_its_gold_sections_hold(real_set):
    sections = real_set.info.sections
    for item in (i for i in real_set.items if i.kind == "fact"):
        texts = [s.text + " " + s.path for s in sections.values()
                 if any(e["path"] == s.path and e["source"] == s.source for e in item.expected)]
        for fact in item.facts:
            assert any(fact_present(fact, text) for text in texts), (item.id, fact)


def test_real_manual_warnings_are_kept_when_quoted_from_the_manual(real_set):
    """The rule is satisfiable: each warning's own block quote in the manual keeps it; its hazard alone does not
    (except where the hazard already says what to do in the instruction's words: at most a few)."""
    blocks = {m.group(1): m.group(2) for s in real_set.info.sections.values()
              for m in re.finditer(r"<!-- warning-id: (\S+) -->\s*\n((?:>.*\n?)+)", s.text + "\n")}
    hazard_alone = []
    for item in (i for i in real_set.items if i.warning_id):
        warning = real_set.warnings[item.warning_id]
        quoted = next(blocks[i] for i in (warning.id, *warning.extra_ids) if i in blocks)
        assert warning_kept(warning, quoted).kept, item.id
        hazard, instruction, _ = warning_parts(warning)
        if instruction and warning_kept(warning, hazard).kept:
            hazard_alone.append(item.id)
    assert len(hazard_alone) <= 3, hazard_alone


def test_real_manual_questions_are_our_own_words(real_set):
    """No question repeats six words in a row of the manual (the manual's text stays out of the repository)."""
    text = " ".join(p.read_text(encoding="utf-8").lower() for p in real_set.info.corpus.glob("*.md"))
    words = re.findall(r"[a-z0-9]+", text)
    grams = {tuple(words[i:i + 6]) for i in range(len(words) - 5)}
    for item in real_set.items:
        q = re.findall(r"[a-z0-9]+", item.question.lower())
        assert not any(tuple(q[i:i + 6]) in grams for i in range(len(q) - 5)), item.id


def test_uncovered_answers_that_carry_a_warning_are_counted():
    from rag_car.answer.evaluate import AnswerItem, BackendReport, format_reports, score_answer
    from rag_car.answer.schema import Answer

    def answer(question: str, warnings: list[str], abstained: bool) -> Answer:
        return Answer(question=question, answer="The documents do not cover this.", backend="extractive",
                      persona="owner", grounded=True, warnings=warnings, abstained=abstained)

    uncovered = [AnswerItem(id=f"u{n}", question=f"uncovered {n}", answerable=False) for n in range(4)]
    answers = [answer("u0", ["WARNING Do not touch the hot exhaust."], True), answer("u1", [], True),
               answer("u2", [], False), answer("u3", [], True)]
    report = BackendReport(backend="extractive",
                           items=[score_answer(i, a, chunks=[]) for i, a in zip(uncovered, answers)])
    assert report.metrics()["uncovered_warned"] == 0.25
    assert "| uncovered answers carrying a warning |  | 25.0% |" in format_reports([report])
    answered = AnswerItem(id="a", question="answered", facts=["x"])
    only_answerable = BackendReport(backend="extractive", items=[score_answer(answered, answers[0], chunks=[])])
    assert only_answerable.metrics()["uncovered_warned"] is None
