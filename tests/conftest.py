"""Shared fixtures: an offline environment, a private data dir, the real third-party data, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag_car.offline import apply_offline_env

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TEST_FILES = Path(__file__).resolve().parent / "files"

apply_offline_env()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (real third-party DBCs, logs, NHTSA files); the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"third-party data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def shared_onnx_export(tmp_path_factory):
    """One ONNX export of the embedding model for the whole run (each test's data dir would make its own)."""
    key = "RAG_CAR_EMBEDDING__ONNX_DIR"
    before = os.environ.get(key)
    os.environ[key] = str(tmp_path_factory.mktemp("onnx"))
    yield Path(os.environ[key])
    if before is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = before


KEPT_SETTINGS = ("RAG_CAR_DATA_DIR", "RAG_CAR_EMBEDDING__ONNX_DIR")


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh data dir, also exported as RAG_CAR_DATA_DIR for subprocesses."""
    path = tmp_path / "data"
    monkeypatch.setenv("RAG_CAR_DATA_DIR", str(path))
    return path


@pytest.fixture
def cli_env(data_dir, monkeypatch) -> dict[str, str]:
    """The environment for a `rag-car` subprocess: offline, private data dir, no stray RAG_CAR_ settings."""
    for key in list(os.environ):
        if key.startswith("RAG_CAR_") and key not in KEPT_SETTINGS:
            monkeypatch.delenv(key)
    return dict(os.environ)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, input: str | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real entry point (`python -m rag_car ...`) in a subprocess and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "rag_car", *args],
        env=env, cwd=cwd or REPO_ROOT, input=input, capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture
def cli(cli_env, tmp_path):
    """run_cli bound to the test's environment, run from an empty working directory (no stray rag_car.toml)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir(exist_ok=True)

    def _run(*args: str, env: dict[str, str] | None = None, input: str | None = None, cwd: Path | None = None,
             timeout: float = 300) -> subprocess.CompletedProcess:
        return run_cli(*args, env={**cli_env, **(env or {})}, cwd=cwd or workdir, input=input, timeout=timeout)

    return _run
