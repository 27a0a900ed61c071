"""`rag-car simulate`: a simulated vehicle on a CAN bus, with a scenario's faults; `--list` shows the scenarios."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Optional

import typer

from rag_car.cli.state import state

PROFILES = ("city", "highway", "idle")


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        ctx: typer.Context,
        scenario: Optional[str] = typer.Option(None, "--scenario", "-s", help="A scenario name (see --list) or a path to your own "
                                               ".toml file. Default: can.scenario of the settings (normal)."),
        bus: Optional[str] = typer.Option(None, "--bus", help="Bus spec to send on (default: can.bus of the settings, virtual:rag-car)."),
        serve: Optional[str] = typer.Option(None, "--serve", help="HOST:PORT: serve the simulated bus to other processes "
                                            "(they use --bus remote:ws://HOST:PORT/)."),
        duration: Optional[float] = typer.Option(None, "--duration", help="Stop after this many seconds (default: until Ctrl-C)."),
        speed_profile: Optional[str] = typer.Option(None, "--speed-profile", help="city, highway or idle (default: the scenario's)."),
        time_scale: float = typer.Option(1.0, "--time-scale", help="Run scenario time this many times faster (20: a 60 s fault in 3 s)."),
        dbc: Optional[Path] = typer.Option(None, "--dbc", help="The vehicle's DBC (default: the bundled dbc/*.dbc)."),
        list_only: bool = typer.Option(False, "--list", help="List the scenarios, one line each, and exit."),
        elm327: Optional[str] = typer.Option(None, "--elm327", help="[HOST:]PORT: also answer as an ELM327 OBD-II adapter "
                                             "on TCP (for OBD apps; clients use elm327:socket://HOST:PORT). Loopback "
                                             "unless you give another address (then with a warning)."),
        obd_replay: Optional[Path] = typer.Option(None, "--obd-replay", help="A CSV of real OBD-II readings (one row a "
                                                  "second, e.g. the carOBD logs): the engine ECU answers service 01 from it."),
    ) -> None:
        """Run a believable simulated vehicle: the DBC's messages at their cycle times, OBD-II answers, a scenario's faults.

        Examples:
          rag-car simulate --list
          rag-car simulate --scenario overheating --serve 127.0.0.1:54701
          rag-car monitor --bus remote:ws://127.0.0.1:54701/     (in another terminal)
          rag-car simulate --scenario misfire --duration 30 --time-scale 10 --bus virtual:test
          rag-car simulate --scenario misfire --elm327 127.0.0.1:35000
          rag-car monitor --bus elm327:socket://127.0.0.1:35000     (in another terminal)
          rag-car simulate --elm327 127.0.0.1:35000 --obd-replay drive1.csv
        """
        from rag_car.vehicle.simulator.scenario import available_scenarios, load_scenario

        app_state = state(ctx)
        settings = app_state.settings({"can": {"bus": bus, "scenario": scenario}})
        extra = [settings.data_dir / "scenarios"]
        if list_only:
            known = available_scenarios(extra)
            width = max(len(name) for name in known) if known else 0
            for name, path in known.items():
                try:
                    summary = load_scenario(path).summary
                except Exception as exc:  # a broken user file is listed with its problem, not fatal to --list
                    summary = f"(cannot be read: {exc})"
                typer.echo(f"{name:<{width}}  {summary}")
            return
        if speed_profile is not None and speed_profile not in PROFILES:
            raise typer.BadParameter(f"{speed_profile!r} is not one of {', '.join(PROFILES)}", param_hint="--speed-profile")
        if duration is not None and duration <= 0:
            raise typer.BadParameter("must be more than 0 seconds", param_hint="--duration")
        _run(settings, settings.can.scenario, bus, serve, duration, speed_profile, time_scale, dbc, extra, elm327, obd_replay)


def _run(settings, scenario: str, bus_flag: str | None, serve: str | None, duration: float | None,
         profile: str | None, time_scale: float, dbc: Path | None, extra: list[Path],
         elm327: str | None = None, obd_replay: Path | None = None) -> None:
    import contextlib

    from rag_car.errors import BusError
    from rag_car.vehicle.bus import open_bus
    from rag_car.vehicle.simulator.runtime import Simulator, build_vehicle
    from rag_car.vehicle.simulator.serve import LOOPBACK, open_remote_server, parse_host_port
    from rag_car.vehicle.spec import parse_bus_spec

    dbc_path = dbc or next(iter(settings.dbc_files()), None)
    replay = None
    if obd_replay is not None:
        from rag_car.vehicle.simulator.obd_replay import load_obd_replay

        replay = load_obd_replay(obd_replay)
        typer.echo(f"replaying {len(replay.rows)} s of OBD-II readings from {replay.path} (looping)"
                   + (f"; columns ignored: {', '.join(replay.ignored)}" if replay.ignored else ""), err=True)
    if elm327 and elm327.isdigit():
        elm327 = f"127.0.0.1:{elm327}"  # a bare port: loopback
    face_address = parse_host_port(elm327, "--elm327") if elm327 else None
    vehicle = build_vehicle(scenario, dbc=dbc_path, profile=profile, time_scale=time_scale, extra_dirs=extra)
    stop = threading.Event()

    def _on_signal(signum, frame):  # SIGTERM (from `rag-car serve`) stops as cleanly as Ctrl-C
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal) if threading.current_thread() is threading.main_thread() else None
    with contextlib.ExitStack() as stack:
        if serve:
            host, port = parse_host_port(serve)
            spec = parse_bus_spec(bus_flag) if bus_flag else None
            if spec is not None and spec.kind != "virtual":
                raise BusError(f"--serve shares a virtual bus, not {spec}", "drop --bus, or give a virtual one (--bus virtual:NAME)")
            channel = spec.channel if spec is not None else f"rag-car-sim-{port}"
            bound_host, bound_port = stack.enter_context(open_remote_server(host, port, channel))
            if host not in LOOPBACK:
                typer.echo(f"warning: serving the bus on {host}, not loopback: other machines can reach it", err=True)
            shown = f"remote:ws://{bound_host}:{bound_port}/"
            bus = stack.enter_context(open_bus(f"virtual:{channel}"))
        else:
            shown = bus_flag or settings.can.bus
            bus = stack.enter_context(open_bus(shown))
        simulator = Simulator(vehicle, bus, bus_name=shown, obd_values=replay.start() if replay is not None else None)
        face = None
        if face_address is not None:
            from rag_car.vehicle.simulator.elm327_face import open_elm327_face, simulator_answerer

            face = stack.enter_context(open_elm327_face(simulator_answerer(simulator), *face_address))
            face_host, face_port = face.address
            if face_address[0] not in LOOPBACK:
                typer.echo(f"warning: the ELM327 face listens on {face_address[0]}, not loopback: other machines can "
                           "reach it (and clear its codes)", err=True)
            typer.echo(f"ELM327 adapter face on {face_host}:{face_port} (clients: elm327:socket://{face_host}:{face_port}; "
                       f"python-OBD: obd.OBD('socket://{face_host}:{face_port}', baudrate=38400))", err=True)
        name = " ".join(p for p in (vehicle.vehicle.make, vehicle.vehicle.model) if p) or "vehicle"
        typer.echo(f"simulating {vehicle.scenario.name!r} ({vehicle.scenario.summary or 'no summary'}) - {name}, VIN {vehicle.vin}, "
                   f"{vehicle.profile_name} drive, time x{time_scale:g}, on {shown}"
                   + (f" for {duration:g} s" if duration else "; Ctrl-C to stop"), err=True)
        if not serve and face_address is None and shown.startswith("virtual:"):
            typer.echo("note: a virtual: bus is only visible inside this process; add --serve 127.0.0.1:54701 to share it", err=True)
        started = time.monotonic()
        try:
            simulator.run(duration_s=duration, stop=stop)
        except KeyboardInterrupt:
            simulator.stop()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        elapsed = time.monotonic() - started
        answered = sum(ecu.requests_answered for ecu in simulator.ecus.values())
        if face is not None:
            answered += face.answerer.requests
        dtcs = ", ".join(sorted(vehicle.dtcs)) or "none"
        typer.echo(f"stopped after {elapsed:.1f} s: {simulator.frames_sent} frames sent, {answered} OBD-II requests answered, "
                   f"DTCs set: {dtcs}", err=True)
    sys.stdout.flush()
