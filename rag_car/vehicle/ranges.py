"""knowledge/facts.toml [[signal_range]] -> normal operating ranges per signal, as the documents state them."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rag_car.errors import ConfigError


@dataclass(frozen=True)
class SignalRange:
    """A documented normal range: ``low``/``high`` may be None for a one-sided limit."""

    message: str
    signal: str
    low: float | None
    high: float | None
    unit: str = ""
    doc: str = ""
    section: str = ""


def load_signal_ranges(facts_path: str | Path) -> list[SignalRange]:
    """Every [[signal_range]] of a facts file. Raises ConfigError for a missing or malformed file."""
    path = Path(facts_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"knowledge facts file {path} does not exist", "check the path (the bundled one is knowledge/facts.toml)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"knowledge facts file {path} is not valid TOML ({exc})", "fix the file") from exc
    out = []
    for index, row in enumerate(data.get("signal_range", []), start=1):
        if not isinstance(row, dict) or not row.get("signal"):
            raise ConfigError(f"{path}: [[signal_range]] number {index} has no signal", "give each range a signal name")
        low, high = _number(row.get("low"), path, index), _number(row.get("high"), path, index)
        if low is not None and high is not None and low > high:
            raise ConfigError(f"{path}: [[signal_range]] {row['signal']} has low {low} above high {high}", "swap them")
        out.append(SignalRange(message=str(row.get("message", "")), signal=str(row["signal"]), low=low, high=high,
                               unit=str(row.get("unit", "")), doc=str(row.get("doc", "")), section=str(row.get("section", ""))))
    return out


def load_normal_ranges(facts_path: str | Path, qualified: bool = False) -> dict[str, tuple[float | None, float | None]]:
    """Signal name -> (low, high) from a facts file's [[signal_range]] tables.

    With ``qualified``, keys are "Message.Signal" where the range names its message, so that two
    messages with a signal of the same name keep their own ranges (LiveState accepts both forms).
    """
    ranges: dict[str, tuple[float | None, float | None]] = {}
    for item in load_signal_ranges(facts_path):
        key = f"{item.message}.{item.signal}" if qualified and item.message else item.signal
        ranges.setdefault(key, (item.low, item.high))
    return ranges


def _number(value, path: Path, index: int) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ConfigError(f"{path}: [[signal_range]] number {index} has a limit that is not a number ({value!r})",
                          "write low and high as numbers")
    return float(value)
