"""The index as a whole: status (counts by doc type and vehicle), the list of files, and removal.

Read-only commands never load the embedding model; ``remove`` goes through the same journal as ingest.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from rag_car.errors import IngestError
from rag_car.knowledge.manifest import ingest_lock, manifest_path, open_manifest, recover


def index_status(settings) -> dict:
    """``{"chunks", "files", "by_doc_type", "by_vehicle", "store", "model", ...}`` of the configured index."""
    from rag_car.knowledge.embed import model_name
    from rag_car.knowledge.store import open_store

    with open_store(settings, create=False) as store:
        by_doc_type: Counter[str] = Counter()
        by_vehicle: Counter[str] = Counter()
        for meta in store.metadatas():
            by_doc_type[str(meta.get("doc_type") or "other")] += 1
            by_vehicle[vehicle_label(meta)] += 1
        chunks = store.count()
        status = {
            "chunks": chunks,
            "files": 0,
            "by_doc_type": dict(sorted(by_doc_type.items())),
            "by_vehicle": dict(sorted(by_vehicle.items())),
            "store": store.describe(),
            "model": store.model or model_name(settings),
        }
    path = manifest_path(settings)
    status.update(manifest=str(path), generation=0, last_ingest="", files_with_problems=0, consistent=chunks == 0)
    if path.exists():
        with open_manifest(settings) as manifest:
            files = manifest.files()
            status.update(
                files=len(files),
                generation=manifest.generation,
                last_ingest=manifest.meta("last_ingest"),
                files_with_problems=sum(1 for f in files if f.problems),
                consistent=manifest.count_chunks() == chunks and not manifest.pending_ids(),
            )
    return status


def list_files(settings, doc_types: list[str] | None = None) -> list[dict]:
    """The ingested files (path, kind, doc_type, title, vehicle, chunks, ...), optionally of some doc types."""
    path = manifest_path(settings)
    if not path.exists():
        return []
    with open_manifest(settings) as manifest:
        files = manifest.files()
    wanted = {d.strip().lower() for d in doc_types or [] if d.strip()}
    return [f.to_json() for f in files if not wanted or f.doc_type in wanted]


def remove(settings, paths: list[str], everything: bool = False) -> dict:
    """Remove files (or every file under a folder) from the index, or everything.

    Paths are matched against what was ingested, so a file deleted from disk can still be removed.
    Returns ``{"removed": [paths], "chunks_removed": N, "not_indexed": [paths]}``.
    """
    from rag_car.knowledge.store import open_store

    with ingest_lock(settings), open_manifest(settings) as manifest, open_store(settings, create=False) as store:
        if everything:
            files = [f.path for f in manifest.files()]
            chunks = store.count()
            store.drop()
            manifest.reset()
            return {"removed": files, "chunks_removed": chunks, "not_indexed": []}
        recover(manifest, store)
        removed: list[str] = []
        missing: list[str] = []
        for raw in paths:
            target = os.path.abspath(os.path.expanduser(raw))
            candidates = {target, str(Path(target).resolve()) if os.path.exists(target) else target}
            matched = [e.path for c in candidates for e in manifest.files(under=c)]
            if not matched:
                missing.append(raw)
            removed.extend(p for p in dict.fromkeys(matched) if p not in removed)
        unwanted = manifest.forget(removed) if removed else set()
        store.delete(sorted(unwanted))
        manifest.clear_garbage(unwanted)
        return {"removed": removed, "chunks_removed": len(unwanted), "not_indexed": missing}


def vehicle_label(meta: dict) -> str:
    """``Aldmoor Corrin 2019-2024`` from chunk metadata; ``(any vehicle)`` when it names none."""
    make, model = str(meta.get("make") or ""), str(meta.get("model") or "")
    low, high = int(meta.get("year_min") or 0), int(meta.get("year_max") or 0)
    years = "" if not low else (str(low) if low == high or not high else f"{low}-{high}")
    return " ".join(p for p in (make, model, years) if p) or "(any vehicle)"


def check_remove_args(paths: list[str], everything: bool) -> None:
    if everything and paths:
        raise IngestError("give either PATH... or --all, not both", "rag-car index remove knowledge/old.pdf, or rag-car index remove --all")
    if not everything and not paths:
        raise IngestError("nothing to remove", "name the files or folders to remove, or pass --all")
