"""A real `rag-car serve` on a free loopback port, and headless Chromium: shared by the browser test and bench_ui."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def base_env(data_dir: Path) -> dict[str, str]:
    """Offline, a private data dir, the hashing embedder, the extractive backend, no stray RAG_CAR_ settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_CAR_")}
    env.update({
        "RAG_CAR_DATA_DIR": str(data_dir),
        "RAG_CAR_EMBEDDING__MODEL": os.environ.get("RAG_CAR_UI_TEST_EMBEDDING", "hash"),
        "RAG_CAR_LLM__BACKEND": "extractive",
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "true",
        "SCARF_NO_ANALYTICS": "true", "ANONYMIZED_TELEMETRY": "False",
    })
    return env


def ingest_bundled(env: dict[str, str]):
    """Index the bundled knowledge/ into the env's data dir with the env's embedder (the ingest CLI's function)."""
    from rag_car.knowledge.ingest import ingest
    from rag_car.settings import load_settings

    overrides = {"data_dir": env["RAG_CAR_DATA_DIR"], "embedding": {"model": env.get("RAG_CAR_EMBEDDING__MODEL", "")}}
    report = ingest(load_settings(overrides=overrides), [REPO_ROOT / "knowledge"])
    assert report.count("ingested") > 0 and not report.failed, report.to_json()["failed"]
    return report


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> float:
    """Seconds until ``url`` answers 200 (raises TimeoutError, or RuntimeError when ``proc`` died)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def serve(env: dict[str, str], log_path: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`rag-car serve --port N --with-simulator` (plus ``extra``); yields (base URL, process); stops it after."""
    port = free_port()
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "-m", "rag_car", "serve", "--port", str(port), "--with-simulator", *extra],
                            env=env, cwd=str(REPO_ROOT), stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_stcore/health", proc=proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@contextmanager
def browser() -> Iterator[object]:
    """A headless Chromium (Debian's /usr/bin/chromium) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"],[data-testid="stStatusWidgetRunningManIcon"]')"""


def wait_idle(page, timeout_ms: float = 60_000) -> None:
    """Until the app's script run is over (Streamlit's running indicator is gone)."""
    page.wait_for_timeout(200)
    page.wait_for_function(IDLE_JS, timeout=timeout_ms)


def submit_question(page, question: str, timeout_ms: float = 30_000) -> None:
    """Type ``question`` into the chat box, press Enter, and wait until it shows as the user's message."""
    wait_idle(page)
    before = page.get_by_test_id("stChatMessage").count()
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("(n) => document.querySelectorAll('[data-testid=\"stChatMessage\"]').length > n",
                           arg=before, timeout=timeout_ms)
