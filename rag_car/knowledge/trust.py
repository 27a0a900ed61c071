"""Where a document comes from -> how far its facts are trusted: ``maker``, ``regulator``, ``unverified``, ``user``.

A trust level is decided at ingest from facts outside the document's own text, and stored on every chunk
(metadata ``trust``):

- ``user``: a file the user uploaded in the UI (it lives under ``settings.uploads_dir``): their own note or copy;
- ``regulator``: an NHTSA recall record (the file's format says so, not its words);
- ``maker``: a maker's owner or service manual, DTC reference or bulletin, as the ingest flags (``--doc-type``) or the
  folders it is filed in say (``knowledge/owner/...``, ``.../bulletins/ASB-22-011.md``);
- ``unverified``: anything else, including a document that calls itself a manual only in its own title or front
  matter or its file name (text anyone can write) and an owner's complaint filed with NHTSA.

A document can never raise its own level: its name, title, front matter and body are not read for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

TRUST_LEVELS = ("maker", "regulator", "unverified", "user")  # most trusted first
MAKER_DOC_TYPES = frozenset({"owner_manual", "service_manual", "dtc", "bulletin"})

# How the answer names a source of each level ("the maker's owner manual", "your upload").
_DESCRIPTIONS = {"maker": "maker's document", "regulator": "NHTSA record", "unverified": "unverified document",
                 "user": "your upload"}


def trust_level(doc_type: str, *, vouched_type: str = "", nhtsa: bool = False, uploaded: bool = False) -> str:
    """The trust level of a document.

    ``doc_type``: the doc type it is indexed under (from any source, its own text included);
    ``vouched_type``: the doc type the ingest flags or the file's folders give it ("" when neither does);
    ``nhtsa``: read from an NHTSA flat file; ``uploaded``: stored by the UI's upload.
    """
    if uploaded:
        return "user"
    if nhtsa:  # a recall or a bulletin summary on file with the regulator; a complaint is one owner's report
        return "unverified" if doc_type == "complaint" else "regulator"
    if vouched_type in MAKER_DOC_TYPES and doc_type in MAKER_DOC_TYPES:
        return "maker"
    return "unverified"


def document_trust(doc: Any, doc_type: str, flagged_type: str, uploads_dir: Path | None) -> str:
    """The trust level of a loaded Document indexed as ``doc_type``; ``flagged_type``: ``--doc-type`` ("" if none)."""
    source = Path(doc.source)
    return trust_level(doc_type, vouched_type=flagged_type or folder_type(source), nhtsa=bool(doc.key),
                       uploaded=uploads_dir is not None and is_within(source, uploads_dir))


def trust_of(metadata: Mapping[str, Any]) -> str:
    """The stored trust level of a chunk; for a chunk indexed before trust levels existed, the level its doc type
    and source path give (a maker doc type under a folder named for it, or ``unverified``)."""
    stored = str(metadata.get("trust", "") or "")
    if stored in TRUST_LEVELS:
        return stored
    source = Path(str(metadata.get("source", "") or ""))
    doc_type = str(metadata.get("doc_type", "") or "")
    uploaded = "uploads" in source.parts[-3:-1]
    return trust_level(doc_type, vouched_type=folder_type(source) if source.parts else "", uploaded=uploaded)


def folder_type(path: Path) -> str:
    """The doc type the folders a file is filed in name (``knowledge/owner/...``: owner_manual), or "other".
    The file's own name is not read: whoever wrote the file chose it ("owner_supplement.docx")."""
    from rag_car.knowledge.tags import guess_doc_type

    return guess_doc_type(path.parent, "")


def trust_rank(level: str) -> int:
    """Higher is more trusted: maker 3, regulator 2, unverified 1, user 0 (an unknown level counts as user)."""
    return len(TRUST_LEVELS) - 1 - TRUST_LEVELS.index(level) if level in TRUST_LEVELS else 0


def describe_trust(level: str) -> str:
    """How an answer names a source of this level: "maker's document", "NHTSA record", "your upload"."""
    return _DESCRIPTIONS.get(level, _DESCRIPTIONS["unverified"])


def is_within(path: Path, folder: Path) -> bool:
    """True when ``path`` is inside ``folder`` (both resolved; a missing folder holds nothing)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True
