"""What the AppTest tests share: the app under a private data dir and bus, an indexed copy of the bundled knowledge."""

from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

APP = REPO_ROOT / "ui" / "app.py"
TIMEOUT = 120  # the first run of a test session loads the index and warms the assistant


def clear_resources() -> None:
    """Forget the cached settings, live feed and assistant (their on_release stops the feed)."""
    st.cache_resource.clear()
    st.cache_data.clear()


def _env(data_dir: Path, bus: str) -> dict[str, str]:
    return {
        "RAG_CAR_DATA_DIR": str(data_dir),
        "RAG_CAR_EMBEDDING__MODEL": "hash",
        "RAG_CAR_LLM__BACKEND": "extractive",
        "RAG_CAR_CAN__BUS": bus,
    }


@pytest.fixture(scope="session")
def indexed_data(tmp_path_factory) -> Path:
    """A data dir with the bundled knowledge indexed (hashing embedder), built once per test session."""
    from ui_server import ingest_bundled

    data = tmp_path_factory.mktemp("ui-indexed") / "data"
    ingest_bundled(_env(data, "virtual:unused"))
    return data


@pytest.fixture
def ui_env(monkeypatch, tmp_path):
    """Point the app at a fresh data dir and a private virtual bus; returns a function to switch data dirs."""
    for key in list(os.environ):
        if key.startswith("RAG_CAR_"):
            monkeypatch.delenv(key)
    bus = f"virtual:ui-{uuid.uuid4().hex[:10]}"
    state = {"bus": bus, "data_dir": tmp_path / "data"}

    def use(data_dir: Path | None = None, **extra: str) -> dict:
        if data_dir is not None:
            state["data_dir"] = data_dir
        for key, value in {**_env(state["data_dir"], bus), **extra}.items():
            monkeypatch.setenv(key, value)
        clear_resources()
        return state

    use()
    yield use
    clear_resources()


@pytest.fixture
def indexed_copy(indexed_data, tmp_path) -> Path:
    """A private copy of the indexed data dir (for tests that change the index)."""
    target = tmp_path / "indexed"
    shutil.copytree(indexed_data, target)
    return target


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def texts(at: AppTest, kind: str) -> list[str]:
    """The values of every element of one kind (markdown, caption, error, ...) on the page."""
    return [str(element.value) for element in getattr(at, kind)]


def page_text(at: AppTest) -> str:
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "error", "warning", "info", "success"):
        parts.extend(texts(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    return "\n".join(parts)


def popover_labels(at: AppTest) -> list[str]:
    """Labels of the popovers (the citation chips) on the page."""
    labels = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "WhichOneof"):
            try:
                if proto.WhichOneof("type") == "popover":
                    labels.append(proto.popover.label)
            except (TypeError, ValueError):
                pass
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return labels


def wait_until(predicate, timeout: float) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")
