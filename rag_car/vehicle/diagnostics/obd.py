"""OBD-II (SAE J1979 over ISO 15765-4): request payloads -> ECU answers -> physical values, DTCs, the VIN.

Both sides use the tables here: the scan-tool client (:class:`ObdClient`) decodes, the simulated ECU
(``diagnostics.ecu``) encodes. Requests go out functionally on 0x7DF; ECU n answers on 0x7E8+n and takes
flow control on 0x7E0+n, so each answering ECU gets its own ISO-TP channel.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import can

from rag_car.errors import BusError
from rag_car.vehicle.diagnostics.dtc import decode_dtc_bytes
from rag_car.vehicle.diagnostics.isotp_link import IsoTpChannel
from rag_car.vehicle.diagnostics.nrc import NEGATIVE_RESPONSE, RESPONSE_PENDING, nrc_name

FUNCTIONAL_ID = 0x7DF
FIRST_REQUEST_ID = 0x7E0
FIRST_RESPONSE_ID = 0x7E8
RESPONSE_IDS = range(FIRST_RESPONSE_ID, FIRST_RESPONSE_ID + 8)

SHOW_CURRENT_DATA = 0x01
FREEZE_FRAME = 0x02
STORED_DTCS = 0x03
CLEAR_DTCS = 0x04
PENDING_DTCS = 0x07
VEHICLE_INFO = 0x09
PERMANENT_DTCS = 0x0A
DTC_SERVICES = {STORED_DTCS: "obd-03", PENDING_DTCS: "obd-07", PERMANENT_DTCS: "obd-0a"}
DTC_KIND = {STORED_DTCS: "stored", PENDING_DTCS: "pending", PERMANENT_DTCS: "permanent"}
VIN_PID = 0x02
ECU_NAME_PID = 0x0A


class ObdError(BusError):
    """An OBD-II request failed: no ECU answered, an ECU refused it, or its answer was cut off."""


class NoResponseError(ObdError):
    """No ECU answered within the timeout (ignition off, not an OBD-II bus, or no ECU supports the request)."""


class NegativeResponseError(ObdError):
    """Every ECU that answered refused the request with a negative response code (NRC)."""

    def __init__(self, message: str, fix: str | None = None, nrc: int = 0) -> None:
        super().__init__(message, fix)
        self.nrc = nrc


class TransferError(ObdError):
    """An answer was cut off on the transport layer (a truncated ISO-TP transfer)."""


# --- service 01 PIDs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pid:
    """One service 01 parameter (SAE J1979): its number, its size in bytes, and its linear formula.

    The physical value is ``raw * scale + offset``, where ``raw`` is the unsigned big-endian number in the
    first ``raw_size`` bytes (every byte unless said; the oxygen sensor PIDs carry a second quantity, the
    trim, in byte B). ``key`` is our own name for the quantity, stable across the code.
    """

    pid: int
    key: str
    name: str
    unit: str
    size: int
    scale: float = 1.0
    offset: float = 0.0
    raw_size: int = 0

    @property
    def _raw_bytes(self) -> int:
        return self.raw_size or self.size

    @property
    def minimum(self) -> float:
        return self.offset

    @property
    def maximum(self) -> float:
        return ((1 << (8 * self._raw_bytes)) - 1) * self.scale + self.offset

    def decode(self, data: bytes) -> float:
        """The value bytes (after the PID byte) -> the physical value; ValueError when there are too few."""
        if len(data) < self._raw_bytes:
            raise ValueError(f"PID {self.pid:02X} needs {self._raw_bytes} byte(s), got {len(data)}")
        return int.from_bytes(data[:self._raw_bytes], "big") * self.scale + self.offset

    def encode(self, value: float) -> bytes:
        """A physical value -> the PID's bytes, clamped to its range (trailing bytes of a two-quantity PID: FF)."""
        top = (1 << (8 * self._raw_bytes)) - 1
        raw = max(0, min(top, round((value - self.offset) / self.scale)))
        return raw.to_bytes(self._raw_bytes, "big") + b"\xff" * (self.size - self._raw_bytes)


_PERCENT = 100 / 255
_TRIM = 100 / 128


def _table() -> list[Pid]:
    """The service 01 PIDs we decode, with SAE J1979's formulas (facts of the standard, written out here)."""
    pids = [
        Pid(0x04, "engine_load", "Calculated engine load", "%", 1, _PERCENT),
        Pid(0x05, "coolant_temp", "Engine coolant temperature", "degC", 1, 1, -40),
        Pid(0x06, "stft_b1", "Short term fuel trim, bank 1", "%", 1, _TRIM, -100),
        Pid(0x07, "ltft_b1", "Long term fuel trim, bank 1", "%", 1, _TRIM, -100),
        Pid(0x08, "stft_b2", "Short term fuel trim, bank 2", "%", 1, _TRIM, -100),
        Pid(0x09, "ltft_b2", "Long term fuel trim, bank 2", "%", 1, _TRIM, -100),
        Pid(0x0A, "fuel_pressure", "Fuel pressure (gauge)", "kPa", 1, 3),
        Pid(0x0B, "map", "Intake manifold absolute pressure", "kPa", 1),
        Pid(0x0C, "engine_speed", "Engine speed", "rpm", 2, 0.25),
        Pid(0x0D, "vehicle_speed", "Vehicle speed", "km/h", 1),
        Pid(0x0E, "timing_advance", "Timing advance before TDC, cylinder 1", "deg", 1, 0.5, -64),
        Pid(0x0F, "intake_temp", "Intake air temperature", "degC", 1, 1, -40),
        Pid(0x10, "maf", "Mass air flow rate", "g/s", 2, 0.01),
        Pid(0x11, "throttle", "Throttle position", "%", 1, _PERCENT),
        Pid(0x1F, "run_time", "Run time since engine start", "s", 2),
        Pid(0x21, "distance_mil_on", "Distance travelled with the MIL on", "km", 2),
        Pid(0x22, "fuel_rail_pressure_rel", "Fuel rail pressure (relative to manifold vacuum)", "kPa", 2, 0.079),
        Pid(0x23, "fuel_rail_pressure", "Fuel rail gauge pressure", "kPa", 2, 10),
        Pid(0x2C, "commanded_egr", "Commanded EGR", "%", 1, _PERCENT),
        Pid(0x2D, "egr_error", "EGR error", "%", 1, _TRIM, -100),
        Pid(0x2E, "evap_purge", "Commanded evaporative purge", "%", 1, _PERCENT),
        Pid(0x2F, "fuel_level", "Fuel tank level input", "%", 1, _PERCENT),
        Pid(0x30, "warmups_since_clear", "Warm-ups since codes cleared", "", 1),
        Pid(0x31, "distance_since_clear", "Distance travelled since codes cleared", "km", 2),
        Pid(0x33, "baro", "Absolute barometric pressure", "kPa", 1),
        Pid(0x3C, "catalyst_temp_b1s1", "Catalyst temperature, bank 1 sensor 1", "degC", 2, 0.1, -40),
        Pid(0x3D, "catalyst_temp_b2s1", "Catalyst temperature, bank 2 sensor 1", "degC", 2, 0.1, -40),
        Pid(0x3E, "catalyst_temp_b1s2", "Catalyst temperature, bank 1 sensor 2", "degC", 2, 0.1, -40),
        Pid(0x3F, "catalyst_temp_b2s2", "Catalyst temperature, bank 2 sensor 2", "degC", 2, 0.1, -40),
        Pid(0x42, "module_voltage", "Control module voltage", "V", 2, 0.001),
        Pid(0x43, "absolute_load", "Absolute load value", "%", 2, _PERCENT),
        Pid(0x44, "commanded_lambda", "Commanded air-fuel equivalence ratio", "", 2, 2 / 65536),
        Pid(0x45, "relative_throttle", "Relative throttle position", "%", 1, _PERCENT),
        Pid(0x46, "ambient_temp", "Ambient air temperature", "degC", 1, 1, -40),
        Pid(0x47, "throttle_b", "Absolute throttle position B", "%", 1, _PERCENT),
        Pid(0x48, "throttle_c", "Absolute throttle position C", "%", 1, _PERCENT),
        Pid(0x49, "pedal_d", "Accelerator pedal position D", "%", 1, _PERCENT),
        Pid(0x4A, "pedal_e", "Accelerator pedal position E", "%", 1, _PERCENT),
        Pid(0x4B, "pedal_f", "Accelerator pedal position F", "%", 1, _PERCENT),
        Pid(0x4C, "commanded_throttle", "Commanded throttle actuator", "%", 1, _PERCENT),
        Pid(0x4D, "time_mil_on", "Time run with the MIL on", "min", 2),
        Pid(0x4E, "time_since_clear", "Time since trouble codes cleared", "min", 2),
        Pid(0x52, "ethanol_percent", "Ethanol fuel percentage", "%", 1, _PERCENT),
        Pid(0x5A, "relative_pedal", "Relative accelerator pedal position", "%", 1, _PERCENT),
        Pid(0x5B, "hybrid_battery", "Hybrid battery pack remaining life", "%", 1, _PERCENT),
        Pid(0x5C, "oil_temp", "Engine oil temperature", "degC", 1, 1, -40),
        Pid(0x5E, "fuel_rate", "Engine fuel rate", "L/h", 2, 0.05),
    ]
    # oxygen sensors 1-8 (PIDs 14-1B): A is the voltage (0.005 V per bit), B the short term trim
    pids += [Pid(0x14 + n, f"o2_b{n // 4 + 1}s{n % 4 + 1}_voltage", f"Oxygen sensor {n % 4 + 1}, bank {n // 4 + 1}, voltage",
                 "V", 2, 0.005, raw_size=1) for n in range(8)]
    return sorted(pids, key=lambda p: p.pid)


PIDS: dict[int, Pid] = {p.pid: p for p in _table()}
PIDS_BY_KEY: dict[str, Pid] = {p.key: p for p in PIDS.values()}
# sizes of the PIDs we do not decode (bit fields, multi-value records), so that a multi-PID answer parses past them
_OTHER_SIZES = {0x02: 2, 0x03: 2, 0x12: 1, 0x13: 1, 0x1C: 1, 0x1D: 1, 0x1E: 1, **{p: 4 for p in range(0x24, 0x2C)},
                0x32: 2, **{p: 4 for p in range(0x34, 0x3C)}, 0x41: 4, 0x4F: 4, 0x50: 4, 0x51: 1, 0x53: 2, 0x54: 2,
                0x55: 2, 0x56: 2, 0x57: 2, 0x58: 2, 0x59: 2, 0x5D: 2, 0x5F: 1}
MONITOR_STATUS = 0x01  # A: bit 7 MIL on, bits 0-6 number of confirmed emission DTCs; B-D: readiness
SUPPORT_PIDS = (0x00, 0x20, 0x40, 0x60, 0x80, 0xA0, 0xC0)
PID_SIZES = {**_OTHER_SIZES, **{p.pid: p.size for p in PIDS.values()}, MONITOR_STATUS: 4, **{s: 4 for s in SUPPORT_PIDS}}
# The PIDs a poll asks for by default: what the issue lists, and what a technician looks at first.
DEFAULT_POLL_PIDS = (0x01, 0x0C, 0x05, 0x0D, 0x06, 0x07, 0x42, 0x04, 0x2F)


@dataclass(frozen=True)
class PidValue:
    """One decoded service 01 value from one ECU."""

    pid: int
    key: str
    name: str
    value: float
    unit: str
    ecu: int


@dataclass(frozen=True)
class MonitorStatus:
    """PID 01: the MIL and how many confirmed emission-related DTCs the ECU holds."""

    mil_on: bool
    dtc_count: int
    ecu: int


def decode_monitor_status(data: bytes, ecu: int = 0) -> MonitorStatus:
    return MonitorStatus(mil_on=bool(data[0] & 0x80), dtc_count=data[0] & 0x7F, ecu=ecu)


def encode_monitor_status(mil_on: bool, dtc_count: int) -> bytes:
    # B: spark ignition, misfire/fuel/components monitors supported and complete; C: catalyst, evap,
    # O2 sensor and O2 heater supported; D: all of them complete.
    return bytes([(0x80 if mil_on else 0) | min(dtc_count, 0x7F), 0x07, 0x65, 0x00])


def encode_support(pids: Iterable[int], base: int) -> bytes:
    """The 4-byte bitmap of PID ``base`` (0x00, 0x20, ...): bit 31 is PID base+1, bit 0 is base+32."""
    bits = 0
    for pid in pids:
        if base < pid <= base + 32:
            bits |= 1 << (32 - (pid - base))
    return bits.to_bytes(4, "big")


def decode_support(data: bytes, base: int) -> set[int]:
    bits = int.from_bytes(data[:4], "big")
    return {base + i for i in range(1, 33) if bits & (1 << (32 - i))}


def parse_pid_records(data: bytes) -> list[tuple[int, bytes]]:
    """The body of a ``41 ...`` answer (after the service byte) -> [(pid, value bytes)].

    One answer may carry several PIDs (a request may ask for up to six); parsing stops at the first
    PID whose size is unknown, since nothing after it can be placed.
    """
    records: list[tuple[int, bytes]] = []
    i = 0
    while i < len(data):
        pid = data[i]
        size = PID_SIZES.get(pid)
        if size is None or i + 1 + size > len(data):
            break
        records.append((pid, bytes(data[i + 1:i + 1 + size])))
        i += 1 + size
    return records


def parse_dtc_answer(data: bytes, counted: bool | None = None) -> list[str]:
    """The body of a ``43/47/4A`` answer (after the service byte) -> ["P0303", ...].

    On CAN the first byte is the number of DTCs (``counted=True``): an answer exactly one byte short of what its count
    announces is cut off (ValueError); one of another even length has no count byte (some ECUs and emulators leave it
    out) and is read as pairs. Older protocols never have a count and pad with 0x0000 pairs. ``counted=None`` guesses:
    without a count that matches the length the bytes are read as pairs, and 0x0000 padding pairs are dropped.
    """
    if counted and data and len(data) % 2 == 0 and len(data) == 2 * data[0]:
        raise ValueError(f"the answer announces {data[0]} DTC(s) but carries {data[0] - 1} whole one(s) and half of another")
    if counted and data and len(data) >= 1 + 2 * data[0] and len(data) % 2 == 1:
        pairs = data[1:1 + 2 * data[0]]
    elif data and len(data) == 1 + 2 * data[0]:
        pairs = data[1:]
    else:
        pairs = data if len(data) % 2 == 0 else data[1:]
    codes: list[str] = []
    for i in range(0, len(pairs) - 1, 2):
        if pairs[i] == 0 and pairs[i + 1] == 0:
            continue
        codes.append(decode_dtc_bytes(pairs[i], pairs[i + 1]))
    return codes


def parse_vin_answer(data: bytes) -> str:
    """The body of a ``49 02`` answer (after service and PID) -> the 17-character VIN.

    ISO 15765-4 puts a "number of data items" byte (01) first; some ECUs pad with zero bytes before the VIN.
    """
    body = bytes(data)
    if len(body) in (18, 21) or (body and body[0] == 0x01 and len(body) > 17):
        body = body[1:]
    return body.replace(b"\x00", b"").decode("ascii", errors="replace").strip()[-17:]


# --- the scan-tool client -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ObdResponse:
    """One ECU's answer to one request: positive (``data`` after the service byte), refused (``nrc``) or cut off (``error``)."""

    ecu: int
    service: int
    data: bytes = b""
    nrc: int | None = None
    error: str | None = None

    @property
    def positive(self) -> bool:
        return self.nrc is None and self.error is None

    @property
    def nrc_name(self) -> str:
        return nrc_name(self.nrc) if self.nrc is not None else ""

    def describe(self) -> str:
        if self.nrc is not None:
            return f"ECU 0x{self.ecu:03X} refused service {self.service:02X}: NRC 0x{self.nrc:02X} {self.nrc_name}"
        if self.error is not None:
            return f"ECU 0x{self.ecu:03X}: {self.error}"
        return f"ECU 0x{self.ecu:03X}: {(bytes([self.service + 0x40]) + self.data).hex(' ')}"


@dataclass(frozen=True)
class FreezeFrame:
    """Service 02: the DTC that made an ECU store a freeze frame, and the values it kept then."""

    code: str
    ecu: int
    frame: int
    values: list[PidValue]


@dataclass
class ObdDtc:
    code: str
    kind: str  # stored, pending, permanent
    source: str  # obd-03, obd-07, obd-0a
    ecu: int


@dataclass
class _Pending:
    """Book-keeping of one request in flight."""

    service: int
    responses: dict[int, ObdResponse] = field(default_factory=dict)
    waiting_ecus: set[int] = field(default_factory=set)  # ECUs that said "response pending" (NRC 0x78)


class ObdServices:
    """The OBD-II services a scan tool reads, over any link that can send one request and gather the answers.

    A subclass provides :meth:`request` (one payload out, every ECU's answer back) and sets ``bus_name`` and
    ``timeout_s``; the CAN client (:class:`ObdClient`, ISO-TP on a python-can bus) and the ELM327 adapter
    client (``rag_car.vehicle.elm327``) share every service below, so both decode the same way.
    """

    bus_name: str = "the bus"
    timeout_s: float = 0.5
    pids_per_request: int = 6  # J1979 allows six; some adapters and ECUs take one
    dtc_count_byte: bool | None = None  # True: DTC answers start with their count (CAN); None: guess per answer
    no_answer_fix: str = "check that the ignition is on and that this is the vehicle's OBD-II (diagnostic) CAN bus"

    def request(self, payload: bytes, timeout_s: float | None = None, ecu: int | None = None) -> list[ObdResponse]:
        raise NotImplementedError

    def _positive(self, payload: bytes, what: str, ecu: int | None = None,
                  problems: list[ObdResponse] | None = None) -> list[ObdResponse]:
        """The positive answers to ``payload``; raises when there is none, saying why.

        ``problems``: when given, the answers of ECUs that refused or were cut off while others answered
        are appended to it (an ECU's refusal must not vanish behind another ECU's positive answer).
        """
        responses = self.request(payload, ecu=ecu)
        positive = [r for r in responses if r.positive]
        if positive:
            if problems is not None:
                problems.extend(r for r in responses if not r.positive)
            return positive
        if not responses:
            raise NoResponseError(
                f"no ECU answered {what} (request {payload.hex(' ')}) on {self.bus_name} within {self.timeout_s:g} s",
                self.no_answer_fix,
            )
        refused = [r for r in responses if r.nrc is not None]
        if refused:
            raise NegativeResponseError("; ".join(r.describe() for r in responses) + f" (request {payload.hex(' ')}, {what})",
                                        "the ECU does not offer this now: see the NRC name; 0x22 usually means stop the engine first",
                                        nrc=refused[0].nrc or 0)
        raise TransferError("; ".join(r.describe() for r in responses) + f" ({what})",
                            "the answer was cut off: check the bus load and wiring, then ask again")

    def read_pids(self, pids: Iterable[int] = DEFAULT_POLL_PIDS,
                  problems: list[ObdResponse] | None = None) -> tuple[list[PidValue], list[MonitorStatus]]:
        """Service 01: the physical values of ``pids`` (six per request at most) from every ECU that answers.

        ``problems``: collects refusals and cut-off answers of some ECUs while others answered (see _positive).
        """
        wanted = [p for p in pids if p in PIDS or p == MONITOR_STATUS]
        values: list[PidValue] = []
        monitors: list[MonitorStatus] = []
        step = max(1, min(6, self.pids_per_request))
        silent: ObdError | None = None
        answered = False
        for i in range(0, len(wanted), step):
            group = wanted[i:i + step]
            try:
                responses = self._positive(bytes([SHOW_CURRENT_DATA, *group]), "service 01 (current data)", problems=problems)
            except (NoResponseError, NegativeResponseError, TransferError) as exc:
                silent = silent or exc  # a group nobody supports, or a garbled answer: the others may still answer
                continue
            answered = True
            for response in responses:
                for pid, raw in parse_pid_records(response.data):
                    if pid == MONITOR_STATUS:
                        monitors.append(decode_monitor_status(raw, response.ecu))
                    elif pid in PIDS:
                        spec = PIDS[pid]
                        values.append(PidValue(pid, spec.key, spec.name, round(spec.decode(raw), 3), spec.unit, response.ecu))
        if silent is not None and not answered:
            raise silent
        return values, monitors

    def supported_pids(self) -> dict[int, set[int]]:
        """Service 01 PIDs 00/20/40...: which PIDs each ECU supports."""
        supported: dict[int, set[int]] = {}
        base = 0x00
        while base <= 0xC0:
            try:
                responses = self._positive(bytes([SHOW_CURRENT_DATA, base]), f"service 01 PID {base:02X} (supported PIDs)")
            except ObdError:
                if base == 0:
                    raise
                break
            more = False
            for response in responses:
                for pid, raw in parse_pid_records(response.data):
                    if pid == base:
                        found = decode_support(raw, base)
                        supported.setdefault(response.ecu, set()).update(found)
                        more = more or (base + 0x20) in found
            if not more:
                break
            base += 0x20
        return supported

    def read_dtcs(self, service: int = STORED_DTCS, ecu: int | None = None,
                  problems: list[ObdResponse] | None = None) -> list[ObdDtc]:
        """Service 03 (stored), 07 (pending) or 0A (permanent): every ECU's codes (or one ECU's, physically).

        ``problems``: collects refusals and cut-off answers of some ECUs while others answered (see _positive).
        """
        if service not in DTC_SERVICES:
            raise ValueError(f"service {service:#x} does not read DTCs (use 0x03, 0x07 or 0x0A)")
        found: list[ObdDtc] = []
        what = f"service {service:02X} ({DTC_KIND[service]} DTCs)"
        for response in self._positive(bytes([service]), what, ecu=ecu, problems=problems):
            try:
                codes = parse_dtc_answer(response.data, self.dtc_count_byte)
            except ValueError as exc:
                raise TransferError(f"ECU 0x{response.ecu:03X} on {self.bus_name}: {exc} ({what}: "
                                    f"{response.data.hex(' ')})", "the answer was cut off: ask again") from exc
            for code in codes:
                found.append(ObdDtc(code, DTC_KIND[service], DTC_SERVICES[service], response.ecu))
        return found

    def read_vin(self) -> str:
        """Service 09 PID 02: the VIN (multi-frame on CAN)."""
        for response in self._positive(bytes([VEHICLE_INFO, VIN_PID]), "service 09 PID 02 (VIN)"):
            if response.data[:1] == bytes([VIN_PID]):
                return parse_vin_answer(response.data[1:])
        raise TransferError(f"the answer to service 09 PID 02 on {self.bus_name} carried no VIN", "ask again")

    def read_ecu_name(self) -> dict[int, str]:
        """Service 09 PID 0A: each ECU's name."""
        names: dict[int, str] = {}
        for response in self._positive(bytes([VEHICLE_INFO, ECU_NAME_PID]), "service 09 PID 0A (ECU name)"):
            if response.data[:1] == bytes([ECU_NAME_PID]):
                body = response.data[2:] if len(response.data) > 21 else response.data[1:]
                names[response.ecu] = body.replace(b"\x00", b"").decode("ascii", errors="replace").strip()
        return names

    def read_freeze_frame(self, pids: Iterable[int] = (0x0C, 0x05, 0x0D, 0x04, 0x06, 0x07, 0x0B, 0x11),
                          frame: int = 0) -> FreezeFrame | None:
        """Service 02: the code that stored freeze frame ``frame`` (PID 02) and the values kept with it.

        None when no ECU holds a freeze frame (no answer, or DTC 0000). PIDs the ECU did not keep are skipped.
        """
        try:
            responses = self._positive(bytes([FREEZE_FRAME, 0x02, frame]), "service 02 PID 02 (freeze frame DTC)")
        except NoResponseError:
            return None
        for response in responses:
            data = response.data
            if len(data) >= 4 and data[0] == 0x02 and (data[2], data[3]) != (0, 0):
                ecu, code = response.ecu, decode_dtc_bytes(data[2], data[3])
                break
        else:
            return None
        values: list[PidValue] = []
        for pid in pids:
            spec = PIDS.get(pid)
            if spec is None:
                continue
            try:
                answers = self._positive(bytes([FREEZE_FRAME, pid, frame]), f"service 02 PID {pid:02X} (freeze frame)", ecu=None)
            except ObdError:
                continue
            for response in answers:
                data = response.data
                if response.ecu == ecu and len(data) >= 2 + spec.size and data[0] == pid:
                    values.append(PidValue(pid, spec.key, spec.name, round(spec.decode(data[2:2 + spec.size]), 3), spec.unit, ecu))
        return FreezeFrame(code=code, ecu=ecu, frame=frame, values=values)

    def clear_dtcs(self) -> list[int]:
        """Service 04: clear the DTCs, freeze frames and readiness of every emission ECU; the ECUs that confirmed.

        Raises NegativeResponseError when they refuse (most refuse while the engine runs).
        """
        return [r.ecu for r in self._positive(bytes([CLEAR_DTCS]), "service 04 (clear DTCs)")]


class ObdClient(ObdServices):
    """A scan tool on one bus: sends OBD-II requests and gathers the answers of every ECU.

    ``send`` puts a frame on the bus; the bus owner calls :meth:`feed` with every received frame.
    ``timeout_s``: how long to wait for the first answer (J1979's P2 is 50 ms; remote buses and busy
    machines need more). ``settle_s``: after an answer, how long to wait for other ECUs.
    ``min_interval_s``: the rate limit, the least time between two requests.
    ``cf_timeout_ms``: N_Cr, after which a multi-frame answer that stopped counts as truncated.
    Requests are serialised: one in flight at a time, as J1979 requires.
    """

    def __init__(self, send: Callable[[can.Message], None], *, timeout_s: float = 0.5, settle_s: float = 0.06,
                 min_interval_s: float = 0.05, cf_timeout_ms: int = 1000, pending_timeout_s: float = 5.0,
                 bus_name: str = "the bus") -> None:
        self._send = send
        self.timeout_s = timeout_s
        self.settle_s = settle_s
        self.min_interval_s = min_interval_s
        self.cf_timeout_ms = cf_timeout_ms
        self.pending_timeout_s = pending_timeout_s
        self.bus_name = bus_name
        self._functional = IsoTpChannel(send, FUNCTIONAL_ID, FIRST_RESPONSE_ID, name="functional")
        self._ecus: dict[int, IsoTpChannel] = {}
        self._ecus_lock = threading.Lock()
        self._request_lock = threading.Lock()
        self._last_request = 0.0
        self._started = False
        self.requests_sent = 0

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> "ObdClient":
        if not self._started:
            self._functional.start()
            self._started = True
        return self

    def stop(self) -> None:
        with self._ecus_lock:
            channels = list(self._ecus.values())
            self._ecus.clear()
        for channel in [self._functional, *channels]:
            channel.stop()
        self._started = False

    def __enter__(self) -> "ObdClient":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def ecus(self) -> list[int]:
        """Response IDs of the ECUs seen so far (0x7E8, ...)."""
        with self._ecus_lock:
            return sorted(self._ecus)

    def feed(self, msg: can.Message) -> None:
        """Hand one received frame over; only 11-bit frames on 0x7E8-0x7EF are used."""
        if msg.is_extended_id or msg.arbitration_id not in RESPONSE_IDS:
            return
        channel = self._ecus.get(msg.arbitration_id)
        if channel is None:
            if not self._started:
                return
            channel = self._channel_for(msg.arbitration_id)
        channel.feed(msg)

    def _channel_for(self, rxid: int) -> IsoTpChannel:
        """The ISO-TP channel of the ECU answering on ``rxid`` (created on first use)."""
        if rxid not in RESPONSE_IDS:
            raise ValueError(f"0x{rxid:03X} is not an OBD-II response ID (0x7E8-0x7EF)")
        with self._ecus_lock:
            channel = self._ecus.get(rxid)
            if channel is None:
                channel = IsoTpChannel(self._send, rxid - (FIRST_RESPONSE_ID - FIRST_REQUEST_ID), rxid,
                                       name=f"ECU 0x{rxid:03X}", cf_timeout_ms=self.cf_timeout_ms).start()
                self._ecus[rxid] = channel
            return channel

    # --- requests ----------------------------------------------------------------------------------
    def request(self, payload: bytes, timeout_s: float | None = None, ecu: int | None = None) -> list[ObdResponse]:
        """Send one request; return every ECU's answer (positive, refused or cut off), by ECU ID.

        Functional (0x7DF, every ECU) unless ``ecu`` names one response ID (0x7E8): then it goes
        physically to that ECU's request ID (0x7E0), where ECUs also say which services they lack.
        An empty list means no ECU answered in time; it never raises for that.
        """
        if not self._started:
            self.start()
        service = payload[0]
        timeout = self.timeout_s if timeout_s is None else timeout_s
        with self._request_lock:
            wait = self._last_request + self.min_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            for channel in self._channels():
                channel.recv(0)  # drop late answers of an earlier request
                channel.take_errors()
            if ecu is None:
                self._functional.send(payload, functional=True)
            else:
                self._channel_for(ecu).send(payload)
            self.requests_sent += 1
            start = time.monotonic()
            self._last_request = start
            pending = _Pending(service)
            deadline = start + timeout
            while True:
                now = time.monotonic()
                got_any = self._collect(pending, now)
                busy = any(ch.receiving() for ch in self._channels())
                if pending.waiting_ecus:
                    deadline = max(deadline, now + 0.01) if now - start < self.pending_timeout_s else deadline
                if got_any and not busy and not pending.waiting_ecus:
                    deadline = min(deadline, now + self.settle_s)
                if now >= deadline and not busy:
                    break
                if busy and now - start > timeout + self.cf_timeout_ms / 1000 + 0.5:
                    break
                time.sleep(0.002)
            self._collect(pending, time.monotonic())
            return [pending.responses[ecu] for ecu in sorted(pending.responses)]

    def _channels(self) -> list[IsoTpChannel]:
        with self._ecus_lock:
            return list(self._ecus.values())

    def _collect(self, pending: _Pending, now: float) -> bool:
        """Move finished answers into ``pending``; True once any final answer is in."""
        for ecu, channel in list(self._ecus.items()):
            while (data := channel.recv(0)) is not None:
                if not data:
                    continue
                if data[0] == NEGATIVE_RESPONSE and len(data) >= 3 and data[1] == pending.service:
                    if data[2] == RESPONSE_PENDING:
                        pending.waiting_ecus.add(ecu)
                        continue
                    pending.waiting_ecus.discard(ecu)
                    pending.responses[ecu] = ObdResponse(ecu, pending.service, nrc=data[2])
                elif data[0] == pending.service + 0x40:
                    pending.waiting_ecus.discard(ecu)
                    pending.responses[ecu] = ObdResponse(ecu, pending.service, data=bytes(data[1:]))
            for error in channel.take_errors():
                if ecu not in pending.responses:
                    pending.responses[ecu] = ObdResponse(ecu, pending.service, error=error.detail)
        return bool(pending.responses)

