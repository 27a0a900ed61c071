"""Chat messages -> streamed text from an Ollama server (langchain-ollama's ChatOllama)."""

from __future__ import annotations

from typing import Iterator

from rag_car.answer.backends.base import Backend, BackendTimeout, Request, bounded
from rag_car.errors import BackendUnavailable


class OllamaBackend(Backend):
    key = "ollama"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.host = settings.llm.ollama_host.rstrip("/")
        self.model = settings.llm.ollama_model
        self._chats: dict[tuple, object] = {}

    def describe(self) -> str:
        return f"ollama {self.model} at {self.host}"

    def _fix(self) -> str:
        return f"start `ollama serve` at {self.host} (and `ollama pull {self.model}`), or set RAG_CAR_LLM__BACKEND=extractive"

    def _model(self, request: Request):
        from langchain_ollama import ChatOllama

        key = (request.max_tokens, request.temperature, request.timeout_s)
        if key not in self._chats:
            self._chats[key] = ChatOllama(
                model=self.model, base_url=self.host, temperature=request.temperature, num_predict=request.max_tokens,
                seed=0, client_kwargs={"timeout": request.timeout_s}, keep_alive="10m",
            )
        return self._chats[key]

    def stream(self, request: Request) -> Iterator[str]:
        import httpx

        chat = self._model(request)
        what = f"ollama at {self.host}"
        try:
            for chunk in bounded(_texts(chat.stream(request.messages)), request.timeout_s, what, self._fix()):
                yield chunk
        except BackendUnavailable:
            raise
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"{what} did not answer within {request.timeout_s:g} s", self._fix()) from exc
        except (httpx.ConnectError, ConnectionError) as exc:
            raise BackendUnavailable(f"Ollama is not reachable at {self.host}", self._fix()) from exc
        except ValueError as exc:  # broken NDJSON (json.JSONDecodeError) or payloads of the wrong shape (pydantic)
            raise BackendUnavailable(f"Ollama at {self.host} answered with something that is not Ollama's JSON "
                                     f"({str(exc).splitlines()[0][:120]})", self._fix()) from exc
        except Exception as exc:  # ResponseError (model not pulled, server error)
            status = getattr(exc, "status_code", None)
            if status == 404:
                raise BackendUnavailable(f"Ollama at {self.host} has no model {self.model!r}",
                                         f"run `ollama pull {self.model}` or set RAG_CAR_LLM__OLLAMA_MODEL") from exc
            detail = getattr(exc, "error", None) or str(exc) or type(exc).__name__
            raise BackendUnavailable(f"Ollama at {self.host} failed ({str(detail)[:200]})", self._fix()) from exc

    def close(self) -> None:
        self._chats.clear()


def _texts(chunks) -> Iterator[str]:
    for chunk in chunks:
        content = chunk.content
        if isinstance(content, list):  # content blocks
            content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
        if content:
            yield str(content)
