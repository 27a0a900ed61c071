"""What every loader returns: a file -> Documents made of Elements, plus what could not be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# Element kinds. "record" and "table" always become chunks of their own.
TITLE, TEXT, LIST, TABLE, RECORD = "title", "text", "list", "table", "record"


@dataclass(frozen=True)
class Element:
    """One structural piece of a document: a heading, a paragraph, a list item, a table, a table row."""

    kind: str
    text: str
    depth: int = 0  # titles: 0 is the top level
    page: int = 0  # 1-based; 0 when the format has no pages


@dataclass
class Document:
    """One document of a file: its elements and what is known about it.

    A file usually holds one document; an NHTSA flat file holds one per campaign, bulletin or complaint,
    told apart by ``key``. Empty strings and 0 mean "not known", to be filled from the ingest options.
    """

    source: Path
    title: str
    elements: list[Element]
    key: str = ""
    doc_type: str = ""
    make: str = ""
    model: str = ""
    year_min: int = 0
    year_max: int = 0
    refs: tuple[str, ...] = ()  # bulletin/campaign/ODI numbers known from the data, not found by pattern
    extra: dict[str, str | int | float | bool] = field(default_factory=dict)  # more chunk metadata
    chunk_prefix: str = ""  # repeated at the start of every chunk (an NHTSA record's number and vehicles)


@dataclass
class Loaded:
    """A file's documents, the notes about it (``warnings``: read, with a caveat) and the parts that could
    not be read (``problems``: rows rejected; the file still counts as failed for the exit code)."""

    documents: list[Document]
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    kind: str = ""  # the source kind it was read as: document, dtc-table, nhtsa-recalls, ...
