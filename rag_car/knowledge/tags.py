"""What a document is about: doc types, ``MAKE/MODEL/YEARS`` vehicle tags, and guesses from names and titles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag_car.errors import IngestError

DOC_TYPES = ("owner_manual", "service_manual", "dtc", "bulletin", "recall", "complaint", "investigation", "other")

# First match wins; checked against the file's folder names, file name and title, lower-cased.
_DOC_TYPE_HINTS = (
    ("recall", re.compile(r"\brecalls?\b|\brcl\b")),
    ("complaint", re.compile(r"\bcomplaints?\b|\bcmpl\b")),
    ("investigation", re.compile(r"\binvestigations?\b")),
    ("bulletin", re.compile(r"\bbulletins?\b|\btsbs?\b|\bservice[ _-]?bulletin")),
    ("dtc", re.compile(r"\bdtcs?\b|trouble[ _-]?codes?|diagnostic[ _-]?codes?|fault[ _-]?codes?")),
    ("owner_manual", re.compile(r"\bowners?\b|owner'?s[ _-]?manual|\bhandbook\b")),
    ("service_manual", re.compile(r"\bservice\b|\bworkshop\b|\brepair\b|shop[ _-]?manual")),
)


@dataclass(frozen=True)
class Vehicle:
    make: str = ""
    model: str = ""
    year_min: int = 0
    year_max: int = 0

    def __str__(self) -> str:
        years = "" if not self.year_min else (f"{self.year_min}" if self.year_min == self.year_max else f"{self.year_min}-{self.year_max}")
        return " ".join(p for p in (self.make, self.model, years) if p) or "(any vehicle)"


def parse_vehicle(text: str) -> Vehicle:
    """``Aldmoor/Corrin/2019-2024``, ``Ford/Focus/2001``, ``Ford/Focus`` or ``Ford`` -> Vehicle.

    Raises IngestError for a malformed tag (bad years, too many parts).
    """
    parts = [p.strip() for p in text.strip().split("/")]
    if not text.strip() or len(parts) > 3 or not parts[0]:
        raise IngestError(f"vehicle tag {text!r} is not MAKE/MODEL/YEARS", "write it like Aldmoor/Corrin/2019-2024 or Ford/Focus/2001")
    make = parts[0]
    model = parts[1] if len(parts) > 1 else ""
    year_min = year_max = 0
    if len(parts) == 3 and parts[2]:
        match = re.fullmatch(r"(\d{4})(?:\s*[-–]\s*(\d{4}))?", parts[2])
        if not match:
            raise IngestError(f"vehicle tag {text!r}: years {parts[2]!r} are not YEAR or FIRST-LAST", "write e.g. 2019-2024")
        year_min = int(match.group(1))
        year_max = int(match.group(2) or match.group(1))
        if year_max < year_min or not 1886 <= year_min <= 2100:
            raise IngestError(f"vehicle tag {text!r}: years {parts[2]!r} are not a valid range", "write FIRST-LAST, e.g. 2019-2024")
    return Vehicle(make, model, year_min, year_max)


def check_doc_type(value: str) -> str:
    """The doc type, validated. Raises IngestError listing the valid ones."""
    value = value.strip().lower().replace("-", "_")
    if value not in DOC_TYPES:
        raise IngestError(f"unknown doc type {value!r}", f"use one of: {', '.join(DOC_TYPES)}")
    return value


def guess_doc_type(path: Path, title: str) -> str:
    """A doc type from the title, the file name and its folders ('other' when nothing fits)."""
    for text in (title.lower(), path.stem.lower(), " ".join(p.lower() for p in path.parent.parts[-3:])):
        text = text.replace("_", " ")
        for doc_type, pattern in _DOC_TYPE_HINTS:
            if pattern.search(text):
                return doc_type
    return "other"


@dataclass(frozen=True)
class FolderFacts:
    """What a ``facts.toml`` beside the documents says about them all."""

    vehicle: Vehicle | None = None
    refs: tuple[str, ...] = ()  # bulletin numbers it lists, found in the text as they are written
    folder: str = ""  # where the facts.toml is
    doc_years: tuple[tuple[str, int, int], ...] = ()  # (doc path relative to the folder, first, last year)
    digest: str = ""  # of the facts.toml's content: part of the options a file was read with

    def vehicle_for(self, path: Path) -> Vehicle | None:
        """The [vehicle], narrowed to the years a [[bulletin]] entry gives for this document."""
        if self.vehicle is None:
            return None
        try:
            relative = path.relative_to(self.folder).as_posix()
        except ValueError:
            return self.vehicle
        for doc, first, last in self.doc_years:
            if doc == relative:
                return Vehicle(self.vehicle.make, self.vehicle.model, first, last)
        return self.vehicle


def folder_facts(path: Path, stop: Path | None = None) -> FolderFacts:
    """The facts of the nearest ``facts.toml`` in the file's folder or an ancestor (up to ``stop``).

    The bundled knowledge/ carries one ([vehicle] make, model, years; [[bulletin]] number); any folder of
    documents about one vehicle can have one too (a vehicle profile's format, rag_car.vehicle.profile).
    No file, or one that does not load: empty facts.
    """
    folder = path.parent
    while True:
        facts = folder / "facts.toml"
        if facts.is_file():
            try:
                return _read_facts(str(facts), facts.stat().st_mtime_ns)
            except OSError:
                return FolderFacts()
        if folder == stop or folder.parent == folder:
            return FolderFacts()
        folder = folder.parent


@lru_cache(maxsize=16)
def _read_facts(path: str, _mtime_ns: int) -> FolderFacts:
    """The documents' vehicle, read with the one vehicle-profile loader (a facts.toml beside documents is a
    profile of their vehicle; its DBC files need not be here). A file that does not load tags nothing."""
    import hashlib

    from rag_car.errors import ProfileError
    from rag_car.vehicle.profile import load_profile

    try:
        raw = Path(path).read_bytes()
        profile = load_profile(path, name="documents", check_files=False)
    except (OSError, ProfileError):
        return FolderFacts()
    digest = hashlib.sha256(raw).hexdigest()[:16]
    ident = profile.identity
    found = None
    if ident.make or ident.model or ident.years:
        first, last = ident.years or (0, 0)
        found = Vehicle(ident.make, ident.model, first, last)
    refs = tuple(b.number for b in profile.bulletins)
    doc_years = tuple((b.doc, b.years[0], b.years[1]) for b in profile.bulletins if b.doc and b.years)
    return FolderFacts(found, refs, str(Path(path).parent), doc_years, digest)
