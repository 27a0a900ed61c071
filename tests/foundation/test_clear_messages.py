"""Real failures of the machine, through the real CLI, each with a clear message (issue #19): a full disk, a
read-only index, an unreadable folder or replay log, a locked index under --json.

The conditions are real, not simulated: a small tmpfs mounted in a private mount namespace (`unshare -m`) fills
up; a read-only bind mount makes the index read-only; and since the tests run as root in CI, where chmod 000 does
not stop root, an unreadable file is read by a process that dropped CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
(`setpriv --bounding-set`), for which the permission bits hold. Each test is skipped, with the reason, where the
machine cannot create its condition.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT

HASH = {"RAG_CAR_EMBEDDING__MODEL": "hash", "RAG_CAR_LLM__BACKEND": "extractive"}
KNOWLEDGE = REPO_ROOT / "knowledge"
VEHICLE_FILES = REPO_ROOT / "tests" / "files" / "vehicle"
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def unprivileged() -> list[str]:
    """The prefix that makes permission bits apply to the command (none when not root)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None or not _works([*NO_DAC, "true"]):
        pytest.skip("running as root without setpriv --bounding-set: chmod 000 cannot make a file unreadable here")
    return NO_DAC


def in_mount_namespace(tmp_path: Path, mount: str, commands: list[tuple[str, list[str]]], env: dict[str, str]) -> dict:
    """Run ``mount`` (a shell command) and then each CLI command in a private mount namespace; returns
    {name: CompletedProcess-like dict with returncode, stdout, stderr}."""
    if shutil.which("unshare") is None or not _works(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tmp_path}"]):
        pytest.skip("no private mount namespace here (unshare -m and mount need CAP_SYS_ADMIN)")
    out = tmp_path / "out"
    out.mkdir()
    lines = ["set -u", f"{mount} || exit 99"]
    for name, args in commands:
        quoted = " ".join(_quote(a) for a in [sys.executable, "-m", "rag_car", *args])
        lines.append(f"{quoted} >{out / name}.out 2>{out / name}.err; echo $? >{out / name}.rc")
    script = tmp_path / "run.sh"
    script.write_text("\n".join(lines) + "\n")
    done = subprocess.run(["unshare", "-m", "sh", str(script)], env=env, cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode != 99, f"the mount failed: {done.stderr}"
    return {name: {"returncode": int((out / f"{name}.rc").read_text()), "stdout": (out / f"{name}.out").read_text(),
                   "stderr": (out / f"{name}.err").read_text()} for name, _ in commands}


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "'\"'\"'") + "'"


def test_a_full_disk_says_so_and_where_and_status_does_not_advise_deleting_the_manifest(cli_env, data_dir, tmp_path):
    data_dir.mkdir(parents=True)
    env = {**cli_env, **HASH}
    results = in_mount_namespace(tmp_path, f"mount -t tmpfs -o size=3m tmpfs {_quote(str(data_dir))}", [
        ("ingest", ["ingest", str(KNOWLEDGE), "--no-answer-sentences", "-q"]),
        ("status", ["index", "status"]),
    ], env)
    ingest, status = results["ingest"], results["status"]
    assert ingest["returncode"] == 1, ingest
    assert "is full" in ingest["stderr"] and str(data_dir) in ingest["stderr"], ingest["stderr"]
    assert "free space on that disk" in ingest["stderr"]
    assert "unexpected" not in ingest["stderr"] and "Traceback" not in ingest["stderr"]
    assert "manifest can be deleted" not in status["stdout"] + status["stderr"], status
    if status["returncode"] != 0:
        assert "is full" in status["stderr"], status


def test_a_read_only_index_still_answers_and_refuses_changes(cli, data_dir, tmp_path, cli_env):
    ingest = cli("ingest", str(KNOWLEDGE), "--no-answer-sentences", "-q", env=HASH)
    assert ingest.returncode == 0, ingest.stderr
    question = "What does the coolant temperature warning lamp mean?"
    results = in_mount_namespace(tmp_path, f"mount --bind -o ro {_quote(str(data_dir))} {_quote(str(data_dir))}", [
        ("ask", ["ask", question]),
        ("search", ["search", "coolant temperature warning lamp"]),
        ("status", ["index", "status"]),
        ("ingest", ["ingest", str(KNOWLEDGE), "--no-answer-sentences", "-q"]),
    ], {**cli_env, **HASH})
    ask = results["ask"]
    assert ask["returncode"] == 0, ask
    assert "could not be searched" not in ask["stdout"] and "Sources:" in ask["stdout"], ask["stdout"]
    assert "coolant" in ask["stdout"].lower()
    assert results["search"]["returncode"] == 0 and "coolant" in results["search"]["stdout"].lower(), results["search"]
    assert results["status"]["returncode"] == 0 and "read-only" in results["status"]["stdout"], results["status"]
    refused = results["ingest"]
    assert refused["returncode"] == 1 and "read-only" in refused["stderr"], refused
    assert "unexpected" not in refused["stderr"]


def test_an_unreadable_subfolder_is_reported_by_name_and_its_files_stay_indexed(cli, tmp_path):
    docs = tmp_path / "docs"
    (docs / "open").mkdir(parents=True)
    (docs / "locked").mkdir()
    sources = sorted(KNOWLEDGE.rglob("*.md"))
    shutil.copy(sources[0], docs / "open")
    shutil.copy(sources[1], docs / "locked")
    first = cli("ingest", str(docs), "--no-answer-sentences", "-q", env=HASH)
    assert first.returncode == 0, first.stderr
    prefix = unprivileged()
    os.chmod(docs / "locked", 0)
    try:
        again = subprocess.run([*prefix, sys.executable, "-m", "rag_car", "ingest", str(docs), "--no-answer-sentences", "--json"],
                               env={**os.environ, **HASH}, cwd=str(tmp_path), capture_output=True, text=True, timeout=300)
    finally:
        os.chmod(docs / "locked", 0o755)
    assert again.returncode == 1, again.stderr
    summary = json.loads(again.stdout)
    failed = {f["path"]: f["reason"] for f in summary["failed"]}
    assert str(docs / "locked") in failed and "cannot be read" in failed[str(docs / "locked")], failed
    assert summary["files_removed"] == 0  # a folder that cannot be read is not a folder whose files are gone
    listed = cli("index", "list", "--json", env=HASH)
    assert any(f["path"].startswith(str(docs / "locked")) for f in json.loads(listed.stdout))


def test_monitor_once_on_an_unreadable_replay_log_exits_1_with_a_message(tmp_path):
    log = tmp_path / "drive.log"
    shutil.copy(VEHICLE_FILES / "bad_lines.log", log)
    prefix = unprivileged()
    os.chmod(log, 0)
    try:
        result = subprocess.run([*prefix, sys.executable, "-m", "rag_car", "monitor", "--once", "--dbc",
                                 str(VEHICLE_FILES / "bench_car.dbc"), "--bus", f"replay:{log}?speed=max", "--listen", "2"],
                                env=dict(os.environ), cwd=str(tmp_path), capture_output=True, text=True, timeout=120)
    finally:
        os.chmod(log, 0o644)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"log file {log} cannot be read" in result.stderr and "Permission denied" in result.stderr


def test_ingest_json_on_a_locked_index_prints_a_json_error(cli, data_dir):
    from rag_car.knowledge.manifest import ingest_lock
    from rag_car.settings import load_settings

    with ingest_lock(load_settings(overrides={"data_dir": str(data_dir)})):
        result = cli("ingest", "--json", str(KNOWLEDGE / "README.md"), "--no-answer-sentences", env=HASH)
    assert result.returncode == 1
    error = json.loads(result.stdout)
    assert error["ok"] is False and error["error"]["type"] == "IngestError"
    assert "another rag-car ingest" in error["error"]["message"] and error["error"]["fix"]
