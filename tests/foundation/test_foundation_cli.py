"""The CLI through its real entry point: exit codes, one-line errors, config masking, doctor checks."""

from __future__ import annotations

import json
import socket

from rag_car import __version__


def test_version_and_help(cli):
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"rag-car {__version__}"
    r = cli("--help")
    assert r.returncode == 0
    for word in ("config", "doctor", "--data-dir", "--config", "--debug"):
        assert word in r.stdout


def test_usage_error_exits_2(cli):
    r = cli("--no-such-flag")
    assert r.returncode == 2
    assert "No such option" in r.stderr
    r = cli("no-such-command")
    assert r.returncode == 2


def test_config_shows_resolved_settings_with_secret_masked(cli, data_dir):
    r = cli("config", "--json", env={"RAG_CAR_LLM__OPENAI_API_KEY": "sk-do-not-print", "RAG_CAR_LLM__BACKEND": "openai"})
    assert r.returncode == 0, r.stderr
    assert "sk-do-not-print" not in r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["llm"]["openai_api_key"] == "***"
    assert data["llm"]["backend"] == "openai"
    assert data["data_dir"] == str(data_dir)
    text = cli("config", env={"RAG_CAR_LLM__OPENAI_API_KEY": "sk-do-not-print"})
    assert "sk-do-not-print" not in text.stdout and "***" in text.stdout


def test_config_shows_only_what_a_user_chooses(cli, tmp_path):
    """Ranking weights and thresholds are rag-car's own constants (rag_car.tuning), not settings."""
    r = cli("config", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data["retrieval"]) == {"k", "vehicle", "doc_types", "sources", "infer_filters", "rewrite",
                                     "record_cache"}
    assert "abstain_below" not in data["llm"]
    shown = json.dumps({"retrieval": data["retrieval"], "llm": data["llm"]})
    for name in ("weight", "factor", "threshold", "rrf", "fusion", "candidates", "abstain"):
        assert name not in shown
    cfg = tmp_path / "tuned.toml"
    cfg.write_text("[retrieval]\ndense_weight = 2.0\n")
    old = cli("--config", str(cfg), "config")
    assert old.returncode == 1 and "retrieval.dense_weight" in old.stderr and "Traceback" not in old.stderr


def test_data_dir_flag_overrides_env(cli, tmp_path):
    r = cli("--data-dir", str(tmp_path / "flag"), "config", "--json")
    assert json.loads(r.stdout)["data_dir"] == str(tmp_path / "flag")


def test_config_file_flag(cli, tmp_path):
    cfg = tmp_path / "my.toml"
    cfg.write_text('[store]\nmode = "server"\nport = 8123\n')
    r = cli("--config", str(cfg), "config", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["store"] == {"mode": "server", "host": "127.0.0.1", "port": 8123, "collection": "rag_car"}


def test_bad_setting_is_one_line_error_exit_1(cli):
    r = cli("config", env={"RAG_CAR_STORE__MODE": "cloud"})
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid setting store.mode")
    assert "embedded" in lines[0] and "server" in lines[0]
    assert "Traceback" not in r.stderr


def test_debug_shows_traceback(cli):
    r = cli("--debug", "config", env={"RAG_CAR_STORE__MODE": "cloud"})
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "error: invalid setting" in r.stderr


def test_missing_config_file_is_one_line(cli, tmp_path):
    r = cli("--config", str(tmp_path / "absent.toml"), "config")
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: config file {tmp_path / 'absent.toml'} does not exist: check the path given to --config"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_doctor_reports_missing_store_and_unreachable_backend_with_fix(cli):
    port = _free_port()  # nothing listens there
    r = cli("doctor", "--json", env={
        "RAG_CAR_LLM__BACKEND": "ollama", "RAG_CAR_LLM__OLLAMA_HOST": f"http://127.0.0.1:{port}",
    })
    assert r.returncode == 1
    checks = {c["name"]: c for c in json.loads(r.stdout)}
    assert checks["embedding model"]["ok"] is True
    store = checks["vector store"]
    assert store["ok"] is False and "rag-car ingest" in store["fix"]
    llm = checks["LLM backend (ollama)"]
    assert llm["ok"] is False and f"127.0.0.1:{port}" in llm["detail"] and "ollama serve" in llm["fix"]
    assert checks["free disk"]["ok"] is True


def test_doctor_server_store_and_remote_bus_unreachable(cli):
    port = _free_port()
    r = cli("doctor", "--json", env={
        "RAG_CAR_STORE__MODE": "server", "RAG_CAR_STORE__PORT": str(port),
        "RAG_CAR_CAN__BUS": f"remote:ws://127.0.0.1:{port}/",
    })
    checks = {c["name"]: c for c in json.loads(r.stdout)}
    assert checks["vector store"]["ok"] is False and "chroma run" in checks["vector store"]["fix"]
    assert checks["CAN bus"]["ok"] is False and "rag-car simulate --serve" in checks["CAN bus"]["fix"]


def test_doctor_bad_bus_spec_lists_kinds(cli):
    r = cli("doctor", "--json", env={"RAG_CAR_CAN__BUS": "vcan0"})
    bus = {c["name"]: c for c in json.loads(r.stdout)}["CAN bus"]
    assert bus["ok"] is False
    for kind in ("virtual", "remote", "socketcan", "replay"):
        assert kind in bus["fix"]


def test_doctor_table_output(cli):
    r = cli("doctor")
    assert "FAIL" in r.stdout and "OK" in r.stdout and "rag-car ingest" in r.stdout
