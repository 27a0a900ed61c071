"""argv -> one command: the `rag-car` entry point, its global options and its error handling.

Each command lives in its own module of this package and exposes ``register(app)``.
Command modules import nothing heavy at module level (torch, chromadb, unstructured are
imported inside the command bodies), so that `rag-car --help` stays fast.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer

from rag_car import __version__
from rag_car.cli.state import AppState
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
    debug = "--debug" in args
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
        if debug:
            traceback.print_exc()
        typer.echo(f"error: {exc}", err=True)
        code = exc.exit_code
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # a bug, not a user mistake: still one line unless --debug
        if debug:
            traceback.print_exc()
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}: run again with --debug and report the traceback", err=True)
        code = 1
    if argv is None:
        sys.exit(code)
    return code
