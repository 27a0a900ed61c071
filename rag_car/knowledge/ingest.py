"""Paths -> an up-to-date index: discover files, skip the unchanged, load and chunk the rest, embed what is
new, write it to the store, commit the manifest, remove what was deleted. Idempotent, incremental and
crash-safe (the journal protocol is in rag_car/knowledge/manifest.py).

``ingest(settings, paths, options)`` returns an :class:`IngestReport`; a bad file is a failed entry in
the report, never an exception. Raises StoreError when the store cannot be used and IngestError when
another ingest holds the index.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from rag_car.errors import IngestError, RagCarError
from rag_car.knowledge.chunk import Chunk, chunk_document, embedding_text
from rag_car.knowledge.load import SOURCE_KINDS, InputLimits, is_supported, load_file
from rag_car.knowledge.manifest import FileEntry, file_sha256, ingest_lock, open_manifest, recover
from rag_car.knowledge.tags import Vehicle, check_doc_type, folder_facts, guess_doc_type
from rag_car.knowledge.trust import document_trust

# Bump when loading or chunking changes what chunks a file gives: every file is then re-read once.
PIPELINE_VERSION = 3  # 2: chunks carry a trust level; 3: each chunk's `lang`, Chinese sentence ends
_SKIP_DIRS = {"__pycache__", "node_modules"}


@dataclass(frozen=True)
class IngestOptions:
    """What the command line says about the files: how to read them and what they are about."""

    source: str = "auto"
    doc_type: str = ""  # "" = guess per file
    vehicle: Vehicle | None = None  # for documents that do not name their own
    force: bool = False  # re-read files even when unchanged (ids that did not change are not re-embedded)

    def __post_init__(self) -> None:
        if self.source not in SOURCE_KINDS:
            raise IngestError(f"unknown source kind {self.source!r}", f"use one of: {', '.join(SOURCE_KINDS)}")
        if self.doc_type:
            object.__setattr__(self, "doc_type", check_doc_type(self.doc_type))


@dataclass
class FileResult:
    path: str
    status: str  # ingested | unchanged | failed | removed
    reason: str = ""
    size: int = 0  # bytes, for progress displays
    kind: str = ""
    doc_type: str = ""
    documents: int = 0
    chunks: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Failed for the exit code: not read at all, or read with rejected parts."""
        return self.status == "failed" or bool(self.problems)

    def to_json(self) -> dict:
        data = {"path": self.path, "status": self.status, "kind": self.kind, "doc_type": self.doc_type,
                "documents": self.documents, "chunks": self.chunks, "chunks_added": self.chunks_added,
                "chunks_removed": self.chunks_removed}
        if self.reason:
            data["reason"] = self.reason
        if self.warnings:
            data["warnings"] = self.warnings
        if self.problems:
            data["problems"] = self.problems
        return data


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_updated: int = 0
    embedded: int = 0  # texts that went through the model
    ignored: int = 0  # files in folders of a type no loader reads
    seconds: float = 0.0
    embed_seconds: float = 0.0
    model_load_seconds: float = 0.0  # loading the embedding model (once per process, part of ``seconds``)
    model: str = ""
    store: str = ""
    generation: int = 0
    recovered: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what went wrong outside the files (the index is fine)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.failed]

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "files_ingested": self.count("ingested"),
            "files_unchanged": self.count("unchanged"),
            "files_failed": len(self.failed),  # not read, or read with rejected rows (those are in files_partial too)
            "files_partial": sum(1 for f in self.failed if f.status != "failed"),
            "files_removed": self.count("removed"),
            "files_ignored": self.ignored,
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "chunks_updated": self.chunks_updated,
            "embedded": self.embedded,
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
            "model_load_seconds": round(self.model_load_seconds, 3),
            "failed": [{"path": f.path, "reason": f.reason or "; ".join(f.problems[:3])} for f in self.failed],
            "warnings": [{"path": f.path, "warning": w} for f in self.files for w in f.warnings],
            "model": self.model,
            "store": self.store,
            "generation": self.generation,
            "recovered": self.recovered,
            "notes": self.notes,
            "files": [f.to_json() for f in self.files],
        }


class Progress:
    """Callbacks for a progress display; every method is optional to override."""

    def start(self, files: int, total_bytes: int) -> None: ...
    def file_read(self, result: FileResult, size: int) -> None: ...
    def embedded(self, n: int) -> None: ...
    def file_done(self, result: FileResult) -> None: ...
    def message(self, text: str) -> None: ...


@dataclass
class _Work:
    """A file read and chunked, waiting for its chunks to be embedded and committed."""

    entry: FileEntry
    chunks: list[Chunk]
    old_ids: set[str]
    refresh_metadata: bool
    result: FileResult


def ingest(settings, paths: Iterable[str | Path], options: IngestOptions | None = None, embedder=None,
           progress: Progress | None = None, store=None,
           after_add: Callable[[list[Chunk]], None] | None = None) -> IngestReport:
    """Bring the index up to date with ``paths`` (files or folders, recursively). See the module docstring.

    ``embedder``/``store``: already open ones to use (default: load and open the configured ones).
    ``after_add(chunks)``: called with each batch of chunks once they are committed (the CLI fills the answer
    sentence cache with it); an exception from it is a warning of the report, never a failed ingest.
    """
    from rag_car.knowledge.embed import load_embedder, load_multilingual
    from rag_car.knowledge.store import open_store

    options = options or IngestOptions()
    progress = progress or Progress()
    started = time.perf_counter()
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    report = IngestReport()
    targets, folders, missing, report.ignored = discover(paths, options.source)
    report.files.extend(missing)
    embedder = embedder or load_embedder(settings)
    multilingual = load_multilingual(settings)
    encoded_before = getattr(embedder, "encode_calls", 0)
    report.model = embedder.name
    max_bytes = int(settings.ingest.max_file_mb * 1_000_000)
    limits = InputLimits.from_settings(settings.ingest)

    with ingest_lock(settings), open_manifest(settings) as manifest:
        store = store or open_store(settings, embedder.dim, embedder.name)
        report.store = store.describe()
        if multilingual is not None:
            store.open_multilingual(multilingual.name, multilingual.dim)
        report.recovered = recover(manifest, store)
        lost = _reconcile(manifest, store, report.recovered)
        if multilingual is not None:
            _backfill_multilingual(store, multilingual, report, progress)
        # a folder whose name is not UTF-8 holds nothing the manifest could have recorded
        removed = _removed_under(manifest, [f for f in folders if _utf8_name(f)])
        if removed:
            _remove(manifest, store, removed, report)

        sizes = {str(p): _size(p) for p, _ in targets}
        progress.start(len(targets), sum(sizes.values()))
        option_key = _options_key(options, settings, embedder.name)
        chunk_tokens = settings.ingest.chunk_tokens
        overlap = min(settings.ingest.chunk_overlap, chunk_tokens // 2)
        window: list[_Work] = []
        window_size = 0

        for path, kind in targets:
            key = str(path)
            if not _utf8_name(path):
                result = FileResult(_printable(path), "failed", (
                    f"{_printable(path)}: the file name is not valid UTF-8, so it cannot be recorded in the index or "
                    "cited: rename the file (e.g. `convmv -f latin1 -t utf8 --notest FILE`) and ingest it again"))
                report.files.append(result)
                progress.file_done(result)
                continue
            entry = manifest.file(key)
            try:
                stat = path.stat()
            except OSError as exc:
                result = FileResult(key, "failed", f"{path} cannot be read ({exc.strerror})")
                report.files.append(result)
                progress.file_done(result)
                continue
            facts = folder_facts(path)
            file_key = _file_key(option_key, facts)
            if entry and not options.force and entry.sha256 and entry.options == file_key \
                    and entry.size == stat.st_size and entry.mtime_ns == stat.st_mtime_ns:
                result = _unchanged(entry)
                report.files.append(result)
                progress.file_done(result)
                continue
            work = _read(path, kind, stat, entry, options, settings, embedder, file_key, stamp, max_bytes, limits,
                         chunk_tokens, overlap, manifest, lost, facts)
            (work.result if isinstance(work, _Work) else work).size = stat.st_size
            progress.file_read(work.result if isinstance(work, _Work) else work, sizes.get(key, 0))
            if not isinstance(work, _Work):
                report.files.append(work)
                progress.file_done(work)
                continue
            report.files.append(work.result)
            if work.result.status == "unchanged":
                progress.file_done(work.result)
                continue
            window.append(work)
            window_size += sum(1 for c in work.chunks if c.id not in work.old_ids)
            if window_size >= settings.ingest.commit_chunks:
                _flush(window, manifest, store, embedder, report, progress, stamp, after_add, multilingual)
                window, window_size = [], 0
        _flush(window, manifest, store, embedder, report, progress, stamp, after_add, multilingual)
        report.generation = manifest.generation
    report.embedded = getattr(embedder, "encode_calls", 0) - encoded_before
    report.seconds = time.perf_counter() - started
    return report


def discover(paths: Iterable[str | Path], source: str = "auto") -> tuple[list[tuple[Path, str]], list[Path], list[FileResult], int]:
    """(files to ingest with their source kind, folders walked, results for paths that do not exist, files ignored).

    Folders are walked recursively in sorted order; hidden files and folders are skipped, and so are files
    of a type the source kind does not read (counted as ignored). A file named explicitly is always tried.
    """
    targets: list[tuple[Path, str]] = []
    folders: list[Path] = []
    missing: list[FileResult] = []
    seen: set[Path] = set()
    ignored = 0
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            path = path.resolve(strict=True)
        except (FileNotFoundError, RuntimeError):
            missing.append(FileResult(str(Path(raw).expanduser().absolute()), "failed",
                                      f"{raw} does not exist: check the path (nothing was removed from the index)"))
            continue
        except OSError as exc:  # a folder on the way that may not be entered
            missing.append(_unreadable(Path(raw).expanduser().absolute(), exc))
            continue
        if path.is_dir():
            folders.append(path)

            def unreadable(exc: OSError) -> None:  # os.walk skips a folder it cannot list, silently by default
                missing.append(_unreadable(Path(exc.filename or path), exc))

            for folder, dirs, files in os.walk(path, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    file = Path(folder, name)
                    if not is_supported(file, source):
                        ignored += 1
                        continue
                    file = file.resolve()
                    if file not in seen:
                        seen.add(file)
                        targets.append((file, source))
        elif path not in seen:
            seen.add(path)
            targets.append((path, source))
    return targets, folders, missing, ignored


def _read(path: Path, kind: str, stat, entry: FileEntry | None, options: IngestOptions, settings, embedder,
          option_key: str, stamp: str, max_bytes: int, limits: InputLimits, chunk_tokens: int, overlap: int, manifest,
          lost: set[str], facts) -> "_Work | FileResult":
    key = str(path)
    try:
        digest = file_sha256(path)
    except OSError as exc:
        return FileResult(key, "failed", f"{path} cannot be read ({exc.strerror})")
    if entry and not options.force and entry.sha256 == digest and entry.options == option_key:
        manifest.touch(key, stat.st_size, stat.st_mtime_ns)
        return _unchanged(entry)
    try:
        loaded = load_file(path, kind, max_bytes, limits)
        chunks: list[Chunk] = []
        doc_types: set[str] = set()
        vehicles: set[str] = set()
        for doc in loaded.documents:
            base = _base_metadata(doc, options, facts.vehicle_for(path), stamp)
            base["trust"] = document_trust(doc, str(base["doc_type"]), options.doc_type, settings.uploads_dir)
            doc_types.add(str(base["doc_type"]))
            vehicles.add(str(Vehicle(str(base["make"]), str(base["model"]), int(base["year_min"]), int(base["year_max"]))))
            chunks.extend(chunk_document(doc, base, embedder.count_tokens, chunk_tokens, overlap, embedder.max_tokens, facts.refs))
        if not chunks:
            raise IngestError(f"{path} has no text to index", "check that the document is not empty or image-only")
    except RagCarError as exc:
        return FileResult(key, "failed", str(exc), kind=kind)
    except (MemoryError, RecursionError) as exc:
        return FileResult(key, "failed", f"{path} is too large or too deeply nested to read ({type(exc).__name__})")
    except Exception as exc:  # a parser bug on odd input must not stop the other files
        return FileResult(key, "failed", f"{path} could not be read (unexpected {type(exc).__name__}: {exc})", kind=kind)
    chunks = _unique(chunks)
    doc_type = doc_types.pop() if len(doc_types) == 1 else "mixed"
    new_entry = FileEntry(
        path=key, size=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest, options=option_key, kind=loaded.kind,
        doc_type=doc_type, title=loaded.documents[0].title if len(loaded.documents) == 1 else f"{len(loaded.documents)} records",
        vehicle="; ".join(sorted(vehicles))[:500], documents=len(loaded.documents), n_chunks=len(chunks),
        ingested_at=stamp, warnings=loaded.warnings, problems=loaded.problems,
    )
    old_ids = (manifest.chunk_ids(key) - lost) if entry else set()  # ids the store really holds
    new_ids = {c.id for c in chunks}
    result = FileResult(key, "ingested", kind=loaded.kind, doc_type=doc_type, documents=len(loaded.documents),
                        chunks=len(chunks), chunks_added=len(new_ids - old_ids), chunks_removed=len(old_ids - new_ids),
                        warnings=list(loaded.warnings), problems=list(loaded.problems))
    refresh = bool(entry) and entry.options != option_key
    return _Work(new_entry, chunks, old_ids, refresh, result)


def _flush(window: list[_Work], manifest, store, embedder, report: IngestReport, progress: Progress, stamp: str,
           after_add: Callable[[list[Chunk]], None] | None = None, multilingual=None) -> None:
    """Embed the window's new chunks (also with the ``multilingual`` embedder when given), write them, commit their
    files, delete what they replaced; then ``after_add(fresh)``."""
    if not window:
        return
    fresh = [c for w in window for c in w.chunks if c.id not in w.old_ids]
    kept = [c for w in window if w.refresh_metadata for c in w.chunks if c.id in w.old_ids]
    if fresh and getattr(embedder, "loaded", True) is False:
        started = time.perf_counter()
        embedder.model  # noqa: B018 - load the weights now, to time it apart from the embedding
        report.model_load_seconds += time.perf_counter() - started
    started = time.perf_counter()
    vectors = _embed(fresh, embedder, progress)
    cross = _embed(fresh, multilingual, Progress()) if multilingual is not None else None
    report.embed_seconds += time.perf_counter() - started
    manifest.begin({w.entry.path: [c.id for c in w.chunks if c.id not in w.old_ids] for w in window})
    if cross is not None:  # first: a chunk in the main collection always has its cross-lingual vector
        store.add_multilingual([c.id for c in fresh], cross)
    store.add(fresh, vectors)
    store.update_metadata(kept)
    unwanted = manifest.commit([(w.entry, [c.id for c in w.chunks]) for w in window], stamp)
    store.delete(sorted(unwanted))
    manifest.clear_garbage(unwanted)
    report.chunks_added += len(fresh)
    report.chunks_removed += len(unwanted)
    report.chunks_updated += len(kept)
    if after_add is not None and fresh:
        try:
            after_add(fresh)
        except Exception as exc:  # the index is committed; what runs after it only adds a cache
            note = f"after the chunks were indexed: {type(exc).__name__}: {exc}"
            if note not in report.notes:  # the same failure on every batch is said once
                report.notes.append(note)
    for w in window:
        progress.file_done(w.result)


def _backfill_multilingual(store, multilingual, report: IngestReport, progress: Progress) -> None:
    """Chunks stored without a cross-lingual vector (an index built before them, or with another multilingual
    model) get one now: this is how `rag-car ingest` upgrades an old index without re-reading its files."""
    if store.count() == store.multilingual_count():
        return
    have = store.multilingual_ids()
    missing = [i for i in store.ids() if i not in have]
    if not missing:
        return
    progress.message(f"adding cross-lingual vectors ({multilingual.name}) to {len(missing):,} chunks already indexed")
    for start in range(0, len(missing), 2000):
        chunks = store.get(missing[start:start + 2000])
        started = time.perf_counter()
        vectors = _embed(chunks, multilingual, Progress())
        report.embed_seconds += time.perf_counter() - started
        store.add_multilingual([c.id for c in chunks], vectors)
    report.notes.append(f"added cross-lingual vectors to {len(missing):,} chunks already indexed")


def _embed(chunks: list[Chunk], embedder, progress: Progress) -> np.ndarray:
    """Vectors for the chunks, longest texts first in model-sized slices (as bare encode would batch them)."""
    if not chunks:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    texts = [embedding_text(c) for c in chunks]
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    step = max(128, 4 * int(getattr(embedder, "batch_size", 32)))
    for start in range(0, len(order), step):
        part = order[start:start + step]
        vectors[part] = embedder.embed_documents([texts[i] for i in part])
        progress.embedded(len(part))
    return vectors


def _base_metadata(doc, options: IngestOptions, folder: Vehicle | None, stamp: str) -> dict:
    """source, doc_type, vehicle and time for every chunk of a document (its own data first, then the flags)."""
    if doc.key and (doc.make or doc.model):  # an NHTSA record names its own vehicles
        vehicle = Vehicle(doc.make, doc.model, doc.year_min, doc.year_max)
    elif options.vehicle is not None:
        vehicle = options.vehicle
    elif doc.make or doc.model:
        vehicle = Vehicle(doc.make, doc.model, doc.year_min, doc.year_max)
    else:
        vehicle = folder or Vehicle()
    return {
        "source": str(doc.source),
        "doc_type": options.doc_type or doc.doc_type or guess_doc_type(doc.source, doc.title),
        "make": vehicle.make, "model": vehicle.model, "year_min": vehicle.year_min, "year_max": vehicle.year_max,
        "ingested_at": stamp,
    }


def _removed_under(manifest, folders: list[Path]) -> list[str]:
    """Files the manifest holds under the walked folders that no longer exist (a file in a folder that cannot
    be read is not gone: it stays in the index, and the folder is reported)."""
    gone: list[str] = []
    for folder in folders:
        for entry in manifest.files(under=str(folder)):
            if entry.path not in gone and _gone(entry.path):
                gone.append(entry.path)
    return gone


def _gone(path: str) -> bool:
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _unreadable(path: Path, exc: OSError) -> FileResult:
    """The failed entry of a folder (or file) the walk could not read: nothing under it was looked at."""
    return FileResult(str(path), "failed", f"{path} cannot be read ({exc.strerror or exc}), so nothing under it was "
                      "ingested or removed: give the user running rag-car read access (folders also need execute)")


def _remove(manifest, store, paths: list[str], report: IngestReport) -> None:
    counts = {p: len(manifest.chunk_ids(p)) for p in paths}
    unwanted = manifest.forget(paths)
    store.delete(sorted(unwanted))
    manifest.clear_garbage(unwanted)
    report.chunks_removed += len(unwanted)
    for path in paths:
        report.files.append(FileResult(path, "removed", "the file no longer exists", chunks_removed=counts[path]))


def _reconcile(manifest, store, notes: dict[str, int]) -> set[str]:
    """When the store and the manifest disagree on the count (a deleted store directory, an index written
    by hand), compare ids: files with chunks missing are re-read on this run (the returned ids are written
    again); chunks no file owns are deleted (embedded mode; on a shared server they are only counted, since
    another machine may own them)."""
    if store.count() == manifest.count_chunks():
        return set()
    stored = set(store.ids())
    committed = manifest.all_chunk_ids()
    orphans = stored - committed
    missing = committed - stored
    stale = {e.path for e in manifest.files() if manifest.chunk_ids(e.path) & missing}
    if stale:
        manifest.mark_stale(stale)
    if orphans and store.mode == "embedded":
        store.delete(sorted(orphans))
    notes.update(orphans=len(orphans), missing=len(missing), files_to_reread=len(stale))
    return missing


def _unchanged(entry: FileEntry) -> FileResult:
    return FileResult(entry.path, "unchanged", size=entry.size, kind=entry.kind, doc_type=entry.doc_type, documents=entry.documents,
                      chunks=entry.n_chunks, warnings=list(entry.warnings), problems=list(entry.problems))


def _unique(chunks: list[Chunk]) -> list[Chunk]:
    seen: set[str] = set()
    out = []
    for chunk in chunks:
        if chunk.id not in seen:
            seen.add(chunk.id)
            out.append(chunk)
    return out


def _options_key(options: IngestOptions, settings, model: str) -> str:
    data = {
        "pipeline": PIPELINE_VERSION, "source": options.source, "doc_type": options.doc_type,
        "vehicle": [options.vehicle.make, options.vehicle.model, options.vehicle.year_min, options.vehicle.year_max] if options.vehicle else None,
        "chunk_tokens": settings.ingest.chunk_tokens, "overlap": settings.ingest.chunk_overlap, "model": model,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _file_key(option_key: str, facts) -> str:
    """The options a file was read with, including the facts.toml that tags it (editing it re-tags the file)."""
    if not facts.digest:
        return option_key
    return hashlib.sha256(f"{option_key}:{facts.digest}".encode()).hexdigest()[:16]


def _printable(path: Path) -> str:
    """A path safe to print and store: bytes that are not UTF-8 shown as ``\\xe9`` escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


def _utf8_name(path: Path) -> bool:
    """Whether the path can be written as UTF-8 (a name in another encoding decodes to lone surrogates)."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
