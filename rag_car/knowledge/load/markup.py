"""Markdown, HTML, DOCX, plain text and reStructuredText -> a Document, through unstructured's partitioners.

HTML (a page's, or the HTML that Markdown and reStructuredText become) loses the text a browser would not show
a reader before it is partitioned (rag_car/knowledge/load/hidden.py); the loader's ``notes`` say how much.

reStructuredText goes through docutils to HTML first (unstructured's own RST path needs pandoc); plain text
gets its underlined headings (``Title`` over ``=====``) recognised before unstructured partitions the blocks
between them. Headers, footers, page numbers and images are dropped; tables are kept whole as rows of
``cell | cell`` text.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.load.document import LIST, TABLE, TEXT, TITLE, Document, Element

_LANGUAGES = ["eng"]  # skips unstructured's per-element language detection (we keep no language metadata)
_DROP = {"Header", "Footer", "PageBreak", "PageNumber", "Image", "Picture"}
_SETEXT = re.compile(r"^\s*([=\-~^*#+`:'\"])\1{2,}\s*$")
_SETEXT_DEPTH = {"=": 0, "#": 0, "*": 0, "-": 1, "~": 2, "^": 3, "+": 3}
_ALIGNED = re.compile(r"\S(?:\s*\.{4,}\s*|\s{3,})\S")  # "Hot idle ...... 100 kPa" or "Item    Value"
_LIST_MARK = re.compile(r"^\s*(?:[-*•+]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+\S")
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MD_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*\n", re.DOTALL)


def _partitioners():
    """unstructured, imported on first use (it is slow to import) with the spaCy model made loadable offline."""
    from rag_car.knowledge.load import nlp
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    nlp.install()
    from unstructured.partition.html import partition_html
    from unstructured.partition.md import partition_md
    from unstructured.partition.text import partition_text

    return partition_md, partition_html, partition_text


def load_markdown(path: Path, text: str, notes: list[str] | None = None) -> Document:
    import markdown

    _, partition_html, _ = _partitioners()
    front, body = split_front_matter(text)
    # as unstructured's partition_md renders it, so that raw HTML in the Markdown is checked for hidden text too
    html = markdown.markdown(body, extensions=["tables", "fenced_code"])
    elements = convert(partition_html(text=_visible(html, notes), languages=_LANGUAGES))
    doc = _document(path, elements, front.get("title", ""))
    apply_front_matter(doc, front)
    return doc


def load_html(path: Path, text: str, notes: list[str] | None = None) -> Document:
    _, partition_html, _ = _partitioners()
    elements = convert(partition_html(text=_visible(text, notes), languages=_LANGUAGES))
    match = _HTML_TITLE.search(text[:20000])
    head_title = " ".join(html_lib.unescape(match.group(1)).split()) if match else ""
    return _document(path, elements, head_title)


def load_rst(path: Path, text: str, notes: list[str] | None = None) -> Document:
    from docutils.core import publish_parts
    from docutils.utils import SystemMessage

    _, partition_html, _ = _partitioners()
    overrides = {
        "report_level": 5, "halt_level": 5, "warning_stream": False,  # unknown Sphinx roles are no errors here
        "file_insertion_enabled": False, "raw_enabled": False,  # a document must not pull in other files
        "syntax_highlight": "none", "input_encoding": "unicode", "doctitle_xform": True,
    }
    try:
        parts = publish_parts(source=text, source_path=str(path), writer="html5", settings_overrides=overrides)
    except (SystemMessage, ValueError, AttributeError, IndexError) as exc:
        raise IngestError(f"{path} is not valid reStructuredText ({exc})", "fix the markup or save it as .txt") from exc
    body = parts["html_body"]
    body = re.sub(r'<div class="system-message.*?</div>', "", body, flags=re.DOTALL)
    elements = convert(partition_html(text=_visible(body, notes), languages=_LANGUAGES))
    title = html_lib.unescape(re.sub(r"<[^>]+>", "", parts.get("title", ""))).strip()
    return _document(path, elements, title)


def _visible(html: str, notes: list[str] | None) -> str:
    """``html`` without its hidden text; the note about what went is added to ``notes``."""
    from rag_car.knowledge.load.hidden import drop_hidden_html

    shown, hidden = drop_hidden_html(html)
    if hidden.pieces and notes is not None:
        notes.append(hidden.note())
    return shown


def load_docx(path: Path, data: bytes | None = None, notes: list[str] | None = None) -> Document:
    """A Word package (``data``: its bytes when already read) without the runs Word hides from a reader."""
    import io

    from rag_car.knowledge.load.hidden_docx import drop_hidden_docx
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    _partitioners()
    from unstructured.partition.docx import partition_docx

    shown, hidden = drop_hidden_docx(data if data is not None else path.read_bytes())
    if hidden.pieces and notes is not None:
        notes.append(hidden.note("Word", "Word"))
    try:
        source = {"file": io.BytesIO(shown)} if shown is not None else {"filename": str(path)}
        raw = partition_docx(**source, languages=_LANGUAGES, include_page_breaks=False)
        core_title = _docx_title(path)
    except Exception as exc:  # python-docx raises zipfile, KeyError and lxml errors for broken files
        raise IngestError(f"{path} is not a readable Word .docx file ({type(exc).__name__}: {exc})",
                          "open and re-save it in Word or LibreOffice (a .doc must be converted to .docx)") from exc
    return _document(path, convert(raw), core_title)


def _docx_title(path: Path) -> str:
    """The title in docProps/core.xml (read from the ZIP: parsing the document a second time is costly)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as package:
            core = package.read("docProps/core.xml").decode("utf-8", errors="replace")
    except (KeyError, OSError, zipfile.BadZipFile):
        return ""
    match = re.search(r"<dc:title>(.*?)</dc:title>", core, re.DOTALL)
    return " ".join(html_lib.unescape(match.group(1)).split()) if match else ""


def load_text(path: Path, text: str, notes: list[str] | None = None) -> Document:
    """Plain text: underlined headings are titles; unstructured partitions the blocks between them."""
    _, _, partition_text = _partitioners()
    elements: list[Element] = []
    lines = text.split("\n")
    block: list[str] = []
    depth_of: dict[str, int] = {}
    bodies: list[tuple[int, str]] = []  # (position in elements, text between headings)

    def flush() -> None:
        body = "\n".join(block).strip()
        block.clear()
        if body:
            bodies.append((len(elements), body))

    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        over = _SETEXT.match(line)
        if over and i + 2 < len(lines) and lines[i + 1].strip() and _SETEXT.match(lines[i + 2]):
            # an over- and underlined title (reST style)
            flush()
            mark = line.strip()[0]
            elements.append(Element(TITLE, lines[i + 1].strip(), depth_of.setdefault("over" + mark, len(depth_of))))
            i += 3
            continue
        under = _SETEXT.match(nxt)
        if line.strip() and not _SETEXT.match(line) and under and len(nxt.strip()) >= min(len(line.strip()), 3) * 0.6:
            flush()
            mark = nxt.strip()[0]
            elements.append(Element(TITLE, line.strip(), depth_of.setdefault(mark, len(depth_of))))
            i += 2
            continue
        block.append(line)
        i += 1
    flush()
    marked_headings = bool(elements)
    for position, body in reversed(bodies):
        elements[position:position] = _text_elements(body, partition_text, demote_titles=marked_headings)
    return _document(path, elements, "")


def _text_elements(body: str, partition_text, demote_titles: bool) -> list[Element]:
    """A run of plain text between headings: aligned blocks (spec lists with dot leaders or column gaps) keep
    their lines; the rest goes through unstructured. When the file marks its headings, unstructured's guessed
    titles (a short line without a verb) are plain text."""
    out: list[Element] = []
    pending: list[str] = []

    def partition() -> None:
        text = "\n\n".join(pending).strip()
        pending.clear()
        if text:
            for element in convert(partition_text(text=text, languages=_LANGUAGES)):
                out.append(Element(TEXT, element.text, 0, element.page) if demote_titles and element.kind == TITLE else element)

    for paragraph in re.split(r"\n\s*\n", body):
        lines = [line.rstrip() for line in paragraph.split("\n") if line.strip()]
        aligned = sum(1 for line in lines if _ALIGNED.search(line.strip()))
        if len(lines) >= 3 and aligned >= 2:
            partition()
            out.append(Element(TABLE, "\n".join(" ".join(line.split()) for line in lines)))
            continue
        # One line per paragraph or list item, so that unstructured's line grouping cannot split or merge them.
        items: list[list[str]] = []
        for line in lines:
            if not items or _LIST_MARK.match(line):
                items.append([])
            items[-1].append(line.strip())
        pending.extend(" ".join(item) for item in items)
    partition()
    return out


def convert(raw) -> list[Element]:
    """unstructured elements -> our Elements (titles keep their depth; tables become row text)."""
    out: list[Element] = []
    for element in raw:
        category = getattr(element, "category", type(element).__name__)
        if category in _DROP:
            continue
        meta = element.metadata
        page = int(getattr(meta, "page_number", None) or 0)
        if category == "Table":
            text = table_text(getattr(meta, "text_as_html", None) or "", element.text)
            if text:
                out.append(Element(TABLE, text, page=page))
            continue
        text = (element.text or "").strip()
        if not text:
            continue
        if category == "Title":
            out.append(Element(TITLE, " ".join(text.split()), int(getattr(meta, "category_depth", None) or 0), page))
        elif category == "ListItem":
            out.append(Element(LIST, text, page=page))
        else:
            out.append(Element(TEXT, text, page=page))
    return out


def table_text(table_html: str, fallback: str) -> str:
    """A table as readable text: one line per row, cells joined by `` | ``."""
    if not table_html:
        return fallback.strip()
    import lxml.html

    try:
        root = lxml.html.fromstring(table_html)
    except Exception:  # lxml raises ParserError or ValueError on odd markup
        return fallback.strip()
    rows = []
    for tr in root.iter("tr"):
        cells = [" ".join(cell.text_content().split()) for cell in tr if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows) if rows else fallback.strip()


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """A leading ``---`` block of ``key: value`` lines (YAML-style front matter) -> (dict, rest of the text)."""
    match = _MD_FRONT_MATTER.match(text)
    if not match:
        return {}, text
    values: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith((" ", "\t", "-")):
            values[key.strip().lower()] = value.strip().strip("\"'")
    return values, text[match.end():]


def apply_front_matter(doc: Document, front: dict[str, str]) -> None:
    """``doc_type:`` and ``vehicle: MAKE/MODEL/YEARS`` from front matter onto the document."""
    from rag_car.knowledge.tags import check_doc_type, parse_vehicle

    if front.get("doc_type"):
        doc.doc_type = check_doc_type(front["doc_type"])
    if front.get("vehicle"):
        vehicle = parse_vehicle(front["vehicle"])
        doc.make, doc.model, doc.year_min, doc.year_max = vehicle.make, vehicle.model, vehicle.year_min, vehicle.year_max


def _document(path: Path, elements: list[Element], title_hint: str) -> Document:
    title = title_hint.strip()
    if not title:
        first_title = next((e for e in elements if e.kind == TITLE), None)
        if first_title is not None and elements.index(first_title) <= 1:
            title = first_title.text
    if not title:
        title = humanize_stem(path)
    return Document(source=path, title=title, elements=elements)


def humanize_stem(path: Path) -> str:
    """``engine_cooling-2021`` -> ``Engine cooling 2021``."""
    words = re.sub(r"[_\-.]+", " ", path.stem).strip()
    return words[:1].upper() + words[1:] if words else path.name
