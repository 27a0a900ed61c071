"""The store + the manifest generation -> the BM25 index and catalog on disk, rebuilt whenever the index changed.

The vector store is the source of truth. The lexical side is a derived copy saved under
``<index_dir>/bm25/<mode>-<collection>/`` with a ``state.json`` recording the manifest generation and the chunk
count it was built from; it is rebuilt from ``store.iter_all()`` when either differs (an ingest, a change or a
removal bumps the generation), when the tokenizer changed, or when the files are missing or unreadable.
A rebuild is written to a temporary directory and swapped in, so a reader never sees half an index.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from rag_car.knowledge.retrieve.catalog import Catalog
from rag_car.text.codes import find_codes
from rag_car.knowledge.retrieve.lexical import TOKENIZER_VERSION, LexicalIndex, chunk_tokens
from rag_car.knowledge.retrieve.records import Records, load_vectors, write_records, write_vectors

log = logging.getLogger(__name__)
STATE_FILE = "state.json"
CATALOG_FILE = "catalog.json"


@dataclass
class LexicalState:
    """A loaded lexical side: the catalog (row order, filter columns, code map), the BM25 index, the records
    (texts and metadata by row), and what it was built from."""

    catalog: Catalog
    index: LexicalIndex
    records: Records
    generation: int
    count: int
    vectors: np.ndarray | None = None  # row-aligned chunk vectors (memory-mapped), for exact dense scores
    built_in_s: float = 0.0
    rebuilt: bool = False
    # row-aligned cross-lingual vectors (the companion collection, see store.py) and which rows are not English
    cross_vectors: np.ndarray | None = None
    foreign: np.ndarray | None = None
    cross_count: int = 0  # the companion collection's size this was built from


def lexical_dir(settings: Any) -> Path:
    return Path(settings.index_dir) / "bm25" / f"{settings.store.mode}-{settings.store.collection}"


# manifest path -> (stat signature of the database and its WAL, generation read then)
_GENERATIONS: dict[str, tuple[tuple, int]] = {}


def current_generation(settings: Any) -> int:
    """The manifest generation (0 when nothing was ever ingested).

    Asking SQLite costs milliseconds, a stat microseconds: the generation is read again only when the manifest
    database or its write-ahead log changed on disk since the last read.
    """
    from rag_car.knowledge.manifest import load_generation, manifest_path

    path = manifest_path(settings)
    signature = tuple(_stat(p) for p in (path, path.with_name(path.name + "-wal")))
    cached = _GENERATIONS.get(str(path))
    if cached is not None and cached[0] == signature:
        return cached[1]
    generation = int(load_generation(settings))
    _GENERATIONS[str(path)] = (signature, generation)
    return generation


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


def read_state(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_saved(settings: Any, generation: int | None = None) -> LexicalState | None:
    """The saved lexical side when it matches ``generation`` (default: the current one) and this tokenizer."""
    directory = lexical_dir(settings)
    state = read_state(directory)
    if generation is None:
        generation = current_generation(settings)
    if not state or state.get("generation") != generation or state.get("tokenizer") != TOKENIZER_VERSION:
        return None
    try:
        catalog = Catalog.load(directory / CATALOG_FILE)
        index = LexicalIndex.load(directory / "bm25s", size=catalog.size)
        records = Records(directory, cache_rows=settings.retrieval.record_cache)
        vectors = load_vectors(directory)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("lexical index at %s is unreadable (%s): rebuilding it", directory, exc)
        return None
    cross, foreign = _load_cross(directory)
    if not catalog.size == len(records) == state.get("count") or (vectors is not None and len(vectors) != catalog.size) \
            or (cross is not None and len(cross) != catalog.size) or (foreign is not None and len(foreign) != catalog.size):
        records.close()
        return None
    return LexicalState(catalog, index, records, generation, catalog.size, vectors=vectors, cross_vectors=cross,
                        foreign=foreign, cross_count=int(state.get("cross_count", 0)))


CROSS_FILE = "cross_vectors.npy"
FOREIGN_FILE = "foreign.npy"


def _load_cross(directory: Path) -> tuple[np.ndarray | None, np.ndarray | None]:
    cross = directory / CROSS_FILE
    foreign = directory / FOREIGN_FILE
    return (np.ascontiguousarray(np.load(cross), dtype=np.float32) if cross.is_file() else None,
            np.load(foreign).astype(bool) if foreign.is_file() else None)


def chunk_language(chunk: Any) -> str:
    """A chunk's language: its ``lang`` metadata, else read from its text (chunks stored before it was recorded)."""
    from rag_car.text.lang import detect_language

    lang = (chunk.metadata or {}).get("lang")
    return str(lang) if lang else detect_language(chunk.text)


def build(settings: Any, store: Any, generation: int) -> LexicalState:
    """Rebuild from every chunk of the store and save it (atomically swapped in)."""
    start = time.perf_counter()
    # Chroma's reads release the interpreter for part of their time: a thread reads the chunks (then the
    # vectors) while this one finds each chunk's codes (once, for the catalog and the tokens) and tokens
    reader = _Reader(store)
    headings: dict[str, list[str]] = {}
    rows: list[tuple[Any, list, list[str], int]] = []
    try:
        for chunk in reader.chunks():
            codes = find_codes(chunk.text)
            tokens, own = chunk_tokens(chunk, codes, headings)
            rows.append((chunk, codes, tokens, own))
    except BaseException:
        reader.stop()  # the thread must not wait for a reader that is gone
        raise
    del headings
    # rows grouped by vehicle, then document: a vehicle filter then keeps a few contiguous runs of rows,
    # which the dense side scores as slices of the row-aligned vectors instead of gathering rows one by one
    rows.sort(key=lambda item: row_order(item[0]))
    chunks = [item[0] for item in rows]
    catalog = Catalog.build(chunks, [item[1] for item in rows])
    catalog.text_tokens = np.asarray([item[3] for item in rows], dtype=np.int32)
    index = LexicalIndex.from_tokens(item[2] for item in rows)
    del rows
    foreign = np.asarray([chunk_language(c) != "en" for c in chunks], dtype=bool)
    vectors = _row_vectors(reader.vectors(), catalog)
    cross_pairs = reader.cross_vectors()
    cross = _row_vectors(cross_pairs, catalog)
    cross_count = len(cross_pairs) if cross_pairs is not None else 0
    built_in = time.perf_counter() - start
    directory = lexical_dir(settings)
    tmp = directory.parent / f".{directory.name}.tmp-{os.getpid()}-{time.monotonic_ns()}"
    try:  # a read-only or full disk: the index is still used, from memory
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        catalog.save(tmp / CATALOG_FILE)
        index.save(tmp / "bm25s")
        write_records(tmp, chunks)
        if vectors is not None:
            write_vectors(tmp, vectors)
        np.save(tmp / FOREIGN_FILE, foreign)
        if cross is not None:
            np.save(tmp / CROSS_FILE, cross)
        state = {"generation": generation, "count": catalog.size, "tokenizer": TOKENIZER_VERSION, "cross_count": cross_count,
                 "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "built_in_s": round(built_in, 3)}
        (tmp / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        old = directory.parent / f".{directory.name}.old-{os.getpid()}-{time.monotonic_ns()}"
        if directory.exists():
            os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
        records = Records(directory, cache_rows=settings.retrieval.record_cache)
        vectors = load_vectors(directory) if vectors is not None else None
        cross, foreign = _load_cross(directory)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        # still usable from memory; the next process will try again
        log.warning("could not save the lexical index to %s (%s)", directory, exc)
        records = Records(chunks=chunks)
    return LexicalState(catalog, index, records, generation, catalog.size, vectors=vectors,
                        built_in_s=built_in, rebuilt=True, cross_vectors=cross, foreign=foreign, cross_count=cross_count)


def row_order(chunk: Any) -> tuple:
    """The sort key of a chunk's row: make, model, source, position in the document."""
    meta = chunk.metadata or {}
    index = meta.get("chunk_index", 0)
    return (str(meta.get("make", "") or "").lower(), str(meta.get("model", "") or "").lower(),
            str(meta.get("source", "") or ""), index if isinstance(index, int) else 0, chunk.id)


class _Reader:
    """Reads every chunk, then every vector, of a store in a background thread (errors re-raised here)."""

    _DONE = object()

    def __init__(self, store: Any) -> None:
        self._store = store
        self._queue: queue.Queue = queue.Queue(maxsize=8)
        self._vectors: list[tuple[str, np.ndarray]] | None = None
        self._cross: list[tuple[str, np.ndarray]] | None = None
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rag-car-lexical-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            page: list[Any] = []
            for chunk in self._store.iter_all():
                page.append(chunk)
                if len(page) >= 500:
                    self._put(page)
                    page = []
            if page:
                self._put(page)
        except BaseException as exc:  # handed over to the caller's thread
            self._error = exc
        self._put(self._DONE)
        if self._error is not None or self._stopped.is_set():
            return
        iter_vectors = getattr(self._store, "iter_vectors", None)
        if iter_vectors is not None:
            try:
                self._vectors = list(iter_vectors())
                if _cross_count(self._store):
                    self._cross = list(self._store.iter_multilingual_vectors())
            except BaseException as exc:
                self._error = exc

    def _put(self, item: Any) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def stop(self) -> None:
        """Called when the caller gives up reading (an error): the thread no longer waits for it."""
        self._stopped.set()

    def chunks(self) -> Iterator[Any]:
        while True:
            page = self._queue.get()
            if page is self._DONE:
                break
            yield from page
        if self._error is not None:
            raise self._error

    def cross_vectors(self) -> list[tuple[str, np.ndarray]] | None:
        """Every (chunk id, cross-lingual vector), None when the store has none (call after vectors())."""
        self._thread.join()
        return self._cross

    def vectors(self) -> list[tuple[str, np.ndarray]] | None:
        """Every (chunk id, vector), None when the store cannot give them back."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._vectors


def _cross_count(store: Any) -> int:
    count = getattr(store, "multilingual_count", None)
    return int(count()) if callable(count) else 0


def _row_vectors(pairs: list[tuple[str, np.ndarray]] | None, catalog: Catalog) -> np.ndarray | None:
    """The stored vectors in catalog row order (None when the store cannot give them back, or one is missing)."""
    if pairs is None or catalog.size == 0:
        return None
    out: np.ndarray | None = None
    seen = 0
    for chunk_id, vector in pairs:
        row = catalog.row_of(chunk_id)
        if row is None:
            continue
        if out is None:
            out = np.zeros((catalog.size, vector.shape[0]), dtype=np.float32)
        out[row] = vector
        seen += 1
    return out if seen == catalog.size else None


def load_or_build(settings: Any, store: Any, check_count: bool = True) -> LexicalState:
    """The lexical side for the store as it is now: the saved one when still current, else rebuilt."""
    generation = current_generation(settings)
    state = load_saved(settings, generation)
    # an ingest that only added cross-lingual vectors to an old index leaves the generation as it was
    if state is not None and (not check_count or state.count == store.count()) \
            and state.cross_count == _cross_count(store):
        return state
    if state is not None:
        state.records.close()
    return build(settings, store, generation)
