"""`rag-car monitor`: a bus -> a live terminal view of every signal (or one JSON snapshot with --once --json)."""

from __future__ import annotations

import gc
import time
import warnings
from typing import List, Optional

import typer

from rag_car.cli.decode import signal_filter
from rag_car.cli.state import state
from rag_car.cli.terminal import json_text

STATUS_STYLE = {"ok": "green", "low": "bold yellow", "high": "bold red", "stale": "dim"}
LAMP_STYLE = {"on": "bold red", "flashing": "bold blink red", "off": "dim"}


def register(app: typer.Typer) -> None:
    @app.command("monitor")
    def monitor(
        ctx: typer.Context,
        bus: Optional[str] = typer.Option(None, "--bus", help="Bus spec: virtual:CH, remote:ws://HOST:PORT/, socketcan:IF, udp:GROUP, replay:FILE[?speed=X|max][&loop=1], elm327:/dev/ttyUSB0 or elm327:socket://HOST:PORT. Default: can.bus."),
        dbc: Optional[List[str]] = typer.Option(None, "--dbc", help="A DBC file; repeat for several (CHANNEL=FILE for one channel). Default: can.dbc, else the bundled dbc/."),
        match: Optional[str] = typer.Option(None, "--filter", help="Only signals whose Message.Signal name matches this regular expression."),
        once: bool = typer.Option(False, "--once", help="Listen for --listen seconds, print one snapshot and exit."),
        as_json: bool = typer.Option(False, "--json", help="With --once: the snapshot as one JSON object."),
        listen: Optional[float] = typer.Option(None, "--listen", min=0, help="Seconds to listen with --once (default can.listen_s, 2)."),
        refresh: float = typer.Option(0.5, "--refresh", min=0.05, help="Seconds between screen updates."),
    ) -> None:
        """Watch the live bus: value, unit, status and age of every signal, DTCs and lamps on top.

        Examples:
          rag-car monitor --bus remote:ws://127.0.0.1:54701/
          rag-car monitor --bus "replay:kona/runlog.trc?speed=max" --dbc hyundai_can.dbc --once --json
        """
        from rag_car.vehicle.feed import open_feed
        from rag_car.vehicle.live import live_state_from_settings

        settings = state(ctx).settings({"can": {"bus": bus}})
        pattern = signal_filter(match)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            live = live_state_from_settings(settings, dbc)
        for item in caught:
            typer.echo(f"warning: {item.message}", err=True)
        listeners = _diagnostics(live, settings)
        # the DBC's objects live as long as the process: a full GC walk over them would stall the feed
        gc.collect()
        gc.freeze()
        seconds = settings.can.listen_s if listen is None else listen
        with open_feed(settings.can.bus, live, listeners=listeners, retry_first=not once) as feed:
            if once:
                if feed.polls_obd:  # an adapter: wait for its first round of readings (set-up takes a few seconds)
                    feed.wait_live(max(seconds, 10.0))
                else:
                    feed.wait_ended(seconds)
                snapshot = _filtered(live.snapshot(), pattern)
                if as_json:
                    typer.echo(json_text(snapshot.to_json(), indent=2))
                else:
                    typer.echo(snapshot.to_text())
                return
            _watch(live, feed, pattern, refresh)


def _diagnostics(live, settings) -> list:
    """The diagnostics side's listeners (DTC broadcast, lamps, VIN) when it provides them."""
    try:
        from rag_car.vehicle.diagnostics import session
    except ImportError:
        return []
    make = getattr(session, "diagnostic_listeners", None)
    if make is None:
        return []
    return list(make(live, settings))


def _filtered(snapshot, pattern):
    if pattern is None:
        return snapshot
    snapshot.signals = [s for s in snapshot.signals if pattern.search(f"{s.message}.{s.name}")]
    return snapshot


def _watch(live, feed, pattern, refresh: float) -> None:
    from rich.live import Live

    from rag_car.cli.terminal import console as terminal_console

    console = terminal_console()
    try:
        with Live(_render(_filtered(live.snapshot(), pattern)), console=console, refresh_per_second=max(1, int(1 / refresh)),
                  screen=False, transient=False) as view:
            while True:
                time.sleep(refresh)
                view.update(_render(_filtered(live.snapshot(), pattern)))
                if feed.ended.is_set():
                    break
    except KeyboardInterrupt:
        pass


def _render(snapshot):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    bus = snapshot.bus
    head = Text()
    head.append(f"{bus.get('spec') or 'bus'}  ", style="bold")
    head.append(str(bus.get("state", "unknown")), style="green" if bus.get("state") == "connected" else "yellow")
    if bus.get("progress") and bus["progress"] != "live":
        head.append(f" ({bus['progress']}...)", style="yellow")
    head.append(f"   {bus.get('frames', 0)} frames")
    if bus.get("frames_per_s"):
        head.append(f", {bus['frames_per_s']:.0f}/s")
    counters = snapshot.counters
    head.append(f"   unknown {counters.get('unknown', 0)}, errors {counters.get('errors', 0)}")
    if bus.get("error"):
        head.append(f"   {bus['error']}", style="red")
    parts = [head]
    if snapshot.vehicle:
        parts.append(Text(", ".join(f"{k} {v}" for k, v in snapshot.vehicle.items() if v not in (None, ""))))
    dtcs = Text("DTCs: ", style="bold")
    if snapshot.dtcs:
        for dtc in snapshot.dtcs:
            dtcs.append(f"{dtc.code} ", style="bold red")
            dtcs.append(f"{dtc.description} [{dtc.source}]  ")
    else:
        dtcs.append("none", style="green")
    parts.append(dtcs)
    if snapshot.lamps:
        lamps = Text("Lamps: ", style="bold")
        for lamp in snapshot.lamps:
            lamps.append(f"{lamp.name} {lamp.state}  ", style=LAMP_STYLE.get(lamp.state, ""))
        parts.append(lamps)
    table = Table(expand=False, pad_edge=False)
    for column, justify in (("Message", "left"), ("Signal", "left"), ("Value", "right"), ("Unit", "left"),
                            ("Status", "left"), ("Age s", "right")):
        table.add_column(column, justify=justify)
    for reading in snapshot.signals:
        value = reading.value
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        if reading.label:
            shown = f"{reading.label} ({shown})"
        status = reading.status
        if status in ("low", "high") and reading.normal:
            low, high = reading.normal
            status = f"{status} (normal {low:g}-{high:g})" if low is not None and high is not None else status
        table.add_row(reading.message, reading.name, shown, reading.unit, Text(status, style=STATUS_STYLE.get(reading.status, "")),
                      f"{reading.age_s:.1f}")
    parts.append(table)
    return Group(*parts)

