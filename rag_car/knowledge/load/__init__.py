"""Files -> documents: one loader per format, chosen by the source kind and the file extension.

``load_file(path, source, max_bytes, limits)`` returns a :class:`Loaded` (documents, warnings, problems) or raises
IngestError with the reason the file cannot be read. What a file may unpack to (:class:`InputLimits`) is checked
before it is parsed.
"""

from __future__ import annotations

from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.load.document import LIST, RECORD, TABLE, TEXT, TITLE, Document, Element, Loaded
from rag_car.knowledge.load.limits import InputLimits, check_html, check_text_size, check_zip, flatten_html, split_long_lines
from rag_car.knowledge.load.text import decode_text, read_bytes

SOURCE_KINDS = ("auto", "document", "dtc-table", "nhtsa-recalls", "nhtsa-tsbs", "nhtsa-complaints", "nhtsa-investigations")
DOCUMENT_EXTENSIONS = {
    ".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
    ".docx": "docx", ".txt": "text", ".text": "text", ".rst": "rst",
}
TABLE_EXTENSIONS = (".csv", ".tsv")
DATA_EXTENSIONS = (".csv", ".tsv", ".txt", ".text", ".dat")
# libxml2 (lxml, so unstructured's HTML partitioner) drops what is nested deeper than 255 levels
HTML_FLATTEN_DEPTH = 200

__all__ = [
    "DOCUMENT_EXTENSIONS", "SOURCE_KINDS", "Document", "Element", "InputLimits", "LIST", "Loaded", "RECORD", "TABLE", "TEXT", "TITLE",
    "is_supported", "load_file",
]


def is_supported(path: Path, source: str = "auto") -> bool:
    """Whether a file found in a folder walk is one this source kind reads (by extension)."""
    suffix = path.suffix.lower()
    if source in ("auto", "document"):
        return suffix in DOCUMENT_EXTENSIONS or (source == "auto" and suffix in TABLE_EXTENSIONS)
    return suffix in DATA_EXTENSIONS


def load_file(path: Path, source: str = "auto", max_bytes: int = 50_000_000, limits: InputLimits | None = None) -> Loaded:
    """Read one file as the given source kind (``auto``: by extension, sniffing CSV/TSV/TXT for tables).

    ``limits``: what the file may unpack to (default: the defaults of the ``[ingest]`` settings).
    Raises IngestError with what is wrong and what to do: a missing, empty, oversized, binary, damaged,
    encrypted or scanned file, an unsupported type, a table with no valid row, a file over a limit.
    """
    limits = limits or InputLimits()
    if source not in SOURCE_KINDS:
        raise IngestError(f"unknown source kind {source!r}", f"use one of: {', '.join(SOURCE_KINDS)}")
    suffix = path.suffix.lower()
    if source in ("auto", "document") and suffix not in DOCUMENT_EXTENSIONS and suffix not in TABLE_EXTENSIONS:
        raise IngestError(f"{path}: unsupported file type {suffix or '(no extension)'!r}",
                          f"supported: {', '.join(sorted(DOCUMENT_EXTENSIONS))}, .csv (DTC tables) and NHTSA flat files (--source)")
    data = read_bytes(path, max_bytes)

    if source.startswith("nhtsa-") or source == "dtc-table":
        text, warnings = decode_text(data, path)
        check_text_size(path, len(text), limits)
        loaded = _load_table(path, text, source)
        loaded.warnings[:0] = warnings
        return loaded

    kind = DOCUMENT_EXTENSIONS.get(suffix, "table")
    if kind == "pdf":
        from rag_car.knowledge.load.pdf import load_pdf

        doc, warnings = load_pdf(path, data, limits)
        return _checked(Loaded([doc], warnings=warnings, kind="document"))
    if kind == "docx":
        if not data.startswith(b"PK\x03\x04"):
            old = data.startswith(b"\xd0\xcf\x11\xe0")
            raise IngestError(f"{path} is not a .docx file ({'an old binary Word .doc' if old else 'not a ZIP package'})",
                              "save it as .docx (Word 2007 or later) and ingest that")
        check_zip(path, data, limits)
        from rag_car.knowledge.load.markup import load_docx

        warnings = []
        document = load_docx(path, data, warnings)
        return _checked(Loaded([document], warnings=warnings, kind="document"))

    text, warnings = decode_text(data, path)
    check_text_size(path, len(text), limits)
    if source == "auto" and suffix in TABLE_EXTENSIONS + (".txt", ".text"):
        from rag_car.knowledge.load.dtc_table import sniff_dtc_table
        from rag_car.knowledge.load.nhtsa import sniff_nhtsa

        sniffed = sniff_nhtsa(text) or ("dtc-table" if sniff_dtc_table(text) else None)
        if sniffed:
            loaded = _load_table(path, text, sniffed)
            loaded.warnings[:0] = warnings
            return loaded
        if kind == "table":
            raise IngestError(f"{path}: a {suffix} file that is neither a DTC table nor an NHTSA flat file",
                              "pass --source dtc-table, nhtsa-recalls, nhtsa-tsbs, nhtsa-complaints or nhtsa-investigations "
                              "to say what it is")
    if kind == "table":
        raise IngestError(f"{path}: a {suffix} file is read as a table only", "pass --source dtc-table or an nhtsa-* kind")
    from rag_car.knowledge.load import markup

    if kind == "html":
        depth = check_html(path, text, limits)
        if depth > HTML_FLATTEN_DEPTH:
            text, dropped = flatten_html(text, HTML_FLATTEN_DEPTH)
            warnings.append(f"HTML nested {depth} levels deep: {dropped:,} tags below level {HTML_FLATTEN_DEPTH} "
                            "were unwrapped (their text is kept)")
    else:
        text, split = split_long_lines(text, limits.max_line_chars)
        if split:
            warnings.append(f"{split} line(s) longer than {limits.max_line_chars:,} characters were split at sentence "
                            "ends (ingest.max_line_chars)")
    loader = {"markdown": markup.load_markdown, "html": markup.load_html, "rst": markup.load_rst, "text": markup.load_text}[kind]
    document = loader(path, text, warnings)
    return _checked(Loaded([document], warnings=warnings, kind="document"))


def _load_table(path: Path, text: str, source: str) -> Loaded:
    if source == "dtc-table":
        from rag_car.knowledge.load.dtc_table import load_dtc_table

        return load_dtc_table(path, text)
    from rag_car.knowledge.load.nhtsa import load_nhtsa

    return load_nhtsa(path, text, source)


def _checked(loaded: Loaded) -> Loaded:
    """A document with nothing but headings (or nothing at all) is an error, not an empty success."""
    for doc in loaded.documents:
        if not any(e.kind != TITLE and e.text.strip() for e in doc.elements):
            raise IngestError(f"{doc.source} has no text to index (no paragraphs, lists or tables)",
                              "check that the document is not empty or image-only")
    return loaded
