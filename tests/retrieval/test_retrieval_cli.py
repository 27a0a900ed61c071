"""`rag-car search` and `rag-car eval retrieval`, run as real subprocesses over a fixture index (hash embedder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_car.knowledge.ingest import ingest
from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent / "files"
HASH = {"RAG_CAR_EMBEDDING__MODEL": "hash"}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-index")
    settings = load_settings(overrides={"data_dir": str(path), "embedding": {"model": "hash"}})
    assert ingest(settings, [FILES / "kb", FILES / "other"]).ok
    return path


@pytest.fixture
def indexed(index_dir):
    """The environment for a command over the shared fixture index."""
    return {**HASH, "RAG_CAR_DATA_DIR": str(index_dir)}


def test_search_text_output(cli, indexed):
    out = cli("search", "What does P0303 mean?", "--k", "3", env=indexed)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "codes: P0303" in lines
    first = next(line for line in lines if line.startswith(" 1."))
    assert "trouble_codes.md > P0303 Cylinder 3 misfire detected" in first and "code 1" in first
    assert sum(1 for line in lines if line[:3].strip().rstrip(".").isdigit()) == 3


def test_search_json_with_filters(cli, indexed):
    out = cli("search", "drain plug torque", "--json", "--vehicle", "Otherco Breeze", "--doc-type", "owner_manual", env=indexed)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"question", "passages", "timings"} and set(data["timings"]) >= {"embed_ms", "total_ms"}
    first = data["passages"][0]
    assert set(first) >= {"rank", "source", "title", "section", "page", "doc_type", "text", "score", "metadata"}
    assert first["rank"] == 1 and "25 Nm" in first["text"] and first["doc_type"] == "owner_manual"
    assert data["filters"]["make"] == "Otherco" and data["filters"]["doc_types"] == ["owner_manual"]


def test_search_stdin_one_object_per_line(cli, indexed):
    out = cli("search", "--json", "-", input="P0303\n\nTZB-20-001\n\x00\x01 oil pressure\n", env=indexed)
    assert out.returncode == 0, out.stderr
    objects = [json.loads(line) for line in out.stdout.splitlines()]
    assert [o["question"] for o in objects] == ["P0303", "", "TZB-20-001", "\x00\x01 oil pressure"]
    assert objects[1]["passages"] == [] and "empty" in objects[1]["notes"][0]
    assert objects[2]["passages"][0]["source"].endswith("TZB-20-001.md")
    assert objects[3]["passages"]


def test_search_bad_input_is_a_clear_message(cli, indexed):
    empty = cli("search", "   ", env=indexed)
    assert empty.returncode == 2 and "the question is empty" in empty.stderr
    bad = cli("search", "oil", "--doc-type", "brochure", env=indexed)
    assert bad.returncode == 1 and "unknown --doc-type brochure" in bad.stderr and "owner_manual" in bad.stderr
    long = cli("search", "oil " * 12_500, "--k", "1", env=indexed)
    assert long.returncode == 0 and "characters long" in long.stderr
    unknown = cli("search", "oil", "--vehicle", "Tesla Roadster", env=indexed)
    assert unknown.returncode == 0 and "no indexed document is about the vehicle" in unknown.stderr


def test_search_on_an_empty_index(cli, data_dir):
    out = cli("search", "oil", env=HASH)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: nothing is indexed yet: run `rag-car ingest")
    assert "Traceback" not in out.stderr


def test_eval_retrieval_on_the_fixture_set(cli, indexed, tmp_path):
    report = tmp_path / "report.json"
    out = cli("eval", "retrieval", "--qa", str(FILES / "qa_fixture.jsonl"), "--k", "3", "--out", str(report), env=indexed)
    assert out.returncode == 0, out.stderr
    assert "recall@3" in out.stdout and "hybrid" in out.stdout and "bm25" in out.stdout
    data = json.loads(report.read_text())
    assert data["modes"]["hybrid"]["recall"] == 1.0 and data["modes"]["hybrid"]["questions"] == 7
    missing = cli("eval", "retrieval", "--qa", str(tmp_path / "nope.jsonl"), env=indexed)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
