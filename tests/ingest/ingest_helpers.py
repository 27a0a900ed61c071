"""Helpers of the ingest tests: settings, fixture files, a synthetic corpus, a fresh view of the store."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent.parent / "files" / "ingest"
CHROMA = Path(sys.executable).with_name("chroma")


def make_settings(data_dir: Path, **sections):
    overrides = {"data_dir": str(data_dir), "embedding": {"model": "hash"}}
    for key, value in sections.items():
        overrides[key] = {**overrides.get(key, {}), **value}
    return load_settings(overrides=overrides)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_corpus(folder: Path, n_files: int, paragraphs: int = 6, seed: int = 7) -> list[Path]:
    """Markdown files of manual-like prose with headings; deterministic for a seed."""
    import random

    rng = random.Random(seed)
    words = ("coolant sensor thermostat relay harness connector voltage pressure gauge torque bolt gasket pump "
             "valve injector misfire catalyst oxygen idle throttle brake caliper pad rotor fluid hose clamp fan "
             "fuse ground circuit module software update inspect replace measure check clean tighten").split()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n_files):
        lines = [f"# Procedure {i:04d}", ""]
        for s in range(3):
            lines += [f"## Step group {i:04d}.{s}", ""]
            for _ in range(paragraphs):
                sentence = lambda: " ".join(rng.choice(words) for _ in range(rng.randint(8, 16))).capitalize() + "."
                lines += [" ".join(sentence() for _ in range(4)), ""]
        path = folder / f"proc_{i:04d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def copy_files(names: list[str], target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        shutil.copy2(FILES / name, target / name)
        out.append(target / name)
    return out


def store_ids(settings) -> set[str]:
    """Every id in the configured store, read through a fresh client (no cached Chroma system)."""
    from chromadb.api.client import SharedSystemClient

    from rag_car.knowledge.store import open_store

    SharedSystemClient.clear_system_cache()
    with open_store(settings, create=False) as store:
        return set(store.ids())
