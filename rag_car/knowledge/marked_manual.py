"""A Markdown manual whose headings carry ``<!-- section-id: ... -->`` marks, and its warnings file -> the sections
(file, heading path) and warnings an evaluation set points at by id.

The marks are those of ../shared/data/real-manual (a manufacturer's XML converted to Markdown, one file per chapter):
the comment sits on the line before each heading; a warning is a block quote preceded by ``<!-- warning-id: ... -->``.
The heading path is the chain of headings below the chapter's own ``#`` title joined with " > ", which is what the
chunker stores as a chunk's ``section`` (the chapter title is the chunk's ``title``): a passage belongs to a section
when its source is the chapter file and its section path is the section's path or lies below it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from rag_car.errors import ConfigError

_SECTION_MARK = re.compile(r"^\s*<!--\s*section-id:\s*(\S+)\s*-->\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class ManualSection:
    id: str
    source: str  # the chapter's file name, e.g. "1970655_80.md"
    path: str  # headings below the chapter title, " > "-joined ("" for the chapter itself)
    level: int
    text: str = ""  # the Markdown under this heading, up to the next heading (marks included)

    def holds(self, source: str, section: str) -> bool:
        """Is a passage of ``source`` (a path or file name) under heading path ``section`` in this section?"""
        if Path(source.replace("\\", "/")).name.lower() != self.source.lower():
            return False
        if not self.path:
            return True
        have, want = _fold(section), _fold(self.path)
        return have == want or have.startswith(want + " > ")


@dataclass(frozen=True)
class ManualWarning:
    id: str
    type: str  # Danger / Warning / Caution / Notice
    text: str
    risk_sentences: tuple[str, ...]
    section_id: str  # the section the warning protects
    extra_ids: tuple[str, ...] = ()


def _fold(path: str) -> str:
    return " > ".join(" ".join(part.split()).lower() for part in path.split(" > "))


def load_sections(manual_dir: Path) -> dict[str, ManualSection]:
    """Every marked heading of every ``*.md`` file under ``manual_dir``, by section id; raises ConfigError when the
    directory holds no marked Markdown."""
    manual_dir = Path(manual_dir)
    files = sorted(manual_dir.glob("*.md")) if manual_dir.is_dir() else []
    sections: dict[str, ManualSection] = {}
    for path in files:
        stack: list[tuple[int, str]] = []
        pending: str | None = None
        current: tuple[str, str, int] | None = None  # (id, trail, level) of the section being read
        body: list[str] = []

        def close() -> None:
            if current is not None:
                sections[current[0]] = ManualSection(current[0], path.name, current[1], current[2], "\n".join(body).strip())

        for line in path.read_text(encoding="utf-8").splitlines():
            mark = _SECTION_MARK.match(line)
            if mark:
                pending = mark.group(1)
                continue
            heading = _HEADING.match(line)
            if not heading:
                body.append(line)
                continue
            level = len(heading.group(1))
            stack = [entry for entry in stack if entry[0] < level] + [(level, heading.group(2).strip())]
            close()
            body = []
            current = (pending, " > ".join(text for depth, text in stack if depth > 1), level) if pending else None
            pending = None
        close()
    if not sections:
        raise ConfigError(f"no section-marked Markdown found in {manual_dir}",
                          "point the evaluation set's corpus at a folder of .md files with <!-- section-id: ... --> marks")
    return sections


def load_warnings(path: Path) -> dict[str, ManualWarning]:
    """The warnings file (JSON lines: warning_id, type, warning_text, risk_sentences, gold_section_id, extra_ids),
    by warning id (extra ids, the same text elsewhere, map to the same warning)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"warnings file {path} does not exist", "set the evaluation set's \"warnings\" to a JSON-lines file")
    out: dict[str, ManualWarning] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            warning = ManualWarning(
                id=str(raw["warning_id"]), type=str(raw.get("type", "")), text=str(raw["warning_text"]),
                risk_sentences=tuple(str(s) for s in raw.get("risk_sentences") or []),
                section_id=str(raw.get("gold_section_id", "")), extra_ids=tuple(str(i) for i in raw.get("extra_ids") or []))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"warnings file {path} line {number} is not a valid entry ({type(exc).__name__}: {exc})",
                              'each line needs "warning_id" and "warning_text"') from exc
        out[warning.id] = warning
        for extra in warning.extra_ids:
            out.setdefault(extra, warning)
    return out
