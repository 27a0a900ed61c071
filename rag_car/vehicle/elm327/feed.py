"""elm327: spec + LiveState -> Elm327Feed: an adapter polled in the background, feeding the same state a CAN bus feeds.

Per connection: open the port, set the adapter up, find the supported PIDs (01 00/20/40/...), read the DTCs
(03/07/0A) and the MIL, then the live PIDs, the VIN (09 02) and the freeze frame (02); after that the live PIDs
as fast as the adapter answers (no faster than ``min_round_s``) and the DTCs every ``dtc_interval_s``. The
bus section of the state carries a ``progress`` step the UI shows while this happens. A lost adapter marks every
reading stale ("reconnecting") and is reopened with exponential backoff; nothing here raises once started.

The public surface is the CAN Feed's (start, stop, connected, error, ended, reconnects), so callers hold either.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from rag_car.errors import BusError, RagCarError
from rag_car.vehicle.diagnostics.obd import (
    DEFAULT_POLL_PIDS, DTC_KIND, DTC_SERVICES, MONITOR_STATUS, PIDS, NoResponseError, ObdError,
)
from rag_car.vehicle.diagnostics.readings import SOURCE as PID_SOURCE
from rag_car.vehicle.diagnostics.readings import pid_readings
from rag_car.vehicle.diagnostics.vin import decode_vin
from rag_car.vehicle.elm327.adapter import AdapterError, AdapterTimeout, Elm327, open_adapter
from rag_car.vehicle.elm327.link import AdapterGone
from rag_car.vehicle.live import DtcReading, LampReading
from rag_car.vehicle.spec import BusSpec, parse_bus_spec

if TYPE_CHECKING:
    from rag_car.vehicle.profile import VehicleProfile

# the steps the live page shows while an adapter comes up, in order
PROGRESS = ("opening port", "initialising adapter", "finding supported PIDs", "reading trouble codes",
            "reading live data", "live")
STALLS_BEFORE_RECONNECT = 4  # prompts missed in a row (two requests, each asked twice) before the link counts as lost
MAX_LIVE_PIDS = 32  # one round's PIDs (six requests when the ECU takes six at a time); more would age each reading


@dataclass(frozen=True)
class PollPlan:
    """What one adapter is asked, worked out from its supported PIDs."""

    live: tuple[int, ...]
    supported: frozenset[int]


def plan_polling(supported: set[int] | None) -> PollPlan:
    """The live PIDs to poll: the issue's first ones (obd.DEFAULT_POLL_PIDS) that the ECUs support, then every other
    supported PID we decode, up to MAX_LIVE_PIDS. Without a supported-PID answer: the default PIDs."""
    if not supported:
        return PollPlan(tuple(DEFAULT_POLL_PIDS), frozenset())
    first = [p for p in DEFAULT_POLL_PIDS if p in supported or p == MONITOR_STATUS and p in supported]
    rest = [p for p in sorted(supported) if p in PIDS and p not in first]
    return PollPlan(tuple((first + rest)[:MAX_LIVE_PIDS]), frozenset(supported))


class Elm327Feed:
    """Polls the adapter ``spec`` names and keeps ``state`` (a LiveState) current; see the module docstring.

    ``listeners`` are accepted for the CAN Feed's signature and unused: an adapter gives answers, not frames.
    ``profile``: the vehicle profile whose DTC descriptions, ECU and lamp names apply (default: the one the state
    holds at each moment, as the diagnostics session resolves it; None: no vehicle's facts, plain codes and IDs).
    ``link_factory``: opens the link (default: the spec's port, see elm327.link.open_link).
    """

    polls_obd = True  # this feed asks the OBD-II questions itself; nobody else must poll through it

    def __init__(self, spec: str | BusSpec, state: Any, *, listeners: list | None = None,
                 profile: "VehicleProfile | None" = None,
                 initial_backoff_s: float = 0.5, max_backoff_s: float = 8.0, retry_first: bool = False,
                 dtc_interval_s: float = 5.0, min_round_s: float = 0.2, timeout_s: float = 2.0,
                 idle_backoff_s: float = 3.0, search_timeout_s: float = 10.0,
                 link_factory: Callable[[BusSpec], Any] | None = None) -> None:
        self.spec = spec if isinstance(spec, BusSpec) else parse_bus_spec(spec)
        if self.spec.kind != "elm327":
            raise BusError(f"{self.spec} is not an elm327: spec", "use elm327:/dev/ttyUSB0 or elm327:socket://HOST:PORT")
        self.state = state
        self._profile = profile
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.retry_first = retry_first
        self.dtc_interval_s = dtc_interval_s
        self.min_round_s = min_round_s
        self.timeout_s = timeout_s
        self.idle_backoff_s = idle_backoff_s
        self.search_timeout_s = search_timeout_s
        self.reconnects = 0
        self.rounds = 0
        self.pids_read = 0
        self.error: RagCarError | None = None
        self.adapter: Elm327 | None = None
        self.bus = None  # the CAN Feed's attribute: there is no python-can bus here
        self.poll_errors: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self._link_factory = link_factory
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._first_done = threading.Event()
        self.ended = threading.Event()  # never set: an adapter does not play out like a log
        self._thread = threading.Thread(target=self._run, name=f"rag-car elm327 {self.spec}", daemon=True)
        self._started_at = 0.0

    # --- the Feed surface --------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> "Elm327Feed":
        """Start; wait for the first connection attempt. Raises its BusError unless ``retry_first``."""
        self._started_at = time.monotonic()
        self.state.set_bus(spec=str(self.spec), state="connecting", reconnects=0, error=None)
        self._progress(0)
        self._thread.start()
        self._first_done.wait(timeout_s)
        if self.error is not None and not self.retry_first:
            self._stop.set()
            self._thread.join(2.0)
            raise self.error
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)
        self.state.set_bus(state="closed")

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def wait_ended(self, timeout_s: float | None = None) -> bool:
        return self.ended.wait(timeout_s)

    def wait_live(self, timeout_s: float) -> bool:
        """True once the adapter is up and polled: DTCs, first readings, VIN and freeze frame read."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self._stop.is_set():
            if "live_s" in self.timings:
                return True
            time.sleep(0.02)
        return "live_s" in self.timings

    # --- the loop ----------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = self.initial_backoff_s
        first = True
        while not self._stop.is_set():
            try:
                self._progress(0, state="connecting" if first else "reconnecting")
                link = self._link_factory(self.spec) if self._link_factory is not None else None
                self._progress(1)
                adapter = open_adapter(self.spec, timeout_s=self.timeout_s, search_timeout_s=self.search_timeout_s, link=link)
            except RagCarError as exc:
                self.error = exc
                self._first_done.set()
                if first and not self.retry_first:
                    self.state.set_bus(state="disconnected", error=exc.message, fix=exc.fix)
                    return
                self.state.set_bus(state="reconnecting", error=exc.message, fix=exc.fix)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
                continue
            first = False
            self.error = None
            self.adapter = adapter
            self._connected.set()
            self._first_done.set()
            self.state.set_bus(state="connected", error=None, fix=None, channel_info=adapter.info.version,
                               adapter=adapter.info.to_json(), connected_at=time.time(), reconnects=self.reconnects)
            try:
                self._session(adapter)
                backoff = self.initial_backoff_s
            except AdapterGone as exc:
                self.error = exc
                self.reconnects += 1
                self.state.set_bus(state="reconnecting", error=exc.message, fix=exc.fix, reconnects=self.reconnects)
            except Exception as exc:  # a bug must not kill the feed silently: report it and start over
                self.error = BusError(f"polling {self.spec} failed ({type(exc).__name__}: {exc})", "rag-car reconnects by itself")
                self.reconnects += 1
                self.state.set_bus(state="reconnecting", error=self.error.message, reconnects=self.reconnects)
            finally:
                self._connected.clear()
                self.adapter = None
                adapter.close()
            if self._stop.is_set():
                break
            self._stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        self.state.set_bus(state="closed")

    def _progress(self, step: int, **extra: Any) -> None:
        """The set-up step the live page shows: its name, its number and how many there are before "live"."""
        self.state.set_bus(progress=PROGRESS[step], progress_step=step, progress_steps=len(PROGRESS) - 1, **extra)

    def _mark(self, name: str) -> None:
        if name not in self.timings:
            self.timings[name] = round(time.monotonic() - self._started_at, 3)
            self.state.set_bus(timings=dict(self.timings))

    def _session(self, adapter: Elm327) -> None:
        """Discover, then poll until stopped; raises AdapterGone when the adapter goes away."""
        self._progress(2)
        supported = self._discover(adapter)
        while supported is None and not self._stop.is_set():
            # nobody answered 01 00: ignition off, or a vehicle that is not OBD-II; ask again now and then
            if adapter.consecutive_timeouts >= STALLS_BEFORE_RECONNECT:
                raise AdapterGone(f"{self.spec} stopped answering ({self.poll_errors.get('pids')})",
                                  "check the adapter's power and link; rag-car reconnects by itself")
            self._stop.wait(self.idle_backoff_s)
            supported = self._discover(adapter)
        if self._stop.is_set():
            return
        plan = plan_polling(supported)
        adapter.probe_multi_pid(list(plan.live))
        adapter.describe_protocol()
        self.state.set_bus(adapter=adapter.info.to_json(), error=None, fix=None,
                           obd={"supported_pids": [f"{p:02X}" for p in sorted(plan.supported)],
                                "pids_per_request": adapter.pids_per_request})
        self._progress(3)
        self._read_dtcs(adapter)
        self._mark("first_dtcs_s")
        self._progress(4)
        self._read_live(adapter, plan)
        self._mark("first_readings_s")
        self._read_vehicle(adapter)
        self._read_freeze_frame(adapter)
        self._publish_status(adapter)
        self._progress(5)
        self._mark("live_s")
        next_dtcs = time.monotonic() + self.dtc_interval_s
        while not self._stop.is_set():
            started = time.monotonic()
            answered = self._read_live(adapter, plan)
            if started >= next_dtcs:
                self._read_dtcs(adapter)
                next_dtcs = started + self.dtc_interval_s
            self._publish_status(adapter)
            spent = time.monotonic() - started
            # as fast as the adapter answers, never faster than min_round_s; a silent vehicle is asked less often
            self._stop.wait(max(self.min_round_s - spent, 0.0) if answered else self.idle_backoff_s)

    def _discover(self, adapter: Elm327) -> set[int] | None:
        """The PIDs the ECUs support; None when no ECU answered (ignition off, CAN ERROR, BUS INIT ...ERROR), an
        empty set when the answer was garbled (then the default PIDs are polled and each answer speaks for itself)."""
        try:
            found = adapter.supported_pids()
        except (AdapterTimeout, NoResponseError, AdapterError) as exc:
            self.poll_errors["pids"] = exc.message
            self.state.set_bus(error=exc.message, fix=exc.fix)
            return None
        except ObdError as exc:
            self.poll_errors["pids"] = exc.message
            return set()
        self.poll_errors.pop("pids", None)
        return set().union(*found.values()) if found else set()

    def _guard(self, what: str, read: Callable[[], Any]) -> tuple[bool, Any]:
        """Run one read; (True, result) when some ECU answered, (False, None) with the reason noted otherwise.
        AdapterGone passes through: the connection is over."""
        try:
            result = read()
        except AdapterGone:
            raise
        except AdapterTimeout as exc:
            self.poll_errors[what] = exc.message
            if self.adapter is not None and self.adapter.consecutive_timeouts >= STALLS_BEFORE_RECONNECT:
                raise AdapterGone(f"{self.spec} stopped answering ({exc.message})",
                                  "check the adapter's power and link; rag-car reconnects by itself") from exc
            return False, None
        except (ObdError, AdapterError) as exc:
            self.poll_errors[what] = exc.message
            return False, None
        self.poll_errors.pop(what, None)
        return True, result

    def _read_live(self, adapter: Elm327, plan: PollPlan) -> bool:
        pids = [MONITOR_STATUS, *plan.live] if MONITOR_STATUS not in plan.live else list(plan.live)
        ok, result = self._guard("pids", lambda: adapter.read_pids(pids))
        if not ok:
            return False
        values, monitors = result
        self.rounds += 1
        self.pids_read += len(values)
        readings = pid_readings(values, monitors, self._ecu_names(), getattr(self.state, "normal_ranges", None))
        # stale once a few rounds in a row brought nothing new (slow adapters take seconds per round)
        self.state.set_readings(PID_SOURCE, readings, stale_s=max(2.0, 3 * self.min_round_s + 2 * self.timeout_s))
        if monitors:
            self._publish_mil(any(m.mil_on for m in monitors))
        return True

    def _read_dtcs(self, adapter: Elm327) -> None:
        for service, source in DTC_SERVICES.items():
            ok, found = self._guard(source, lambda s=service: adapter.read_dtcs(s))
            if not ok:
                if source != "obd-03":
                    self.state.set_dtcs(source, [])  # pending/permanent codes are optional in J1979 before 2010
                continue
            self.state.set_dtcs(source, [
                DtcReading(code=d.code, source=source, description=self._describe(d.code),
                           status=DTC_KIND[service], ecu=self._ecu(d.ecu)) for d in found])

    def _read_vehicle(self, adapter: Elm327) -> None:
        ok, vin = self._guard("vin", adapter.read_vin)
        if ok and vin:
            info = decode_vin(vin, self.profile).to_vehicle()
            info["vin_source"] = "obd-09"
            self.state.set_vehicle(info)

    def _read_freeze_frame(self, adapter: Elm327) -> None:
        ok, frame = self._guard("freeze_frame", adapter.read_freeze_frame)
        if ok and frame is not None:
            self.state.set_bus(freeze_frame={
                "code": frame.code, "ecu": self._ecu(frame.ecu),
                "values": {v.name: f"{v.value:g} {v.unit}".strip() for v in frame.values}})

    def _publish_mil(self, on: bool) -> None:
        fact = self.profile.lamps.get("check_engine") if self.profile is not None else None
        name = fact.name if fact is not None else "Check-engine lamp (MIL)"
        self.state.set_lamps([LampReading("check_engine", name, "on" if on else "off")])

    def _publish_status(self, adapter: Elm327) -> None:
        self.state.set_bus(obd={
            "polling": True, "rounds": self.rounds, "requests": adapter.requests_sent, "pids_read": self.pids_read,
            "pids_per_request": adapter.pids_per_request, "ecus": [self._ecu(e) for e in adapter.ecus],
            "garbage_lines": adapter.garbage_lines, "errors": dict(self.poll_errors)})

    @property
    def profile(self) -> "VehicleProfile | None":
        """The profile in force: the one given, else the state's (which the diagnostics session keeps resolved)."""
        return self._profile if self._profile is not None else getattr(self.state, "profile", None)

    def _describe(self, code: str) -> str:
        return self.profile.describe_dtc(code) if self.profile is not None else ""

    def _ecu_names(self) -> dict[int, str]:
        return self.profile.ecu_names() if self.profile is not None else {}

    def _ecu(self, response_id: int) -> str:
        return self._ecu_names().get(response_id, f"0x{response_id:03X}")

