"""Loaders: every document format through unstructured (and pypdf for PDF) keeps its structure."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from rag_car.knowledge.chunk import chunk_document
from rag_car.knowledge.embed import HashEmbedder
from rag_car.knowledge.load import TABLE, TEXT, TITLE, load_file

EMBEDDER = HashEmbedder()


def chunks_of(path, **kwargs):
    loaded = load_file(path)
    out = []
    for doc in loaded.documents:
        out += chunk_document(doc, {"source": str(path)}, EMBEDDER.count_tokens, **kwargs)
    return loaded, out


def sections(chunks) -> set[str]:
    return {c.metadata["section"] for c in chunks}


def test_markdown_titles_become_section_paths_and_tables_stay_whole(files):
    loaded, chunks = chunks_of(files / "tavo_service.md")
    doc = loaded.documents[0]
    assert doc.title == "Brenner Tavo service manual: cooling"
    assert {"CL-01 Thermostat test", "CL-01 Thermostat test > Thermostat removal", "CL-02 Radiator fan"} <= sections(chunks)
    table = [c for c in chunks if "Opening temperature | 88 C" in c.text]
    assert len(table) == 1 and "Item | Value" in table[0].text and "Fully open | 100 C" in table[0].text
    removal = [c for c in chunks if c.metadata["section"].endswith("Thermostat removal")]
    assert removal and all("housing bolts" in c.text for c in removal)
    assert all(c.metadata["title"] == doc.title for c in chunks)


def test_html_headings_paragraphs_and_table(files):
    loaded, chunks = chunks_of(files / "tavo_lamps.html")
    assert loaded.documents[0].title == "Brenner Tavo warning lamps"
    by_section = {c.metadata["section"]: c.text for c in chunks}
    assert "50 kPa" in by_section["Oil pressure lamp"]
    assert "below 11 V | not charging" in by_section["Charging lamp"]
    assert ",P0562," in next(c.metadata["codes"] for c in chunks if c.metadata["section"] == "Charging lamp")


def test_restructuredtext_goes_through_docutils_without_error_boxes(files):
    loaded, chunks = chunks_of(files / "tavo_guide.rst")
    assert loaded.documents[0].title == "Tavo owner tips"
    assert {"Winter driving", "Winter driving > Checking the oil", "Towing"} <= sections(chunks)
    text = " ".join(c.text for c in chunks)
    assert "keep the level between them" in text  # the note directive's text is kept
    assert "Unknown interpreted text role" not in text and "System Message" not in text


def test_plain_text_underlined_headings_and_aligned_lists(files):
    loaded, chunks = chunks_of(files / "tavo_notes.txt")
    doc = loaded.documents[0]
    assert doc.title == "Brenner Tavo workshop notes"
    assert [e.text for e in doc.elements if e.kind == TITLE] == ["Brenner Tavo workshop notes", "Engine oil", "Idle vibration"]
    spec = next(e for e in doc.elements if e.kind == TABLE)
    assert spec.text.splitlines()[1:] == ["Oil capacity ......... 4.2 litres", "Drain plug ........... 30 Nm", "Filter ............... 25 Nm"]
    assert any("P0301" in c.text and c.metadata["section"] == "Idle vibration" for c in chunks)


def test_docx_heading_styles_table_and_core_title(files):
    loaded, chunks = chunks_of(files / "bulletin.docx")
    assert loaded.documents[0].title == "Service bulletin TSB 21-004: radiator fan relay"
    assert {"Service bulletin TSB 21-004 > Repair", "Service bulletin TSB 21-004 > Warranty"} <= sections(chunks)
    table = next(c for c in chunks if "Fan relay | 44-118-02" in c.text)
    assert "Part | Number" in table.text
    assert all(",21-004," in c.metadata["refs"] for c in chunks)  # the number is in the title of every chunk
    assert any(",44-118-02," in c.metadata["refs"] for c in chunks)  # "part number 44-118-02"


def test_pdf_pages_headings_by_font_size_and_running_footer_dropped(files):
    loaded, chunks = chunks_of(files / "handbook.pdf")
    doc = loaded.documents[0]
    assert doc.title == "Brenner Tavo Owner Handbook"
    titles = [(e.text, e.depth, e.page) for e in doc.elements if e.kind == TITLE]
    assert ("Cooling system", 0, 1) in titles and ("Radiator fan", 1, 1) in titles and ("Brakes", 0, 2) in titles
    pages = {c.metadata["section"]: c.metadata["page"] for c in chunks}
    assert pages["Cooling system > Coolant temperature"] == 1
    assert pages["Brakes > Brake fluid"] == 2
    assert pages["Specifications"] == 3
    assert not any("Owner Handbook - page" in c.text for c in chunks)
    spec = next(c for c in chunks if c.metadata["section"] == "Specifications")
    assert "Coolant capacity | 6.5 litres" in spec.text and "Wheel nut torque | 110 Nm" in spec.text


def test_pdf_encrypted_with_an_empty_user_password_is_read_with_a_warning(files):
    loaded, chunks = chunks_of(files / "encrypted_no_user_password.pdf")
    assert any("empty user password" in w for w in loaded.warnings)
    assert any("DOT 4" in c.text for c in chunks)


def test_real_restructuredtext_vehicle_guides(shared_data):
    guides = sorted((shared_data / "ovms-docs").glob("*.rst"))
    assert len(guides) >= 5
    for guide in guides:
        loaded, chunks = chunks_of(guide)
        doc = loaded.documents[0]
        assert doc.title and chunks, guide
        assert len(sections(chunks)) >= 2, guide
        assert not any("System Message" in c.text for c in chunks), guide
    soul = chunks_of(shared_data / "ovms-docs" / "vehicle_kiasoulev_index.rst")[1]
    support = [c for c in soul if c.metadata["section"] == "Support Overview"]
    assert support and "Function | Support Status" in support[0].text  # an RST simple table kept as rows


def test_spacy_model_name_resolves_offline_to_the_fast_pipeline():
    from rag_car.knowledge.load import nlp

    nlp.install()
    nlp.install()  # idempotent
    import spacy

    pipeline = spacy.load("en_core_web_sm")
    assert pipeline.pipe_names[0] == "sentencizer"
    short = pipeline("Replace the thermostat.")
    assert [t.tag_ for t in short][0] == "VB"
    long_text = " ".join(["the engine coolant sensor reads high"] * 10) + ". Then it stops."
    doc = pipeline(long_text)
    assert len(list(doc.sents)) == 2 and all(t.tag_ == "" for t in doc)  # long texts skip the tagger


@pytest.mark.slow
def test_documents_partition_with_the_network_really_off(files, tmp_path):
    """unstructured's first partition of md/html/txt/docx/pdf must not try to download en_core_web_sm."""
    if shutil.which("unshare") is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare for a network namespace")
    script = (
        "import sys; from pathlib import Path; from rag_car.knowledge.load import load_file\n"
        f"for name in {['tavo_service.md', 'tavo_lamps.html', 'tavo_notes.txt', 'bulletin.docx', 'handbook.pdf', 'tavo_guide.rst']!r}:\n"
        f"    loaded = load_file(Path({str(files)!r}) / name)\n"
        "    print(name, len(loaded.documents[0].elements))\n"
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 443), timeout=2); print('NETWORK UP')\n"
        "except OSError: print('network off')\n"
    )
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -n not permitted here: {probe.stderr.decode()[:200]}")
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "SCARF_NO_ANALYTICS")}
    result = subprocess.run(["unshare", "-n", "--", sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "network off" in result.stdout
    for name in ("tavo_service.md", "tavo_lamps.html", "tavo_notes.txt", "bulletin.docx", "handbook.pdf", "tavo_guide.rst"):
        assert name in result.stdout
    assert "en_core_web_sm" not in result.stderr


def test_list_items_and_text_elements_are_kept(files):
    loaded = load_file(files / "tavo_service.md")
    kinds = {e.kind for e in loaded.documents[0].elements}
    assert {TITLE, TEXT, TABLE} <= kinds
