"""CAN frames in, ISO 15765-2 payloads out: one can-isotp transport layer per conversation, fed frame by frame.

The bus is read by whoever owns it (a python-can Notifier, the simulator's loop); they hand each frame
to :meth:`IsoTpChannel.feed`. That keeps one reader per bus, so the live decoder, the DTC listeners and
any number of ISO-TP conversations share it without stealing frames from each other.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import can
import isotp

# ISO 15765-4 (OBD on CAN): every frame has DLC 8, the unused bytes padded.
PADDING = 0xCC
LOGGER_NAME = "rag_car.isotp"
# The library logs transfer problems as warnings; they reach the user through IsoTpChannel.errors instead.
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())


@dataclass
class TransferError:
    """Something went wrong on the transport layer of one channel (a truncated transfer, a lost flow control)."""

    kind: str
    detail: str


class IsoTpChannel:
    """One ISO-TP conversation: payloads sent on ``txid``, payloads received on ``rxid``.

    ``send`` puts one python-can frame on the bus (it is called from the library's thread).
    ``cf_timeout_ms`` is N_Cr, how long to wait for the next consecutive frame before the
    transfer counts as truncated (1000 ms in ISO 15765-2); ``fc_timeout_ms`` is N_Bs.
    Errors of the transport layer are kept in :attr:`errors` (newest last), never raised from its thread.
    """

    def __init__(self, send: Callable[[can.Message], None], txid: int, rxid: int, *, name: str = "",
                 cf_timeout_ms: int = 1000, fc_timeout_ms: int = 1000, stmin_ms: int = 0, blocksize: int = 0,
                 listen_only: bool = False) -> None:
        self.txid = txid
        self.rxid = rxid
        self.name = name or f"0x{txid:03X}->0x{rxid:03X}"
        self._send = send
        self._frames: queue.Queue[isotp.CanMessage] = queue.Queue()
        self._lock = threading.Lock()
        self.errors: list[TransferError] = []
        self._expected = 0  # bytes announced by the last first frame
        self._received = 0  # bytes of it received so far
        address = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=txid, rxid=rxid)
        params = {
            "stmin": stmin_ms,
            "blocksize": blocksize,
            "tx_padding": PADDING,
            "tx_data_min_length": 8,
            "rx_consecutive_frame_timeout": cf_timeout_ms,
            "rx_flowcontrol_timeout": fc_timeout_ms,
            "listen_mode": listen_only,
            "max_frame_size": 4095,
            "logger_name": LOGGER_NAME,
        }
        self._layer = isotp.TransportLayer(rxfn=self._next_frame, txfn=self._transmit, address=address,
                                           error_handler=self._on_error, params=params, read_timeout=0.02)
        self._started = False

    # --- frames in and out -------------------------------------------------------------------------
    def feed(self, msg: can.Message, as_id: int | None = None) -> None:
        """Hand one received frame to the transport layer (frames for other IDs are ignored).

        ``as_id``: treat the frame as if it came on this ID; the ECU side uses it to take functional
        requests (0x7DF, always single frames) on the channel of its physical address.
        """
        arbitration_id = msg.arbitration_id if as_id is None else as_id
        if msg.is_extended_id or arbitration_id != self.rxid or msg.is_error_frame or msg.is_remote_frame:
            return
        data = bytes(msg.data)
        if data:
            self._track(data)
        self._frames.put(isotp.CanMessage(arbitration_id=arbitration_id, data=data, extended_id=False, dlc=len(data)))

    def _track(self, data: bytes) -> None:
        kind = data[0] >> 4
        with self._lock:
            if kind == 0x1 and len(data) >= 2:
                self._expected = ((data[0] & 0x0F) << 8) | data[1]
                self._received = min(len(data) - 2, self._expected)
            elif kind == 0x2 and self._expected:
                self._received = min(self._received + len(data) - 1, self._expected)

    def _next_frame(self, timeout: float) -> isotp.CanMessage | None:
        try:
            return self._frames.get(timeout=timeout)
        except queue.Empty:
            return None

    def _transmit(self, msg: isotp.CanMessage) -> None:
        try:
            self._send(can.Message(arbitration_id=msg.arbitration_id, data=bytes(msg.data), is_extended_id=False))
        except Exception as exc:  # a closed or lost bus must not kill the library's thread
            with self._lock:
                self.errors.append(TransferError("send", f"cannot send on 0x{self.txid:03X}: {type(exc).__name__}: {exc}"))

    def _on_error(self, error: Exception) -> None:
        kind = type(error).__name__
        with self._lock:
            if isinstance(error, isotp.ConsecutiveFrameTimeoutError) and self._expected:
                detail = (f"truncated ISO-TP transfer on 0x{self.rxid:03X}: the first frame announced {self._expected} bytes, "
                          f"{self._received} arrived, then no consecutive frame came in time")
                self._expected = 0
            else:
                detail = f"ISO-TP error on 0x{self.rxid:03X}: {kind}: {error}"
            self.errors.append(TransferError(kind, detail))

    # --- payloads ----------------------------------------------------------------------------------
    def start(self) -> "IsoTpChannel":
        if not self._started:
            self._layer.start()
            self._started = True
        return self

    def stop(self) -> None:
        if self._started:
            self._layer.stop()
            self._started = False

    def send(self, payload: bytes, functional: bool = False) -> None:
        """Queue one payload (single or multi-frame); returns at once, the library's thread sends it."""
        target = isotp.TargetAddressType.Functional if functional else isotp.TargetAddressType.Physical
        self._layer.send(bytes(payload), target_address_type=target)

    def recv(self, timeout: float) -> bytes | None:
        """The next complete payload, or None after ``timeout`` seconds."""
        data = self._layer.recv(block=True, timeout=timeout)
        return None if data is None else bytes(data)

    def receiving(self) -> bool:
        """True while a multi-frame payload is arriving (a first frame came, the last consecutive frame not yet)."""
        return self._layer.is_rx_active()

    def transmitting(self) -> bool:
        return self._layer.transmitting()

    def take_errors(self) -> list[TransferError]:
        """The errors since the last call, and forget them."""
        with self._lock:
            errors, self.errors = self.errors, []
        return errors

    def __enter__(self) -> "IsoTpChannel":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
