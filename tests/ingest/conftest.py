"""Fixtures of the ingest tests: settings on a private data dir, the fixture files, a real Chroma server."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ingest_helpers import CHROMA, FILES, free_port, make_settings


@pytest.fixture
def files() -> Path:
    """tests/files/ingest: small documents and broken files made for these tests."""
    return FILES


@pytest.fixture
def settings(data_dir):
    """Settings on the test's data dir with the keyword-hashing embedder (no model load)."""
    return make_settings(data_dir)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on 127.0.0.1 and a free port, stopped at the end: yields (host, port)."""
    if not CHROMA.exists():
        pytest.skip(f"no chroma executable at {CHROMA}")
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    log = open(path / "server.log", "wb")
    process = subprocess.Popen([str(CHROMA), "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api/v2/heartbeat"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                response.read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                pytest.fail(f"chroma run did not start: {(path / 'server.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
    yield "127.0.0.1", port
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()
