"""Bus spec + seconds -> a LiveState being fed in the background (signals, and DTCs, lamps and VIN when the
diagnostics session is available): what `ask --bus` and `chat --bus` answer with. Not a command module."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Listening:
    """A live state and the feed (and diagnostics session) keeping it current; ``close()`` stops them."""

    state: Any
    feed: Any
    session: Any = None

    def close(self) -> None:
        for part in (self.feed, self.session):
            stop = getattr(part, "stop", None) or getattr(part, "close", None)
            if callable(stop):
                try:
                    stop()
                except Exception:  # closing must never hide the answer
                    pass


def listen_to_bus(settings: Any, spec: str, seconds: float) -> Listening:
    """Start listening to ``spec`` and wait ``seconds`` so that the state holds current readings.
    Raises BusError when the bus cannot be opened (the CLI prints it)."""
    from rag_car.vehicle.feed import create_feed
    from rag_car.vehicle.live import live_state_from_settings

    from rag_car.vehicle.diagnostics.session import FeedSender, attach_passive

    state = live_state_from_settings(settings)
    # the DTC broadcast, the lamp signals, the VIN; OBD-II polling (which transmits) only when can.poll_obd is on
    session = attach_passive(settings, state)
    feed = create_feed(spec, state, listeners=list(session.listeners)).start()
    if getattr(settings.can, "poll_obd", False) and not feed.polls_obd:
        session.start_polling(FeedSender(feed))  # requests go out on the bus being listened to
    if feed.polls_obd:
        feed.wait_live(max(seconds, 10.0))  # an adapter needs a few round trips before it has readings
    elif seconds > 0:
        time.sleep(seconds)
    return Listening(state=state, feed=feed, session=session)
