"""Live QA file + real DBC/log pairs -> LiveReport: each log replayed at maximum speed, each question asked, scored
on the right signal, its value at the end of the replay, and no refusal (reading questions); a health answer from
the bus (health questions).

A line of the QA file (JSON)::

    {"id": "live001", "question": "What's the coolant temperature?", "kind": "reading",
     "log": "eldominio-canbuslogs/audi_a2/noecu.trc", "dbc": "opendbc/vw_pq.dbc",
     "expected_signal": ["Kombi_2.Kuehlmitteltemp__4_1__Kombi_2_"], "expected_value": {"Kombi_2....": 52.5},
     "tolerance": 0.01}

``log`` and ``dbc`` are relative to the data directory (``--data``, the shared third-party data). Any of the
``expected_signal`` keys counts as right when it is the first reading the answer shows.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from rag_car.errors import ConfigError

_REFUSAL = re.compile(r"\b(?:do not (?:mention|cover)|will not guess|nothing is indexed|could not be searched)\b", re.I)


@dataclass(frozen=True)
class LiveItem:
    id: str
    question: str
    kind: str  # "reading" | "health"
    log: str
    dbc: str
    expected_signal: tuple[str, ...] = ()
    expected_value: dict[str, float] = field(default_factory=dict)
    tolerance: float = 0.01


@dataclass
class LiveResult:
    item: LiveItem
    answer: str
    live_kind: str
    signal: str  # the first reading shown ("" none)
    value: Any
    signal_ok: bool
    value_ok: bool
    refused: bool
    ms: float

    @property
    def passed(self) -> bool:
        if self.item.kind == "health":
            return self.live_kind == "health" and not self.refused
        return self.signal_ok and self.value_ok and not self.refused

    def to_json(self) -> dict[str, Any]:
        return {"id": self.item.id, "question": self.item.question, "kind": self.item.kind, "passed": self.passed,
                "live_kind": self.live_kind, "signal": self.signal, "value": _plain(self.value),
                "signal_ok": self.signal_ok, "value_ok": self.value_ok, "refused": self.refused,
                "ms": round(self.ms, 1), "answer": self.answer}


@dataclass
class LiveReport:
    results: list[LiveResult]
    pairs: int
    seconds: float

    def rate(self, kind: str | None = None, what: str = "passed") -> float:
        chosen = [r for r in self.results if kind is None or r.item.kind == kind]
        if not chosen:
            return 0.0
        if what == "refused":
            return sum(not r.refused for r in chosen) / len(chosen)
        return sum(bool(getattr(r, what)) for r in chosen) / len(chosen)

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": len(self.results), "pairs": self.pairs, "seconds": round(self.seconds, 1),
            "pass_rate": round(self.rate(), 4),
            "reading": {"n": sum(r.item.kind == "reading" for r in self.results),
                        "pass_rate": round(self.rate("reading"), 4),
                        "right_signal": round(self.rate("reading", "signal_ok"), 4),
                        "right_value": round(self.rate("reading", "value_ok"), 4),
                        "no_refusal": round(self.rate("reading", "refused"), 4)},
            "health": {"n": sum(r.item.kind == "health" for r in self.results),
                       "pass_rate": round(self.rate("health"), 4)},
            "results": [r.to_json() for r in self.results],
        }


def load_live_items(path: str | Path) -> list[LiveItem]:
    """The questions of a live QA file. Raises ConfigError naming the line that is not valid."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"live QA file {path} cannot be read ({exc})", "pass --qa tests/eval/live_qa.jsonl") from exc
    items = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(LiveItem(
                id=str(raw.get("id", f"line{number}")), question=str(raw["question"]), kind=str(raw.get("kind", "reading")),
                log=str(raw["log"]), dbc=str(raw["dbc"]), expected_signal=tuple(raw.get("expected_signal", ())),
                expected_value={k: float(v) for k, v in (raw.get("expected_value") or {}).items()},
                tolerance=float(raw.get("tolerance", 0.01))))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} line {number} is not a live QA item ({type(exc).__name__}: {exc})",
                              "each line needs question, log, dbc (and expected_signal for a reading)") from exc
    return items


def evaluate_live(settings: Any, items: list[LiveItem], data_dir: Path, listen_timeout_s: float = 120.0,
                  progress: Callable[[str], None] | None = None) -> LiveReport:
    """Replay each (log, DBC) pair at maximum speed into a LiveState, then ask its questions through the Assistant."""
    from rag_car.answer.assistant import Assistant
    from rag_car.vehicle.feed import Feed
    from rag_car.vehicle.live import live_state_from_settings

    start = time.perf_counter()
    groups: dict[tuple[str, str], list[LiveItem]] = {}
    for item in items:
        groups.setdefault((item.log, item.dbc), []).append(item)
    missing = [p for pair in groups for p in pair if not (data_dir / p).is_file()]
    if missing:
        raise ConfigError(f"{len(missing)} file(s) of the QA set are not under {data_dir}: {', '.join(missing[:3])}",
                          "pass --data with the shared data directory (the one holding INDEX.md)")
    results: list[LiveResult] = []
    with Assistant(settings) as assistant:
        for (log, dbc), group in groups.items():
            if progress is not None:
                progress(f"{log} with {dbc}: {len(group)} questions")
            state = live_state_from_settings(settings, [data_dir / dbc])
            feed = Feed(f"replay:{data_dir / log}?speed=max", state).start()
            try:
                feed.wait_ended(listen_timeout_s)
            finally:
                feed.stop()
            assistant.live = state
            for item in group:
                t0 = time.perf_counter()
                answer = assistant.ask(item.question)
                results.append(_score(item, answer, (time.perf_counter() - t0) * 1000.0))
    return LiveReport(results, len(groups), time.perf_counter() - start)


def _score(item: LiveItem, answer: Any, ms: float) -> LiveResult:
    first = answer.signals[0] if answer.signals else None
    signal = f"{first.message}.{first.name}" if first is not None else ""
    value = first.value if first is not None else None
    signal_ok = bool(signal) and signal in item.expected_signal
    value_ok = False
    if signal_ok and signal in item.expected_value and isinstance(value, (int, float)):
        expected = item.expected_value[signal]
        value_ok = abs(float(value) - expected) <= item.tolerance and _shown(expected, answer.answer, item.tolerance)
    refused = bool(answer.abstained) or bool(_REFUSAL.search(answer.answer[:200])) or not answer.answer.strip()
    return LiveResult(item, answer.answer, answer.live_kind, signal, value, signal_ok, value_ok, refused, ms)


def _shown(expected: float, text: str, tolerance: float) -> bool:
    """Whether the answer's text states the value (a person reads the text, not the JSON)."""
    for raw in re.findall(r"-?\d+(?:\.\d+)?", text):
        try:
            if abs(float(raw) - expected) <= max(tolerance, 1e-9):
                return True
        except ValueError:
            continue
    return False


def format_live_report(report: LiveReport, misses: bool = True) -> str:
    data = report.to_json()
    reading, health = data["reading"], data["health"]
    lines = [
        f"{data['questions']} questions over {data['pairs']} DBC + log pairs, {data['seconds']} s",
        f"reading questions ({reading['n']}): pass {reading['pass_rate']:.3f}  right signal {reading['right_signal']:.3f}  "
        f"right value {reading['right_value']:.3f}  no refusal {reading['no_refusal']:.3f}",
        f"health questions ({health['n']}): answered from the bus {health['pass_rate']:.3f}",
        f"all: pass {data['pass_rate']:.3f}",
    ]
    if misses:
        for r in report.results:
            if not r.passed:
                lines.append(f"  MISS {r.item.id} [{r.item.kind}] {r.item.question!r}: got {r.live_kind or 'documents'}"
                             f" {r.signal or '-'}={_plain(r.value)} (expected {', '.join(r.item.expected_signal) or 'health'})"
                             f"; {r.answer[:160]!r}")
    return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
