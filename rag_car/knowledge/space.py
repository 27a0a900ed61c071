"""A failed read or write of the index -> a StoreError that says the disk is full or read-only, and where.

Chroma and SQLite report a full disk in their own words ("database or disk is full", or only "Failed to apply
logs to the metadata segment" once Chroma's compactor wrapped it), so the cause is looked for in three places:
the OS error numbers in the exception chain, SQLite's result codes (SQLITE_FULL = 13, SQLITE_READONLY = 8, as
numbers or as SQLite's own messages), and the filesystem itself: less free space than the largest file of the
index means SQLite cannot write its journal for a transaction over it, whatever the message says.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
from pathlib import Path

from rag_car.errors import StoreError

# SQLite's primary result codes (https://sqlite.org/rescode.html) and the texts sqlite3_errstr gives for them.
SQLITE_READONLY = 8
SQLITE_FULL = 13
_FULL_TEXT = re.compile(r"database or disk is full|no space left on device|disk quota exceeded|\(code: 13\)", re.I)
_READONLY_TEXT = re.compile(r"readonly database|read-only file system|\(code: 8\)", re.I)

FULL_FIX = ("free space on that disk, or move the data dir to a disk with room (--data-dir or RAG_CAR_DATA_DIR); "
            "then run the command again: what was committed is kept and the rest is read again")
READONLY_FIX = ("questions still work (the index is read from a temporary copy); to change the index, make the data "
                "dir writable or pass another --data-dir")


def storage_error(exc: BaseException, folder: Path, what: str) -> StoreError | None:
    """A StoreError naming the disk as the cause of ``exc`` (raised while ``what`` ran on the index under
    ``folder``), or None when the filesystem is not to blame."""
    cause = _cause(exc)
    if cause is None and _short_of_space(folder):
        cause = "full"
    if cause == "full":
        free, total = _usage(folder)
        return StoreError(f"{what} failed: the disk holding {folder} is full ({_mb(free)} free of {_mb(total)}; "
                          f"the index needs room to grow and SQLite needs room for its journal)", FULL_FIX)
    if cause == "readonly":
        return StoreError(f"{what} failed: the index at {folder} is read-only", READONLY_FIX)
    return None


def is_read_only(exc: BaseException) -> bool:
    """True when ``exc`` says the index cannot be written (a read-only filesystem or database file)."""
    return _cause(exc) == "readonly"


def _cause(exc: BaseException) -> str | None:
    """"full", "readonly" or None, from the exception and everything it was raised from."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if isinstance(current, OSError) and current.errno == errno.EROFS:
            return "readonly"
        code = getattr(current, "sqlite_errorcode", None) if isinstance(current, sqlite3.Error) else None
        if code is not None and code & 0xFF == SQLITE_FULL:
            return "full"
        if code is not None and code & 0xFF == SQLITE_READONLY:
            return "readonly"
        text = str(current)
        if _FULL_TEXT.search(text):
            return "full"
        if _READONLY_TEXT.search(text):
            return "readonly"
        current = current.__cause__ or current.__context__
    return None


def _short_of_space(folder: Path) -> bool:
    """Less free space on ``folder``'s filesystem than its largest file: a rollback journal or WAL for a
    transaction over that file may need as much again."""
    free, _ = _usage(folder)
    if free < 0:
        return False
    largest = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            try:
                largest = max(largest, os.stat(os.path.join(root, name)).st_size)
            except OSError:
                continue
    return largest > 0 and free < largest


def _usage(folder: Path) -> tuple[int, int]:
    """(free bytes, total bytes) of the filesystem holding ``folder`` (or its nearest existing parent)."""
    path = Path(folder)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return -1, -1
    return usage.free, usage.total


def _mb(n: int) -> str:
    return "unknown" if n < 0 else f"{n / 1_000_000:.1f} MB"
