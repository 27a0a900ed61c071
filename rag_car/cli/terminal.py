"""Text for a terminal -> the same text without escape sequences or control characters.

Documents, file names, DBC files, CAN logs and third-party log messages are not ours: an ESC or a BEL in
them must not retitle, clear or rewrite the user's terminal. :func:`clean` is the one filter; :func:`cleaned_output`
puts it in front of ``sys.stdout`` and ``sys.stderr`` for the whole CLI run (typer.echo, print, logging,
warnings), and :func:`console` gives the rich consoles (tables, progress bars, live views) a raw stream
for their own styling while cleaning every piece of text they render. JSON output goes through
:func:`json_text`, which escapes what :func:`json.dumps` leaves raw.
"""

from __future__ import annotations

import io
import json
import re
import sys
from contextlib import contextmanager
from typing import Any, Iterator, TextIO

# ECMA-48: CSI (ESC [ ... final byte), OSC/DCS/SOS/PM/APC strings up to BEL or ST (or unterminated),
# other ESC sequences (intermediates then one final byte), and the 8-bit C1 forms of CSI and the strings.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]?"
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
# What is left of C0 (but tab and newline), DEL and C1.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# JSON: json.dumps escapes C0; DEL and C1 (and the line/paragraph separators) would still reach a terminal raw.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u2028\u2029]")


def clean(text: str) -> str:
    """``text`` without escape sequences (removed whole, with their parameters) and without control
    characters other than newline and tab. Everything printable, in any script, is kept."""
    if _CONTROL.search(text) is None:  # nearly always: one scan, no copy
        return text
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def json_text(data: Any, **dumps_options: Any) -> str:
    """``json.dumps(data, **dumps_options)`` with DEL, C1 controls and U+2028/2029 escaped as ``\\uXXXX``
    too, so that a JSON line printed to a terminal carries no control character (the data are unchanged)."""
    dumps_options.setdefault("default", str)
    text = json.dumps(data, **dumps_options)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class CleanStream(io.TextIOBase):
    """A text stream that passes every write through :func:`clean` to ``raw``."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    @property
    def encoding(self) -> str:  # click hands its output to a stream whose encoding matches, so mirror it
        return self.raw.encoding

    @property
    def errors(self) -> str | None:
        return self.raw.errors

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.raw.write(clean(text))
        return len(text)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()


@contextmanager
def cleaned_output() -> Iterator[None]:
    """Within the block, everything written to ``sys.stdout`` and ``sys.stderr`` is cleaned (nestable)."""
    saved = sys.stdout, sys.stderr
    if sys.stdout is not None and not isinstance(sys.stdout, CleanStream):
        sys.stdout = CleanStream(sys.stdout)
    if sys.stderr is not None and not isinstance(sys.stderr, CleanStream):
        sys.stderr = CleanStream(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        sys.stdout, sys.stderr = saved


def raw(stream: TextIO) -> TextIO:
    """The stream under a :class:`CleanStream` (for our own control codes), else ``stream`` itself."""
    return stream.raw if isinstance(stream, CleanStream) else stream


def console(stderr: bool = False, **options: Any):
    """A rich Console on the raw stdout (or stderr): its own colours and cursor moves reach the terminal,
    while the text of whatever it renders is cleaned."""
    from rich.console import Console, RenderHook

    class _CleanText(RenderHook):
        def process_renderables(self, renderables):
            return [_Cleaned(r) for r in renderables]

    stream = raw(sys.stderr if stderr else sys.stdout)
    out = Console(file=stream, **options)
    out.push_render_hook(_CleanText())
    return out


class _Cleaned:
    """A rich renderable whose text segments are cleaned; control segments (rich's own) pass as they are."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console, options):
        from rich.segment import Segment

        for segment in console.render(self.inner, options):
            if segment.control:
                yield segment
            else:
                yield Segment(clean(segment.text), segment.style, segment.control)
