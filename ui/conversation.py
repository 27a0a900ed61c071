"""A browser session's conversation: the turns asked so far, kept in st.session_state across pages.

A turn is recorded before the assistant is called, so a question is never lost: when answering
fails, the turn keeps the question and the error, the page offers a retry, and the question goes
back into the chat box.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

TURNS = "chat_turns"
PERSONA = "persona"
VEHICLE = "vehicle"
PENDING = "pending_question"   # a question sent from another page ("Ask about this")
DRAFT = "chat_draft"           # text to put back into the chat box on the next run
CHAT_INPUT = "chat_input"      # the st.chat_input key

YEAR = "model_year"
USE_LIVE = "use_live"          # ground answers in the live bus too
FILTER = "vehicle_filter"      # what the assistant is given: "Make Model [year]" or None

ANY_VEHICLE = "Any vehicle"
ANY_YEAR = "Any year"


@dataclass
class Turn:
    """One question and what came back: an Answer, or an error (message + fix) with nothing lost."""

    question: str
    persona: str
    vehicle: str
    answer: Any = None
    error: str = ""
    fix: str = ""
    error_kind: str = ""  # "empty_index", "backend", "error"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.answer is not None and not self.error


def init_session(default_persona: str = "owner") -> None:
    """Defaults for a new browser session (nothing is overwritten)."""
    st.session_state.setdefault(TURNS, [])
    st.session_state.setdefault(PERSONA, default_persona)
    st.session_state.setdefault(VEHICLE, ANY_VEHICLE)
    st.session_state.setdefault(USE_LIVE, True)


def set_vehicle_filter(vehicle: dict[str, Any] | None, year: Any = None) -> None:
    """Record the picked vehicle (an entry of known_vehicles) and model year as the assistant's filter."""
    if not vehicle:
        st.session_state[FILTER] = None
        return
    text = f"{vehicle.get('make') or ''} {vehicle.get('model') or ''}".strip()
    if isinstance(year, int):
        text = f"{text} {year}".strip()
    st.session_state[FILTER] = text or None


def vehicle_filter() -> str | None:
    return st.session_state.get(FILTER)


def turns() -> list[Turn]:
    return st.session_state.setdefault(TURNS, [])


def new_conversation() -> None:
    st.session_state[TURNS] = []


def history(before: int | None = None) -> list[dict[str, str]]:
    """The answered turns as chat messages (``role``/``content``), the context of a follow-up."""
    messages: list[dict[str, str]] = []
    for turn in turns()[:before]:
        if turn.ok:
            messages.append({"role": "user", "content": turn.question})
            messages.append({"role": "assistant", "content": getattr(turn.answer, "answer", str(turn.answer))})
    return messages


def ask_from_elsewhere(question: str, persona: str | None = None) -> None:
    """Queue a question for the chat page (the live page's "Ask about this"), in ``persona`` (default: current)."""
    st.session_state[PENDING] = {"question": question, "persona": persona or st.session_state.get(PERSONA)}


def take_pending() -> tuple[str | None, str | None]:
    """(question, persona) queued by another page, or (None, None)."""
    pending = st.session_state.pop(PENDING, None) or {}
    return pending.get("question"), pending.get("persona")


def bind(key: str) -> str:
    """The widget key for the session value ``key``, seeded from it.

    Widget state alone does not survive every page switch (a switch from inside a fragment drops the
    widgets outside it), so the value lives under ``key`` and the widget writes it back on change.
    """
    widget_key = f"_w_{key}"
    st.session_state[widget_key] = st.session_state.get(key)
    return widget_key


def store(key: str) -> None:
    """on_change of a widget made with :func:`bind` (a deselected segmented control keeps the old value)."""
    value = st.session_state.get(f"_w_{key}")
    if value is not None:
        st.session_state[key] = value


def keep_draft(text: str) -> None:
    """Put ``text`` back into the chat box on the next run (the widget cannot be changed mid-run)."""
    st.session_state[DRAFT] = text


def restore_draft() -> None:
    """Call before st.chat_input is drawn."""
    draft = st.session_state.pop(DRAFT, None)
    if draft:
        st.session_state[CHAT_INPUT] = draft
