"""Settings precedence: CLI flags > environment > TOML file > defaults, and the errors for bad sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_car.errors import ConfigError
from rag_car.settings import Settings, load_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    import os

    for key in list(os.environ):
        if key.startswith("RAG_CAR_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults(clean_env):
    s = load_settings()
    assert s.llm.backend == "extractive"
    assert s.store.mode == "embedded"
    assert s.ui.host == "127.0.0.1"
    assert s.data_dir.name == "rag-car"


def test_toml_overrides_defaults(clean_env, tmp_path):
    (tmp_path / "rag_car.toml").write_text('[llm]\nbackend = "ollama"\n[store]\nport = 9001\n')
    s = load_settings()
    assert s.llm.backend == "ollama"
    assert s.store.port == 9001
    assert s.store.mode == "embedded"  # untouched keys keep their defaults


def test_env_overrides_toml(clean_env, tmp_path):
    (tmp_path / "rag_car.toml").write_text('[llm]\nbackend = "ollama"\n')
    clean_env.setenv("RAG_CAR_LLM__BACKEND", "openai")
    assert load_settings().llm.backend == "openai"


def test_flags_override_env(clean_env, tmp_path):
    (tmp_path / "rag_car.toml").write_text('[llm]\nbackend = "ollama"\n')
    clean_env.setenv("RAG_CAR_LLM__BACKEND", "openai")
    s = load_settings(overrides={"llm": {"backend": "llamacpp", "timeout_s": None}})
    assert s.llm.backend == "llamacpp"
    assert s.llm.timeout_s == 30.0  # a flag left unset (None) hides nothing


def test_explicit_config_file_wins_over_cwd_file(clean_env, tmp_path):
    (tmp_path / "rag_car.toml").write_text('[llm]\nbackend = "ollama"\n')
    other = tmp_path / "other.toml"
    other.write_text('[llm]\nbackend = "openai"\n')
    assert load_settings(config_file=other).llm.backend == "openai"


def test_data_dir_from_env_and_derived_paths(clean_env, tmp_path):
    clean_env.setenv("RAG_CAR_DATA_DIR", str(tmp_path / "d"))
    s = load_settings()
    assert s.data_dir == tmp_path / "d"
    assert s.index_dir == tmp_path / "d" / "index"
    assert s.uploads_dir.parent == s.data_dir


def test_missing_config_file(clean_env, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_broken_toml_names_the_file(clean_env, tmp_path):
    bad = tmp_path / "rag_car.toml"
    bad.write_text("[llm\nbackend=")
    with pytest.raises(ConfigError, match="rag_car.toml is not valid TOML"):
        load_settings()


def test_unknown_backend_lists_valid_keys(clean_env):
    clean_env.setenv("RAG_CAR_LLM__BACKEND", "gpt5")
    with pytest.raises(ConfigError) as err:
        load_settings()
    for key in ("extractive", "llamacpp", "ollama", "openai"):
        assert key in str(err.value)
    assert "llm.backend" in str(err.value)


def test_unknown_key_in_toml_is_rejected(clean_env, tmp_path):
    (tmp_path / "rag_car.toml").write_text('[llm]\nbackend = "extractive"\n[nonsense]\nx = 1\n')
    with pytest.raises(ConfigError, match="nonsense"):
        load_settings()


def test_secret_in_toml_is_refused_and_env_secret_masked(clean_env, tmp_path):
    (tmp_path / "rag_car.toml").write_text('[llm]\nopenai_api_key = "sk-123"\n')
    with pytest.raises(ConfigError, match="environment only"):
        load_settings()
    (tmp_path / "rag_car.toml").unlink()
    clean_env.setenv("RAG_CAR_LLM__OPENAI_API_KEY", "sk-secret-value")
    s = load_settings()
    assert s.llm.openai_api_key.get_secret_value() == "sk-secret-value"
    assert s.masked()["llm"]["openai_api_key"] == "***"
    assert "sk-secret-value" not in repr(s)


def test_nothing_reads_settings_at_import():
    import importlib

    import rag_car.settings as module

    importlib.reload(module)
    assert isinstance(module.Settings.model_fields["llm"].default_factory(), module.LLMSettings)
    assert Settings.__doc__ and "precedence" in module.__doc__.lower()
