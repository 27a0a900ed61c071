"""Real small stand-ins for the answer tests: a backend that records prompts and returns queued answers, a local
HTTP server speaking Ollama's wire format, a keyword retriever over hand-made passages, live snapshots."""

from __future__ import annotations

import json
import zlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import numpy as np

from rag_car.answer.backends.base import Backend, Request
from rag_car.answer.sentences import terms
from rag_car.knowledge.retrieve import Filters, Passage, SearchResult
from rag_car.vehicle.live import DtcReading, LampReading, LiveSnapshot, SignalReading  # noqa: F401 (re-exported)


# ---------------------------------------------------------------------------------------------------------------
# a chat model that records what it is asked and answers from a queue
class RecordingBackend(Backend):
    """A generative backend: each stream() records the Request and yields the next queued answer word by word.
    A queued Exception is raised instead (to test fallbacks); an empty queue yields nothing."""

    key = "ollama"  # registered under a generative key by the tests that use it

    def __init__(self, settings: Any = None, answers: list[Any] | None = None, delay_s: float = 0.0) -> None:
        super().__init__(settings)
        self.answers = list(answers or [])
        self.requests: list[Request] = []
        self.delay_s = delay_s

    def stream(self, request: Request) -> Iterator[str]:
        self.requests.append(request)
        if not self.answers:
            return
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        for i, word in enumerate(str(answer).split(" ")):
            if self.delay_s:
                time.sleep(self.delay_s)
            yield word if i == 0 else " " + word

    @property
    def prompts(self) -> list[str]:
        return ["\n".join(f"{role}: {content}" for role, content in r.messages) for r in self.requests]


# ---------------------------------------------------------------------------------------------------------------
# a keyword retriever over hand-made passages (the real Retriever's interface, without an index)
def passage(n: int, text: str, source: str, section: str, doc_type: str = "owner_manual", title: str = "",
            page: int = 0, codes: str = "") -> Passage:
    return Passage(chunk_id=f"p{n}", text=text, score=0.0, ranks={},
                   metadata={"source": source, "title": title or source.rsplit("/", 1)[-1], "section": section,
                             "page": page, "doc_type": doc_type, "codes": codes, "make": "Aldmoor", "model": "Corrin",
                             "year_min": 2019, "year_max": 2024})


class KeywordRetriever:
    """search() ranks the passages by shared content terms (text and section), drops those sharing none."""

    def __init__(self, passages: list[Passage], embedder: Any = None) -> None:
        self.passages = passages
        self.embedder = embedder
        self.searches: list[tuple[str, Any]] = []

    def search(self, question: str, k: int = 8, filters: Filters | None = None, history: list[str] | None = None) -> SearchResult:
        self.searches.append((question, filters))
        query = question if not history else f"{history[-1]} {question}"
        wanted = set(terms(query))
        pool = self.passages
        if filters is not None and filters.sources:
            pool = [p for p in pool if any(p.source.endswith(s) for s in filters.sources)]
        if filters is not None and filters.doc_types:
            pool = [p for p in pool if p.doc_type in filters.doc_types]
        scored = []
        for p in pool:
            overlap = len(wanted & set(terms(f"{p.text} {p.section}")))
            if overlap:
                scored.append((overlap, p))
        scored.sort(key=lambda item: -item[0])
        out = [Passage(p.chunk_id, p.text, float(s), {"bm25": i + 1}, dict(p.metadata)) for i, (s, p) in enumerate(scored[:k])]
        return SearchResult(question=question, query=query, passages=out, filters=filters or Filters())


class TermEmbedder:
    """A deterministic bag-of-terms embedder (hashing trick), normalised: similar wording, similar vectors."""

    name = "test-terms"
    dim = 256

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for t in terms(text):
            v[zlib.crc32(t.encode()) % self.dim] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


# ---------------------------------------------------------------------------------------------------------------
# live data: the real dataclasses of rag_car.vehicle.live (contract 3)
def reading(name: str, message: str, value: Any, unit: str, description: str, status: str = "ok",
            normal: tuple[float, float] | None = None, age_s: float = 0.2) -> SignalReading:
    return SignalReading(name=name, message=message, value=value, unit=unit, label=None, timestamp=0.0, age_s=age_s,
                         status=status, description=description, normal=normal)


def snapshot(signals=(), dtcs=(), lamps=(), vehicle=None, bus=None) -> LiveSnapshot:
    return LiveSnapshot(signals=list(signals), dtcs=list(dtcs), lamps=list(lamps), vehicle=dict(vehicle or {}),
                        bus=dict(bus or {"spec": "virtual:test", "state": "connected"}), counters={})


# ---------------------------------------------------------------------------------------------------------------
# a local server that speaks Ollama's HTTP API: /api/tags, /api/version, /api/chat (streaming NDJSON)
class FakeOllama:
    """Queue answers with ``answers``; ``mode`` "ok", "garbage" (lines that are not JSON), "slow" (waits
    ``delay_s`` before answering), "missing" (404 model not found), "error" (500). Requests are recorded."""

    def __init__(self, model: str = "gemma3:270m") -> None:
        self.model = model
        self.answers: list[str] = []
        self.requests: list[dict] = []
        self.mode = "ok"
        self.delay_s = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/api/tags":
                    self._json(200, {"models": [{"name": owner.model, "model": owner.model, "size": 1,
                                                 "digest": "0" * 12, "details": {"family": "gemma3"}}]})
                elif self.path == "/api/version":
                    self._json(200, {"version": "0.6.0"})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                owner.requests.append({"path": self.path, "body": body})
                if self.path != "/api/chat":
                    self._json(404, {"error": "not found"})
                    return
                if owner.mode == "missing" or body.get("model") != owner.model:
                    self._json(404, {"error": f"model '{body.get('model')}' not found"})
                    return
                if owner.mode == "error":
                    self._json(500, {"error": "out of memory"})
                    return
                if owner.mode == "slow":
                    time.sleep(owner.delay_s)
                answer = owner.answers.pop(0) if owner.answers else ""
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                lines = []
                if owner.mode == "garbage":
                    lines = ["<html>proxy error</html>", "{not json"]
                else:
                    words = answer.split(" ")
                    for i, word in enumerate(words):
                        piece = word if i == 0 else " " + word
                        lines.append(json.dumps({"model": owner.model, "created_at": "2026-01-01T00:00:00Z",
                                                 "message": {"role": "assistant", "content": piece}, "done": False}))
                    lines.append(json.dumps({"model": owner.model, "created_at": "2026-01-01T00:00:00Z",
                                             "message": {"role": "assistant", "content": ""}, "done": True,
                                             "done_reason": "stop", "total_duration": 1, "eval_count": len(words),
                                             "prompt_eval_count": 1}))
                try:
                    for line in lines:
                        data = (line + "\n").encode()
                        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FakeOllama":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
