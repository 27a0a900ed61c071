"""Hostile and odd files, made at test time (nothing big is committed): decompression bombs and legal oddities.

Each ``make_*`` writes one file and returns its path. Used by tests/ingest/test_ingest_limits.py and
benchmarks/bench_bombs.py.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from pathlib import Path

MB = 1_000_000
_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="word/document.xml"/></Relationships>'
)


def _paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def make_docx(path: Path, paragraphs: list[str], padding_mb: int = 0, extra_members: int = 0) -> Path:
    """A DOCX of these paragraphs; ``padding_mb``: that many MB of whitespace inside document.xml (it compresses
    about 1000:1), ``extra_members``: that many tiny extra parts."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", _CONTENT_TYPES)
        package.writestr("_rels/.rels", _RELS)
        with package.open("word/document.xml", "w") as part:
            part.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {_W}><w:body>'.encode())
            part.write("".join(_paragraph(p) for p in paragraphs).encode())
            block = b" " * MB
            for _ in range(padding_mb):
                part.write(block)
            part.write(b"</w:body></w:document>")
        for i in range(extra_members):
            package.writestr(f"customXml/item{i}.xml", "<a/>")
    return path


def make_lying_docx(path: Path, real_mb: int = 50) -> Path:
    """A DOCX whose central directory says document.xml unpacks to 1 KB while it holds ``real_mb`` MB."""
    make_docx(path, ["A forged package."], padding_mb=real_mb)
    data = bytearray(path.read_bytes())
    name = b"word/document.xml"
    at = data.rfind(b"PK\x01\x02", 0, data.rfind(name))  # its central directory entry
    assert at >= 0 and data[at + 46:at + 46 + len(name)] == name
    struct.pack_into("<I", data, at + 24, 1000)  # uncompressed size
    path.write_bytes(bytes(data))
    return path


def make_deep_html(path: Path, depth: int, sections: int = 60, words: int = 120) -> Path:
    """HTML with ``sections`` headed sections inside ``depth`` nested <div>s (depth 0: not nested)."""
    body = "".join(
        f"<h2>Procedure {i}: replace part {i}</h2><p>" + " ".join(f"step{i}w{j}" for j in range(words)) + ".</p>"
        for i in range(sections))
    text = f"<html><head><title>Deep {depth}</title></head><body>{'<div>' * depth}{body}{'</div>' * depth}</body></html>"
    path.write_text(text, encoding="utf-8")
    return path


def make_html_nesting_bomb(path: Path, depth: int = 1_000_000) -> Path:
    """``depth`` unclosed <div>s around one sentence (5 bytes a level)."""
    with open(path, "w", encoding="utf-8") as out:
        out.write("<html><body>")
        out.write("<div>" * depth)
        out.write("<p>The brake fluid is changed every two years.</p></body></html>")
    return path


def make_long_line(path: Path, chars: int = 1_100_000) -> Path:
    """One line of prose, no newline, ``chars`` characters long."""
    sentence = "The coolant temperature sensor reports to the engine control module every second. "
    line = (sentence * (chars // len(sentence) + 1))[:chars]
    path.write_text(line, encoding="utf-8")
    return path


def make_text_bomb(path: Path, mb: int = 40) -> Path:
    """A single line of ``mb`` MB (one word repeated): over the text limit, under the file size limit."""
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(mb):
            out.write("brake " * (MB // 6))
    return path


def non_utf8_name(folder: Path, stem: bytes = b"caf\xe9", text: str = "# Cafe\n\nThe cafe racer has a kick starter.\n") -> Path:
    """A Markdown file named ``caf\\xe9.md`` (Latin-1 bytes, not UTF-8); returns its path (surrogate-escaped)."""
    raw = os.path.join(os.fsencode(folder), stem + b".md")
    with open(raw, "wb") as out:
        out.write(text.encode("utf-8"))
    return Path(os.fsdecode(raw))


# -- PDF -----------------------------------------------------------------------------------------------------

def _pdf(objects: list[bytes]) -> bytes:
    """A PDF file of these objects (object 1 is the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _stream(data: bytes, compress: bool = True) -> bytes:
    if compress:
        data = zlib.compress(data, 9)
        return f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream"
    return f"<< /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


def make_pdf(path: Path, page_texts: list[str], declared_count: int | None = None) -> Path:
    """A text PDF, one page per text (Helvetica, one line per 90 characters); ``declared_count`` forges /Count."""
    n = len(page_texts)
    font = 3 + 2 * n
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {declared_count if declared_count is not None else n} >>".encode())
    for i, text in enumerate(page_texts):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                       f"/Resources << /Font << /F1 {font} 0 R >> >> >>".encode())
        lines = [text[j:j + 90] for j in range(0, len(text), 90)] or [""]
        ops = ["BT /F1 11 Tf 14 TL 50 750 Td"]
        for line in lines:
            escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({escaped}) Tj T*")
        ops.append("ET")
        objects.append(_stream("\n".join(ops).encode("latin-1")))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    path.write_bytes(_pdf(objects))
    return path


def make_pdf_pages_bomb(path: Path, pages: int = 20_000, declared_count: int | None = None) -> Path:
    """``pages`` pages that share one small content stream (a few hundred KB in all)."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{5 + i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {declared_count if declared_count is not None else pages} >>".encode())
    objects.append(_stream(b"BT /F1 11 Tf 50 750 Td (Check the tyre pressure every month.) Tj ET"))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for _ in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
                       b"/Resources << /Font << /F1 4 0 R >> >> >>")
    path.write_bytes(_pdf(objects))
    return path


def make_pdf_text_bomb(path: Path, chars: int = 5_000_000) -> Path:
    """One page drawing ``chars`` characters (its content stream compresses to a few KB)."""
    ops = b"BT /F1 1 Tf 14 TL 0 790 Td\n" + b"(brake fluid brake fluid brake fluid brake fluid brake fluid ) Tj T*\n" * (chars // 60) + b"ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               _stream(ops), b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    path.write_bytes(_pdf(objects))
    return path
