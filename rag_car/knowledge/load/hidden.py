"""HTML -> the same HTML without the text a browser would not show a reader (hidden-text injection), and what went.

A page can carry text that no reader sees but a text extractor reads: an instruction to an AI model in a
``display:none`` block, in white letters on a white page, at font size 0 or 9,999 pixels off the screen. Such
text is dropped before partitioning, so it never reaches the index, and the ingest report says how much went.

What is decided, from the page alone (inline ``style``, the page's own ``<style>`` sheets, presentational
attributes; never scripts or external sheets, which a loader does not fetch):

- the element and everything in it: the ``hidden`` attribute, ``<template>``, ``display:none``, ``opacity:0``,
  ``content-visibility:hidden``, positioned or indented 999 px or more off the page (the hiding idioms use
  -999 px to -10,000 px; no laid-out text sits there), clipped to nothing (``clip: rect(0 0 0 0)``,
  ``clip-path: inset(50%)``), or a box of at most 1 px with ``overflow:hidden`` (the "visually hidden" idiom);
- the text directly in an element: ``visibility:hidden`` (a child may make itself visible again, as in a
  browser), a computed font size under 2 px (a glyph under two pixels is a dot), a transparent colour, or a
  colour against the background behind it with a WCAG contrast ratio under 1.25 (``#fff`` on ``#fff`` is 1.0;
  ``#eee`` on white, 1.16, is as unreadable). The background is the nearest declared one (the browser canvas,
  white, when none is); a background image makes the colour question undecidable and the text is kept.

Selectors in ``<style>`` are matched when they are made of type, class, id and attribute parts joined by
descendant or child combinators; a rule with pseudo-classes, ``@media`` blocks and the like is not applied
(the text is kept: a rule we cannot decide must not drop what a reader may see).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

MIN_FONT_PX = 2.0
MIN_CONTRAST = 1.25
OFFSCREEN_PX = 999.0
_ROOT_FONT_PX = 16.0  # the browsers' default font size, which em, rem and % resolve against

# CSS named colours near white and black, and the basic ones (CSS Color 4, section 6.1); a name not listed here
# leaves the colour question undecided and the text is kept.
_NAMED = {
    "white": (255, 255, 255), "black": (0, 0, 0), "snow": (255, 250, 250), "ivory": (255, 255, 240),
    "ghostwhite": (248, 248, 255), "whitesmoke": (245, 245, 245), "azure": (240, 255, 255),
    "mintcream": (245, 255, 250), "aliceblue": (240, 248, 255), "seashell": (255, 245, 238),
    "floralwhite": (255, 250, 240), "honeydew": (240, 255, 240), "linen": (250, 240, 230),
    "oldlace": (253, 245, 230), "lavenderblush": (255, 240, 245), "red": (255, 0, 0), "green": (0, 128, 0),
    "blue": (0, 0, 255), "yellow": (255, 255, 0), "gray": (128, 128, 128), "grey": (128, 128, 128),
    "silver": (192, 192, 192), "navy": (0, 0, 128), "maroon": (128, 0, 0), "purple": (128, 0, 128),
    "teal": (0, 128, 128), "olive": (128, 128, 0), "lime": (0, 255, 0), "aqua": (0, 255, 255),
    "fuchsia": (255, 0, 255), "orange": (255, 165, 0),
}
_TRANSPARENT = "transparent"
_HIDING_HINTS = re.compile(r"hidden|display|visibility|font|opacity|clip|indent|left|top|right|bottom|color|"
                           r"background|bgcolor|<template|<style|overflow", re.IGNORECASE)


@dataclass
class HiddenText:
    """What :func:`drop_hidden_html` removed: pieces of text, their characters, and why."""

    pieces: int = 0
    chars: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, text: str) -> None:
        if text and text.strip():
            self.pieces += 1
            self.chars += len(" ".join(text.split()))
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def note(self, kind: str = "HTML", shown_by: str = "a browser") -> str:
        """The ingest report's line, or "" when nothing was hidden."""
        if not self.pieces:
            return ""
        why = ", ".join(sorted(self.reasons))
        return (f"hidden {kind} text dropped ({why}): {self.pieces} piece(s), {self.chars:,} characters {shown_by} "
                "does not show a reader; they are not indexed")


@dataclass(frozen=True)
class _Style:
    """The inherited part of an element's computed style."""

    font_px: float = _ROOT_FONT_PX
    visible: bool = True
    color: tuple[int, int, int, float] | None = (0, 0, 0, 1.0)  # None: undecidable
    background: tuple[int, int, int, float] | None = (255, 255, 255, 1.0)  # the canvas until a box paints one


def drop_hidden_html(html: str) -> tuple[str, HiddenText]:
    """``html`` without the text a browser would not show, and what was dropped. The text comes back unchanged
    when nothing is hidden (it is not re-serialised)."""
    report = HiddenText()
    if not html or not _HIDING_HINTS.search(html):
        return html, report
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return html, report
    sheet = _stylesheet(root)
    _walk(root, _Style(), sheet, report)
    if not report.pieces:
        return html, report
    return lxml.html.tostring(root, encoding="unicode", method="html"), report


# -- the tree walk ---------------------------------------------------------------------------------------------

def _walk(el, inherited: _Style, sheet: _Sheet, report: HiddenText) -> None:
    for child in list(el):
        if not isinstance(child.tag, str):  # comments and processing instructions: unstructured drops them
            continue
        decl = _declarations(child, sheet)
        gone = _gone(child, decl) if decl or child.get("hidden") is not None or child.tag == "template" else ""
        if gone:
            report.add(gone, child.text_content())
            _remove_keeping_tail(child)
            continue
        plain = not decl and child.get("color") is None and child.get("bgcolor") is None
        style = inherited if plain else _computed(child, decl, inherited)
        unseen = _unseen(style)
        if unseen:
            if child.text:
                report.add(unseen, child.text)
                child.text = None
            for grandchild in child:
                if grandchild.tail:
                    report.add(unseen, grandchild.tail)
                    grandchild.tail = None
        _walk(child, style, sheet, report)


def _remove_keeping_tail(el) -> None:
    """Remove ``el`` and its subtree; the text after it belongs to its parent and stays."""
    parent = el.getparent()
    tail = el.tail
    previous = el.getprevious()
    parent.remove(el)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _gone(el, decl: dict[str, str]) -> str:
    """Why ``el`` and all it holds are not rendered, or ""."""
    tag = el.tag.lower()
    if tag == "template":
        return "template"
    hidden = el.get("hidden")
    if hidden is not None and hidden.strip().lower() != "until-found":
        return "hidden attribute"
    if decl.get("display", "").startswith("none"):
        return "display:none"
    if decl.get("content-visibility", "").startswith("hidden"):
        return "content-visibility:hidden"
    opacity = _number(decl.get("opacity", ""))
    if opacity is not None and opacity <= 0:
        return "opacity:0"
    if decl.get("position", "") in ("absolute", "fixed"):
        for side in ("left", "top", "right", "bottom"):
            if (px := _length(decl.get(side, ""), _ROOT_FONT_PX)) is not None and px <= -OFFSCREEN_PX:
                return "off-screen"
    for prop in ("text-indent", "margin-left", "margin-top"):
        if (px := _length(decl.get(prop, ""), _ROOT_FONT_PX)) is not None and px <= -OFFSCREEN_PX:
            return "off-screen"
    clip = decl.get("clip", "").replace(",", " ")
    if re.fullmatch(r"rect\(\s*0(?:px)?\s+0(?:px)?\s+0(?:px)?\s+0(?:px)?\s*\)", clip):
        return "clipped"
    if re.fullmatch(r"inset\(\s*50%\s*\)|circle\(\s*0(?:px|%)?\s*\)", decl.get("clip-path", "")):
        return "clipped"
    if decl.get("overflow", "") in ("hidden", "clip"):
        width, height = _length(decl.get("width", ""), _ROOT_FONT_PX), _length(decl.get("height", ""), _ROOT_FONT_PX)
        if (width is not None and width <= 1) or (height is not None and height <= 1):
            return "zero-size box"
        if (max_h := _length(decl.get("max-height", ""), _ROOT_FONT_PX)) is not None and max_h <= 0:
            return "zero-size box"
    return ""


def _computed(el, decl: dict[str, str], inherited: _Style) -> _Style:
    font_px = inherited.font_px
    if "font-size" in decl:
        size = decl["font-size"]
        if size.endswith("%"):
            number = _number(size[:-1])
            font_px = inherited.font_px * number / 100 if number is not None else font_px
        elif (px := _length(size, inherited.font_px)) is not None:
            font_px = px
    visible = inherited.visible
    if decl.get("visibility", "") in ("hidden", "collapse"):
        visible = False
    elif decl.get("visibility", "") == "visible":
        visible = True
    color = inherited.color
    raw_color = decl.get("color") or (el.get("color") if el.tag.lower() == "font" else None)
    if raw_color:
        color = parse_colour(raw_color)
    background = inherited.background
    raw_bg = decl.get("background-color") or el.get("bgcolor")
    shorthand = decl.get("background", "")
    if "url(" in shorthand or decl.get("background-image", "none") not in ("none", ""):
        background = None  # an image behind the text: its colour cannot be told
    elif raw_bg or shorthand:
        painted = parse_colour(raw_bg) if raw_bg else _colour_in(shorthand)
        if painted is None:
            background = None
        elif painted[3] >= 1.0:
            background = painted
        elif painted[3] > 0:
            background = None  # a translucent box over something: undecidable
    return _Style(font_px, visible, color, background)


@functools.lru_cache(maxsize=4096)
def _unseen(style: _Style) -> str:
    """Why the text directly in an element with this computed style is not seen, or ""."""
    if not style.visible:
        return "visibility:hidden"
    if style.font_px < MIN_FONT_PX:
        return "font size under 2 px"
    if style.color is not None and style.color[3] <= 0:
        return "transparent text"
    if style.color is not None and style.background is not None and style.color[3] >= 1.0:
        if contrast_ratio(style.color, style.background) < MIN_CONTRAST:
            return "text the colour of its background"
    return ""


# -- values ----------------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"\s*([-+]?\d*\.?\d+)\s*(%?)\s*")
_LENGTH = re.compile(r"\s*([-+]?\d*\.?\d+)\s*([a-z]*)\s*")


def _number(value: str) -> float | None:
    match = _NUMBER.fullmatch(value or "")
    if not match:
        return None
    number = float(match.group(1))
    return number / 100 if match.group(2) else number


_UNITS = {"px": 1.0, "pt": 96 / 72, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4, "q": 96 / 101.6}


def _length(value: str, font_px: float) -> float | None:
    """A CSS length in px (em against ``font_px``, rem against 16 px); None when it is not one."""
    if not value:
        return None
    match = _LENGTH.fullmatch(value.lower())
    if not match:
        return None
    number, unit = float(match.group(1)), match.group(2)
    if unit == "" and number == 0:
        return 0.0
    if unit in _UNITS:
        return number * _UNITS[unit]
    if unit == "em":
        return number * font_px
    if unit == "rem":
        return number * _ROOT_FONT_PX
    return None


@functools.lru_cache(maxsize=1024)
def parse_colour(value: str) -> tuple[int, int, int, float] | None:
    """#rgb, #rgba, #rrggbb, #rrggbbaa, rgb()/rgba(), a listed name or ``transparent`` -> (r, g, b, alpha)."""
    value = (value or "").strip().lower()
    if value == _TRANSPARENT:
        return (0, 0, 0, 0.0)
    if value in _NAMED:
        return (*_NAMED[value], 1.0)
    match = re.fullmatch(r"#([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})", value)
    if match:
        digits = match.group(1)
        if len(digits) <= 4:
            digits = "".join(c * 2 for c in digits)
        alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16), alpha)
    match = re.fullmatch(r"rgba?\(\s*(\d+)\s*[, ]\s*(\d+)\s*[, ]\s*(\d+)\s*(?:[,/]\s*([\d.]+%?)\s*)?\)", value)
    if match:
        alpha = 1.0
        if match.group(4):
            alpha = _number(match.group(4))
            if alpha is None:
                return None
        return (min(int(match.group(1)), 255), min(int(match.group(2)), 255), min(int(match.group(3)), 255), alpha)
    return None


def _colour_in(shorthand: str) -> tuple[int, int, int, float] | None:
    """The colour of a ``background`` shorthand (``#fff no-repeat``), or None when none is recognised."""
    for token in re.findall(r"rgba?\([^)]*\)|#[0-9a-fA-F]+|[a-zA-Z]+", shorthand):
        colour = parse_colour(token)
        if colour is not None:
            return colour
    return None


def contrast_ratio(a: tuple[int, int, int, float], b: tuple[int, int, int, float]) -> float:
    """The WCAG 2 contrast ratio of two opaque colours (1.0 identical, 21.0 black on white)."""

    def luminance(rgb: tuple[int, int, int, float]) -> float:
        channels = []
        for c in rgb[:3]:
            s = c / 255
            channels.append(s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4)
        return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# -- style sheets ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Compound:
    tag: str  # "" for any
    ids: tuple[str, ...]
    classes: tuple[str, ...]
    attrs: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class _Rule:
    chain: tuple[tuple[str, _Compound], ...]  # (combinator before it: "" / " " / ">", compound), left to right
    declarations: tuple[tuple[str, str, bool], ...]  # (property, value, !important)
    specificity: tuple[int, int, int]
    order: int


_COMPOUND = re.compile(r"(\*|[a-zA-Z][\w-]*)?((?:[.#][\w-]+|\[[^\]]+\])*)")


def _stylesheet(root) -> _Sheet:
    rules: list[_Rule] = []
    for style in root.iter("style"):
        media = (style.get("media") or "all").lower()
        if "screen" not in media and "all" not in media:
            continue
        css = re.sub(r"/\*.*?\*/", "", style.text or "", flags=re.DOTALL)
        css = _without_at_blocks(css)
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
            declarations = tuple(_parse_declarations(body))
            if not declarations:
                continue
            for selector in selectors.split(","):
                parsed = _parse_selector(selector.strip())
                if parsed is not None:
                    chain, specificity = parsed
                    rules.append(_Rule(chain, declarations, specificity, len(rules)))
    return _Sheet(rules)


def _without_at_blocks(css: str) -> str:
    """The sheet without ``@media``/``@supports``/... blocks (their conditions are not evaluated) and @-lines."""
    out, i = [], 0
    while i < len(css):
        at = css.find("@", i)
        if at < 0:
            out.append(css[i:])
            break
        out.append(css[i:at])
        brace, semi = css.find("{", at), css.find(";", at)
        if brace < 0 or (0 <= semi < brace):
            i = semi + 1 if semi >= 0 else len(css)
            continue
        depth, j = 0, brace
        while j < len(css):
            depth += {"{": 1, "}": -1}.get(css[j], 0)
            j += 1
            if depth == 0:
                break
        i = j
    return "".join(out)


def _parse_selector(selector: str) -> tuple[tuple[tuple[str, _Compound], ...], tuple[int, int, int]] | None:
    if not selector or re.search(r"[:~+|]", selector.replace("|=", "")):
        return None  # pseudo-classes and sibling combinators are not evaluated
    tokens = re.findall(r">|[^\s>]+", selector)
    chain: list[tuple[str, _Compound]] = []
    combinator, ids, classes, types = "", 0, 0, 0
    for token in tokens:
        if token == ">":
            combinator = ">"
            continue
        match = _COMPOUND.fullmatch(token)
        if not match:
            return None
        tag = (match.group(1) or "").lower()
        parts = re.findall(r"[.#][\w-]+|\[[^\]]+\]", match.group(2) or "")
        attrs = []
        for part in parts:
            if part.startswith("["):
                name, _, value = part[1:-1].partition("=")
                attrs.append((name.strip().lower(), value.strip().strip("\"'") if _ else None))
        compound = _Compound("" if tag == "*" else tag, tuple(p[1:] for p in parts if p[0] == "#"),
                             tuple(p[1:] for p in parts if p[0] == "."), tuple(attrs))
        ids += len(compound.ids)
        classes += len(compound.classes) + len(compound.attrs)
        types += bool(compound.tag)
        chain.append((combinator or (" " if chain else ""), compound))
        combinator = ""
    if not chain:
        return None
    return tuple(chain), (ids, classes, types)


def _parse_declarations(body: str):
    for declaration in body.split(";"):
        name, sep, value = declaration.partition(":")
        if not sep:
            continue
        value = " ".join(value.split()).lower()
        important = value.endswith("!important")
        value = value.removesuffix("!important").strip()
        yield name.strip().lower(), value, important


def _matches_compound(el, compound: _Compound) -> bool:
    if not isinstance(el.tag, str) or (compound.tag and el.tag.lower() != compound.tag):
        return False
    if compound.ids and el.get("id") not in compound.ids:
        return False
    if compound.classes and not set(compound.classes) <= set((el.get("class") or "").split()):
        return False
    for name, value in compound.attrs:
        got = el.get(name)
        if got is None or (value is not None and got != value):
            return False
    return True


def _matches(el, chain: tuple[tuple[str, _Compound], ...]) -> bool:
    combinator, compound = chain[-1]
    if not _matches_compound(el, compound):
        return False
    if len(chain) == 1:
        return True
    parent = el.getparent()
    if combinator == ">":
        return parent is not None and _matches(parent, chain[:-1])
    while parent is not None:
        if _matches(parent, chain[:-1]):
            return True
        parent = parent.getparent()
    return False


class _Sheet:
    """A page's rules, indexed by what their last compound needs (an id, a class, a type), so that an element
    is matched against the few rules that can apply to it."""

    def __init__(self, rules: list[_Rule]) -> None:
        self.by_key: dict[str, list[_Rule]] = {}
        for rule in rules:
            last = rule.chain[-1][1]
            key = f"#{last.ids[0]}" if last.ids else f".{last.classes[0]}" if last.classes else last.tag or "*"
            self.by_key.setdefault(key, []).append(rule)

    def candidates(self, el) -> list[_Rule]:
        if not self.by_key:
            return []
        keys = [el.tag.lower(), "*", *(f".{c}" for c in (el.get("class") or "").split())]
        if el.get("id"):
            keys.append(f"#{el.get('id')}")
        return [rule for key in keys for rule in self.by_key.get(key, ())]


def _declarations(el, sheet: _Sheet) -> dict[str, str]:
    """The element's cascaded declarations: the sheet's matching rules by specificity and order, then the
    ``style`` attribute; ``!important`` over both."""
    weighted: list[tuple[tuple, str, str]] = []
    for rule in sheet.candidates(el):
        if _matches(el, rule.chain):
            for name, value, important in rule.declarations:
                weighted.append(((important, 0, rule.specificity, rule.order), name, value))
    for position, (name, value, important) in enumerate(_parse_declarations(el.get("style") or "")):
        weighted.append(((important, 1, (0, 0, 0), position), name, value))
    weighted.sort(key=lambda item: item[0])
    return {name: value for _, name, value in weighted}
