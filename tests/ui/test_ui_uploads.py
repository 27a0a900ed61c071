"""Upload checks: type by content, size limit, safe stored names, no overwrite, the served-file whitelist."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from rag_car.errors import IngestError  # noqa: E402
from ui.sources import resolve_servable, source_url  # noqa: E402
from ui.uploads import check_upload, safe_filename, sniff_kind, store_upload  # noqa: E402

MB = 1_000_000
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _zip(names: list[str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


DOCX = _zip(["[Content_Types].xml", "word/document.xml"])


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\evil.pdf", "evil.pdf"),
    ("/abs/path/Owner Manual (2021).PDF", "Owner_Manual_2021.pdf"),
    (".hidden.md", "hidden.md"),
    ("", "document"),
    ("..", "document"),
    ("re\u0000port\u202e.txt", "report.txt"),
    ("a" * 300 + ".txt", "a" * 80 + ".txt"),
])
def test_safe_filename_strips_paths_and_odd_characters(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("data, kind", [
    (PDF, "pdf"),
    (DOCX, "docx"),
    (_zip(["payload.exe"]), "zip"),
    (b"<!DOCTYPE html><html><body><p>Coolant</p></body></html>", "html"),
    (b"# Coolant\n\nCheck the level when cold.\n", "text"),
    (b"code,description\nP0217,Engine overtemperature\nP0118,ECT sensor high\n", "table"),
    (b"1\t02V288000\tFORD\tFOCUS\t2001\n2\t02V288001\tFORD\tFOCUS\t2002\n3\t02V288002\tFORD\tFOCUS\t2003\n", "table"),
    (b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary"),
])
def test_sniff_kind_reads_the_content(data, kind):
    assert sniff_kind(data) == kind


@pytest.mark.parametrize("name, data", [
    ("manual.pdf", PDF), ("manual.docx", DOCX), ("page.html", b"<html><body>x</body></html>"),
    ("notes.md", b"# x\n"), ("notes.txt", b"plain words\n"), ("guide.rst", b"Title\n=====\n\ntext\n"),
    ("codes.csv", b"P0217,Engine overtemperature\nP0118,ECT high\n"), ("FLAT_RCL.txt", b"1\tA\tB\n2\tC\tD\n"),
    ("flat_complaints.tsv", b"1\tA\tB\n2\tC\tD\n"),
])
def test_accepted_types(name, data):
    check_upload(name, data, MB)


@pytest.mark.parametrize("name, data, needle", [
    ("manual.pdf", DOCX, "content is a Word document"),
    ("manual.pdf", b"just text pretending", "content is plain text"),
    ("notes.txt", PDF, "content is a PDF"),
    ("manual.docx", _zip(["payload.exe"]), "content is a ZIP archive"),
    ("notes.md", b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4, "binary data"),
    ("tool.exe", b"MZ\x90\x00", "not accepted"),
    ("noextension", b"text", "not accepted"),
    ("empty.txt", b"", "is empty"),
])
def test_refused_with_a_reason(name, data, needle):
    with pytest.raises(IngestError) as info:
        check_upload(name, data, MB)
    assert needle in str(info.value)


def test_size_limit():
    with pytest.raises(IngestError, match="over the 1 MB limit") as info:
        check_upload("big.txt", b"x" * (MB + 1), MB)
    assert "max_file_mb" in info.value.fix


def test_store_never_overwrites_and_recognises_duplicates(tmp_path):
    uploads = tmp_path / "uploads"
    first = store_upload("../manual.md", b"# one\n", uploads, MB)
    assert first.path == (uploads / "manual.md").resolve() and not first.duplicate
    second = store_upload("manual.md", b"# two\n", uploads, MB)
    assert second.path.name == "manual-2.md"
    again = store_upload("sub/manual.md", b"# one\n", uploads, MB)
    assert again.duplicate and again.path == first.path
    assert first.path.read_bytes() == b"# one\n" and second.path.read_bytes() == b"# two\n"
    assert sorted(p.name for p in uploads.iterdir()) == ["manual-2.md", "manual.md"]


def test_refused_upload_writes_nothing(tmp_path):
    with pytest.raises(IngestError):
        store_upload("x.pdf", b"not a pdf", tmp_path / "uploads", MB)
    assert not (tmp_path / "uploads").exists() or not any((tmp_path / "uploads").iterdir())


def test_only_known_documents_are_served(tmp_path):
    root = tmp_path / "uploads"
    root.mkdir()
    doc = root / "manual.pdf"
    doc.write_bytes(PDF)
    secret = tmp_path / "secret.txt"
    secret.write_text("no")
    assert resolve_servable(str(doc), roots=[root]) == doc.resolve()
    assert resolve_servable(str(root / ".." / "secret.txt"), roots=[root]) is None
    assert resolve_servable(str(secret), roots=[root]) is None
    assert resolve_servable(str(secret), roots=[root], indexed={str(secret.resolve())}) == secret.resolve()
    assert resolve_servable("/etc/passwd", roots=[root]) is None
    # a file that is no document, though under a served folder (a key, settings, the index's own files): never
    for name in ("id_rsa", "server.key", "rag_car.toml", "chroma.sqlite3", "notes.sh"):
        (root / name).write_text("private")
        assert resolve_servable(str(root / name), roots=[root]) is None, name
        assert resolve_servable(str(root / name), roots=[root], indexed={str((root / name).resolve())}) is None, name
    link = root / "link.pdf"  # a document's name on a link to something else of the machine
    link.symlink_to(secret)
    assert resolve_servable(str(link), roots=[root]) is None
    assert source_url(str(doc), 7).endswith("#page=7")
    assert "#page" not in source_url(str(secret), 7)
