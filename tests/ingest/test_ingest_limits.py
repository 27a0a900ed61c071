"""Hostile and odd input through the real ingest (issue #19): decompression bombs refused by name and limit
while the rest of the folder is ingested; a non-UTF-8 file name, a 1.1 MB line and HTML nested past libxml2's
255 levels handled. Every file is generated here (tests/ingest/bombs.py); nothing big is committed."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import bombs
from ingest_helpers import make_settings
from rag_car.errors import IngestError
from rag_car.knowledge.ingest import ingest
from rag_car.knowledge.load import load_file
from rag_car.knowledge.load.limits import InputLimits, flatten_html, html_shape, split_long_line
from rag_car.knowledge.store import open_store

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ui.uploads import check_upload  # noqa: E402

GOOD = {
    "coolant.md": "# Coolant\n\nThe coolant is replaced every five years with the long-life type.\n",
    "tyres.md": "# Tyres\n\nCheck the tyre pressure monthly, with the tyres cold.\n",
    "wipers.txt": "Wipers\n======\n\nReplace the wiper blades when they streak or judder.\n",
}


def good_files(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in GOOD.items():
        (folder / name).write_text(text, encoding="utf-8")


def by_name(report) -> dict[str, object]:
    return {Path(f.path).name: f for f in report.files}


def stored_chunks(settings) -> list:
    with open_store(settings, create=False) as store:
        return list(store.iter_all())


# -- bombs -----------------------------------------------------------------------------------------------------

BOMBS = [
    ("bomb.docx", lambda p: bombs.make_docx(p, ["A real paragraph."], padding_mb=300),
     r"unpacks to 300 MB, over the limit of 100 MB \(ingest.max_unpacked_mb\)"),
    ("forged.docx", lambda p: bombs.make_lying_docx(p, real_mb=20), r"member word/document.xml does not unpack as its header declares"),
    ("parts.docx", lambda p: bombs.make_docx(p, ["A real paragraph."], extra_members=2500),
     r"ZIP package of 2,503 files, over the limit of 2,000 \(ingest.max_zip_members\)"),
    ("deep.html", lambda p: bombs.make_html_nesting_bomb(p, 200_000), r"more than 1,000 levels deep \(ingest.max_html_depth\)"),
    ("pages.pdf", lambda p: bombs.make_pdf_pages_bomb(p, 10_000), r"PDF of 10,000 or more pages, over the limit of 3,000"),
    ("forged-count.pdf", lambda p: bombs.make_pdf_pages_bomb(p, 4_000, declared_count=3),
     r"PDF of 3,001 or more pages, over the limit of 3,000 \(ingest.max_pdf_pages\)"),
    ("text.pdf", lambda p: bombs.make_pdf_text_bomb(p, 3_000_000), r"more than 100,000 characters of text or page content"),
    ("huge.txt", lambda p: bombs.make_text_bomb(p, 25), r"25.0 million characters of text, over the limit of 20 million"),
]


def test_each_bomb_is_refused_by_name_and_limit_and_the_rest_is_ingested(tmp_path, data_dir):
    folder = tmp_path / "docs"
    good_files(folder)
    for name, make, _ in BOMBS:
        make(folder / name)
    settings = make_settings(data_dir)
    report = ingest(settings, [folder])
    results = by_name(report)
    for name, _, reason in BOMBS:
        result = results[name]
        assert result.status == "failed", (name, result)
        assert re.search(reason, result.reason), (name, result.reason)
        assert name in result.reason  # names the file
        assert "ingest." in result.reason or "forged" in result.reason  # names the setting, or what is wrong
    for name in GOOD:
        assert results[name].status == "ingested", results[name]
    sources = {Path(c.metadata["source"]).name for c in stored_chunks(settings)}
    assert sources == set(GOOD)


def test_limits_are_settings(tmp_path, data_dir):
    folder = tmp_path / "docs"
    folder.mkdir()
    bombs.make_docx(folder / "padded.docx", ["The fuel filter is replaced every 60,000 km."], padding_mb=3)
    parts = "oil filter,air filter,spark plugs,coolant,brake fluid,wiper blades,cabin filter,tyres,battery,belts,hoses,lamps"
    bombs.make_pdf(folder / "manual.pdf", [f"Inspect the {part} at every service and replace them when worn. " * 3
                                           for part in parts.split(",")])
    strict = ingest(make_settings(data_dir, ingest={"max_unpacked_mb": 1, "max_pdf_pages": 10}), [folder])
    results = by_name(strict)
    assert "over the limit of 1 MB" in results["padded.docx"].reason
    assert "PDF of 12 or more pages, over the limit of 10" in results["manual.pdf"].reason
    upload_limits = InputLimits.from_settings(make_settings(data_dir, ingest={"max_unpacked_mb": 1}).ingest)
    with pytest.raises(IngestError, match="over the limit of 1 MB"):
        check_upload("padded.docx", (folder / "padded.docx").read_bytes(), 50_000_000, upload_limits)
    relaxed = ingest(make_settings(data_dir, ingest={"max_unpacked_mb": 10}), [folder])
    assert {r.status for r in relaxed.files} == {"ingested"}, relaxed.to_json()


def test_the_upload_check_refuses_the_same_bombs_before_storing(tmp_path):
    for name, make, reason in BOMBS:
        path = make(tmp_path / name)
        if name == "text.pdf":  # text is counted when it is read: the upload check measures the page content
            reason = r"every page holds more than 100,000 characters of page content \(ingest.max_page_chars\)"
        with pytest.raises(IngestError) as caught:
            check_upload(name, path.read_bytes(), 50_000_000, InputLimits())
        assert re.search(reason, str(caught.value)), (name, str(caught.value))
        assert caught.value.message.startswith(name)


def test_a_pdf_page_over_the_text_limit_is_skipped_and_said(tmp_path):
    path = bombs.make_pdf(tmp_path / "mixed.pdf", ["The spare wheel is under the boot floor. " * 3, "x" * 6000,
                                                   "Tighten the wheel nuts to 110 Nm in a star pattern. " * 3])
    loaded = load_file(path, limits=InputLimits(max_page_chars=2000))
    text = " ".join(e.text for e in loaded.documents[0].elements)
    assert "spare wheel" in text and "110 Nm" in text and "xxxx" not in text
    assert any("page 2 of 3 hold more than 2,000 characters" in w for w in loaded.warnings), loaded.warnings


# -- odd but legal ------------------------------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_is_refused_by_name_and_the_folder_proceeds(tmp_path, data_dir):
    folder = tmp_path / "docs"
    good_files(folder)
    bombs.non_utf8_name(folder)
    settings = make_settings(data_dir)
    report = ingest(settings, [folder])
    results = by_name(report)
    odd = results["caf\\xe9.md"]
    assert odd.status == "failed" and "not valid UTF-8" in odd.reason and "rename" in odd.reason
    assert all(results[name].status == "ingested" for name in GOOD)
    json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8")  # printable as it is
    assert len({c.metadata["source"] for c in stored_chunks(settings)}) == 3
    again = ingest(settings, [folder])  # and again: nothing removed, the odd name refused the same way
    assert by_name(again)["caf\\xe9.md"].status == "failed"
    assert {r.status for n, r in by_name(again).items() if n in GOOD} == {"unchanged"}


def test_a_non_utf8_name_through_the_cli(tmp_path, cli):
    folder = tmp_path / "docs"
    good_files(folder)
    bombs.non_utf8_name(folder)
    done = cli("ingest", str(folder), "--json", "--no-answer-sentences", env={"RAG_CAR_EMBEDDING__MODEL": "hash"})
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    assert summary["files_ingested"] == 3 and summary["files_failed"] == 1
    assert "caf\\xe9.md" in summary["failed"][0]["path"]
    assert "Traceback" not in done.stderr


def test_a_one_line_file_of_1_1_mb_is_split_before_nlp(tmp_path, data_dir):
    folder = tmp_path / "docs"
    folder.mkdir()
    bombs.make_long_line(folder / "one_line.txt", 1_100_000)
    bombs.make_long_line(folder / "one_line.md", 1_100_000)
    settings = make_settings(data_dir)
    report = ingest(settings, [folder])
    for name in ("one_line.txt", "one_line.md"):
        result = by_name(report)[name]
        assert result.status == "ingested", result.reason
        assert result.chunks > 100
        assert any("longer than 10,000 characters were split" in w for w in result.warnings)


def test_a_long_paragraph_in_html_is_read_whole(tmp_path):
    sentence = "The coolant temperature sensor reports to the engine control module every second. "
    path = tmp_path / "long.html"
    path.write_text(f"<html><body><h1>Sensors</h1><p>{sentence * 13_000}</p></body></html>", encoding="utf-8")
    loaded = load_file(path)
    assert sum(len(e.text) for e in loaded.documents[0].elements) > 1_000_000


def test_html_nested_past_255_levels_keeps_every_section(tmp_path, data_dir):
    flat_dir, deep_dir = tmp_path / "flat", tmp_path / "deep"
    flat_dir.mkdir()
    deep_dir.mkdir()
    bombs.make_deep_html(flat_dir / "procedures.html", depth=0)
    bombs.make_deep_html(deep_dir / "procedures.html", depth=300)
    flat = ingest(make_settings(data_dir / "flat"), [flat_dir])
    deep_settings = make_settings(data_dir / "deep")
    deep = ingest(deep_settings, [deep_dir])
    flat_result, deep_result = flat.files[0], deep.files[0]
    assert deep_result.status == "ingested"
    assert deep_result.chunks == flat_result.chunks >= 59
    assert any("nested 303 levels deep" in w for w in deep_result.warnings), deep_result.warnings
    text = " ".join(c.text for c in stored_chunks(deep_settings))
    for i in range(60):
        assert f"step{i}w119" in text  # the last word of every section


def test_flattening_keeps_the_text_and_the_structure_it_can():
    html = ("<body>" + "<div><span>" * 150 + "<h2>Title</h2><p>one <b>two</b></p><ul><li>a<li>b</ul>"
            + "</span></div>" * 150 + "<p>tail</body>")
    flat, dropped = flatten_html(html, 100)
    assert html_shape(flat)[0] <= 100 and dropped > 0
    words = lambda t: re.sub(r"<[^>]+>", " ", t).split()  # noqa: E731
    assert words(flat) == words(html)
    assert "<h2>Title</h2>" in flat and "<li>a" in flat
    # implied ends (<p>, <li>) are not counted as nesting
    assert html_shape("<p>x" * 5000)[0] == 1
    assert html_shape("<ul>" + "<li>x" * 5000 + "</ul>")[0] == 2


def test_split_long_line_cuts_at_sentence_ends():
    line = "Drain the oil. Replace the filter. " * 1000
    pieces = split_long_line(line, 500)
    assert all(len(p) <= 500 for p in pieces)
    assert all(p.endswith(".") for p in pieces[:-1])
    assert " ".join(pieces).split() == line.split()
    assert all(len(p) <= 300 for p in split_long_line("x" * 1000, 300))  # no space at all: cut hard
