"""Bus spec string -> BusSpec: the one notation for a CAN bus in the CLI, settings and UI.

    virtual:CHANNEL                      python-can virtual bus, in this process
    remote:ws://HOST:PORT/               a virtual bus shared across processes (python-can-remote)
    socketcan:IFACE                      Linux SocketCAN (real hardware or vcan)
    udp:GROUP                            python-can udp_multicast (only inside a loopback-only namespace)
    replay:FILE[?speed=X|max][&loop=1]   a log file played back (candump .log, .asc, .blf, .trc, .csv)
    elm327:PORT[?baud=N][&protocol=P]    an ELM327 OBD-II adapter: a serial port (/dev/ttyUSB0, Bluetooth
                                         /dev/rfcomm0) or a Wi-Fi one (socket://192.168.0.10:35000); it is polled
                                         (OBD-II services 01/03/07/0A/09), not a CAN bus
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from rag_car.errors import BusError

BUS_KINDS = ("virtual", "remote", "socketcan", "udp", "replay", "elm327")
# the ?key=value options each kind accepts (remote: the query belongs to the URL)
BUS_OPTIONS = {
    "virtual": (),
    "remote": (),
    "socketcan": ("fd",),
    "udp": ("port", "fd", "hop_limit"),
    "replay": ("speed", "loop"),
    "elm327": ("baud", "protocol"),
}
# ELM327 protocol numbers (AT SP): 0 automatic, 1-9 and A-C one protocol (6: ISO 15765-4 CAN 11-bit 500 kbit/s)
ELM327_PROTOCOLS = ("auto", *"0123456789ABC")
_EXAMPLES = "virtual:rag-car, remote:ws://127.0.0.1:54701/, socketcan:can0, udp:239.74.163.2, replay:drive.log?speed=max, elm327:/dev/ttyUSB0"


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
    elif kind == "elm327":
        _check_elm327(text, channel, options)
    elif kind == "remote":
        if not rest.startswith(("ws://", "wss://")):
            raise BusError(f"bus spec {text!r}: a remote bus is a websocket URL", "use remote:ws://127.0.0.1:54701/")
    return BusSpec(kind=kind, channel=channel, options=options, text=raw)


def _check_elm327(text: str, channel: str, options: dict[str, str]) -> None:
    fix = "use elm327:/dev/ttyUSB0, elm327:/dev/rfcomm0 or elm327:socket://192.168.0.10:35000, with ?baud=38400&protocol=auto"
    if channel.lower().startswith(("socket://", "tcp://")):
        host, _, port = channel.split("://", 1)[1].rstrip("/").rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise BusError(f"bus spec {text!r}: a Wi-Fi adapter is socket://HOST:PORT", fix)
    elif "://" in channel:
        raise BusError(f"bus spec {text!r}: only socket:// URLs and serial ports are supported", fix)
    baud = options.get("baud")
    if baud is not None and (not baud.isdigit() or int(baud) <= 0):
        raise BusError(f"bus spec {text!r}: baud={baud!r} is not a positive whole number", "use e.g. ?baud=38400 (or 9600, 115200)")
    protocol = options.get("protocol")
    if protocol is not None and protocol.upper() not in {p.upper() for p in ELM327_PROTOCOLS}:
        raise BusError(f"bus spec {text!r}: protocol={protocol!r} is not an ELM327 protocol",
                       "use ?protocol=auto, or a number 1-9 / A-C as in AT SP (6 = CAN 11-bit 500 kbit/s)")


def replay_path(spec: BusSpec) -> Path:
    return Path(spec.channel).expanduser()
