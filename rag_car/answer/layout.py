"""Parts -> answer text, piece by piece: lead, body, steps, warnings, live data. Document numbers are assigned in
order of first appearance, so the answer cites [1], [2] ... whatever the sources' retrieval order was."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Hashable

from rag_car.answer.grounding import Part


class Layout:
    """Renders parts as they come; ``text`` is exactly the concatenation of the pieces returned by :meth:`add`.

    ``section_of``: source n -> the section it belongs to; the chunks of one section share one number (one
    citation per section, however many chunks the answer quotes from it)."""

    def __init__(self, section_of: Callable[[int], Hashable] | None = None) -> None:
        self.section_of = section_of
        self._by_section: dict[Hashable, int] = {}
        self.numbers: dict[int, int] = {}  # source n -> number shown
        self.parts: list[Part] = []
        self.pieces: list[str] = []
        self._last_role = ""
        self._last_group = ""
        self._step = 0
        self._live_header = False

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def renumber(self, part: Part) -> Part:
        docs = []
        for n in part.docs:
            if n not in self.numbers:
                key = self.section_of(n) if self.section_of is not None else n
                if key is None:
                    key = ("source", n)
                if key not in self._by_section:
                    self._by_section[key] = len(self._by_section) + 1
                self.numbers[n] = self._by_section[key]
            if self.numbers[n] not in docs:
                docs.append(self.numbers[n])
        return replace(part, docs=tuple(docs))

    def aside(self) -> "Layout":
        """A layout for text shown apart (the "more" of an answer) that numbers sources as this one does."""
        other = Layout(self.section_of)
        other.numbers, other._by_section = self.numbers, self._by_section
        return other

    def add(self, part: Part, flag: str = "") -> str:
        """Render one part; returns the piece of text it adds."""
        shown = self.renumber(part)
        body = shown.render() + (f" {flag}" if flag else "")
        role = part.role
        same_list = self._last_role == "step" and part.group == self._last_group
        if role == "step":
            self._step = self._step + 1 if same_list else 1
            body = f"{self._step}. {body}"
        if role == "cont" and same_list:
            # a sentence inside a list (between two steps) carries on the step before it, unnumbered
            piece = " " + body
            self.parts.append(shown)
            self.pieces.append(piece)
            return piece
        if role == "cont":
            role = "body"
        if role == "live":
            body = f"- {body}"
        piece = self._separator(role, part.group) + body
        if role == "live" and not self._live_header:
            piece = self._separator("live-header") + "Live data:\n" + body
            self._live_header = True
        self.parts.append(shown)
        self.pieces.append(piece)
        self._last_role = role
        self._last_group = part.group
        return piece

    def add_text(self, text: str, role: str = "note") -> str:
        """A line of our own (an abstention, a note): not a claim about the vehicle, so it cites nothing."""
        piece = self._separator(role) + text
        self.pieces.append(piece)
        self._last_role = role
        return piece

    def _separator(self, role: str, group: str = "") -> str:
        if not self.pieces:
            return ""
        last = self._last_role
        if role == "body" and last == "body":
            return " "
        if role == "step" and last == "step" and group != self._last_group:
            return "\n\n"  # another section's list starts its own numbering
        if role in ("step", "live", "lead") and last == role:
            return "\n"
        if role == "step" and last == "body":
            return "\n"
        return "\n\n"
