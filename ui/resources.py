"""Settings -> the long-lived parts every page shares: the assistant, the live feed, the index status.

The one module of the UI that talks to the rest of rag-car (the assistant, the live state, the
ingestion pipeline's public functions, the retriever's known_vehicles, rag_car.health). Each part
is built once per server process (``st.cache_resource``); heavy imports happen inside the
functions, so the first page renders before torch or chromadb are loaded.
"""

from __future__ import annotations

import gc
import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from rag_car.errors import BusError, RagCarError
from rag_car.settings import Settings, load_settings

from ui.live_feed import FeedStatus, LiveFeed, start_live_feed
from ui.uploads import is_within, remove_upload


@st.cache_resource(show_spinner=False)
def settings() -> Settings:
    """The settings of this server: ``RAG_CAR_CONFIG_FILE`` (set by `rag-car serve --config`), env, defaults."""
    config = os.environ.get("RAG_CAR_CONFIG_FILE")
    return load_settings(Path(config) if config else None)


# -- the live vehicle ---------------------------------------------------------------------------

@st.cache_resource(show_spinner=False, on_release=lambda feed: feed.stop())
def live_feed() -> LiveFeed:
    """The one bus listener of this server, started on first use and fed from settings.can.bus."""
    try:
        return start_live_feed(settings())
    except ImportError as exc:
        raise BusError(f"the live vehicle part cannot be loaded ({exc})", "reinstall rag-car: make install") from exc


def vehicle_profiles():
    """The Garage of this server's settings (bundled + <data_dir>/vehicles), read again on each call."""
    from rag_car.vehicle.profile import garage_for

    return garage_for(settings())


def pick_profile(name: str | None):
    """Make ``name`` the picked vehicle profile of the live feed (None: no pick); returns the Resolution now in force.
    A VIN heard on the bus still wins over the pick, and a VIN of another car sets it aside."""
    feed = live_feed()
    session = feed.session
    if session is not None and hasattr(session, "pick"):
        session.garage = vehicle_profiles()
        return session.pick(name)
    resolution = vehicle_profiles().resolve(picked=name, dbc=settings().dbc_files())
    feed.live.set_profile(resolution.profile, resolution.how, resolution.notes)
    return resolution


def stop_server() -> None:
    """Stop the bus listener (its Notifier, then its bus). Never raises: the server is going away."""
    try:
        live_feed.clear()  # on_release stops it
    except Exception:
        pass


def live_snapshot():
    """(snapshot, feed status) or (None, status with the error) when the live state cannot be built."""
    try:
        feed = live_feed()
    except RagCarError as exc:
        return None, FeedStatus(settings().can.bus, "unreachable", 0, None, exc.message, exc.fix or "")
    snapshot = feed.snapshot()
    return snapshot, feed.status(snapshot)


def live_state_or_none() -> Any:
    try:
        return live_feed().live
    except RagCarError:
        return None


# -- the assistant ------------------------------------------------------------------------------

class _AssistantBuilder:
    """Builds the Assistant in a background thread at server start, so the first question is fast."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._future: Future | None = None
        self._stop = threading.Event()
        self._background: list[threading.Thread] = []

    def after(self, work: Callable[[threading.Event], None]) -> None:
        """Run ``work(stop_event)`` in a background thread once built; close() sets the event and waits for it."""
        thread = threading.Thread(target=work, args=(self._stop,), name="rag-car assistant background", daemon=True)
        self._background.append(thread)
        thread.start()

    def start(self) -> "_AssistantBuilder":
        with self._lock:
            if self._future is None:
                self._future = Future()
                threading.Thread(target=self._run, args=(self._future,), name="rag-car assistant warm-up", daemon=True).start()
        return self

    def _run(self, future: Future) -> None:
        try:
            future.set_result(self._build())
        except BaseException as exc:  # handed to the page that asks
            future.set_exception(exc)

    def get(self, timeout: float | None = None) -> Any:
        """The Assistant; raises what building it raised (and forgets it, so the next call retries)."""
        self.start()
        assert self._future is not None
        try:
            return self._future.result(timeout)
        except TimeoutError:  # still building: not a failure
            raise
        except Exception:
            with self._lock:
                self._future = None
            raise

    def close(self) -> None:
        """Close the Assistant once it is built (its backends, vectors and retriever)."""
        future = self._future
        if future is None:
            return
        try:
            built = future.result(timeout=120)
        except BaseException:
            return
        self._stop.set()  # the background work stops between two batches, before the store is closed under it
        for thread in self._background:
            thread.join(timeout=60)
        close = getattr(built, "close", None)
        if callable(close):
            close()

    @property
    def ready(self) -> bool:
        return self._future is not None and self._future.done() and self._future.exception() is None


@st.cache_resource(show_spinner=False, on_release=lambda builder: builder.close())
def assistant_builder() -> _AssistantBuilder:
    current = settings()

    def build() -> Any:
        from rag_car.answer.assistant import Assistant

        built = Assistant(current, live=live_state_or_none())
        try:  # load the embedder, the index and the backend now, not on the first question
            built.warm(sentences=False)
        except RagCarError:
            return built  # an empty index or a down backend: the chat page says so when asked
        # then, with the assistant already answering, the indexed sentences (cached on disk for the next start)
        builder.after(lambda stop: _embed_sentences(built, SENTENCES, stop))
        return built

    builder = _AssistantBuilder(build)
    return builder.start()


# the background sentence warm-up: "pending", "running", "done", "stopped" or "failed: ..." (on the Settings page)
SENTENCES: dict[str, Any] = {"state": "pending", "sentences": 0, "seconds": 0.0}
SENTENCE_WARM_UP_DELAY_S = 10.0


def _embed_sentences(built: Any, status: dict[str, Any], stop: threading.Event) -> None:
    """Embed every indexed sentence once in small batches (a question asked meanwhile waits for one batch, not for
    all), so that first answers about any passage cost only their question's embedding."""
    if stop.wait(SENTENCE_WARM_UP_DELAY_S):  # let the first visitor's page load first: it needs both cores
        return
    status["state"] = "running"
    try:
        done = built.warm(sentences=True, batch=64, stop=stop.is_set)
        status.update(state="stopped" if stop.is_set() else "done", sentences=int(done["sentences"]),
                      seconds=round(done["seconds"], 1))
    except Exception as exc:  # a full disk, a store gone away: answers just embed as they go
        status["state"] = f"failed: {exc}"


def assistant(timeout: float | None = 300) -> Any:
    return assistant_builder().get(timeout)


def prepare_server(timeout_s: float = 90.0) -> None:
    """Everything a first visitor would otherwise wait for: settings, bus listener, warmed assistant, the
    modules the pages draw with. Never raises; what fails is reported by the pages."""
    try:
        settings()
        live_feed()
    except RagCarError:
        pass
    try:  # imported on first use otherwise, i.e. by the first visitor's page
        import altair  # noqa: F401  (st.line_chart)
        import pandas  # noqa: F401  (st.dataframe)
        import streamlit.emojis  # noqa: F401  (icons in labels)
        import streamlit.material_icon_names  # noqa: F401
    except ImportError:
        pass
    try:
        assistant_builder().get(timeout=timeout_s)
    except BaseException:  # a timeout, an empty index, a down backend: the chat page explains
        pass
    try:
        known_vehicles()
    except Exception:
        pass
    # what is loaded now (torch, the model, chromadb, the index) lives as long as the server: keep it out of the
    # garbage collector's full passes, which would otherwise walk millions of objects during page runs
    gc.collect()
    gc.freeze()


# -- the index ----------------------------------------------------------------------------------

def index_generation() -> int:
    """The manifest generation (bumped on every change of the index); -1 when unknown."""
    try:
        from rag_car.knowledge.manifest import load_generation

        return int(load_generation(settings()))
    except (ImportError, RagCarError, OSError, ValueError):
        return -1


@st.cache_data(show_spinner=False, ttl=300)
def _known_vehicles(generation: int, data_dir: str) -> list[dict[str, Any]]:
    from rag_car.knowledge.retrieve import known_vehicles

    return list(known_vehicles(settings()))


def known_vehicles() -> list[dict[str, Any]]:
    """What is indexed, for the vehicle picker ([] when the index is empty or unavailable)."""
    try:
        return _known_vehicles(index_generation(), str(settings().data_dir))
    except (ImportError, RagCarError):
        return []


def vehicle_label(vehicle: dict[str, Any]) -> str:
    """``"Aldmoor Corrin (2019-2024)"``."""
    years = ""
    low, high = int(vehicle.get("year_min") or 0), int(vehicle.get("year_max") or 0)
    if low and high and low != high:
        years = f" ({low}-{high})"
    elif low or high:
        years = f" ({low or high})"
    name = f"{vehicle.get('make', '') or ''} {vehicle.get('model', '') or ''}".strip() or "Unknown vehicle"
    return name + years


def vehicle_years(vehicle: dict[str, Any] | None) -> list[int]:
    """The model years a picked vehicle's documents cover (at most 40; [] when unknown)."""
    if not vehicle:
        return []
    low, high = int(vehicle.get("year_min") or 0), int(vehicle.get("year_max") or 0)
    if not low or not high or high < low or high - low > 40:
        return []
    return list(range(low, high + 1))


def clear_index_caches() -> None:
    """After an upload or a removal: the vehicle list and index status are read again."""
    _known_vehicles.clear()
    _index_status.clear()


# -- ingestion ----------------------------------------------------------------------------------

def _shared_embedder() -> Any:
    """The assistant's embedder when it is loaded already (so an upload does not load a second model)."""
    builder = assistant_builder()
    if not builder.ready:
        return None
    return getattr(builder.get(timeout=0), "embedder", None)


def ingest_files(paths: list[Path], progress: Callable[[float, str], None]) -> dict[str, tuple[str, str]]:
    """Index ``paths`` with the function `rag-car ingest` uses; resolved path -> (result, detail).

    ``progress(fraction, text)`` is called as files are read, embedded and committed.
    Raises IngestError when another ingest holds the index, StoreError when the store cannot be used.
    """
    from rag_car.knowledge.ingest import IngestOptions, Progress, ingest

    class _Bar(Progress):
        def __init__(self) -> None:
            self.total, self.done = 1, 0

        def start(self, files: int, total_bytes: int) -> None:
            self.total = max(1, files)
            progress(0.02, f"Indexing {files} file(s), {total_bytes / 1e6:.1f} MB…")

        def file_read(self, result, size: int) -> None:
            progress((self.done + 0.5) / self.total, f"Read {Path(result.path).name}; embedding…")

        def file_done(self, result) -> None:
            self.done += 1
            progress(self.done / self.total, f"{Path(result.path).name}: {result.status}")

    from rag_car.answer.vectors import ingest_fill
    from rag_car.knowledge.embed import load_embedder

    current = settings()
    embedder = _shared_embedder() or load_embedder(current)
    fill = ingest_fill(current, embedder)  # the new passages' sentences, so that the next questions are quick
    try:
        report = ingest(current, [Path(p) for p in paths], IngestOptions(), embedder=embedder, progress=_Bar(),
                        after_add=fill)
    finally:
        if fill is not None:
            fill.vectors.close()
    out: dict[str, tuple[str, str]] = {}
    for result in report.files:
        if result.status == "failed" or result.problems:
            detail = result.reason or "; ".join(result.problems[:3])
            status = "failed"
        elif result.status == "unchanged":
            status, detail = "unchanged", "already indexed, nothing changed"
        else:
            status = result.status
            detail = f"{result.chunks} passages" + (f", type {result.doc_type.replace('_', ' ')}" if result.doc_type else "")
        if result.warnings:
            detail += " · " + "; ".join(result.warnings[:2])
        out[str(Path(result.path).resolve())] = (status, detail)
    return out


def index_status() -> dict[str, Any]:
    """What is indexed: ``documents`` (source, title, doc_type, vehicle, chunks), ``chunks``, ``by_type``
    (doc_type -> documents, chunks) and ``by_vehicle`` (vehicle -> chunks), from the functions of
    `rag-car index list` and `rag-car index status`. Read again only when the index changed."""
    return _index_status(index_generation(), str(settings().data_dir))


@st.cache_data(show_spinner=False, ttl=60)
def _index_status(generation: int, data_dir: str) -> dict[str, Any]:
    from rag_car.knowledge.index import index_status as store_status
    from rag_car.knowledge.index import list_files

    current = settings()
    files = [f for f in list_files(current) if f.get("chunks")]
    if not files:
        return {"documents": [], "chunks": 0, "by_type": {}, "by_vehicle": {}}
    status = store_status(current)
    documents = [{"source": f["path"], "title": f.get("title") or Path(f["path"]).name,
                  "doc_type": f.get("doc_type") or "other", "vehicle": f.get("vehicle") or "(any vehicle)",
                  "chunks": int(f["chunks"])} for f in files]
    by_type: dict[str, dict[str, int]] = {}
    for doc in documents:
        row = by_type.setdefault(doc["doc_type"], {"documents": 0, "chunks": 0})
        row["documents"] += 1
    for doc_type, chunks in status.get("by_doc_type", {}).items():
        by_type.setdefault(doc_type, {"documents": 0, "chunks": 0})["chunks"] = int(chunks)
    by_vehicle = {vehicle: {"chunks": int(chunks)} for vehicle, chunks in status.get("by_vehicle", {}).items()}
    return {"documents": documents, "chunks": int(status.get("chunks", 0)), "by_type": by_type, "by_vehicle": by_vehicle}


def remove_document(source: str) -> int:
    """Take ``source`` out of the index (an uploaded file is deleted too); the number of passages removed.

    Uses the function of `rag-car index remove`; raises RagCarError when it fails.
    """
    current = settings()
    uploaded = is_within(Path(source), current.uploads_dir)
    try:
        from rag_car.knowledge.index import remove
    except ImportError:
        remove = None
    if remove is not None:
        result = remove(current, [source], False)
        removed = int((result or {}).get("chunks_removed", 0)) if isinstance(result, dict) else 0
        if uploaded:
            remove_upload(Path(source), current.uploads_dir)
        return removed
    # without the index module: an upload is deleted, and re-ingesting its folder drops its passages
    if not uploaded:
        raise RagCarError(f"{source} is not an upload", f"remove it from the command line: rag-car index remove {source}")
    from rag_car.knowledge.ingest import ingest

    remove_upload(Path(source), current.uploads_dir)
    return int(ingest(current, [current.uploads_dir], embedder=_shared_embedder()).chunks_removed)
