"""End to end: the real extractive backend over the bundled knowledge (indexed with the deterministic hash
embedder, real Chroma, real BM25), live data from the real simulator on a python-can virtual bus, and the CLI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import can
import jsonschema
import pytest

from rag_car.answer.assistant import Assistant
from rag_car.answer.schema import ANSWER_JSON_SCHEMA
from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """A data dir holding the bundled knowledge, indexed once for the module with the hash embedder."""
    from rag_car.knowledge.ingest import ingest

    data = tmp_path_factory.mktemp("answer-e2e") / "data"
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash"}})
    report = ingest(settings, [BUNDLED_KNOWLEDGE])
    assert not [f for f in report.files if f.status == "failed"], [f.reason for f in report.files if f.status == "failed"]
    return data


@pytest.fixture(scope="module")
def assistant(indexed):
    settings = load_settings(overrides={"data_dir": str(indexed), "embedding": {"model": "hash"}})
    with Assistant(settings) as a:
        yield a


def test_owner_questions_are_answered_from_the_manual_with_citations(assistant):
    answer = assistant.ask("red oil can light came on on the motorway")
    assert answer.grounded and answer.backend == "extractive"
    assert "stop in a safe place immediately and switch off the engine" in answer.answer
    assert any(c.source.endswith("owner/corrin_owners_manual.pdf") and "Oil pressure" in c.section for c in answer.citations)
    assert answer.citations[0].page > 0


def test_technician_gets_the_specification(assistant):
    answer = assistant.ask("spark plug torque and gap", persona="technician")
    assert "0.8 mm" in answer.answer and "18 Nm" in answer.answer


def test_safety_question_carries_the_manual_warning(assistant):
    answer = assistant.ask("Steam coming from under the bonnet, what do I do")
    assert "WARNING" in answer.answer and answer.warnings


def test_unanswerable_questions_abstain(assistant):
    for question in ("How do I pair my phone over Bluetooth?", "What does P2096 mean?", "Tire pressure for the 2018 Corrin"):
        answer = assistant.ask(question)
        assert answer.abstained and not answer.grounded, (question, answer.answer)


def test_a_variant_of_the_car_no_document_names_is_refused(assistant):
    # the Corrin's documents cover its 2.0 and its Hybrid: a diesel's oil is not theirs to give (the old rule
    # answered with the petrol engines' 0W-20); a variant they do cover is answered
    refused = assistant.ask("What oil does the Corrin diesel need?")
    assert refused.abstained and "diesel" in refused.answer and "2019-2024" in refused.answer, refused.answer
    covered = assistant.ask("What oil does the Corrin Hybrid need?")
    assert not covered.abstained and "0W-20" in covered.answer, covered.answer


def test_follow_up_uses_the_conversation(assistant):
    first = assistant.ask("maximum braked trailer weight corrin 2.0")
    follow = assistant.ask("and for the hybrid?", history=[{"role": "user", "content": first.question},
                                                           {"role": "assistant", "content": first.answer}])
    assert "750 kg" in follow.answer


def test_latency_of_a_warm_extractive_answer(assistant):
    assistant.ask("What is the wheel nut torque?")  # warm the caches
    start = time.perf_counter()
    answer = assistant.ask("What is the wheel nut torque?")
    assert time.perf_counter() - start < 2.0 and answer.timings["total_ms"] < 2000


# -- live data from the real simulator ----------------------------------------------------------------------
def test_live_overheating_leads_the_answer_and_pulls_the_dtc_entry(indexed):
    from rag_car.vehicle.diagnostics.session import attach_passive
    from rag_car.vehicle.feed import Feed
    from rag_car.vehicle.live import live_state_from_settings
    from rag_car.vehicle.simulator.runtime import open_simulator

    channel = f"answer-{uuid.uuid4().hex[:8]}"
    settings = load_settings(overrides={"data_dir": str(indexed), "embedding": {"model": "hash"},
                                        "can": {"bus": f"virtual:{channel}"}})
    state = live_state_from_settings(settings)
    session = attach_passive(settings, state)
    sim_bus = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
    feed = Feed(f"virtual:{channel}", state, listeners=list(session.listeners))
    try:
        with open_simulator(sim_bus, "overheating", time_scale=20):
            feed.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                snap = state.snapshot()
                if any(d.code == "P0217" for d in snap.dtcs) and snap.vehicle.get("vin"):
                    break
                time.sleep(0.2)
            else:
                pytest.fail(f"the simulator never reported P0217: {state.snapshot().to_text()}")
            with Assistant(settings, live=state) as assistant:
                answer = assistant.ask("what's wrong with my car?")
                technician = assistant.ask("what's wrong with my car?", persona="technician")
    finally:
        feed.stop()
        sim_bus.shutdown()
    assert answer.answer.startswith("STOP:") and "[live]" in answer.answer.splitlines()[0]
    assert answer.dtcs and answer.dtcs[0].code == "P0217"
    assert any(s.name == "CoolantTemp" and s.status == "high" for s in answer.signals)
    assert answer.vehicle.get("from") == "VIN" and answer.vehicle.get("model") == "Corrin"
    assert "P0217" in technician.answer and any("P0217" in c.section for c in technician.citations)
    jsonschema.validate(answer.to_json(), ANSWER_JSON_SCHEMA)


# -- the command line -----------------------------------------------------------------------------------------
def test_ask_json_matches_the_schema(cli, indexed):
    env = {"RAG_CAR_DATA_DIR": str(indexed), "RAG_CAR_EMBEDDING__MODEL": "hash"}
    done = cli("ask", "What is the wheel nut torque?", "--json", "--persona", "technician", env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, ANSWER_JSON_SCHEMA)
    assert data["persona"] == "technician" and data["citations"]


def test_ask_batch_reads_one_question_per_line(cli, indexed):
    env = {"RAG_CAR_DATA_DIR": str(indexed), "RAG_CAR_EMBEDDING__MODEL": "hash"}
    done = cli("ask", "--json", "-", env=env, input="spark plug gap\n\nWhat does P2096 mean?\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["question"] for r in rows] == ["spark plug gap", "What does P2096 mean?"]
    assert not rows[0]["abstained"] and rows[1]["abstained"]


def test_ask_text_prints_sources_and_announces_a_fallback(cli, indexed):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"RAG_CAR_DATA_DIR": str(indexed), "RAG_CAR_EMBEDDING__MODEL": "hash",
           "RAG_CAR_LLM__OLLAMA_HOST": f"http://127.0.0.1:{port}"}
    done = cli("ask", "What is the wheel nut torque?", "--backend", "ollama", env=env)
    assert done.returncode == 0, done.stderr
    assert "Sources:" in done.stdout and "[1]" in done.stdout
    assert "note: answered by the extractive backend" in done.stderr and "not reachable" in done.stderr


@pytest.mark.parametrize("args,code,message", [
    (("ask", ""), 2, "empty"),
    (("ask", "tire pressure?", "--backend", "gpt"), 1, "unknown backend"),
    (("ask", "tire pressure?", "--persona", "boss"), 1, "unknown persona"),
    (("ask", "tire pressure?", "--bus", "nonsense"), 1, "bus spec"),
])
def test_ask_bad_input_is_one_line_not_a_traceback(cli, indexed, args, code, message):
    done = cli(*args, env={"RAG_CAR_DATA_DIR": str(indexed), "RAG_CAR_EMBEDDING__MODEL": "hash"})
    assert done.returncode == code and message in done.stderr and "Traceback" not in done.stderr


def test_ask_on_an_empty_index_says_to_ingest(cli, tmp_path):
    done = cli("ask", "What is the tire pressure?", env={"RAG_CAR_DATA_DIR": str(tmp_path / "empty"),
                                                         "RAG_CAR_EMBEDDING__MODEL": "hash"})
    assert done.returncode == 1 and "rag-car ingest" in (done.stdout + done.stderr) and "Traceback" not in done.stderr


def test_chat_keeps_history_and_obeys_commands(cli, indexed):
    env = {"RAG_CAR_DATA_DIR": str(indexed), "RAG_CAR_EMBEDDING__MODEL": "hash"}
    script = "\n".join([
        "maximum braked trailer weight corrin 2.0",
        "and for the hybrid?",
        "/persona technician",
        "/live off",
        "/reset",
        "/persona boss",
        "/quit",
    ]) + "\n"
    done = cli("chat", env=env, input=script)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1,500 kg" in out and "750 kg" in out
    assert "persona: technician" in out and "live data: off" in out and "conversation reset" in out
    assert "usage: /persona owner|technician" in out


def test_warm_embeds_the_indexed_sentences_once_and_a_first_question_then_embeds_nothing_new(indexed):
    settings = load_settings(overrides={"data_dir": str(indexed), "embedding": {"model": "hash"}})
    with Assistant(settings) as capped:
        skipped = capped.warm(sentences=True, max_chunks=10)  # the bundled knowledge is more than 10 chunks
        assert skipped["sentences"] == 0
    with Assistant(settings) as warm:
        done = warm.warm(sentences=True)
        assert done["sentences"] > 1000
        before = warm.vectors.computed
        answer = warm.ask("How do I check the engine oil level?", use_live=False)
        # every sentence it ranked was embedded already: at most the question itself is new
        assert answer.grounded and warm.vectors.computed - before <= 1


def test_rag_car_ingest_embeds_the_answer_sentences_so_a_first_question_embeds_nothing_new(cli, tmp_path):
    from rag_car.answer.vectors import chunk_sentences

    data = tmp_path / "filled"
    env = {"RAG_CAR_DATA_DIR": str(data), "RAG_CAR_EMBEDDING__MODEL": "hash"}
    done = cli("ingest", str(BUNDLED_KNOWLEDGE), "--json", env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    filled = summary["answer_sentences"]
    assert filled["sentences"] > 1000 and 0 < filled["embedded"] <= filled["sentences"]
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash"}})
    with Assistant(settings) as assistant:
        indexed = chunk_sentences(assistant.retriever.store.iter_all())
        assert len(indexed) == filled["sentences"]
        answer = assistant.ask("How do I check the engine oil level?", use_live=False)
        # every sentence it ranked came from the cache ingest filled: at most the question itself is new
        assert answer.grounded and assistant.vectors.computed <= 1
    again = cli("ingest", str(BUNDLED_KNOWLEDGE), "--json", env=env)
    assert json.loads(again.stdout)["answer_sentences"] == {"sentences": 0, "embedded": 0, "seconds": 0.0}

    bare = tmp_path / "bare"
    done = cli("ingest", str(BUNDLED_KNOWLEDGE), "--json", "--no-answer-sentences",
               env={**env, "RAG_CAR_DATA_DIR": str(bare)})
    assert done.returncode == 0 and json.loads(done.stdout)["answer_sentences"] is None
    settings = load_settings(overrides={"data_dir": str(bare), "embedding": {"model": "hash"}})
    with Assistant(settings) as assistant:
        assistant.ask("How do I check the engine oil level?", use_live=False)
        assert assistant.vectors.computed > 20  # without the fill, the first question embeds its passages' sentences
