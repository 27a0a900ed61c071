"""`rag-car serve`: the Streamlit web UI (and, for a demo, the simulated vehicle beside it)."""

from __future__ import annotations

import ipaddress
import math
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from rag_car.cli.state import state


UI_DIR = Path(__file__).resolve().parents[2] / "ui"
APP = UI_DIR / "server.py"  # ui/app.py plus the route that serves cited documents
SIM_PORT = 54701


def streamlit_command(host: str, port: int, app: Path = APP, max_upload_mb: float = 50.0) -> list[str]:
    """The streamlit invocation: loopback by default, headless, no file watcher, no usage stats."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--server.maxUploadSize", str(max(1, math.ceil(max_upload_mb))),
        # Pinned here, over a user's ~/.streamlit/config.toml or STREAMLIT_* environment: uploads need the XSRF
        # token of a page this server rendered (a strict same-site cookie), and no other site may call it (CORS).
        "--server.enableXsrfProtection", "true",
        "--server.xsrfCookieSameSite", "strict",
        "--server.enableCORS", "true",
        "--server.enableStaticServing", "false",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` when nothing listens there, else a free port the OS picks."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free port on the loopback interface")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        port: Optional[int] = typer.Option(None, "--port", help="Port of the web UI (default 8501)."),
        host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1; anything else exposes the UI to the network)."),
        bus: Optional[str] = typer.Option(None, "--bus", help="Bus spec the live page listens to, e.g. remote:ws://127.0.0.1:54701/, socketcan:can0 or elm327:/dev/ttyUSB0."),
        with_simulator: bool = typer.Option(False, "--with-simulator", help="Also start the simulated vehicle (scenario from settings) on loopback and listen to it."),
        scenario: Optional[str] = typer.Option(None, "--scenario", help="Simulator scenario with --with-simulator (default: can.scenario)."),
    ) -> None:
        """Start the web UI on http://127.0.0.1:8501 (chat, live vehicle, documents, settings).

        \b
        Examples:
          rag-car serve --with-simulator
          rag-car serve --bus remote:ws://127.0.0.1:54701/ --port 8600
        """
        app_state = state(ctx)
        settings = app_state.settings({"ui": {"port": port, "host": host}, "can": {"bus": bus, "scenario": scenario}})
        if bus:
            from rag_car.vehicle.spec import parse_bus_spec

            parse_bus_spec(bus)  # a BusError for a typo, before anything starts
        env = dict(os.environ)
        env["RAG_CAR_DATA_DIR"] = str(settings.data_dir)
        env["RAG_CAR_UI__HOST"] = settings.ui.host  # the UI answers to this name (ui/host_guard.py)
        if app_state.config_file:
            env["RAG_CAR_CONFIG_FILE"] = str(Path(app_state.config_file).expanduser().resolve())
        if app_state.debug:
            env["RAG_CAR_DEBUG"] = "true"
        if not is_loopback(settings.ui.host):
            typer.echo(f"warning: binding {settings.ui.host} exposes the UI (documents, uploads, the live bus) to the network "
                       "without authentication; use 127.0.0.1 unless you know who can reach this machine. It answers only to the host "
                       "names in ui.allowed_hosts (and ui.host): add the name or address people will type", err=True)
        children: list[subprocess.Popen] = []
        # `kill PID` (SIGTERM) must stop the children too, like Ctrl-C does. The children run in their own
        # sessions, so that Ctrl-C reaches this process only: it stops the UI first (its live feed stops its
        # listener before its bus), then the simulator, instead of all at once with each one's traceback.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        interrupted = False
        try:
            if with_simulator:
                sim_port = free_port(SIM_PORT)
                children.append(subprocess.Popen(
                    [sys.executable, "-m", "rag_car", "simulate", "--scenario", settings.can.scenario,
                     "--serve", f"127.0.0.1:{sim_port}"], env=env, start_new_session=True))
                env["RAG_CAR_CAN__BUS"] = f"remote:ws://127.0.0.1:{sim_port}/"
                typer.echo(f"simulated vehicle ({settings.can.scenario}) on remote:ws://127.0.0.1:{sim_port}/", err=True)
            elif bus:
                env["RAG_CAR_CAN__BUS"] = bus
            typer.echo(f"rag-car web UI: http://{settings.ui.host}:{settings.ui.port}", err=True)
            ui = subprocess.Popen(streamlit_command(settings.ui.host, settings.ui.port, max_upload_mb=settings.ingest.max_file_mb),
                                  env=env, start_new_session=True)
            children.append(ui)
            ui.wait()
        except KeyboardInterrupt:
            interrupted = True
        finally:
            for child in reversed(children):  # the UI first, so that it does not report the simulator's exit
                if child.poll() is None:
                    child.terminate()
                    try:
                        child.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
            signal.signal(signal.SIGTERM, previous)
        if interrupted:
            typer.echo("stopped", err=True)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
