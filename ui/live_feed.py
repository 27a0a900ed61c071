"""Settings -> the UI server's one live feed: a LiveState kept current from the configured bus, and its status.

The feeding itself is rag_car.vehicle.feed.Feed (a python-can Notifier that reconnects with backoff);
the diagnostics session (DTC broadcast, lamps, VIN), when installed, listens to the same frames. This
module adds what the live page shows about the connection. Nothing here raises once started: a bus
that cannot be opened or drops is reported by :meth:`LiveFeed.status` and retried in the background.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag_car.errors import RagCarError

MAX_BACKOFF_S = 2.0  # the live page promises a retry "every few seconds"


@dataclass(frozen=True)
class FeedStatus:
    """What the live page shows about the connection."""

    spec: str
    state: str  # "connecting", "connected", "reconnecting", "disconnected", "ended", "closed", "unreachable"
    frames: int
    last_frame_age_s: float | None
    error: str = ""
    fix: str = ""
    reconnects: int = 0
    progress: str = ""  # an OBD-II adapter coming up: "initialising adapter", "reading trouble codes", ..., "live"
    progress_step: int = 0  # which step, of progress_steps before "live"
    progress_steps: int = 0

    @property
    def receiving(self) -> bool:
        if self.progress:  # an OBD-II adapter: no frames, it is polled; receiving once its readings come in
            return self.state == "connected" and self.progress == "live"
        return self.state == "connected" and self.last_frame_age_s is not None and self.last_frame_age_s < 5.0

    @property
    def reachable(self) -> bool:
        return self.state in ("connected", "ended")


class LiveFeed:
    """A LiveState fed from ``spec``; ``session`` is the diagnostics session or None."""

    def __init__(self, spec: str, live: Any, session: Any = None, **feed_options: Any) -> None:
        from rag_car.vehicle.feed import create_feed

        self.spec = spec
        self.live = live
        self.session = session
        listeners = list(getattr(session, "listeners", []) or [])
        options = {"retry_first": True, "max_backoff_s": MAX_BACKOFF_S, **feed_options}
        self.feed = create_feed(spec, live, listeners=listeners, **options)

    def start(self, timeout_s: float = 2.0) -> "LiveFeed":
        self.feed.start(timeout_s=timeout_s)
        return self

    def stop(self) -> None:
        for part in (self.session, self.feed):
            stop = getattr(part, "stop", None) or getattr(part, "close", None)
            if callable(stop):
                try:
                    stop()
                except Exception:  # stopping must not fail the page that clears the cache
                    pass

    def snapshot(self, now: float | None = None) -> Any:
        return self.live.snapshot(now=now)

    def status(self, snapshot: Any = None) -> FeedStatus:
        bus = dict(getattr(snapshot if snapshot is not None else self.live.snapshot(), "bus", {}) or {})
        error: RagCarError | None = self.feed.error
        state = str(bus.get("state") or "connecting")
        if error is not None and not self.feed.connected:
            state = "unreachable"
        return FeedStatus(
            spec=str(bus.get("spec") or self.spec), state=state, frames=int(bus.get("frames") or 0),
            last_frame_age_s=bus.get("last_frame_age_s"),
            error=(error.message if error is not None else str(bus.get("error") or "")),
            fix=(error.fix or "") if error is not None else str(bus.get("fix") or ""), reconnects=int(bus.get("reconnects") or 0),
            progress=str(bus.get("progress") or ""), progress_step=int(bus.get("progress_step") or 0),
            progress_steps=int(bus.get("progress_steps") or 0))


def start_live_feed(settings: Any) -> LiveFeed:
    """The LiveState of ``settings`` (its DBC, the documents' normal ranges), fed from settings.can.bus.

    Raises DbcError when the DBC cannot be loaded and BusError for a bus spec that does not parse;
    a bus that is merely unreachable is retried, not raised.
    """
    from rag_car.vehicle.live import live_state_from_settings

    live = live_state_from_settings(settings)
    session = None
    try:
        from rag_car.vehicle.diagnostics.session import attach_passive  # type: ignore[attr-defined]

        session = attach_passive(settings, live)
    except ImportError:
        session = None
    feed = LiveFeed(settings.can.bus, live, session=session).start()
    if session is not None and getattr(settings.can, "poll_obd", False) and not feed.feed.polls_obd:
        from rag_car.vehicle.diagnostics.session import FeedSender  # type: ignore[attr-defined]

        session.start_polling(FeedSender(feed.feed))  # OBD-II requests go out on the feed's bus
    return feed
