"""DTC text <-> SAE J2012 two-byte form: "P0217" <-> 0x0217, "U0100" <-> 0xC100.

The two bytes are the ones OBD-II services 03/07/0A return for each code and the 16-bit value the
vehicle's own DTC broadcast carries: bits 15-14 the letter (00 P, 01 C, 10 B, 11 U), then one digit of
two bits (0-3) and three hexadecimal digits of four bits.
"""

from __future__ import annotations

import re

LETTERS = "PCBU"
DTC_PATTERN = re.compile(r"^[PCBU][0-3][0-9A-F]{3}$")


def is_dtc(text: str) -> bool:
    """True when ``text`` is a five-character J2012 code such as P0303 (upper case)."""
    return bool(DTC_PATTERN.match(text))


def encode_dtc(code: str) -> int:
    """"P0303" -> 0x0303; raises ValueError for anything that is not a J2012 code."""
    text = code.strip().upper()
    if not is_dtc(text):
        raise ValueError(f"{code!r} is not a DTC: expected a letter P, C, B or U, a digit 0-3 and three hex digits, e.g. P0303")
    return (LETTERS.index(text[0]) << 14) | (int(text[1]) << 12) | int(text[2:], 16)


def decode_dtc(value: int) -> str:
    """0x0303 -> "P0303" (any 16-bit value is a valid code)."""
    value &= 0xFFFF
    return f"{LETTERS[value >> 14]}{(value >> 12) & 0x3}{value & 0xFFF:03X}"


def decode_dtc_bytes(high: int, low: int) -> str:
    """The two bytes of a service 03/07/0A answer -> "P0303"."""
    return decode_dtc((high << 8) | low)
