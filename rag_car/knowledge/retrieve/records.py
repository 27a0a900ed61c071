"""Chunks -> a JSON-lines copy (id, text, metadata) with a row offset table, read back a few rows at a time.

Reading a passage from here costs a seek and a json.loads; reading it from Chroma costs far more, so the
search path asks Chroma for ids and distances only and takes texts and metadata from this file.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from rag_car.knowledge.chunk import Chunk

RECORDS_FILE = "records.jsonl"
OFFSETS_FILE = "offsets.npy"
VECTORS_FILE = "vectors.npy"
CACHE_ROWS = 4096  # recent passages are asked for again (the UI, follow-ups); ~4096 x a few KB


def write_vectors(directory: Path, vectors: np.ndarray) -> None:
    """The chunk vectors in row order."""
    np.save(directory / VECTORS_FILE, np.asarray(vectors, dtype=np.float32))


def load_vectors(directory: Path) -> np.ndarray | None:
    """The saved vectors, read into memory (100,000 x 384 floats are 150 MB): a filtered search scores whole
    runs of rows, and pages of a memory map that were evicted would make its slowest searches much slower."""
    path = directory / VECTORS_FILE
    return np.ascontiguousarray(np.load(path), dtype=np.float32) if path.is_file() else None


def write_records(directory: Path, chunks: Iterable[Any]) -> int:
    """Write every chunk, in row order; returns how many."""
    offsets = [0]
    with open(directory / RECORDS_FILE, "wb") as out:
        for chunk in chunks:
            line = json.dumps({"id": chunk.id, "text": chunk.text, "metadata": chunk.metadata}, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8") + b"\n"
            out.write(line)
            offsets.append(offsets[-1] + len(line))
    np.save(directory / OFFSETS_FILE, np.asarray(offsets, dtype=np.int64))
    return len(offsets) - 1


class Records:
    """Random access to the rows written by :func:`write_records`; ``chunks`` given = kept in memory instead.

    Rows read from the file are kept in a least-recently-used cache of ``cache_rows`` entries.
    """

    def __init__(self, directory: Path | None = None, chunks: list[Any] | None = None,
                 cache_rows: int = CACHE_ROWS) -> None:
        self._memory = [Chunk(c.id, c.text, dict(c.metadata)) for c in chunks] if chunks is not None else None
        self._offsets = None
        self._handle = None
        if directory is not None and chunks is None:
            self._offsets = np.load(directory / OFFSETS_FILE)
            # held open: a rebuild by another process replaces the directory, and this handle keeps reading the
            # rows this process's catalog describes until it reloads
            self._handle = open(directory / RECORDS_FILE, "rb")
        self._cache: OrderedDict[int, Chunk] = OrderedDict()
        self._cache_rows = max(1, int(cache_rows))
        self._lock = threading.Lock()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __len__(self) -> int:
        if self._memory is not None:
            return len(self._memory)
        return int(len(self._offsets) - 1) if self._offsets is not None else 0

    def get(self, rows: Iterable[int]) -> dict[int, Chunk]:
        """The chunks of these rows."""
        rows = list(rows)
        if self._memory is not None:
            return {r: self._memory[r] for r in rows}
        with self._lock:
            return self._read(rows)

    def _read(self, rows: list[int]) -> dict[int, Chunk]:
        # the answer is assembled before anything is evicted: a request may be larger than the cache, and a
        # row found in the cache must not be dropped by the rows read after it
        found: dict[int, Chunk] = {}
        for row in rows:
            if row in found:
                continue
            chunk = self._cache.get(row)
            if chunk is None:
                start, end = int(self._offsets[row]), int(self._offsets[row + 1])
                self._handle.seek(start)
                data = json.loads(self._handle.read(end - start))
                chunk = Chunk(data["id"], data["text"], data["metadata"])
            found[row] = chunk
        for row, chunk in found.items():
            self._cache[row] = chunk
            self._cache.move_to_end(row)
        while len(self._cache) > self._cache_rows:
            self._cache.popitem(last=False)
        return found
