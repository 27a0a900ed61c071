"""Bus spec + LiveState -> Feed: a python-can Notifier feeding the state, reconnecting with backoff.

While the bus is away the state's bus section says "reconnecting" and every signal reads stale;
when it comes back, frames flow again. A replayed log that has played out leaves the feed "ended".
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from typing import Any, Callable, Iterator

from rag_car.errors import BusError, RagCarError
from rag_car.vehicle.bus import create_bus, shutdown_quietly
from rag_car.vehicle.pycan import import_can
from rag_car.vehicle.spec import BusSpec, parse_bus_spec

can = import_can()


class _BusWatch(can.Listener):
    """Tells the feed when the bus raised (python-can's Notifier calls on_error)."""

    def __init__(self) -> None:
        self.failed = threading.Event()
        self.error: BaseException | None = None

    def on_message_received(self, msg: "can.Message") -> None:
        pass

    def on_error(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
        self.failed.set()


class Feed:
    """Runs in a background thread; see :func:`open_feed`. ``listeners`` get every frame too."""

    polls_obd = False  # frames only; OBD-II polling is the diagnostics session's, through FeedSender

    def __init__(self, spec: str | BusSpec, state: Any, *, listeners: list | None = None,
                 initial_backoff_s: float = 0.25, max_backoff_s: float = 8.0, retry_first: bool = False,
                 bus_factory: Callable[[BusSpec], "can.BusABC"] = create_bus) -> None:
        self.spec = spec if isinstance(spec, BusSpec) else parse_bus_spec(spec)
        self.state = state
        self.listeners = list(listeners or [])
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.retry_first = retry_first
        self.reconnects = 0
        self.error: RagCarError | None = None
        self.bus: "can.BusABC | None" = None
        self._factory = bus_factory
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._first_done = threading.Event()
        self.ended = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rag-car feed {self.spec}", daemon=True)

    def start(self, timeout_s: float = 10.0) -> "Feed":
        """Start; wait for the first connection attempt. Raises its BusError unless ``retry_first``."""
        self.state.set_bus(spec=str(self.spec), state="connecting", reconnects=0, error=None)
        # a process that exits without stop() (Ctrl-C on the web UI) still stops the Notifier before the bus goes:
        # a bus closed under a running Notifier thread prints a traceback from inside python-can-remote
        atexit.register(self.stop)
        self._thread.start()
        self._first_done.wait(timeout_s)
        if self.error is not None and not self.retry_first:
            self._thread.join(1.0)
            raise self.error
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the Notifier (listeners first), then shut the bus down; wait up to ``timeout_s``."""
        atexit.unregister(self.stop)
        self._stop.set()
        self._thread.join(timeout_s)
        self.state.set_bus(state="ended" if self.ended.is_set() else "closed")

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def wait_ended(self, timeout_s: float | None = None) -> bool:
        """True once a replayed log has played out."""
        return self.ended.wait(timeout_s)

    def _run(self) -> None:
        backoff = self.initial_backoff_s
        first = True
        while not self._stop.is_set():
            try:
                try:
                    bus = self._factory(self.spec)
                except RagCarError:
                    raise
                except Exception as exc:  # a driver's own error type: still a bus that cannot be opened
                    raise BusError(f"bus {self.spec} cannot be opened ({type(exc).__name__}: {exc})",
                                   "check the bus spec and that the bus is there") from exc
            except RagCarError as exc:
                self.error = exc
                if first and not self.retry_first:
                    self.state.set_bus(state="disconnected", error=exc.message)
                    self._first_done.set()
                    return
                self._first_done.set()
                self.state.set_bus(state="reconnecting", error=exc.message)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            first = False
            self.error = None
            backoff = self.initial_backoff_s
            self.bus = bus
            watch = _BusWatch()
            notifier = can.Notifier(bus, [self.state, *self.listeners, watch], timeout=0.1)
            self.state.set_bus(state="connected", error=None, channel_info=str(getattr(bus, "channel_info", "")),
                               connected_at=time.time(), reconnects=self.reconnects)
            self._connected.set()
            self._first_done.set()
            finished = False
            while not self._stop.is_set():
                if watch.failed.wait(0.05):
                    break
                if getattr(bus, "finished", False):
                    finished = True
                    break
            for listener in [self.state, *self.listeners]:
                notifier.remove_listener(listener)  # Notifier.stop() would stop() them: they outlive a reconnect
            notifier.stop(timeout=1.0)
            shutdown_quietly(bus)
            self.bus = None
            self._connected.clear()
            if finished:
                self.ended.set()
                self.state.set_bus(state="ended", error=None)
                return
            if self._stop.is_set():
                break
            self.reconnects += 1
            reason = f"{type(watch.error).__name__}: {watch.error}" if watch.error else "bus closed"
            self.state.set_bus(state="reconnecting", error=f"bus went away ({reason})", reconnects=self.reconnects)
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        self.state.set_bus(state="closed")


def create_feed(spec: str | BusSpec, state: Any, **kwargs: Any) -> Any:
    """The feed for ``spec``, not started: a Feed for a CAN bus, an Elm327Feed (which polls OBD-II) for elm327:.
    Both have start(), stop(), connected, error, ended and reconnects."""
    spec = spec if isinstance(spec, BusSpec) else parse_bus_spec(spec)
    if spec.kind == "elm327":
        from rag_car.vehicle.elm327.feed import Elm327Feed

        kwargs.pop("bus_factory", None)
        return Elm327Feed(spec, state, **kwargs)
    return Feed(spec, state, **kwargs)


@contextlib.contextmanager
def open_feed(spec: str | BusSpec, state: Any, **kwargs: Any) -> Iterator[Any]:
    """Feed ``state`` (a LiveState) from the bus ``spec`` until the block ends (an elm327: adapter is polled).

    Raises BusError when the bus cannot be opened at first (unless ``retry_first=True``);
    afterwards a lost bus is reopened with exponential backoff (``initial_backoff_s`` to ``max_backoff_s``).
    """
    feed = create_feed(spec, state, **kwargs).start()
    try:
        yield feed
    finally:
        feed.stop()
