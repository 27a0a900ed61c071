"""Sentences -> embedding vectors, cached in memory and in a small SQLite file so that a warm assistant never
re-embeds a sentence it has seen (embedding 40 sentences costs ~150 ms on 2 cores; a lookup ~0.1 ms)."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
from collections import OrderedDict
import time
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from rag_car.answer.sentences import split_sentences
from rag_car.answer.sources import defang


class SentenceVectors:
    """``embed(texts) -> (n, dim) float32`` through ``embedder.embed_documents``, with a bounded LRU in memory and,
    when ``cache_path`` is given, a persistent SQLite table keyed by embedder name + text hash."""

    def __init__(self, embedder: Any, cache_path: Path | None = None, memory_items: int = 50_000) -> None:
        self.embedder = embedder
        self.dim = int(getattr(embedder, "dim", 0) or 0)
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memory_items = memory_items
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        name = str(getattr(embedder, "name", type(embedder).__name__))
        self._prefix = hashlib.sha1(name.encode()).hexdigest()[:10]
        self.computed = 0  # sentences embedded by this object (not found in a cache)
        if cache_path is not None:
            try:
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(str(cache_path), timeout=2.0, check_same_thread=False)
                self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
                self._db.commit()
            except (sqlite3.Error, OSError):  # a read-only or full disk too
                self._db = None  # an unwritable cache only costs speed

    def _key(self, text: str) -> str:
        return self._prefix + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        keys = [self._key(t) for t in texts]
        found = self._found(keys, touch=True)
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            by_key = {k: t for k, t in zip(keys, texts)}
            fresh = np.asarray(self.embedder.embed_documents([by_key[k] for k in missing]), dtype=np.float32)
            self.computed += len(missing)
            new = dict(zip(missing, fresh))
            found.update(new)
            self._store(new)
        with self._lock:
            for key in keys:
                self._memory[key] = found[key]
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
        out = np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
        if not self.dim:
            self.dim = out.shape[1]
        return out

    def cached(self, texts: list[str]) -> list[np.ndarray | None]:
        """The vectors of ``texts`` found in memory or on disk, None for the others: nothing is embedded."""
        keys = [self._key(t) for t in texts]
        found = self._found(keys, touch=False)
        with self._lock:
            for key, vec in found.items():
                self._memory.setdefault(key, vec)  # disk hits kept in memory; memory hits keep their place
            while len(self._memory) > self._memory_items:
                self._memory.popitem(last=False)
        return [found.get(k) for k in keys]

    def _found(self, keys: list[str], *, touch: bool) -> dict[str, np.ndarray]:
        """The vectors of ``keys`` in memory, then on disk; ``touch`` marks memory hits as recently used."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for key in keys:
                vec = self._memory.get(key)
                if vec is not None:
                    if touch:
                        self._memory.move_to_end(key)
                    found[key] = vec
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing and self._db is not None:
            found.update(self._load(missing))
        return found

    def _load(self, keys: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        try:
            with self._lock:
                for start in range(0, len(keys), 500):
                    chunk = keys[start:start + 500]
                    rows = self._db.execute(
                        f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
                    ).fetchall()
                    for key, blob in rows:
                        out[key] = np.frombuffer(blob, dtype=np.float32)
        except sqlite3.Error:
            return {}
        return out

    def _store(self, vectors: dict[str, np.ndarray]) -> None:
        if self._db is None or not vectors:
            return
        try:
            with self._lock:
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in vectors.items()],
                )
                self._db.commit()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def cache_file(cache_dir: Path, embedder: Any) -> Path:
    """Where the sentence vectors of ``embedder`` are cached under the data dir's cache folder."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(getattr(embedder, "name", "embedder")))[-60:]
    return cache_dir / "answer" / f"sentences-{name}.sqlite"


def chunk_sentences(chunks: Iterable[Any]) -> list[str]:
    """The sentences answer ranking embeds for these chunks (their defanged text, split as the sources split it)."""
    return [s.text for chunk in chunks for s in split_sentences(defang(chunk.text))]


class BestSentences:
    """The retriever's view of the sentence vectors (rag_car.knowledge.retrieve.sentences.SentenceScores): for each
    chunk text, its best sentence's cosine to the question, from the cached vectors only (None for a chunk with a
    sentence not embedded yet: a search never waits for the model)."""

    def __init__(self, vectors: SentenceVectors) -> None:
        self.vectors = vectors

    def best(self, texts: Sequence[str], vector: np.ndarray) -> list[float | None]:
        split = [chunk_sentences([_Text(t)]) for t in texts]
        found = self.vectors.cached([s for sentences in split for s in sentences])
        q = np.asarray(vector, dtype=np.float32)
        out: list[float | None] = []
        at = 0
        for sentences in split:
            vecs = found[at:at + len(sentences)]
            at += len(sentences)
            if not sentences or any(v is None for v in vecs):
                out.append(None)
                continue
            out.append(float(np.max(np.stack(vecs) @ q)))
        return out


@contextmanager
def open_best_sentences(settings: Any, embedder: Any) -> Iterator[BestSentences]:
    """The sentence vectors cached under the data dir, as a retriever's best-sentence scores (``rag-car search``
    and ``eval retrieval`` rank as ``ask`` does); the cache is closed on exit."""
    vectors = SentenceVectors(embedder, cache_file(settings.cache_dir, embedder))
    try:
        yield BestSentences(vectors)
    finally:
        vectors.close()


class _Text:
    """A chunk text where chunk_sentences wants a chunk."""

    def __init__(self, text: str) -> None:
        self.text = text


class SentenceFill:
    """Embeds the sentences of chunks into a SentenceVectors cache, about ``batch`` at a time, so that answers over
    them embed nothing but the question. Used on the chunks an ingest adds (``ingest(..., after_add=fill)``) and by
    ``Assistant.warm`` over a whole index (chunks are read as they are needed). ``stop()`` is asked before each
    batch. Counts what it did."""

    def __init__(self, vectors: SentenceVectors, batch: int = 256, stop: Callable[[], bool] | None = None) -> None:
        self.vectors = vectors
        self.batch = max(1, int(batch))
        self.stop = stop
        self.sentences = 0  # sentences looked at (found cached or embedded)
        self.seconds = 0.0
        self._computed_before = vectors.computed

    @property
    def embedded(self) -> int:
        """Sentences that went through the model (the rest were cached already)."""
        return self.vectors.computed - self._computed_before

    def __call__(self, chunks: Iterable[Any]) -> None:
        started = time.perf_counter()
        pending: list[str] = []
        try:
            for chunk in chunks:
                pending.extend(chunk_sentences([chunk]))
                if len(pending) >= self.batch:
                    if not self._embed(pending):
                        return
                    pending = []
            if pending:
                self._embed(pending)
        finally:
            self.seconds += time.perf_counter() - started

    def _embed(self, texts: list[str]) -> bool:
        """Embed one batch, unless ``stop()`` says not to (False)."""
        if self.stop is not None and self.stop():
            return False
        self.vectors.embed(texts)
        self.sentences += len(texts)
        return True

    def to_json(self) -> dict:
        return {"sentences": self.sentences, "embedded": self.embedded, "seconds": round(self.seconds, 3)}


def ingest_fill(settings: Any, embedder: Any) -> SentenceFill | None:
    """The fill `rag-car ingest` runs on the chunks it adds (None when ``ingest.answer_sentences`` is off)."""
    if not settings.ingest.answer_sentences:
        return None
    # written for the answering processes to read: a small memory side (a 100k-chunk ingest has ~500k sentences)
    return SentenceFill(SentenceVectors(embedder, cache_file(settings.cache_dir, embedder), memory_items=4096))


class QueryCache:
    """An embedder whose ``embed_query`` remembers its last few questions: the retriever and the answer ranking
    embed the same query, and a follow-up search for a code repeats it. Everything else passes through."""

    def __init__(self, embedder: Any, size: int = 256) -> None:
        self._embedder = embedder
        self._size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vector = self._embedder.embed_query(text)
        with self._lock:
            self._cache[text] = vector
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)
