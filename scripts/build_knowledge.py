"""Our own Markdown-like source text (scripts/knowledge_src/) -> the bundled PDF and DOCX documents in knowledge/.

Run `python scripts/build_knowledge.py` to rebuild, `--check` to verify the committed files are what this script
produces (byte for byte: fixed dates and metadata, fixed zip timestamps, core PDF fonts only).

The source format is a small subset of Markdown, one block per blank-line-separated paragraph:
    # / ## / ###          headings (H1 starts a new page in PDFs)
    1. text / - text      numbered steps / bullets (one line each)
    | a | b |             table rows; the row after the first must be |---|---|
    WARNING: / CAUTION: / NOTICE: text   a safety block
    **bold** and `code`   inline (code is kept as plain text in the PDF)
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIR = Path(__file__).resolve().parent / "knowledge_src"
KNOWLEDGE_DIR = REPO / "knowledge"

# Fixed metadata so that rebuilding gives byte-identical files.
BUILD_DATE = dt.datetime(2024, 9, 2, 8, 0, 0, tzinfo=dt.timezone.utc)
ZIP_DATE = (2024, 9, 2, 8, 0, 0)
AUTHOR = "Aldmoor Motor Company (fictional; written for rag-car)"
PAGE_SIZES_MM = {"A4": (210, 297), "A5": (148, 210)}


@dataclass(frozen=True)
class Target:
    """One generated document: source file (relative to knowledge_src/), output (relative to knowledge/), kind."""

    source: str
    output: str
    kind: str  # "pdf" or "docx"
    page_format: str = "A4"
    running_title: str = ""
    page_break_level: int = 1  # PDF: headings at this level or above start a new page


TARGETS = (
    Target("owners_manual.md", "owner/corrin_owners_manual.pdf", "pdf", "A5", "Aldmoor Corrin Owner's Manual", 2),
    Target("service_charging_starting.md", "service/charging_starting.docx", "docx"),
    Target("bulletins/ASB-22-011.md", "bulletins/ASB-22-011.docx", "docx"),
    Target("bulletins/ASB-23-009.md", "bulletins/ASB-23-009.docx", "docx"),
    Target("bulletins/ASB-21-009.md", "bulletins/ASB-21-009.pdf", "pdf", "A4", "Aldmoor Service Bulletin"),
)


# ---------------------------------------------------------------------------------------------------------------
# Source text -> blocks

@dataclass
class Block:
    kind: str  # heading, para, step, bullet, table, safety
    text: str = ""
    level: int = 0
    number: str = ""
    rows: list[list[str]] = field(default_factory=list)


_SAFETY = re.compile(r"^(WARNING|CAUTION|NOTICE):\s*(.*)$", re.S)
_STEP = re.compile(r"^(\d+)\.\s+(.*)$")


def parse_source(text: str) -> list[Block]:
    """Parse the source subset into blocks; raises ValueError on a malformed table."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [line.rstrip() for line in chunk.strip().splitlines()]
        first = lines[0]
        if first.startswith("#"):
            hashes = len(first) - len(first.lstrip("#"))
            blocks.append(Block("heading", first[hashes:].strip(), level=hashes))
            if len(lines) > 1:
                blocks.extend(parse_source("\n".join(lines[1:])))
        elif first.startswith("|"):
            if len(lines) < 2 or not re.match(r"^\|[\s:|-]+\|$", lines[1]):
                raise ValueError(f"table without a |---| separator row: {first!r}")
            rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in [lines[0], *lines[2:]]]
            blocks.append(Block("table", rows=rows))
        elif _STEP.match(first) or first.startswith("- "):
            for line in lines:
                step = _STEP.match(line)
                if step:
                    blocks.append(Block("step", step.group(2), number=step.group(1)))
                elif line.startswith("- "):
                    blocks.append(Block("bullet", line[2:]))
                else:  # continuation of the previous item
                    blocks[-1].text += " " + line.strip()
        elif _SAFETY.match(" ".join(lines)):
            match = _SAFETY.match(" ".join(lines))
            blocks.append(Block("safety", match.group(2), number=match.group(1)))
        else:
            blocks.append(Block("para", " ".join(lines)))
    return blocks


def plain(text: str) -> str:
    """Inline markup removed: the text as a reader (and a PDF text extractor) sees it."""
    return text.replace("**", "").replace("`", "")


# ---------------------------------------------------------------------------------------------------------------
# PDF (fpdf2, core fonts: Latin-1 only, so nothing depends on fonts installed on the machine)

def build_pdf(blocks: list[Block], target: Target) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), target.running_title)

    class ManualPDF(FPDF):
        chapter = ""

        def header(self) -> None:
            if self.page_no() == 1:
                return
            self.set_font("Helvetica", "", 7)
            self.set_text_color(90, 90, 90)
            self.cell(0, 4, f"{target.running_title} - {self.chapter}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_draw_color(150, 150, 150)
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(2)
            self.set_text_color(0, 0, 0)

        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("Helvetica", "", 7)
            self.set_text_color(90, 90, 90)
            self.cell(0, 5, f"Page {self.page_no()}", align="C")
            self.set_text_color(0, 0, 0)

    small = target.page_format == "A5"
    pdf = ManualPDF(format=PAGE_SIZES_MM[target.page_format])
    pdf.set_margins(12 if small else 18, 12, 12 if small else 18)
    pdf.set_auto_page_break(True, margin=14)
    pdf.set_creation_date(BUILD_DATE)
    pdf.set_title(title)
    pdf.set_author(AUTHOR)
    pdf.set_subject(target.running_title)
    pdf.set_creator("rag-car scripts/build_knowledge.py")
    pdf.set_producer("fpdf2")
    pdf.set_lang("en")
    body = 8.5 if small else 10
    line_h = body * 0.5

    def write_text(text: str, size: float = body, style: str = "", indent: float = 0) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.set_x(pdf.l_margin + indent)
        width = pdf.w - pdf.l_margin - pdf.r_margin - indent
        # Bold headings are set as plain text; body text keeps **bold** through fpdf2's markdown.
        pdf.multi_cell(width, line_h, plain(text) if style else text.replace("`", ""), markdown=not style,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    for block in blocks:
        if pdf.page_no() == 0:
            pdf.add_page()
        if block.kind == "heading":
            if block.level == 1:
                pdf.chapter = block.text
            elif block.level <= target.page_break_level:
                pdf.chapter = block.text
                pdf.add_page()
            elif pdf.get_y() > pdf.h - 40:  # keep a heading with the text that follows it
                pdf.add_page()
            pdf.start_section(block.text, level=block.level - 1)
            pdf.ln({1: 2, 2: 2.5}.get(block.level, 1.5))
            size = body + {1: 7, 2: 3.5}.get(block.level, 1.5)
            pdf.set_font("Helvetica", "B", size)
            # Shrink a long heading until it fits one line: extracted text then keeps the title on its own line.
            while size > body and pdf.get_string_width(block.text) > pdf.w - pdf.l_margin - pdf.r_margin - 1:
                size -= 0.5
                pdf.set_font("Helvetica", "B", size)
            write_text(block.text, size, "B")
            pdf.ln(2 if block.level == 1 else 1)
        elif block.kind == "para":
            write_text(block.text)
            pdf.ln(1.5)
        elif block.kind == "step":
            write_text(f"{block.number}. {block.text}", indent=3)
            pdf.ln(0.8)
        elif block.kind == "bullet":
            write_text(f"- {block.text}", indent=3)
            pdf.ln(0.8)
        elif block.kind == "safety":
            pdf.ln(1)
            pdf.set_fill_color(*({"WARNING": (255, 228, 214), "CAUTION": (255, 243, 205)}.get(block.number, (226, 236, 247))))
            pdf.set_font("Helvetica", "", body)
            # The label stays on the same line as the text so that a text extractor does not take it for a heading.
            pdf.multi_cell(0, line_h + 0.3, f"**{block.number}:** {plain(block.text)}", fill=True, markdown=True,
                           padding=1.2, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_fill_color(255, 255, 255)  # the fill colour would otherwise leak into the next table
            pdf.ln(2)
        elif block.kind == "table":
            pdf.set_font("Helvetica", "", body - 0.5)
            with pdf.table(line_height=line_h, text_align="LEFT", first_row_as_headings=True,
                           headings_style=_heading_style()) as table:
                for row in block.rows:
                    cells = table.row()
                    for cell in row:
                        cells.cell(plain(cell))
            pdf.ln(2)
    return bytes(pdf.output())


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(225, 225, 225))


# ---------------------------------------------------------------------------------------------------------------
# DOCX (python-docx), repacked with fixed zip timestamps

def build_docx(blocks: list[Block], target: Target) -> bytes:
    import docx
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), target.output)
    props = document.core_properties
    props.title = title
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.created = BUILD_DATE.replace(tzinfo=None)
    props.modified = BUILD_DATE.replace(tzinfo=None)
    props.last_printed = BUILD_DATE.replace(tzinfo=None)
    props.revision = 1
    props.comments = "Generated by rag-car scripts/build_knowledge.py from our own source text."

    def add_inline(paragraph, text: str) -> None:
        for part in re.split(r"(\*\*[^*]+\*\*|`[^`]+`)", text):
            if not part:
                continue
            if part.startswith("**"):
                paragraph.add_run(part[2:-2]).bold = True
            elif part.startswith("`"):
                run = paragraph.add_run(part[1:-1])
                run.font.name = "Consolas"
                run.font.size = Pt(9.5)
            else:
                paragraph.add_run(part)

    for block in blocks:
        if block.kind == "heading":
            document.add_heading(block.text, level=min(block.level, 3))
        elif block.kind == "para":
            add_inline(document.add_paragraph(), block.text)
        elif block.kind in ("step", "bullet"):
            paragraph = document.add_paragraph()
            paragraph.paragraph_format.left_indent = Pt(18)
            paragraph.paragraph_format.first_line_indent = Pt(-14)
            paragraph.paragraph_format.space_after = Pt(3)
            add_inline(paragraph, (f"{block.number}.\t" if block.kind == "step" else "-\t") + block.text)
        elif block.kind == "safety":
            paragraph = document.add_paragraph()
            label = paragraph.add_run(f"{block.number}: ")
            label.bold = True
            label.font.color.rgb = RGBColor(0xB0, 0x20, 0x00) if block.number == "WARNING" else RGBColor(0x80, 0x50, 0x00)
            add_inline(paragraph, block.text)
        elif block.kind == "table":
            table = document.add_table(rows=len(block.rows), cols=len(block.rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(block.rows):
                for c, cell in enumerate(row):
                    paragraph = table.cell(r, c).paragraphs[0]
                    add_inline(paragraph, f"**{cell}**" if r == 0 and cell else cell)
            document.add_paragraph()

    raw = io.BytesIO()
    document.save(raw)
    return _repack_zip(raw.getvalue())


def _repack_zip(data: bytes) -> bytes:
    """The same zip with every entry dated ZIP_DATE (python-docx stamps entries with the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------------------

def render(target: Target, source_dir: Path = SOURCE_DIR) -> bytes:
    """The bytes of one generated document; raises ValueError when the source has text a PDF core font cannot show."""
    text = (source_dir / target.source).read_text(encoding="utf-8")
    blocks = parse_source(text)
    if target.kind == "pdf":
        try:
            text.encode("latin-1")
        except UnicodeEncodeError as exc:
            bad = text[exc.start:exc.end]
            raise ValueError(f"{target.source}: {bad!r} is not Latin-1; PDF sources use core fonts only") from None
        return build_pdf(blocks, target)
    return build_docx(blocks, target)


def build_all(out_dir: Path = KNOWLEDGE_DIR) -> list[Path]:
    """Write every target under out_dir and return the written paths."""
    written = []
    for target in TARGETS:
        path = out_dir / target.output
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(target))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = parser.parse_args(argv)
    if not args.check:
        for path in build_all():
            print(f"wrote {path.relative_to(REPO)} ({path.stat().st_size:,} bytes)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        build_all(Path(tmp))
        stale = [t.output for t in TARGETS
                 if not (KNOWLEDGE_DIR / t.output).is_file()
                 or (Path(tmp) / t.output).read_bytes() != (KNOWLEDGE_DIR / t.output).read_bytes()]
    for output in stale:
        print(f"out of date: knowledge/{output} (run python scripts/build_knowledge.py)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
