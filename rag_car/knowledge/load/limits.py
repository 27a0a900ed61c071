"""A file's bytes -> refused early when unpacking or parsing them would cost far more than their size says.

A 1.5 MB DOCX can unpack to gigabytes, a 5 MB HTML file can nest a million elements, a small PDF can declare
a hundred thousand pages or draw a million characters on one page. Each check here runs before the expensive
work (the XML parser, the HTML parser, pypdf's page tree and text extraction, spaCy) and raises IngestError
naming the file, what was found, the limit and the setting that moves it. The same checks run in
``rag-car ingest`` (through :func:`rag_car.knowledge.load.load_file`) and before the web UI stores an upload.

Long lines are not refused: :func:`split_long_line` cuts them at sentence ends or spaces, so that no NLP
model is handed more than ``max_line_chars`` characters at a time.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from rag_car.errors import IngestError

_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class InputLimits:
    """What one file may unpack to. The defaults are ``[ingest]`` settings (see rag_car/settings.py)."""

    max_unpacked_mb: float = 100.0  # DOCX (ZIP) members, uncompressed, together
    max_zip_members: int = 2000
    max_html_depth: int = 1000  # elements nested in each other; deeper documents are refused
    max_html_elements: int = 300_000
    max_pdf_pages: int = 3000
    max_page_chars: int = 100_000  # text extracted from one PDF page
    max_text_mb: float = 20.0  # text of one file, once decoded or extracted (millions of characters)
    max_line_chars: int = 10_000  # longer lines are split before NLP sees them

    @classmethod
    def from_settings(cls, ingest: Any) -> "InputLimits":
        """The limits of an ``IngestSettings`` section."""
        return cls(max_unpacked_mb=ingest.max_unpacked_mb, max_zip_members=ingest.max_zip_members,
                   max_html_depth=ingest.max_html_depth, max_html_elements=ingest.max_html_elements,
                   max_pdf_pages=ingest.max_pdf_pages,
                   max_page_chars=ingest.max_page_chars, max_text_mb=ingest.max_text_mb,
                   max_line_chars=ingest.max_line_chars)

    @property
    def max_unpacked_bytes(self) -> int:
        return int(self.max_unpacked_mb * 1_000_000)

    @property
    def max_text_chars(self) -> int:
        return int(self.max_text_mb * 1_000_000)


def _fix(setting: str, value: str) -> str:
    env = "RAG_CAR_INGEST__" + setting.upper()
    return (f"if the file is genuine, raise ingest.{setting} ({env}={value} or `{setting} = {value}` under [ingest] "
            f"in rag_car.toml); otherwise do not ingest it")


def check_zip(name: object, data: bytes, limits: InputLimits) -> None:
    """A ZIP package (DOCX) whose members stay within the member count and the unpacked size.

    The central directory is read first (no member is decompressed); then every member is decompressed in
    1 MiB blocks and counted, stopping at the limit, so a package whose headers understate its sizes is
    caught too. Raises IngestError for a package over either limit or whose members do not unpack as declared.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a ZIP at all: the loader says so in its own words
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_zip_members:
            raise IngestError(f"{name} is a ZIP package of {len(members):,} files, over the limit of "
                              f"{limits.max_zip_members:,} (ingest.max_zip_members)",
                              _fix("max_zip_members", str(len(members))))
        declared = sum(m.file_size for m in members)
        cap = limits.max_unpacked_bytes
        if declared > cap:
            raise IngestError(f"{name} unpacks to {declared / 1e6:,.0f} MB, over the limit of "
                              f"{limits.max_unpacked_mb:g} MB (ingest.max_unpacked_mb): a decompression bomb or a very "
                              f"large document", _fix("max_unpacked_mb", f"{declared / 1e6 * 1.1:.0f}"))
        total = 0
        for member in members:
            seen = 0
            try:
                with archive.open(member) as stream:
                    while block := stream.read(_READ_BLOCK):
                        seen += len(block)
                        total += len(block)
                        if seen > member.file_size or total > cap:
                            raise IngestError(
                                f"{name}: member {member.filename} unpacks to more than its header says "
                                f"(over {min(cap, total) / 1e6:,.0f} MB read; limit {limits.max_unpacked_mb:g} MB, "
                                f"ingest.max_unpacked_mb)", "the package is forged or damaged: do not ingest it")
            except IngestError:
                raise
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
                    RuntimeError) as exc:
                # zipfile stops at the declared size; a CRC or length mismatch ends up here
                raise IngestError(f"{name}: member {member.filename} does not unpack as its header declares "
                                  f"({type(exc).__name__}: {exc})",
                                  "the package is damaged or forged: open and re-save it in Word or LibreOffice") from exc


def check_text_size(name: object, chars: int, limits: InputLimits) -> None:
    """Raises IngestError when the decoded or extracted text of a file (``chars`` characters) is over
    ``max_text_mb``."""
    if chars > limits.max_text_chars:
        raise IngestError(f"{name} holds {chars / 1e6:,.1f} million characters of text, over the limit of "
                          f"{limits.max_text_mb:g} million (ingest.max_text_mb)",
                          "split the document; " + _fix("max_text_mb", f"{chars / 1e6 * 1.1:.0f}"))


def check_pdf_pages(name: object, pages: int, limits: InputLimits) -> None:
    """Raises IngestError for a PDF with more pages than ``max_pdf_pages``."""
    if pages > limits.max_pdf_pages:
        raise IngestError(f"{name} is a PDF of {pages:,} or more pages, over the limit of {limits.max_pdf_pages:,} "
                          f"(ingest.max_pdf_pages)", "split it into parts (e.g. qpdf --split-pages=1000 in.pdf out.pdf); "
                          + _fix("max_pdf_pages", str(pages)))


# -- HTML nesting --------------------------------------------------------------------------------------------

# One token of HTML: a comment, a raw-text element (its content holds no tags), a declaration or processing
# instruction, or a tag (attribute values may hold ">").
_HTML_TOKEN = re.compile(
    r"<!--.*?(?:-->|\Z)"
    r"|<(script|style|textarea|title|xmp)\b(?:\"[^\"]*\"|'[^']*'|[^'\">])*>.*?(?:</\1\s*>|\Z)"
    r"|<![^>]*>|<\?[^>]*>"
    r"|<(/?)([A-Za-z][A-Za-z0-9:_-]*)((?:\"[^\"]*\"|'[^']*'|[^'\">])*)>",
    re.DOTALL | re.IGNORECASE,
)
# Elements that never have content.
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr basefont bgsound frame "
                  "keygen command".split())
# Elements the parser closes when a sibling of the same name starts (<p>a<p>b, <li>a<li>b) or a block starts.
_SELF_ENDING = {"p": None, "li": {"li"}, "dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "tr": {"tr"}, "td": {"td", "th", "tr"},
                "th": {"td", "th", "tr"}, "option": {"option"}, "thead": {"tbody", "tfoot"}, "tbody": {"tbody", "tfoot"}}
_BLOCKS = frozenset("address article aside blockquote details div dl fieldset figcaption figure footer form h1 h2 h3 "
                    "h4 h5 h6 header hr main nav ol p pre section table ul".split())
# Elements that carry the document's structure (kept when flattening as long as the depth allows it).
_STRUCTURE = frozenset("html head body h1 h2 h3 h4 h5 h6 p li ul ol dl dt dd table thead tbody tfoot tr td th pre "
                       "blockquote caption".split())


class _Nesting:
    """The stack of open elements as a browser's parser keeps it (implied end tags, void elements), each with a
    flag (written or not, for :func:`flatten_html`)."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, bool]] = []

    def start(self, tag: str, self_closing: bool, written: bool = True) -> list[tuple[str, bool]]:
        """Open ``tag``; returns the elements its start closed (innermost first)."""
        closed: list[tuple[str, bool]] = []
        if tag in _VOID:
            return closed
        if self.stack:
            top = self.stack[-1][0]
            if (top == "p" and (tag in _BLOCKS or tag == "p")) or tag in (_SELF_ENDING.get(top) or ()):
                closed.append(self.stack.pop())
        if not self_closing:
            self.stack.append((tag, written))
        return closed

    def end(self, tag: str) -> list[tuple[str, bool]]:
        """Close ``tag`` and what is open inside it; returns them innermost first (nothing for a stray end tag)."""
        closed: list[tuple[str, bool]] = []
        if any(open_tag == tag for open_tag, _ in self.stack):
            while self.stack:
                closed.append(self.stack.pop())
                if closed[-1][0] == tag:
                    break
        return closed

    @property
    def written(self) -> int:
        return sum(1 for _, flag in self.stack if flag)


def _tags(text: str):
    """(start, end, tag name or "" for other tokens, is an end tag, self-closing) of every token."""
    for match in _HTML_TOKEN.finditer(text):
        name = match.group(3)
        if name is None:
            yield match.start(), match.end(), "", False, False
        else:
            yield (match.start(), match.end(), name.lower(), match.group(2) == "/",
                   match.group(4).rstrip().endswith("/"))


def html_shape(text: str, stop_depth: int | None = None, stop_elements: int | None = None) -> tuple[int, int]:
    """(the deepest nesting of elements, the number of elements) of an HTML text; counting stops once either
    passes its ``stop_`` value."""
    nesting = _Nesting()
    deepest = elements = 0
    for _, _, tag, closing, self_closing in _tags(text):
        if not tag:
            continue
        if closing:
            nesting.end(tag)
            continue
        elements += 1
        nesting.start(tag, self_closing)
        deepest = max(deepest, len(nesting.stack))
        if (stop_depth is not None and deepest > stop_depth) or (stop_elements is not None and elements > stop_elements):
            break
    return deepest, elements


def check_html(name: object, text: str, limits: InputLimits) -> int:
    """The nesting depth of an HTML text; raises IngestError when the depth is over ``max_html_depth`` or the
    number of elements over ``max_html_elements``."""
    depth, elements = html_shape(text, limits.max_html_depth, limits.max_html_elements)
    if depth > limits.max_html_depth:
        raise IngestError(f"{name} nests HTML elements more than {limits.max_html_depth:,} levels deep "
                          f"(ingest.max_html_depth)", "save a simpler copy of the page (e.g. its printable or "
                          "reader view); " + _fix("max_html_depth", str(limits.max_html_depth * 2)))
    if elements > limits.max_html_elements:
        raise IngestError(f"{name} holds more than {limits.max_html_elements:,} HTML elements "
                          f"(ingest.max_html_elements)", "split the page; "
                          + _fix("max_html_elements", str(limits.max_html_elements * 2)))
    return depth


def flatten_html(text: str, keep_depth: int) -> tuple[str, int]:
    """The HTML with its nesting cut to ``keep_depth`` levels by unwrapping elements: (new text, tags dropped).

    HTML parsers built on libxml2 (lxml, so unstructured) drop what is nested deeper than 255 levels.
    Unwrapping keeps every character of text: wrappers (div, span, section, font ...) lose their tags once
    half of ``keep_depth`` is used; headings, paragraphs, list items and tables keep theirs up to
    ``keep_depth``. A block whose tags are dropped is set off by line breaks, so its text stays apart.
    """
    out: list[str] = []
    nesting = _Nesting()
    dropped = 0
    position = 0

    def close(elements: list[tuple[str, bool]]) -> None:
        for tag, written in elements:
            if written:
                out.append(f"</{tag}>")
            elif (tag in _BLOCKS or tag in _STRUCTURE) and out[-1:] != ["<br>"]:
                out.append("<br>")

    for start, end, tag, closing, self_closing in _tags(text):
        if start > position:
            out.append(text[position:start])
        position = end
        if not tag:
            out.append(text[start:end])
            continue
        if closing:
            close(nesting.end(tag))
            continue
        close(nesting.start(tag, self_closing, written=False))
        depth = nesting.written
        write = depth < keep_depth // 2 or (tag in _STRUCTURE and depth < keep_depth)
        if write and nesting.stack and nesting.stack[-1] == (tag, False) and not (tag in _VOID or self_closing):
            nesting.stack[-1] = (tag, True)
        if tag in _VOID or self_closing or write:
            out.append(text[start:end])
        else:
            dropped += 1
            if (tag in _BLOCKS or tag in _STRUCTURE) and out[-1:] != ["<br>"]:
                out.append("<br>")
    out.append(text[position:])
    close(list(reversed(nesting.stack)))
    return "".join(out), dropped


# -- long lines ----------------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?;:](?=\s)")


def split_long_line(line: str, max_chars: int) -> list[str]:
    """``line`` cut into pieces of at most ``max_chars`` characters: after a sentence end when there is one in
    the second half of a piece, else at the last space, else hard."""
    if len(line) <= max_chars:
        return [line]
    pieces: list[str] = []
    rest = line
    while len(rest) > max_chars:
        window = rest[:max_chars]
        cut = -1
        for match in _SENTENCE_END.finditer(window, max_chars // 2):
            cut = match.end()
        if cut < 0:
            cut = window.rfind(" ", max_chars // 2) + 1 or max_chars
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].lstrip()
    if rest.strip():
        pieces.append(rest.strip())
    return [p for p in pieces if p]


def split_long_lines(text: str, max_chars: int) -> tuple[str, int]:
    """``text`` with every line longer than ``max_chars`` split into paragraphs (a blank line between the
    pieces): (new text, lines split)."""
    if max(map(len, text.split("\n")), default=0) <= max_chars:
        return text, 0
    out: list[str] = []
    split = 0
    for line in text.split("\n"):
        if len(line) > max_chars:
            split += 1
            out.append("\n\n".join(split_long_line(line, max_chars)))
        else:
            out.append(line)
    return "\n".join(out), split
