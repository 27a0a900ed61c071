"""Bad input: each case is a clear error naming the file and the reason; the rest is still ingested and the
index keeps everything it had."""

from __future__ import annotations

import json
import shutil

import pytest

from ingest_helpers import copy_files
from rag_car.errors import IngestError
from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.load import load_file

CASES = [
    ("empty.txt", "is empty (0 bytes)"),
    ("binary.pdf", "has no %PDF- header"),
    ("truncated.pdf", "truncated or damaged PDF"),
    ("corrupt.pdf", "damaged PDF"),
    ("encrypted.pdf", "needs a password"),
    ("zero_pages.pdf", "PDF with no pages"),
    ("scanned.pdf", "scanned PDF with no text layer"),
]


@pytest.mark.parametrize("name, reason", CASES)
def test_broken_files_are_refused_with_their_reason(files, name, reason):
    with pytest.raises(IngestError) as caught:
        load_file(files / name)
    assert reason in caught.value.message
    assert str(files / name) in caught.value.message
    assert caught.value.fix  # and says what to do


def test_a_file_over_the_size_limit(files):
    with pytest.raises(IngestError, match=r"over the limit of 0.001 MB") as caught:
        load_file(files / "handbook.pdf", max_bytes=1000)
    assert "max_file_mb" in caught.value.fix


def test_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        load_file(tmp_path / "nowhere.md")


def test_binary_data_in_a_text_file_and_a_fake_docx(tmp_path):
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    with pytest.raises(IngestError, match="binary file"):
        load_file(tmp_path / "blob.txt")
    (tmp_path / "letter.docx").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600)
    with pytest.raises(IngestError, match="old binary Word .doc"):
        load_file(tmp_path / "letter.docx")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04" + b"not really a zip" * 20)
    with pytest.raises(IngestError, match="not a readable Word .docx"):
        load_file(tmp_path / "broken.docx")


def test_latin1_text_is_read_correctly_with_a_warning(files):
    loaded = load_file(files / "latin1.txt")
    text = " ".join(e.text for e in loaded.documents[0].elements)
    assert "Kühlflüssigkeit erreicht 90 °C" in text and "Überhitzung" in text
    assert loaded.documents[0].title == "Kühlsystem"
    assert any("not valid UTF-8" in w and "Windows-1252" in w for w in loaded.warnings)


def test_invalid_utf8_bytes_are_kept_not_dropped(files):
    loaded = load_file(files / "invalid_utf8.txt")
    text = " ".join(e.text for e in loaded.documents[0].elements)
    assert "Temperature 90 °C" in text and "café note" in text
    assert loaded.warnings == ["1 byte(s) were not valid UTF-8 (first at byte 74) and were read as Windows-1252/Latin-1"]


def test_dtc_table_with_malformed_rows_keeps_the_good_rows(files):
    loaded = load_file(files / "dtc_messy.csv", "dtc-table")
    records = [e.text for e in loaded.documents[0].elements if e.kind == "record"]
    assert "P0101: Mass air flow range/performance" in records  # stray spaces around the fields
    assert "P0171: System too lean, bank 1" in records  # an unquoted comma in the description
    assert "P0301: Cylinder 1 misfire detected" in records  # no separator at all
    assert len(loaded.problems) == 3
    assert loaded.problems[0].startswith("line 13: 'P03X1' is not a DTC code")
    assert loaded.problems[1] == "line 14: code P0302 has no description"
    assert loaded.problems[2].startswith("line 15: no code in the first column")
    assert any("P0102 appears again" in w for w in loaded.warnings)


def test_nhtsa_file_with_a_short_and_a_long_row(files):
    loaded = load_file(files / "nhtsa_recalls_bad_rows.tsv", "nhtsa-recalls")
    assert loaded.problems == [
        "line 3: short row, 6 fields where FLAT_RCL has 24 or 27",
        "line 4: long row, 28 fields where FLAT_RCL has 24 or 27",
    ]
    assert sorted(d.key for d in loaded.documents) == ["21V123000", "22V456001"]


def test_one_run_over_every_bad_input(files, tmp_path, settings):
    """Every bad file is reported with its reason, the good files are ingested, the index keeps what it had."""
    folder = tmp_path / "inbox"
    copy_files(["tavo_service.md", "tavo_lamps.html", "handbook.pdf"], folder)
    first = ingest(settings, [folder])
    assert first.ok and first.count("ingested") == 3
    before = {f.path: f.chunks for f in first.files}

    # now the PDF is replaced by a truncated copy, and every kind of bad input joins the folder
    shutil.copy(files / "truncated.pdf", folder / "handbook.pdf")
    bad = [name for name, _ in CASES if name != "truncated.pdf"] + ["dtc_messy.csv"]
    copy_files(bad + ["latin1.txt", "tavo_notes.txt"], folder)
    shutil.copy(files / "nhtsa_recalls_bad_rows.tsv", folder / "recalls.tsv")
    (folder / "huge.md").write_text("# Big\n\n" + "word " * 300_000)
    settings.ingest.max_file_mb = 1.0
    report = ingest(settings, [folder, tmp_path / "missing-folder"])

    data = report.to_json()
    failed = {f["path"].rsplit("/", 1)[-1]: f["reason"] for f in data["failed"]}
    for name, reason in CASES:
        key = "handbook.pdf" if name == "truncated.pdf" else name
        assert reason in failed[key], (name, failed.get(key))
    assert "over the limit" in failed["huge.md"]
    assert "does not exist" in failed["missing-folder"]
    assert "P03X1" in failed["dtc_messy.csv"] and "short row" in failed["recalls.tsv"]
    assert not report.ok
    statuses = {f.path.rsplit("/", 1)[-1]: f.status for f in report.files}
    assert statuses["latin1.txt"] == statuses["tavo_notes.txt"] == "ingested"
    assert statuses["tavo_service.md"] == statuses["tavo_lamps.html"] == "unchanged"
    assert statuses["dtc_messy.csv"] == statuses["recalls.tsv"] == "ingested"  # good rows kept, still a failure
    assert any("Windows-1252" in w["warning"] for w in data["warnings"])
    json.dumps(data)  # the --json summary is plain data

    # the index still holds the old handbook.pdf chunks: a failed re-read never loses what was there
    from ingest_helpers import store_ids
    from rag_car.knowledge.manifest import open_manifest

    with open_manifest(settings) as manifest:
        entry = manifest.file(str(folder / "handbook.pdf"))
        assert entry is not None and entry.n_chunks == before[str(folder / "handbook.pdf")]
        assert manifest.chunk_ids(entry.path) <= store_ids(settings)
        assert store_ids(settings) == manifest.all_chunk_ids()
