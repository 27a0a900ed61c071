"""`rag-car decode`: a CAN log + DBC files -> one line per decoded frame (a table, or JSON lines)."""

from __future__ import annotations

import gc
import json
import os
import re
import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer

from rag_car.cli.state import AppState, state
from rag_car.cli.terminal import json_text

FLUSH_EVERY = 2048  # lines per write() call


def register(app: typer.Typer) -> None:
    @app.command("decode")
    def decode(
        ctx: typer.Context,
        logfile: str = typer.Argument(..., help="The log: candump -L .log, .asc, .blf, .trc, .csv, .mf4, .db (or .gz); - reads candump from stdin."),
        dbc: Optional[List[str]] = typer.Option(None, "--dbc", help="A DBC file; repeat for several. CHANNEL=FILE binds one to a channel. Default: can.dbc, else the bundled dbc/."),
        jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per decoded frame on stdout; a JSON summary as the last stderr line."),
        log_format: Optional[str] = typer.Option(None, "--log-format", help="The log's format when its suffix does not say: candump, asc, blf, trc, csv, mf4, sqlite."),
        match: Optional[str] = typer.Option(None, "--filter", help="Only messages whose name matches this regular expression."),
        strict: bool = typer.Option(True, "--strict/--no-strict", help="Try cantools' strict DBC checks first (relaxed automatically when they fail)."),
    ) -> None:
        """Decode a CAN log with DBC files; values equal cantools' decode(..., decode_choices=False).

        Examples:
          rag-car decode --dbc hyundai_can.dbc turnonlog.log
          rag-car decode --dbc hyundai_can.dbc runlog.trc --jsonl > frames.jsonl
          candump -L can0 | rag-car decode --dbc car.dbc -
        """
        from rag_car.vehicle.dbc import load_dbc
        from rag_car.vehicle.decode import FrameDecoder
        from rag_car.vehicle.logs import open_log

        app_state = state(ctx)
        files = list(dbc) if dbc else [str(p) for p in app_state.settings().dbc_files()]
        if not files:
            from rag_car.errors import DbcError

            raise DbcError("no DBC file given and none bundled in dbc/", "pass --dbc FILE")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            db = load_dbc(files, strict=strict, cache_dir=_dbc_cache_dir(app_state))
        for item in caught:
            typer.echo(f"warning: {item.message}", err=True)
        gc.collect()
        gc.freeze()  # the DBC lives as long as the process: no GC walks over it while decoding
        pattern = signal_filter(match)
        reading = open_log(logfile, format=log_format)
        decoder = FrameDecoder(db)
        try:
            if jsonl:
                _write_jsonl(reading, decoder, pattern)
            else:
                _write_table(reading, decoder, pattern)
        finally:
            sys.stdout.flush()
            for line in reading.report.warnings():
                typer.echo(f"warning: {line}", err=True)
            summary = {**decoder.counters.summary(), "bad_lines": reading.report.bad}
            if jsonl:
                typer.echo(json_text(summary), err=True)
            else:
                _print_summary(summary, decoder)


def _write_jsonl(reading, decoder, pattern) -> None:
    from rag_car.vehicle.decode import jsonl_tail

    decode = decoder.decode
    write = sys.stdout.write
    channels: dict[object, str] = {}
    chunk: list[str] = []
    append = chunk.append
    for msg in reading:
        entry = decode(msg)
        if entry is None:
            continue
        if pattern is not None and not pattern.search(entry.message.name):
            continue
        channel = msg.channel
        quoted = channels.get(channel)
        if quoted is None:
            quoted = channels[channel] = "null" if channel is None else json.dumps(str(channel))
        tail = entry.rendered
        if tail is None:
            tail = jsonl_tail(entry)
        append('{"t": ' + repr(msg.timestamp) + ', "channel": ' + quoted + ", " + tail)
        if len(chunk) >= FLUSH_EVERY:
            write("".join(chunk))
            chunk.clear()
    if chunk:
        write("".join(chunk))


def _write_table(reading, decoder, pattern) -> None:
    write = sys.stdout.write
    for msg in reading:
        entry = decoder.decode(msg)
        if entry is None:
            continue
        if pattern is not None and not pattern.search(entry.message.name):
            continue
        text = entry.rendered  # this process writes tables only, so the slot holds the table text
        if text is None:
            text = entry.rendered = _signals_text(entry)
        frame_id = f"{msg.arbitration_id:08X}" if msg.is_extended_id else f"{msg.arbitration_id:03X}"
        write(f"{msg.timestamp:17.6f}  {str(msg.channel if msg.channel is not None else '-'):<6} {frame_id:>8}  "
              f"{entry.message.name:<24} {text}\n")


def _signals_text(entry) -> str:
    parts = []
    units = {s.name: s.unit for s in entry.message.signals}
    for name, value in entry.signals.items():
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        label = entry.labels.get(name)
        unit = units.get(name) or ""
        if label is not None:
            parts.append(f"{name}={label}({shown})")
        else:
            parts.append(f"{name}={shown}{(' ' + unit) if unit else ''}")
    return ", ".join(parts)


def _print_summary(summary: dict, decoder) -> None:
    from rag_car.vehicle.decode import format_id

    typer.echo(
        f"{summary['frames']} frames: {summary['decoded']} decoded, {summary['unknown']} with an id no DBC defines, "
        f"{summary['errors']} that do not decode, {summary['error_frames']} error frames, "
        f"{summary['remote_frames']} remote frames, {summary['bad_lines']} unreadable lines", err=True)
    problems = sorted(decoder.counters.per_id.items(), key=lambda kv: -(kv[1].get("errors", 0)))
    for key, info in problems[:10]:
        if info.get("errors"):
            typer.echo(f"  {format_id(key)} {info.get('message', '')}: {info['errors']} x {info.get('last_error', '')}", err=True)


def _dbc_cache_dir(app_state: AppState) -> Path:
    """<data dir>/cache/dbc, worked out without building Settings (pydantic costs ~0.3 s of start-up)
    unless a config file could move the data dir."""
    if app_state.config_file is not None or (Path.cwd() / "rag_car.toml").exists():
        return app_state.settings().cache_dir / "dbc"
    base = app_state.data_dir or os.environ.get("RAG_CAR_DATA_DIR")
    if not base:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "rag-car"
    return Path(base).expanduser() / "cache" / "dbc"


def signal_filter(text: str | None):
    """The --filter regular expression of decode and monitor, or None; a bad one is a ConfigError."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        from rag_car.errors import ConfigError

        raise ConfigError(f"--filter {text!r} is not a regular expression ({exc})", "fix the pattern, e.g. --filter 'ECM_.*'") from None
