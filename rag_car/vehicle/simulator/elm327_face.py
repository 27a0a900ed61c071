"""The simulated vehicle's ECUs -> an ELM327 adapter on TCP: what OBD-II apps and libraries see over Wi-Fi.

Each client gets its own adapter state (echo, line feeds, headers, spaces, protocol, the request header set
with AT SH), as a real adapter has after ATZ. OBD-II requests go to the same simulated ECUs as the CAN face
(``diagnostics.ecu.answer`` over each ECU's current view) and come back formatted as an ELM327 formats CAN
answers: ``7E8 06 41 00 ...`` with headers, ISO-TP first and consecutive frames for long answers, or the
headerless ``014`` / ``0: ...`` form. It listens on loopback unless told otherwise.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rag_car.errors import BusError
from rag_car.vehicle.diagnostics.ecu import EcuView, answer
from rag_car.vehicle.diagnostics.obd import FIRST_REQUEST_ID, FIRST_RESPONSE_ID, FUNCTIONAL_ID

VERSION = "ELM327 v1.5"
DEVICE = "rag-car simulated vehicle"
PROTOCOLS = {  # AT DP descriptions of the ELM327 protocol numbers
    "1": "SAE J1850 PWM", "2": "SAE J1850 VPW", "3": "ISO 9141-2", "4": "ISO 14230-4 (KWP 5BAUD)",
    "5": "ISO 14230-4 (KWP FAST)", "6": "ISO 15765-4 (CAN 11/500)", "7": "ISO 15765-4 (CAN 29/500)",
    "8": "ISO 15765-4 (CAN 11/250)", "9": "ISO 15765-4 (CAN 29/250)", "A": "SAE J1939 (CAN 29/250)",
}
SIMULATED_PROTOCOL = "6"  # the simulated ECUs speak ISO 15765-4, 11-bit identifiers, 500 kbit/s


@dataclass(frozen=True)
class EcuAnswer:
    """One ECU's answer to a request: its response ID and the bytes (service + 0x40 first, or 7F ...)."""

    response_id: int
    data: bytes


class Answerer:
    """Answers OBD-II requests from views of the simulated ECUs: ``views()`` gives (request ID, view) pairs.

    ``on_clear`` is called with the request ID of an ECU that accepts service 04.
    """

    def __init__(self, views: Callable[[], list[tuple[int, EcuView]]], on_clear: Callable[[int], None] | None = None) -> None:
        self.views = views
        self.on_clear = on_clear
        self.requests = 0

    def __call__(self, payload: bytes, target: int = FUNCTIONAL_ID) -> list[EcuAnswer]:
        self.requests += 1
        out = []
        for request_id, view in self.views():
            if target != FUNCTIONAL_ID and target != request_id:
                continue
            clear = (lambda rid=request_id: self.on_clear(rid)) if self.on_clear is not None else None
            reply = answer(payload, view, functional=target == FUNCTIONAL_ID, on_clear=clear)
            if reply is not None:
                out.append(EcuAnswer(request_id + (FIRST_RESPONSE_ID - FIRST_REQUEST_ID), reply))
        return out

    def voltage(self) -> float:
        """What AT RV reads: the engine ECU's module voltage, else a healthy 12.6 V."""
        for request_id, view in self.views():
            if request_id == FIRST_REQUEST_ID:
                value = view.values.get("module_voltage")
                if value:
                    return float(value)
        return 12.6


def simulator_answerer(simulator) -> Answerer:
    """An Answerer over a Simulator's ECUs: their views follow the vehicle tick by tick (and its obd_values replay)."""
    ecus = list(simulator.ecus.values())

    def views() -> list[tuple[int, EcuView]]:
        return [(ecu.request_id, ecu.view) for ecu in ecus]

    def cleared(request_id: int) -> None:
        for ecu in ecus:
            if ecu.request_id == request_id:
                ecu.cleared.set()

    return Answerer(views, on_clear=cleared)


def can_frames(data: bytes) -> list[bytes]:
    """An answer -> its ISO-TP frames with PCI (single frame up to 7 bytes, else first + consecutive frames)."""
    if len(data) <= 7:
        return [bytes([len(data)]) + data]
    frames = [bytes([0x10 | (len(data) >> 8), len(data) & 0xFF]) + data[:6]]
    rest, index = data[6:], 1
    while rest:
        frames.append(bytes([0x20 | (index % 16)]) + rest[:7])
        rest, index = rest[7:], index + 1
    return frames


class AdapterState:
    """One client's ELM327: settings changed by AT commands, and the answer to each command line."""

    def __init__(self, answerer: Answerer) -> None:
        self.answerer = answerer
        self.last = ""
        self.reset()

    def reset(self) -> None:
        self.echo, self.linefeeds, self.headers, self.spaces = True, False, False, True
        self.protocol, self.auto, self.searched = "0", True, False
        self.header = FUNCTIONAL_ID

    def handle(self, line: str) -> str:
        """The adapter's whole reply to one command line, up to and including the prompt."""
        command = "".join(line.split()).upper()
        if not command:
            command = self.last  # an empty line repeats the last command, as on an ELM327
        self.last = command
        echo = line.strip() + "\r" if self.echo and line.strip() else ""
        if command.startswith("AT"):
            body = self._at(command[2:])
        else:
            body = self._obd(command)
        end = "\r\n" if self.linefeeds else "\r"
        return echo + end.join(body) + end + end + ">"

    # --- AT commands -------------------------------------------------------------------------------
    def _at(self, arg: str) -> list[str]:
        if arg in ("Z", "WS"):
            self.reset()
            return ["", VERSION]
        if arg == "D":
            self.reset()
            return ["OK"]
        if arg == "I":
            return [VERSION]
        if arg == "@1":
            return [DEVICE]
        if arg == "RV":
            return [f"{self.answerer.voltage():.1f}V"]
        if arg == "DP":
            name = PROTOCOLS.get(self._protocol(), "AUTO")
            return [f"AUTO, {name}" if self.auto else name]
        if arg == "DPN":
            return [("A" if self.auto else "") + self._protocol()]
        flags = {"E": "echo", "L": "linefeeds", "H": "headers", "S": "spaces"}
        if len(arg) == 2 and arg[0] in flags and arg[1] in "01":
            setattr(self, flags[arg[0]], arg[1] == "1")
            return ["OK"]
        if arg.startswith(("SP", "TP")) and len(arg) in (3, 4):
            number = arg[2:].lstrip("A") or "0"
            if number not in PROTOCOLS and number != "0":
                return ["?"]
            self.protocol, self.auto = number, number == "0" or arg[2:].startswith("A")
            self.searched = False
            return ["OK"]
        if arg.startswith("SH") and len(arg) in (5, 8) and _is_hex(arg[2:]):
            self.header = int(arg[2:], 16)
            return ["OK"]
        if arg[:2] in ("AT", "ST", "M0", "M1", "CA", "PC", "AL", "NL", "CF", "CR", "FC", "V0", "V1", "AR", "SI", "IB",
                       "BI", "KW", "MA", "MT", "TA", "CM", "CS", "PB", "R0", "R1", "RA", "AD", "LP"):
            return ["OK"]
        return ["?"]

    def _protocol(self) -> str:
        return SIMULATED_PROTOCOL if self.protocol == "0" else self.protocol

    # --- OBD-II requests ---------------------------------------------------------------------------
    def _obd(self, command: str) -> list[str]:
        if len(command) % 2 and len(command) >= 3 and command[-1] in "123456789ABCDEF":
            command = command[:-1]  # "010C1": the number of answers to wait for (ELM327 v1.3+); ours come at once
        if not _is_hex(command) or len(command) % 2:
            return ["?"]
        if self._protocol() != SIMULATED_PROTOCOL:
            return ["BUS INIT: ...ERROR"] if self._protocol() in ("3", "4", "5") else ["UNABLE TO CONNECT"]
        payload = bytes.fromhex(command)
        lines = []
        if self.auto and not self.searched:
            lines.append("SEARCHING...")
            self.searched = True
        answers = self.answerer(payload, self.header)
        if not answers:
            return lines + ["NO DATA"]
        for item in answers:
            lines += self._format(item)
        return lines

    def _format(self, item: EcuAnswer) -> list[str]:
        sep = " " if self.spaces else ""

        def hexs(data: bytes) -> str:
            return sep.join(f"{b:02X}" for b in data)

        frames = can_frames(item.data)
        if self.headers:
            return [f"{item.response_id:03X}{sep}{hexs(frame)}" for frame in frames]
        if len(frames) == 1:
            return [hexs(item.data)]
        return [f"{len(item.data):03X}"] + [f"{n}:{sep}{hexs(frame[2:] if n == 0 else frame[1:])}"
                                            for n, frame in enumerate(frames)]


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789ABCDEF" for c in text)


class Elm327Server:
    """A TCP server speaking ELM327 for ``answerer``; one thread per client. Use :func:`open_elm327_face`."""

    def __init__(self, answerer: Answerer, host: str = "127.0.0.1", port: int = 35000) -> None:
        self.answerer = answerer
        try:
            self._sock = socket.create_server((host, port))
        except OSError as exc:
            raise BusError(f"cannot serve the ELM327 face on {host}:{port} ({exc.strerror or exc})",
                           "another program (or simulator) is probably listening there: choose another port with "
                           "--elm327 HOST:PORT") from exc
        self._sock.settimeout(0.1)
        self.address = self._sock.getsockname()[:2]
        self.clients = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._accept, name="elm327-face", daemon=True)

    def start(self) -> "Elm327Server":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for thread in self._threads:
            thread.join(2)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _peer = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.clients += 1
            thread = threading.Thread(target=self._serve, args=(conn,), name="elm327-face-client", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        state = AdapterState(self.answerer)
        buffer = previous = b""
        conn.settimeout(0.1)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r" in buffer or b"\n" in buffer:
                    cut = min(i for i in (buffer.find(b"\r"), buffer.find(b"\n")) if i >= 0)
                    line, ending, buffer = buffer[:cut], buffer[cut:cut + 1], buffer[cut + 1:]
                    if line == b"" and ending == b"\n" and previous == b"\r":
                        previous = ending
                        continue  # the LF of a CR LF pair
                    previous = ending
                    try:
                        conn.sendall(state.handle(line.decode("ascii", errors="replace")).encode("ascii", errors="replace"))
                    except OSError:
                        return


@contextlib.contextmanager
def open_elm327_face(answerer: Answerer, host: str = "127.0.0.1", port: int = 35000) -> Iterator[Elm327Server]:
    """Serve ``answerer`` as an ELM327 on HOST:PORT (0: a free port) until the block ends; yields the server
    (its ``address`` is the bound (host, port)). Raises BusError when the port is taken."""
    server = Elm327Server(answerer, host, port).start()
    try:
        yield server
    finally:
        server.stop()
