"""One Settings object for the whole program, built once at the edge (CLI or UI) and passed down.

Precedence, highest first:

1. CLI flags (passed to :func:`load_settings` as ``overrides``),
2. environment variables with the ``RAG_CAR_`` prefix and ``__`` for nesting
   (``RAG_CAR_LLM__BACKEND=ollama``, ``RAG_CAR_DATA_DIR=/srv/rag-car``),
3. a TOML file: ``--config FILE``, else ``rag_car.toml`` in the working directory when it exists,
4. the defaults written below.

Nothing reads settings at import time: call :func:`load_settings` and hand the result down.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from rag_car.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_KNOWLEDGE = REPO_ROOT / "knowledge"
BUNDLED_DBC_DIR = REPO_ROOT / "dbc"

LLM_BACKENDS = ("extractive", "llamacpp", "ollama", "openai")
STORE_MODES = ("embedded", "server")
PERSONAS = ("owner", "technician")


# The TOML file of the load_settings() call in progress (None: no file).
_TOML_PATH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("rag_car_toml_path", default=None)


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/rag-car``, or ``~/.local/share/rag-car``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rag-car"


class LLMSettings(BaseModel):
    """Which model writes the answers."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["extractive", "llamacpp", "ollama", "openai"] = "extractive"
    model_path: Path | None = Field(None, description="GGUF file for llamacpp; empty: the packaged Gemma 3 270M")
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "gemma3:270m"
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_model: str = "local"
    openai_api_key: SecretStr | None = Field(None, description="from the environment only: RAG_CAR_LLM__OPENAI_API_KEY")
    timeout_s: float = Field(30.0, gt=0)
    max_tokens: int = Field(200, gt=0)
    temperature: float = Field(0.0, ge=0)
    n_threads: int = Field(2, gt=0)
    persona: Literal["owner", "technician"] = "owner"
    # answering (rag_car/answer): how much is retrieved, when to abstain, what happens to unsupported sentences
    n_ctx: int = Field(4096, ge=512, description="llamacpp context window in tokens")
    llamacpp_mode: Literal["auto", "completion", "chat"] = Field(
        "auto", description="auto: plain completion for the packaged base model, chat for a GGUF with a chat template")
    unsupported: Literal["remove", "flag"] = Field("remove", description="what happens to a generated sentence no source supports")


class EmbeddingSettings(BaseModel):
    """The sentence-transformers model used for chunks and questions."""

    model: str = Field("", description="a local model directory; empty: the packaged all-MiniLM-L6-v2")
    batch_size: int = Field(32, gt=0)
    device: str = "cpu"
    query_runtime: Literal["onnx", "torch"] = Field(
        "onnx", description="how a question is embedded: onnxruntime over an ONNX export of the model, made once "
        "under the cache dir (same vectors, ~4x faster for one text), or torch; chunks always go through torch")
    onnx_dir: Path | None = Field(None, description="where the ONNX export is kept; empty: <data_dir>/cache/onnx")
    multilingual: str = Field(
        "auto", description="the cross-lingual model every chunk is also embedded with, for Chinese questions and "
        "non-English chunks: auto (use-multilingual-v3, except with the test model 'hash' or when the main model is "
        "already multilingual), use-multilingual-v3, or off")


class StoreSettings(BaseModel):
    """Where the vectors live: ``embedded`` (under the data dir) or a Chroma ``server``."""

    mode: Literal["embedded", "server"] = "embedded"
    host: str = "127.0.0.1"
    port: int = Field(8000, gt=0, lt=65536)
    collection: str = "rag_car"


class CanSettings(BaseModel):
    """The live bus: where frames come from and how they are decoded."""

    bus: str = Field("virtual:rag-car", description="bus spec: virtual:CH, remote:ws://HOST:PORT/, socketcan:IF, udp:GROUP, replay:FILE, elm327:PORT (an OBD-II adapter)")
    dbc: list[Path] = Field(default_factory=list, description="DBC files; empty: every DBC in the bundled dbc/")
    history: int = Field(600, gt=0, description="readings kept per signal")
    stale_factor: float = Field(3.0, gt=0, description="a signal is stale after this many cycle times without an update")
    default_stale_s: float = Field(2.0, gt=0, description="staleness limit for messages with no GenMsgCycleTime")
    normal_ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description='normal ranges over those of the vehicle profile in force: "Message.Signal" -> [low, high] '
        '(a bare "Signal" applies to that signal name in every message of the DBCs in use)',
    )
    listen_s: float = Field(2.0, ge=0, description="how long ask --bus listens before answering")
    poll_obd: bool = Field(False, description="poll OBD-II services (transmits on the bus)")
    scenario: str = "normal"


class VehicleSettings(BaseModel):
    """Which vehicle profile applies when the bus's VIN does not say (rag_car.vehicle.profile)."""

    profile: str = Field("", description="the picked vehicle profile (`rag-car vehicle list`); empty: the one whose "
                         "VIN pattern matches the bus, else the one whose DBC files are those in use, else none")


class IngestSettings(BaseModel):
    """How documents become chunks."""

    chunk_tokens: int = Field(200, ge=32, le=512)
    chunk_overlap: int = Field(32, ge=0)
    max_file_mb: float = Field(50.0, gt=0)
    commit_chunks: int = Field(512, ge=1, le=100_000, description="new chunks embedded and committed to the index together")
    # limits on what one file may unpack to, checked before the expensive work (rag_car/knowledge/load/limits.py)
    max_unpacked_mb: float = Field(100.0, gt=0, description="a DOCX (ZIP) whose members unpack to more, together, is refused")
    max_zip_members: int = Field(2000, gt=0, description="a DOCX (ZIP) with more members is refused")
    max_html_depth: int = Field(1000, ge=16, description="HTML nested deeper is refused (deeper than 200 levels is "
                                "flattened, its text kept)")
    max_html_elements: int = Field(300_000, gt=0, description="HTML with more elements is refused")
    max_pdf_pages: int = Field(3000, gt=0, description="a PDF with more pages is refused")
    max_page_chars: int = Field(100_000, gt=0, description="a PDF page with more text is skipped with a warning "
                                "(a PDF with no page left is refused)")
    max_text_mb: float = Field(20.0, gt=0, description="a file whose decoded or extracted text is longer (millions of "
                               "characters) is refused")
    max_line_chars: int = Field(10_000, ge=200, description="longer lines are split at sentence ends before NLP sees them")
    answer_sentences: bool = Field(True, description="rag-car ingest (and the web UI's upload) also embeds the sentences "
                                   "of the chunks it adds into the answer cache, so that the first questions over a new "
                                   "index embed only the question (nearly doubles ingest time)")


class RetrievalSettings(BaseModel):
    """How questions find passages: how many, which documents, follow-up rewriting. The ranking weights and factors
    are not settings: they are rag-car's own, measured constants (rag_car.tuning)."""

    model_config = ConfigDict(extra="forbid")  # a former tuning key (dense_weight, ...) is an error, not ignored

    k: int = Field(8, gt=0, le=100, description="passages returned per question")
    vehicle: str = Field("", description="default vehicle filter, e.g. 'Ford Focus 2001'; empty: none")
    doc_types: list[str] = Field(default_factory=list, description="default doc_type filter; empty: all")
    sources: list[str] = Field(default_factory=list, description="default source filter (path suffixes); empty: all")
    infer_filters: bool = Field(True, description="narrow to a vehicle or year the question names and the index knows")
    record_cache: int = Field(4096, gt=0, description="passages (text and metadata) kept in memory after they are read "
                              "from the index's records file; the least recently used go first")
    rewrite: Literal["auto", "heuristic", "llm", "off"] = Field(
        "auto", description="follow-up rewriting: auto = LLM when a generative backend is given, else heuristic")


class UISettings(BaseModel):
    """The Streamlit web UI."""

    host: str = "127.0.0.1"
    port: int = Field(8501, gt=0, lt=65536)
    language: Literal["auto", "en", "zh"] = Field(
        "auto", description="the web UI's and the CLI's own words (rag_car/language.py): auto follows the browser's "
        "language (st.context.locale) or the terminal's locale, and the frame around an answer its question's; en or zh")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="host names the UI answers to besides 127.0.0.1, localhost, [::1] and ui.host "
        "(the names people type when ui.host exposes it, e.g. [\"carpc.local\"]); any other Host or Origin is refused")


class Settings(BaseSettings):
    """The resolved configuration. See the module docstring for the precedence of sources."""

    model_config = SettingsConfigDict(
        env_prefix="RAG_CAR_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    debug: bool = False
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    can: CanSettings = Field(default_factory=CanSettings)
    vehicle: VehicleSettings = Field(default_factory=VehicleSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ui: UISettings = Field(default_factory=UISettings)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # flags > environment > TOML > defaults (the defaults are the fields themselves)
        return (init_settings, env_settings, _TomlSource(settings_cls, _TOML_PATH.get()))

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(value).expanduser()

    # Paths derived from data_dir: everything the program writes lives under it.
    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def profiles_dir(self) -> Path:
        """One TOML file per user vehicle profile (`rag-car vehicle add`)."""
        return self.data_dir / "vehicles"

    def dbc_files(self) -> list[Path]:
        """The DBC files to decode with: the configured ones, else the bundled dbc/*.dbc."""
        if self.can.dbc:
            return list(self.can.dbc)
        return sorted(BUNDLED_DBC_DIR.glob("*.dbc"))

    def masked(self) -> dict[str, Any]:
        """The settings as plain data with every secret replaced by ``'***'``."""
        data = self.model_dump(mode="json")
        if self.llm.openai_api_key is not None:
            data["llm"]["openai_api_key"] = "***"
        return data


class _TomlSource(PydanticBaseSettingsSource):
    """Reads one TOML file; a missing default file is no error, a broken one is."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field, field_name):  # pragma: no cover - unused, __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {self.path} is not valid TOML ({exc})", "fix the file or pass another with --config") from exc
        if "openai_api_key" in data.get("llm", {}):
            raise ConfigError(
                f"config file {self.path} holds llm.openai_api_key",
                "secrets come from the environment only: remove it and set RAG_CAR_LLM__OPENAI_API_KEY",
            )
        return data


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Resolve the settings from all sources.

    ``config_file``: an explicit TOML file (``--config``); it must exist. Without it,
    ``rag_car.toml`` in the working directory is read when present.
    ``overrides``: values from CLI flags, nested like the settings (``{"llm": {"backend": "ollama"}}``);
    ``None`` values are dropped so that an unset flag does not hide the environment.
    Raises ConfigError for a missing or broken file and for invalid values.
    """
    if config_file is not None:
        config_file = Path(config_file).expanduser()
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist", "check the path given to --config")
        toml_path: Path | None = config_file
    else:
        toml_path = Path.cwd() / "rag_car.toml"

    token = _TOML_PATH.set(toml_path)
    try:
        return Settings(**_drop_none(overrides or {}))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"invalid setting {where}: {first['msg']} (got {first.get('input')!r})",
            "fix it in rag_car.toml, the RAG_CAR_ environment or the command line; `rag-car config` shows the resolved values",
        ) from exc
    finally:
        _TOML_PATH.reset(token)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            nested = _drop_none(value)
            if nested:
                out[key] = nested
        elif value is not None:
            out[key] = value
    return out
