"""An elm327: spec -> an open byte link to the adapter: a serial port (USB, Bluetooth rfcomm) or a TCP socket (Wi-Fi).

Both give ``write(bytes)`` and ``read(timeout_s) -> bytes`` (empty on timeout); a link that went away (adapter
unplugged, TCP peer closed) raises :class:`AdapterGone`. Opening errors are BusErrors naming the port and
what to try. Serial ports go through pyserial, opened exclusively so that two programs never share one adapter.
"""

from __future__ import annotations

import errno
import select
import socket
from typing import Protocol

from rag_car.errors import BusError
from rag_car.vehicle.spec import BusSpec

DEFAULT_BAUD = 38400
# the rates ELM327 adapters and clones ship with, most common first (tried when the spec gives no ?baud=)
BAUD_RATES = (38400, 9600, 115200, 57600, 230400, 19200)
WIFI_HINT = "most Wi-Fi adapters listen on 192.168.0.10:35000 once this machine joins the adapter's network"


class AdapterGone(BusError):
    """The adapter's link went away: the USB adapter was unplugged, the Bluetooth link dropped, the TCP peer closed."""


class Link(Protocol):
    """A byte link to an adapter."""

    name: str

    def write(self, data: bytes) -> None: ...

    def read(self, timeout_s: float) -> bytes: ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


def tcp_address(spec: BusSpec) -> tuple[str, int] | None:
    """(host, port) of an ``elm327:socket://HOST:PORT`` spec, None for a serial port."""
    channel = spec.channel
    if not channel.lower().startswith(("socket://", "tcp://")):
        return None
    rest = channel.split("://", 1)[1].rstrip("/")
    host, _, port = rest.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


class TcpLink:
    """A Wi-Fi adapter (or an emulator) over TCP."""

    def __init__(self, host: str, port: int, connect_timeout_s: float = 5.0) -> None:
        self.name = f"socket://{host}:{port}"
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout_s)
        except OSError as exc:
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise BusError(f"ELM327 adapter at {self.name} is not reachable ({reason})",
                           f"check that the adapter is powered and this machine is on its network ({WIFI_HINT}); "
                           "for the simulator: rag-car simulate --elm327 127.0.0.1:35000") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._timeout: float | None = None

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise AdapterGone(f"ELM327 adapter at {self.name} closed the connection ({exc.strerror or exc})",
                              "check the adapter's power and Wi-Fi; rag-car reconnects by itself") from exc

    def read(self, timeout_s: float) -> bytes:
        timeout = max(0.0005, timeout_s)
        if timeout != self._timeout:  # a settimeout() per read costs as much as the read on loopback
            self._sock.settimeout(timeout)
            self._timeout = timeout
        try:
            data = self._sock.recv(4096)
        except socket.timeout:
            return b""
        except OSError as exc:
            raise AdapterGone(f"ELM327 adapter at {self.name} dropped the connection ({exc.strerror or exc})",
                              "check the adapter's power and Wi-Fi; rag-car reconnects by itself") from exc
        if not data:
            raise AdapterGone(f"ELM327 adapter at {self.name} closed the connection",
                              "check the adapter's power and Wi-Fi; rag-car reconnects by itself")
        return data

    def discard_input(self) -> None:
        """Drop whatever arrived unasked (a late answer); never waits."""
        try:
            # select with no wait: recv on a socket with a timeout would wait for that timeout first
            while select.select([self._sock], [], [], 0)[0]:
                if not self._sock.recv(4096):
                    return  # closed: the next read says so
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


class SerialLink:
    """A USB or Bluetooth (rfcomm) adapter on a serial port, through pyserial."""

    def __init__(self, port: str, baud: int) -> None:
        self.name = port
        try:
            import serial
        except ImportError as exc:
            raise BusError("an elm327: serial port needs the pyserial package", "pip install pyserial==3.5") from exc
        self._serial_error = serial.SerialException
        try:
            self._port = serial.Serial(port, baudrate=baud, timeout=0.05, write_timeout=2.0, exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise BusError(f"serial port {port} cannot be opened ({_serial_reason(exc)})", _serial_fix(port, exc)) from exc

    @property
    def baud(self) -> int:
        return int(self._port.baudrate)

    def set_baud(self, baud: int) -> None:
        try:
            self._port.baudrate = baud
        except (self._serial_error, OSError, ValueError) as exc:
            raise AdapterGone(f"cannot set {self.name} to {baud} baud ({exc})", "check the adapter's port") from exc

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
            self._port.flush()
        except (self._serial_error, OSError) as exc:
            raise AdapterGone(f"ELM327 adapter on {self.name} went away ({exc})",
                              "check the USB cable or Bluetooth pairing; rag-car reconnects by itself") from exc

    def read(self, timeout_s: float) -> bytes:
        try:
            self._port.timeout = max(0.001, timeout_s)
            first = self._port.read(1)
            if not first:
                return b""
            waiting = self._port.in_waiting
            return first + (self._port.read(waiting) if waiting else b"")
        except (self._serial_error, OSError) as exc:
            raise AdapterGone(f"ELM327 adapter on {self.name} went away ({exc})",
                              "check the USB cable or Bluetooth pairing; rag-car reconnects by itself") from exc

    def discard_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (self._serial_error, OSError):
            pass

    def close(self) -> None:
        try:
            self._port.close()
        except (self._serial_error, OSError):
            pass


def _serial_reason(exc: BaseException) -> str:
    inner = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    return getattr(exc, "strerror", None) or (errno.errorcode.get(inner, "") if inner else "") or str(exc)


def _serial_fix(port: str, exc: BaseException) -> str:
    text = str(exc).lower()
    if "no such file" in text or "could not open port" in text and "errno 2" in text:
        return (f"{port} does not exist: plug the adapter in (USB: ls /dev/ttyUSB*; Bluetooth: pair it and bind it with "
                "`rfcomm bind 0 ADDRESS`), or use elm327:socket://HOST:PORT for a Wi-Fi adapter")
    if "permission" in text or "errno 13" in text:
        return f"you may not open {port}: add yourself to the dialout group (sudo usermod -aG dialout $USER) and log in again"
    if "lock" in text or "busy" in text or "errno 16" in text or "errno 11" in text:
        return f"another program holds {port} (another rag-car, a terminal, ModemManager): close it and try again"
    return f"check that {port} is the adapter's port and that ?baud= matches it (38400, 9600 or 115200)"


def open_link(spec: BusSpec, baud: int | None = None) -> Link:
    """The link an elm327: spec names; raises BusError saying what to try."""
    address = tcp_address(spec)
    if address is not None:
        return TcpLink(*address)
    return SerialLink(spec.channel, baud or DEFAULT_BAUD)
