"""ELM327 reply text -> lines, the adapter's status messages, and each ECU's reassembled answer (ObdResponse).

The adapter answers a command with lines ended by CR (CR LF with ATL1) and a ``>`` prompt. Between them:
an echo of the command (clones echo even after ATE0), informational lines (``SEARCHING...``,
``BUS INIT: ...OK``), status messages (``NO DATA``, ``CAN ERROR``, ``?``, ...) and data lines. Data lines come
in four shapes, told apart by their first bytes and the service the answer must carry (request + 0x40):

    7E8 06 41 00 BE 3E B8 11          CAN 11-bit with headers (ATH1): header, ISO-TP PCI, data
    18 DA F1 10 06 41 00 BE 3E B8 11  CAN 29-bit with headers: 18 DA F1 <ECU>, PCI, data
    48 6B 10 41 0C 1A F8 C5           J1850 / ISO 9141 / KWP with headers: 3 header bytes, data, checksum
    41 0C 1A F8                       headers off (one ECU; multi-frame as "014" then "0: ...", "1: ...")

Multi-frame ISO-TP answers (first frame 1L LL, consecutive frames 2N) are put back together per ECU.
Nothing here raises on bad bytes: unreadable lines are returned as garbage for the caller to report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag_car.vehicle.diagnostics.obd import FIRST_RESPONSE_ID, ObdResponse
from rag_car.vehicle.diagnostics.nrc import NEGATIVE_RESPONSE

PROMPT = ">"
# Response ID used for an answer that came without a header: ISO 15765-4 gives the engine ECU 0x7E8, and with
# headers off the adapter does not say which ECU answered.
UNKNOWN_ECU = FIRST_RESPONSE_ID
# The ELM327 data sheet's messages (section "Messages and error codes"): what each means, what to try.
# Keys are matched against the start of a line, after spaces are dropped.
STATUS_MESSAGES: dict[str, tuple[str, str]] = {
    "NODATA": ("no ECU answered the request", "the ECU does not support it, or the ignition is off"),
    "?": ("the adapter did not understand the command", "a clone adapter may lack it; nothing to do for an optional command"),
    "CANERROR": ("the adapter cannot talk on the CAN bus", "check that the ignition is on and the adapter sits firmly in the "
                 "OBD-II port; try ?protocol=6 (CAN 11/500) or another protocol"),
    "BUSINIT:": ("the adapter could not start a session with the ECU (BUS INIT ... ERROR)",
                 "switch the ignition on (engine running or position II) and try again; try another ?protocol="),
    "UNABLETOCONNECT": ("the adapter found no OBD-II protocol the vehicle answers",
                        "switch the ignition on; check the adapter is in the OBD-II port; set ?protocol= if you know it"),
    "BUSERROR": ("the adapter saw a bus error", "check the adapter sits firmly in the OBD-II port"),
    "BUSBUSY": ("the bus was too busy for the adapter to send", "try again; if it persists, set ?protocol= explicitly"),
    "FBERROR": ("the adapter's feedback check failed (a wiring problem)", "check the OBD-II port and the adapter"),
    "DATAERROR": ("the answer had a checksum or framing error", "try again; a loose adapter gives this"),
    "<DATAERROR": ("the answer had a checksum error", "try again"),
    "<RXERROR": ("the adapter received a damaged CAN frame", "try again; check the adapter sits firmly"),
    "BUFFERFULL": ("the adapter's buffer overflowed (the link is slower than the bus)",
                   "use a faster baud rate (?baud=115200) or a USB/Wi-Fi adapter"),
    "STOPPED": ("the adapter stopped the request because it received a character", "ask again"),
    "ACTALERT": ("the adapter went idle (no activity) and reset", "it is reconnected and set up again"),
    "LVRESET": ("the adapter reset itself on low voltage", "check the vehicle battery; the adapter is set up again"),
    "LPALERT": ("the adapter is about to enter low-power mode", "it is set up again"),
    "ERR": ("the adapter reported an internal error", "unplug and replug the adapter"),
}
INFO_LINES = ("SEARCHING", "BUSINIT:...OK", "BUSINIT:OK", "BUSINIT...OK")
_HEX = re.compile(r"^[0-9A-F]+$")
_MULTI_INDEX = re.compile(r"^([0-9A-F]):(.*)$")


@dataclass
class Reply:
    """One command's reply, sorted out. ``status``: the key of the first status message (STATUS_MESSAGES), if any."""

    command: str
    data: list[str] = field(default_factory=list)
    status: str | None = None
    status_line: str = ""
    garbage: list[str] = field(default_factory=list)
    info: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The reply's lines, for messages ("41 0C 1A F8 | NO DATA")."""
        return " | ".join(self.data + ([self.status_line] if self.status_line else []) + self.garbage) or "(empty)"


def _squash(text: str) -> str:
    return "".join(text.upper().split())


def split_reply(raw: str, command: str) -> Reply:
    """The text the adapter sent up to its prompt -> a Reply (echo, prompt, NULs and info lines dropped)."""
    reply = Reply(command)
    echo = _squash(command)
    for line in re.split(r"[\r\n]+", raw.replace("\x00", "").replace(PROMPT, "\r")):
        line = line.strip()
        if not line:
            continue
        squashed = _squash(line)
        if echo and squashed == echo:
            continue
        if squashed.startswith(echo) and echo and not _HEX.match(squashed):  # echo glued to an AT answer: "ATIELM327"
            squashed = squashed[len(echo):]
            line = line[len(command):].strip() if line.upper().startswith(command.upper()) else line
            if not squashed:
                continue
        if any(squashed.startswith(info) for info in INFO_LINES):
            reply.info.append(line)
            continue
        status = _status_key(squashed)
        if status is not None:
            if reply.status is None:
                reply.status, reply.status_line = status, line
            continue
        reply.data.append(line)
    return reply


def _status_key(squashed: str) -> str | None:
    if squashed == "?":
        return "?"
    for key in STATUS_MESSAGES:
        if key == "?":
            continue
        if squashed.startswith(key):
            if key == "BUSINIT:" and not squashed.endswith("ERROR"):
                return None
            if key == "ERR" and not re.match(r"^ERR\d+$", squashed):
                continue
            return key
    return None


def hex_bytes(text: str) -> bytes | None:
    """"41 0C 1A F8" or "410C1AF8" -> bytes; None when it is not whole hex bytes."""
    squashed = _squash(text)
    if not squashed or len(squashed) % 2 or not _HEX.match(squashed):
        return None
    return bytes.fromhex(squashed)


@dataclass
class _Transfer:
    """One ECU's answer being put back together from its frames."""

    length: int | None = None
    data: bytearray = field(default_factory=bytearray)
    next_index: int = 1
    error: str | None = None
    done: bool = False


def assemble(reply: Reply, service: int) -> tuple[list[ObdResponse], list[str]]:
    """Each ECU's answer to a request of ``service``, reassembled, and the lines that could not be read.

    An answer whose frames are cut off (a single frame shorter than its length byte, a multi-frame answer
    that stops early) comes back as an ObdResponse with ``error`` set, never as made-up data.
    """
    positive, negative = service + 0x40, NEGATIVE_RESPONSE
    transfers: dict[int, _Transfer] = {}
    order: list[int] = []
    garbage = list(reply.garbage)
    legacy: dict[int, list[bytes]] = {}
    headerless_multi: dict[int, bytes] = {}
    headerless_length: int | None = None
    length_line = ""

    def transfer(ecu: int) -> _Transfer:
        if ecu not in transfers:
            transfers[ecu] = _Transfer()
            order.append(ecu)
        return transfers[ecu]

    for line in reply.data:
        tokens = line.split()
        squashed = _squash(line)
        # CAN 11-bit with headers: "7E8 06 41 ..." (or "7E8064100..." with spaces off)
        header = tokens[0] if len(tokens) > 1 else squashed[:3] if len(squashed) % 2 == 1 else ""
        body_text = " ".join(tokens[1:]) if len(tokens) > 1 else squashed[3:]
        if len(header) == 3 and _HEX.match(header.upper()) and (body := hex_bytes(body_text)) is not None and body:
            _frame(transfer(int(header, 16)), body)
            continue
        multi = _MULTI_INDEX.match(squashed)
        if multi and (chunk := hex_bytes(multi.group(2))) is not None:
            headerless_multi[int(multi.group(1), 16)] = chunk
            continue
        if len(squashed) == 3 and _HEX.match(squashed) and headerless_length is None:
            headerless_length = int(squashed, 16)  # "014": a multi-frame answer of 0x14 bytes follows
            length_line = line
            continue
        data = hex_bytes(line)
        if data is None:
            garbage.append(line)
            continue
        if data[0] in (positive, negative):
            t = transfer(UNKNOWN_ECU)
            if not t.done:
                t.data, t.length, t.done = bytearray(data), len(data), True
            elif service == 0x09 and len(data) > 3 and data[1] == t.data[1]:
                t.data += data[3:]  # the next line of a legacy multi-line answer: 49 02 <line number> <4 bytes>
            else:
                garbage.append(f"{line} (a second ECU's answer; with headers off it cannot be told apart)")
            continue
        if len(data) >= 6 and data[0] == 0x18 and data[1] in (0xDA, 0xDB):
            _frame(transfer(0x18DAF100 | data[3]), data[4:])
            continue
        if len(data) >= 5 and data[3] in (positive, negative):
            legacy.setdefault(data[2], []).append(data[3:-1])  # drop the checksum byte
            continue
        garbage.append(line)

    if headerless_length is not None and not headerless_multi:
        garbage.append(length_line)  # "470": not a length line after all, since no "0: ..." lines came
    if headerless_multi:
        t = transfer(UNKNOWN_ECU)
        joined = bytearray()
        for index in sorted(headerless_multi):
            joined += headerless_multi[index]
        if headerless_length is not None and len(joined) >= headerless_length:
            t.data, t.length, t.done = joined[:headerless_length], headerless_length, True
        else:
            t.error = f"multi-frame answer cut off: {len(joined)} of {headerless_length or '?'} bytes"
    for source, parts in legacy.items():
        t = transfer(source)
        body = bytearray(parts[0])
        for part in parts[1:]:
            body += part[3:] if service == 0x09 else part[1:] if service == 0x01 else part  # 49 02 NN repeated per line
        t.data, t.length, t.done = body, len(body), True

    responses: list[ObdResponse] = []
    for ecu in order:
        t = transfers[ecu]
        if t.error is None and not t.done:
            t.error = f"multi-frame answer cut off: {len(t.data)} of {t.length} bytes"
        if t.error is not None:
            responses.append(ObdResponse(ecu, service, error=t.error))
            continue
        data = bytes(t.data)
        if not data:
            continue
        if data[0] == negative and len(data) >= 3 and data[1] == service:
            responses.append(ObdResponse(ecu, service, nrc=data[2]))
        elif data[0] == positive:
            responses.append(ObdResponse(ecu, service, data=data[1:]))
        else:
            garbage.append(f"{ecu:03X}: " + data.hex(" ").upper())
    return responses, garbage


def _frame(t: _Transfer, frame: bytes) -> None:
    """One ISO-TP frame (PCI first) of an ECU's answer."""
    if t.error is not None:
        return
    kind = frame[0] >> 4
    if kind == 0:
        length = frame[0] & 0x0F
        if length == 0 or len(frame) - 1 < length:
            t.error = f"single frame cut off: length byte says {length}, {len(frame) - 1} data bytes came"
            return
        if t.done and t.data:
            return  # a repeated answer (the ECU answered twice): keep the first
        t.data, t.length, t.done = bytearray(frame[1:1 + length]), length, True
    elif kind == 1 and len(frame) >= 2:
        t.length = ((frame[0] & 0x0F) << 8) | frame[1]
        t.data = bytearray(frame[2:])
        t.next_index = 1
        t.done = len(t.data) >= t.length
        if t.done:
            del t.data[t.length:]
    elif kind == 2 and t.length is not None:
        index = frame[0] & 0x0F
        if index != t.next_index % 16:
            t.error = f"consecutive frame {index} came where {t.next_index % 16} was due"
            return
        t.next_index += 1
        t.data += frame[1:]
        if len(t.data) >= t.length:
            del t.data[t.length:]
            t.done = True
    else:
        t.error = f"unexpected frame {frame.hex(' ').upper()}"
