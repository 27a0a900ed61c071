"""File bytes -> text: size limit, empty and binary files refused, UTF-8 with a Windows-1252 fallback."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from rag_car.errors import IngestError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Windows-1252 leaves five bytes undefined; Latin-1 maps them to C1 controls, which is what we fall back to.
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes. Raises IngestError for a missing, unreadable, empty or oversized file."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise IngestError(f"{path} does not exist", "check the path") from exc
    except OSError as exc:
        raise IngestError(f"cannot read {path} ({exc.strerror})", "check the file's permissions") from exc
    if size == 0:
        raise IngestError(f"{path} is empty (0 bytes)", "remove it or replace it with the real document")
    if size > max_bytes:
        raise IngestError(
            f"{path} is {size / 1e6:.1f} MB, over the limit of {max_bytes / 1e6:g} MB",
            "raise ingest.max_file_mb (RAG_CAR_INGEST__MAX_FILE_MB or --max-file-mb) or split the file",
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path} ({exc.strerror})", "check the file's permissions") from exc


def decode_text(data: bytes, path: Path) -> tuple[str, list[str]]:
    """Decode a text file; return the text and warnings about how it was read.

    UTF-8 (with or without BOM) and BOM-marked UTF-16 decode as they are. Bytes that are not valid
    UTF-8 are read as Windows-1252 (a Latin-1 file, or a UTF-8 file with a few Latin-1 bytes pasted in),
    so nothing is lost, and a warning says so. Raises IngestError for binary data and for a file with
    no text at all.
    """
    warnings: list[str] = []
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise IngestError(f"{path} starts with a {encoding} byte-order mark but is not {encoding} ({exc.reason})",
                                  "re-save it as UTF-8") from exc
            break
    if text is None:
        if b"\x00" in data[:8192]:
            raise IngestError(f"{path} is a binary file, not text (it contains NUL bytes)",
                              "ingest the document it was exported from, or check the file extension")
        text = _as_gbk(data, path)
        if text is not None:
            warnings.append("not UTF-8: read as GBK/GB18030 (its non-ASCII bytes are GB2312 Chinese characters)")
            replaced = 0
        else:
            text, replaced, first = _decode_utf8_or_cp1252(data)
        if replaced:
            warnings.append(f"{replaced} byte(s) were not valid UTF-8 (first at byte {first}) and were read as Windows-1252/Latin-1")
    if _looks_binary(text):
        raise IngestError(f"{path} is a binary file, not text (too many control characters)",
                          "ingest the document it was exported from, or check the file extension")
    if not text.strip():
        raise IngestError(f"{path} holds no text (only whitespace)", "remove it or replace it with the real document")
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings


# a GB2312 character: two bytes, both 0xA1-0xFE (what GBK-encoded Chinese text is made of, nearly all of it)
_GB2312_PAIR = re.compile(rb"[\xa1-\xfe][\xa1-\xfe]")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
# a Chinese text has more than a handful of characters; fewer pairs are as likely two accented Latin-1 letters
MIN_GBK_CHARACTERS = 4


def _as_gbk(data: bytes, path: Path) -> str | None:
    """The text of a GBK/GB18030 file, None for a file that is UTF-8 or not Chinese. Evidence, not a guess: the file
    is not valid UTF-8 and nearly all its non-ASCII bytes pair up as GB2312 characters (Windows-1252 text has accented
    letters between ASCII ones, which never pair up so). A file that looks Chinese but mixes encodings is refused by
    name rather than indexed as mojibake."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    high = len(_HIGH_BYTE.findall(data))
    paired = 2 * len(_GB2312_PAIR.findall(data))
    if paired < 2 * MIN_GBK_CHARACTERS or paired < 0.5 * high:
        return None  # a few stray bytes (a pasted Latin-1 "°"): the Windows-1252 reading below, with its warning
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path} looks like GBK Chinese text but is not valid GBK/GB18030 at byte {exc.start} "
                          "(mixed encodings?)", "re-save it as UTF-8") from exc
    if paired < 0.9 * high:
        raise IngestError(f"{path} is neither UTF-8 nor GBK throughout: {paired} of its {high} non-ASCII bytes are GBK "
                          "Chinese characters (mixed encodings?)", "re-save it as UTF-8")
    return text


def _decode_utf8_or_cp1252(data: bytes) -> tuple[str, int, int]:
    """Decode UTF-8; each run of invalid bytes is decoded as Windows-1252. Returns (text, bytes replaced, first offset)."""
    parts: list[str] = []
    position, replaced, first = 0, 0, -1
    while True:
        try:
            parts.append(data[position:].decode("utf-8"))
            break
        except UnicodeDecodeError as exc:
            start, end = position + exc.start, position + exc.end
            parts.append(data[position:start].decode("utf-8"))
            bad = data[start:end]
            parts.append("".join(bytes([b]).decode("latin-1") if b in _CP1252_UNDEFINED else bytes([b]).decode("cp1252") for b in bad))
            replaced += len(bad)
            if first < 0:
                first = start
            position = end
    return "".join(parts), replaced, first


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    return len(_CONTROL.findall(sample)) > max(8, len(sample) // 100)
