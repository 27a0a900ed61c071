"""Bus spec string -> BusSpec: the one notation for a CAN bus in the CLI, settings and UI.

    virtual:CHANNEL                      python-can virtual bus, in this process
    remote:ws://HOST:PORT/               a virtual bus shared across processes (python-can-remote)
    socketcan:IFACE                      Linux SocketCAN (real hardware or vcan)
    udp:GROUP                            python-can udp_multicast (only inside a loopback-only namespace)
    replay:FILE[?speed=X|max][&loop=1]   a log file played back (candump .log, .asc, .blf, .trc, .csv)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from rag_car.errors import BusError

BUS_KINDS = ("virtual", "remote", "socketcan", "udp", "replay")
# the ?key=value options each kind accepts (remote: the query belongs to the URL)
BUS_OPTIONS = {
    "virtual": (),
    "remote": (),
    "socketcan": ("fd",),
    "udp": ("port", "fd", "hop_limit"),
    "replay": ("speed", "loop"),
}
_EXAMPLES = "virtual:rag-car, remote:ws://127.0.0.1:54701/, socketcan:can0, udp:239.74.163.2, replay:drive.log?speed=max"


@dataclass(frozen=True)
class BusSpec:
    kind: str
    channel: str
    options: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def speed(self) -> float | None:
        """Replay speed factor; None means as fast as possible."""
        raw = self.options.get("speed", "1")
        if raw == "max":
            return None
        return float(raw)

    @property
    def loop(self) -> bool:
        return self.options.get("loop", "0").lower() in ("1", "true", "yes")

    def flag(self, name: str) -> bool:
        """A yes/no option (fd=1)."""
        return self.options.get(name, "0").lower() in ("1", "true", "yes")

    @property
    def host_port(self) -> tuple[str, int]:
        """(host, port) of a remote: spec."""
        parts = urlsplit(self.channel)
        return parts.hostname or "127.0.0.1", parts.port or 54701

    def __str__(self) -> str:
        return self.text or f"{self.kind}:{self.channel}"


def parse_bus_spec(text: str) -> BusSpec:
    """Parse a bus spec; raises BusError naming the valid kinds when it is not one."""
    raw = (text or "").strip()
    kind, sep, rest = raw.partition(":")
    kind = kind.lower()
    if not sep or kind not in BUS_KINDS or not rest:
        close = get_close_matches(kind, BUS_KINDS, n=1)
        hint = f" (did you mean {close[0]}:?)" if close and kind not in BUS_KINDS else ""
        raise BusError(
            f"bus spec {text!r} is not valid{hint}",
            f"use one of the kinds {', '.join(BUS_KINDS)}, for example {_EXAMPLES}",
        )
    options: dict[str, str] = {}
    channel = rest
    if kind != "remote" and "?" in rest:
        channel, _, query = rest.partition("?")
        options = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        unknown = sorted(set(options) - set(BUS_OPTIONS[kind]))
        if unknown:
            valid = ", ".join(BUS_OPTIONS[kind]) or "none"
            raise BusError(f"bus spec {text!r}: unknown option {unknown[0]!r} for a {kind} bus", f"valid options: {valid}")
        if not channel:
            raise BusError(f"bus spec {text!r} has no channel", f"for example {_EXAMPLES}")
    if kind == "replay":
        speed = options.get("speed", "1")
        if speed != "max":
            try:
                if float(speed) <= 0:
                    raise ValueError
            except ValueError:
                raise BusError(f"bus spec {text!r}: speed={speed!r} is not a positive number or 'max'", "use e.g. ?speed=2 or ?speed=max") from None
    elif kind == "remote":
        if not rest.startswith(("ws://", "wss://")):
            raise BusError(f"bus spec {text!r}: a remote bus is a websocket URL", "use remote:ws://127.0.0.1:54701/")
    return BusSpec(kind=kind, channel=channel, options=options, text=raw)


def replay_path(spec: BusSpec) -> Path:
    return Path(spec.channel).expanduser()
