"""The Assistant hands the retriever an LLM follow-up rewriter only when a generative backend is configured."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from rag_car.answer.assistant import Assistant
from rag_car.answer.backends.base import Backend, Request
from rag_car.errors import BackendUnavailable
from rag_car.knowledge.ingest import ingest
from rag_car.settings import load_settings

FILES = Path(__file__).resolve().parent / "files"
FOLLOW_UP = "and what torque for the drain plug?"
HISTORY = ["How do I change the engine oil on the 2021 Aurora?"]


class QueuedBackend(Backend):
    """A generative backend that records each request and answers from a queue (an exception is raised)."""

    key = "ollama"

    def __init__(self, answers: list[object]) -> None:
        super().__init__(None)
        self.answers = list(answers)
        self.requests: list[Request] = []

    def stream(self, request: Request) -> Iterator[str]:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else ""
        if isinstance(answer, BaseException):
            raise answer
        yield str(answer)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("rewriter-index")
    settings = load_settings(overrides={"data_dir": str(data), "embedding": {"model": "hash"}})
    assert ingest(settings, [FILES / "kb"]).ok
    return data


def assistant_for(index_dir: Path, backend: str, fake: Backend | None = None) -> Assistant:
    settings = load_settings(overrides={"data_dir": str(index_dir), "embedding": {"model": "hash"},
                                        "llm": {"backend": backend}})
    return Assistant(settings, backends={backend: fake} if fake is not None else None)


def test_a_generative_backend_rewrites_the_follow_up(index_dir):
    fake = QueuedBackend(["What torque for the engine oil drain plug on the 2021 Aurora?\nignored second line"])
    with assistant_for(index_dir, "ollama", fake) as assistant:
        result = assistant.retriever.search(FOLLOW_UP, k=3, history=HISTORY)
    assert result.query == "What torque for the engine oil drain plug on the 2021 Aurora?"
    assert len(fake.requests) == 1
    prompt = fake.requests[0].messages[-1][1]
    assert FOLLOW_UP in prompt and HISTORY[0] in prompt and fake.requests[0].completion_prompt == prompt
    assert result.passages


def test_a_standalone_question_does_not_call_the_model(index_dir):
    fake = QueuedBackend(["should not be used"])
    with assistant_for(index_dir, "ollama", fake) as assistant:
        result = assistant.retriever.search("What torque for the engine oil drain plug?", k=3, history=HISTORY)
    assert fake.requests == [] and result.query == "What torque for the engine oil drain plug?"


def test_a_failing_backend_falls_back_to_the_heuristic_and_says_so(index_dir):
    fake = QueuedBackend([BackendUnavailable("the test backend is down", "start it")])
    with assistant_for(index_dir, "ollama", fake) as assistant:
        result = assistant.retriever.search(FOLLOW_UP, k=3, history=HISTORY)
    assert len(fake.requests) == 1
    assert result.query.startswith(FOLLOW_UP) and "Aurora" in result.query  # the heuristic's context words
    assert any("llm failed: BackendUnavailable" in note for note in result.notes)


def test_the_extractive_default_uses_no_model(index_dir):
    with assistant_for(index_dir, "extractive") as assistant:
        retriever = assistant.retriever
        result = retriever.search(FOLLOW_UP, k=3, history=HISTORY)
    assert retriever.rewriter is None
    assert result.query.startswith(FOLLOW_UP) and "Aurora" in result.query
    assert not any("llm" in note for note in result.notes)
