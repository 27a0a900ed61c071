"""OBD-II requests -> answers, as an engine ECU gives them: the ECU side the simulator puts on the bus.

It answers services 01, 03, 04, 07, 09 and 0A on 0x7E8 (requests on 0x7DF functional or 0x7E0 physical)
through the same can-isotp transport layer as the scan-tool client, from an :class:`EcuView` that its
owner replaces whenever the vehicle changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import can

from rag_car.vehicle.diagnostics.dtc import encode_dtc
from rag_car.vehicle.diagnostics.isotp_link import IsoTpChannel
from rag_car.vehicle.diagnostics.obd import (
    CLEAR_DTCS, ECU_NAME_PID, FIRST_REQUEST_ID, FIRST_RESPONSE_ID, FUNCTIONAL_ID, MONITOR_STATUS, PENDING_DTCS,
    PERMANENT_DTCS, PIDS, SHOW_CURRENT_DATA, STORED_DTCS, SUPPORT_PIDS, VEHICLE_INFO, VIN_PID, encode_monitor_status,
    encode_support,
)
from rag_car.vehicle.diagnostics.nrc import NEGATIVE_RESPONSE

SERVICE_NOT_SUPPORTED = 0x11
SUB_FUNCTION_NOT_SUPPORTED = 0x12
INCORRECT_LENGTH = 0x13
CONDITIONS_NOT_CORRECT = 0x22
REQUEST_OUT_OF_RANGE = 0x31
# UDS and J1979 keep these quiet on functional requests: ECUs that lack a service or PID just say nothing.
_SILENT_WHEN_FUNCTIONAL = {SERVICE_NOT_SUPPORTED, SUB_FUNCTION_NOT_SUPPORTED, REQUEST_OUT_OF_RANGE}


@dataclass(frozen=True)
class EcuView:
    """What the ECU knows at one moment.

    ``values``: service 01 values by PID key (``obd.PIDS``: engine_speed, coolant_temp, ...).
    ``stored``/``pending``/``permanent``: DTC codes for services 03/07/0A. ``mil_on`` goes into PID 01.
    ``refuse``: service -> NRC to answer with instead (a scenario's way to show an ECU that refuses).
    ``engine_running``: clearing DTCs (service 04) is refused with conditionsNotCorrect while it is.
    """

    values: dict[str, float] = field(default_factory=dict)
    stored: tuple[str, ...] = ()
    pending: tuple[str, ...] = ()
    permanent: tuple[str, ...] = ()
    mil_on: bool = False
    vin: str = ""
    ecu_name: str = "ECM-EngineControl"
    refuse: dict[int, int] = field(default_factory=dict)
    engine_running: bool = True


def answer(request: bytes, view: EcuView, functional: bool = False,
           on_clear: Callable[[], None] | None = None) -> bytes | None:
    """The ECU's answer to one request payload, or None when it stays silent."""
    if not request:
        return None
    service = request[0]

    def refuse(nrc: int) -> bytes | None:
        if functional and nrc in _SILENT_WHEN_FUNCTIONAL:
            return None
        return bytes([NEGATIVE_RESPONSE, service, nrc])

    if service in view.refuse:
        return refuse(view.refuse[service])
    if service == SHOW_CURRENT_DATA:
        pids = request[1:]
        if not 1 <= len(pids) <= 6:
            return refuse(INCORRECT_LENGTH)
        body = bytearray()
        for pid in pids:
            record = _pid_record(pid, view)
            if record is not None:
                body += bytes([pid]) + record
        return bytes([0x41]) + bytes(body) if body else refuse(REQUEST_OUT_OF_RANGE)
    if service in (STORED_DTCS, PENDING_DTCS, PERMANENT_DTCS):
        if len(request) != 1:
            return refuse(INCORRECT_LENGTH)
        codes = {STORED_DTCS: view.stored, PENDING_DTCS: view.pending, PERMANENT_DTCS: view.permanent}[service]
        body = bytearray([service + 0x40, len(codes)])
        for code in codes:
            body += encode_dtc(code).to_bytes(2, "big")
        return bytes(body)
    if service == CLEAR_DTCS:
        if view.engine_running:
            return refuse(CONDITIONS_NOT_CORRECT)
        if on_clear is not None:
            on_clear()
        return bytes([0x44])
    if service == VEHICLE_INFO:
        if len(request) != 2:
            return refuse(INCORRECT_LENGTH)
        pid = request[1]
        if pid == 0x00:
            return bytes([0x49, 0x00]) + encode_support([VIN_PID, ECU_NAME_PID], 0x00)
        if pid == VIN_PID and view.vin:
            return bytes([0x49, VIN_PID, 0x01]) + view.vin.encode("ascii")[:17].ljust(17, b"0")
        if pid == ECU_NAME_PID:
            return bytes([0x49, ECU_NAME_PID, 0x01]) + view.ecu_name.encode("ascii")[:20].ljust(20, b"\x00")
        return refuse(REQUEST_OUT_OF_RANGE)
    return refuse(SERVICE_NOT_SUPPORTED)


def _pid_record(pid: int, view: EcuView) -> bytes | None:
    supported = [p.pid for p in PIDS.values() if p.key in view.values] + [MONITOR_STATUS]
    if pid in SUPPORT_PIDS:
        following = [p for p in supported if p > pid + 32]
        bits = encode_support(supported + ([pid + 32] if following else []), pid)
        return bits if pid == 0 or any(pid < p <= pid + 32 for p in supported) else None
    if pid == MONITOR_STATUS:
        return encode_monitor_status(view.mil_on, len(view.stored))
    spec = PIDS.get(pid)
    if spec is None or spec.key not in view.values:
        return None
    return spec.encode(view.values[spec.key])


class ObdEcu:
    """An engine ECU on a bus: feed it every received frame, it answers on its response ID.

    ``index`` 0 is the ECM (requests 0x7E0, answers 0x7E8), 1 the next ECU, and so on.
    """

    def __init__(self, send: Callable[[can.Message], None], view: EcuView | None = None, index: int = 0,
                 stmin_ms: int = 0) -> None:
        self.request_id = FIRST_REQUEST_ID + index
        self.response_id = FIRST_RESPONSE_ID + index
        self.view = view or EcuView()
        self.requests_answered = 0
        self.cleared = threading.Event()
        self._channel = IsoTpChannel(send, self.response_id, self.request_id, name=f"ECU 0x{self.response_id:03X}",
                                     stmin_ms=stmin_ms)
        self._functional_flags: list[bool] = []
        self._flags_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def feed(self, msg: can.Message) -> None:
        if msg.is_extended_id or msg.is_error_frame:
            return
        if msg.arbitration_id == FUNCTIONAL_ID:
            # A functional request is one single frame; take it on the physical channel (same answer ID).
            if msg.data and msg.data[0] >> 4 == 0:
                with self._flags_lock:
                    self._functional_flags.append(True)
                self._channel.feed(msg, as_id=self.request_id)
        elif msg.arbitration_id == self.request_id:
            if msg.data and msg.data[0] >> 4 in (0, 1):
                with self._flags_lock:
                    self._functional_flags.append(False)
            self._channel.feed(msg)

    def start(self) -> "ObdEcu":
        self._channel.start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"obd-ecu-{self.response_id:03X}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        self._channel.stop()

    def __enter__(self) -> "ObdEcu":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        while not self._stop.is_set():
            request = self._channel.recv(0.05)
            if request is None:
                continue
            with self._flags_lock:
                functional = self._functional_flags.pop(0) if self._functional_flags else False
            reply = answer(request, self.view, functional=functional, on_clear=self.cleared.set)
            if reply is not None:
                try:
                    self._channel.send(reply)
                    self.requests_answered += 1
                except (RuntimeError, ValueError):
                    pass  # a full transmit queue: the tester will time out and ask again
