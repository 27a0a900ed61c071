"""argv -> one command: the `rag-car` entry point, its global options and its error handling.

Each command lives in its own module of this package and exposes ``register(app)``.
Command modules import nothing heavy at module level (torch, chromadb, unstructured are
imported inside the command bodies), so that `rag-car --help` stays fast.
"""

from __future__ import annotations

import errno
import importlib
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer

from rag_car import __version__
from rag_car.cli.state import AppState
from rag_car.cli.terminal import cleaned_output
from rag_car.errors import RagCarError

# One module per command (or command group), registered in this order in --help.
COMMAND_MODULES = [
    "rag_car.cli.config_cmd",
    "rag_car.cli.doctor",
    "rag_car.cli.ingest",
    "rag_car.cli.index_cmd",
    "rag_car.cli.serve",
    "rag_car.cli.search",
    "rag_car.cli.eval_cmd",
    "rag_car.cli.ask",
    "rag_car.cli.chat",
    "rag_car.cli.eval_answers",
    "rag_car.cli.eval_live",
    "rag_car.cli.decode",
    "rag_car.cli.signals",
    "rag_car.cli.monitor",
    "rag_car.cli.replay",
    "rag_car.cli.simulate",
    "rag_car.cli.clear_codes",
    "rag_car.cli.vehicle_add",
    "rag_car.cli.vehicle_list",
    "rag_car.cli.vehicle_show",
]

app = typer.Typer(
    name="rag-car",
    help="rag-car: answers about your vehicle from its manuals, DTC references, bulletins and the live CAN bus.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich's help formatter alone costs ~0.2 s of start-up
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rag-car {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Optional[Path] = typer.Option(
        None, "--data-dir", help="Where everything rag-car writes goes (index, state, caches, uploads, logs). "
        "Also RAG_CAR_DATA_DIR. Default: $XDG_DATA_HOME/rag-car or ~/.local/share/rag-car.",
    ),
    config: Optional[Path] = typer.Option(None, "--config", help="A TOML settings file (default: ./rag_car.toml when present)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logging."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    ctx.obj = AppState(config_file=config, data_dir=data_dir, debug=debug)


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 failure, 2 usage error, 130 interrupted)."""
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    args = sys.argv[1:] if argv is None else argv
    with cleaned_output():  # documents, file names and logs cannot send escape sequences to the terminal
        code = _run(args)
    if argv is None:
        sys.exit(code)
    return code


def _run(args: list[str]) -> int:
    debug = "--debug" in args
    options = args[:args.index("--")] if "--" in args else args
    as_json = "--json" in options  # a script reading stdout gets a JSON error object, not nothing
    try:
        result = app(args=args, prog_name="rag-car", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        code = 130
    except typer.TyperException as exc:  # click's usage errors (typer vendors click): bad option, missing argument
        show = getattr(exc, "show", None)
        if show:
            show()
        else:
            typer.echo(f"error: {exc}", err=True)
        code = getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    except RagCarError as exc:
        code = _failed(exc, debug, as_json)
    except BrokenPipeError:
        code = 0
    except OSError as exc:  # a full or read-only disk outside the store's own error mapping
        disk = _disk_error(exc)
        code = _unexpected(exc, debug, as_json) if disk is None else _failed(disk, debug, as_json)
    except Exception as exc:  # a bug, not a user mistake: still one line unless --debug
        code = _unexpected(exc, debug, as_json)
    return code


def _failed(exc: RagCarError, debug: bool, as_json: bool) -> int:
    if debug:
        traceback.print_exc()
    typer.echo(f"error: {exc}", err=True)
    if as_json:
        _json_error(type(exc).__name__, exc.message, exc.fix)
    return exc.exit_code


def _unexpected(exc: Exception, debug: bool, as_json: bool) -> int:
    if debug:
        traceback.print_exc()
    typer.echo(f"error: unexpected {type(exc).__name__}: {exc}: run again with --debug and report the traceback", err=True)
    if as_json:
        _json_error(type(exc).__name__, f"unexpected {type(exc).__name__}: {exc}", "run again with --debug and report the traceback")
    return 1


def _disk_error(exc: OSError):
    """A StoreError for a write the disk refused (full, read-only) anywhere in the data dir, else None."""
    if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS) or not exc.filename:
        return None
    from rag_car.knowledge.space import storage_error

    return storage_error(exc, Path(str(exc.filename)).parent, f"writing {exc.filename}")


def _json_error(kind: str, message: str, fix: str | None) -> None:
    """``{"ok": false, "error": {...}}`` on stdout, for --json callers (the one-line error is on stderr too)."""
    from rag_car.cli.terminal import json_text

    typer.echo(json_text({"ok": False, "error": {"type": kind, "message": message, "fix": fix or ""}}))
