"""PDF bytes -> a Document, page by page: text layer from pypdf, headings from font sizes, paragraphs from
line spacing, then unstructured's text partitioner for the paragraphs between headings.

Refused with a clear reason: a file that is not a PDF, a truncated or damaged PDF, one that needs a password,
one with no pages, a scanned PDF with no text layer, one over the page or text limits (counted before the
page tree is walked and before text is extracted). Pages without text in an otherwise text PDF (drawings,
a scanned insert) and pages over the per-page text limit are skipped with a warning.
"""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.load.document import TABLE, TEXT, TITLE, Document, Element
from rag_car.knowledge.load.limits import InputLimits, check_pdf_pages, check_text_size
from rag_car.knowledge.load.markup import convert, humanize_stem

MIN_PAGE_CHARS = 16  # fewer non-space characters than this: the page has no usable text layer
HEADING_RATIO = 1.15  # a line this much larger than the body text is a heading
_BULLET = re.compile(r"^\s*(?:[•·▪◦‣○●■□\-–*]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+")
_PDF_FIX = "download or export the PDF again"
CELL = " | "  # between the cells of a table row
# bytes of page content (text operators, positions, fonts) allowed per character of ingest.max_page_chars:
# a page of text takes 2-10 bytes per character; a larger stream is drawings, or text no reader could use
CONTENT_BYTES_PER_CHAR = 20


class _PageOverLimit(Exception):
    """A page's content or text is over the per-page limit (raised inside pypdf's text visitor)."""


@dataclass
class _Line:
    text: str
    size: float
    y: float
    page: int


def load_pdf(path: Path, data: bytes, limits: InputLimits | None = None) -> tuple[Document, list[str]]:
    """The document and warnings (pages without text or over the page limit, an empty user password).
    Raises IngestError."""
    import pypdf
    from pypdf.errors import PdfReadError, PyPdfError

    head = data[:1024]
    if b"%PDF-" not in head:
        kind = "an HTML page" if head.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")) else "not a PDF"
        raise IngestError(f"{path} is {kind}: it has no %PDF- header", "check the file: it may be misnamed or a failed download")
    if b"%%EOF" not in data[-4096:]:
        raise IngestError(f"{path} is a truncated or damaged PDF: it has no %%EOF end marker", _PDF_FIX)
    limits = limits or InputLimits()
    warnings: list[str] = []
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)  # pypdf logs every repaired xref entry; the reasons that matter are raised
    try:
        try:
            reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                if reader.decrypt("") == pypdf.PasswordType.NOT_DECRYPTED:
                    raise IngestError(f"{path} is an encrypted PDF that needs a password to open",
                                      "save an unprotected copy (e.g. qpdf --decrypt --password=PASSWORD in.pdf out.pdf) and ingest that")
                warnings.append("encrypted with an empty user password: read without one")
            check_pdf_pages(path, count_pages(reader, limits.max_pdf_pages), limits)
            pages = list(reader.pages)
        except IngestError:
            raise
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
            raise IngestError(f"{path} is a damaged PDF ({type(exc).__name__}: {exc})", _PDF_FIX) from exc
        if not pages:
            raise IngestError(f"{path} is a PDF with no pages", _PDF_FIX)
        lines: list[_Line] = []
        empty_pages: list[int] = []
        over: list[int] = []
        total = 0
        for number, page in enumerate(pages, start=1):
            try:
                page_lines = _page_lines(page, number, limits.max_page_chars)
            except _PageOverLimit:
                over.append(number)
                continue
            except Exception as exc:  # pypdf raises many types on one broken content stream; keep the other pages
                warnings.append(f"page {number} could not be read ({type(exc).__name__}: {exc}): skipped")
                continue
            if sum(len(line.text.replace(" ", "")) for line in page_lines) < MIN_PAGE_CHARS:
                empty_pages.append(number)
                continue
            lines.extend(page_lines)
            total += sum(len(line.text) for line in page_lines)
            if total > limits.max_text_chars:
                check_text_size(path, total, limits)
        title = _metadata_title(reader)
    finally:
        logger.setLevel(level)
    if over:
        note = (f"{_page_list(over)} of {len(pages)} hold more than {limits.max_page_chars:,} characters of text or "
                f"page content (ingest.max_page_chars)")
        if not lines:
            raise IngestError(f"{path}: {note}, and no other page has text",
                              "check the file (a page of a real document holds a few thousand characters); if it is "
                              "genuine, raise ingest.max_page_chars (RAG_CAR_INGEST__MAX_PAGE_CHARS)")
        warnings.append(f"{note}: skipped")
    if not lines:
        raise IngestError(
            f"{path} is a scanned PDF with no text layer ({len(pages)} page(s), no text to index)",
            "run OCR on it first (e.g. ocrmypdf in.pdf out.pdf) and ingest the result",
        )
    if empty_pages:
        warnings.append(f"{_page_list(empty_pages)} of {len(pages)} have no text layer (scanned or drawings) and were not indexed")
    elements = _elements(_drop_running_heads(lines, len(pages)))
    if not title:
        first = next((e for e in elements if e.kind == TITLE), None)
        title = first.text if first is not None and first.page == 1 else humanize_stem(path)
    return Document(source=path, title=title, elements=elements), warnings


def check_pdf(name: object, data: bytes, limits: InputLimits) -> None:
    """The checks of :func:`load_pdf` that come before text extraction, for bytes not yet stored (an upload):
    the page count, and the pages' decoded content against ``max_page_chars``. Raises IngestError when the
    PDF has too many pages or no page within the limit; a PDF pypdf cannot open passes (the ingest says why)."""
    import pypdf

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return
        pages = count_pages(reader, limits.max_pdf_pages)
    except Exception:  # a damaged PDF: the ingest gives the reason in its own words
        return
    check_pdf_pages(name, pages, limits)
    cap = limits.max_page_chars * CONTENT_BYTES_PER_CHAR
    try:
        if all(_content_size(page, cap) > cap for page in reader.pages):
            raise IngestError(f"{name}: every page holds more than {limits.max_page_chars:,} characters of page content "
                              f"(ingest.max_page_chars)", "check the file (a page of a real document holds a few "
                              "thousand characters); if it is genuine, raise ingest.max_page_chars")
    except IngestError:
        raise
    except Exception:  # a page pypdf cannot read is the ingest's to report
        return


def count_pages(reader, stop: int) -> int:
    """The pages of a PDF, counted without building pypdf's page list: the declared /Count, then the leaves of
    the page tree (a forged /Count may understate them), counting stopped past ``stop``."""
    from pypdf.generic import IndirectObject

    pages = reader.root_object["/Pages"].get_object()
    declared = pages.get("/Count")
    if isinstance(declared, int) and declared > stop:
        return int(declared)
    count = 0
    seen: set[int] = set()
    todo = [pages]  # references are resolved when taken, so counting stops without reading the rest
    while todo:
        node = todo.pop().get_object()
        kids = node.get("/Kids") if hasattr(node, "get") else None
        if kids is None:
            count += 1
            if count > stop:
                break
            continue
        for kid in reversed(kids.get_object()):
            if isinstance(kid, IndirectObject):
                if kid.idnum in seen:  # a cycle in the tree
                    continue
                seen.add(kid.idnum)
            todo.append(kid)
    return count


def _content_size(page, stop: int) -> int:
    """Bytes of the page's content streams once decoded, counted until past ``stop`` (pypdf caps what one
    stream may decompress to)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    total = 0
    for stream in contents if isinstance(contents, list) else [contents]:
        total += len(stream.get_object().get_data())
        if total > stop:
            break
    return total


def _page_lines(page, number: int, max_chars: int = 0) -> list[_Line]:
    """The page's text lines, each with its font size and baseline, from the pieces pypdf extracts.

    ``max_chars``: raise _PageOverLimit when the page's decoded content is over CONTENT_BYTES_PER_CHAR times
    this (before extraction, which costs far more per byte) or its text is over it."""
    pieces: list[tuple[str, float, float, float]] = []
    if max_chars and _content_size(page, max_chars * CONTENT_BYTES_PER_CHAR) > max_chars * CONTENT_BYTES_PER_CHAR:
        raise _PageOverLimit(number)
    seen = 0

    def visit(text, cm, tm, font_dict, font_size):
        nonlocal seen
        if not text:
            return
        seen += len(text)
        if max_chars and seen > max_chars:
            raise _PageOverLimit(number)
        a, b, c, d, e, f = _mult(tm, cm)
        scale = math.hypot(c, d) or 1.0
        pieces.append((text, float(font_size or 0) * scale, f, e))

    page.extract_text(visitor_text=visit)
    lines: list[_Line] = []
    chars: Counter[float] = Counter()
    parts: list[str] = []
    y = None

    def end_line():
        nonlocal y
        text = " ".join("".join(parts).split())
        if text:
            size = chars.most_common(1)[0][0] if chars else 0.0
            lines.append(_Line(text, size, y if y is not None else 0.0, number))
        parts.clear()
        chars.clear()
        y = None

    line_x = line_end = None  # where the current line's last piece starts and (roughly) ends
    for text, size, baseline, x in pieces:
        segments = text.split("\n")
        for i, segment in enumerate(segments):
            if i:
                end_line()
                line_x = line_end = None
            if segment:
                width = len(segment) * size * 0.5
                if segment.strip() and parts and i == 0 and line_end is not None and x:
                    # a piece placed far right of where the previous one ends: the next cell of a table row
                    if x - line_end > max(2 * size, 0.15 * (line_end - line_x)):
                        parts.append(CELL)
                if segment.strip():
                    line_x, line_end = x, x + width
                parts.append(segment)
                if segment.strip():
                    chars[round(size, 1)] += len(segment.strip())
                    if y is None:
                        y = baseline
    end_line()
    return lines


def _elements(lines: list[_Line]) -> list[Element]:
    """Lines -> headings (by font size) and paragraphs (by spacing); paragraphs go through unstructured."""
    from rag_car.knowledge.load.markup import _partitioners

    _, _, partition_text = _partitioners()
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted({s for s in sizes if body and s >= body * HEADING_RATIO}, reverse=True)
    depth_of = {size: depth for depth, size in enumerate(heading_sizes)}
    elements: list[Element] = []
    paragraphs: list[tuple[str, int]] = []

    def flush() -> None:
        if not paragraphs:
            return
        by_page: dict[int, list[str]] = {}
        for text, page in paragraphs:
            by_page.setdefault(page, []).append(text)
        for page, texts in by_page.items():
            for element in convert(partition_text(text="\n\n".join(texts), languages=["eng"])):
                if heading_sizes and element.kind == TITLE:  # the fonts say what is a heading here
                    element = Element(TEXT, element.text)
                elements.append(Element(element.kind, element.text, element.depth, page))
        paragraphs.clear()

    previous: _Line | None = None
    current: list[str] = []
    current_page = 0
    rows: list[_Line] = []

    def end_rows() -> None:
        if len(rows) >= 2:
            if current:
                paragraphs.append((_join(current), current_page))
                current.clear()
            flush()
            elements.append(Element(TABLE, "\n".join(r.text for r in rows), page=rows[0].page))
        else:
            for row in rows:
                handle(_Line(row.text.replace(CELL.strip(), " "), row.size, row.y, row.page))
        rows.clear()

    def handle(line: _Line) -> None:
        nonlocal previous, current_page
        is_heading = line.size in depth_of and len(line.text.split()) <= 20
        if is_heading:
            if current:
                paragraphs.append((_join(current), current_page))
                current.clear()
            if previous is not None and elements and elements[-1].kind == TITLE and previous.size == line.size \
                    and not paragraphs and previous.page == line.page:
                last = elements.pop()  # a heading wrapped over two lines
                elements.append(Element(TITLE, f"{last.text} {line.text}", last.depth, last.page))
            else:
                flush()
                elements.append(Element(TITLE, line.text, depth_of[line.size], line.page))
            previous = line
            return
        new_paragraph = (
            not current
            or previous is None
            or (previous.page != line.page and not _continues(previous, line))
            or (previous.size in depth_of)
            or _BULLET.match(line.text) is not None
            or (previous.page == line.page and previous.y and line.y
                and abs(previous.y - line.y) > 1.6 * max(line.size, previous.size, 1.0))
        )
        if new_paragraph and current:
            paragraphs.append((_join(current), current_page))
            current.clear()
        if not current:
            current_page = line.page
        current.append(line.text)
        previous = line

    for line in lines:
        if CELL in line.text and (not rows or rows[-1].page == line.page):
            rows.append(line)
            continue
        end_rows()
        if CELL in line.text:
            rows.append(line)
            continue
        handle(line)
    end_rows()
    if current:
        paragraphs.append((_join(current), current_page))
    flush()
    return elements


def _continues(previous: _Line, line: _Line) -> bool:
    """A paragraph running on from the end of one page to the top of the next."""
    return previous.size == line.size and previous.text[-1:] not in ".:!?" and (line.text[:1].islower() or line.text[:1].isdigit())


def _join(lines: list[str]) -> str:
    text = ""
    for line in lines:
        if text.endswith("-") and line[:1].islower():
            text = text[:-1] + line  # a word hyphenated at the line end
        else:
            text = f"{text} {line}" if text else line
    return text


def _drop_running_heads(lines: list[_Line], n_pages: int) -> list[_Line]:
    """Without running headers and footers: a page's first or last line that repeats on most pages, either
    as the same text (page numbers normalised away) or as small print at the same height."""
    if n_pages < 3:
        return lines
    first: dict[int, _Line] = {}
    last: dict[int, _Line] = {}
    for line in lines:
        first.setdefault(line.page, line)
        last[line.page] = line
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0]
    need = max(3, 0.6 * n_pages)
    drop: set[int] = set()
    for edge in (first, last):
        shapes = Counter(_shape(line.text) for line in edge.values())
        heights = Counter(round(line.y) for line in edge.values() if line.size < body * 0.95 and line.y)
        for line in edge.values():
            if shapes[_shape(line.text)] >= need or (line.size < body * 0.95 and line.y and heights[round(line.y)] >= need):
                drop.add(id(line))
    return [line for line in lines if id(line) not in drop]


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _metadata_title(reader) -> str:
    try:
        title = (reader.metadata.title if reader.metadata else "") or ""
    except Exception:  # a broken info dictionary is no reason to refuse the document
        return ""
    title = " ".join(str(title).split())
    return "" if title.lower() in {"untitled", "microsoft word", ""} or title.lower().endswith((".doc", ".docx", ".pdf")) else title


def _page_list(pages: list[int]) -> str:
    shown = ", ".join(str(p) for p in pages[:10]) + (f" and {len(pages) - 10} more" if len(pages) > 10 else "")
    return f"page{'s' if len(pages) > 1 else ''} {shown}"


def _mult(m, n):
    return (
        m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2], m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5],
    )
