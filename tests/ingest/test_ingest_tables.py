"""DTC tables and NHTSA flat files, on the real third-party samples in ../shared/data and small synthetic ones."""

from __future__ import annotations

from collections import defaultdict

import pytest

from rag_car.errors import IngestError
from rag_car.knowledge.chunk import chunk_document
from rag_car.knowledge.embed import HashEmbedder
from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.load import load_file
from rag_car.knowledge.load.nhtsa import LAYOUTS

count = HashEmbedder().count_tokens


def chunks(loaded):
    out = []
    for doc in loaded.documents:
        out += chunk_document(doc, {"source": str(doc.source), "make": doc.make, "model": doc.model,
                                    "year_min": doc.year_min, "year_max": doc.year_max}, count)
    return out


def test_real_dtc_table_with_section_lines_and_blank_lines(shared_data):
    path = shared_data / "dtc" / "todrobbins_dtcdb_generic.csv"
    loaded = load_file(path)  # auto: sniffed as a DTC table
    assert loaded.kind == "dtc-table" and not loaded.problems
    pieces = chunks(loaded)
    assert len(pieces) > 400
    by_code = defaultdict(list)
    for piece in pieces:
        by_code[piece.metadata["codes"].strip(",")].append(piece)
    misfire = by_code["P0300"][0]
    assert misfire.text.startswith("P0300: ") and "Misfire" in misfire.text
    assert misfire.metadata["section"] == "DTC Codes - P0300-P0399 – Ignition System or Misfire"
    assert loaded.documents[0].doc_type == "dtc"
    assert len(by_code["P0109"]) == 2  # the table's own duplicate row is kept, and reported
    assert any("P0109 appears again" in w for w in loaded.warnings)


def test_dtc_table_without_header():
    from pathlib import Path

    from ingest_helpers import FILES

    loaded = load_file(Path(FILES) / "dtc_noheader.csv")
    assert [e.text for e in loaded.documents[0].elements] == [
        "P0100: Mass air flow circuit", "P0101: Mass air flow range", "P0110: Intake air temperature circuit"]


@pytest.mark.parametrize("name, kind", [
    ("flat_recalls_sample100.tsv", "nhtsa-recalls"),
    ("flat_service_bulletins_sample100.tsv", "nhtsa-tsbs"),
    ("flat_complaints_sample100.tsv", "nhtsa-complaints"),
    ("csvmedkit_nhtsa-complaints_sample.tsv", "nhtsa-complaints"),  # the current 49-field layout
    ("flat_investigations_sample100.tsv", "nhtsa-investigations"),
])
def test_real_nhtsa_samples_one_document_per_record(shared_data, name, kind):
    path = shared_data / "nhtsa" / name
    layout = LAYOUTS[kind]
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    keys = {r[layout.fields.index(layout.key)].strip() for r in rows}
    assert load_file(path).kind == kind  # recognised without --source
    loaded = load_file(path, kind)
    assert not loaded.problems
    assert len(loaded.documents) == len(keys) < len(rows) + 1
    for doc in loaded.documents:
        pieces = chunk_document(doc, {"source": str(path)}, count)
        assert pieces and all(doc.key in p.text for p in pieces), "every chunk carries the record's number"
        assert doc.key in doc.refs
        assert doc.doc_type == {"nhtsa-recalls": "recall", "nhtsa-tsbs": "bulletin", "nhtsa-complaints": "complaint",
                                "nhtsa-investigations": "investigation"}[kind]


def test_a_recall_campaign_for_several_models_is_one_document(shared_data):
    path = shared_data / "nhtsa" / "flat_recalls_sample100.tsv"
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_campaign = defaultdict(list)
    for row in rows:
        by_campaign[row[1]].append(row)
    campaign, group = max(by_campaign.items(), key=lambda kv: len(kv[1]))
    assert len(group) > 2
    doc = next(d for d in load_file(path, "nhtsa-recalls").documents if d.key == campaign)
    first_text = doc.elements[0].text
    for row in group:
        assert row[2] in doc.make and row[3] in doc.model and row[3] in first_text
    years = [int(r[4]) for r in group if r[4] != "9999"]
    assert (doc.year_min, doc.year_max) == (min(years), max(years))
    assert doc.extra["campaign"] == campaign and doc.extra["component"] == group[0][6].strip()
    assert doc.extra["report_date"] == f"{group[0][15][:4]}-{group[0][15][4:6]}-{group[0][15][6:]}"
    assert any(e.text.startswith("Defect: ") for e in doc.elements)


def test_investigations_are_not_recalls(shared_data):
    with pytest.raises(IngestError, match="no row in the FLAT_RCL layout"):
        load_file(shared_data / "nhtsa" / "flat_investigations_sample100.tsv", "nhtsa-recalls")


def test_an_investigation_lists_its_vehicles_dates_and_recall(files):
    loaded = load_file(files / "nhtsa_investigations_synthetic.tsv")
    assert loaded.kind == "nhtsa-investigations" and not loaded.problems
    analysis, evaluation = loaded.documents
    assert analysis.key == "EA21004" and analysis.doc_type == "investigation"
    assert (analysis.make, analysis.model, analysis.year_min, analysis.year_max) == ("BRENNER", "TAVO, TAVO HYBRID", 2020, 2021)
    head = analysis.elements[0].text
    assert "(engineering analysis)" in head and "Opened 2021-03-15; closed 2022-01-10" in head and "22V045000" in head
    assert analysis.refs == ("EA21004", "22V045000")
    assert [e.text.split(":")[0] for e in analysis.elements[1:]] == ["Subject", "Summary"]
    # an open preliminary evaluation: no close date, no campaign, and NHTSA's "no summary" placeholder is not indexed
    assert evaluation.extra["investigation_kind"] == "preliminary evaluation" and "closed" not in evaluation.extra
    assert not any(e.text.startswith("Summary") for e in evaluation.elements)


def test_synthetic_nhtsa_files_through_the_pipeline(files, settings):
    report = ingest(settings, [files / "nhtsa_recalls_synthetic.tsv", files / "nhtsa_tsbs_synthetic.tsv",
                               files / "nhtsa_complaints_synthetic.tsv", files / "nhtsa_investigations_synthetic.tsv"])
    assert report.ok, report.to_json()["failed"]
    from rag_car.knowledge.store import open_store

    with open_store(settings, create=False) as store:
        recalls = store.get(where={"campaign": "21V123000"})
        assert recalls and all(c.metadata["doc_type"] == "recall" for c in recalls)
        first = recalls[0].metadata
        assert first["make"] == "BRENNER" and first["model"] == "TAVO, TAVO HYBRID"
        assert (first["year_min"], first["year_max"]) == (2020, 2021)
        assert ",21V123000," in first["refs"] and ",MFR-77," in first["refs"]
        assert first["vehicles"] == ",BRENNER TAVO,BRENNER TAVO HYBRID,"
        assert all(c.text.startswith("NHTSA recall 21V123000 (") for c in recalls)
        bulletin = store.get(where={"doc_type": "bulletin"})
        assert len({c.metadata["bulletin"] for c in bulletin}) == 1 and ",TSB 21-004," in bulletin[0].metadata["refs"]
        complaint = store.get(where={"odi": "11400001"})
        assert complaint and ",P0480," in complaint[-1].metadata["codes"] and complaint[0].metadata["fail_date"] == "2021-10-12"
        investigation = store.get(where={"doc_type": "investigation"})
        assert {c.metadata["investigation"] for c in investigation} == {"EA21004", "PE23011"}
        assert all(c.metadata["trust"] == "regulator" for c in investigation)
