"""Shared fixtures: an offline environment, a private data dir, the real third-party data, the real CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from rag_car.offline import apply_offline_env

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
TEST_FILES = Path(__file__).resolve().parent / "files"

apply_offline_env()

# A run started in the background of a non-interactive shell (`cmd &`, nohup) inherits SIGINT ignored, and so would
# every program a test starts: the Ctrl-C tests (simulator, serve) would then wait for a stop that never comes. A
# terminal's foreground job gets SIGINT; give the tests' children that, whatever shell started pytest.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


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


REAL_MANUAL = SHARED_DATA / "real-manual" / "manual_md"
# dev speed: a data dir whose index already holds the real manual (e.g. built by `rag-car --data-dir DIR ingest
# ../shared/data/real-manual/manual_md`); it is copied, never written. Unset (as in CI), the session builds its own.
REAL_MANUAL_INDEX_ENV = "RAG_CAR_TEST_REAL_MANUAL_DATA"


@pytest.fixture(scope="session")
def real_manual_data(tmp_path_factory, shared_onnx_export) -> Path:
    """A data dir whose index holds ../shared/data/real-manual/manual_md, ingested ONCE per test session with the
    default settings and the real model (~5 minutes on 2 cores), shared by every test over the real manual; skipped
    when the manual is absent. With $RAG_CAR_TEST_REAL_MANUAL_DATA set to a data dir built before, that index is
    copied instead (the copy is the tests' to write)."""
    if not REAL_MANUAL.is_dir():
        pytest.skip(f"the real owner's manual is not at {REAL_MANUAL}")
    path = tmp_path_factory.mktemp("real-manual") / "data"
    reuse = os.environ.get(REAL_MANUAL_INDEX_ENV)
    if reuse:
        source = Path(reuse)
        if not (source / "index").is_dir():
            pytest.fail(f"${REAL_MANUAL_INDEX_ENV}={reuse} holds no index: unset it or ingest the manual there first")
        shutil.copytree(source, path, ignore=shutil.ignore_patterns("*.lock", "READY", "BUILDING"))
        return path
    from rag_car.knowledge.ingest import ingest
    from rag_car.settings import load_settings

    report = ingest(load_settings(overrides={"data_dir": str(path)}), [REAL_MANUAL])
    failed = [f"{f.path}: {f.reason}" for f in report.files if f.status == "failed"]
    assert not failed, f"ingesting the real manual failed: {failed[:3]}"
    return path


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
