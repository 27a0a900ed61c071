"""The manifest of ingested files (SQLite next to the index): path, size, mtime, hash, options, chunk ids,
and the journal that makes an ingest crash-safe.

Protocol for every change of the store (see docs/ingest.md, "Crash safety"):

1. ``begin``: the ids about to be written are recorded as *pending* (one transaction);
2. the chunks are written to the store (an upsert, so writing them twice is harmless);
3. ``commit``: the files' entries and chunk ids are replaced in one transaction; ids that are no longer
   wanted move to *garbage*; the pending rows go;
4. the garbage ids are deleted from the store, then from the journal.

``recover`` (run before any work) undoes step 2 of an interrupted run (pending ids not committed are
deleted from the store) and finishes step 4. Whatever instant the process dies at, the store ends up
holding exactly the committed ids once the next run has recovered. ``generation`` goes up with every change.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from rag_car.errors import IngestError, StoreError
from rag_car.knowledge.space import READONLY_FIX, storage_error

SCHEMA_VERSION = 1


def manifest_path(settings) -> Path:
    """The manifest of the configured store (one per store, since a server is not tied to this data dir)."""
    store = settings.store
    key = f"embedded-{store.collection}" if store.mode == "embedded" else f"server-{store.host}-{store.port}-{store.collection}"
    return Path(settings.index_dir) / f"manifest-{key}.sqlite3"


def load_generation(settings) -> int:
    """The manifest's generation: 0 when nothing was ever ingested, then +1 with every change of the index."""
    path = manifest_path(settings)
    if not path.exists():
        return 0
    try:
        connection = _connect_read_only(path)
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        finally:
            connection.close()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; on a read-only disk as ``immutable`` (a WAL database opened read-only otherwise
    needs to create its -shm file beside it, which that disk refuses)."""
    if os.access(path.parent, os.W_OK):
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    else:
        connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True, timeout=10)
    connection.execute("SELECT 1 FROM meta LIMIT 1")  # fails here, not later, when the file is not a manifest
    return connection


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks (what the manifest records of each file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FileEntry:
    """What the manifest knows about one ingested file."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    options: str
    kind: str = "document"
    doc_type: str = "other"
    title: str = ""
    vehicle: str = ""
    documents: int = 1
    n_chunks: int = 0
    ingested_at: str = ""
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "path": self.path, "kind": self.kind, "doc_type": self.doc_type, "title": self.title, "vehicle": self.vehicle,
            "documents": self.documents, "chunks": self.n_chunks, "size": self.size, "sha256": self.sha256,
            "ingested_at": self.ingested_at, "warnings": self.warnings, "problems": self.problems,
        }


_SCHEMA = """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, sha256 TEXT, options TEXT, kind TEXT,
        doc_type TEXT, title TEXT, vehicle TEXT, documents INTEGER, n_chunks INTEGER, ingested_at TEXT,
        warnings TEXT, problems TEXT);
    CREATE TABLE IF NOT EXISTS chunks (id TEXT PRIMARY KEY, path TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS chunks_path ON chunks (path);
    CREATE TABLE IF NOT EXISTS pending (id TEXT PRIMARY KEY, path TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS garbage (id TEXT PRIMARY KEY);
    INSERT OR IGNORE INTO meta VALUES ('generation', '0');
    """


_COLUMNS = ("path", "size", "mtime_ns", "sha256", "options", "kind", "doc_type", "title", "vehicle", "documents",
            "n_chunks", "ingested_at", "warnings", "problems")


class Manifest:
    """The manifest database. Open with :func:`open_manifest`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_only = False
        try:
            if path.is_file() and not os.access(path.parent, os.W_OK):
                # an index on a read-only disk (or in a folder this user may not write): read it, refuse changes
                self._db = _connect_read_only(path)
                self.read_only = True
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a committed entry survives a power cut, not just kill -9
            self._create()
        except (sqlite3.Error, OSError) as exc:
            raise storage_error(exc, path.parent, f"opening the manifest {path}") or StoreError(
                f"cannot open the manifest {path} ({exc})", "check that the data dir is writable; "
                "a damaged manifest can be deleted, the next ingest then re-checks every file") from exc

    def _create(self) -> None:
        with self._transaction():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))


    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if self.read_only:
            raise StoreError(f"the manifest {self.path} is on a read-only disk or folder", READONLY_FIX)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back by itself (a full disk)
                    self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path.parent, f"writing the manifest {self.path}") or StoreError(
                f"writing the manifest {self.path} failed ({exc})", "run the command again; `rag-car index status` "
                "says whether the index is consistent") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading --
    @property
    def generation(self) -> int:
        return int(self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    def meta(self, key: str, default: str = "") -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def file(self, path: str) -> FileEntry | None:
        row = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM files WHERE path = ?", (path,)).fetchone()
        return _entry(row) if row else None

    def files(self, under: str | None = None) -> list[FileEntry]:
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM files ORDER BY path").fetchall()
        entries = [_entry(r) for r in rows]
        if under is not None:
            entries = [e for e in entries if _is_under(e.path, under)]
        return entries

    def chunk_ids(self, path: str) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks WHERE path = ?", (path,))}

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}

    def count_chunks(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def pending_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM pending")}

    def garbage_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM garbage")}

    # -- the journal --
    def begin(self, pending: dict[str, Iterable[str]]) -> None:
        """Step 1: record the ids about to be written to the store."""
        with self._transaction():
            for path, ids in pending.items():
                self._db.executemany("INSERT OR IGNORE INTO pending VALUES (?, ?)", ((i, path) for i in ids))
            self._bump()

    def commit(self, entries: list[tuple[FileEntry, list[str]]], stamp: str = "") -> set[str]:
        """Step 3: replace these files' entries and chunk ids; return the ids now unwanted (also in garbage)."""
        unwanted: set[str] = set()
        with self._transaction():
            for entry, ids in entries:
                old = self.chunk_ids(entry.path)
                new = set(ids)
                gone = old - new
                unwanted |= gone
                self._db.executemany("INSERT OR IGNORE INTO garbage VALUES (?)", ((i,) for i in gone))
                self._db.execute("DELETE FROM chunks WHERE path = ?", (entry.path,))
                self._db.executemany("INSERT OR REPLACE INTO chunks VALUES (?, ?)", ((i, entry.path) for i in new))
                self._db.execute(f"INSERT OR REPLACE INTO files ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                                 _row(entry))
                self._db.execute("DELETE FROM pending WHERE path = ?", (entry.path,))
            if stamp:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('last_ingest', ?)", (stamp,))
            self._bump()
        return unwanted

    def touch(self, path: str, size: int, mtime_ns: int) -> None:
        """A file whose content is unchanged but whose size/mtime moved (a copy, a `touch`)."""
        with self._transaction():
            self._db.execute("UPDATE files SET size = ?, mtime_ns = ? WHERE path = ?", (size, mtime_ns, path))

    def forget(self, paths: Iterable[str]) -> set[str]:
        """Drop files from the manifest; their chunk ids move to garbage and are returned."""
        unwanted: set[str] = set()
        with self._transaction():
            for path in paths:
                ids = self.chunk_ids(path)
                unwanted |= ids
                self._db.executemany("INSERT OR IGNORE INTO garbage VALUES (?)", ((i,) for i in ids))
                self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
                self._db.execute("DELETE FROM files WHERE path = ?", (path,))
                self._db.execute("DELETE FROM pending WHERE path = ?", (path,))
            self._bump()
        return unwanted

    def mark_stale(self, paths: Iterable[str]) -> None:
        """Make the next ingest of these files re-read them (their store content is incomplete)."""
        with self._transaction():
            self._db.executemany("UPDATE files SET sha256 = '' WHERE path = ?", ((p,) for p in paths))
            self._bump()

    def clear_pending(self, ids: Iterable[str] | None = None) -> None:
        with self._transaction():
            if ids is None:
                self._db.execute("DELETE FROM pending")
            else:
                self._db.executemany("DELETE FROM pending WHERE id = ?", ((i,) for i in ids))

    def clear_garbage(self, ids: Iterable[str]) -> None:
        with self._transaction():
            self._db.executemany("DELETE FROM garbage WHERE id = ?", ((i,) for i in ids))

    def reset(self) -> None:
        """Forget everything (after the collection was dropped)."""
        with self._transaction():
            for table in ("files", "chunks", "pending", "garbage"):
                self._db.execute(f"DELETE FROM {table}")
            self._bump()

    def bump(self) -> None:
        """A change of the index outside the journal's own steps (recovery deleted chunks)."""
        with self._transaction():
            self._bump()

    def _bump(self) -> None:
        self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")


def open_manifest(settings) -> Manifest:
    return Manifest(manifest_path(settings))


def recover(manifest: Manifest, store) -> dict[str, int]:
    """Bring the store back to what the manifest committed after an interrupted run (see the module docstring).

    Returns how many ids were rolled back (pending, never committed) and collected (garbage).
    """
    committed = manifest.all_chunk_ids()
    pending = manifest.pending_ids()
    orphans = sorted(pending - committed)
    if orphans:
        store.delete(orphans)
    if pending:
        manifest.clear_pending()
    garbage = manifest.garbage_ids()
    collect = sorted(garbage - committed)
    if collect:
        store.delete(collect)
    if garbage:
        manifest.clear_garbage(garbage)
    if orphans or collect:
        manifest.bump()
    return {"rolled_back": len(orphans), "collected": len(collect)}


@contextmanager
def ingest_lock(settings) -> Iterator[None]:
    """One writer per index at a time. Raises IngestError when another ingest holds it."""
    path = manifest_path(settings).with_suffix(".lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    except OSError as exc:
        raise storage_error(exc, path.parent, f"locking the index ({path})") or StoreError(
            f"cannot create the lock file {path} ({exc.strerror})", "check that the data dir is writable") from exc
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            raise IngestError(f"another rag-car ingest or index command (pid {holder}) is writing to this index",
                              "wait for it to finish, then run the command again") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock; a killed process releases it too


def _is_under(path: str, folder: str) -> bool:
    folder = folder.rstrip(os.sep)
    return path == folder or path.startswith(folder + os.sep)


def _entry(row) -> FileEntry:
    values = dict(zip(_COLUMNS, row))
    values["warnings"] = json.loads(values["warnings"] or "[]")
    values["problems"] = json.loads(values["problems"] or "[]")
    return FileEntry(**values)


def _row(entry: FileEntry) -> tuple:
    return (entry.path, entry.size, entry.mtime_ns, entry.sha256, entry.options, entry.kind, entry.doc_type, entry.title,
            entry.vehicle, entry.documents, entry.n_chunks, entry.ingested_at, json.dumps(entry.warnings), json.dumps(entry.problems))
