"""`rag-car ingest` and `rag-car index ...` driven as a user runs them: the real entry point in a subprocess."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from ingest_helpers import copy_files, make_settings, store_ids, write_corpus

HASH = {"RAG_CAR_EMBEDDING__MODEL": "hash"}
STATUS_KEYS = {"chunks", "files", "by_doc_type", "by_vehicle", "store", "model"}


def run_json(cli, *args, env=None):
    result = cli(*args, "--json", env={**HASH, **(env or {})})
    assert result.stdout.strip(), result.stderr
    return result, json.loads(result.stdout)


def test_ingest_json_summary_and_an_unchanged_re_run(cli, files, tmp_path):
    folder = tmp_path / "docs"
    copy_files(["tavo_service.md", "tavo_lamps.html", "tavo_notes.txt", "handbook.pdf"], folder)
    result, summary = run_json(cli, "ingest", str(folder))
    assert result.returncode == 0, result.stderr
    assert summary["files_ingested"] == 4 and summary["files_failed"] == 0 and summary["chunks_added"] > 0
    for key in ("files_unchanged", "chunks_removed", "seconds", "failed", "warnings", "model", "store", "files"):
        assert key in summary
    assert summary["model"] == "hash" and "embedded Chroma" in summary["store"]
    result, again = run_json(cli, "ingest", str(folder))
    assert result.returncode == 0
    assert (again["files_unchanged"], again["chunks_added"], again["embedded"]) == (4, 0, 0)


def test_quiet_prints_only_the_summary_line_and_failures(cli, files, tmp_path):
    folder = tmp_path / "docs"
    copy_files(["tavo_service.md", "encrypted.pdf"], folder)
    result = cli("ingest", str(folder), "--quiet", env=HASH)
    assert result.returncode == 1
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("files: 1 ingested, 0 unchanged, 1 failed")
    assert "failed: " in result.stderr and "needs a password" in result.stderr
    assert "ingested " not in result.stderr  # no per-file lines when quiet


def test_log_lines_without_a_terminal(cli, files, tmp_path):
    copy_files(["tavo_service.md"], tmp_path / "docs")
    result = cli("ingest", str(tmp_path / "docs"), env=HASH)
    assert result.returncode == 0
    assert "ingested  " in result.stderr and "tavo_service.md" in result.stderr
    assert result.stdout.splitlines()[0].startswith("files: 1 ingested") and "index: embedded Chroma" in result.stdout


def test_missing_paths_and_bad_flags(cli, files, tmp_path):
    copy_files(["tavo_lamps.html"], tmp_path / "docs")
    result, summary = run_json(cli, "ingest", str(tmp_path / "docs"), str(tmp_path / "nope"))
    assert result.returncode == 1 and summary["files_ingested"] == 1
    assert summary["failed"][0]["path"].endswith("nope") and "does not exist" in summary["failed"][0]["reason"]
    bad = cli("ingest", str(tmp_path / "docs"), "--vehicle", "Brenner/Tavo/20-21", env=HASH)
    assert bad.returncode == 1 and bad.stderr.startswith("error: vehicle tag") and "Traceback" not in bad.stderr
    bad = cli("ingest", str(tmp_path / "docs"), "--doc-type", "brochure", env=HASH)
    assert bad.returncode == 1 and "unknown doc type 'brochure'" in bad.stderr and "owner_manual" in bad.stderr
    bad = cli("ingest", str(tmp_path / "docs"), "--source", "pdfs", env=HASH)
    assert bad.returncode == 1 and "unknown source kind" in bad.stderr


def test_index_status_list_and_remove(cli, files, tmp_path):
    folder = tmp_path / "docs"
    copy_files(["tavo_service.md", "bulletin.docx", "nhtsa_recalls_synthetic.tsv"], folder)
    assert cli("ingest", str(folder), "--vehicle", "Brenner/Tavo/2020-2023", env=HASH).returncode == 0
    _, status = run_json(cli, "index", "status")
    assert STATUS_KEYS <= set(status)
    assert status["files"] == 3 and status["chunks"] == sum(status["by_doc_type"].values()) == sum(status["by_vehicle"].values())
    assert set(status["by_doc_type"]) == {"service_manual", "bulletin", "recall"}
    assert "Brenner Tavo 2020-2023" in status["by_vehicle"] and "BRENNER TAVO, TAVO HYBRID 2020-2021" in status["by_vehicle"]
    assert status["model"] == "hash" and status["consistent"] is True
    human = cli("index", "status", env=HASH)
    assert human.returncode == 0 and "by doc type:" in human.stdout and "service_manual" in human.stdout

    _, listed = run_json(cli, "index", "list", "--doc-type", "recall")
    assert [f["path"].rsplit("/", 1)[-1] for f in listed] == ["nhtsa_recalls_synthetic.tsv"]
    assert listed[0]["kind"] == "nhtsa-recalls" and listed[0]["documents"] == 2

    removed = cli("index", "remove", str(folder / "bulletin.docx"), env=HASH)
    assert removed.returncode == 0 and removed.stdout.startswith("removed 1 file(s)")
    unknown = cli("index", "remove", str(folder / "bulletin.docx"), env=HASH)
    assert unknown.returncode == 1 and "is not in the index" in unknown.stderr
    _, status = run_json(cli, "index", "status")
    assert status["files"] == 2 and "bulletin" not in status["by_doc_type"]
    everything = cli("index", "remove", "--all", "--yes", env=HASH)
    assert everything.returncode == 0
    _, status = run_json(cli, "index", "status")
    assert (status["chunks"], status["files"]) == (0, 0)


def test_commands_start_without_heavy_imports():
    code = ("import sys, rag_car.cli.ingest, rag_car.cli.index_cmd; "
            "heavy = [m for m in ('torch', 'chromadb', 'unstructured', 'sentence_transformers', 'spacy') if m in sys.modules]; "
            "print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_server_mode_through_the_cli(cli, files, tmp_path, chroma_server):
    host, port = chroma_server
    env = {**HASH, "RAG_CAR_STORE__MODE": "server", "RAG_CAR_STORE__HOST": host, "RAG_CAR_STORE__PORT": str(port),
           "RAG_CAR_STORE__COLLECTION": f"cli_{port}_{os.getpid()}"}
    copy_files(["tavo_lamps.html", "tavo_notes.txt"], tmp_path / "docs")
    result = cli("ingest", str(tmp_path / "docs"), "--quiet", env=env)
    assert result.returncode == 0, result.stderr
    _, status = run_json(cli, "index", "status", env=env)
    assert status["store"].startswith(f"Chroma server at http://{host}:{port}") and status["chunks"] > 0
    result, again = run_json(cli, "ingest", str(tmp_path / "docs"), env=env)
    assert again["files_unchanged"] == 2 and again["chunks_added"] == 0


@pytest.mark.slow
def test_kill_9_mid_run_then_the_same_command_gives_the_uninterrupted_index(cli, cli_env, data_dir, tmp_path):
    """A real `rag-car ingest` subprocess killed with SIGKILL while it writes, several times, then run to the end."""
    from rag_car.knowledge.ingest import ingest
    from rag_car.knowledge.manifest import load_generation, open_manifest

    corpus = write_corpus(tmp_path / "corpus", 100, paragraphs=4)[0].parent
    reference = make_settings(tmp_path / "reference")
    assert ingest(reference, [corpus]).ok
    expected = store_ids(reference)
    victim = make_settings(data_dir)
    env = {**cli_env, **HASH, "RAG_CAR_INGEST__COMMIT_CHUNKS": "24"}  # many small commits: many places to die
    rng = random.Random(4)
    kills = 0
    for round_ in range(3):
        before = load_generation(victim)
        process = subprocess.Popen([sys.executable, "-m", "rag_car", "ingest", str(corpus), "--quiet"], env=env,
                                   cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 100
        while load_generation(victim) == before and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)  # wait for the first journal write of this run: it is now writing to the store
        time.sleep(rng.choice([0.0, 0.01, 0.05, 0.2, 0.5]))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.communicate(timeout=60)
    assert kills >= 2, "the ingest finished before it could be killed: make the corpus bigger"
    with open_manifest(victim) as manifest:
        done = len(manifest.files())
    assert done < 100  # it really was interrupted part-way
    final = cli("ingest", str(corpus), "--json", env={**HASH, "RAG_CAR_INGEST__COMMIT_CHUNKS": "24"})
    summary = json.loads(final.stdout)
    assert final.returncode == 0, final.stderr
    ids = store_ids(victim)
    assert ids == expected  # nothing missing, nothing extra
    with open_manifest(victim) as manifest:
        assert manifest.all_chunk_ids() == expected and len(manifest.files()) == 100
        assert not manifest.pending_ids() and not manifest.garbage_ids()
    _, status = run_json(cli, "index", "status")
    assert status["chunks"] == len(expected) and status["consistent"] is True
    assert summary["files_ingested"] + summary["files_unchanged"] == 100


@pytest.mark.slow
@pytest.mark.real_model
def test_the_real_model_end_to_end(cli, files, tmp_path, data_dir):
    """The packaged all-MiniLM-L6-v2: ingest through the CLI, then a question finds the right passage."""
    from rag_car.knowledge.embed import load_embedder
    from rag_car.knowledge.store import open_store

    copy_files(["tavo_service.md", "tavo_lamps.html", "tavo_notes.txt"], tmp_path / "docs")
    result = cli("ingest", str(tmp_path / "docs"), "--json")
    summary = json.loads(result.stdout)
    assert result.returncode == 0 and summary["model"] == "all-MiniLM-L6-v2", result.stderr
    settings = make_settings(data_dir, embedding={"model": ""})
    embedder = load_embedder(settings)
    assert embedder.dim == 384
    with open_store(settings, embedder.dim) as store:
        hits = store.query(embedder.embed_query("what does the red oil can warning light mean?"), k=3)
        assert hits[0][0].metadata["section"] == "Oil pressure lamp", [h[0].metadata["section"] for h in hits]
        hits = store.query(embedder.embed_query("rough idle misfire on cylinder 1"), k=3)
        assert hits[0][0].metadata["section"] == "Idle vibration"
        for chunk in store.iter_all():
            assert embedder.count_tokens(chunk.text) <= 200
