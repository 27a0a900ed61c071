"""Helpers for the ELM327 tests: a scripted adapter on a real loopback TCP socket, emulator servers, a LiveState."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag_car.vehicle.live import LiveState
from rag_car.vehicle.profile import load_profile

REPO = Path(__file__).resolve().parents[2]
DBC = REPO / "dbc" / "aldmoor_corrin.dbc"
FACTS = REPO / "knowledge" / "facts.toml"
CORRIN = load_profile(FACTS, name="aldmoor-corrin", bundled=True)  # the bundled vehicle profile
# what a healthy ELM327 says to the set-up commands
SETUP_REPLIES = {"ATZ": "\r\rELM327 v1.5\r\r>", "ATI": "ELM327 v1.5\r\r>", "ATRV": "12.4V\r\r>", "ATDP": "AUTO, ISO 15765-4 (CAN 11/500)\r\r>"}


def new_state() -> LiveState:
    return LiveState(str(DBC), profile=CORRIN, profile_how="picked")


@dataclass
class Step:
    """What the scripted adapter does for one command: send ``reply`` (after ``delay_s``), then maybe close."""

    reply: str = ""
    delay_s: float = 0.0
    close: bool = False
    raw: bytes = b""  # bytes sent before the reply (garbage)


Script = Callable[[str, int], Step]  # (command without spaces, upper case; how many times it came) -> Step


def scripted(replies: dict[str, str | Step | list], default: str = "NO DATA\r\r>") -> Script:
    """A Script from a table: command -> reply text, a Step, or a list of them consumed in order (the last repeats).
    AT commands not in the table answer like a healthy adapter (SETUP_REPLIES, else OK)."""

    def script(command: str, count: int) -> Step:
        entry = replies.get(command)
        if isinstance(entry, list):
            entry = entry[min(count, len(entry) - 1)]
        if entry is None:
            if command.startswith("AT"):
                entry = SETUP_REPLIES.get(command, "OK\r\r>")
            else:
                entry = default
        return entry if isinstance(entry, Step) else Step(entry)

    return script


class ScriptedAdapter:
    """A real TCP server on 127.0.0.1 that answers each command line from a Script (one thread per client)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.commands: list[str] = []
        self.connections = 0
        self.connect_times: list[float] = []
        self._counts: dict[str, int] = {}
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def spec(self) -> str:
        return f"elm327:socket://127.0.0.1:{self.port}"

    def start(self) -> "ScriptedAdapter":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self.connect_times.append(time.monotonic())
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        buffer = b""
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(1024)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r" in buffer:
                    line, buffer = buffer.split(b"\r", 1)
                    command = "".join(line.decode("ascii", "replace").split()).upper()
                    if not command:
                        continue
                    self.commands.append(command)
                    count = self._counts.get(command, 0)
                    self._counts[command] = count + 1
                    step = self.script(command, count)
                    if step.delay_s:
                        time.sleep(step.delay_s)
                    try:
                        conn.sendall(step.raw + step.reply.encode("latin-1"))
                    except OSError:
                        return
                    if step.close:
                        with contextlib.suppress(OSError):
                            conn.shutdown(socket.SHUT_RDWR)
                        return


@contextlib.contextmanager
def scripted_adapter(replies: dict, default: str = "NO DATA\r\r>") -> Iterator[ScriptedAdapter]:
    server = ScriptedAdapter(scripted(replies, default)).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def elmulator_server(name: str) -> Iterator[int]:
    """One of elmulator's bundled scenarios served on a free loopback port (its own server, in a thread)."""
    import elmulator
    from elmulator.client import serve_in_background

    stop, port = serve_in_background(elmulator.load_bundled(name))
    try:
        yield port
    finally:
        stop()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@contextlib.contextmanager
def simulated_elm327(scenario: str, time_scale: float = 20.0, obd_values=None) -> Iterator[tuple[int, object]]:
    """A simulated vehicle (its own in-process virtual bus) with its ELM327 face on a free loopback port:
    yields (port, simulator)."""
    from rag_car.vehicle.bus import open_bus
    from rag_car.vehicle.simulator.elm327_face import open_elm327_face, simulator_answerer
    from rag_car.vehicle.simulator.runtime import open_simulator

    with open_bus(f"virtual:elm327-test-{scenario}-{time.monotonic_ns()}") as bus:
        with open_simulator(bus, scenario, time_scale=time_scale, probe_s=0, obd_values=obd_values) as simulator:
            with open_elm327_face(simulator_answerer(simulator), "127.0.0.1", 0) as face:
                yield face.address[1], simulator
