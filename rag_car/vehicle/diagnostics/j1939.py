"""J1939 frames -> reassembled parameter groups -> DM1 (active DTCs: SPN, FMI, occurrence count, lamps).

A DM1 (PGN 65226, 0xFECA) with one DTC fits in one frame; with more it travels over the transport
protocol: a TP.CM announcement (BAM to everyone, or RTS/CTS to one node; PGN 0xEC00) then numbered TP.DT
packets of seven bytes (PGN 0xEB00). :class:`TransportReassembler` follows both passively, so a
listener never transmits. :func:`bam_frames` builds the frames for a sender (the tests, a simulated truck).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import can

DM1_PGN = 0xFECA
TP_CM_PGN = 0xEC00
TP_DT_PGN = 0xEB00
GLOBAL = 0xFF
TP_BAM, TP_RTS, TP_CTS, TP_EOM_ACK, TP_ABORT = 0x20, 0x10, 0x11, 0x13, 0xFF
TP_TIMEOUT_S = 0.75  # T1: the most time between two TP.DT packets before the transfer is dropped

# Failure mode identifiers (J1939-73), in our words.
FMI_TEXT = {
    0: "above normal range (most severe)", 1: "below normal range (most severe)", 2: "data erratic or intermittent",
    3: "voltage above normal or shorted high", 4: "voltage below normal or shorted low", 5: "current below normal or open circuit",
    6: "current above normal or grounded circuit", 7: "mechanical system not responding or out of adjustment",
    8: "abnormal frequency, pulse width or period", 9: "abnormal update rate", 10: "abnormal rate of change",
    11: "root cause not known", 12: "bad intelligent device or component", 13: "out of calibration",
    14: "special instructions", 15: "above normal range (least severe)", 16: "above normal range (moderately severe)",
    17: "below normal range (least severe)", 18: "below normal range (moderately severe)", 19: "received network data in error",
    20: "data drifted high", 21: "data drifted low", 31: "condition exists",
}
# A few suspect parameter numbers a technician meets often.
SPN_NAMES = {
    84: "Wheel-based vehicle speed", 91: "Accelerator pedal position", 94: "Fuel delivery pressure", 98: "Engine oil level",
    100: "Engine oil pressure", 102: "Intake manifold (boost) pressure", 105: "Intake manifold temperature",
    110: "Engine coolant temperature", 111: "Coolant level", 157: "Injector metering rail pressure", 158: "Keyswitch battery potential",
    168: "Battery potential (power input)", 175: "Engine oil temperature", 190: "Engine speed", 512: "Driver's demand engine torque",
    639: "J1939 network #1", 651: "Injector cylinder 1", 1569: "Engine protection torque derate", 3031: "DEF tank temperature",
    3216: "Aftertreatment intake NOx", 3226: "Aftertreatment outlet NOx", 3251: "DPF differential pressure",
    3364: "DEF quality", 4364: "SCR conversion efficiency", 5246: "SCR operator inducement severity",
}
LAMPS = (("mil", "Malfunction indicator lamp", 6), ("red_stop", "Red stop lamp", 4),
         ("amber_warning", "Amber warning lamp", 2), ("protect", "Protect lamp", 0))


def parse_id(arbitration_id: int) -> tuple[int, int, int, int]:
    """29-bit J1939 ID -> (priority, PGN, source address, destination address; 0xFF for broadcast PGNs)."""
    priority = (arbitration_id >> 26) & 0x7
    pgn = (arbitration_id >> 8) & 0x3FFFF
    pdu_format = (pgn >> 8) & 0xFF
    source = arbitration_id & 0xFF
    if pdu_format < 0xF0:  # PDU1: the low byte is a destination address, not part of the PGN
        destination = pgn & 0xFF
        pgn &= 0x3FF00
    else:
        destination = GLOBAL
    return priority, pgn, source, destination


def make_id(pgn: int, source: int, destination: int = GLOBAL, priority: int = 6) -> int:
    if ((pgn >> 8) & 0xFF) < 0xF0:
        pgn = (pgn & 0x3FF00) | destination
    return (priority << 26) | (pgn << 8) | source


@dataclass(frozen=True)
class J1939Dtc:
    spn: int
    fmi: int
    occurrences: int
    conversion_method: int = 0

    @property
    def code(self) -> str:
        return f"SPN {self.spn} FMI {self.fmi}"

    def describe(self) -> str:
        name = SPN_NAMES.get(self.spn, f"SPN {self.spn}")
        return f"{name}: {FMI_TEXT.get(self.fmi, f'failure mode {self.fmi}')}; occurred {self.occurrences} times"


@dataclass(frozen=True)
class Dm1:
    """One DM1 message: the source's lamps (key -> on/off/flashing; absent when 'not available') and active DTCs."""

    source: int
    lamps: dict[str, str]
    dtcs: tuple[J1939Dtc, ...]


def decode_dm1(data: bytes, source: int = 0) -> Dm1:
    """DM1 payload (2 lamp bytes + 4 bytes per DTC) -> Dm1. The "no DTC" record (SPN 0, FMI 0) and 0xFF padding are dropped.

    Raises ValueError when the payload is shorter than one lamp field and one DTC (6 bytes).
    """
    if len(data) < 6:
        raise ValueError(f"a DM1 has at least 6 bytes (lamps + one DTC), got {len(data)}")
    lamps: dict[str, str] = {}
    for key, _name, shift in LAMPS:
        status = (data[0] >> shift) & 0x3
        flash = (data[1] >> shift) & 0x3
        if status == 0:
            lamps[key] = "off"
        elif status == 1:
            lamps[key] = "flashing" if flash in (0, 1) else "on"
    dtcs: list[J1939Dtc] = []
    for i in range(2, len(data) - 3, 4):
        b2, b3, b4, b5 = data[i:i + 4]
        if (b2, b3, b4, b5) == (0xFF, 0xFF, 0xFF, 0xFF):
            continue
        method = b5 >> 7
        if method == 0:
            spn = b2 | (b3 << 8) | ((b4 >> 5) << 16)
        else:  # conversion method 1 (J1939-73 versions 1-3): SPN most significant bits first
            spn = (b2 << 11) | (b3 << 3) | (b4 >> 5)
        fmi = b4 & 0x1F
        occurrences = b5 & 0x7F
        if spn == 0 and fmi == 0:
            continue
        dtcs.append(J1939Dtc(spn, fmi, 0 if occurrences == 0x7F else occurrences, method))
    return Dm1(source, lamps, tuple(dtcs))


def encode_dm1(dtcs: list[J1939Dtc], lamps: dict[str, str] | None = None) -> bytes:
    """Dm1 fields -> payload (the sender's side). No DTC: one all-zero record, as J1939-73 asks."""
    status = 0
    flash = 0xFF
    for key, _name, shift in LAMPS:
        state = (lamps or {}).get(key, "off")
        status |= (0 if state == "off" else 1) << shift
        if state == "flashing":
            flash &= ~(0x3 << shift) & 0xFF  # 00: slow flash
    body = bytearray([status, flash])
    for dtc in dtcs or []:
        body += bytes([dtc.spn & 0xFF, (dtc.spn >> 8) & 0xFF, ((dtc.spn >> 16) & 0x7) << 5 | (dtc.fmi & 0x1F),
                       min(dtc.occurrences, 0x7E) & 0x7F])
    if not dtcs:
        body += bytes(4)
    if len(body) < 8:
        body += b"\xff" * (8 - len(body))
    return bytes(body)


def bam_frames(pgn: int, source: int, data: bytes, priority: int = 7) -> list[can.Message]:
    """A payload over 8 bytes -> TP.CM BAM + TP.DT frames (for one up to 8 bytes, the single frame)."""
    if len(data) <= 8:
        return [can.Message(arbitration_id=make_id(pgn, source, priority=6), data=data.ljust(8, b"\xff"), is_extended_id=True)]
    packets = (len(data) + 6) // 7
    announce = bytes([TP_BAM, len(data) & 0xFF, len(data) >> 8, packets, 0xFF, pgn & 0xFF, (pgn >> 8) & 0xFF, pgn >> 16])
    frames = [can.Message(arbitration_id=make_id(TP_CM_PGN, source, GLOBAL, priority), data=announce, is_extended_id=True)]
    for n in range(packets):
        chunk = data[n * 7:(n + 1) * 7].ljust(7, b"\xff")
        frames.append(can.Message(arbitration_id=make_id(TP_DT_PGN, source, GLOBAL, priority),
                                  data=bytes([n + 1]) + chunk, is_extended_id=True))
    return frames


@dataclass
class _Transfer:
    pgn: int
    size: int
    packets: int
    started: float
    last: float
    chunks: dict[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class ParameterGroup:
    """A complete J1939 message: single frame or reassembled."""

    pgn: int
    source: int
    destination: int
    data: bytes
    timestamp: float


class TransportReassembler:
    """Frames -> complete parameter groups: single frames as they are, TP sessions once every packet is in.

    Passive: it never answers an RTS with a CTS; it follows the conversation between two other nodes.
    Counters: ``completed``, ``dropped`` (timed out, aborted, or overwritten by a new announcement).
    """

    def __init__(self, timeout_s: float = TP_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._sessions: dict[tuple[int, int], _Transfer] = {}
        self.completed = 0
        self.dropped = 0

    def feed(self, msg: can.Message) -> Iterator[ParameterGroup]:
        if not msg.is_extended_id or msg.is_error_frame or msg.is_remote_frame:
            return
        _prio, pgn, source, destination = parse_id(msg.arbitration_id)
        data = bytes(msg.data)
        now = msg.timestamp
        key = (source, destination)
        if pgn == TP_CM_PGN and data:
            control = data[0]
            if control in (TP_BAM, TP_RTS) and len(data) >= 8:
                if key in self._sessions:
                    self.dropped += 1
                size = data[1] | (data[2] << 8)
                self._sessions[key] = _Transfer(pgn=data[5] | (data[6] << 8) | (data[7] << 16), size=size,
                                                packets=data[3], started=now, last=now)
            elif control == TP_ABORT and key in self._sessions:
                del self._sessions[key]
                self.dropped += 1
            elif control == TP_ABORT and (destination, source) in self._sessions:  # the receiver gave up
                del self._sessions[(destination, source)]
                self.dropped += 1
            return
        if pgn == TP_DT_PGN and data:
            session = self._sessions.get(key)
            if session is None:
                return
            if now - session.last > self.timeout_s:
                del self._sessions[key]
                self.dropped += 1
                return
            session.last = now
            sequence = data[0]
            if 1 <= sequence <= session.packets:
                session.chunks[sequence] = data[1:8]
            if len(session.chunks) == session.packets:
                del self._sessions[key]
                payload = b"".join(session.chunks[n] for n in range(1, session.packets + 1))[:session.size]
                self.completed += 1
                yield ParameterGroup(session.pgn, source, destination, payload, now)
            return
        yield ParameterGroup(pgn, source, destination, data, now)


class Dm1Listener:
    """Frames -> the latest DM1 of every source address (``latest``), through the transport protocol.

    ``on_dm1`` is called with each new Dm1. Malformed DM1s are counted in ``malformed``, never raised.
    """

    def __init__(self, on_dm1=None) -> None:
        self.reassembler = TransportReassembler()
        self.latest: dict[int, Dm1] = {}
        self.malformed = 0
        self.on_dm1 = on_dm1

    def feed(self, msg: can.Message) -> list[Dm1]:
        found: list[Dm1] = []
        for group in self.reassembler.feed(msg):
            if group.pgn != DM1_PGN:
                continue
            try:
                dm1 = decode_dm1(group.data, group.source)
            except ValueError:
                self.malformed += 1
                continue
            self.latest[group.source] = dm1
            found.append(dm1)
            if self.on_dm1 is not None:
                self.on_dm1(dm1)
        return found


VEHICLE_ID_PGN = 0xFEEC  # 65260, Vehicle Identification: the VIN in ASCII, ended by "*"


def decode_vehicle_identification(data: bytes) -> str:
    """PGN 65260 payload -> the VIN: the characters before the "*" delimiter.

    Some ECUs put more bytes before the delimiter; then only the leading run of VIN characters
    (digits and capitals other than I, O, Q), at most 17, is kept.
    """
    text = bytes(data).split(b"*", 1)[0].decode("latin-1")
    vin = ""
    for ch in text:
        if not (ch.isdigit() or ("A" <= ch <= "Z" and ch not in "IOQ")):
            break
        vin += ch
    return vin[:17] if len(text) > 17 else vin
