"""CAN log file -> can.Message stream through python-can's readers, skipping and counting bad lines.

Formats (by suffix, else by content): candump -L ``.log``, Vector ``.asc`` and ``.blf``, PCAN ``.trc``
(1.0-2.1), python-can ``.csv`` and ``.db`` (SQLite), ASAM ``.mf4`` (needs asammdf); text logs may be
gzip-compressed (``drive.log.gz``).

python-can's readers stop at the first line they cannot parse. Here a bad line is counted and
named in the report and reading goes on with the next line (the reader is restarted on the rest of
the file with the header replayed, so relative timestamps stay right); a corrupt BLF object is
skipped up to the next object. Nothing read before a problem is lost.
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator

from rag_car.errors import LogFormatError
from rag_car.vehicle.pycan import enable_mf4, import_can

can = import_can()

FORMATS = {
    ".log": "candump", ".asc": "asc", ".blf": "blf", ".trc": "trc", ".csv": "csv", ".mf4": "mf4", ".db": "sqlite",
}
TEXT_FORMATS = ("candump", "asc", "trc", "csv")
SUPPORTED = "candump -L .log, Vector .asc and .blf, PCAN .trc, python-can .csv and .db, .mf4 (with asammdf), text logs as .gz"
MAX_LEADING_BAD_LINES = 20  # this many bad lines before the first frame: the file is not in this format
MAX_PROBLEMS_KEPT = 100


@dataclass(frozen=True)
class LogProblem:
    """A line (or, for binary logs, a byte offset) that could not be read."""

    where: str
    text: str
    error: str

    def __str__(self) -> str:
        shown = f": {self.text.strip()[:100]}" if self.text.strip() else ""
        return f"{self.where}: {self.error}{shown}"


@dataclass
class LogReport:
    path: Path
    format: str
    frames: int = 0
    bad: int = 0
    problems: list[LogProblem] = field(default_factory=list)
    truncated: bool = False
    stopped: str | None = None  # why reading ended before the end of the file

    def add(self, where: str, text: str, error: str) -> None:
        self.bad += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(LogProblem(where, text, error))

    def warnings(self) -> list[str]:
        out = [f"{self.path}:{p}" for p in self.problems]
        if self.bad > len(self.problems):
            out.append(f"{self.path}: ... and {self.bad - len(self.problems)} more unreadable lines")
        if self.truncated:
            out.append(f"{self.path}: the last line is incomplete: the file looks truncated")
        if self.stopped:
            out.append(f"{self.path}: reading stopped early: {self.stopped}")
        return out

    def to_json(self) -> dict:
        return {"path": str(self.path), "format": self.format, "frames": self.frames, "bad_lines": self.bad,
                "truncated": self.truncated, "stopped": self.stopped, "problems": [str(p) for p in self.problems[:20]]}


def detect_format(path: Path) -> str:
    """The log format of ``path``: from its suffix, else from its first bytes. Raises LogFormatError."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz" and len(suffixes) >= 2 and suffixes[-2] in FORMATS:
        return FORMATS[suffixes[-2]]
    if suffixes and suffixes[-1] in FORMATS:
        return FORMATS[suffixes[-1]]
    sniffed = _sniff(path)
    if sniffed is None:
        raise LogFormatError(f"log file {path} is in an unknown format", f"supported: {SUPPORTED}")
    return sniffed


def _sniff(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(4096)
    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as unpacked:
                head = unpacked.read(4096)
        except (OSError, EOFError):
            return None
    if head.startswith(b"LOGG"):
        return "blf"
    if head.startswith(b"MDF "):
        return "mf4"
    if head.startswith(b"SQLite format 3"):
        return "sqlite"
    for raw in head.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(";$FILEVERSION") or line.startswith(";##"):
            return "trc"
        if line.lower().startswith(("date ", "base ")):
            return "asc"
        if line.startswith("timestamp,arbitration_id"):
            return "csv"
        if line.startswith("(") and "#" in line:
            return "candump"
        if not line.startswith((";", "//")):
            return None
    return None


class LogReading:
    """An open log: iterate it for can.Message objects; ``report`` counts frames and problems."""

    def __init__(self, path: Path, format: str, stream: IO[str] | None = None) -> None:
        self.path = path
        self.format = format
        self._stream = stream
        self.report = LogReport(path=path, format=format)
        self._handles: list[IO] = []

    def __iter__(self) -> Iterator["can.Message"]:
        capture = _WarningCapture(self.report)
        logging.getLogger("can.io").addHandler(capture)
        try:
            if self.format in TEXT_FORMATS:
                yield from self._read_text(capture)
            elif self.format == "blf":
                yield from self._read_blf()
            else:
                yield from self._read_other()
        finally:
            logging.getLogger("can.io").removeHandler(capture)
            self.close()

    def close(self) -> None:
        for handle in self._handles:
            try:
                handle.close()
            except OSError:
                pass
        self._handles.clear()

    def __enter__(self) -> "LogReading":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # text formats: restart the reader after a bad line, replaying the header
    def _read_text(self, capture: "_WarningCapture") -> Iterator["can.Message"]:
        reader_cls = {"candump": can.CanutilsLogReader, "asc": can.ASCReader, "trc": can.TRCReader,
                      "csv": can.CSVReader}[self.format]
        if self._stream is not None:
            handle = self._stream
        elif self.path.suffix.lower() == ".gz":
            handle = gzip.open(self.path, "rt", encoding="utf-8", errors="replace")
            self._handles.append(handle)
        else:
            handle = self.path.open("r", encoding="utf-8", errors="replace")
            self._handles.append(handle)
        report = self.report
        header: list[str] | None = None
        replay: list[str] = []
        line_no = 0
        leading_bad = 0
        while True:
            lines = _Lines(handle, replay, line_no)
            capture.lines = lines
            try:
                for message in reader_cls(lines):
                    if header is None:
                        header = lines.recorded[:-1]
                        lines.recording = False
                    report.frames += 1
                    yield message
                return
            except (ValueError, IndexError, KeyError, TypeError, struct.error, EOFError, OSError,
                    UnicodeDecodeError, AttributeError) as exc:
                # python-can's readers raise whatever their parsing hits; each is one bad line
                line_no = lines.line_no
                if isinstance(exc, (EOFError, OSError)) and not isinstance(exc, UnicodeDecodeError):
                    report.add(f"{line_no}", lines.last, f"{type(exc).__name__}: {exc}")
                    report.stopped = f"the file cannot be read past line {line_no} ({exc})"
                    return
                report.add(f"{line_no}", lines.last, _describe(exc))
                # a bad last line without a line end: the file was cut off mid-line
                report.truncated = bool(lines.last) and not lines.last.endswith(("\n", "\r"))
                if header is None:
                    leading_bad += 1
                    if leading_bad >= MAX_LEADING_BAD_LINES and report.frames == 0:
                        first = report.problems[0]
                        raise LogFormatError(
                            f"log file {self.path} is not a readable {self.format} log (line {first.where}: "
                            f"{first.error}: {first.text.strip()[:80]!r})",
                            f"supported: {SUPPORTED}") from None
                    replay = lines.recorded[:-1]
                else:
                    replay = header

    # BLF: skip a corrupt object and go on from the next one
    def _read_blf(self) -> Iterator["can.Message"]:
        from can.io.blf import FILE_HEADER_STRUCT, BLFParseError

        handle = gzip.open(self.path, "rb") if self.path.suffix.lower() == ".gz" else self.path.open("rb")
        self._handles.append(handle)
        try:
            head = handle.read(FILE_HEADER_STRUCT.size)
            header_size = FILE_HEADER_STRUCT.unpack(head)[1]
            handle.seek(0)
            file_header = handle.read(header_size)
            handle.seek(0)
            reader = can.BLFReader(handle)
        except (struct.error, BLFParseError, OSError) as exc:
            raise LogFormatError(f"log file {self.path} is not a BLF file ({_describe(exc)})",
                                 f"supported: {SUPPORTED}") from None
        while True:
            try:
                for message in reader:
                    self.report.frames += 1
                    yield message
                return
            except (BLFParseError, zlib.error, struct.error, ValueError, IndexError) as exc:
                position = handle.tell()
                self.report.add(f"byte {position}", "", f"corrupt BLF object ({_describe(exc)})")
                restart = _blf_restart(handle, position)
                if restart is None:
                    return
                reader = can.BLFReader(_Prefixed(file_header + restart, handle))

    def _read_other(self) -> Iterator["can.Message"]:
        if self.format == "mf4":
            if not enable_mf4():
                raise LogFormatError(f"cannot read {self.path}: MF4 needs the asammdf package",
                                     "pip install asammdf (the dev extra: pip install -e '.[dev]')")
            reader_cls = can.MF4Reader
        else:
            reader_cls = can.SqliteReader
        try:
            reader = reader_cls(str(self.path))
        except Exception as exc:  # asammdf and sqlite3 raise their own error types for a broken file
            raise LogFormatError(f"log file {self.path} cannot be read as {self.format} ({_describe(exc)})",
                                 f"supported: {SUPPORTED}") from exc
        try:
            for message in reader:
                self.report.frames += 1
                yield message
        except Exception as exc:  # a broken file mid-way: keep what was read, say where it stopped
            self.report.add(f"frame {self.report.frames + 1}", "", _describe(exc))
            self.report.stopped = _describe(exc)
        finally:
            try:
                reader.stop()
            except Exception:  # closing a reader that already failed
                pass


def open_log(path: str | Path, format: str | None = None) -> LogReading:
    """Open a CAN log for reading. Raises LogFormatError when it does not exist or its format is unknown.

    ``"-"`` reads standard input (a text format: candump -L unless ``format`` says otherwise).
    """
    if str(path) == "-":
        import sys

        format = format or "candump"
        if format not in TEXT_FORMATS:
            raise LogFormatError(f"standard input cannot be read as {format}", f"pipe one of: {', '.join(TEXT_FORMATS)}")
        return LogReading(Path("<stdin>"), format, stream=sys.stdin)
    path = Path(path).expanduser()
    if not path.is_file():
        raise LogFormatError(f"log file {path} does not exist", "check the path")
    try:  # here, not on the first frame: a replay bus would otherwise open fine and then fail in its thread
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        raise LogFormatError(f"log file {path} cannot be read ({exc.strerror})",
                             "check its permissions: the user running rag-car needs read access") from exc
    if format is None:
        format = detect_format(path)
    elif format not in FORMATS.values():
        raise LogFormatError(f"unknown log format {format!r}", f"use one of {', '.join(sorted(set(FORMATS.values())))}")
    return LogReading(path, format)


class _Lines:
    """The file object python-can's text readers iterate: counts lines, replays a header first."""

    def __init__(self, source: IO[str], replay: list[str], line_no: int) -> None:
        self._source = source
        self._replay = list(replay)
        self.line_no = line_no
        self.last = ""
        self.recording = True
        self.recorded: list[str] = list(replay)
        self.closed = False
        self.name = getattr(source, "name", "")

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        if self._replay:
            return self._replay.pop(0)
        line = self._source.readline()
        if not line:
            raise StopIteration
        self.line_no += 1
        self.last = line
        if self.recording:
            self.recorded.append(line)
        return line

    def readline(self) -> str:
        try:
            return next(self)
        except StopIteration:
            return ""

    def close(self) -> None:
        self.closed = True  # the LogReading owns the real file


class _Prefixed:
    """A binary stream that reads ``prefix`` first, then continues in ``source``."""

    def __init__(self, prefix: bytes, source: IO[bytes]) -> None:
        self._prefix = prefix
        self._source = source
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size < 0:
                out, self._prefix = self._prefix + self._source.read(), b""
                return out
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            if len(out) < size:
                out += self._source.read(size - len(out))
            return out
        return self._source.read(size)

    def tell(self) -> int:
        return self._source.tell()

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True


class _WarningCapture(logging.Handler):
    """Counts the lines python-can's readers skip with only a log warning (TRC: "Failed to parse")."""

    def __init__(self, report: LogReport) -> None:
        super().__init__(logging.WARNING)
        self.report = report
        self.lines: _Lines | None = None

    def emit(self, record: logging.LogRecord) -> None:
        where = str(self.lines.line_no) if self.lines is not None else "?"
        self.report.add(where, "", record.getMessage()[:160])


def _blf_restart(handle: IO[bytes], position: int) -> bytes | None:
    """Bytes to restart a BLF reader with after a corrupt object: the next container, re-packed
    uncompressed from its first whole object (its start belongs to the object that was lost).
    The handle is left after that container. None at the end of the file."""
    from can.io.blf import LOG_CONTAINER, LOG_CONTAINER_STRUCT, NO_COMPRESSION, OBJ_HEADER_BASE_STRUCT, ZLIB_DEFLATE

    while True:
        start = _find(handle, b"LOBJ", position)
        if start is None:
            return None
        handle.seek(start)
        head = handle.read(OBJ_HEADER_BASE_STRUCT.size)
        if len(head) < OBJ_HEADER_BASE_STRUCT.size:
            return None
        _sig, _size, _version, obj_size, obj_type = OBJ_HEADER_BASE_STRUCT.unpack(head)
        if obj_type != LOG_CONTAINER:
            handle.seek(start)  # a top-level object: the reader takes it as it is
            return b""
        body = handle.read(max(0, obj_size - OBJ_HEADER_BASE_STRUCT.size))
        handle.read(obj_size % 4)
        position = handle.tell()
        try:
            method, _ = LOG_CONTAINER_STRUCT.unpack_from(body)
            data = body[LOG_CONTAINER_STRUCT.size:]
            if method == ZLIB_DEFLATE:
                data = zlib.decompressobj().decompress(data)
            elif method != NO_COMPRESSION:
                continue
        except (struct.error, zlib.error):
            continue
        first = data.find(b"LOBJ")
        if first < 0:
            continue
        payload = LOG_CONTAINER_STRUCT.pack(NO_COMPRESSION, len(data) - first) + data[first:]
        size = OBJ_HEADER_BASE_STRUCT.size + len(payload)
        return OBJ_HEADER_BASE_STRUCT.pack(b"LOBJ", OBJ_HEADER_BASE_STRUCT.size, 1, size, LOG_CONTAINER) + payload + bytes(size % 4)


def _find(handle: IO[bytes], needle: bytes, start: int) -> int | None:
    handle.seek(start)
    position = start
    carry = b""
    while True:
        chunk = handle.read(1 << 16)
        if not chunk:
            return None
        data = carry + chunk
        index = data.find(needle)
        if index >= 0:
            return position - len(carry) + index
        carry = data[-(len(needle) - 1):]
        position += len(chunk)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
