"""Question + live snapshot + signal catalogue -> LiveAnswer: the car's own readings first, for questions about it now.

Two kinds of question are answered from the bus before any document is searched:

* a **reading** ("what's the coolant temperature", "how fast am I going", "which gear"): the signals the question
  is about (found through the SignalCatalogue, among the signals the bus is sending), each with its value, unit,
  status (the profile's normal range, else the DBC's declared range, else none), age and source signal;
* a **health** question ("is anything wrong", "check my car"): active trouble codes, lamps on, readings outside
  their range, messages that went quiet, or, for a healthy car, what was checked and for how long.

The kind is read from evidence: the question's similarity to a few descriptions of each kind (the embedding model
when one is given, shared terms otherwise) and whether it names a signal the bus is sending. Bus housekeeping
(counters, checksums, alive signals) is never shown. A replayed log that has played out is read on its own clock:
ages count back from its last frame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rag_car.vehicle.catalogue import Asked, CatalogueEntry, EmbedFn, Match, SignalCatalogue, StateCue, yes_no
from rag_car.vehicle.live import LiveSnapshot, SignalReading, format_age, format_number, side_of

# What each kind of question sounds like, with what it is about masked as "X" (descriptions of the question's frame,
# not test questions): the question's own frame, its signal words masked the same way, is compared with them.
INTENTS: dict[str, tuple[str, ...]] = {
    "reading": (
        "what is the X right now",
        "what is the X reading at the moment",
        "how much X is there now",
        "is the X on or off, is it open or closed",
        "which X is it in",
        "how fast, how hot, how high is it now",
    ),
    "health": (
        "is anything wrong with the car",
        "are there any problems, faults or trouble codes",
        "check the car over, run a diagnosis",
        "check the X for me, look it over",
        "is the car okay, is it fine",
        "are all the X ok, is every X in good order",
        "why is this warning light on",
        "is there a problem with the X",
        "give me a status report, how is the car doing",
        "are any warning lights on",
        "what condition is the car in, how healthy is it",
    ),
    "document": (
        "how do I replace or change the X",
        "how often should the X be serviced",
        "what does the manual say about the X",
        "what does this message mean and what should I do about it",
        "what does the X mean, what is it for",
        "what does this warning lamp or symbol mean",
        "what does the light on my dashboard mean",
        "where is the X located",
        "what type of X should I use, what is its specification",
        "should I stop driving or is it safe to keep going, what should I do now",
    ),
}
# the bus state's words for "no frames can be current now"
_NOT_LIVE = ("connecting", "reconnecting", "disconnected")
_MAX_READINGS = 4
_DTC = re.compile(r"\b[PCBU][0-3][0-9A-F]{3}\b", re.IGNORECASE)


@dataclass(frozen=True)
class ShownReading:
    """One reading as the answer shows it."""

    reading: SignalReading
    entry: CatalogueEntry | None
    value: str  # "52.5 degC", "D (4)", "on (1)"
    status: str  # "in its normal range 85-105 degC", "above the DBC's range ...", "" (nothing to compare with)
    status_key: str  # "ok", "low", "high", "stale", "none"
    age_s: float
    age: str  # "0.2 s ago", "at the end of the replayed log"
    score: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.reading.message}.{self.reading.name}"

    @property
    def label(self) -> str:
        """The DBC comment's first words where they name this signal, else what the catalogue reads in its name: a
        comment is a DBC writer's note ("Maybe used for onboard display?", "Spinouts show here on 2wd"), a name only
        when it speaks of what the signal's name does."""
        description = self.reading.description
        if description and (self.entry is None or _names_signal(description, self.entry)):
            return description
        return self.entry.label() if self.entry is not None else self.reading.name

    def sentence(self) -> str:
        status = f", {self.status}" if self.status else ""
        return f"{self.label}: {self.value}{status} (signal {self.key}, {self.age})."


@dataclass
class LiveAnswer:
    """What the bus says about the question: ``kind`` "reading" or "health" (or "absent": the quantity asked is
    measured by no signal the bus sends, said before the documents' answer), the answer's sentences, the readings
    shown, and what documents could explain (``explain``: one search query per finding)."""

    kind: str
    sentences: list[str]
    shown: list[ShownReading] = field(default_factory=list)
    dtcs: list[Any] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    intent_scores: dict[str, float] = field(default_factory=dict)
    matches: list[Match] = field(default_factory=list)
    # the question reads as one for the documents, but names a signal the bus is sending: the documents' answer
    # leads when they have one, and this reading answers when they have nothing (never a refusal the bus could answer)
    defer: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


@dataclass
class LiveClock:
    """How old a reading is: wall clock on a live bus, the log's own clock once a replayed log has played out."""

    replay_ended: bool
    end: float  # the log's last frame timestamp (replay) or the snapshot time
    not_live: str = ""  # the bus state when no frame can be current ("reconnecting")

    @classmethod
    def of(cls, snapshot: LiveSnapshot) -> "LiveClock":
        state = str(snapshot.bus.get("state", ""))
        ended = state == "ended"
        end = max((r.timestamp for r in snapshot.signals if not r.source), default=0.0) if ended else snapshot.taken_at
        return cls(replay_ended=ended, end=end, not_live=state if state in _NOT_LIVE else "")

    def age(self, reading: SignalReading) -> float:
        if self.replay_ended and not reading.source:
            return max(0.0, self.end - reading.timestamp)
        return max(0.0, reading.age_s)

    def age_text(self, age: float) -> str:
        if self.replay_ended:
            return "at the end of the replayed log" if age < 0.05 else f"{format_age(age)} before the replayed log ended"
        return f"read {format_age(age)} ago"


class LiveAnswerer:
    """Answers the questions the bus can answer; see the module docstring.

    ``embed``: texts -> unit vectors (the embedding model), None for terms only. A reading's status compares it
    with its ``normal`` range (the LiveState sets it from the vehicle profile in force, by Message.Signal), else
    with the DBC's declared range, else with nothing. ``stale_factor``/``default_stale_s``: as the LiveState's, for
    reading a played-out log on its own clock. ``obd_polling``: whether OBD-II codes are asked for.
    """

    def __init__(self, embed: EmbedFn | None = None, stale_factor: float = 3.0, default_stale_s: float = 2.0,
                 obd_polling: bool = False) -> None:
        self.embed = embed
        self.stale_factor = stale_factor
        self.default_stale_s = default_stale_s
        self.obd_polling = obd_polling
        self._intent_vectors: dict[str, np.ndarray] | None = None
        self._baselines: dict[int, tuple[float, float]] = {}

    # -- the kind of question ----------------------------------------------------------------------------------------
    def intent_scores(self, question: str) -> dict[str, float]:
        """Similarity of the question to each kind's descriptions (best description per kind)."""
        if self.embed is not None:
            if self._intent_vectors is None:
                self._intent_vectors = {k: np.asarray(self.embed(list(v)), dtype=np.float32) for k, v in INTENTS.items()}
            q = np.asarray(self.embed([question]), dtype=np.float32)[0]
            return {k: float(np.max(m @ q)) for k, m in self._intent_vectors.items()}
        from rag_car.answer.sentences import terms

        q_terms = set(terms(question))
        out = {}
        for kind, descriptions in INTENTS.items():
            d_terms = set(terms(" ".join(descriptions)))
            out[kind] = len(q_terms & d_terms) / math.sqrt(max(len(q_terms), 1) * 8)
        return out

    def answer(self, question: str, snapshot: LiveSnapshot | None, catalogue: SignalCatalogue | None) -> LiveAnswer | None:
        """The live answer, or None when the question is not one the bus answers (or the bus said nothing)."""
        if snapshot is None:
            return None
        if not snapshot.signals and not snapshot.dtcs and not snapshot.lamps:
            # frames came but none decoded: a health question is told why (another car's log, the wrong DBC)
            scores = self.intent_scores(question)
            if dbc_misfit(snapshot) and max(scores, key=lambda k: scores[k]) == "health":
                return self.health(snapshot, catalogue, scores)
            return None
        if _DTC.search(question or ""):
            return None  # "what does P0301 mean": the documents' entry answers that
        live_keys = [f"{r.message}.{r.name}" for r in snapshot.signals]
        if catalogue is None:
            catalogue = _catalogue_of_readings(snapshot)
        question = catalogue.glossary.plain(question)  # "any dtc?": any trouble code
        matches = self._matches(question, snapshot, catalogue, live_keys)
        named = self._names_signal(matches, catalogue, live_keys)
        unmeasured = ""
        if named and catalogue.measures_other(matches[0].entry, catalogue.asked(question)):
            # "how hot is the coolant?" on a bus that sends no temperature: its nearest signal (an engine speed)
            # does not answer it, so the question is not about a signal the bus is sending
            named = False
        if named:
            asked0 = catalogue.asked(question)
            other = catalogue.other_subject(matches[0].entry, question, asked0)
            if other and other != "?":
                # "what's the outside temperature?" where the bus sends only the engine's: not the quantity asked
                named = False
                unmeasured = f"{catalogue.qualifier_words(question, asked0)} {asked0.measure}".strip()
        else:  # "what's the oil pressure?" on a bus that sends no pressure at all
            unmeasured = _unmeasured(catalogue, question, catalogue.asked(question), live_keys)
        # the frame of the question decides its kind: what it is about is masked ("is the X open?"), so that the
        # topic ("door", "tyre") does not pull it towards one kind
        mask_terms = catalogue.query_terms if catalogue is not None else None
        frame = _mask(question, matches[0].terms, mask_terms) if named else question
        scores = self.intent_scores(frame)
        # a health question is recognised whole ("any faults I should know about": "faults" is its point, even when a
        # signal's name says "fault" too); shared words alone (no embedding model) cannot tell "what does the warning
        # lamp mean" from "why is this warning light on", so without a model the frame decides this too
        if frame != question and self.embed is not None:
            scores["health"] = max(scores["health"], self.intent_scores(question)["health"])
        if self.embed is not None and not re.sub(r"[\sX?!.,]+", "", frame):
            # "trouble codes?": the frame is nothing but the masked words, so it says nothing of the question's kind:
            # the whole question decides
            scores = self.intent_scores(question)
        if not any(scores.values()):
            # the masked frame shares no word with any kind (no model): the whole question's words decide, and a
            # question that says nothing either way is about the reading it names
            scores = self.intent_scores(question)
        # a tie goes to the documents: they answer, and the bus's readings still follow the answer
        kind = max(scores, key=lambda k: (scores[k], k == "document"))
        if kind == "document" and named and _asks_state(frame) and _is_state(matches[0].entry):
            # "is my X fastened?", "am I in X?": a yes/no question whose subject is a state the bus reports
            kind = "reading"
        asked = catalogue.asked(question)
        if asked.state is not None and not yes_no(question):
            asked = replace(asked, state=None)  # "should I stop driving?" asks advice, not whether we are moving
        now = named and self._asks_now(asked, matches[0], catalogue, question)
        if kind == "health" and named and not asked.fault and (
                now or _asks_state(frame) and (now or _is_state(matches[0].entry))
                and _top(self.intent_scores(frame)) != "health"):
            # "am I buckled in?", "is the car stopped?": a yes/no about one thing the bus reports is a reading, not a
            # health check
            kind = "reading"
        if named and not now and _BARE_WHAT.fullmatch(frame):
            # "what is the steering wheel angle?": nothing but the signal's own words after "what is the" asks its
            # value (not "what is the recommended X", "what is the X for")
            now = True
        if kind == "document" and now:
            kind = "reading"
        if kind in ("reading", "document") and named and _WHY.match(question):
            # "why is the engine light on?", "why is it running so hot?": a cause is asked, which one reading cannot
            # give; the health check gives it, with the reading named leading
            kind = "health"
        if kind == "health":
            health = self.health(snapshot, catalogue, scores)
            if named and (matches[0].lexical >= 0.5 or _asks_state(frame) and _is_state(matches[0].entry)):
                # "is the low fuel warning on?", "is the charge lamp burning?": the signal it names leads, then what
                # else the bus says
                asked = self.reading(snapshot, catalogue, matches, scores)
                health.sentences[:0] = asked.sentences
                health.shown[:0] = asked.shown
                health.matches = asked.matches
            return health
        if named and kind in ("reading", "document"):
            live = self.reading(snapshot, catalogue, matches, scores, asked)
            live.defer = kind == "document" and scores["reading"] < scores["document"] - 0.05
            return live
        if unmeasured and (kind == "reading" or not any(scores.values())):
            # the car's state now is asked (or nothing says otherwise: no model, no shared word), of a quantity no
            # signal on this bus measures: say so first, then what the documents say (never another quantity's reading)
            return LiveAnswer("absent", [f"This bus sends no {unmeasured} reading: none of the {len(live_keys)} "
                                         f"signals it is sending measures the {unmeasured}."], intent_scores=scores,
                              matches=matches[:1], defer=True)
        return None

    def _matches(self, question: str, snapshot: LiveSnapshot, catalogue: SignalCatalogue | None,
                 live_keys: list[str]) -> list[Match]:
        if catalogue is None:
            catalogue = _catalogue_of_readings(snapshot)
        return catalogue.search(question, k=12, embed=self.embed, only=live_keys)

    @staticmethod
    def _asks_now(asked: Asked, best: Match, catalogue: SignalCatalogue, question: str) -> bool:
        """Whether the question asks the car's state now, by its form: a state the bus decides ("is the engine
        running", "are we moving") or a quantity the best signal measures ("how high are the revs", "how far is
        the wheel turned"), not a document's figure."""
        if asked.state is not None:
            return asked.state.decided_by(best.entry) and (
                catalogue.measure(best.entry) == catalogue.glossary.measure_of_words(asked.state.asks.split()))
        return (bool(asked.measure) and asked.measure != "amount" and bool(_HOW_MUCH.match(question))
                and catalogue.fit(best.entry, asked)[0] > 1.0)

    def _names_signal(self, matches: list[Match], catalogue: SignalCatalogue | None, live_keys: list[str]) -> bool:
        """Whether the best match is evidence the question names a signal: a term of its name or unit is in the
        question, or its meaning is far more similar to the question than unrelated questions are on this DBC."""
        if not matches:
            return False
        best = matches[0]
        if best.lexical >= 0.3 and best.terms:  # not by the words for the vehicle itself alone ("check my car")
            return True
        if best.semantic is None or self.embed is None or catalogue is None:
            return False
        mean, spread = self._baseline(catalogue, live_keys)
        return best.semantic >= mean + 4.0 * spread

    def _baseline(self, catalogue: SignalCatalogue, live_keys: list[str]) -> tuple[float, float]:
        key = id(catalogue) ^ hash(tuple(live_keys[:50]))
        if key not in self._baselines:
            assert self.embed is not None
            self._baselines[key] = catalogue.semantic_baseline(self.embed, live_keys)
        return self._baselines[key]

    # -- a reading ---------------------------------------------------------------------------------------------------
    def reading(self, snapshot: LiveSnapshot, catalogue: SignalCatalogue | None, matches: list[Match],
                scores: dict[str, float], asked: Asked | None = None) -> LiveAnswer:
        clock = LiveClock.of(snapshot)
        by_key = {f"{r.message}.{r.name}": r for r in snapshot.signals}
        best = matches[0].score
        chosen = [m for m in matches if m.score >= 0.9 * best][:_MAX_READINGS]
        # a candidate with a value table whose value is none of its states ("15" of a P/R/N/D selector) is not
        # reporting one, and of near-equal candidates, one sitting on the edge of its DBC range is more likely a
        # "not available" or substitute value (raw all-ones or all-zeros) than a measurement: the others go first
        chosen.sort(key=lambda m: (_off_table(by_key.get(m.entry.key), m.entry), m.score < 0.97 * best,
                                   _at_edge(by_key.get(m.entry.key), m.entry), -m.score))
        # of candidates that differ only by seat ("my seat belt": driver's, passenger's, rear), the driver's: the one
        # asking is most likely driving
        seat = _driver_words(catalogue)
        places = seat[0] | seat[1] | {"driver", "passenger"}
        from rag_car.text.terms import terms

        # (only where the best is itself one seat's: a whole-vehicle reading stays first)
        if chosen and set(chosen[0].entry.meaning.split()) & places and not any(
                frozenset(terms(" ".join(places))) & m.terms for m in chosen):
            def base(m: Match) -> frozenset[str]:
                return frozenset(m.entry.meaning.split()) - places

            driver = next((m for m in chosen if base(m) == base(chosen[0]) and _sits(m.entry, seat)), None)
            if driver is not None:
                chosen.remove(driver)
                chosen.insert(0, driver)
        shown = [self.show(by_key[m.entry.key], m.entry, clock, m.score) for m in chosen if m.entry.key in by_key]
        sentences = [s.sentence() for s in shown]
        if asked is not None and asked.state is not None and shown and catalogue is not None:
            verdict = _verdict(asked.state, shown[0], catalogue)
            if verdict:
                sentences.insert(0, verdict)
        explain = [f"{s.label} {s.status_key}" for s in shown if s.status_key in ("low", "high")]
        if clock.not_live:
            sentences.append(f"The bus is {clock.not_live}, so these are the last values received.")
        return LiveAnswer("reading", sentences, shown=shown, explain=explain, intent_scores=scores, matches=chosen)

    def show(self, reading: SignalReading, entry: CatalogueEntry | None, clock: LiveClock, score: float = 0.0) -> ShownReading:
        """How one reading is shown: value, status against the best range known, age."""
        age = clock.age(reading)
        value = _value_text(reading, entry)
        limit = self._stale_limit(entry)
        stale = age > limit if clock.replay_ended else (reading.status == "stale" and (age > limit or bool(clock.not_live)))
        if stale:
            key = "stale"
            status = (f"stale: no new value for {format_age(age)}" if not clock.not_live else f"stale: the bus is {clock.not_live}")
        else:
            key, status = self._status(reading, entry)
        return ShownReading(reading, entry, value, status, key, age, clock.age_text(age), score)

    def _status(self, reading: SignalReading, entry: CatalogueEntry | None) -> tuple[str, str]:
        value = reading.value
        if reading.label is not None or not isinstance(value, (int, float)) or isinstance(value, bool):
            return "none", ""
        unit = f" {reading.unit}" if reading.unit else ""
        normal = reading.normal
        if normal is not None:
            side = side_of(value, normal)
            if side:
                return side, f"{'ABOVE' if side == 'high' else 'BELOW'} its normal range {_range(normal)}{unit}"
            return "ok", f"in its normal range {_range(normal)}{unit}"
        limits = reading.limits
        if limits is None and entry is not None and (entry.minimum is not None or entry.maximum is not None):
            limits = (entry.minimum, entry.maximum)
        if limits is not None:
            side = side_of(value, limits)
            if side:
                return side, (f"outside the range the DBC declares ({_range(limits)}{unit}): the DBC may not fit this car, "
                              "or the sender reports 'not available'")
            return "ok", f"within the DBC's declared range {_range(limits)}{unit} (no normal range is known for it)"
        return "none", ""

    def _stale_limit(self, entry: CatalogueEntry | None) -> float:
        cycle = entry.cycle_ms if entry is not None else None
        return self.stale_factor * cycle / 1000.0 if cycle else self.default_stale_s

    # -- health ------------------------------------------------------------------------------------------------------
    def health(self, snapshot: LiveSnapshot, catalogue: SignalCatalogue | None,
               scores: dict[str, float] | None = None) -> LiveAnswer:
        """Findings from the live state, or what was checked when there are none."""
        clock = LiveClock.of(snapshot)
        entries = {e.key: e for e in (catalogue.entries if catalogue is not None else [])}
        shown = [self.show(r, entries.get(f"{r.message}.{r.name}"), clock) for r in snapshot.signals
                 if not _internal(entries.get(f"{r.message}.{r.name}"))]
        from rag_car.answer.sources import is_current

        dtcs = [d for d in snapshot.dtcs if is_current(d)]
        lamps = [lamp for lamp in snapshot.lamps if lamp.state != "off"]
        abnormal = [s for s in shown if s.status_key in ("low", "high") and s.status.startswith(("ABOVE", "BELOW"))]
        odd = [s for s in shown if s.status_key in ("low", "high") and s not in abnormal]
        stale = [s for s in shown if s.status_key == "stale"]
        current = [s for s in shown if s.status_key != "stale"]
        silent = _silent_senders(stale, current)
        sentences: list[str] = []
        explain: list[str] = []
        if dtcs:
            listed = "; ".join(f"{d.code}{' ' + d.description if d.description else ''} (from {d.source}"
                               f"{', ' + d.ecu if d.ecu else ''})" for d in dtcs)
            sentences.append(f"{len(dtcs)} trouble code{'s' if len(dtcs) != 1 else ''} active: {listed}.")
            explain += [d.code for d in dtcs]
        if lamps:
            sentences.append("Lamps on: " + "; ".join(f"{lamp.name} ({lamp.state})" for lamp in lamps) + ".")
            explain += [f"{lamp.name} warning lamp" for lamp in lamps]
        if abnormal:
            sentences.append("Outside the normal range: " + "; ".join(_brief(s) for s in abnormal[:6]) + ".")
            explain += [f"{s.label} {s.status_key}" for s in abnormal[:3]]
        if silent:
            sentences.append("Gone quiet: " + ", ".join(silent[:6]) + (f" and {len(silent) - 6} more" if len(silent) > 6 else "")
                             + " (every message from them is stale).")
        if stale:
            names = sorted({s.reading.message for s in stale})
            sentences.append(f"{len(stale)} reading{'s' if len(stale) != 1 else ''} stale (no new value for longer than "
                             f"their message's cycle allows), from {len(names)} message{'s' if len(names) != 1 else ''}: "
                             + ", ".join(names[:6]) + (" ..." if len(names) > 6 else "") + ".")
        misfit = dbc_misfit(snapshot)
        if misfit:
            sentences.append(misfit)
        if odd:
            sentences.append(f"{len(odd)} reading{'s' if len(odd) != 1 else ''} outside the range the DBC declares "
                             f"(often a DBC that does not fit this car exactly, or a 'not available' value, rather than "
                             f"a fault): " + "; ".join(_brief(s) for s in odd[:4]) + ".")
        in_range = [s for s in current if s.status_key in ("ok", "none")]
        seconds = _listened_s(snapshot)
        read_for = f"read from the bus for {format_age(seconds)}" if seconds is not None else "read from the bus"
        checked = [
            "trouble codes reported on the bus" + (" and by OBD-II (services 03/07)" if self.obd_polling else
                                                   " (OBD-II polling is off: set can.poll_obd to ask the engine ECU)"),
            f"{len(snapshot.lamps)} warning lamp{'s' if len(snapshot.lamps) != 1 else ''} known",
            f"{len(shown)} signals in {len({s.reading.message for s in shown})} messages against their ranges and ages",
        ]
        if not (dtcs or lamps or abnormal or silent or stale or misfit):
            lead = (f"Nothing wrong found: no trouble codes, no lamps on, {len(in_range)} signals in range, {read_for}."
                    if not clock.not_live else
                    f"The bus is {clock.not_live}: nothing current can be checked; the last values showed no trouble "
                    f"codes and no lamps on.")
            sentences.insert(0, lead)
        else:
            problems = len(dtcs) + len(lamps) + len(abnormal)
            if problems:
                lead = f"The bus reports {problems} problem{'s' if problems != 1 else ''} ({read_for}):"
            elif misfit and not shown:
                lead = f"Nothing can be checked ({read_for}):"
            else:
                lead = f"No trouble codes, no lamps on and no reading outside its normal range ({read_for}); but:"
            sentences.insert(0, lead)
            if in_range:
                sentences.append(f"{len(in_range)} other signals are in range.")
        sentences.append("Checked: " + "; ".join(checked) + ".")
        return LiveAnswer("health", sentences, shown=abnormal + odd[:4], dtcs=dtcs, explain=explain, checked=checked,
                          intent_scores=dict(scores or {}))


# a yes/no question whose subject is the signal (masked "X") or the asker: "is my X X fastened?", "am I in X?",
# "are the X X on?", "is the battery X X burning?" (a word or two of the subject that named no signal) -- not "is it
# safe to drive with the X open?" (its subject is "it")
_STATE_QUESTION = re.compile(r"^\s*(?:is|are|am|was|were)\s+(?:(?:the|my|our|your|a|an|this|that|its|his|her|their)\s+"
                             r"(?:[A-Za-z-]+\s+){0,2})?(?:X|I|we)\b", re.IGNORECASE)


# a question after an amount ("how far is it turned", "how high are the revs"; not "how do I", "how often")
_HOW_MUCH = re.compile(r"^\s*how\s+(?!do\b|does\b|did\b|can\b|could\b|should\b|often\b|to\b|long\b|is\b|are\b)\w+",
                       re.IGNORECASE)


# "what is the X X?", "what's my X now?": a question that is the signal's name and nothing else
_BARE_WHAT = re.compile(r"\s*what(?:'s|s|\s+is|\s+are)\s+(?:(?:the|my|our)\s+)?(?:X[\s-]*)+(?:(?:right\s+)?now\s*)?\??\s*",
                        re.IGNORECASE)


# a question after a cause ("why is ...", "how come ...", "... and why?")
_WHY = re.compile(r"(?:^|.*\b)(?:why\b|how\s+come\b)", re.IGNORECASE)


def _unmeasured(catalogue: SignalCatalogue, question: str, asked: Asked, live_keys: list[str]) -> str:
    """The quantity asked ("temperature", "outside temperature") when no signal the bus is sending measures it (by
    its unit, else its name; of the thing the question names, when it names one), "" when one does or the question
    asks no physical quantity."""
    from rag_car.vehicle.catalogue import _ALSO

    quantities = {name for name, _ in catalogue.glossary.measures} - {"percent", "position"}
    if asked.measure not in quantities:
        return ""
    wanted = {asked.measure} | _ALSO.get(asked.measure, set())
    whose = catalogue.qualifiers(question, asked)
    entries = [e for e in (catalogue.entry(key) for key in live_keys) if e is not None and not e.internal]
    if not any(e.expanded or e.quantity or e.comment for e in entries):
        return ""  # nothing on this bus can be read (bare names): no way to tell what it does not send
    for entry in entries:
        if catalogue.measure(entry) in wanted:
            other = catalogue.other_subject(entry, question, asked, whose) if whose else ""
            if not other or other == "?":
                return ""
    return f"{catalogue.qualifier_words(question, asked)} {asked.measure}".strip()


def _top(scores: dict[str, float]) -> str:
    return max(scores, key=lambda k: (scores[k], k == "document"))


def _verdict(cue: StateCue, shown: ShownReading, catalogue: SignalCatalogue) -> str:
    """Yes or no to a state question ("is the engine running") from the reading that shows it, with the evidence:
    "" when the reading is not of the quantity that decides it, or there is nothing to compare it with."""
    entry, value = shown.entry, shown.reading.value
    if entry is None or not isinstance(value, (int, float)) or isinstance(value, bool) or shown.reading.label:
        return ""
    if not cue.decided_by(entry) or catalogue.measure(entry) != catalogue.glossary.measure_of_words(cue.asks.split()):
        return ""
    evidence = f"{entry.label().lower()} {shown.value}"
    if cue.yes == "warm":
        normal = shown.reading.normal
        if normal is not None and normal[0] is not None:
            low, against = normal[0], f"the low end of its normal range, {format_number(normal[0])}"
        elif catalogue.glossary.warm_low is not None and _celsius(entry, catalogue):
            low = catalogue.glossary.warm_low
            against = (f"about {format_number(low)} degC, where a warm engine's coolant usually sits (a general figure: "
                       "no normal range is known for this car)")
        else:
            return ""
        yes = value >= low
        evidence += f", {'at or above' if yes else 'below'} {against}"
    else:
        yes = abs(value) > 0 if cue.yes == "above zero" else abs(value) == 0
    stale = " (the last value received, now stale)" if shown.status_key == "stale" else ""
    return f"{'Yes' if yes else 'No'}: {cue.subject} is {'' if yes else 'not '}{cue.state} ({evidence}){stale}."


def _celsius(entry: CatalogueEntry, catalogue: SignalCatalogue) -> bool:
    unit = entry.unit.lower().replace("°", "").strip()
    return unit in ("c", "degc", "deg", "degreesc", "celsius") and catalogue.measure(entry) == "temperature"


def _names_signal(description: str, entry: CatalogueEntry) -> bool:
    """Whether a comment's first words name the signal: a statement (not a writer's open question) sharing a word
    with what the signal's name means."""
    from rag_car.text.terms import terms

    if description.rstrip().endswith("?"):
        return False
    return bool(set(terms(description)) & set(terms(f"{entry.meaning} {' '.join(entry.tokens)}")))


def _asks_state(frame: str) -> bool:
    return "X" in frame and bool(_STATE_QUESTION.match(frame))


def _is_state(entry: CatalogueEntry) -> bool:
    """A signal that reads as a state rather than a quantity: a value table, or one or two bits (a switch)."""
    return bool(entry.choices) or 0 < entry.length <= 2


def _driver_words(catalogue: SignalCatalogue | None) -> tuple[frozenset[str], frozenset[str]]:
    """The words of the driver's seat position ("front left", from the glossary's seats) and of the other seats'."""
    from rag_car.vehicle.catalogue import bundled_glossary

    seats = (catalogue.glossary if catalogue is not None else bundled_glossary()).seats
    mine = frozenset(seats.get("driver", "").split())
    others = frozenset(w for seat, words in seats.items() if seat != "driver" for w in words.split()) - mine
    return mine, others


def _sits(entry: CatalogueEntry, seat: tuple[frozenset[str], frozenset[str]]) -> bool:
    """Whether the signal is the driver's seat's: its meaning says "driver", or names the driver's position and no
    other seat's ("left seat belt", "front left door"; not "rear left door")."""
    words = set(entry.meaning.split())
    mine, others = seat
    return "driver" in words or bool(words & mine) and not words & others


def _catalogue_of_readings(snapshot: LiveSnapshot) -> SignalCatalogue:
    """A catalogue from the readings alone (no DBC at hand): their names, units and descriptions."""
    from rag_car.vehicle.catalogue import bundled_glossary, describe_signal

    class _Signal:
        def __init__(self, r: SignalReading) -> None:
            self.name, self.unit, self.comment, self.choices = r.name, r.unit, r.description, None
            self.minimum, self.maximum = (r.limits or (None, None))
            self.length = 0

    class _Message:
        def __init__(self, name: str) -> None:
            self.name, self.senders, self.cycle_time = name, [], None

    glossary = bundled_glossary()
    entries = [describe_signal(_Message(r.message), _Signal(r), glossary) for r in snapshot.signals]
    return SignalCatalogue(entries, glossary)


def _at_edge(reading: SignalReading | None, entry: CatalogueEntry) -> bool:
    if reading is None or reading.label is not None or not isinstance(reading.value, (int, float)):
        return False
    # raw all-zeros is a real zero (stopped, off) when the range starts at 0; it is "not available" only where an
    # offset puts the minimum elsewhere (-40 degC)
    edges = (entry.maximum,) if entry.minimum == 0 else (entry.minimum, entry.maximum)
    return reading.value in edges and entry.minimum is not None and entry.length > 1


def _off_table(reading: SignalReading | None, entry: CatalogueEntry) -> bool:
    """A signal with a value table whose current value is none of its states (a selector reading 15 of P/R/N/D)."""
    return reading is not None and bool(entry.choices) and reading.label is None


def _internal(entry: CatalogueEntry | None) -> bool:
    return entry is not None and bool(entry.internal)


def _silent_senders(stale: list[ShownReading], current: list[ShownReading]) -> list[str]:
    """ECUs (the DBC's transmitters) whose every received message is stale."""
    alive = {s for r in current if r.entry is not None for s in r.entry.senders}
    quiet = {s for r in stale if r.entry is not None for s in r.entry.senders}
    return sorted(q for q in quiet - alive if q and q.lower() not in ("vector__xxx", "xxx"))


# below this share of frames with an id the DBC defines, the DBC (or the vehicle profile naming it) is not this bus's:
# real logs with their own car's DBC decode 42-100 % of their frames (../shared/data/INDEX.md), another car's ~0 %
_MIN_FIT = 0.05
_MIN_FRAMES_FOR_FIT = 200


def dbc_misfit(snapshot: LiveSnapshot) -> str:
    """"" when the bus's frames fit its DBC; else a sentence saying they do not, and what to do."""
    counters = snapshot.counters or {}
    frames = int(counters.get("frames", 0) or 0)
    # a payload shorter than its DBC message decodes only in part: no evidence the DBC fits (another car's frame may
    # share an id with one of its messages)
    decoded = int(counters.get("decoded", 0) or 0) - int(counters.get("truncated", 0) or 0)
    if frames < _MIN_FRAMES_FOR_FIT or decoded >= _MIN_FIT * frames:
        return ""
    return (f"Only {decoded} of {frames} frames received have an id the DBC defines: this bus or log looks like "
            "another car's than the DBC's (and its vehicle profile's), so its readings cannot be checked; decode it "
            "with its own car's DBC (can.dbc, or `rag-car vehicle add NAME --dbc FILE`).")


def _listened_s(snapshot: LiveSnapshot) -> float | None:
    bus = snapshot.bus
    first, last = bus.get("first_frame_ts"), bus.get("last_frame_ts")
    if bus.get("state") == "ended" and first is not None and last is not None:
        return max(0.0, float(last) - float(first))
    connected = bus.get("connected_at")
    if connected:
        return max(0.0, snapshot.taken_at - float(connected))
    if first is not None and last is not None:
        return max(0.0, float(last) - float(first))
    return None


def _value_text(reading: SignalReading, entry: CatalogueEntry | None) -> str:
    value = reading.value
    number = format_number(value)
    if reading.label is not None:
        return f"{reading.label} ({number})"
    if entry is not None and entry.is_flag and isinstance(value, (int, float)):
        return f"{'on' if value else 'off'} ({number})"
    return f"{number} {reading.unit}".strip() if reading.unit else number


def _brief(s: ShownReading) -> str:
    return f"{s.label} {s.value} ({s.status.split(':')[0]}; signal {s.key})"


def _range(bounds: tuple[float | None, float | None]) -> str:
    low, high = bounds
    if low is None:
        return f"up to {format_number(high)}"
    if high is None:
        return f"from {format_number(low)}"
    return f"{format_number(low)} to {format_number(high)}"


def _mask(question: str, matched: frozenset[str], read: Any = None) -> str:
    """The question with the words that named its signal replaced by "X" ("is the driver's door open" -> "is the X's
    X open"). ``read``: how the catalogue reads a word (its everyday quantity words: "fast" is a speed)."""
    from rag_car.answer.sentences import terms

    def swap(m: re.Match) -> str:
        word = m.group(0)
        found = set(read(word)) if read is not None else set(terms(word))
        return "X" if found & matched else word

    return re.sub(r"[A-Za-z][A-Za-z-]*", swap, question)
