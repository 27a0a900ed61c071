"""Regenerate the small ingest fixtures in this folder: `.venv/bin/python tests/files/ingest/make_fixtures.py`.

Every text here is written for rag-car's tests (a fictional "Brenner Tavo" vehicle); the PDFs are made with
fpdf2 and pypdf, the DOCX with python-docx. Nothing is copied from third-party data.
"""

from __future__ import annotations

import io
from pathlib import Path

HERE = Path(__file__).resolve().parent

MANUAL_PARAGRAPHS = {
    "Cooling system": [
        ("Coolant temperature", "The engine coolant normally stays between 85 and 105 C once warm. "
         "If the coolant warning lamp comes on, stop the vehicle when safe and let the engine idle. "
         "A stuck thermostat sets P0128 and a failed fan relay sets P0480."),
        ("Radiator fan", "The radiator fan runs above 98 C and after switch-off while the coolant is hot. "
         "Check fuse F12 and relay R3 when the fan does not run. See service bulletin TSB 21-004 for a fan relay update."),
    ],
    "Brakes": [
        ("Brake fluid", "Replace the brake fluid every two years with DOT 4 fluid. "
         "Low fluid turns on the red brake lamp; check the pads before topping up."),
    ],
}


def make_pdf_manual(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Brenner Tavo Owner Handbook")
    for chapter, sections in MANUAL_PARAGRAPHS.items():
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 10, chapter, new_x="LMARGIN", new_y="NEXT")
        for title, text in sections:
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 13)
            pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, text)
        _footer(pdf)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, "Specifications", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for row in (("Item", "Value"), ("Coolant capacity", "6.5 litres"), ("Wheel nut torque", "110 Nm"), ("Tire pressure front", "240 kPa")):
        pdf.cell(70, 6, row[0])
        pdf.cell(60, 6, row[1], new_x="LMARGIN", new_y="NEXT")
    _footer(pdf)
    pdf.output(str(path))


def _footer(pdf) -> None:
    """A running footer in small print at the same height on every page."""
    pdf.set_auto_page_break(False)
    pdf.set_font("Helvetica", "", 7)
    pdf.set_y(-15)
    pdf.cell(0, 5, f"Brenner Tavo Owner Handbook - page {pdf.page_no()}")
    pdf.set_auto_page_break(True, 20)


def make_scanned_pdf(path: Path) -> None:
    """Two pages of drawings only: what a scan without OCR looks like to a text extractor."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.set_fill_color(120, 120, 120)
        for i in range(12):
            pdf.rect(15, 20 + i * 20, 150 - i * 5, 8, style="F")
    pdf.output(str(path))


def make_encrypted(source: Path, path: Path, user_password: str) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(str(source)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    with open(path, "wb") as handle:
        writer.write(handle)


def make_zero_pages(path: Path) -> None:
    from pypdf import PdfWriter

    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    path.write_bytes(buffer.getvalue())


def make_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Service bulletin TSB 21-004: radiator fan relay"
    document.add_heading("Service bulletin TSB 21-004", level=1)
    document.add_paragraph("Models: Brenner Tavo 2020-2022. The radiator fan may not run at idle, and P0480 is stored.")
    document.add_heading("Repair", level=2)
    document.add_paragraph("Replace relay R3 with part number 44-118-02 and clear the codes.")
    table = document.add_table(rows=3, cols=2)
    for row, (a, b) in zip(table.rows, (("Part", "Number"), ("Fan relay", "44-118-02"), ("Fuse", "F12 30 A"))):
        row.cells[0].text, row.cells[1].text = a, b
    document.add_heading("Warranty", level=2)
    document.add_paragraph("Labour time 0.3 h. Claim with operation code 8812.")
    document.save(str(path))


def main() -> None:
    make_pdf_manual(HERE / "handbook.pdf")
    make_scanned_pdf(HERE / "scanned.pdf")
    make_encrypted(HERE / "handbook.pdf", HERE / "encrypted.pdf", user_password="tavo-secret")
    make_encrypted(HERE / "handbook.pdf", HERE / "encrypted_no_user_password.pdf", user_password="")
    make_zero_pages(HERE / "zero_pages.pdf")
    data = (HERE / "handbook.pdf").read_bytes()
    (HERE / "truncated.pdf").write_bytes(data[: len(data) // 2])
    (HERE / "corrupt.pdf").write_bytes(data[:200] + bytes((i * 37) % 256 for i in range(2000)) + b"\n%%EOF\n")
    (HERE / "binary.pdf").write_bytes(bytes((i * 131 + 7) % 256 for i in range(4096)))
    (HERE / "empty.txt").write_bytes(b"")
    (HERE / "latin1.txt").write_bytes(
        "Kühlsystem\n==========\n\nDie Kühlflüssigkeit erreicht 90 °C. Bei Überhitzung leuchtet die Warnleuchte; "
        "prüfen Sie den Lüfter (Code P0480).\n".encode("latin-1"))
    (HERE / "invalid_utf8.txt").write_bytes(
        "Brake check\n===========\n\nFront pads at 3 mm: replace them. ".encode("utf-8") + b"Temperature 90 \xb0C, "
        + "caf\u00e9 note in UTF-8.\n".encode("utf-8"))
    make_docx(HERE / "bulletin.docx")


if __name__ == "__main__":
    main()
