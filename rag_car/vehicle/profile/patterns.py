"""A profile's VIN pattern (a regular expression) -> VinPattern: matching, and whether two patterns can match one VIN.

Most VIN patterns are positional (``^0AMC[GH]5A[28][0-9X][KLMNPR][AT][0-9]{6}$``, ``KM8K.{13}``): each of the 17
positions allows a set of characters. Such patterns are compared exactly, position by position. A pattern with
alternation or open repeats is compared through sample VINs (its own examples) instead, and the result says so.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

VIN_LENGTH = 17
VIN_CHARS = frozenset("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")  # I, O and Q are never used

_CLASS_ESCAPES = {"d": frozenset(string.digits), "w": VIN_CHARS}


@dataclass(frozen=True)
class VinPattern:
    """A compiled VIN pattern. ``positions``: the 17 allowed-character sets when the pattern is positional, else None."""

    text: str
    regex: re.Pattern[str]
    positions: tuple[frozenset[str], ...] | None

    def matches(self, vin: str) -> bool:
        return bool(self.regex.fullmatch(vin.strip().upper()))


def compile_pattern(text: str) -> VinPattern:
    """Compile a VIN pattern (anchors optional; matched against the whole upper-case VIN).

    Raises ValueError with the reason for a pattern that is not a regular expression.
    """
    try:
        regex = re.compile(text)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc})") from exc
    return VinPattern(text=text, regex=regex, positions=_positions(text))


def overlap(a: VinPattern, b: VinPattern, samples: tuple[str, ...] = ()) -> str | None:
    """A VIN both patterns accept, or None when they cannot share one.

    Positional patterns are intersected position by position (exact); otherwise the ``samples`` (the two
    profiles' example VINs) are tried against both, which can only prove an overlap, not rule one out.
    """
    if a.positions is not None and b.positions is not None:
        common = [x & y for x, y in zip(a.positions, b.positions)]
        if all(common):
            return "".join(min(chars) for chars in common)
        return None
    for vin in samples:
        if a.matches(vin) and b.matches(vin):
            return vin
    if a.text.strip("^$") == b.text.strip("^$"):
        return a.text
    return None


def _positions(text: str) -> tuple[frozenset[str], ...] | None:
    """The allowed characters at each of the 17 positions, or None when the pattern is not a plain sequence of
    literals, classes and fixed repeats."""
    body = text
    if body.startswith("^"):
        body = body[1:]
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    out: list[frozenset[str]] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "[":
            end = body.find("]", i + 2)
            if end < 0:
                return None
            chars = _class(body[i + 1:end])
            if chars is None:
                return None
            i = end + 1
        elif ch == ".":
            chars, i = VIN_CHARS, i + 1
        elif ch == "\\" and i + 1 < len(body) and body[i + 1] in _CLASS_ESCAPES:
            chars, i = _CLASS_ESCAPES[body[i + 1]], i + 2
        elif ch.isalnum():
            chars, i = frozenset(ch.upper()), i + 1
        else:
            return None  # alternation, groups, open repeats: not positional
        count = 1
        if i < len(body) and body[i] == "{":
            match = re.match(r"\{(\d+)\}", body[i:])
            if not match:
                return None
            count, i = int(match.group(1)), i + match.end()
        elif i < len(body) and body[i] in "*+?":
            return None
        out.extend([chars & VIN_CHARS] * count)
    return tuple(out) if len(out) == VIN_LENGTH else None


def _class(inner: str) -> frozenset[str] | None:
    if inner.startswith("^"):
        allowed = _class(inner[1:])
        return None if allowed is None else VIN_CHARS - allowed
    chars: set[str] = set()
    i = 0
    while i < len(inner):
        if inner[i] == "\\" and i + 1 < len(inner) and inner[i + 1] in _CLASS_ESCAPES:
            chars |= _CLASS_ESCAPES[inner[i + 1]]
            i += 2
        elif i + 2 < len(inner) and inner[i + 1] == "-":
            low, high = inner[i], inner[i + 2]
            if ord(low) > ord(high):
                return None
            chars |= {chr(c) for c in range(ord(low), ord(high) + 1)}
            i += 3
        elif inner[i].isalnum():
            chars.add(inner[i])
            i += 1
        else:
            return None
    return frozenset(c.upper() for c in chars)
