"""`rag-car replay`: a CAN log -> frames sent onto a bus, in real, scaled or maximum speed."""

from __future__ import annotations

import sys
import time

import typer

from rag_car.cli.terminal import raw


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay(
        logfile: str = typer.Argument(..., help="The log: candump -L .log, .asc, .blf, .trc, .csv, .mf4, .db (or .gz)."),
        to: str = typer.Option(..., "--to", help="The bus to play onto: remote:ws://HOST:PORT/, socketcan:IF, udp:GROUP, virtual:CH."),
        speed: str = typer.Option("1", "--speed", help="1 = real time, 2 = twice as fast, max = as fast as possible."),
        loop: bool = typer.Option(False, "--loop", help="Start over at the end of the log (until Ctrl-C)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line."),
    ) -> None:
        """Play a recorded log onto a bus, so that the UI, `ask` and `monitor` see a real recorded car.

        Example: rag-car replay kona/runlog.trc --to remote:ws://127.0.0.1:54701/ --speed 2
        """
        from rag_car.errors import BusError
        from rag_car.vehicle.bus import create_bus
        from rag_car.vehicle.pycan import import_can
        from rag_car.vehicle.replay import ReplayBus
        from rag_car.vehicle.spec import parse_bus_spec

        can = import_can()
        factor = _speed(speed)
        target_spec = parse_bus_spec(to)
        if target_spec.kind == "replay":
            raise BusError(f"cannot replay onto {to}: a replay bus is read-only", "use --to remote:..., socketcan:... or udp:...")
        source = ReplayBus(logfile, speed=factor, loop=loop)
        sent = 0
        started = time.monotonic()
        last_progress = started
        try:
            target = create_bus(target_spec)
        except BaseException:
            source.shutdown()
            raise
        try:
            while True:
                msg = source.recv(timeout=0.5)
                if msg is None:
                    if source.finished:
                        break
                    continue
                try:
                    target.send(msg)
                except (can.CanError, OSError) as exc:
                    raise BusError(f"sending to {to} failed after {sent} frames ({exc})",
                                   "check that the bus is still there") from exc
                sent += 1
                now = time.monotonic()
                if not quiet and now - last_progress >= 1.0:
                    last_progress = now
                    raw(sys.stderr).write(f"\r{sent} frames sent, {sent / (now - started):.0f}/s")  # our own \r: not cleaned
                    raw(sys.stderr).flush()
        except KeyboardInterrupt:
            _summary(source, sent, started, quiet)
            raise typer.Exit(130)
        finally:
            source.shutdown()
            target.shutdown()
        _summary(source, sent, started, quiet)


def _speed(text: str) -> float | None:
    from rag_car.errors import BusError

    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise BusError(f"--speed {text!r} is not a positive number or 'max'", "use e.g. --speed 2 or --speed max")
    return value


def _summary(source, sent: int, started: float, quiet: bool) -> None:
    elapsed = time.monotonic() - started
    if not quiet:
        typer.echo("", err=True)
    for line in source.report.warnings():
        typer.echo(f"warning: {line}", err=True)
    loops = f" ({source.loops} loops)" if source.loops else ""
    typer.echo(f"replayed {sent} frames from {source.path} in {elapsed:.1f} s{loops}", err=True)
