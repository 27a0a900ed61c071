"""A follow-up question + the conversation so far -> a standalone search query.

The default rewriter needs no model: when the question reads as a follow-up ("and what torque for the drain
plug?", "what does it mean?"), the salient words of the conversation's previous standalone query (its codes,
vehicle and content words) are appended to it. An LLM rewriter can be plugged in when a generative backend is
configured; when it fails or answers nonsense the heuristic one is used and the result says so.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from rag_car.text.codes import find_codes
from rag_car.text.words import STOPWORDS

_LEADS = (
    "and", "also", "what about", "how about", "then", "so", "but", "or", "what if", "same for", "ok", "okay",
    "and what about", "and how", "and what", "and the", "and if", "plus",
)
_PRONOUNS = {"it", "its", "it's", "that", "this", "those", "these", "they", "them", "their", "there", "one", "ones",
             "he", "she", "same", "which", "former", "latter"}
# Words that say how something is asked, not what it is about: the stopwords, and the little words a follow-up
# leans on ("and again?", "still on?", "not that one") that carry no topic of their own.
_FUNCTION = STOPWORDS | {"again", "no", "not", "on", "out", "over", "still", "up"}
_WORD = re.compile(r"[A-Za-z0-9]+(?:[-/'][A-Za-z0-9]+)*")
MAX_CONTEXT_TERMS = 10


def content_words(text: str) -> list[str]:
    """The words of ``text`` that say what it is about, in order, each once (case kept)."""
    seen: set[str] = set()
    out: list[str] = []
    for word in _WORD.findall(text):
        low = word.lower()
        if low in _FUNCTION or low in seen or (len(low) < 2 and not low.isdigit()):
            continue
        seen.add(low)
        out.append(word)
    return out


def is_follow_up(question: str, has_history: bool) -> bool:
    """True when ``question`` leans on what was said before (a leading "and", a pronoun, almost no content)."""
    if not has_history:
        return False
    text = question.strip().lower()
    words = _WORD.findall(text)
    if not words:
        return False
    if any(text == lead or text.startswith(lead + " ") or text.startswith(lead + ",") for lead in _LEADS):
        return True
    content = content_words(question)
    if len(content) <= 2 and not find_codes(question):
        return True
    return any(w in _PRONOUNS for w in words) and len(content) <= 6


def heuristic_rewrite(question: str, history: Sequence[str]) -> str:
    """The standalone form of ``question``, given the earlier questions (oldest first)."""
    context = ""
    for earlier in history:
        earlier = (earlier or "").strip()
        if earlier:
            context = _standalone(earlier, context)
    return _standalone(question.strip(), context)


def _standalone(question: str, context: str) -> str:
    if not context or not is_follow_up(question, True):
        return question
    have = {w.lower() for w in content_words(question)}
    codes = [c.text for c in find_codes(context) if c.key.lower() not in have]
    extra: list[str] = []
    for word in codes + content_words(context):
        if word.lower() not in have and word not in extra:
            extra.append(word)
    if not extra:
        return question
    return f"{question} ({' '.join(extra[:MAX_CONTEXT_TERMS])})"


class LLMRewriter:
    """Rewrites with a generative model: ``complete(prompt) -> text``. Falls back to the heuristic when it fails."""

    def __init__(self, complete: Callable[[str], str], max_chars: int = 300) -> None:
        self.complete = complete
        self.max_chars = max_chars

    def __call__(self, question: str, history: Sequence[str]) -> tuple[str, str]:
        """(standalone query, which rewriter produced it: "llm" or "heuristic (llm failed: ...)")."""
        if not history or not is_follow_up(question, True):
            return question, "none"
        turns = "\n".join(f"- {h}" for h in history[-4:])
        prompt = (
            "Rewrite the last question so that it can be understood without the conversation. "
            "Keep every code, part name and vehicle. Answer with the question only.\n"
            f"Conversation:\n{turns}\nLast question: {question}\nStandalone question:"
        )
        try:
            text = (self.complete(prompt) or "").strip().splitlines()
        except Exception as exc:  # any backend failure: the heuristic answer is still good
            return heuristic_rewrite(question, history), f"heuristic (llm failed: {type(exc).__name__})"
        rewritten = text[0].strip().strip('"') if text else ""
        if not rewritten or len(rewritten) > self.max_chars or len(content_words(rewritten)) < len(content_words(question)):
            return heuristic_rewrite(question, history), "heuristic (llm answer unusable)"
        return rewritten, "llm"


def rewrite(question: str, history: Sequence[str] | None, llm: LLMRewriter | None = None,
            mode: str = "auto") -> tuple[str, str]:
    """(standalone query, rewriter used: "none", "heuristic", "llm" or a fallback note)."""
    history = [h for h in (history or []) if h and h.strip()]
    if mode == "off" or not history:
        return question, "none"
    if llm is not None and mode in ("auto", "llm"):
        return llm(question, history)
    standalone = heuristic_rewrite(question, history)
    return standalone, "heuristic" if standalone != question else "none"
