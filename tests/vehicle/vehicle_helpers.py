"""Helpers for the vehicle tests: fixture paths, a real python-can-remote server, cantools reference decodes."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import cantools

FILES = Path(__file__).resolve().parent.parent / "files" / "vehicle"
BENCH_DBC = FILES / "bench_car.dbc"

# (vehicle, DBC relative to shared data, logs relative to shared data)
VEHICLE_PAIRS = {
    "kona": ("opendbc/hyundai_can.dbc", ["eldominio-canbuslogs/kona/turnonlog.log", "eldominio-canbuslogs/kona/keyon.trc",
                                         "eldominio-canbuslogs/kona/runlog.trc", "eldominio-canbuslogs/kona/startlog.trc"]),
    "audi_a2": ("opendbc/vw_pq.dbc", ["eldominio-canbuslogs/audi_a2/noecu.trc"]),
    "forte": ("eldominio-canbuslogs/forte/hyundai_kia_generic.dbc", ["eldominio-canbuslogs/forte/testlog.log",
                                                                     "eldominio-canbuslogs/forte/turnonwithgague.log"]),
    "yaris": ("opendbc/toyota_iQ_2009_can.dbc", ["eldominio-canbuslogs/yaris_09/accellog.log",
                                                 "eldominio-canbuslogs/yaris_09/steering.log"]),
    "camaro": ("opendbc/gm_global_a_powertrain.dbc", ["eldominio-canbuslogs/camaro/keyonlog.log",
                                                      "eldominio-canbuslogs/camaro/candump-2021-04-18_191854.log"]),
}


def reference_database(path: Path):
    """The DBC as plain cantools loads it, with the statements cantools cannot take removed by hand."""
    text = path.read_text(encoding="utf-8", errors="replace")
    text = re.sub(r'^CM_ \d+ ".*";\s*$', "", text, flags=re.M)  # opendbc's hyundai_can.dbc
    text = re.sub(r"^VAL_ 715 GasRegenCmdActiveInv .*$", "", text, flags=re.M)  # gm_global_a_powertrain.dbc
    return cantools.database.load_string(text, database_format="dbc", strict=False)


def reference_decode(database, msg):
    """cantools' own decode(..., decode_choices=False) of one frame (allow_truncated for a payload shorter than the
    message), or None where it has none."""
    if msg.is_error_frame or msg.is_remote_frame:
        return None
    try:
        message = database.get_message_by_frame_id(msg.arbitration_id)
    except KeyError:
        return None
    if message.is_extended_frame != msg.is_extended_id:
        return None
    data = bytes(msg.data)
    try:
        return message, message.decode(data, decode_choices=False)
    except Exception:
        pass
    # a payload shorter than the DBC's length: cantools' decode of the signals wholly inside it
    if not 0 < len(data) < message.length:
        return None
    try:
        values = message.decode(data, decode_choices=False, allow_truncated=True)
    except Exception:
        return None
    return (message, values) if values else None


SERVER_MAIN = (
    "import runpy, sys\n"
    "sys.modules['asammdf'] = None\n"
    "sys.argv[0] = 'can_remote'\n"
    "runpy.run_module('can_remote', run_name='__main__', alter_sys=True)\n"
)
# the same for small sender scripts run in another process
FAST_CAN_IMPORT = "import sys\nsys.modules['asammdf'] = None\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RemoteServer:
    """A real `python -m can_remote` bus server on a free loopback port; stop() ends it."""

    def __init__(self, channel: str = "test", port: int | None = None) -> None:
        self.channel = channel
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def spec(self) -> str:
        return f"remote:{self.url}"

    def start(self) -> "RemoteServer":
        # `python -m can_remote ...`, with python-can's slow asammdf import skipped (MF4 is not needed here)
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVER_MAIN, "-i", "virtual", "-c", self.channel, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("can_remote server exited at start")
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("can_remote server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def __enter__(self) -> "RemoteServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_until(predicate, timeout: float = 10.0, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
