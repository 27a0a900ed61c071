"""SimulatedVehicle + bus -> a running vehicle: frames sent at their cycle times, OBD-II answered, other senders noticed.

Two threads: one sends (the physics ticks every 10 ms of wall-clock time), one reads the bus and hands
requests to the simulated ECUs. Before sending anything the simulator listens for a moment: if frames
with its own IDs are already on the bus, another simulator (or a real car) is there and it refuses.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import can

from rag_car.errors import BusError
from rag_car.vehicle.diagnostics.ecu import EcuView, ObdEcu
from rag_car.vehicle.profile import VehicleProfile, load_profile
from rag_car.vehicle.simulator.scenario import Scenario, load_scenario
from rag_car.vehicle.simulator.simulated import SimulatedVehicle, load_vehicle_db

TICK_S = 0.01
PROBE_S = 0.4


class Simulator:
    """Runs a SimulatedVehicle on ``bus`` (an open python-can bus the caller owns).

    ``probe_s``: how long to listen for another sender of the vehicle's frames before starting
    (0 skips the check). ``warn``: called with a message when another sender shows up later.
    ``obd_values``: when given, the engine ECU's service 01 values come from it (a real drive replayed,
    see obd_replay) instead of the physics; DTCs and the MIL still follow the scenario.
    """

    def __init__(self, vehicle: SimulatedVehicle, bus: can.BusABC, *, bus_name: str = "the bus",
                 probe_s: float = PROBE_S, warn: Callable[[str], None] | None = None,
                 obd_values: Callable[[], dict[str, float]] | None = None) -> None:
        self.vehicle = vehicle
        self.bus = bus
        self.bus_name = bus_name
        self.probe_s = probe_s
        self.warn = warn or (lambda text: print(f"warning: {text}", file=sys.stderr))
        self.frames_sent = 0
        self.send_errors = 0
        self.foreign_frames = 0
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._warned = False
        self.failure: BusError | None = None
        self.obd_values = obd_values
        self.ecus = {name: ObdEcu(self.send, self._view(name), index=index) for name, index in vehicle.ecus.items()}
        self._ecu_by_id = {}
        for ecu in self.ecus.values():
            self._ecu_by_id[ecu.request_id] = [ecu]
        self._functional = list(self.ecus.values())
        self._own_ids = set(vehicle.frame_ids) | {ecu.response_id for ecu in self.ecus.values()}

    def send(self, msg: can.Message) -> None:
        """Put one frame on the bus (thread-safe; the ISO-TP threads use it too)."""
        with self._send_lock:
            try:
                self.bus.send(msg)
                self.frames_sent += 1
            except (can.CanError, OSError, ValueError):
                self.send_errors += 1

    def _view(self, name: str) -> EcuView:
        view = self.vehicle.ecu_view(name)
        if self.obd_values is not None and self.vehicle.ecus.get(name) == 0:
            view = replace(view, values=self.obd_values())
        return view

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> "Simulator":
        """Check that nobody else sends the vehicle's frames, then start sending. Raises BusError if someone does."""
        if self.probe_s > 0:
            self._probe()
        self._stop.clear()
        for ecu in self.ecus.values():
            ecu.start()
        self._threads = [threading.Thread(target=self._read_loop, name="sim-reader", daemon=True),
                         threading.Thread(target=self._send_loop, name="sim-sender", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(2)
        self._threads = []
        for ecu in self.ecus.values():
            ecu.stop()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def run(self, duration_s: float | None = None, stop: threading.Event | None = None) -> None:
        """Run in the calling thread until ``duration_s`` passed, ``stop`` is set, or Ctrl-C."""
        self.start()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        try:
            while deadline is None or time.monotonic() < deadline:
                if (stop is not None and stop.is_set()) or self.failure is not None:
                    break
                time.sleep(0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic())))
        finally:
            self.stop()
        if self.failure is not None:
            raise self.failure

    def _probe(self) -> None:
        deadline = time.monotonic() + self.probe_s
        seen: set[int] = set()
        while time.monotonic() < deadline:
            try:
                msg = self.bus.recv(timeout=max(0.0, deadline - time.monotonic()))
            except (can.CanError, OSError) as exc:
                raise BusError(f"cannot read {self.bus_name} ({exc})", "check the bus spec") from exc
            if msg is not None and not msg.is_extended_id and msg.arbitration_id in self.vehicle.frame_ids:
                seen.add(msg.arbitration_id)
                if len(seen) >= 2:
                    break
        if seen:
            ids = ", ".join(f"0x{i:03X}" for i in sorted(seen))
            raise BusError(
                f"another vehicle is already sending on {self.bus_name}: frames {ids} came from someone else "
                f"within {self.probe_s:g} s (a second `rag-car simulate`, or a real car)",
                "stop the other simulator, or give this one its own bus (e.g. --bus virtual:other, or another --serve port)",
            )

    # --- the two threads -----------------------------------------------------------------------------
    def _send_loop(self) -> None:
        vehicle = self.vehicle
        last = time.monotonic()
        next_tick = last
        while not self._stop.is_set():
            now = time.monotonic()
            vehicle.advance(now - last)
            last = now
            for name, ecu in self.ecus.items():
                ecu.view = self._view(name)
            for frame in vehicle.frames_due(now):
                self.send(frame)
            next_tick += TICK_S
            delay = next_tick - time.monotonic()
            if delay < -0.2:  # fell far behind (a busy machine): do not try to catch up in a burst
                next_tick = time.monotonic()
            elif delay > 0:
                self._stop.wait(delay)

    def _read_loop(self) -> None:
        errors = 0
        while not self._stop.is_set():
            try:
                msg = self.bus.recv(timeout=0.05)
                errors = 0
            except Exception as exc:  # a remote bus whose server went away raises its own types
                errors += 1
                if errors >= 20:
                    self.failure = BusError(f"lost {self.bus_name} ({type(exc).__name__}: {exc})",
                                            "restart the simulator once the bus (or its server) is back")
                    self._stop.set()
                    return
                self._stop.wait(0.1)
                continue
            if msg is None or msg.is_error_frame:
                continue
            if not msg.is_extended_id:
                if msg.arbitration_id == 0x7DF:
                    for ecu in self._functional:
                        ecu.feed(msg)
                    continue
                targets = self._ecu_by_id.get(msg.arbitration_id)
                if targets:
                    for ecu in targets:
                        ecu.feed(msg)
                    continue
                if msg.arbitration_id in self._own_ids:
                    self.foreign_frames += 1
                    if not self._warned and self.foreign_frames >= 3:
                        self._warned = True
                        self.warn(f"someone else is sending this vehicle's frames on {self.bus_name} "
                                  f"(0x{msg.arbitration_id:03X}): two simulators on one bus give readers mixed values")


def build_vehicle(scenario: str | Path | Scenario, *, dbc: Path | str | None = None,
                  vehicle: VehicleProfile | Path | str | None = None,
                  profile: str | None = None, time_scale: float = 1.0, extra_dirs: list[Path] | None = None,
                  seed: int = 7) -> SimulatedVehicle:
    """A SimulatedVehicle from names and paths (defaults: the bundled DBC and the bundled vehicle profile,
    knowledge/facts.toml). ``vehicle``: a VehicleProfile or a profile TOML file."""
    from rag_car.settings import BUNDLED_DBC_DIR

    if dbc is None:
        found = sorted(BUNDLED_DBC_DIR.glob("*.dbc"))
        if not found:
            raise BusError("no DBC in the bundled dbc/ folder", "restore dbc/ from the repository or pass --dbc")
        dbc = found[0]
    db = load_vehicle_db(dbc)
    if not isinstance(vehicle, VehicleProfile):
        from rag_car.settings import BUNDLED_KNOWLEDGE
        from rag_car.vehicle.profile import BUNDLED_NAME

        path = Path(vehicle) if vehicle else BUNDLED_KNOWLEDGE / "facts.toml"
        vehicle = load_profile(path, name=BUNDLED_NAME if path == BUNDLED_KNOWLEDGE / "facts.toml" else None,
                               check_files=False)
    chosen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario, extra_dirs)
    return SimulatedVehicle(db, vehicle, chosen, profile=profile, time_scale=time_scale, seed=seed)


@contextlib.contextmanager
def open_simulator(bus: can.BusABC, scenario: str | Path | Scenario = "normal", **options: Any) -> Iterator[Simulator]:
    """Run a simulated vehicle on ``bus`` until the block ends (for tests and embedding).

    ``options``: those of :func:`build_vehicle` (dbc, vehicle, profile, time_scale, ...) and of Simulator
    (bus_name, probe_s, warn).
    """
    runtime_keys = {"bus_name", "probe_s", "warn", "obd_values"}
    vehicle = build_vehicle(scenario, **{k: v for k, v in options.items() if k not in runtime_keys})
    simulator = Simulator(vehicle, bus, **{k: v for k, v in options.items() if k in runtime_keys})
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()
