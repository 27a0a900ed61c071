"""An index -> the support its best passages give to questions it does not answer (probes), measured once per index
and cached: the yardstick that lets one abstention rule hold on every corpus.

A raw support score means different things on different indexes: a large manual has a passage that shares a word
or two with almost anything, a small one does not. So the answer side does not compare a question's support with
a fixed number but with the support the same index gives to questions it cannot answer: questions about
unrelated things (``probes.txt``: cooking, travel, money ..., written for this purpose). A question is answered
when its support reaches the ``NULL_QUANTILE`` of these probes' support (a probe or two that happen to share a
word with a large index make the top of that distribution noisy; the quantile ignores them).

(Probes made by crossing two of the index's own headings were tried: one passage answers each half, so they are
supported like answerable questions and say nothing about the "not covered" end.)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

PROBES_FILE = Path(__file__).with_name("probes.txt")
VERSION = 2  # bumped when the support score or the probes change, so that cached calibrations are rebuilt
NULL_QUANTILE = 0.9
MARGIN = 0.0


@dataclass(frozen=True)
class Calibration:
    """The support scores of the probes of one index, sorted."""

    null: tuple[float, ...]

    @property
    def threshold(self) -> float:
        """The support a question must reach to be answered."""
        if not self.null:
            return 0.0
        i = min(len(self.null) - 1, int(NULL_QUANTILE * len(self.null)))
        return self.null[i] + MARGIN

    def share_below(self, support: float) -> float:
        """The share of probes whose support is below ``support`` (0..1): how unlike an unanswerable question it is."""
        return sum(1 for v in self.null if v < support) / len(self.null) if self.null else 1.0

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "null": list(self.null)}


def unrelated_probes() -> list[str]:
    return [line.strip() for line in PROBES_FILE.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def calibrate(support: Callable[[str], float]) -> Calibration:
    """The support of every probe (``support(question)``: the same score the answers are judged by)."""
    scores = []
    for probe in unrelated_probes():
        try:
            scores.append(float(support(probe)))
        except Exception:  # a probe that fails to score says nothing about the index
            continue
    return Calibration(tuple(sorted(scores)))


class CalibrationCache:
    """One Calibration per index generation, in memory and under ``cache_dir/answer``."""

    def __init__(self) -> None:
        self._key: str | None = None
        self._value: Calibration | None = None
        self._lock = threading.Lock()

    def get(self, cache_dir: Path, key: str | None, build: Callable[[], Calibration]) -> Calibration:
        with self._lock:
            if self._value is not None and key == self._key and key is not None:
                return self._value
            path = Path(cache_dir) / "answer" / f"calibration-{key}-v{VERSION}.json" if key else None
            value = _load(path) if path is not None else None
            if value is None:
                value = build()
                if path is not None and value.null:
                    try:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        for old in path.parent.glob("calibration-*.json"):
                            old.unlink(missing_ok=True)
                        tmp = path.with_suffix(".tmp")
                        tmp.write_text(json.dumps(value.to_json()), encoding="utf-8")
                        tmp.replace(path)
                    except OSError:
                        pass
            self._key, self._value = key, value
            return value


def _load(path: Path) -> Calibration | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return None
        return Calibration(tuple(sorted(float(v) for v in data["null"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None
