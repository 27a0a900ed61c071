"""Chat messages -> streamed text from any OpenAI-compatible server (langchain-openai's ChatOpenAI): vLLM,
llama.cpp's server, LM Studio, OpenAI itself. The API key comes from the environment only."""

from __future__ import annotations

from typing import Iterator

from rag_car.answer.backends.base import Backend, BackendTimeout, Request, bounded
from rag_car.errors import BackendUnavailable


class OpenAIBackend(Backend):
    key = "openai"

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.base_url = settings.llm.openai_base_url.rstrip("/")
        self.model = settings.llm.openai_model
        self._chats: dict[tuple, object] = {}

    def describe(self) -> str:
        return f"openai-compatible {self.model} at {self.base_url}"

    def _fix(self) -> str:
        return (f"start the OpenAI-compatible server at {self.base_url} (or set RAG_CAR_LLM__OPENAI_BASE_URL and "
                "RAG_CAR_LLM__OPENAI_API_KEY), or set RAG_CAR_LLM__BACKEND=extractive")

    def _model(self, request: Request):
        from langchain_openai import ChatOpenAI

        params = (request.max_tokens, request.temperature, request.timeout_s)
        if params not in self._chats:
            llm = self.settings.llm
            key = llm.openai_api_key.get_secret_value() if llm.openai_api_key is not None else "not-needed"
            # langchain-openai sends only max_completion_tokens; llama.cpp's server, older vLLM and LM Studio read
            # max_tokens and would otherwise generate up to the context size. OpenAI itself refuses both at once.
            extra = {} if "api.openai.com" in self.base_url else {"max_tokens": request.max_tokens}
            self._chats[params] = ChatOpenAI(
                model=self.model, base_url=self.base_url, api_key=key, temperature=request.temperature,
                max_tokens=request.max_tokens, timeout=request.timeout_s, max_retries=0, seed=0, stream_usage=False,
                extra_body=extra or None,
            )
        return self._chats[params]

    def stream(self, request: Request) -> Iterator[str]:
        import openai

        chat = self._model(request)
        what = f"the OpenAI-compatible server at {self.base_url}"
        try:
            for chunk in bounded(_texts(chat.stream(request.messages)), request.timeout_s, what, self._fix()):
                yield chunk
        except BackendUnavailable:
            raise
        except openai.APITimeoutError as exc:
            raise BackendTimeout(f"{what} did not answer within {request.timeout_s:g} s", self._fix()) from exc
        except openai.APIConnectionError as exc:
            raise BackendUnavailable(f"{what} is not reachable", self._fix()) from exc
        except openai.AuthenticationError as exc:
            raise BackendUnavailable(f"{what} refused the API key",
                                     "set RAG_CAR_LLM__OPENAI_API_KEY to a valid key (environment only)") from exc
        except openai.NotFoundError as exc:
            raise BackendUnavailable(f"{what} has no model {self.model!r}",
                                     "set RAG_CAR_LLM__OPENAI_MODEL to a model the server lists at /v1/models") from exc
        except Exception as exc:  # other status codes, malformed streams
            raise BackendUnavailable(f"{what} failed ({str(exc)[:200] or type(exc).__name__})", self._fix()) from exc

    def close(self) -> None:
        self._chats.clear()


def _texts(chunks) -> Iterator[str]:
    for chunk in chunks:
        content = chunk.content
        if isinstance(content, list):
            content = "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
        if content:
            yield str(content)
