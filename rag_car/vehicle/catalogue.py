"""DBC messages -> SignalCatalogue: what each signal means (name, comment, unit, value table, range), searchable by meaning.

A signal's meaning is read from the evidence the DBC holds: its name split into tokens (``CF_Clu_VehicleSpeed``,
``MO2_Kuehlm_T``, ``Kuehlmitteltemperatur``) and each token expanded through a small glossary kept as data
(``glossary.toml``: DBC abbreviations, German automotive words, with where they come from); its comment; its unit
(``degC`` is a temperature, ``km/h`` a speed); its value table (``P``, ``R``, ``N``, ``D``: a gear selector). A
question is matched against that text twice: by shared terms (weighted by how rare each term is among this DBC's
signals) and, when an embedding function is given, by meaning (the project's MiniLM model), so a question finds
its signal on a DBC nobody wrote aliases for.

What the question asks is read from its form as well as its words (``asked``): the quantity ("how far is it turned":
an angle; "how high are the revs": revolutions), the state ("is the engine running": decided by the engine speed), a
fault, a position. Each candidate's kind (``measure``: from its unit, else its name; a flag or a value table is a
state) is weighed against it (``fit``): the signal that is the thing asked above its rate, its fault report, its
status code, its setpoint, and one wheel's reading below the vehicle's.

A unit named in the question ("how many mph", "in kilometres") says which quantity is asked, and a signal read in
that unit goes first; a word saying whose quantity is asked ([related]: "outside", "coolant", "oil") ranks another
thing's reading of the same quantity below (``other_subject``).

Counters, checksums, alive and parity signals are bus housekeeping: marked ``internal`` and never offered to a
person.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np

GLOSSARY_FILE = Path(__file__).with_name("glossary.toml")

# one embedding call: texts -> unit-length rows
EmbedFn = Callable[[list[str]], np.ndarray]

_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_UMLAUTS = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
# a compound is read as glossary parts only when they cover most of it ("kuehlmitteltemp": all of it)
MIN_COMPOUND_COVER = 0.75
MIN_PART = 3
# what else answers a quantity asked: a bare "how far" is an extent (a distance, an angle, a position); a
# position is often given in percent
_ALSO: dict[str, set[str]] = {"extent": {"distance", "angle", "position", "percent"}, "position": {"percent"},
                              "lamp": {"state"}}
# how far a thing travelled: in a yes/no question ("is the pedal pressed?") the verb asks its state instead
_TRAVEL = frozenset({"extent", "position", "angle"})
# quantities that are rates (how fast something travels or turns): an amount asked ("how much", "level") is none
_RATES = frozenset({"speed", "angular rate"})
# a yes/no question: a verb in front ("is the engine running"), or in broken English no question word at all
# ("engine going?"); not advice ("should I stop driving?")
_YES_NO = re.compile(r"^\s*(?:is|are|am|has|have|was|were|did|does|do)\b", re.IGNORECASE)
_ASKING = frozenset("what which how why when where who whose should could can would will may must shall".split())


def yes_no(question: str) -> bool:
    """Whether ``question`` asks yes or no (see _YES_NO)."""
    if _YES_NO.match(question):
        return True
    return question.strip().endswith("?") and not _ASKING & set(re.findall(r"[a-z]+", question.lower()))
_BEST_FIT = 1.2  # the factor of a signal that measures the quantity asked (SignalCatalogue.fit)
# a question word a signal shares only by its stem ("park" / "parking") counts this much of one it carries as written
_STEM_ONLY = 0.85
# the weight of the words for the vehicle itself ([subject]) against a word that names a signal
_SUBJECT_WEIGHT = 0.25


@dataclass(frozen=True)
class StateCue:
    """A yes/no question's state word ("running") and the physical evidence that decides it: the words of the
    quantity that shows it (``asks``: "engine speed revolutions"), and when it means yes (``yes``: "above zero",
    "zero", "warm"); ``subject`` and ``state`` word the verdict ("the engine", "running")."""

    word: str
    asks: str
    yes: str
    subject: str = ""
    state: str = ""
    of: frozenset[str] = frozenset()  # a signal decides it only when its meaning carries one of these
    when: frozenset[str] = frozenset()  # the question means this state only when it carries one of these

    def decided_by(self, entry: "CatalogueEntry") -> bool:
        return not self.of or bool(self.of & set(entry.meaning.split()))


@dataclass(frozen=True)
class Asked:
    """What a question asks for, beyond its words: the quantity (``measure``: "angle", "revolutions", "extent" for
    a bare "how far", "" none), the state it asks about (``state``), whether it asks about a fault (``fault``) and
    whether it names a position (``place``: front, rear, left, right, a seat)."""

    measure: str = ""
    state: StateCue | None = None
    fault: bool = False
    place: bool = False
    report: bool = False  # asks for a warning, light or status itself
    unit: str = ""  # the quantity of a unit the question names ("in km/h": speed)
    unit_key: str = ""  # that unit as DBCs write it ("km/h")


@dataclass(frozen=True)
class Glossary:
    """Name token -> English words (``words``); token -> what housekeeping it is (``internal``); unit -> quantity
    words (``units``); quantity word -> the everyday words for it (``quantities``: "fast" is a speed)."""

    words: dict[str, str]
    internal: dict[str, str]
    units: dict[str, str]
    quantities: dict[str, str]
    source: Path
    selector: dict[str, str] = field(default_factory=dict)  # "p" -> "park": a transmission selector's letters
    seats: dict[str, str] = field(default_factory=dict)  # "driver" -> "front left": the position words of a seat
    subject: dict[str, str] = field(default_factory=dict)  # "car" -> "vehicle": words for the vehicle itself
    # quantity -> the word groups of a signal's meaning that show it, in the order they are tried
    measures: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = ()
    asks: tuple[tuple[str, str], ...] = ()  # a question's word or phrase -> the quantity it asks, in order
    states: dict[str, "StateCue"] = field(default_factory=dict)  # "running" -> what decides it
    diagnostic: dict[str, str] = field(default_factory=dict)  # "fault" -> "fault"; "open" -> "lamp" (only on a lamp)
    warm_low: float | None = None  # a warm engine's coolant from here (degC), when no profile says
    idioms: tuple[tuple[str, str], ...] = ()  # "right now" -> "now": read before the words are
    reports: dict[str, str] = field(default_factory=dict)  # "status" -> "status": a signal about a thing, not it
    reports_asked: frozenset[str] = frozenset()  # question words that ask for such a report ("warning", "light")
    asks_of: dict[str, dict[str, str]] = field(default_factory=dict)  # "engine": its "speed" is "revolutions"
    rates: dict[str, str] = field(default_factory=dict)  # "angle" -> "angular rate": a quantity per time
    unit_words: dict[str, str] = field(default_factory=dict)  # a question's "kilometres" -> "km"
    related: dict[str, str] = field(default_factory=dict)  # "coolant" -> "engine motor": also names the thing

    def quantity_of_unit(self, unit: str) -> str:
        """What a DBC unit measures ("km/h": speed; "Grad/Sek": angular rate, a quantity per time), "" unknown."""
        key = _unit_key(unit)
        if key in self.units:
            return self.units[key]
        top, slash, bottom = key.partition("/")
        if slash and self.units.get(bottom) == "time":
            return self.rates.get(self.units.get(top, ""), "")
        return ""

    def unit_asked(self, question: str) -> str:
        """The quantity of a unit the question names ("how many mph": speed; "the 12v battery": voltage), "" none.
        A one-letter unit counts only right after a number."""
        return self.units_named(question)[1]

    def units_named(self, question: str) -> tuple[str, str]:
        """The first unit the question names, as DBCs write it ("km"), and its quantity ("distance"); ("", "")."""
        for number, word in re.findall(r"(\d\s*)?([a-z%/]+|%)", question.lower()):
            unit = self.unit_words.get(word)
            if unit is not None and (len(word) > 1 or number):
                quantity = self.quantity_of_unit(unit)
                if quantity:
                    return unit, quantity
        return "", ""

    def plain(self, question: str) -> str:
        """The question with its idioms read ("is the low beam on right now" -> "... on now")."""
        for phrase, meaning in self.idioms:
            question = re.sub(rf"\b{re.escape(phrase)}\b", meaning, question, flags=re.IGNORECASE)
        return question

    def measure_of_words(self, words: Iterable[str]) -> str:
        """The quantity the words name ("engine speed rpm": revolutions), "" none."""
        have = set(words)
        return next((name for name, groups in self.measures if any(g <= have for g in groups)), "")

    def value_words(self, choices: Sequence[str]) -> tuple[str, ...]:
        """What a value table's labels name, beyond the labels: a selector's letters read as positions ("P" ->
        park), when the table holds at least three of P, R, N, D."""
        letters = {c.strip().lower() for c in choices if len(c.strip()) == 1}
        if len(letters & {"p", "r", "n", "d"}) < 3:
            return ()
        return tuple(word for letter, word in self.selector.items() if letter in letters)

    def meaning(self, token: str) -> str | None:
        return self.words.get(token)

    def split(self, token: str) -> list[str] | None:
        """A compound token as known glossary parts ("kuehlmitteltemperatur" -> kuehlmittel, temperatur), or None
        when known parts cover less than MIN_COMPOUND_COVER of it."""
        return _split_compound(token, self._parts())

    def _parts(self) -> frozenset[str]:
        return _part_set(tuple(sorted(k for k in (*self.words, *self.internal) if len(k) >= MIN_PART)))


@lru_cache(maxsize=8)
def _part_set(keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(keys)


def load_glossary(path: str | Path | None = None) -> Glossary:
    """The glossary at ``path`` (default: the bundled glossary.toml). Raises ConfigError when it cannot be read."""
    from rag_car.errors import ConfigError

    path = Path(path) if path is not None else GLOSSARY_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"signal glossary {path} cannot be read ({exc})", "restore rag_car/vehicle/glossary.toml") from exc
    try:
        return _glossary(data, path)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"signal glossary {path} has an entry of the wrong shape ({type(exc).__name__}: {exc})",
                          "each [states] entry needs asks and yes; [measures] lists words; [warm] low is a number; "
                          "or restore rag_car/vehicle/glossary.toml") from exc


def _glossary(data: dict[str, Any], path: Path) -> Glossary:
    words = {**{k.lower(): str(v) for k, v in data.get("abbreviations", {}).items()},
             **{k.lower(): str(v) for k, v in data.get("german", {}).items()}}
    return Glossary(words=words, internal={k.lower(): str(v) for k, v in data.get("internal", {}).items()},
                    units={k.lower(): str(v) for k, v in data.get("units", {}).items()},
                    quantities={k.lower(): str(v) for k, v in data.get("quantities", {}).items()}, source=path,
                    selector={k.lower(): str(v) for k, v in data.get("selector", {}).items()},
                    seats={k.lower(): str(v) for k, v in data.get("seats", {}).items()},
                    subject={k.lower(): str(v) for k, v in data.get("subject", {}).items()},
                    measures=tuple((str(k), tuple(frozenset(str(g).lower().split()) for g in v))
                                   for k, v in data.get("measures", {}).items()),
                    asks=tuple((k.lower(), str(v)) for k, v in data.get("asks", {}).items()),
                    states={k.lower(): StateCue(word=k.lower(), asks=str(v["asks"]), yes=str(v["yes"]),
                                                subject=str(v.get("subject", "")), state=str(v.get("state", k)),
                                                of=frozenset(v.get("of", ())), when=frozenset(v.get("when", ())))
                            for k, v in data.get("states", {}).items()},
                    diagnostic={k.lower(): str(v) for k, v in data.get("diagnostic", {}).items()},
                    warm_low=float(data["warm"]["low"]) if "warm" in data and "low" in data["warm"] else None,
                    idioms=tuple((k.lower(), str(v)) for k, v in data.get("idioms", {}).items()),
                    reports={k.lower(): str(v) for k, v in data.get("reports", {}).items()},
                    reports_asked=frozenset(str(w).lower() for w in data.get("reports_asked", {}).get("words", ())),
                    asks_of={k.lower(): {str(a): str(b) for a, b in v.items()} for k, v in data.get("asks_of", {}).items()},
                    rates={k.lower(): str(v) for k, v in data.get("rates", {}).items()},
                    unit_words={k.lower(): str(v) for k, v in data.get("unit_words", {}).items()},
                    related={k.lower(): str(v) for k, v in data.get("related", {}).items()})


@lru_cache(maxsize=1)
def bundled_glossary() -> Glossary:
    return load_glossary()


@dataclass(frozen=True)
class CatalogueEntry:
    """One DBC signal and what it means.

    ``tokens``: the name's tokens, lower case; ``meaning``: the English words the name stands for (tokens the
    glossary knows, expanded; the others kept); ``quantity``: what the unit measures; ``choices``: the value
    table's labels; ``internal``: "" or what housekeeping it is ("counter", "checksum").
    """

    message: str
    name: str
    unit: str = ""
    comment: str = ""
    choices: tuple[str, ...] = ()
    value_words: tuple[str, ...] = ()  # what the labels name beyond themselves ("park" for "P")
    minimum: float | None = None
    maximum: float | None = None
    length: int = 0
    tokens: tuple[str, ...] = ()
    meaning: str = ""
    expanded: tuple[tuple[str, str], ...] = ()  # (token, English) pairs the glossary supplied
    quantity: str = ""
    internal: str = ""
    senders: tuple[str, ...] = ()
    cycle_ms: int | None = None
    system: str = ""  # what the message name says of the system it comes from ("ESP12": stability program brake)

    @property
    def key(self) -> str:
        return f"{self.message}.{self.name}"

    @property
    def is_flag(self) -> bool:
        """A one-bit signal without a value table: on/off."""
        return self.length == 1 and not self.choices

    def text(self) -> str:
        """What the signal is, in words: what the embedding model reads."""
        parts = [self.meaning or " ".join(self.tokens)]
        if self.comment:
            parts.append(self.comment[:200])
        if self.quantity:
            parts.append(f"a {self.quantity}" + (f" in {self.unit}" if self.unit else ""))
        if self.choices:
            parts.append("values " + ", ".join(self.choices[:8])
                         + (f" ({', '.join(self.value_words)})" if self.value_words else ""))
        return ". ".join(p for p in parts if p)

    def values_text(self) -> str:
        """What the signal can read, in words ("gear: park, reverse, neutral, drive"); "" without a value table."""
        values = self.value_words or self.choices[:8]
        return f"{self.meaning or ' '.join(self.tokens)}: {', '.join(values)}" if values else ""

    def name_text(self) -> str:
        """What the name alone says (meaning and unit, no comment): a long comment must not drown a clear name."""
        quantity = f". a {self.quantity}" + (f" in {self.unit}" if self.unit else "") if self.quantity else ""
        return (self.meaning or " ".join(self.tokens)) + quantity

    def label(self) -> str:
        """A person's name for the signal: its meaning words, capitalised ("Coolant temperature")."""
        words = self.meaning or " ".join(self.tokens) or self.name
        return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class Match:
    """A catalogue entry found for a question, with its scores and the evidence that placed it."""

    entry: CatalogueEntry
    score: float
    lexical: float
    semantic: float | None
    reasons: tuple[str, ...] = ()
    terms: frozenset[str] = frozenset()  # the question's terms this signal's name, unit or comment carries

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class SignalCatalogue:
    """Every signal of a DBC (or several) with its meaning; see the module docstring."""

    entries: list[CatalogueEntry]
    glossary: Glossary
    _by_key: dict[str, CatalogueEntry] = field(default_factory=dict, repr=False)
    # key -> terms of its name, its unit's quantity, its comment, its value table (labels and what they name)
    _terms: dict[str, tuple[frozenset[str], ...]] = field(default_factory=dict, repr=False)
    _df: dict[str, int] = field(default_factory=dict, repr=False)
    _surface: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)  # key -> its words as written
    _vectors: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # key -> (2-3, dim): full text, name, values
    _kinds: dict[str, tuple[str, str, str, bool]] = field(default_factory=dict, repr=False)  # key -> see _kind()
    _name_df: dict[str, int] = field(default_factory=dict, repr=False)  # term -> how many signal names carry it

    def __post_init__(self) -> None:
        from rag_car.text.terms import terms

        for entry in self.entries:
            self._by_key.setdefault(entry.key, entry)
            name_terms = frozenset(terms(f"{entry.meaning} {' '.join(entry.tokens)} {entry.name}"))
            unit_terms = frozenset(terms(f"{entry.quantity} {self.glossary.units.get(entry.unit.lower(), '')}"))
            other_terms = frozenset(terms(f"{entry.comment} {entry.system}"))
            value_terms = frozenset(terms(f"{' '.join(entry.choices)} {' '.join(entry.value_words)}"))
            self._terms[entry.key] = (name_terms, unit_terms, other_terms, value_terms)
            self._surface[entry.key] = frozenset(_plain_words(
                f"{entry.meaning} {' '.join(entry.tokens)} {' '.join(entry.choices)} {' '.join(entry.value_words)}"))
            for t in name_terms | unit_terms | other_terms | value_terms:
                self._df[t] = self._df.get(t, 0) + 1
            for t in name_terms:
                self._name_df[t] = self._name_df.get(t, 0) + 1

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, key: str, message: str | None = None) -> CatalogueEntry | None:
        """The entry of "Message.Signal" (or of ``key`` as a signal name in ``message``)."""
        return self._by_key.get(key if message is None else f"{message}.{key}")

    @property
    def placed(self) -> list[CatalogueEntry]:
        """Entries whose name the glossary could read at least in part, or that carry a unit or comment."""
        return [e for e in self.entries if e.expanded or e.quantity or e.comment]

    def unplaced_note(self, where: str) -> str:
        """"" when some signal can be placed; else what that means and what to do (a DBC of bare names)."""
        if not self.entries or self.placed:
            return ""
        return (f"none of the {len(self.entries)} signals of {where} could be placed: no name the glossary reads, no "
                "unit, no comment, so questions can find them only by name; add units or comments (CM_ SG_) to the "
                "DBC, or the name's words to rag_car/vehicle/glossary.toml")

    def query_terms(self, query: str) -> frozenset[str]:
        """The question's terms, with everyday words read as what they stand for ("fast": speed; "running": engine
        speed). An everyday word stays a term of its own only where this DBC's signals use it ("charge" lamp)."""
        from rag_car.text.terms import terms

        query = self.glossary.plain(query)
        plain = _plain_words(query)
        g = self.glossary
        cue = _state_cue(g, plain)
        everyday = {t for w in plain if w in g.quantities or (cue is not None and w in cue.word.split())
                    for t in terms(w)}
        words = [t for t in terms(query) if t not in everyday or self._df.get(t)]
        extra = [g.quantities[w] for w in plain if w in g.quantities]
        extra += [cue.asks] if cue is not None else []  # "running": the engine speed shows it
        asks = _asked_measure(g, plain)
        if asks in _TRAVEL and yes_no(query) and "far" not in plain:
            asks = ""
        if asks in {name for name, _ in g.measures}:
            extra.append(asks)  # "how far is it turned": an angle
        unit = g.unit_asked(query)
        if unit:
            extra.append(unit)  # "how many mph": a speed
        extra += [g.seats[w] for w in plain if w in g.seats]  # "driver": also front left
        extra += [g.subject[w] for w in plain if w in g.subject]  # "car": the vehicle
        return frozenset(words + [t for e in extra for t in terms(e)])

    def asked(self, query: str) -> Asked:
        """What the question asks for: its quantity, the state it asks about, a fault, a position (see Asked)."""
        g = self.glossary
        plain = _plain_words(g.plain(query))
        # a state is asked only in a yes/no question ("is the engine running"; not "how hot's the engine running")
        state = _state_cue(g, plain) if yes_no(query) else None
        measure = g.measure_of_words(state.asks.split()) if state is not None else ""
        if not measure:
            measure = _asked_measure(g, plain)
            if measure in _TRAVEL and yes_no(query) and "far" not in plain:
                measure = ""  # "is the pedal pressed?": its state
        unit_key, unit = g.units_named(g.plain(query))
        if unit and (state is None or not measure) and measure in ("", "amount", "extent"):
            measure = unit  # a unit named ("how many mph", "in percent") says which quantity is asked
        fault = any(g.diagnostic.get(w, "lamp") != "lamp" for w in plain)
        return Asked(measure=measure, state=state, fault=fault, place=bool(set(plain) & self._places()),
                     report=bool(set(plain) & g.reports_asked), unit=unit, unit_key=unit_key)

    def measure(self, entry: CatalogueEntry) -> str:
        """What the signal measures ("revolutions", "angle", "speed", ...), "state" for an on/off or a value table,
        "" when neither its unit nor its name says. An unambiguous unit decides (deg/s is an angular rate whatever
        the name); else the name's words (a "deg" signal named temperature is a temperature)."""
        if entry.choices or 0 < entry.length <= 2 or self.reports_on(entry) or {"lamp", "light"} & set(
                entry.meaning.split()):
            return "state"
        quantity = entry.quantity
        known = {name for name, _ in self.glossary.measures}
        if quantity in known:
            return quantity
        by_name = self.glossary.measure_of_words([*entry.meaning.split(), *entry.tokens])
        return by_name or ("" if " or " in quantity else quantity)

    def reports_fault(self, entry: CatalogueEntry) -> str:
        """"" or what the signal reports instead of the state of its subject ("fault", "diagnosis"): a word of its
        name (or of a short comment) the glossary marks as diagnostic; "open" only on a lamp (an open circuit)."""
        words = {*entry.meaning.split(), *entry.tokens, *_plain_words(entry.comment[:60])}
        for word in words:
            what = self.glossary.diagnostic.get(word, "")
            if what == "lamp":
                if words & {"lamp", "light", "bulb"}:
                    return "fault (an open circuit)"
            elif what:
                return what
        return ""

    def reports_on(self, entry: CatalogueEntry) -> str:
        """"" or what the signal is a report of ("status", "warning", "indicator") rather than the thing itself."""
        return next((self.glossary.reports[w] for w in entry.meaning.split() if w in self.glossary.reports), "")

    def _places(self) -> frozenset[str]:
        return frozenset(w for words in self.glossary.seats.values() for w in words.split()) | frozenset(
            self.glossary.seats) | {"left", "right"}

    def _kind(self, entry: CatalogueEntry) -> tuple[str, str, str, bool]:
        """(measure, fault, report, one part's) of a signal, worked out once."""
        kind = self._kinds.get(entry.key)
        if kind is None:
            kind = (self.measure(entry), self.reports_fault(entry), self.reports_on(entry),
                    bool(set(entry.meaning.split()) & self._places()))
            self._kinds[entry.key] = kind
        return kind

    def measures_other(self, entry: CatalogueEntry, asked: Asked) -> bool:
        """Whether the signal measures a known quantity other than the one the question asks ("how hot is the
        coolant" asked of an engine-speed signal): it cannot answer it, however near its words or meaning are."""
        if not asked.measure or asked.state is not None:
            return False
        measure = self._kind(entry)[0]
        if asked.measure == "amount":  # "how much fuel is left": an amount, never a rate of travel or turning
            return measure in _RATES
        return measure not in ("", "state") and measure not in {asked.measure} | _ALSO.get(asked.measure, set())

    def qualifiers(self, query: str, asked: Asked) -> frozenset[str]:
        """The terms of a question that say whose quantity it asks ("outside" temperature, "coolant" temperature,
        "oil" pressure): the glossary's [related] words it carries; empty unless a physical quantity is asked.
        Only those words: "idle" rpm, "high" revs, "drive" speed ask the quantity itself, not another thing's."""
        from rag_car.text.terms import terms

        g = self.glossary
        if not asked.measure or asked.measure not in {name for name, _ in g.measures} or asked.state is not None:
            return frozenset()
        whose = {t for word in g.related for t in terms(word)}
        return frozenset(t for w in _plain_words(g.plain(query)) for t in terms(w) if t in whose)

    def other_subject(self, entry: CatalogueEntry, query: str, asked: Asked,
                      wanted: frozenset[str] | None = None) -> str:
        """"" or what the signal measures its quantity of, when the question asks it of something else: "what's the
        outside temperature" and the engine's temperature, "coolant temperature" and a yaw sensor's. A signal
        whose name says nothing beyond its quantity (TEMP_AT) is not judged."""
        from rag_car.text.terms import terms

        wanted = self.qualifiers(query, asked) if wanted is None else wanted
        if not wanted or self._kind(entry)[0] != asked.measure:
            return ""
        g = self.glossary
        also = {t for w in wanted for t in terms(g.related.get(w, ""))}
        also |= {t for word, related in g.related.items() if set(terms(word)) & wanted for t in terms(related)}
        name_terms, _unit, _other, value_terms = self._terms[entry.key]
        if (wanted | also) & (name_terms | value_terms):  # its name says it (not its message's system, a comment)
            return ""
        own = set(terms(asked.measure)) | {t for name, groups in g.measures if name == asked.measure
                                          for group in groups for w in group for t in terms(w)}
        rest = [w for w in entry.meaning.split() if not set(terms(w)) <= own and terms(w)]
        return " ".join(rest) or "?"  # "?": its name says nothing of whose quantity it is

    def qualifier_words(self, query: str, asked: Asked) -> str:
        """The question's own words for whose quantity it asks ("outside"), as written."""
        from rag_car.text.terms import terms

        wanted = self.qualifiers(query, asked)
        return " ".join(w for w in _plain_words(self.glossary.plain(query)) if set(terms(w)) & wanted)

    def fit(self, entry: CatalogueEntry, asked: Asked) -> tuple[float, tuple[str, ...]]:
        """How well the signal's kind fits what the question asks, as a factor on its score, with the reasons: the
        quantity it measures against the one asked; a fault or diagnosis report below the signal itself; one part's
        reading (a wheel, a side) below the whole vehicle's when the question names no part."""
        factor, why = 1.0, []
        measure, fault, report, one_part = self._kind(entry)
        if asked.measure:
            want = {asked.measure} | _ALSO.get(asked.measure, set())
            if asked.measure == "amount":  # "how much": any number, not an on/off
                if measure == "state":
                    factor *= 0.6
                    why.append("an on/off or a value table, the question asks how much")
            elif measure in want:
                factor *= _BEST_FIT
                why.append(f"measures {measure}, as the question asks")
            elif measure:
                factor *= 0.6
                why.append(f"measures {measure}, the question asks {asked.measure}")
        if asked.unit and entry.quantity != asked.unit:
            # "how many kilometres": a signal read in km is surer than one whose name alone says distance
            factor *= 0.8
            why.append(f"not read in a unit of {asked.unit}, the question names one")
        elif asked.unit_key and _unit_key(entry.unit) != asked.unit_key:
            factor *= 0.95  # "how many mph": of two speeds, the one read in mph
            why.append(f"read in {entry.unit}, the question names {asked.unit_key}")
        if fault and not asked.fault:
            factor *= 0.6
            why.append(f"reports a {fault}, not the state itself")
        if report and not asked.report and not fault:
            factor *= 0.85
            why.append(f"a {report} about it, not the thing itself")
        if not asked.place and one_part:
            factor *= 0.92
            why.append("one part's reading (a side or a wheel)")
        return factor, tuple(why)

    def search(self, query: str, k: int = 10, embed: EmbedFn | None = None, only: Iterable[str] | None = None,
               include_internal: bool = False) -> list[Match]:
        """The entries that best fit ``query``, best first.

        ``embed``: texts -> unit vectors (the embedding model); without it the match is by terms alone.
        ``only``: restrict to these "Message.Signal" keys (the signals the bus is sending). Housekeeping signals
        are left out unless ``include_internal``.
        """
        from rag_car.text.terms import terms

        wanted = None if only is None else set(only)
        pool = [e for e in self.entries if (wanted is None or e.key in wanted) and (include_internal or not e.internal)]
        if not pool:
            return []
        q_terms = self.query_terms(query)
        asked = self.asked(query)
        query = self.glossary.plain(query)
        from_subject = frozenset(t for w in _plain_words(query) if w in self.glossary.subject
                                 for t in terms(self.glossary.subject[w])) - frozenset(terms(query))
        # the question's words as written, per term: a word the signal carries as written ("park", a gear position)
        # is surer evidence than one that only shares its stem ("parking" brake)
        written: dict[str, set[str]] = {}
        for word in _plain_words(query):
            for t in terms(word):
                written.setdefault(t, set()).add(word)
        n = max(len(self.entries), 1)
        # a question word no signal of this DBC uses ("going") is weak evidence either way: it counts a little, so
        # that "tire pressure" on a DBC without tires still prefers nothing strongly
        idf = {t: math.log(1.0 + n / (1.0 + self._df.get(t, 0))) * (1.0 if self._df.get(t) else 0.3) for t in q_terms}
        for t in from_subject & q_terms:
            # the words for the vehicle itself ("car": vehicle) only break ties between signals the question names
            # otherwise: a "vehicle class" code must not outrank the odometer the question asks for
            idf[t] *= _SUBJECT_WEIGHT
        total = sum(idf.values()) or 1.0
        semantic = self._semantic(query, pool, embed) if embed is not None else None
        wanted = self.qualifiers(query, asked)  # whose quantity is asked ("outside" temperature)
        matches = []
        for i, entry in enumerate(pool):
            name_terms, unit_terms, other_terms, value_terms = self._terms[entry.key]
            by_name = q_terms & name_terms
            by_unit = (q_terms & unit_terms) - by_name
            # a question that names one of the signal's values ("am I in park": P = park) names the signal almost
            # as surely as its name does
            by_value = (q_terms & value_terms) - by_name - by_unit
            by_other = (q_terms & other_terms) - by_name - by_unit - by_value
            surface = self._surface[entry.key]

            def sure(t: str) -> float:
                return 1.0 if not written.get(t) or written[t] & surface else _STEM_ONLY

            # a unit the question names ("how many kilometres") is as explicit as a name
            covered = (sum(idf[t] * sure(t) for t in by_name) + (1.0 if asked.unit else 0.6) * sum(idf[t] for t in by_unit)
                       + sum(idf[t] * sure(t) for t in by_value) + 0.4 * sum(idf[t] for t in by_other))
            coverage = covered / total
            # of two signals that both say "speed", the one that says little else is the speed
            precision = len(by_name) / max(len(name_terms), 1)
            lexical = min(1.0, 0.85 * coverage + 0.15 * precision) if covered else 0.0
            if covered and (q_terms & unit_terms or by_value or asked.measure and asked.measure == self._kind(entry)[0]):
                # the question asks for the quantity this signal's unit (or name) measures, or for one of its values
                lexical = min(1.0, lexical + 0.1)
            sem = None if semantic is None else float(semantic[i])
            score = lexical if sem is None else 0.55 * lexical + 0.45 * max(sem, 0.0)
            if score <= 0.0:
                continue
            factor, fits = self.fit(entry, asked)
            other = self.other_subject(entry, query, asked, wanted)
            if other == "?":
                factor *= 0.8
                fits = fits + (f"its name does not say whose {asked.measure} it is",)
            elif other:
                factor *= 0.7
                fits = fits + (f"the {asked.measure} of {other}, the question asks another's",)
            score *= factor / _BEST_FIT  # scores stay within 0-1
            reasons = _reasons(entry, by_name, by_unit, by_other, sem, by_value) + fits
            matched = frozenset(by_name | by_unit | by_other | by_value) - from_subject
            if not matched and sem is None:
                continue  # only the words for the vehicle itself: no signal is named
            matches.append(Match(entry, score, lexical, sem, reasons, matched))
        matches.sort(key=lambda m: (-m.score, len(m.entry.tokens), m.entry.key))
        return matches[:k]

    def semantic_baseline(self, embed: EmbedFn, only: Iterable[str] | None = None) -> tuple[float, float]:
        """Mean and spread of the similarity of an unrelated question to these signals: what "no match" looks like
        on this DBC (a calibration per catalogue, not a fixed threshold)."""
        wanted = None if only is None else set(only)
        pool = [e for e in self.entries if (wanted is None or e.key in wanted) and not e.internal]
        if not pool:
            return 0.0, 1.0
        sims = self._semantic("a question about something else entirely", pool, embed)
        return float(np.mean(sims)), float(np.std(sims) or 1e-3)

    def _semantic(self, query: str, pool: Sequence[CatalogueEntry], embed: EmbedFn) -> np.ndarray:
        """The similarity of ``query`` to each entry: the better of its full description and its name alone."""
        missing = [e for e in pool if e.key not in self._vectors]
        if missing:
            # the full description, the name alone, and (a value table) what it can read: "am I in park" is about
            # a gear whose description says little of parking
            per_entry = [[e.text(), e.name_text()] + ([e.values_text()] if e.values_text() else []) for e in missing]
            rows = np.asarray(embed([t for texts in per_entry for t in texts]), dtype=np.float32)
            start = 0
            for entry, texts in zip(missing, per_entry):
                self._vectors[entry.key] = rows[start: start + len(texts)]
                start += len(texts)
        q = np.asarray(embed([query]), dtype=np.float32)[0]
        return np.array([float(np.max(self._vectors[e.key] @ q)) for e in pool], dtype=np.float32)


def _state_cue(glossary: Glossary, plain: list[str]) -> StateCue | None:
    """The state a yes/no question asks about ("running", "engine on"), longest phrase first, or None."""
    text = f" {' '.join(plain)} "
    have = set(plain)
    for key in sorted(glossary.states, key=lambda k: -len(k)):
        cue = glossary.states[key]
        if f" {key} " in text and (not cue.when or cue.when & have):
            return cue
    return None


def _asked_measure(glossary: Glossary, plain: list[str]) -> str:
    """The quantity the question's words ask ([asks], first in its order), as its subject measures it ([asks_of]:
    an engine's speed is revolutions); "" none."""
    text = " ".join(plain)
    asked = next((q for phrase, q in glossary.asks if re.search(rf"\b{re.escape(phrase)}\b", text)), "")
    for word in plain:
        asked = glossary.asks_of.get(word, {}).get(asked, asked)
    return asked


def build_catalogue(messages: Any, glossary: Glossary | None = None) -> SignalCatalogue:
    """The catalogue of every signal in ``messages``: a VehicleDb, a cantools Database, or cantools Messages."""
    glossary = glossary or bundled_glossary()
    if hasattr(messages, "messages"):
        messages = messages.messages
    messages = list(messages)
    # the DBC's own words: a run-together token ("LowfuelWarn") is read as words the same DBC uses on their own
    vocabulary = frozenset(t for m in messages for s in m.signals for t in name_tokens(s.name)
                           if len(t) >= MIN_PART and t.isalpha())
    entries = []
    for message in messages:
        for signal in message.signals:
            entries.append(describe_signal(message, signal, glossary, vocabulary))
    return SignalCatalogue(entries, glossary)


def load_catalogue(dbc_files: Iterable[str | Path], glossary: Glossary | None = None) -> SignalCatalogue:
    """The catalogue of DBC files (loaded as rag_car.vehicle.dbc.load_dbc loads them). Raises DbcError."""
    from rag_car.vehicle.dbc import load_dbc

    return build_catalogue(load_dbc(list(dbc_files)), glossary)


def describe_signal(message: Any, signal: Any, glossary: Glossary | None = None,
                    vocabulary: frozenset[str] = frozenset()) -> CatalogueEntry:
    """One cantools signal of ``message`` as a CatalogueEntry. ``vocabulary``: the tokens the whole DBC uses, for
    reading run-together words."""
    glossary = glossary or bundled_glossary()
    tokens = name_tokens(signal.name)
    # the message name says which unit or system: "Kombi_1.Kuehlmitteltemp", "EngineData.Speed"
    meaning_words: list[str] = []
    expanded: list[tuple[str, str]] = []
    internal = ""
    unit_quantity = glossary.quantity_of_unit(signal.unit or "")
    unit_spelled = _unit_key(signal.unit or "").replace("/", "")
    for token in tokens:
        if unit_quantity and not glossary.words.get(token) and token == unit_spelled:
            # a name that repeats its unit ("BAT_SNSR_V" in V, "BR1_Rad_kmh" in km/h) says what it measures
            meaning_words.append(unit_quantity)
            expanded.append((token, unit_quantity))
            continue
        for part in _expand(token, glossary, vocabulary):
            if part in glossary.internal:
                internal = internal or glossary.internal[part]
                meaning_words.append(glossary.internal[part])
                expanded.append((part, glossary.internal[part]))
            elif part in glossary.words:
                if glossary.words[part]:  # an empty meaning: a prefix that only says how the value is coded
                    meaning_words.append(glossary.words[part])
                    expanded.append((part, glossary.words[part]))
            elif not part.isdigit():
                meaning_words.append(part)
    if not internal:
        # "CheckSum_TCS1", "MsgCount": a housekeeping word split across tokens the glossary could not read (a token
        # it did read, "Kilometerzaehler" = odometer, is not searched)
        joined = "".join(t for t in tokens if t not in glossary.words and _expand(t, glossary) == [t])
        internal = next((what for key, what in glossary.internal.items() if len(key) >= 5 and key in joined), "")
    comment = " ".join(_comment(signal).split())
    unit = (signal.unit or "").strip()
    choices = tuple(str(v) for v in (signal.choices or {}).values())
    low, high = signal.minimum, signal.maximum
    if low is not None and high is not None and (low == high == 0 or low >= high):
        low = high = None  # [0|0] is "not given" in most real DBCs
    return CatalogueEntry(
        message=message.name, name=signal.name, unit=unit, comment=comment, choices=choices,
        value_words=glossary.value_words(choices), minimum=low, maximum=high,
        length=int(getattr(signal, "length", 0) or 0), tokens=tokens, meaning=" ".join(_dedupe(meaning_words)),
        expanded=tuple(expanded), quantity=glossary.quantity_of_unit(unit), internal=internal,
        senders=tuple(getattr(message, "senders", None) or ()), cycle_ms=getattr(message, "cycle_time", None),
        system=_system(message.name, glossary),
    )


def _system(message_name: str, glossary: Glossary) -> str:
    """The glossary's words for the message name's tokens ("ESP12" -> stability program brake; "Bremse_3" -> brake)."""
    return " ".join(_dedupe([glossary.words[t] for t in name_tokens(message_name) if glossary.words.get(t)]))


def name_tokens(name: str) -> tuple[str, ...]:
    """A DBC name's tokens, lower case: "CF_Clu_VehicleSpeed" -> cf, clu, vehicle, speed; "HVBatteryVoltage" -> hv,
    battery, voltage; umlauts folded ("Kühlmittel" -> kuehlmittel)."""
    text = "".join(_UMLAUTS.get(ch, ch) for ch in name)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out = []
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        if not chunk:
            continue
        for token in _CAMEL.sub(" ", chunk).split():
            out.append(token.lower())
    return tuple(out)


def _expand(token: str, glossary: Glossary, vocabulary: frozenset[str] = frozenset()) -> list[str]:
    if token in glossary.words or token in glossary.internal or len(token) < 2 * MIN_PART:
        return [token]
    parts = glossary.split(token)
    if not parts and vocabulary:
        # only a split the DBC's own words cover entirely: "lowfuel" = low + fuel
        whole = _split_compound(token, vocabulary - {token})
        parts = whole if whole and len(whole) > 1 and sum(map(len, whole)) == len(token) else None
    return parts if parts else [token]


def _split_compound(token: str, known: frozenset[str]) -> list[str] | None:
    """The segmentation of ``token`` into known parts that covers the most letters (then uses the fewest parts);
    letters no part covers stay as one-letter leftovers. None when coverage is below MIN_COMPOUND_COVER."""
    n = len(token)
    # best[i] = (covered letters, -parts, segmentation) for token[:i]
    best: list[tuple[int, int, list[str]] | None] = [None] * (n + 1)
    best[0] = (0, 0, [])
    for i in range(n):
        if best[i] is None:
            continue
        covered, parts, seg = best[i]
        # skip one letter (a dropped umlaut, a linking "s")
        cand = (covered, parts, seg)
        if best[i + 1] is None or cand[:2] > best[i + 1][:2]:
            best[i + 1] = (covered, parts, seg)
        for j in range(i + MIN_PART, n + 1):
            piece = token[i:j]
            if piece in known:
                cand = (covered + len(piece), parts - 1, seg + [piece])
                if best[j] is None or cand[:2] > best[j][:2]:
                    best[j] = cand
    covered, _parts, seg = best[n]  # type: ignore[misc]
    if len(seg) < 2 and covered < n:
        return None if covered / n < MIN_COMPOUND_COVER else seg
    return seg if covered / n >= MIN_COMPOUND_COVER else None


def _unit_key(unit: str) -> str:
    return unit.lower().replace("°", "deg").replace(" ", "").strip('"?')


def _comment(signal: Any) -> str:
    comment = getattr(signal, "comment", None)
    if isinstance(comment, dict):  # cantools keeps per-language comments for some formats
        comment = next(iter(comment.values()), "")
    return str(comment or "")


def _dedupe(words: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for phrase in words:
        for word in phrase.split():
            if word not in seen:
                seen.add(word)
                out.append(word)
    return out


def _plain_words(text: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Za-z]+", text or "")]


def _reasons(entry: CatalogueEntry, by_name: set[str], by_unit: set[str], by_other: set[str],
             semantic: float | None, by_value: set[str] = frozenset()) -> tuple[str, ...]:  # type: ignore[assignment]
    out = []
    if by_name:
        read = ", ".join(f"{token}={english}" for token, english in entry.expanded) if entry.expanded else ""
        out.append(f"name {entry.name} ({entry.meaning}{'; ' + read if read else ''}) matches "
                   f"{', '.join(sorted(by_name))}")
    if by_unit:
        out.append(f"unit {entry.unit or '-'} is a {entry.quantity}")
    if by_value:
        out.append(f"value table ({', '.join(entry.choices[:8])}) names {', '.join(sorted(by_value))}")
    if by_other:
        where = " and ".join(w for w, has in (("comment", entry.comment), (f"message {entry.message} ({entry.system})",
                                                                            entry.system)) if has)
        out.append(f"{where or 'comment'} mentions {', '.join(sorted(by_other))}")
    if semantic is not None:
        out.append(f"meaning similarity {semantic:.2f}")
    return tuple(out)
