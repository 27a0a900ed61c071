"""Uploaded bytes -> a checked, safely named file under settings.uploads_dir (or a clear refusal).

The type is decided by the content, and the name's extension must agree with it: a ZIP renamed to
``manual.pdf`` or a binary renamed to ``notes.txt`` is refused. Stored names are sanitised (no path,
no hidden files, no control characters) and never overwrite another document: the same name with
other content gets a ``-2``, ``-3`` ... suffix; the very same content is recognised as a duplicate.
What the file may unpack to (ZIP members, HTML nesting, PDF pages, text size: ``[ingest]`` limits) is checked
before it is stored, so a decompression bomb never reaches the index.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.load.limits import InputLimits, check_html, check_text_size, check_zip
from rag_car.knowledge.manifest import file_sha256

# extension -> the kind of content it must hold
EXTENSIONS: dict[str, str] = {
    ".pdf": "pdf",
    ".html": "html", ".htm": "html",
    ".docx": "docx",
    ".md": "text", ".markdown": "text", ".txt": "text", ".rst": "text",
    ".csv": "table", ".tsv": "table",
}
#: What the uploader offers (without dots, as st.file_uploader wants them).
UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in EXTENSIONS)

_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_STEM = 80
_SNIFF = 64 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """An upload that passed the checks: where it went and what it holds."""

    original_name: str
    path: Path
    kind: str
    size: int
    sha256: str
    duplicate: bool = False  # the same bytes were already stored under this path


def safe_filename(name: str) -> str:
    """A file name without directories, hidden-file dots or unusual characters (``../../x.pdf`` -> ``x.pdf``)."""
    base = unicodedata.normalize("NFKC", name or "").replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = _SAFE_CHARS.sub("_", stem).strip("._-")[:_MAX_STEM] or "document"
    ext = _SAFE_CHARS.sub("", ext).lower()
    return f"{stem}.{ext}" if ext else stem


def sniff_kind(data: bytes) -> str:
    """What the bytes are: ``pdf``, ``docx``, ``zip``, ``html``, ``table``, ``text`` or ``binary``."""
    head = data[:_SNIFF]
    if head.lstrip(b"\x00\t\r\n \xef\xbb\xbf")[:5] == b"%PDF-" or b"%PDF-" in head[:1024]:
        return "pdf"
    if head[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return "binary"
        return "docx" if "word/document.xml" in names else "zip"
    text = _decode_text(head)
    if text is None:
        return "binary"
    lowered = text[:4096].lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")) or re.search(r"<(html|body|head)[\s>]", lowered):
        return "html"
    if _looks_tabular(text):
        return "table"
    return "text"


def check_upload(name: str, data: bytes, max_bytes: int, limits: InputLimits | None = None) -> str:
    """The content kind of an upload that may be stored; raises IngestError saying why not (``limits``: what
    it may unpack to, default the ``[ingest]`` defaults)."""
    if not data:
        raise IngestError(f"{name} is empty", "choose a file with content")
    if len(data) > max_bytes:
        raise IngestError(
            f"{name} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit",
            "split the document, or raise ingest.max_file_mb (RAG_CAR_INGEST__MAX_FILE_MB)",
        )
    ext = Path(safe_filename(name)).suffix.lower()
    expected = EXTENSIONS.get(ext)
    if expected is None:
        raise IngestError(
            f"{name}: files of type {ext or '(no extension)'} are not accepted",
            f"upload one of: {', '.join('.' + t for t in UPLOAD_TYPES)}",
        )
    kind = sniff_kind(data)
    if expected == kind or (expected == "text" and kind == "table") or (expected == "table" and kind == "text" and _is_single_column(data)):
        check_unpacked(name, expected, data, limits or InputLimits())
        return expected
    if expected == "html" and kind == "text":
        check_unpacked(name, "html", data, limits or InputLimits())
        return "html"  # an HTML fragment without <html>/<body>: the parser copes
    shown = {"pdf": "a PDF", "docx": "a Word document", "zip": "a ZIP archive", "html": "HTML",
             "table": "a table", "text": "plain text", "binary": "binary data"}[kind]
    raise IngestError(
        f"{name} is named {ext} but its content is {shown}",
        "upload the original file; renaming a file does not convert it",
    )


def check_unpacked(name: str, kind: str, data: bytes, limits: InputLimits) -> None:
    """Raises IngestError when the upload would unpack or parse to more than ``limits`` allow: the ZIP members
    of a DOCX, the pages (and page content) of a PDF, the text (and HTML nesting) of a text file."""
    if kind == "docx":
        check_zip(name, data, limits)
    elif kind == "pdf":
        from rag_car.knowledge.load.pdf import check_pdf

        check_pdf(name, data, limits)
    else:
        from rag_car.knowledge.load.text import decode_text

        text, _ = decode_text(data, Path(name))
        check_text_size(name, len(text), limits)
        if kind == "html":
            check_html(name, text, limits)


def store_upload(name: str, data: bytes, uploads_dir: Path, max_bytes: int,
                 limits: InputLimits | None = None) -> StoredUpload:
    """Check ``data`` and write it under ``uploads_dir`` with a safe, unused name; raises IngestError."""
    kind = check_upload(name, data, max_bytes, limits)
    digest = hashlib.sha256(data).hexdigest()
    uploads_dir = Path(uploads_dir)
    try:
        uploads_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"cannot create the uploads folder {uploads_dir} ({exc})", "check the permissions of the data dir") from exc
    root = uploads_dir.resolve()
    safe = safe_filename(name)
    stem, ext = Path(safe).stem, Path(safe).suffix
    for n in range(1, 1000):
        candidate = root / (safe if n == 1 else f"{stem}-{n}{ext}")
        if candidate.parent != root:  # cannot happen after safe_filename; belt and braces
            raise IngestError(f"{name}: refusing a stored name outside {root}", "rename the file")
        if candidate.exists():
            if candidate.is_file() and file_sha256(candidate) == digest:
                return StoredUpload(name, candidate, kind, len(data), digest, duplicate=True)
            continue
        try:
            # "x": never replace a file another upload wrote between the check and now
            with open(candidate, "xb") as handle:
                handle.write(data)
        except FileExistsError:
            continue
        except OSError as exc:
            raise IngestError(f"cannot write {candidate} ({exc})", "check the free space and permissions of the data dir") from exc
        return StoredUpload(name, candidate, kind, len(data), digest)
    raise IngestError(f"{name}: too many uploads with this name", "rename the file")


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` resolves inside ``root`` (used before serving or deleting a file)."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError):
        return False
    return True


def _decode_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    for encoding in ("utf-8", "cp1252"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            # a multi-byte character cut at the sniff boundary is still text
            if encoding == "utf-8" and exc.start >= len(head) - 3:
                text = head[: exc.start].decode("utf-8")
                break
    else:
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    return None if controls > max(4, len(text) // 100) else text


def _looks_tabular(text: str) -> bool:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) < 2:
        return False
    if len(lines) > 2:
        lines = lines[:-1]  # the last sniffed line may be cut
    for delimiter in ("\t", ",", ";", "|"):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if min(counts) >= 2 and sum(1 for c in counts if c == max(set(counts), key=counts.count)) >= 0.7 * len(counts):
            return True
    return False


def _is_single_column(data: bytes) -> bool:
    text = _decode_text(data[:_SNIFF]) or ""
    return bool(text.strip())


def remove_upload(path: Path, uploads_dir: Path) -> bool:
    """Delete a stored upload (only inside ``uploads_dir``); True when a file was removed."""
    if not is_within(path, uploads_dir) or not Path(path).is_file():
        return False
    os.remove(path)
    return True

