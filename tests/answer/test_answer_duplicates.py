"""A text the documents print in two sections (a manual repeating a warning in two chapters): retrieval folds the
copies into one passage, and the answer's citation names the other section too (``also_in``), in its label, in
``ask --json`` and for the evaluation's "source cited". Real ingest, real Chroma, real BM25, hash embedder."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from rag_car.answer.assistant import Assistant
from rag_car.answer.evaluate import source_cited
from rag_car.answer.schema import ANSWER_JSON_SCHEMA
from rag_car.answer.sources import also_in
from rag_car.knowledge.retrieve.passage import Passage
from rag_car.settings import load_settings

pytestmark = pytest.mark.slow

WARNING = ("Do not tow the vehicle with the front wheels lifted: the transmission can be damaged. Have the vehicle "
           "transported on a flatbed truck with all four wheels off the road.")
TOWING = f"""# Breakdown help

## Towing

### Tow truck

{WARNING}

### Tow fitting

The screw-in tow fitting is stored in the luggage compartment under the floor panel.
"""
TRANSMISSION = f"""# Transmission

## Automatic transmission

### Transporting the vehicle

{WARNING}

### Selector lever positions

Engage position P before leaving the vehicle and set the parking brake on a slope.
"""
SUNROOF = """# Sunroof

## Opening and closing

Press the switch briefly to open the sunroof fully; hold it to stop at any position.
"""


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    from rag_car.knowledge.ingest import ingest

    root = tmp_path_factory.mktemp("duplicates")
    docs = root / "docs"
    docs.mkdir()
    for name, text in (("towing.md", TOWING), ("transmission.md", TRANSMISSION), ("sunroof.md", SUNROOF)):
        (docs / name).write_text(text, encoding="utf-8")
    settings = load_settings(overrides={"data_dir": str(root / "data"), "embedding": {"model": "hash"}})
    report = ingest(settings, [docs])
    assert not [f for f in report.files if f.status == "failed"]
    with Assistant(settings) as a:
        yield a


def _cited_with(answer, words: str):
    return next(c for c in answer.citations if WARNING.split(":")[0] in c.text or words in c.section)


def test_the_citation_of_a_repeated_warning_names_the_other_section(assistant):
    answer = assistant.ask("Can a tow truck lift the front wheels to tow my car away?")
    assert not answer.abstained, answer.answer
    cited = _cited_with(answer, "Tow truck")
    sections = {Path(cited.source).name + " :: " + cited.section} | {
        Path(ref.source).name + " :: " + ref.section for ref in cited.also_in}
    # both places that print the warning, each once; the section that does not print it is not named
    assert sections == {"towing.md :: Towing > Tow truck",
                        "transmission.md :: Automatic transmission > Transporting the vehicle"}, sections
    assert len(cited.also_in) == 1
    other = cited.also_in[0]
    assert other.section in cited.label() and "also in:" in cited.label()

    data = answer.to_json()
    jsonschema.validate(data, ANSWER_JSON_SCHEMA)
    listed = next(c for c in data["citations"] if c["n"] == cited.n)
    assert listed["also_in"] == [{"source": other.source, "title": other.title, "section": other.section}]

    # the evaluation counts either place as the source cited, and not a section the answer does not name
    for name, section in (("towing.md", "Towing > Tow truck"),
                          ("transmission.md", "Automatic transmission > Transporting the vehicle")):
        assert source_cited([cited], [{"source": name, "section": section}])
    assert not source_cited([cited], [{"source": "sunroof.md", "section": "Opening and closing"}])


def test_a_passage_printed_once_names_no_other_place():
    passage = Passage(chunk_id="a", text="Press the switch.", score=1.0, ranks={},
                      metadata={"source": "/d/sunroof.md", "title": "Sunroof", "section": "Opening and closing"})
    assert also_in(passage) == ()
    # its own section listed among its duplicates (two chunks of one section) is not another place
    passage.duplicates = [{"chunk_id": "b", "source": "/d/sunroof.md", "title": "Sunroof", "section": "Opening and closing"},
                          {"chunk_id": "c", "source": "/d/roof.md", "title": "Roof", "section": "Sunroof"},
                          {"chunk_id": "d", "source": "/d/roof.md", "title": "Roof", "section": "Sunroof"}]
    assert [(r.source, r.section) for r in also_in(passage)] == [("/d/roof.md", "Sunroof")]
