"""Words -> what they count as: stopwords, negations, spelling variants and stems, one list of each for BM25, answer
selection, follow-up rewriting and the evaluation's content words.

Every list is data with its source:
- STOPWORDS: the English list of bm25s (``STOPWORDS_EN_PLUS``: NLTK's English stopwords), without the negations and
  the little words that carry meaning about a car ("light stays on", "cuts off"), plus the words that only say how a
  question is asked ("please tell me", "I want to know", "what does it mean") -- from the questions of
  tests/eval/qa.jsonl, words no manual sentence turns on.
- SPELLINGS: British -> US spelling (the pairs any English style guide lists) and the abbreviations people type.
  Spelling only: no folds from one manual's vocabulary to another's ("boot" is a British word for the trunk, not for
  one maker's "liftgate"; a "garage" is where a car is parked, not a dealer); a word the documents do not use is
  left to the embedding model.
- SYNONYMS: the few names of one thing that differ between makers (tell-tale lamps), for answers only.
"""

from __future__ import annotations

import functools
import re

# negations are never stopwords ("do not drive")
NEGATIONS = frozenset({"not", "no", "nor", "never", "don't", "doesn't", "do not", "cannot", "can't", "without",
                       "nothing", "none", "isn't", "aren't", "wasn't", "weren't", "won't", "wouldn't", "shouldn't",
                       "couldn't", "mustn't", "needn't", "didn't", "hasn't", "haven't", "hadn't"})
# particles say something about a car in a search ("light stays on", "cuts off"): not stopwords for BM25; answers,
# which compare whole sentences, drop them too (a shared "on" is no evidence that two sentences say the same)
PARTICLES = frozenset({"off", "on", "up", "down", "out", "over", "under", "above", "below", "again"})
_ASKING = frozenset("""also could would shall may might must need want know tell please let like really get got ok okay
    thing things way one ones much many done find give made make mean meaning means said say says show thank thanks
    us whether whose yes""".split())


# NLTK's English stopwords as bm25s ships them (bm25s.stopwords.STOPWORDS_EN_PLUS, MIT): copied, because importing
# bm25s costs seconds (numba) and `rag-car --help` must stay fast
_ENGLISH = frozenset("""
    a about above after again against ain all am an and any are aren aren't as at be because been before being below
    between both but by can couldn couldn't d did didn didn't do does doesn doesn't doing don don't down during each
    few for from further had hadn hadn't has hasn hasn't have haven haven't having he her here hers herself him
    himself his how i if in into is isn isn't it it's its itself just ll m ma me mightn mightn't more most mustn
    mustn't my myself needn needn't no nor not now o of off on once only or other our ours ourselves out over own re
    s same shan shan't she she's should should've shouldn shouldn't so some such t than that that'll the their
    theirs them themselves then there these they this those through to too under until up ve very was wasn wasn't we
    were weren weren't what when where which while who whom why will with won won't wouldn wouldn't y you you'd
    you'll you're you've your yours yourself yourselves
""".split())
STOPWORDS = (_ENGLISH | _ASKING) - NEGATIONS - PARTICLES

SPELLINGS = {
    # British -> US
    "tyre": "tire", "tyres": "tires", "litre": "liter", "litres": "liters", "colour": "color", "colours": "colors",
    "centre": "center", "aluminium": "aluminum", "kerb": "curb", "windscreen": "windshield", "bonnet": "hood",
    "gearbox": "transmission", "petrol": "gasoline", "programme": "program", "favourite": "favorite",
    "defence": "defense", "licence": "license", "metre": "meter", "metres": "meters", "grey": "gray",
    "handbrake": "parking brake", "number plate": "license plate",
    # one word or two
    "seatbelt": "seat belt", "seatbelts": "seat belts", "jumpstart": "jump start", "jumpstarting": "jump starting",
    # negations typed without the apostrophe
    "dont": "don't", "doesnt": "doesn't", "cant": "can't", "wont": "won't", "isnt": "isn't", "shouldnt": "shouldn't",
    # abbreviations people type
    "spec": "specification", "specs": "specifications", "temp": "temperature", "temps": "temperatures",
    "batt": "battery", "aircon": "air conditioning", "dtcs": "dtc", "revs": "rpm",
}


# Synonyms folded to one form in answers (both in questions and in documents): names of the same thing across makers
# and countries, as the vocabularies of SAE J1930 / ISO 2575 list them for tell-tales ("warning lamp", "warning
# light", "tell-tale") -- not words of one manual: a manual that says "light" and a question that says "lamp" meet.
SYNONYMS = {
    "light": "lamp", "lights": "lamps", "telltale": "lamp", "telltales": "lamps", "tell-tale": "lamp",
    "blink": "flash", "blinks": "flashes", "blinking": "flashing", "blinked": "flashed",
}


def spelled(word: str) -> str:
    """The one spelling of a lower-case word ("tyres" -> "tires"); the word itself when it has no other."""
    return SPELLINGS.get(word, word)


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the Snowball English stemmer bm25s recommends

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=500_000)
def stem(word: str) -> str:
    """The Snowball English stem of a lower-case word ("warnings" -> "warn")."""
    return _stemmer().stemWord(word)


_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-case words in order (hyphenated words and codes kept whole)."""
    return [w.lower() for w in _WORD.findall(text or "")]
