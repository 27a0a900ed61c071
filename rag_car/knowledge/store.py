"""Chunks + vectors -> Chroma, and back: the only module that talks to chromadb.

Modes: ``embedded`` (a PersistentClient under ``settings.index_dir / "chroma"``) and ``server``
(chromadb.HttpClient to a ``chroma run`` server at ``settings.store.host:port``). Vectors always come from
our embedder: the collection has no embedding function, so Chroma never downloads its default model.
The collection records the model and dimension it was built with; opening it with another model is a
StoreError, not a silent mix of incomparable vectors.

Cross-lingual vectors (the multilingual model's, see embed.py) live in a companion collection ``<name>-ml`` with the
same ids and no documents: Chinese questions are searched over them, and English questions reach non-English chunks
through them. An index without them (built before, or with ``embedding.multilingual = "off"``) still answers English
questions; ``rag-car ingest`` adds the missing vectors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from rag_car.errors import StoreError
from rag_car.knowledge.chunk import Chunk
from rag_car.knowledge.space import READONLY_FIX, is_read_only, storage_error

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]$")
_REBUILD = "rebuild it with `rag-car index remove --all` and ingest again, or point store.collection / --data-dir at another index"


def open_store(settings, dim: int | None = None, model: str | None = None, create: bool = True) -> "Store":
    """The configured store, its collection opened (and created when ``create``).

    ``dim``/``model``: what the caller's embedder produces; checked against what the collection was built
    with (``model`` defaults to the configured embedding model's name; ``dim=None`` skips both checks, for
    commands that only read metadata). Raises StoreError when the store cannot be reached or opened, or was
    built with another model. With ``create=False`` a missing collection gives an empty, read-only Store.
    """
    from rag_car.knowledge.embed import model_name
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    name = settings.store.collection
    if not _NAME.match(name) or ".." in name:
        raise StoreError(f"collection name {name!r} is not valid for Chroma",
                         "use 3-512 letters, digits, '.', '_' or '-', starting and ending with a letter or digit (store.collection)")
    if model is None and dim is not None:
        model = model_name(settings)
    client, description, folder, read_only = _client(settings)
    store = Store(client, name, description, settings.store.mode, folder, read_only)
    store._open(create=create, dim=dim, model=model)
    return store


def _client(settings):
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise StoreError("chromadb is not installed", "run `make install`") from exc
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store.mode == "server":
        host, port = settings.store.host, settings.store.port
        description = f"Chroma server at http://{host}:{port}"
        try:
            client = chromadb.HttpClient(host=host, port=port, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:  # chromadb raises ValueError, httpx errors or its own on a dead server
            raise StoreError(
                f"the Chroma server at {host}:{port} is not reachable ({type(exc).__name__}: {exc})",
                f"start it (chroma run --path DIR --host {host} --port {port}) or set RAG_CAR_STORE__MODE=embedded",
            ) from exc
        return client, description, None, False
    path = Path(settings.index_dir) / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # PermissionError, sqlite errors, Rust-side errors surfaced as RuntimeError
        if (is_read_only(exc) or not os.access(path, os.W_OK)) and (path / "chroma.sqlite3").is_file():
            return _read_only_copy(chromadb, chroma_settings, path)
        raise storage_error(exc, path, "opening the index") or StoreError(
            f"cannot open the index at {path} ({type(exc).__name__}: {exc})",
            "check that the data dir is writable, or pass another --data-dir") from exc
    return client, f"embedded Chroma at {path}", path, False


_READ_ONLY_COPIES: dict[Path, Path] = {}


def _read_only_copy(chromadb, chroma_settings, path: Path):
    """A client over a temporary copy of a read-only index (Chroma opens its database for writing even to
    read), removed when the process ends; the Store refuses writes, which would be lost with the copy."""
    import atexit
    import shutil
    import tempfile

    copy = _READ_ONLY_COPIES.get(path)
    try:
        if copy is None:  # once per process: every later open of the same index reuses it
            copy = Path(tempfile.mkdtemp(prefix="rag-car-read-only-")) / "chroma"
            atexit.register(shutil.rmtree, copy.parent, True)
            shutil.copytree(path, copy)
            _READ_ONLY_COPIES[path] = copy
        client = chromadb.PersistentClient(path=str(copy), settings=chroma_settings)
    except Exception as exc:
        raise storage_error(exc, copy.parent, "copying the read-only index") or StoreError(
            f"the index at {path} is read-only and a temporary copy of it could not be opened ({type(exc).__name__}: {exc})",
            "make the data dir writable, or pass another --data-dir") from exc
    return client, f"embedded Chroma at {path} (read-only)", None, True


class Store:
    """One Chroma collection of chunks. Use :func:`open_store`; ``with`` or ``close()`` when done."""

    def __init__(self, client, name: str, description: str, mode: str, folder: Path | None = None,
                 read_only: bool = False) -> None:
        self._client = client
        self.name = name
        self._description = description
        self.mode = mode
        self.folder = folder  # the embedded index's directory; None on a server or a read-only copy
        self.read_only = read_only  # a temporary copy of an index on a read-only disk: writes would be lost
        self._collection = None
        self._multilingual = None  # the companion collection of cross-lingual vectors, when there is one
        self.model = ""
        self.dim = 0
        self.multilingual_model = ""

    @property
    def multilingual_name(self) -> str:
        return f"{self.name}-ml"

    def open_multilingual(self, model: str, dim: int, create: bool = True) -> None:
        """Open (or create) the companion collection of cross-lingual vectors from ``model``. One built with
        another multilingual model is dropped when ``create`` (its vectors are re-made by the ingest), else ignored."""
        collection = self._get_or_create(self.multilingual_name, create, dim, model)
        if collection is not None:
            meta = collection.metadata or {}
            if str(meta.get("embedding_model", "")) != model or int(meta.get("dim", 0) or 0) != int(dim):
                if not create:
                    return
                self._call("drop", self._client.delete_collection, self.multilingual_name)
                collection = self._get_or_create(self.multilingual_name, create, dim, model)
        self._multilingual = collection
        self.multilingual_model = model if collection is not None else ""

    def multilingual_count(self) -> int:
        if self._multilingual is None:
            return 0
        return int(self._call("count", self._multilingual.count))

    def multilingual_ids(self, batch: int = 5000) -> set[str]:
        out: set[str] = set()
        for page in self._pages(batch, include=[], collection=self._multilingual):
            out.update(page["ids"])
        return out

    def iter_multilingual_vectors(self, batch: int = 1000) -> Iterator[tuple[str, np.ndarray]]:
        """Every (chunk id, cross-lingual vector) of the companion collection."""
        for page in self._pages(batch, include=["embeddings"], collection=self._multilingual):
            for chunk_id, vector in zip(page["ids"], page["embeddings"]):
                yield chunk_id, np.asarray(vector, dtype=np.float32)

    def add_multilingual(self, ids: Sequence[str], vectors) -> None:
        """Write cross-lingual vectors for chunks (an upsert)."""
        if not len(ids) or self._multilingual is None:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        step = self._batch_size()
        for start in range(0, len(ids), step):
            self._call("add", self._multilingual.upsert, ids=list(ids[start:start + step]),
                       embeddings=vectors[start:start + step])

    def _get_or_create(self, name: str, create: bool, dim: int | None, model: str | None):
        from chromadb.errors import NotFoundError

        try:
            try:
                return self._client.get_collection(name, embedding_function=None)
            except NotFoundError:
                pass
            except ValueError as exc:
                if "does not exist" not in str(exc):
                    raise
            if not create or dim is None:
                return None
            return self._client.create_collection(
                name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": model or "", "dim": int(dim), "created_by": "rag-car"}, get_or_create=True)
        except Exception as exc:
            raise StoreError(f"cannot open collection {name!r} in {self._description} ({type(exc).__name__}: {exc})",
                             "check the store settings (`rag-car doctor`)") from exc

    def _open(self, create: bool, dim: int | None, model: str | None) -> None:
        from chromadb.errors import NotFoundError

        try:
            try:
                collection = self._client.get_collection(self.name, embedding_function=None)
            except NotFoundError:
                collection = None
            except ValueError as exc:  # older servers say "does not exist" with a ValueError
                if "does not exist" not in str(exc):
                    raise
                collection = None
            if collection is None and create and dim is not None:
                self._writable("creating the collection")
                collection = self._client.create_collection(
                    self.name,
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}},
                    metadata={"embedding_model": model or "", "dim": int(dim), "created_by": "rag-car"},
                    get_or_create=True,
                )
        except StoreError:
            raise
        except Exception as exc:
            raise self._disk_error(exc, "opening the collection") or StoreError(
                f"cannot open collection {self.name!r} in {self._description} ({type(exc).__name__}: {exc})",
                "check the store settings (`rag-car doctor`)") from exc
        self._collection = collection
        if collection is None:
            return
        meta = collection.metadata or {}
        self.model = str(meta.get("embedding_model", ""))
        self.dim = int(meta.get("dim", 0) or 0)
        if dim is not None and self.dim and int(dim) != self.dim:
            raise StoreError(f"the index {self.describe()} holds {self.dim}-dimensional vectors from {self.model or 'another model'}; "
                             f"the configured model {model or ''} gives {dim}", _REBUILD)
        if model and self.model and model != self.model:
            raise StoreError(f"the index {self.describe()} was built with the embedding model {self.model}, "
                             f"not the configured {model}", _REBUILD)

    # -- context manager --
    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._collection = None
        self._multilingual = None

    # -- reading --
    def describe(self) -> str:
        return f"{self._description} (collection {self.name})"

    @property
    def exists(self) -> bool:
        return self._collection is not None

    def count(self) -> int:
        if self._collection is None:
            return 0
        return int(self._call("count", self._collection.count))

    def ids(self, batch: int = 5000) -> list[str]:
        """Every chunk id in the collection."""
        out: list[str] = []
        for page in self._pages(batch, include=[]):
            out.extend(page["ids"])
        return out

    def get(self, ids: Sequence[str] | None = None, where: dict[str, Any] | None = None) -> list[Chunk]:
        """Chunks by id (in the order given; unknown ids are left out) or by a Chroma ``where`` filter."""
        if self._collection is None or (ids is not None and not ids):
            return []
        if ids is not None:
            found: dict[str, Chunk] = {}
            for start in range(0, len(ids), 5000):
                part = list(ids[start:start + 5000])
                result = self._call("get", self._collection.get, ids=part, where=where, include=["documents", "metadatas"])
                found.update((c.id, c) for c in _chunks(result))
            return [found[i] for i in ids if i in found]
        chunks: list[Chunk] = []
        for page in self._pages(5000, include=["documents", "metadatas"], where=where):
            chunks.extend(_chunks(page))
        return chunks

    def iter_all(self, batch: int = 1000) -> Iterator[Chunk]:
        """Every chunk, ``batch`` at a time."""
        for page in self._pages(batch, include=["documents", "metadatas"]):
            yield from _chunks(page)

    def iter_vectors(self, batch: int = 1000) -> Iterator[tuple[str, np.ndarray]]:
        """Every (chunk id, stored vector), ``batch`` at a time (retrieval keeps a row-aligned copy)."""
        for page in self._pages(batch, include=["embeddings"]):
            for chunk_id, vector in zip(page["ids"], page["embeddings"]):
                yield chunk_id, np.asarray(vector, dtype=np.float32)

    def metadatas(self, batch: int = 5000) -> Iterator[dict[str, Any]]:
        for page in self._pages(batch, include=["metadatas"]):
            yield from (m or {} for m in page["metadatas"])

    def query(self, vector, k: int, where: dict[str, Any] | None = None) -> list[tuple[Chunk, float]]:
        """The ``k`` nearest chunks with their cosine similarity (higher is better)."""
        if self._collection is None or k <= 0:
            return []
        n = min(int(k), self.count())
        if n == 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        result = self._call("query", self._collection.query, query_embeddings=query, n_results=n, where=where,
                            include=["documents", "metadatas", "distances"])
        chunks = _chunks({"ids": result["ids"][0], "documents": result["documents"][0], "metadatas": result["metadatas"][0]})
        return [(chunk, 1.0 - float(distance)) for chunk, distance in zip(chunks, result["distances"][0])]

    def query_ids(self, vector, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The ``k`` nearest chunk ids with their cosine similarity, nothing else fetched (retrieval's hot path:
        Chroma's documents and metadatas cost far more than the search itself). Fewer when the index is smaller."""
        if self._collection is None or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        result = self._call("query", self._collection.query, query_embeddings=query, n_results=int(k), where=where,
                            include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0])]

    # -- writing --
    def add(self, chunks: Sequence[Chunk], vectors) -> None:
        """Write chunks with their vectors (an upsert: writing the same id twice keeps one copy)."""
        if not chunks:
            return
        self._require()
        self._writable("adding chunks")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape[0] != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but {vectors.shape[0]} vectors")
        if self.dim and vectors.shape[1] != self.dim:
            raise StoreError(f"vectors of dimension {vectors.shape[1]} for an index of dimension {self.dim}", _REBUILD)
        step = self._batch_size()
        for start in range(0, len(chunks), step):
            part = chunks[start:start + step]
            self._call("add", self._collection.upsert, ids=[c.id for c in part], embeddings=vectors[start:start + step],
                       documents=[c.text for c in part], metadatas=[_clean(c.metadata) for c in part])

    def update_metadata(self, chunks: Sequence[Chunk]) -> None:
        """Replace the metadata of chunks already stored (their vectors stay)."""
        if not chunks:
            return
        self._require()
        self._writable("updating chunks")
        step = self._batch_size()
        for start in range(0, len(chunks), step):
            part = chunks[start:start + step]
            self._call("update", self._collection.update, ids=[c.id for c in part], metadatas=[_clean(c.metadata) for c in part])

    def delete(self, ids: Sequence[str]) -> None:
        """Delete chunks by id; ids that are not there are ignored."""
        if not ids or self._collection is None:
            return
        self._writable("deleting chunks")
        step = self._batch_size()
        ids = list(ids)
        for start in range(0, len(ids), step):
            self._call("delete", self._collection.delete, ids=ids[start:start + step])
            if self._multilingual is not None:
                self._call("delete", self._multilingual.delete, ids=ids[start:start + step])

    def drop(self) -> None:
        """Delete the whole collection."""
        from chromadb.errors import NotFoundError

        self._writable("deleting the collection")
        for name in (self.name, self.multilingual_name):
            try:
                self._client.delete_collection(name)
            except NotFoundError:
                pass
            except Exception as exc:
                if "does not exist" not in str(exc):
                    raise StoreError(f"cannot delete collection {name!r} in {self._description} ({exc})", "check the store") from exc
        self._collection = None
        self._multilingual = None

    # -- helpers --
    def _require(self) -> None:
        if self._collection is None:
            raise StoreError(f"collection {self.name!r} does not exist in {self._description}", "run `rag-car ingest` first")

    def _batch_size(self) -> int:
        try:
            return max(1, min(5000, int(self._client.get_max_batch_size())))
        except Exception:  # older servers do not report it
            return 1000

    def _pages(self, batch: int, include: list[str], where: dict[str, Any] | None = None,
               collection: Any = "main") -> Iterator[dict[str, Any]]:
        collection = self._collection if isinstance(collection, str) else collection
        if collection is None:
            return
        offset = 0
        while True:
            page = self._call("get", collection.get, limit=batch, offset=offset, where=where, include=include)
            if not page["ids"]:
                return
            yield page
            if len(page["ids"]) < batch:
                return
            offset += len(page["ids"])

    def _call(self, what: str, function, *args, **kwargs):
        try:
            return function(*args, **kwargs)
        except StoreError:
            raise
        except (TypeError, ValueError) as exc:
            if "where" in str(exc).lower() or "filter" in str(exc).lower() or "operator" in str(exc).lower():
                raise StoreError(f"Chroma rejected the filter in {what} ({exc})", "check the where clause") from exc
            raise StoreError(f"{what} failed on {self.describe()} ({type(exc).__name__}: {exc})", "check the store (`rag-car doctor`)") from exc
        except Exception as exc:  # connection errors, sqlite errors, Rust-side errors
            raise self._disk_error(exc, what) or StoreError(
                f"{what} failed on {self.describe()} ({type(exc).__name__}: {exc})", "check the store (`rag-car doctor`)") from exc

    def _disk_error(self, exc: BaseException, what: str) -> StoreError | None:
        return storage_error(exc, self.folder, f"{what} on {self.describe()}") if self.folder is not None else None

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"{what} refused: the index {self.describe()} is read-only", READONLY_FIX)


def _clean(metadata: dict[str, Any]) -> dict[str, str | int | float | bool]:
    """Chroma accepts str, int, float and bool values only (no None)."""
    out: dict[str, str | int | float | bool] = {}
    for key, value in metadata.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return out


def _chunks(result: dict[str, Any]) -> list[Chunk]:
    documents = result.get("documents") or [""] * len(result["ids"])
    metadatas = result.get("metadatas") or [{}] * len(result["ids"])
    return [Chunk(i, d or "", dict(m or {})) for i, d, m in zip(result["ids"], documents, metadatas)]
