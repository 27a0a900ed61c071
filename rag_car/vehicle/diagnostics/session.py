"""Bus frames -> the DTC, lamp and vehicle parts of a LiveState: every diagnostic source on one bus, wired together.

Passive sources (the DTC broadcast, lamp signals, VIN broadcast, J1939 DM1 and vehicle identification)
only listen. OBD-II polling transmits, so it is opt-in: :meth:`DiagnosticsSession.start_polling`, or
``settings.can.poll_obd`` with :func:`attach`. The session is a python-can Listener; add
``session.listeners`` to the Notifier (or the Feed) that feeds the LiveState.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import can

from rag_car.vehicle.diagnostics.broadcast import BroadcastDecoder
from rag_car.vehicle.diagnostics.j1939 import LAMPS as J1939_LAMPS
from rag_car.vehicle.diagnostics.j1939 import (
    DM1_PGN, VEHICLE_ID_PGN, Dm1, TransportReassembler, decode_dm1, decode_vehicle_identification,
)
from rag_car.vehicle.diagnostics.obd import (
    DTC_SERVICES, DEFAULT_POLL_PIDS, NegativeResponseError, NoResponseError, ObdClient, ObdError,
)
from rag_car.vehicle.diagnostics.readings import SOURCE as PID_SOURCE
from rag_car.vehicle.diagnostics.readings import pid_readings
from rag_car.vehicle.diagnostics.vin import decode_vin
from rag_car.vehicle.live import DtcReading, LampReading

if TYPE_CHECKING:
    from rag_car.vehicle.profile import Garage, Resolution, VehicleProfile

OBD_STATUS = {"obd-03": "stored", "obd-07": "pending", "obd-0a": "permanent"}


class DiagnosticsSession(can.Listener):
    """Keeps ``state`` (a LiveState) told about DTCs, lamps and the vehicle, from every source on the bus.

    ``profile``: the vehicle profile in force (its lamps, DTC descriptions, broadcasts and ECU names; None: no
    vehicle's facts). ``garage``/``picked``: the profiles a VIN heard on the bus is resolved against, and the
    user's pick; a VIN that is another vehicle's switches to that vehicle's profile, or to none -- never keeps
    this one's facts (default garage: just ``profile``).
    ``db``: the DBC database (a VehicleDb or cantools Database) holding the profile's broadcast messages;
    None skips the broadcast sources. Polling parameters: ``pid_interval_s`` between service 01 reads,
    ``dtc_interval_s`` between service 03/07/0A reads, ``timeout_s`` per request, ``min_interval_s``
    between two requests (the rate limit), ``idle_backoff_s`` after a round no ECU answered.
    """

    def __init__(self, state: Any, profile: "VehicleProfile | None", db: Any = None, *, bus_name: str = "the bus",
                 garage: "Garage | None" = None, picked: str | None = None,
                 pid_interval_s: float = 1.0, dtc_interval_s: float = 2.0, timeout_s: float = 0.5,
                 min_interval_s: float = 0.1, idle_backoff_s: float = 5.0, cf_timeout_ms: int = 1000) -> None:
        from rag_car.vehicle.profile import Garage

        self.state = state
        self.profile = profile
        self.garage = garage if garage is not None else Garage((profile,) if profile is not None else ())
        self.picked = picked if picked is not None else (profile.name if profile is not None else None)
        self.db = db
        self.bus_name = bus_name
        self.broadcast = BroadcastDecoder(db, profile) if db is not None else None
        self.j1939 = TransportReassembler()
        self.dm1_latest: dict[int, Dm1] = {}
        self.dm1_malformed = 0
        self.listeners = [self]
        self.pid_interval_s = pid_interval_s
        self.dtc_interval_s = dtc_interval_s
        self.timeout_s = timeout_s
        self.min_interval_s = min_interval_s
        self.idle_backoff_s = idle_backoff_s
        self.cf_timeout_ms = cf_timeout_ms
        self.obd: ObdClient | None = None
        self.pid_values: dict[str, dict[str, Any]] = {}
        self.poll_errors: dict[str, str] = {}
        self.polls = 0
        self._lock = threading.Lock()
        self._broadcast_lamps: dict[str, str] = {}
        self._dm1_lamps: dict[int, dict[str, str]] = {}
        self._obd_mil: bool | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._vin_sources: dict[str, str] = {}
        self._obd_from_feed = True
        self._own_bus = None
        self._own_notifier = None

    # --- passive: every frame ---------------------------------------------------------------------
    def on_message_received(self, msg: can.Message) -> None:
        try:
            self._on_frame(msg)
        except Exception:  # a frame must never stop the bus thread; the decoders count their own errors
            pass

    def _on_frame(self, msg: can.Message) -> None:
        if self.obd is not None and self._obd_from_feed:
            self.obd.feed(msg)
        if msg.is_extended_id:
            for group in self.j1939.feed(msg):
                if group.pgn == DM1_PGN:
                    try:
                        dm1 = decode_dm1(group.data, group.source)
                    except ValueError:
                        self.dm1_malformed += 1
                        continue
                    self._on_dm1(dm1)
                elif group.pgn == VEHICLE_ID_PGN:
                    vin = decode_vehicle_identification(group.data)
                    if vin:
                        self._on_vin(vin, f"j1939 SA 0x{group.source:02X}")
            return
        if self.broadcast is None:
            return
        changed = self.broadcast.feed(msg)
        if changed == "dtcs":
            self.state.set_dtcs("broadcast", [
                DtcReading(code=d.code, source="broadcast", description=self._describe(d.code),
                           status=d.status, ecu=d.ecu or None)
                for d in self.broadcast.dtcs()])
        elif changed == "lamps":
            with self._lock:
                self._broadcast_lamps = self.broadcast.lamps()
            self._publish_lamps()
        elif changed == "vin":
            vin = self.broadcast.vin()
            if vin:
                self._on_vin(vin, "broadcast")

    def _on_dm1(self, dm1: Dm1) -> None:
        with self._lock:
            self._dm1_lamps[dm1.source] = dict(dm1.lamps)
            self.dm1_latest[dm1.source] = dm1
            everyone = dict(self.dm1_latest)
        readings = [DtcReading(code=d.code, source="j1939-dm1", description=d.describe(), status="active",
                               ecu=f"SA 0x{source:02X}")
                    for source, message in sorted(everyone.items()) for d in message.dtcs]
        self.state.set_dtcs("j1939-dm1", readings)
        self._publish_lamps()

    def _on_vin(self, vin: str, source: str) -> None:
        if self._vin_sources.get(source) == vin:
            return
        self._vin_sources[source] = vin
        self._resolve(vin)
        info = decode_vin(vin, self.profile).to_vehicle()
        info["vin_source"] = source
        self.state.set_vehicle(info)

    def pick(self, name: str | None) -> "Resolution":
        """The user picked profile ``name`` (None: no pick): resolve again with the last VIN heard and apply it."""
        self.picked = name or None
        vin = next(reversed(self._vin_sources.values()), None) if self._vin_sources else None
        resolution = self.garage.resolve(vin=vin, picked=self.picked, dbc=self._dbc_files())
        self._apply(resolution)
        return resolution

    def _resolve(self, vin: str) -> None:
        """The profile in force for the VIN now heard: switch to it (or to none) when it is not the current one."""
        resolution = self.garage.resolve(vin=vin, picked=self.picked, dbc=self._dbc_files())
        if resolution.profile is self.profile and not resolution.notes:
            return
        self._apply(resolution)

    def _apply(self, resolution: "Resolution") -> None:
        with self._lock:
            changed = resolution.profile is not self.profile
            self.profile = resolution.profile
            if changed and self.db is not None:
                self.broadcast = BroadcastDecoder(self.db, self.profile)
                self._broadcast_lamps = {}
        if changed and self.db is not None:  # what the previous profile's broadcast said is not this vehicle's
            self.state.set_dtcs("broadcast", [])
        set_profile = getattr(self.state, "set_profile", None)
        if callable(set_profile):
            set_profile(resolution.profile, resolution.how, resolution.notes)
        if changed:
            self._publish_lamps()

    def _dbc_files(self) -> list[str]:
        files = getattr(self.db, "files", None) or []
        return [str(getattr(f, "path", f)) for f in files]

    def _describe(self, code: str) -> str:
        return self.profile.describe_dtc(code) if self.profile is not None else ""

    def _lamp_facts(self) -> dict[str, Any]:
        return dict(self.profile.lamps) if self.profile is not None else {}

    def _publish_lamps(self) -> None:
        with self._lock:
            lamps: list[LampReading] = []
            shown = set()
            facts = self._lamp_facts()
            for key, fact in facts.items():
                if key in self._broadcast_lamps:
                    lamps.append(LampReading(key, fact.name, self._broadcast_lamps[key]))
                    shown.add(key)
            if "check_engine" not in shown and self._obd_mil is not None:
                name = facts["check_engine"].name if "check_engine" in facts else "Check-engine lamp (MIL)"
                lamps.append(LampReading("check_engine", name, "on" if self._obd_mil else "off"))
            for source, states in sorted(self._dm1_lamps.items()):
                for key, name, _shift in J1939_LAMPS:
                    if key in states:
                        lamps.append(LampReading(f"j1939_{key}_{source:02x}", f"{name} (J1939 SA 0x{source:02X})", states[key]))
        self.state.set_lamps(lamps)

    # --- active: OBD-II polling (opt-in) ----------------------------------------------------------
    def start_polling(self, send: Callable[[can.Message], None]) -> None:
        """Start polling OBD-II services 01, 03, 07, 0A and 09 in a background thread; ``send`` transmits one frame."""
        if self._thread is not None:
            return
        self.obd = ObdClient(send, timeout_s=self.timeout_s, min_interval_s=self.min_interval_s,
                             cf_timeout_ms=self.cf_timeout_ms, bus_name=self.bus_name).start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll_loop, name="obd-poller", daemon=True)
        self._thread.start()

    def start_polling_bus(self, spec: str) -> None:
        """Poll over a connection of the session's own to the bus ``spec`` (remote, virtual, socketcan share the bus)."""
        from rag_car.vehicle.bus import create_bus

        bus = create_bus(spec)
        self._own_bus = bus
        self._obd_from_feed = False
        self._own_notifier = can.Notifier(bus, [_Forward(self)], timeout=0.05)
        # a caller that only holds the listeners (`rag-car monitor`) never calls stop(): close the connection at
        # exit anyway, so that a remote server sees a clean goodbye instead of a reset socket
        atexit.register(self.stop)
        self.start_polling(bus.send)

    def stop(self) -> None:
        atexit.unregister(self.stop)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self.obd is not None:
            self.obd.stop()
            self.obd = None
        if self._own_notifier is not None:
            self._own_notifier.stop(timeout=1.0)
            self._own_notifier = None
        if self._own_bus is not None:
            try:
                self._own_bus.shutdown()
            except Exception:  # a bus that already went away
                pass
            self._own_bus = None

    close = stop

    def _poll_loop(self) -> None:
        next_pids = next_dtcs = 0.0
        vin_done = False
        while not self._stop.is_set():
            now = time.monotonic()
            answered = False
            tried = False
            if not vin_done:
                tried = True
                vin_done = answered = self._poll("vin", lambda _problems: self._read_vin()) or answered
            if now >= next_pids:
                tried = True
                answered = self._poll("pids", self._read_pids) or answered
                next_pids = now + self.pid_interval_s
            if now >= next_dtcs:
                tried = True
                for service, source in DTC_SERVICES.items():
                    answered = self._poll(source, lambda problems, s=service, src=source: self._read_dtcs(s, src, problems)) \
                        or answered
                next_dtcs = now + self.dtc_interval_s
            if tried:
                self.polls += 1
                self._publish_poll_status()
            if tried and not answered:
                # nobody answers: do not keep a silent bus busy
                next_pids = next_dtcs = time.monotonic() + self.idle_backoff_s
            wait = max(0.02, min(next_pids, next_dtcs) - time.monotonic())
            self._stop.wait(wait)

    def _poll(self, what: str, read: Callable[[list], None]) -> bool:
        """Run one read; record why it failed, or which ECUs refused while others answered.
        True when some ECU answered (even with a refusal)."""
        problems: list = []
        try:
            read(problems)
            if problems:
                self.poll_errors[what] = "; ".join(r.describe() for r in problems) + " (the other ECUs answered)"
            else:
                self.poll_errors.pop(what, None)
            return True
        except NegativeResponseError as exc:
            self.poll_errors[what] = exc.message
            return True
        except NoResponseError as exc:
            self.poll_errors[what] = exc.message
            return False
        except ObdError as exc:
            self.poll_errors[what] = exc.message
            return True
        except Exception as exc:  # the bus went away under us: say so, try again later
            self.poll_errors[what] = f"cannot send on {self.bus_name}: {type(exc).__name__}: {exc}"
            return False

    def _read_vin(self) -> None:
        assert self.obd is not None
        self._on_vin(self.obd.read_vin(), "obd-09")

    def _read_pids(self, problems: list | None = None) -> None:
        assert self.obd is not None
        values, monitors = self.obd.read_pids(DEFAULT_POLL_PIDS, problems=problems)
        self.pid_values = {f"{v.key}@{v.ecu:03X}": {"name": v.name, "value": v.value, "unit": v.unit, "ecu": self._ecu(v.ecu)}
                           for v in values}
        set_readings = getattr(self.state, "set_readings", None)
        if set_readings is not None:
            # first-class readings ("OBD.EngineSpeed"): stale once a few polls in a row brought nothing new
            readings = pid_readings(values, monitors, self._ecu_names(), getattr(self.state, "normal_ranges", None))
            set_readings(PID_SOURCE, readings, stale_s=3 * self.pid_interval_s + 2 * self.timeout_s)
        if monitors:
            with self._lock:
                self._obd_mil = any(m.mil_on for m in monitors)
            self._publish_lamps()

    def _read_dtcs(self, service: int, source: str, problems: list | None = None) -> None:
        assert self.obd is not None
        try:
            found = self.obd.read_dtcs(service, problems=problems)
        except NegativeResponseError:
            self.state.set_dtcs(source, [])
            raise
        self.state.set_dtcs(source, [
            DtcReading(code=d.code, source=source, description=self._describe(d.code), status=OBD_STATUS[source],
                       ecu=self._ecu(d.ecu))
            for d in found])

    def _ecu(self, response_id: int) -> str:
        return self._ecu_names().get(response_id, f"0x{response_id:03X}")

    def _ecu_names(self) -> dict[int, str]:
        """Response id -> ECU name from the profile in force; none without one (0x7E8 is "0x7E8", not a guess)."""
        return self.profile.ecu_names() if self.profile is not None else {}

    def _publish_poll_status(self) -> None:
        obd = self.obd
        self.state.set_bus(obd={
            "polling": True, "polls": self.polls, "ecus": [self._ecu(e) for e in (obd.ecus if obd else [])],
            "requests": obd.requests_sent if obd else 0, "values": dict(self.pid_values), "errors": dict(self.poll_errors),
        })


class _Forward(can.Listener):
    """Answers heard on the session's own connection go to its OBD client only (the feed decodes the rest)."""

    def __init__(self, session: DiagnosticsSession) -> None:
        self.session = session

    def on_message_received(self, msg: can.Message) -> None:
        obd = self.session.obd
        if obd is not None:
            obd.feed(msg)


def attach_passive(settings: Any, state: Any) -> DiagnosticsSession:
    """A listening-only session for ``state`` (a LiveState): add ``session.listeners`` to its feed. It starts with
    the state's profile and resolves the settings' garage against any VIN it hears."""
    from rag_car.vehicle.profile import garage_for

    garage = garage_for(settings)
    picked = settings.vehicle.profile or None
    db = getattr(state, "db", None)
    profile = getattr(state, "profile", None)
    if profile is None:  # a state built without one: the pick, else the profile of its DBC files
        files = [str(getattr(f, "path", f)) for f in getattr(db, "files", None) or []]
        resolution = garage.resolve(picked=picked, dbc=files)
        profile = resolution.profile
        set_profile = getattr(state, "set_profile", None)
        if profile is not None and callable(set_profile):
            set_profile(profile, resolution.how, resolution.notes)
    return DiagnosticsSession(state, profile, db=db, bus_name=str(getattr(getattr(settings, "can", None), "bus", "the bus")),
                              garage=garage, picked=picked)


def attach(settings: Any, state: Any, send: Callable[[can.Message], None] | None = None) -> DiagnosticsSession:
    """Like :func:`attach_passive`, and polls OBD-II when ``settings.can.poll_obd`` is on.

    Polling sends through ``send`` when given (the caller then feeds the session every frame); without
    it the session opens its own connection to ``settings.can.bus`` to send and hear the answers.
    """
    session = attach_passive(settings, state)
    # an elm327: feed polls OBD-II itself (Elm327Feed); polling here would need a CAN bus
    if getattr(settings.can, "poll_obd", False) and not str(settings.can.bus).lower().startswith("elm327:"):
        if send is not None:
            session.start_polling(send)
        else:
            session.start_polling_bus(settings.can.bus)
    return session


def diagnostic_listeners(state: Any, settings: Any) -> list:
    """The listeners `rag-car monitor` adds to its feed (the session itself; it polls when can.poll_obd is on)."""
    return attach(settings, state).listeners


class FeedSender:
    """``send`` for :meth:`DiagnosticsSession.start_polling` over a reconnecting Feed (its bus may change or be away)."""

    def __init__(self, feed: Any) -> None:
        self.feed = feed

    def __call__(self, msg: can.Message) -> None:
        bus = getattr(self.feed, "bus", None)
        if bus is None:
            raise ConnectionError(f"bus {getattr(self.feed, 'spec', '')} is not connected")
        bus.send(msg)
