"""Start-up budget: commands that need no machine learning import none of it and start in under 0.5 s."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = ("torch", "transformers", "sentence_transformers", "chromadb", "unstructured")

# Commands that must stay light; the lists grow as the commands land (decode, monitor, simulate).
LIGHT_COMMANDS = [["--help"], ["--version"], ["config"], ["config", "--json"]]

PROBE = """
import sys
sys.argv = ["rag-car", *{args!r}]
from rag_car.cli.main import run
try:
    run({args!r})
finally:
    heavy = sorted(m for m in sys.modules if m.split('.')[0] in {forbidden!r})
    sys.stderr.write("HEAVY=" + ",".join(heavy) + "\\n")
"""


def _light_commands() -> list[list[str]]:
    from rag_car.cli.main import app

    names = {c.name for c in app.registered_commands}
    extra = [[name, "--help"] for name in ("decode", "monitor", "simulate", "replay") if name in names]
    return LIGHT_COMMANDS + extra


@pytest.mark.parametrize("args", _light_commands(), ids=lambda a: " ".join(a))
def test_no_heavy_imports(args, cli_env):
    code = PROBE.format(args=args, forbidden=FORBIDDEN)
    r = subprocess.run([sys.executable, "-c", code], env=cli_env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    heavy = [line for line in r.stderr.splitlines() if line.startswith("HEAVY=")]
    assert heavy, r.stderr
    assert heavy[-1] == "HEAVY=", f"`rag-car {' '.join(args)}` imported {heavy[-1][6:]}"


@pytest.mark.parametrize("args", [["--help"], ["config"]], ids=lambda a: " ".join(a))
def test_startup_under_half_a_second(args, cli_env):
    """CPU seconds of the whole process (user + sys), the least of 5 runs: other load on the machine only ever adds
    to a run's cost, so the least is the closest to the command's own cost (the usual way to time a start-up)."""

    def once() -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "rag_car", *args], env=cli_env, cwd=REPO_ROOT, capture_output=True, timeout=60)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert r.returncode == 0, r.stderr
        return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall

    once()  # warm the page cache and .pyc files
    runs = [once() for _ in range(5)]
    cpu = min(c for c, _ in runs)
    wall = min(w for _, w in runs)
    assert cpu < 0.5, f"`rag-car {' '.join(args)}` used {cpu:.3f} s of CPU (least of 5; fastest wall time {wall:.3f} s)"
