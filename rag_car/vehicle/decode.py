"""can.Message -> DecodedFrame (physical values, choice labels) through a VehicleDb; never raises.

Values are exactly cantools' ``Message.decode(data, decode_choices=False)``; labels are the choice
texts cantools would give with ``decode_choices=True``. A frame whose (id, payload) was decoded
before reuses that decode (27-66% of frames on real buses repeat their previous payload, and most
of the rest repeat an older one), which is what makes this faster than calling cantools per frame.
Frames that cannot be decoded are counted per id: unknown ids, payloads that do not fit the
message, classical frames longer than 8 bytes, error and remote frames. A payload shorter than the
DBC's message length (real ECUs send 3 bytes where a DBC writer assumed 8: the Yaris's 0x3B3, the
Kona's 0x356) gives the signals that lie wholly inside it, and is counted per id as "truncated".
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cantools.database.namedsignalvalue import NamedSignalValue

from rag_car.vehicle.dbc import EXTENDED_FLAG, VehicleDb

if TYPE_CHECKING:
    import can
    from cantools.database.can import Message

DEFAULT_CACHE_SIZE = 1 << 16  # distinct (id, payload) pairs kept; the cache is emptied when full


class DecodedFrame:
    """One decoded payload of one message; shared by every frame with the same id and payload.

    ``signals``: signal name -> physical value (int or float), exactly the signals present in the
    frame (multiplexing applied). ``labels``: signal name -> choice text, for values with one.
    ``track``: a small int naming the message and the set of signals present (one per multiplexer branch).
    """

    __slots__ = ("message", "frame_id", "signals", "labels", "track", "rendered")

    def __init__(self, message: "Message", frame_id: int, signals: dict[str, Any], labels: dict[str, str],
                 track: int) -> None:
        self.message = message
        self.frame_id = frame_id
        self.signals = signals
        self.labels = labels
        self.track = track
        self.rendered: str | None = None  # a writer's cached rendering (see jsonl_tail)

    @property
    def name(self) -> str:
        return self.message.name

    def __repr__(self) -> str:
        return f"DecodedFrame({self.message.name}, {self.signals!r}, labels={self.labels!r})"


@dataclass
class FrameCounters:
    """What the decoder saw. ``frames`` = decoded + unknown + errors + error_frames + remote_frames."""

    frames: int = 0
    decoded: int = 0
    unknown: int = 0
    errors: int = 0
    error_frames: int = 0
    remote_frames: int = 0
    cache_hits: int = 0
    truncated: int = 0  # of the decoded: payloads shorter than their message, read for the signals inside them
    per_id: dict[int, dict[str, Any]] = field(default_factory=dict)

    def count(self, key: int, what: str, detail: str | None = None, name: str | None = None) -> None:
        entry = self.per_id.get(key)
        if entry is None:
            entry = self.per_id[key] = {}
            if name:
                entry["message"] = name
        entry[what] = entry.get(what, 0) + 1
        if detail is not None:
            entry["last_error"] = detail

    def summary(self) -> dict[str, int]:
        return {"frames": self.frames, "decoded": self.decoded, "unknown": self.unknown, "errors": self.errors,
                "error_frames": self.error_frames, "remote_frames": self.remote_frames, "cache_hits": self.cache_hits,
                "truncated": self.truncated}

    def to_json(self, top: int | None = 50) -> dict[str, Any]:
        """The summary plus per-id problem counts (ids as "0x1A2", 29-bit ids with 8 digits)."""
        rows = sorted(self.per_id.items(), key=lambda kv: -sum(v for v in kv[1].values() if isinstance(v, int)))
        if top is not None:
            rows = rows[:top]
        return {**self.summary(), "per_id": {format_id(key): dict(value) for key, value in rows}}


def format_id(key: int) -> str:
    """A lookup key as text: "0x153" for 11-bit ids, "0x18FEF100" for 29-bit ones."""
    if key & EXTENDED_FLAG:
        return f"0x{key & 0x1FFFFFFF:08X}"
    return f"0x{key:03X}"


class FrameDecoder:
    """Decodes python-can messages through a VehicleDb, counting what it cannot decode."""

    def __init__(self, db: VehicleDb, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.db = db
        self.counters = FrameCounters()
        self.cache_size = max(0, cache_size)
        self._cache: dict[tuple, DecodedFrame] = {}
        self._messages: dict[Any, "Message | None"] = {}
        self._signals: dict[int, dict[str, Any]] = {}
        self._tracks: dict[tuple, int] = {}
        self._per_channel = db.channel_specific

    def decode(self, msg: "can.Message") -> DecodedFrame | None:
        """The decoded frame, or None (the reason is counted). Never raises."""
        counters = self.counters
        counters.frames += 1
        if msg.is_error_frame:
            counters.error_frames += 1
            return None
        arbitration_id = msg.arbitration_id
        key = arbitration_id | EXTENDED_FLAG if msg.is_extended_id else arbitration_id
        if msg.is_remote_frame:
            counters.remote_frames += 1
            counters.count(key, "remote_frames")
            return None
        data = msg.data
        payload = bytes(data) if data is not None else b""
        cache_key = (key, payload, str(msg.channel)) if self._per_channel else (key, payload)
        entry = self._cache.get(cache_key)
        if entry is not None:
            counters.decoded += 1
            counters.cache_hits += 1
            return entry
        return self._decode_new(msg, key, payload, cache_key)

    def _decode_new(self, msg: "can.Message", key: int, payload: bytes, cache_key: tuple) -> DecodedFrame | None:
        counters = self.counters
        lookup_key = (key, str(msg.channel)) if self._per_channel else key
        try:
            message = self._messages[lookup_key]
        except KeyError:
            message = self._messages[lookup_key] = self.db.lookup(msg.arbitration_id, msg.is_extended_id, msg.channel)
        if message is None:
            counters.unknown += 1
            counters.count(key, "unknown")
            return None
        if not msg.is_fd and (len(payload) > 8 or msg.dlc > 8):
            counters.errors += 1
            counters.count(key, "errors", f"classical CAN frame with {max(len(payload), msg.dlc)} data bytes (max 8)",
                           message.name)
            return None
        try:
            decoded = message.decode(payload, decode_choices=True)
        except Exception as exc:  # cantools raises DecodeError, ValueError, bitstruct errors: all one bad frame
            decoded = _truncated(message, payload)
            if not decoded:
                counters.errors += 1
                counters.count(key, "errors", f"{type(exc).__name__}: {exc}", message.name)
                return None
            counters.truncated += 1  # decoded all the same, and counted as such
            counters.count(key, "truncated", name=message.name)
        signals: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for name, value in decoded.items():
            if isinstance(value, NamedSignalValue):
                labels[name] = value.name
                # what decode(..., decode_choices=False) returns for this raw value
                value = self._signal(message, name).conversion.raw_to_scaled(value.value, False)
            signals[name] = value
        shape = (id(message), tuple(signals))
        track = self._tracks.get(shape)
        if track is None:
            track = self._tracks[shape] = len(self._tracks)
        entry = DecodedFrame(message, msg.arbitration_id, signals, labels, track)
        if self.cache_size:
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[cache_key] = entry
        counters.decoded += 1
        return entry

    def _signal(self, message: "Message", name: str):
        table = self._signals.get(id(message))
        if table is None:
            table = self._signals[id(message)] = {s.name: s for s in message.signals}
        return table[name]


def _truncated(message: "Message", payload: bytes) -> dict[str, Any]:
    """The signals wholly inside a payload shorter than the message ({} when none is, or the payload is not short)."""
    if not payload or len(payload) >= message.length:
        return {}
    try:
        return dict(message.decode(payload, decode_choices=True, allow_truncated=True))
    except Exception:  # a multiplexer value the DBC does not define, a bad bit layout: still one bad frame
        return {}


def jsonl_tail(entry: DecodedFrame) -> str:
    """The part of a `decode --jsonl` line after "t" and "channel": id, message, signals, labels and the newline.

    Rendered once per cached payload and kept on the entry. Non-finite floats become null (JSON has no NaN).
    """
    text = entry.rendered
    if text is None:
        signals = entry.signals
        if any(isinstance(v, float) and not math.isfinite(v) for v in signals.values()):
            signals = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in signals.items()}
        text = entry.rendered = (
            f'"id": {entry.frame_id}, "message": {json.dumps(entry.message.name)}, '
            f'"signals": {json.dumps(signals)}, "labels": {json.dumps(entry.labels, ensure_ascii=False)}}}\n'
        )
    return text
