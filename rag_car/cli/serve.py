"""`rag-car serve`: the Streamlit web UI (and, for a demo, the simulated vehicle beside it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import typer

from rag_car.cli.state import state


APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
SIM_PORT = 54701


def streamlit_command(host: str, port: int, app: Path = APP) -> list[str]:
    """The streamlit invocation: loopback by default, headless, no file watcher, no usage stats."""
    return [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true",
        "--server.address", host,
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--global.developmentMode", "false",
    ]


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        ctx: typer.Context,
        port: Optional[int] = typer.Option(None, "--port", help="Port of the web UI (default 8501)."),
        host: Optional[str] = typer.Option(None, "--host", help="Address to bind (default 127.0.0.1; anything else exposes the UI)."),
        bus: Optional[str] = typer.Option(None, "--bus", help="Bus spec the live page listens to."),
        with_simulator: bool = typer.Option(False, "--with-simulator", help="Also start the simulated vehicle (scenario from settings) on loopback and listen to it."),
    ) -> None:
        """Start the web UI on http://127.0.0.1:8501.

        Example: rag-car serve --with-simulator
        """
        app_state = state(ctx)
        settings = app_state.settings({"ui": {"port": port, "host": host}, "can": {"bus": bus}})
        env = dict(os.environ)
        env["RAG_CAR_DATA_DIR"] = str(settings.data_dir)
        if app_state.config_file:
            env["RAG_CAR_CONFIG_FILE"] = str(app_state.config_file)
        children: list[subprocess.Popen] = []
        if with_simulator:
            children.append(subprocess.Popen(
                [sys.executable, "-m", "rag_car", "simulate", "--scenario", settings.can.scenario,
                 "--serve", f"127.0.0.1:{SIM_PORT}"], env=env))
            env["RAG_CAR_CAN__BUS"] = f"remote:ws://127.0.0.1:{SIM_PORT}/"
        elif bus:
            env["RAG_CAR_CAN__BUS"] = bus
        typer.echo(f"rag-car web UI: http://{settings.ui.host}:{settings.ui.port}", err=True)
        try:
            ui = subprocess.Popen(streamlit_command(settings.ui.host, settings.ui.port), env=env)
            children.append(ui)
            ui.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
