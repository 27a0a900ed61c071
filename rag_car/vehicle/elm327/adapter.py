"""A byte link to an ELM327 -> an initialised adapter that answers OBD-II requests like the CAN scan tool does.

:class:`Elm327` is an :class:`ObdServices`: services 01/02/03/04/07/09/0A come from there, so an adapter and a
CAN bus decode alike. Here: the AT set-up (reset, echo and line feeds off, headers on, protocol, adaptive
timing), one command at a time up to the ``>`` prompt, and the adapter's status messages turned into errors
that say what to try. A clone that lacks optional AT commands (answers ``?``) is noted, not refused.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from rag_car.vehicle.diagnostics.obd import (
    SHOW_CURRENT_DATA, SUPPORT_PIDS, ObdError, ObdResponse, ObdServices, TransferError, parse_pid_records,
)
from rag_car.vehicle.elm327.link import BAUD_RATES, AdapterGone, Link, SerialLink, open_link
from rag_car.vehicle.spec import BusSpec
from rag_car.vehicle.elm327.protocol import PROMPT, STATUS_MESSAGES, Reply, assemble, split_reply

# Set-up after the reset: (command, required). Optional ones may be missing on clones (they answer "?").
SETUP = (("ATE0", False), ("ATL0", False), ("ATS1", False), ("ATH1", False), ("ATAT1", False))
# status messages after which the adapter must be set up again
_RESET_STATUSES = ("ACTALERT", "LVRESET", "LPALERT")
_STOPPED_RETRIES = 2


class AdapterError(ObdError):
    """The adapter answered with a status message instead of data (CAN ERROR, BUS INIT: ...ERROR, ?, ...)."""

    def __init__(self, message: str, fix: str | None = None, status: str = "") -> None:
        super().__init__(message, fix)
        self.status = status


class AdapterTimeout(ObdError):
    """The adapter gave no prompt within the time allowed (a slow or stalled adapter)."""


@dataclass
class AdapterInfo:
    """What the set-up learned about the adapter."""

    port: str
    version: str = ""
    protocol: str = ""
    voltage: float | None = None
    missing: list[str] = field(default_factory=list)  # AT commands the adapter answered "?"
    echo_despite_ate0: bool = False

    def to_json(self) -> dict:
        return {"port": self.port, "version": self.version, "protocol": self.protocol, "voltage": self.voltage,
                "missing_commands": list(self.missing), "echoes": self.echo_despite_ate0}


class Elm327(ObdServices):
    """An ELM327 (or clone) on ``link``. Call :meth:`initialise` first.

    ``timeout_s``: how long to wait for the prompt after an OBD-II request (the adapter itself gives up after
    its own AT ST time and says NO DATA; this is the guard against one that stalls). ``search_timeout_s``: the same
    for requests until the first answer, while the adapter searches the protocols ("SEARCHING...": seconds on a
    real car). ``protocol``: "auto" or an AT SP number. ``reset_timeout_s``: for ATZ (about a second on real adapters).
    """

    no_answer_fix = ("the vehicle's ECUs did not answer through the adapter: switch the ignition on; "
                     "if it is on, the ECU may not support this request")
    pids_per_request = 1  # until probe_multi_pid() finds that six at a time work
    dtc_count_byte = True  # most vehicles since 2008 speak CAN; describe_protocol() corrects it

    def __init__(self, link: Link, *, protocol: str = "auto", timeout_s: float = 2.0, reset_timeout_s: float = 5.0,
                 search_timeout_s: float = 10.0) -> None:
        self.link = link
        self.bus_name = f"ELM327 adapter {link.name}"
        self.protocol = "0" if protocol.lower() in ("auto", "0", "") else protocol.upper()
        self.timeout_s = timeout_s
        self.reset_timeout_s = reset_timeout_s
        self.search_timeout_s = search_timeout_s
        self._protocol_found = False
        self.info = AdapterInfo(port=link.name)
        self.requests_sent = 0
        self.garbage_lines = 0
        self.timeouts = 0
        self.consecutive_timeouts = 0
        self._seen_ecus: set[int] = set()
        self._echo_off_sent = False

    @property
    def ecus(self) -> list[int]:
        return sorted(self._seen_ecus)

    # --- commands ----------------------------------------------------------------------------------
    def command(self, text: str, timeout_s: float | None = None) -> Reply:
        """Send one command; return its reply up to the prompt. Raises AdapterTimeout, AdapterGone."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        self.link.discard_input()  # a late answer to an earlier, timed-out command must not be read as this one's
        self.link.write(text.encode("ascii") + b"\r")
        raw = bytearray()
        deadline = time.monotonic() + timeout
        while PROMPT.encode() not in raw:
            left = deadline - time.monotonic()
            if left <= 0:
                self.timeouts += 1
                self.consecutive_timeouts += 1
                got = bytes(raw).decode("ascii", errors="replace").strip()
                raise AdapterTimeout(
                    f"{self.bus_name} gave no prompt within {timeout:g} s after {text}"
                    + (f" (it sent {got[:60]!r})" if got else " (it sent nothing)"),
                    "a slow or stalled adapter: rag-car asks again; if it keeps happening, unplug and replug it")
            raw += self.link.read(min(left, 0.5))
        self.consecutive_timeouts = 0
        text_reply = bytes(raw[:raw.index(PROMPT.encode())]).decode("ascii", errors="replace")
        reply = split_reply(text_reply, text)
        if self._echo_off_sent and _has_echo(text_reply, text):
            self.info.echo_despite_ate0 = True
        if text.upper() == "ATE0":
            self._echo_off_sent = True
        return reply

    def initialise(self) -> AdapterInfo:
        """Reset and set up the adapter; return what it said about itself. Raises AdapterGone, AdapterError."""
        banner = ""
        try:
            reply = self.command("ATZ", self.reset_timeout_s)
            banner = " ".join(reply.data)
        except AdapterTimeout:
            # some clones do not prompt after ATZ; a plain version query still may
            try:
                banner = " ".join(self.command("ATI", self.reset_timeout_s).data)
            except AdapterTimeout as exc:
                raise AdapterError(
                    f"{self.bus_name} answers nothing to ATZ or ATI: it is not an ELM327, or the baud rate is wrong",
                    "set the adapter's baud rate in the spec (?baud=38400, 9600 or 115200), or check it is an ELM327") from exc
        version = re.search(r"ELM327\s*v?([\w.]+)", banner, re.IGNORECASE)
        self.info.version = f"ELM327 v{version.group(1)}" if version else (banner or "unknown")
        for command, required in SETUP:
            self._setup(command, required)
        self._setup(f"ATSP{self.protocol}", True)
        try:
            volts = " ".join(self.command("ATRV", 1.0).data)
            match = re.search(r"(\d+(?:\.\d+)?)\s*V", volts, re.IGNORECASE)
            self.info.voltage = float(match.group(1)) if match else None
        except (AdapterTimeout, AdapterError):
            pass
        return self.info

    def _setup(self, command: str, required: bool) -> None:
        reply = self.command(command, 1.0 if not required else self.timeout_s)
        if reply.status == "?":
            self.info.missing.append(command)
            if required:
                raise AdapterError(f"{self.bus_name} does not know {command}",
                                   "this adapter is not ELM327-compatible enough; try another adapter or ?protocol=auto",
                                   status="?")

    def describe_protocol(self) -> str:
        """The protocol the adapter settled on (AT DP), e.g. "ISO 15765-4 (CAN 11/500)"; "" when it will not say."""
        try:
            reply = self.command("ATDP", 1.0)
        except AdapterTimeout:
            return ""
        text = " ".join(reply.data).strip()
        if text.upper() == "OK":  # an emulator that answers every AT command with OK
            text = ""
        self.info.protocol = text
        # ISO 15765-4 (CAN) answers to 03/07/0A carry a count byte first; J1850, ISO 9141 and KWP 2000 do not
        self.dtc_count_byte = not any(name in text.upper() for name in ("J1850", "9141", "14230", "KWP"))
        return text

    # --- OBD-II requests ---------------------------------------------------------------------------
    def request(self, payload: bytes, timeout_s: float | None = None, ecu: int | None = None) -> list[ObdResponse]:
        """Send one OBD-II request; every ECU's answer. An empty list when no ECU answered (NO DATA).

        Raises AdapterError for the adapter's status messages (CAN ERROR, ...), TransferError when it sent only
        unreadable bytes, AdapterTimeout when it stalled twice, AdapterGone when the link went away.
        """
        service = payload[0]
        text = payload.hex().upper()
        if ecu is not None:
            self.command(f"ATSH{ecu - 8:03X}" if ecu <= 0x7FF else "ATSH7DF", 1.0)
        if timeout_s is None and not self._protocol_found:
            timeout_s = max(self.timeout_s, self.search_timeout_s)
        try:
            reply = self._ask(text, timeout_s)
        finally:
            if ecu is not None:
                self.command("ATSH7DF", 1.0)
        self.requests_sent += 1
        if reply.status is not None and not reply.data:
            if reply.status == "NODATA":
                return []
            meaning, fix = STATUS_MESSAGES[reply.status]
            raise AdapterError(f"{self.bus_name} answered {text} with {reply.status_line!r}: {meaning}", fix, status=reply.status)
        responses, garbage = assemble(reply, service)
        self._protocol_found = self._protocol_found or bool(responses)
        self.garbage_lines += len(garbage)
        self._seen_ecus.update(r.ecu for r in responses)
        if not responses and garbage:
            raise TransferError(f"{self.bus_name} answered {text} with bytes that are not an OBD-II answer: "
                                f"{' | '.join(garbage)[:120]!r}",
                                "a noisy link or a faulty clone: rag-car asks again; if it persists, replug the adapter")
        return responses

    def _ask(self, text: str, timeout_s: float | None) -> Reply:
        """One request with the retries an ELM327 needs: after STOPPED, and once after a stall."""
        stalled = False
        for _attempt in range(_STOPPED_RETRIES + 2):
            try:
                reply = self.command(text, timeout_s)
            except AdapterTimeout:
                if stalled:
                    raise
                stalled = True
                continue
            if reply.status == "STOPPED" and not reply.data:
                continue
            if reply.status in _RESET_STATUSES:
                meaning, fix = STATUS_MESSAGES[reply.status]
                raise AdapterGone(f"{self.bus_name}: {meaning}", fix)
            return reply
        raise AdapterError(f"{self.bus_name} kept stopping the request {text}", "unplug and replug the adapter", status="STOPPED")

    def probe_multi_pid(self, pids: list[int]) -> bool:
        """True when the adapter and ECU answer several service 01 PIDs in one request (J1979 allows six);
        then :meth:`read_pids` asks for six at a time instead of one."""
        pair = [p for p in pids if p not in SUPPORT_PIDS][:2]
        if len(pair) < 2:
            return False
        try:
            responses = self.request(bytes([SHOW_CURRENT_DATA, *pair]))
        except ObdError:
            return False
        got = {pid for r in responses if r.positive for pid, _raw in parse_pid_records(r.data)}
        self.pids_per_request = 6 if set(pair) <= got else 1
        return self.pids_per_request > 1

    def close(self) -> None:
        self.link.close()


def find_baud(link: SerialLink, rates: tuple[int, ...] = BAUD_RATES, wait_s: float = 0.6) -> int | None:
    """The baud rate at which the adapter on ``link`` answers ATI (its version, no side effect) with its prompt;
    None when none does. The link is left at that rate."""
    for baud in rates:
        link.set_baud(baud)
        link.discard_input()
        link.write(b"ATI\r")
        got = bytearray()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and PROMPT.encode() not in got:
            got += link.read(min(0.1, max(0.001, deadline - time.monotonic())))
        if PROMPT.encode() in got and all(b < 0x80 for b in got):
            return baud
    return None


def open_adapter(spec: BusSpec, *, timeout_s: float = 2.0, search_timeout_s: float = 10.0,
                 link: Link | None = None) -> Elm327:
    """An initialised adapter for an elm327: spec (``link``: an already open one). A serial port without ?baud= is
    tried at the usual rates first. Raises BusError (AdapterError, AdapterGone) saying what to try."""
    baud = spec.options.get("baud")
    link = link or open_link(spec, int(baud) if baud else None)
    try:
        if isinstance(link, SerialLink) and not baud:
            found = find_baud(link)
            if found is None:
                raise AdapterError(f"the device on {link.name} answers at none of {', '.join(map(str, BAUD_RATES))} baud",
                                   "check it is an ELM327 adapter and that it is powered (the car's OBD-II port); "
                                   "give its rate if you know it (?baud=N)")
        adapter = Elm327(link, protocol=spec.options.get("protocol", "auto"), timeout_s=timeout_s,
                         search_timeout_s=search_timeout_s)
        adapter.initialise()
    except BaseException:
        link.close()
        raise
    return adapter


def _has_echo(raw: str, command: str) -> bool:
    first = raw.replace("\x00", "").strip().split("\r", 1)[0].strip()
    return "".join(first.upper().split()) == "".join(command.upper().split())
