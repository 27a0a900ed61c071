"""`rag-car ingest PATH...`: files and folders -> the index, with a progress bar and a summary."""

from __future__ import annotations

import sys
import time
from typing import List, Optional

import typer

from rag_car.cli.state import state
from rag_car.cli.terminal import console, json_text

SOURCE_HELP = (
    "How to read the files: auto (by extension; CSV/TSV/TXT sniffed for DTC tables and NHTSA files), document, "
    "dtc-table, nhtsa-recalls, nhtsa-tsbs, nhtsa-complaints, nhtsa-investigations."
)


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_command(
        ctx: typer.Context,
        paths: List[str] = typer.Argument(..., metavar="PATH", help="Files or folders (read recursively)."),
        vehicle: Optional[str] = typer.Option(None, "--vehicle", metavar="MAKE/MODEL/YEARS",
                                              help="The vehicle the documents are about, e.g. Aldmoor/Corrin/2019-2024 "
                                                   "(NHTSA records keep their own)."),
        doc_type: Optional[str] = typer.Option(None, "--doc-type", metavar="TYPE",
                                               help="owner_manual, service_manual, dtc, bulletin, recall, complaint or other "
                                                    "(default: guessed from the source, folder, file name and title)."),
        source: str = typer.Option("auto", "--source", metavar="KIND", help=SOURCE_HELP),
        max_file_mb: Optional[float] = typer.Option(None, "--max-file-mb", help="Refuse files larger than this (ingest.max_file_mb)."),
        force: bool = typer.Option(False, "--force", help="Re-read every file even when unchanged (unchanged chunks are not re-embedded)."),
        no_sentences: bool = typer.Option(False, "--no-answer-sentences",
                                          help="Do not embed the new chunks' sentences for answers now (ingest.answer_sentences): "
                                               "faster ingest, slower first questions."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; print only failures and the summary line."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object on stdout."),
    ) -> None:
        """Index documents, DTC tables and NHTSA files; re-runs skip what is unchanged. Exits 1 if any file failed.

        \b
        Examples:
          rag-car ingest knowledge/
          rag-car ingest manuals/ --vehicle Aldmoor/Corrin/2019-2024 --doc-type service_manual
          rag-car ingest FLAT_RCL.txt --source nhtsa-recalls --json
        """
        from rag_car.answer.vectors import ingest_fill
        from rag_car.knowledge.embed import load_embedder
        from rag_car.knowledge.ingest import IngestOptions, ingest
        from rag_car.knowledge.tags import parse_vehicle

        overrides = {"ingest": {"max_file_mb": max_file_mb, "answer_sentences": False if no_sentences else None}}
        settings = state(ctx).settings(overrides)
        options = IngestOptions(source=source, doc_type=doc_type or "", vehicle=parse_vehicle(vehicle) if vehicle else None, force=force)
        embedder = load_embedder(settings)  # the weights load on first use, timed by ingest
        fill = ingest_fill(settings, embedder)
        display = _display(quiet)

        def after_add(chunks) -> None:
            display.message(f"answer sentences of {len(chunks)} chunks")
            fill(chunks)

        try:
            report = ingest(settings, paths, options, embedder=embedder, progress=display,
                            after_add=after_add if fill is not None else None)
        finally:
            display.close()
            if fill is not None:
                fill.vectors.close()
        if as_json:
            summary = report.to_json()
            summary["answer_sentences"] = fill.to_json() if fill is not None else None
            typer.echo(json_text(summary, indent=2))
        else:
            _print_summary(report, quiet, fill)
        raise typer.Exit(0 if report.ok else 1)


def _display(quiet: bool):
    if quiet:
        return _Quiet()
    if sys.stderr.isatty():
        return _Bar()
    return _Lines()


class _Quiet:
    def start(self, files, total_bytes): ...
    def file_read(self, result, size): ...
    def embedded(self, n): ...
    def file_done(self, result): ...
    def message(self, text): ...
    def close(self): ...


class _Lines(_Quiet):
    """One line per file on stderr, for logs and pipes."""

    def file_done(self, result) -> None:
        if result.status == "unchanged":
            return
        detail = result.reason if result.status == "failed" else f"{result.chunks} chunks, {result.chunks_added} new"
        if result.problems:
            detail += f"; {len(result.problems)} problem(s): {result.problems[0]}"
        typer.echo(f"{result.status:9} {result.path}: {detail}", err=True)


class _Bar(_Quiet):
    """A rich progress bar on stderr: files, chunks, rate and ETA (weighted by file size)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = console(stderr=True)
        self.progress = Progress(
            SpinnerColumn(), TextColumn("[bold]ingest"), BarColumn(),
            TextColumn("{task.fields[files]} files"), TextColumn("{task.fields[chunks]} chunks"),
            TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
            TextColumn("[dim]{task.fields[note]}"),
            console=self.console, transient=True,
        )
        self.task = None
        self.files_total = self.files_done = self.chunks = 0
        self.started = time.perf_counter()
        self.credits: list[list] = []  # [path, chunks left, bytes per chunk] of files waiting for the model
        self.credited: dict[str, float] = {}  # bytes already shown for a file

    def start(self, files, total_bytes) -> None:
        self.files_total = files
        self.progress.start()
        self.task = self.progress.add_task("ingest", total=max(total_bytes, 1), files=f"0/{files}", chunks=0, rate="", note="")

    def _update(self, advance: float = 0.0) -> None:
        if self.task is None:
            return
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        rate = f"{self.chunks / elapsed:.1f} chunks/s" if self.chunks else ""
        self.progress.update(self.task, advance=advance, files=f"{self.files_done}/{self.files_total}", chunks=self.chunks,
                             rate=rate, note="")

    def file_read(self, result, size) -> None:
        if result.status == "ingested" and result.chunks_added:
            self.credits.append([result.path, result.chunks_added, size / result.chunks_added])

    def embedded(self, n) -> None:
        # the bytes of a file are shown as its chunks come out of the model
        self.chunks += n
        advance = 0.0
        while n and self.credits:
            path, left, per_chunk = self.credits[0]
            used = min(left, n)
            advance += used * per_chunk
            self.credited[path] = self.credited.get(path, 0.0) + used * per_chunk
            n -= used
            self.credits[0][1] -= used
            if self.credits[0][1] <= 0:
                self.credits.pop(0)
        self._update(advance)

    def message(self, text) -> None:
        if self.task is not None:
            self.progress.update(self.task, note=text)

    def file_done(self, result) -> None:
        from rich.markup import escape  # a file name such as "[red].md" is text, not markup

        self.files_done += 1
        if result.status == "failed":
            self.progress.console.print(f"[red]failed[/red] {escape(f'{result.path}: {result.reason}')}", highlight=False)
        elif result.problems:
            self.progress.console.print(f"[yellow]partly read[/yellow] {escape(f'{result.path}: {result.problems[0]}')}",
                                        highlight=False)
        self._update(max(0.0, result.size - self.credited.pop(result.path, 0.0)))

    def close(self) -> None:
        if self.task is not None:
            self.progress.stop()


def _print_summary(report, quiet: bool, fill=None) -> None:
    out = typer.echo
    for result in report.failed:
        why = result.reason or "; ".join(result.problems[:5])
        if len(result.problems) > 5 and not result.reason:
            why += f"; ... {len(result.problems) - 5} more"
        out(f"failed: {why}" if result.path in why else f"failed: {result.path}: {why}", err=True)
    if not quiet:
        for result in report.files:
            for warning in result.warnings[:5]:
                out(f"warning: {result.path}: {warning}", err=True)
    rate = report.chunks_added / report.embed_seconds if report.embed_seconds > 0 else 0.0
    partly = sum(1 for f in report.failed if f.status != "failed")
    parts = [
        f"{report.count('ingested')} ingested",
        f"{report.count('unchanged')} unchanged",
        f"{len(report.failed)} failed" + (f" ({partly} of them partly read)" if partly else ""),
    ]
    if report.count("removed"):
        parts.append(f"{report.count('removed')} removed")
    line = (f"files: {', '.join(parts)}; chunks: {report.chunks_added} added, {report.chunks_removed} removed"
            + (f", {report.chunks_updated} updated" if report.chunks_updated else "")
            + f"; {report.seconds:.1f} s" + (f" ({rate:.1f} chunks/s embedding)" if rate else ""))
    out(line)
    for note in report.notes:
        out(f"warning: {note}", err=True)
    if not quiet:
        out(f"index: {report.store}; model {report.model}")
        if fill is not None and fill.sentences:
            out(f"answers: {fill.sentences} sentences of the new chunks ready ({fill.embedded} embedded, "
                f"{fill.seconds:.1f} s of the total)")
