"""Text -> the exact codes it names: DTCs, NHTSA campaign and ODI numbers, bulletin and part numbers.

A code is compared by its *key*: upper case, letters and digits only ("TSB 21-004" -> "21004",
"02V-288" -> "02V288000"), so that the spelling of the question and of the document may differ.

Bulletin numbers are recognised anywhere in the shapes real makers publish (each pattern says whose): the
letters-year-number family (Nissan NTB12-034, ASB-23-004, TSB-21-004), Toyota/Lexus T-SB-0123-21 and L-SB-..., Hyundai
and Kia / GM 21-EM-003H and 18-NA-123 (year, a group of letters, a number), GM Preliminary Information PIP5438;
other numbers only after a word that names them ("bulletin 05/91", "part number F1FZ-12A650-A").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("dtc", "campaign", "odi", "bulletin", "part")

# SAE J2012: P (powertrain), C (chassis), B (body), U (network) + 4 characters, the first 0-3.
_DTC = re.compile(r"(?<![A-Za-z0-9])([PCBUpcbu][0-3][0-9A-Fa-f]{3})(?![A-Za-z0-9])")
# NHTSA recall campaign: 2-digit year, V(ehicle)/E(quipment)/T(ire)/C(hild seat)/I, 3 + 3 digits
# ("02V288000", "02V-288", "01V-139.001").
_CAMPAIGN = re.compile(r"(?<![A-Za-z0-9])(\d{2})([VETCIvetci])-?(\d{3})(?:[.-]?(\d{3}))?(?![A-Za-z0-9])")
# NHTSA ODI investigations: PE/EA/DP/RQ/AQ/RP/IR + 2-digit year + 3 digits ("PE02-011", "EA02004").
_ODI = re.compile(r"(?<![A-Za-z0-9])(PE|EA|DP|RQ|AQ|RP|IR)-?(\d{2})-?(\d{3})(?![A-Za-z0-9])", re.IGNORECASE)
# Manufacturer bulletin numbers, recognised anywhere (upper case as published):
_BULLETIN_SHAPES = (
    # letters-year-number: Nissan "NTB12-034", "TSB-21-004", "ASB-23-004"
    re.compile(r"(?<![A-Za-z0-9-])([A-Z]{1,5}-?\d{2}-\d{2,4}[A-Z]?)(?![A-Za-z0-9-])"),
    # Toyota / Lexus: "T-SB-0123-21", "L-SB-0045-19" (number, then year)
    re.compile(r"(?<![A-Za-z0-9-])([TL]-SB-\d{4}-\d{2})(?![A-Za-z0-9-])"),
    # Hyundai / Kia ("21-EM-003H": year, group, number, revision letter) and GM ("18-NA-123")
    re.compile(r"(?<![A-Za-z0-9-])(\d{2}-[A-Z]{2,3}-\d{3}[A-Z]?)(?![A-Za-z0-9-])"),
    # GM Preliminary Information: "PIP5438", "PIP5438A"
    re.compile(r"(?<![A-Za-z0-9-])(PIP\d{4,5}[A-Z]?)(?![A-Za-z0-9-])"),
)
# Other bulletin and part numbers are only recognised after a word that says what they are.
_REF_BODY = r"([A-Z0-9]{1,12}(?:[-/.()][A-Z0-9()]{1,12}){0,4})"
_BULLETIN = re.compile(
    r"\b(?:(?:technical|service)\s+)*(?:TSBS?|SB|bulletins?)\b\s*(?:(?:TSB|SB)\b\s*)?"
    r"(?:no\.?|number|num|#)?\s*[:#]?\s*" + _REF_BODY,
    re.IGNORECASE,
)
_PART = re.compile(r"\b(?:part|p/n|pn)\s*(?:no\.?|number|num|#)?\s*[:#]?\s*" + _REF_BODY, re.IGNORECASE)
_HAS_DIGIT = re.compile(r"\d")
_NUMBER_RUN = re.compile(r"\d\d-?\d\d\d")  # an ODI number contains one
# Prefixes that name the kind of a reference rather than being part of it.
_KIND_PREFIXES = ("TSB", "SB")


@dataclass(frozen=True)
class Code:
    """One code found in a text: its kind, its spelling there, and its comparison key."""

    kind: str
    text: str
    key: str


def code_key(text: str) -> str:
    """The comparison key of a code: upper case, letters and digits only, a kind prefix (TSB, SB) dropped,
    a campaign number in its 9-character form ("94V-129" -> "94V129000")."""
    campaign = _CAMPAIGN.fullmatch(text.strip())
    if campaign:
        return _campaign_key(campaign)
    key = re.sub(r"[^A-Z0-9]", "", text.upper())
    for prefix in _KIND_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isdigit():
            return key[len(prefix):]
    return key


def _campaign_key(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2).upper()}{match.group(3)}{match.group(4) or '000'}"


def find_codes(text: str) -> list[Code]:
    """Every code in ``text``, in order of first appearance, each key once."""
    # Every kind needs a digit, and most need a word or a hyphen: cheap checks first, so that an index build
    # (which looks at every chunk) runs the slow patterns only on the texts that can match them.
    if not _HAS_DIGIT.search(text):
        return []
    lowered = text.lower()
    found: list[tuple[int, Code]] = []
    for m in _DTC.finditer(text):
        found.append((m.start(), Code("dtc", m.group(1), m.group(1).upper())))
    for m in _CAMPAIGN.finditer(text):
        found.append((m.start(), Code("campaign", m.group(0), _campaign_key(m))))
    if _NUMBER_RUN.search(text):
        for m in _ODI.finditer(text):
            found.append((m.start(), Code("odi", m.group(0), f"{m.group(1).upper()}{m.group(2)}{m.group(3)}")))
    for shape in _BULLETIN_SHAPES if ("-" in text or "PIP" in text) else ():
        for m in shape.finditer(text):
            found.append((m.start(), Code("bulletin", m.group(1), code_key(m.group(1)))))
    named = (("bulletin", _BULLETIN, "sb" in lowered or "bulletin" in lowered),
             ("part", _PART, "part" in lowered or "p/n" in lowered or "pn" in lowered))
    for kind, pattern, possible in named:
        if not possible:
            continue
        for m in pattern.finditer(text):
            body = m.group(1).rstrip(".")
            if any(ch.isdigit() for ch in body) and len(code_key(body)) >= 3:
                found.append((m.start(1), Code(kind, body, code_key(body))))
    found.sort(key=lambda item: item[0])
    seen: set[str] = set()
    codes: list[Code] = []
    for _, code in found:
        if code.key not in seen:
            seen.add(code.key)
            codes.append(code)
    return codes


def split_delimited(value: object) -> list[str]:
    """A metadata list delimited on both sides (",P0301,P0303,") -> ["P0301", "P0303"]."""
    if not isinstance(value, str) or not value:
        return []
    return [part.strip() for part in value.split(",") if part.strip()]


def heading_refs(text: str) -> list[str]:
    """Procedure and document identifiers in a heading or title ("LU-01 Oil pressure test" -> ["LU01"]):
    letters and digits joined by a hyphen or slash. A bare word with digits ("AM20", an engine) is a name, not a code."""
    out = []
    for token in candidate_tokens(text):
        key = code_key(token)
        if re.search(r"[A-Za-z]", token) and re.search(r"[-/]", token):
            out.append(key)
    return out


def candidate_tokens(text: str) -> list[str]:
    """Code-shaped tokens of a question (letters/digits/hyphens with a digit, 4+ characters): compared against the
    references the index knows, so that a bare "21-004" or "F1FZ-12A650-A" is recognised when a document names it."""
    out = []
    for token in re.findall(r"[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*", text):
        key = code_key(token)
        if len(key) >= 4 and any(ch.isdigit() for ch in key):
            out.append(token)
    return out
