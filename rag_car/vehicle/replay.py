"""CAN log file -> ReplayBus: a read-only python-can bus that plays the log in real, scaled or maximum speed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from rag_car.vehicle.logs import LogReading, LogReport, open_log
from rag_car.vehicle.pycan import import_can

can = import_can()

IDLE_SLEEP_S = 0.05  # after the end of the log, recv() waits this long per call instead of spinning


class ReplayBus(can.BusABC):
    """Plays a log file as a bus: ``speed`` 1.0 is real time, 2.0 twice as fast, None as fast as possible.

    Frames keep the log's timestamps, channels and flags; with ``loop`` the log starts over and
    timestamps keep increasing. ``finished`` is True once the log is played out (never with loop);
    ``report`` counts the log's unreadable lines.
    """

    def __init__(self, channel: str | Path, speed: Optional[float] = 1.0, loop: bool = False, **kwargs: Any) -> None:
        self.path = Path(channel).expanduser()
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive or None")
        self.speed = speed
        self.loop = loop
        self.loops = 0
        self.played = 0
        self.finished = False
        self._reading: LogReading = open_log(self.path)
        self._messages = iter(self._reading)
        self._pending: can.Message | None = None
        self._log_start: float | None = None
        self._wall_start = 0.0
        self._offset = 0.0
        self._first_raw: float | None = None
        self._last_raw: float | None = None
        self._gap = 0.0
        self.channel_info = f"replay of {self.path}" + (" (looped)" if loop else "")
        super().__init__(channel=str(self.path), **kwargs)

    @property
    def report(self) -> LogReport:
        return self._reading.report

    def _next_message(self) -> "can.Message | None":
        while True:
            try:
                message = next(self._messages)
            except StopIteration:
                if not self.loop or self._first_raw is None:
                    self.finished = True
                    return None
                # start over, shifting timestamps so that they keep increasing
                self.loops += 1
                self._offset += (self._last_raw - self._first_raw) + max(self._gap, 0.001)
                self._first_raw = self._last_raw = None
                self._reading.close()
                self._reading = open_log(self.path)
                self._messages = iter(self._reading)
                continue
            raw = message.timestamp
            if self._first_raw is None:
                self._first_raw = raw
            elif raw >= self._last_raw:
                self._gap = raw - self._last_raw
            self._last_raw = raw
            message.timestamp = raw + self._offset
            return message

    def _recv_internal(self, timeout: Optional[float]) -> tuple["can.Message | None", bool]:
        message = self._pending if self._pending is not None else None
        if message is None and not self.finished:
            message = self._next_message()
        if message is None:
            time.sleep(IDLE_SLEEP_S if timeout is None else min(timeout, IDLE_SLEEP_S))
            return None, False
        if self.speed is not None:
            if self._log_start is None:
                self._log_start = message.timestamp
                self._wall_start = time.monotonic()
            due = self._wall_start + (message.timestamp - self._log_start) / self.speed
            wait = due - time.monotonic()
            if wait > 0:
                if timeout is not None and wait > timeout:
                    self._pending = message
                    time.sleep(timeout)
                    return None, False
                time.sleep(wait)
        self._pending = None
        self.played += 1
        return message, False

    def send(self, msg: "can.Message", timeout: Optional[float] = None) -> None:
        raise can.CanOperationError(f"the replay bus of {self.path} is read-only: frames cannot be sent to it")

    def shutdown(self) -> None:
        self._reading.close()
        super().shutdown()
