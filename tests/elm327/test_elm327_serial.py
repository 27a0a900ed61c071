"""A serial adapter on a pseudo-terminal, through pyserial: the baud rate is found when the spec does not give it.

The adapter side is the simulator face's ELM327 state machine on the pty's master end; it understands only bytes
sent at its own baud rate (what it gets at any other rate is noise to it, and it answers with noise)."""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading

import pytest

from rag_car.errors import BusError
from rag_car.vehicle.diagnostics.ecu import EcuView
from rag_car.vehicle.elm327.adapter import open_adapter
from rag_car.vehicle.simulator.elm327_face import AdapterState, Answerer
from rag_car.vehicle.spec import parse_bus_spec

SPEEDS = {9600: termios.B9600, 38400: termios.B38400, 115200: termios.B115200}


@contextlib.contextmanager
def pty_adapter(baud: int):
    master, slave = os.openpty()
    name = os.ttyname(slave)
    view = EcuView(values={"engine_speed": 1726.0, "coolant_temp": 83.0}, stored=("P0301",), mil_on=True)
    state = AdapterState(Answerer(lambda: [(0x7E0, view)]))
    stop = threading.Event()

    def serve() -> None:
        buffer = b""
        while not stop.is_set():
            if not select.select([master], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(master, 1024)
            except OSError:
                return
            if termios.tcgetattr(master)[4] != SPEEDS[baud]:
                os.write(master, b"\xf8\x80\xfe\x00")  # a UART at the wrong rate reads and writes noise
                continue
            buffer += data
            while b"\r" in buffer:
                line, buffer = buffer.split(b"\r", 1)
                os.write(master, state.handle(line.decode("ascii", "replace")).encode("ascii"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield name
    finally:
        stop.set()
        thread.join(2)
        os.close(master)
        os.close(slave)


@pytest.mark.parametrize("baud", [9600, 115200])
def test_elm327_serial_adapter_baud_rate_is_found(baud):
    with pty_adapter(baud) as port:
        adapter = open_adapter(parse_bus_spec(f"elm327:{port}"), timeout_s=1.0)
        try:
            assert adapter.link.baud == baud and adapter.info.version == "ELM327 v1.5"
            values, monitors = adapter.read_pids([0x01, 0x0C, 0x05])
            assert {v.key: v.value for v in values} == {"engine_speed": 1726.0, "coolant_temp": 83}
            assert [d.code for d in adapter.read_dtcs(0x03)] == ["P0301"] and monitors[0].mil_on
        finally:
            adapter.close()


def test_elm327_serial_adapter_at_an_unusual_rate_says_so():
    with pty_adapter(38400) as port:
        adapter = open_adapter(parse_bus_spec(f"elm327:{port}?baud=38400"), timeout_s=1.0)  # given: used as is
        adapter.close()
        with pytest.raises(BusError) as info:
            open_adapter(parse_bus_spec(f"elm327:{port}?baud=9600"), timeout_s=0.3)  # given wrong: no prompt
        assert port in info.value.message and "?baud=" in info.value.fix
