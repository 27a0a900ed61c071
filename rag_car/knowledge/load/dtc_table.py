"""A DTC table (CSV of code and description) -> one Document with one record per code.

Real tables come untidy: with or without a header, blank lines, section-title lines between blocks
("DTC Codes - P0100-P0199 – Fuel and Air Metering"), stray spaces, descriptions with unquoted commas,
``;`` or tab separators. Section titles become the section of the codes under them. A row that is neither
a code with a description, a title nor the header is rejected with its line number; the others are kept.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.load.document import RECORD, TITLE, Document, Element, Loaded
from rag_car.knowledge.load.markup import humanize_stem

DTC = re.compile(r"[PCBU][0-3][0-9A-F]{3}")
_CODE_LIKE = re.compile(r"^[PCBU]?[0-9A-Z]{3,6}$", re.IGNORECASE)
_HEADER_WORDS = {"dtc", "code", "codes", "dtc code", "fault code", "description", "desc", "meaning", "definition", "text"}
MAX_REPORTED = 20


def sniff_dtc_table(text: str) -> bool:
    """True when most of the first non-blank lines start with a DTC code and a separator."""
    lines = [line.strip() for line in text.splitlines()[:60] if line.strip()]
    hits = sum(1 for line in lines if re.match(r"^\"?\s*[PCBU][0-3][0-9A-F]{3}\s*\"?\s*[,;\t]", line, re.IGNORECASE))
    return len(lines) >= 2 and hits >= max(2, len(lines) // 2)


def load_dtc_table(path: Path, text: str) -> Loaded:
    """Parse the table. Raises IngestError when not one row holds a code."""
    delimiter = _delimiter(text)
    elements: list[Element] = []
    problems: list[str] = []
    warnings: list[str] = []
    seen: dict[str, int] = {}
    header_done = False
    rejected = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip().strip("\ufeff")
        if not line or set(line) <= set(delimiter + " \"'"):
            continue
        try:
            fields = next(csv.reader(io.StringIO(line), delimiter=delimiter, skipinitialspace=True))
        except csv.Error as exc:
            rejected += 1
            _report(problems, rejected, f"line {number}: cannot be parsed ({exc}): {line[:60]!r}")
            continue
        fields = [f.strip() for f in fields]
        while fields and not fields[-1]:
            fields.pop()
        first = fields[0] if fields else ""
        code = first.upper().replace(" ", "")
        if DTC.fullmatch(code):
            rest = line.partition(delimiter)[2] if '"' not in line else (delimiter + " ").join(fields[1:])
            description = " ".join(rest.split()).strip(" -–:" + delimiter)
            if not description:
                rejected += 1
                _report(problems, rejected, f"line {number}: code {code} has no description")
                continue
            if code in seen:
                warnings.append(f"line {number}: {code} appears again (first on line {seen[code]}); both kept")
            else:
                seen[code] = number
            elements.append(Element(RECORD, f"{code}: {description}"))
            continue
        loose = re.match(r"^([PCBU][0-3][0-9A-F]{3})\s+[-–:]?\s*(\S.*)$", line, re.IGNORECASE)
        if loose and len(fields) == 1:  # "P0300 Random misfire" with no separator
            code = loose.group(1).upper()
            seen.setdefault(code, number)
            elements.append(Element(RECORD, f"{code}: {' '.join(loose.group(2).split())}"))
            continue
        if not header_done and not elements and _is_header(fields):
            header_done = True
            continue
        if first and not _CODE_LIKE.match(first.replace(" ", "")) and re.search(r"[A-Za-z]{3}", first):
            elements.append(Element(TITLE, " ".join(line.split())))  # a section title line
            continue
        rejected += 1
        why = f"{first!r} is not a DTC code (like P0301)" if first else "no code in the first column"
        _report(problems, rejected, f"line {number}: {why}: {line[:60]!r}")
    if rejected > MAX_REPORTED:
        problems.append(f"... {rejected - MAX_REPORTED} more rejected rows")
    if not any(e.kind == RECORD for e in elements):
        raise IngestError(f"{path} holds no DTC rows (expected lines like 'P0301,Cylinder 1 misfire detected')",
                          "check that it is a DTC table, or ingest it without --source dtc-table")
    doc = Document(source=path, title=f"DTC table: {humanize_stem(path)}", elements=elements, doc_type="dtc")
    return Loaded([doc], warnings=_cap(warnings), problems=problems, kind="dtc-table")


def _delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:200])
    counts = {d: sample.count(d) for d in (",", ";", "\t", "|")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def _is_header(fields: list[str]) -> bool:
    words = {f.strip().lower() for f in fields if f.strip()}
    return bool(words) and len(words & _HEADER_WORDS) >= 1 and all(len(w) < 30 for w in words)


def _report(problems: list[str], n: int, message: str) -> None:
    if n <= MAX_REPORTED:
        problems.append(message)


def _cap(warnings: list[str]) -> list[str]:
    return warnings if len(warnings) <= MAX_REPORTED else warnings[:MAX_REPORTED] + [f"... {len(warnings) - MAX_REPORTED} more"]
