"""DBC files -> VehicleDb: cantools databases with a load report, and frame -> message lookup.

Real-world DBC files are often slightly broken. Each file is loaded strictly first; when cantools
rejects it, the loader relaxes as little as it can and says what it did, never silently:

* overlapping signals or signals that do not fit their message: loaded with ``strict=False``,
  every such message named in the report;
* a statement that does not parse (opendbc's ``CM_ 145 "...";``), or a ``VAL_``/``SIG_VALTYPE_``
  for a signal that does not exist: that statement is dropped and its line named in a warning.
  Only comment, attribute, value-table and transmitter statements are dropped; anything that
  changes how frames decode (``BO_``, ``SG_``, ``SG_MUL_VAL_``, ``SIG_VALTYPE_``) is a DbcError
  with file and line;
* a 29-bit frame id written without the extended flag: read as an extended id;
* opendbc generator files (``CM_ "IMPORT other.dbc";``): the imported file is loaded too.

Several files load at once, one per bus or ECU: ``powertrain.dbc`` applies to every channel,
``can1=body.dbc`` only to frames from channel ``can1``. J1939 databases also match frames by PGN,
whatever their priority and source address.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Union

from rag_car.errors import DbcError

if TYPE_CHECKING:
    from cantools.database.can import Database, Message

EXTENDED_FLAG = 0x80000000  # the DBC's (and our lookup keys') marker of a 29-bit id
MAX_DROPPED = 25  # "a few" malformed statements; more than this is a broken file, not a quirky one
CACHE_VERSION = 1

# Statements that only annotate (comments, attributes, value tables, transmitters): dropping one
# never changes a decoded value. Everything else is structural.
DROPPABLE = (
    "CM_", "BA_DEF_DEF_REL_", "BA_DEF_DEF_", "BA_DEF_REL_", "BA_DEF_SGTYPE_", "BA_DEF_", "BA_REL_", "BA_",
    "VAL_TABLE_", "VAL_", "BO_TX_BU_", "SIG_GROUP_", "EV_", "ENVVAR_DATA_", "SGTYPE_VAL_", "SGTYPE_",
    "SIG_TYPE_REF_", "CAT_DEF_", "CAT_", "FILTER", "NS_DESC_",
)
_KEYWORD = re.compile(r"[A-Z_]+")
_IMPORT = re.compile(r'^CM_\s+"IMPORT\s+([^"\s]+)"\s*;', re.M)
_UNUSED = re.compile(r"^\s*(VAL_|SIG_VALTYPE_) (\d+) (\S+)\s*$", re.M)
_BARE_ID_COMMENT = re.compile(r'^CM_[ \t]+\d+[ \t]+"', re.M)
_BO_ID = re.compile(r"^BO_[ \t]+(\d+)[ \t]+(\w+)", re.M)
_STD_TOO_LONG = re.compile(r"Standard frame id 0x([0-9a-fA-F]+) is more than 11 bits in message (\S+?)\.?$")

PathLike = Union[str, os.PathLike]


class DbcWarning(UserWarning):
    """A DBC loaded, but not as written: a statement dropped, a check relaxed, an id reinterpreted."""


@dataclass(frozen=True)
class DroppedStatement:
    line: int
    text: str
    reason: str


@dataclass
class LoadReport:
    """How one file was loaded: ``mode`` is "strict", "relaxed" (strict=False) or "repaired" (statements dropped)."""

    path: Path
    mode: str = "strict"
    relaxed: list[str] = field(default_factory=list)
    dropped: list[DroppedStatement] = field(default_factory=list)
    reinterpreted: list[str] = field(default_factory=list)
    imported: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def warnings(self) -> list[str]:
        """One line per thing that was not loaded as written."""
        out = [f"{self.path}:{d.line}: dropped {d.reason}: {_shorten(d.text)}" for d in self.dropped]
        out += [f"{self.path}: {text}" for text in self.reinterpreted]
        if self.relaxed:
            out.append(f"{self.path}: loaded with strict=False; cantools' strict checks fail for "
                       f"{len(self.relaxed)} message(s): " + "; ".join(self.relaxed))
        out += [f"{self.path}: {text}" for text in self.conflicts]
        return out

    def to_json(self) -> dict:
        return {
            "path": str(self.path), "mode": self.mode, "relaxed": list(self.relaxed),
            "dropped": [{"line": d.line, "text": d.text, "reason": d.reason} for d in self.dropped],
            "reinterpreted": list(self.reinterpreted), "imported": [str(p) for p in self.imported],
            "conflicts": list(self.conflicts),
        }


@dataclass
class DbcFile:
    """One loaded database; ``channel`` None means it applies to frames from every channel."""

    path: Path
    database: "Database"
    report: LoadReport
    channel: str | None = None


class VehicleDb:
    """Several DBC files as one lookup: (frame id, extended?, channel) -> cantools Message."""

    def __init__(self, files: list[DbcFile]) -> None:
        self.files = files
        self._global: dict[int, "Message"] = {}
        self._by_channel: dict[str, dict[int, "Message"]] = {}
        self._pgn: dict[int, "Message"] = {}
        self._pgn_by_channel: dict[str, dict[int, "Message"]] = {}
        self._source: dict[int, Path] = {}
        for dbc_file in files:
            table = self._global if dbc_file.channel is None else self._by_channel.setdefault(dbc_file.channel, {})
            pgns = self._pgn if dbc_file.channel is None else self._pgn_by_channel.setdefault(dbc_file.channel, {})
            for message in dbc_file.database.messages:
                key = frame_key(message.frame_id, message.is_extended_frame)
                if key in table:
                    first = table[key]
                    dbc_file.report.conflicts.append(
                        f"frame id 0x{message.frame_id:x} ({message.name}) is already defined as {first.name} in "
                        f"{self._source.get(id(first), '?')}; that definition is used")
                    continue
                table[key] = message
                self._source[id(message)] = dbc_file.path
                if message.is_extended_frame and (message.protocol == "j1939" or _is_j1939(dbc_file.database)):
                    pgns.setdefault(pgn_of(message.frame_id), message)
        self.channel_specific = bool(self._by_channel)

    @property
    def messages(self) -> list["Message"]:
        return [m for f in self.files for m in f.database.messages]

    @property
    def reports(self) -> list[LoadReport]:
        return [f.report for f in self.files]

    def source_of(self, message: "Message") -> Path | None:
        return self._source.get(id(message))

    def lookup(self, arbitration_id: int, is_extended: bool, channel: object = None) -> "Message | None":
        """The message for a frame: channel-specific files first, then exact id, then J1939 PGN."""
        key = arbitration_id | EXTENDED_FLAG if is_extended else arbitration_id
        if self._by_channel and channel is not None:
            table = self._by_channel.get(str(channel))
            if table is not None:
                found = table.get(key)
                if found is None and is_extended:
                    found = self._pgn_by_channel.get(str(channel), {}).get(pgn_of(arbitration_id))
                if found is not None:
                    return found
        found = self._global.get(key)
        if found is None and is_extended and self._pgn:
            found = self._pgn.get(pgn_of(arbitration_id))
        return found

    def get_message_by_name(self, name: str) -> "Message":
        """The first message of that name in any file; raises KeyError like cantools."""
        for dbc_file in self.files:
            try:
                return dbc_file.database.get_message_by_name(name)
            except KeyError:
                continue
        raise KeyError(name)

    def get_message_by_frame_id(self, frame_id: int, is_extended: bool | None = None) -> "Message":
        """The message for a frame id (in any channel's file); raises KeyError like cantools."""
        extended = frame_id > 0x7FF if is_extended is None else is_extended
        found = self.lookup(frame_id, extended)
        if found is None:
            for table in self._by_channel.values():
                found = table.get(frame_key(frame_id, extended))
                if found is not None:
                    break
        if found is None:
            raise KeyError(frame_id)
        return found


def frame_key(frame_id: int, is_extended: bool) -> int:
    """The lookup key of a frame id: the id, with bit 31 set for 29-bit ids (as DBC files write them)."""
    return frame_id | EXTENDED_FLAG if is_extended else frame_id


def pgn_of(frame_id: int) -> int:
    """The J1939 parameter group number of a 29-bit id (PDU1 groups drop the destination address)."""
    pgn = (frame_id >> 8) & 0x3FFFF
    if ((pgn >> 8) & 0xFF) < 240:
        pgn &= 0x3FF00
    return pgn


def _is_j1939(database: "Database") -> bool:
    dbc = database.dbc
    if dbc is None or not dbc.attributes:
        return False
    protocol = dbc.attributes.get("ProtocolType")
    return protocol is not None and str(protocol.value).upper() == "J1939"


def load_dbc(paths: PathLike | Iterable[PathLike | tuple[str | None, PathLike]], *, strict: bool = True,
             cache_dir: Path | None = None, warn: bool = True) -> VehicleDb:
    """Load one or several DBC (or KCD, SYM, ARXML) files into a VehicleDb.

    ``paths``: a path, or several; ``"CHANNEL=FILE"`` or ``(channel, path)`` binds a file to one
    bus channel. ``strict=False`` skips the strict attempt. ``cache_dir``: where parsed databases
    are kept (keyed by file content), making the next load several times faster.
    Every deviation from the file as written is in each file's ``report`` and, with ``warn``,
    issued as a DbcWarning. Raises DbcError for a missing, empty or unparseable file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    entries = [_split_channel(item) for item in paths]
    if not entries:
        raise DbcError("no DBC file given", "pass --dbc FILE or set can.dbc in rag_car.toml")
    files: list[DbcFile] = []
    for channel, path in entries:
        for loaded in _load_with_imports(path, strict, cache_dir, seen=set()):
            loaded.channel = channel
            files.append(loaded)
    db = VehicleDb(files)
    if warn:
        for report in db.reports:
            for line in report.warnings():
                warnings.warn(DbcWarning(line), stacklevel=2)
    return db


def _split_channel(item: PathLike | tuple[str | None, PathLike]) -> tuple[str | None, Path]:
    if isinstance(item, tuple):
        channel, path = item
        return (str(channel) if channel not in (None, "") else None), Path(path).expanduser()
    text = os.fspath(item)
    if "=" in text and not Path(text).exists():
        channel, _, rest = text.partition("=")
        if channel and rest and "/" not in channel and os.sep not in channel:
            return channel, Path(rest).expanduser()
    return None, Path(text).expanduser()


def _load_with_imports(path: Path, strict: bool, cache_dir: Path | None, seen: set[Path]) -> list[DbcFile]:
    resolved = path.resolve()
    if resolved in seen:
        return []
    seen.add(resolved)
    loaded = load_one(path, strict=strict, cache_dir=cache_dir)
    out = [loaded]
    for imported in loaded.report.imported:
        out += _load_with_imports(imported, strict, cache_dir, seen)
    return out


def load_one(path: Path, *, strict: bool = True, cache_dir: Path | None = None) -> DbcFile:
    """Load one database file (no IMPORT following); see :func:`load_dbc`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DbcError(f"DBC file {path} does not exist", "check the path given to --dbc or can.dbc") from None
    except OSError as exc:
        raise DbcError(f"DBC file {path} cannot be read ({exc.strerror or exc})", "check the file's permissions") from exc
    if not raw.strip():
        raise DbcError(f"DBC file {path} is empty: it defines no messages (BO_)", "pass a DBC that describes the bus's frames")
    cache_file = None
    if cache_dir is not None:
        import cantools

        digest = hashlib.sha256(raw + f"|{cantools.__version__}|{CACHE_VERSION}|{strict}".encode()).hexdigest()
        cache_file = Path(cache_dir) / f"{digest}.pickle"
        cached = _read_cache(cache_file)
        if cached is not None:
            database, report = cached
            report.path = path
            report.imported = [path.parent / p.name for p in report.imported]
            return DbcFile(path=path, database=database, report=report)
    if path.suffix.lower() == ".dbc" or not path.suffix:
        database, report = _load_dbc_text(path, _decode_text(raw), strict)
    else:
        database, report = _load_other_format(path, strict)
    if not database.messages:
        raise DbcError(f"DBC file {path} defines no messages (BO_)", "pass a DBC that describes the bus's frames")
    if cache_file is not None:
        _write_cache(cache_file, (database, report))
    return DbcFile(path=path, database=database, report=report)


def _decode_text(raw: bytes) -> str:
    # opendbc and most newer files are UTF-8; Vector tools write cp1252 (cantools' default)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _load_other_format(path: Path, strict: bool):
    import cantools

    report = LoadReport(path=path)
    try:
        return cantools.database.load_file(str(path), strict=strict), report
    except Exception as first:  # cantools wraps every format's failure in its own error types
        if strict:
            try:
                database = cantools.database.load_file(str(path), strict=False)
            except Exception:
                pass
            else:
                report.mode = "relaxed"
                report.relaxed = _strict_problems(database)
                return database, report
        raise DbcError(f"database file {path} cannot be loaded ({_shorten(str(first), 300)})",
                       "check that it is a DBC, KCD, SYM or ARXML file") from first


def _load_dbc_text(path: Path, text: str, strict: bool):
    from cantools.database.can import Database
    from cantools.database.errors import Error as CantoolsError

    report = LoadReport(path=path)
    for name in _IMPORT.findall(text):
        target = path.parent / name
        if target.is_file():
            report.imported.append(target)
        else:
            report.reinterpreted.append(f'IMPORT of {name} ignored: {target} does not exist')
    relaxed = not strict
    extended_ids: set[str] = set()
    for match in _BO_ID.finditer(text):
        frame_id = int(match.group(1))
        if 0x7FF < frame_id < (1 << 29):  # a 29-bit id without the flag: cantools rejects it even non-strict
            extended_ids.add(f"{frame_id:x}")
            report.reinterpreted.append(
                f"message {match.group(2)}: frame id 0x{frame_id:x} does not fit 11 bits and lacks the "
                "extended flag; read as a 29-bit extended id")
    for hex_id in sorted(extended_ids):
        text = _mark_extended(text, int(hex_id, 16))
    # a comment on a bare number (CM_ 145 "..."), which the DBC grammar has no place for: dropping these
    # up front spares one full parse per line (hyundai_can.dbc has two)
    text = _drop_matching(text, path, report, _BARE_ID_COMMENT, "malformed CM_ statement")
    while True:
        database = Database(strict=not relaxed)
        try:
            database.add_dbc_string(text)
        except CantoolsError as exc:
            message = str(exc)
            match = _STD_TOO_LONG.search(message)
            if match and match.group(1) not in extended_ids:
                extended_ids.add(match.group(1))
                text = _mark_extended(text, int(match.group(1), 16))
                report.reinterpreted.append(
                    f"message {match.group(2)}: frame id 0x{match.group(1)} does not fit 11 bits and lacks the "
                    "extended flag; read as a 29-bit extended id")
                continue
            if not relaxed and ("overlapping" in message or "does not fit" in message or "exceeds" in message):
                relaxed = True
                continue
            raise DbcError(f"DBC file {path} cannot be loaded: {_shorten(message, 300)}",
                           "fix the file or report it to its author") from exc
        except ValueError as exc:  # unused VAL_ / SIG_VALTYPE_ entries
            unused = _UNUSED.findall(str(exc))
            if not unused:
                raise DbcError(f"DBC file {path} cannot be loaded: {_shorten(str(exc), 300)}",
                               "fix the file or report it to its author") from exc
            before = len(report.dropped)
            for keyword, frame_id, signal in unused:
                if keyword == "SIG_VALTYPE_":
                    raise DbcError(f"DBC file {path}: SIG_VALTYPE_ {frame_id} {signal} names a signal that does not exist",
                                   "fix or remove that statement (it sets a signal's float type)") from exc
                text = _drop_matching(text, path, report, re.compile(
                    rf"^[ \t]*VAL_[ \t]+{frame_id}[ \t]+{re.escape(signal)}\b", re.M),
                    f"VAL_ for signal {signal}, which message {frame_id} does not have")
            if len(report.dropped) == before or len(report.dropped) > MAX_DROPPED:
                raise DbcError(f"DBC file {path} cannot be loaded: {_shorten(str(exc), 300)}",
                               "remove the VAL_ statements for signals that do not exist") from exc
            continue
        except Exception as exc:  # textparser's ParseError / TokenizeError carry the offset
            offset = getattr(exc, "offset", None)
            if offset is None:
                raise DbcError(f"DBC file {path} cannot be loaded ({type(exc).__name__}: {_shorten(str(exc), 200)})",
                               "fix the file or report it to its author") from exc
            line_no, column, line_text = _position(text, offset)
            start, end = _statement_span(text, offset)
            statement = text[start:end]
            keyword = _keyword(statement) if statement.strip() else None
            if keyword is None or len(report.dropped) >= MAX_DROPPED:
                why = "" if keyword is None else f" (after dropping {len(report.dropped)} malformed statements)"
                raise DbcError(
                    f"{path}:{line_no}:{column}: DBC syntax error{why}: {_shorten(line_text.strip(), 160)}",
                    "fix that statement; only malformed comment, attribute and value-table statements are dropped "
                    "automatically") from None
            report.dropped.append(DroppedStatement(line_no, statement.strip(), f"malformed {keyword} statement"))
            text = text[:start] + _blank(statement) + text[end:]
            continue
        break
    if report.dropped or report.reinterpreted:
        report.mode = "repaired"
    if relaxed:
        report.mode = "relaxed" if report.mode == "strict" else report.mode
        report.relaxed = _strict_problems(database) if strict else []
    return database, report


def _strict_problems(database: "Database") -> list[str]:
    """What cantools' strict mode rejects, one entry per message (strict reports only the first)."""
    problems = []
    for message in database.messages:
        try:
            message.refresh(strict=True)
        except Exception as exc:  # cantools.database.errors.Error
            problems.append(f"{message.name}: {str(exc).rstrip('.')}")
            message.refresh(strict=False)
    return problems


def _mark_extended(text: str, frame_id: int) -> str:
    """Rewrite every reference to a message id as the same id with the extended flag."""
    pattern = re.compile(rf"(\b(?:BO_|SG_|VAL_|SG_MUL_VAL_|SIG_VALTYPE_|BO_TX_BU_|SIG_GROUP_)[ \t]+){frame_id}\b")
    return pattern.sub(lambda m: f"{m.group(1)}{frame_id | EXTENDED_FLAG}", text)


def _drop_matching(text: str, path: Path, report: LoadReport, pattern: re.Pattern, reason: str) -> str:
    for match in reversed(list(pattern.finditer(text))):
        start, end = _statement_span(text, match.start())
        line_no = text.count("\n", 0, start) + 1
        report.dropped.append(DroppedStatement(line_no, text[start:end].strip(), reason))
        text = text[:start] + _blank(text[start:end]) + text[end:]
    report.dropped.sort(key=lambda d: d.line)
    return text


def _position(text: str, offset: int) -> tuple[int, int, str]:
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    return text.count("\n", 0, offset) + 1, offset - line_start + 1, text[line_start:line_end]


def _statement_span(text: str, offset: int) -> tuple[int, int]:
    """The statement around ``offset``: from the start of its line to its ``;`` (outside strings)."""
    start = text.rfind("\n", 0, offset) + 1
    in_string = False
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == ";":
            return start, i + 1
        elif ch == "\n" and i + 1 < n and text[i + 1] not in " \t" and _KEYWORD.match(text, i + 1):
            # the next statement starts before this one ended: drop this line only
            return start, i
        i += 1
    end = text.find("\n", offset)
    return start, (n if end < 0 else end)


def _keyword(statement: str) -> str | None:
    match = _KEYWORD.match(statement.lstrip())
    if match is None:
        return None
    word = match.group(0)
    return word if word in DROPPABLE else None


def _blank(statement: str) -> str:
    # keep the newlines so that later errors still name the right line
    return "\n" * statement.count("\n")


def _shorten(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _read_cache(cache_file: Path):
    try:
        with cache_file.open("rb") as handle:
            return pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError):
        return None


def _write_cache(cache_file: Path, value) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a cache that cannot be written only costs speed
