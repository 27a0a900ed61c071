"""Question (+ conversation, live snapshot) -> Answer: retrieval, live context, grounded prompt, backend, grounding.

    assistant = Assistant(settings, live=live_state)
    answer = assistant.ask("what's wrong with my car?", persona="owner")
    for piece in assistant.stream("and the rear ones?", history=[...]):
        ...  # str pieces of the grounded answer, then the Answer itself

The steps of one answer:
1. the question is cleaned (empty, too long, another language: each noted, never an exception);
2. the live snapshot is read: its VIN's vehicle and year become the default retrieval filter, and active DTCs
   pull their DTC reference entries and the bulletins of the vehicle profile in force (rag_car.vehicle.profile)
   that apply to this VIN into the context; no profile in force, no vehicle-specific facts;
3. retrieval; the sentences of the passages are ranked for the question and the persona; the retrieval
   support (best passage cosine and lexical share, headings included) below the index's calibrated threshold
   (rag_car.answer.calibration) means abstain;
4. a live stop-driving condition leads the answer; the backend writes the body (a failing generative backend
   falls back to ``extractive``, and the Answer says so); each sentence is checked against its cited source and
   unsupported ones are removed; the documents' WARNING/CAUTION text is carried for safety topics; the relevant
   live readings close the answer.
"""

from __future__ import annotations

import re
import time

import numpy as np

from rag_car.answer import i18n
from rag_car.answer.i18n import answer_language, quoted_note
from rag_car.text.lang import detect_language, fold_full_width, has_full_width
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from rag_car.answer.answerability import QUANTITY_SENTENCES
from rag_car.answer.backends import Backend, BackendTimeout, Request, open_backend
from rag_car.answer.calibration import CalibrationCache
from rag_car.answer.grounding import GroundingChecker, Part, SentenceStream, parse_answer
from rag_car.answer.instructions import refusal
from rag_car.answer.layout import Layout
from rag_car.answer.personas import Persona, get_persona
from rag_car.answer.prompt import ABSTAIN_TOKEN, build_completion_prompt, build_messages
from rag_car.answer.safety import (
    SAFETY_TOPICS,
    SafetyCheck,
    SafetyWarning,
    StopCondition,
    live_items,
    safety_topics,
    select_warnings,
    stop_conditions,
)
from rag_car.answer.schema import Answer
from rag_car.answer.selection import Ranking, rank_sentences, relevant_live
from rag_car.answer.sentences import dtc_codes, looks_english, terms
from rag_car.answer.siblings import SectionIndex, section_siblings
from rag_car.answer.structure import Outline, relation
from rag_car.answer.sources import DocSource, Sources, build_sources, is_current, live_lines
from rag_car.answer.trust import Disagreements, find_disagreements
from rag_car.errors import EmptyIndexError, RagCarError
from rag_car.tuning import TUNING, Tuning
from rag_car.vehicle.profile import Garage, Resolution, garage_for

MAX_QUESTION_CHARS = 2000
MAX_ACTIVE_CODES = 4
MAX_WARNINGS = 4  # safety notices carried with one answer (nearest in the documents' structure first)
MAX_PROTECTED_SECTIONS = 3  # the quoted sections whose notices are looked up
DIRECT_NOTICE_RANK = 5  # a notice among this many best-ranked sentences answers the question itself
NEW_NOTICE_TERMS = 3  # content terms a notice must add to one already chosen to be another notice (as _adds in extractive)
STRUCTURE_STEP = 0.05  # closeness to the question a notice one level further away in the structure must make up
TOP_RETRIEVED = 3  # the passages retrieval ranks best: the only ones a notice may come from without structure
_STOP_WORDS = re.compile(r"\b(?:stop|pull over|switch off|turn off the engine|do not drive|don't drive|tow)\b", re.IGNORECASE)

History = list[dict[str, str]]


@dataclass
class _Turn:
    """What one answer is being built from (internal)."""

    question: str
    query: str
    persona: Persona
    sources: Sources
    ranking: Ranking
    safety: SafetyCheck
    live_idx: list[int]
    history: History
    notices: list[str] = field(default_factory=list)
    unknown_codes: list[str] = field(default_factory=list)
    known_codes: list[str] = field(default_factory=list)
    vehicle: dict[str, Any] = field(default_factory=dict)
    retrieve_ms: float = 0.0
    filters: Any = None
    profile: Resolution = field(default_factory=Resolution)
    vector: Any = None  # the question's embedding
    support: float = 0.0  # how well the best passage supports it (set when judged)
    passages: list[Any] = field(default_factory=list)  # what retrieval returned for the question, best first
    sentence_vectors: Any = None  # what embeds sentences in the space of ``vector`` (None: no vectors)


class Assistant:
    """Answers questions about one vehicle from its documents and its live data.

    ``retriever``: an open Retriever (default: opened from the settings on first use). ``live``: a LiveState,
    a LiveSnapshot, or a function returning one (None: no live data). ``embedder``: shared with the retriever
    when given. The backends are opened on first use and kept, so a model is loaded once; ``backends`` gives
    ready ones by key (a test's recording model, a UI's shared one). ``vectors``: the SentenceVectors to rank
    sentences with (default: the one cached under the data dir, opened on first use). ``garage``: the vehicle
    profiles (default: the bundled one and those under the data dir); the one in force for each answer is the
    live snapshot's, else resolved from its VIN and ``vehicle.profile``. ``tuning``: the ranking and answering
    constants (rag_car.tuning).
    """

    def __init__(self, settings: Any, retriever: Any = None, live: Any = None, embedder: Any = None,
                 garage: Garage | None = None, backends: dict[str, Backend] | None = None,
                 vectors: Any = None, tuning: Tuning = TUNING) -> None:
        self.settings = settings
        self.tuning = tuning
        self._retriever = retriever
        self.live = live
        self._embedder = embedder if embedder is not None else getattr(retriever, "embedder", None)
        self._vectors = vectors
        self._vocabulary: Any = None
        self._vehicles: list[dict[str, Any]] | None = None
        self._backends: dict[str, Backend] = dict(backends or {})
        self._sections = SectionIndex()
        self._outline = Outline(self._sections)
        self._cross: Any = False  # rag_car.answer.crosslingual.CrossLingual, None when the retriever has none
        self._calibrations = CalibrationCache()
        self._garage = garage
        self._live_answerer: Any = None
        self._signal_catalogue: tuple[Any, Any] | None = None

    # -- resources -------------------------------------------------------------------------------------------
    @property
    def garage(self) -> Garage:
        """The known vehicle profiles (loaded on first use)."""
        if self._garage is None:
            self._garage = garage_for(self.settings)
        return self._garage

    def profile_for(self, snapshot: Any) -> Resolution:
        """The vehicle profile in force for an answer: the snapshot's own (its LiveState resolved it), else the one
        the garage resolves from the snapshot's VIN, the user's pick and the DBCs in use; none without live data
        unless one is picked."""
        from rag_car.answer.live_answer import dbc_misfit
        from rag_car.vehicle.live import LiveSnapshot

        misfit = dbc_misfit(snapshot) if isinstance(snapshot, LiveSnapshot) else ""
        if misfit:  # the bus is another car's than its DBC's: no profile's facts apply to it
            return Resolution(None, "none", (misfit,))
        own = getattr(snapshot, "profile", None)
        if own is not None:
            return Resolution(own, str(getattr(snapshot, "profile_how", "") or "picked"),
                              tuple(getattr(snapshot, "profile_notes", ()) or ()))
        vehicle = (getattr(snapshot, "vehicle", None) or {}) if snapshot is not None else {}
        picked = self.settings.vehicle.profile or None
        if snapshot is None:
            return self.garage.resolve(picked=picked)
        # the DBC files the bus is decoded with: the live state's own, else the configured ones
        db = getattr(self.live, "db", None)
        in_use = [f.path for f in getattr(db, "files", None) or []] or self.settings.dbc_files()
        resolution = self.garage.resolve(vin=str(vehicle.get("vin") or "") or None, picked=picked, dbc=in_use)
        extra = tuple(getattr(snapshot, "profile_notes", ()) or ())
        return Resolution(resolution.profile, resolution.how, tuple(dict.fromkeys(extra + resolution.notes)))

    @property
    def retriever(self) -> Any:
        if self._retriever is None:
            from rag_car.answer.vectors import QueryCache
            from rag_car.knowledge.embed import load_embedder
            from rag_car.knowledge.retrieve import open_retriever

            if self._embedder is None:
                self._embedder = QueryCache(load_embedder(self.settings))
            self._retriever = open_retriever(self.settings, embedder=self._embedder, rewriter=self._rewriter(),
                                             tuning=self.tuning)
            if self._retriever.sentences is None:
                # the sentences this assistant ranks answers with also rank the passages (retrieve/sentences.py)
                from rag_car.answer.vectors import BestSentences

                self._retriever.sentences = BestSentences(self.vectors)
        return self._retriever

    def _rewriter(self) -> Callable[[str], str] | None:
        """The retriever's follow-up rewriter: ``complete(prompt) -> text`` over the configured generative backend,
        None with ``extractive`` (the default path uses no model). A failing backend makes the retriever fall back
        to its heuristic rewrite, and the search result says so."""
        key = self.settings.llm.backend.strip().lower()
        if key == "extractive":
            return None

        def complete(prompt: str) -> str:
            request = Request(question=prompt, persona=None, sources=None, ranking=None,  # type: ignore[arg-type]
                              messages=[("user", prompt)], completion_prompt=prompt, max_tokens=64, temperature=0.0,
                              timeout_s=min(10.0, float(self.settings.llm.timeout_s)))
            return self.backend(key).generate(request)

        return complete

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = getattr(self.retriever, "embedder", None)
        return self._embedder

    @property
    def vectors(self) -> Any:
        if self._vectors is None and self.embedder is not None:
            from rag_car.answer.vectors import SentenceVectors, cache_file

            self._vectors = SentenceVectors(self.embedder, cache_file(self.settings.cache_dir, self.embedder))
        return self._vectors

    @property
    def vocabulary(self) -> Any:
        """What the indexed documents talk about (term -> chunk count), for the answerability check."""
        if self._vocabulary is None:
            from rag_car.answer.vocabulary import vocabulary_for

            self._vocabulary = vocabulary_for(self.settings, self.retriever) or False
        return self._vocabulary or None

    def vehicles(self) -> list[dict[str, Any]]:
        """The indexed vehicles (make, model, year_min, year_max); empty when the index can't say (then no question
        is refused for naming another vehicle or year: what the documents cover is not known)."""
        if self._vehicles is None:
            found: list[dict[str, Any]] = []
            try:
                found = list(self.retriever.known_vehicles())
            except Exception:  # a retriever without a catalog
                found = []
            self._vehicles = found
        return self._vehicles

    def warm(self, sentences: bool = True, batch: int = 256, max_chunks: int = 20_000,
             stop: Callable[[], bool] | None = None) -> dict[str, float]:
        """Load what answering needs now instead of on the first question: the embedding model, the BM25 side,
        the vocabulary and (``sentences``) the vectors of every indexed sentence, cached on disk, so that even
        a first question about a passage costs no embedding but its own. An index of more than ``max_chunks``
        chunks is not pre-embedded (hours on 2 cores); its sentences are embedded as questions reach them.
        ``stop()`` is asked before each batch (a server shutting down). Returns counts and seconds."""
        start = time.perf_counter()
        self.ask("warm-up: what is the tire pressure?", use_live=False)
        done = {"sentences": 0.0, "seconds": 0.0}
        store = getattr(self.retriever, "store", None)
        if (sentences and store is not None and hasattr(store, "iter_all") and self.vectors is not None
                and store.count() <= max_chunks):
            from rag_car.answer.vectors import SentenceFill

            fill = SentenceFill(self.vectors, batch=batch, stop=stop)
            fill(store.iter_all())
            done["sentences"] = float(fill.sentences)
        done["seconds"] = time.perf_counter() - start
        return done

    def backend(self, key: str | None = None) -> Backend:
        """The backend for ``key`` (default: llm.backend), opened once. Raises ConfigError for an unknown key."""
        key = (key or self.settings.llm.backend).strip().lower()
        if key not in self._backends:
            self._backends[key] = open_backend(key, self.settings)
        return self._backends[key]

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
        self._backends.clear()
        if self._vectors is not None:
            self._vectors.close()
            self._vectors = None
        close = getattr(self._retriever, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> "Assistant":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- answering -------------------------------------------------------------------------------------------
    def ask(self, question: str, history: Any = None, persona: str | None = None, vehicle: Any = None,
            stream: Callable[[str], None] | None = None, backend: str | None = None, use_live: bool = True) -> Answer:
        """The grounded Answer. ``stream``: called with each piece of text as it is ready."""
        for piece in self.stream(question, history=history, persona=persona, vehicle=vehicle, backend=backend,
                                 use_live=use_live):
            if isinstance(piece, Answer):
                return piece
            if stream is not None:
                stream(piece)
        raise AssertionError("stream() ended without an Answer")  # pragma: no cover

    def stream(self, question: str, history: Any = None, persona: str | None = None, vehicle: Any = None,
               backend: str | None = None, use_live: bool = True, live_first: bool = True) -> Iterator[str | Answer]:
        """Pieces of the answer text as they are grounded, then the Answer (whose ``answer`` is their concatenation).

        ``history``: earlier turns, [{"role": "user"|"assistant", "content": ...}] oldest first (plain strings
        count as user turns). ``vehicle``: "Make Model Year", a dict or a Filters (default: the VIN's, when live
        data has one). ``backend``: a backend key for this question only. ``use_live``: False ignores live data.
        ``live_first``: False skips the bus-first answer (rag_car/answer/live_first.py) and answers from documents.
        """
        t0 = time.perf_counter()
        persona_obj = get_persona(persona or self.settings.llm.persona)
        requested = (backend or self.settings.llm.backend).strip().lower()
        text, notices = _clean(question)
        answer = Answer(question=text, answer="", backend="extractive", persona=persona_obj.name, grounded=False,
                        requested_backend=requested, notices=notices)
        if not text:
            yield from _unanswered(answer, "Please type a question, for example: What does code P0301 mean? or "
                                           "What is the tire pressure?", t0, searched=False)
            return
        refused = refusal(text)  # an instruction to the assistant or a piece of code, not a question (#19)
        if refused:
            answer.notices.append("refused: the question reads as an instruction to the assistant or as code")
            yield from _unanswered(answer, refused, t0, searched=False)
            return

        snapshot = self._snapshot() if use_live else None
        bus_first = self._live_first(text, snapshot, answer, t0) if snapshot is not None and live_first else None
        if bus_first is not None:  # the bus answers this one: its readings lead (rag_car/answer/live_first.py)
            pieces, defer, live = bus_first
            if defer:
                # active codes or lamps: the documents' fault answer (stop instruction, the codes' entries, bulletins)
                # leads when it has one; the bus's findings answer when the documents have nothing
                documented = list(self.stream(question, history=history, persona=persona, vehicle=vehicle,
                                              backend=backend, use_live=use_live, live_first=False))
                final = documented[-1]
                if live.kind == "absent" and isinstance(final, Answer):
                    # "this bus sends no fuel level reading", then whatever the documents say (or that they say nothing)
                    lead = live.text
                    final.answer = f"{lead} {final.answer}".strip()
                    final.live_kind = "absent"
                    yield lead + " "
                    yield from documented
                    return
                if isinstance(final, Answer) and not final.abstained:
                    yield from documented
                    return
                if live.defer:  # a question for the documents, which have nothing: say so, then what the bus reads
                    live.sentences.insert(0, "No document answers this question; what the bus reads now:")
            yield from pieces
            return
        try:
            turn = self._prepare(text, _history(history), persona_obj, vehicle, snapshot, notices)
        except EmptyIndexError as exc:
            yield from _unanswered(answer, "Nothing is indexed yet, so there are no documents to answer from: "
                                           f"{exc.fix or exc.message}.", t0, exc)
            return
        except RagCarError as exc:  # a store that went away, a broken filter: say so, never a traceback
            yield from _unanswered(answer, f"The documents could not be searched: {exc}.", t0, exc)
            return

        answer.query = turn.query
        answer.vehicle = dict(turn.vehicle)
        if turn.profile.profile is not None:  # which vehicle's facts this answer used, and why
            answer.vehicle["profile"] = turn.profile.name
            answer.vehicle["profile_from"] = turn.profile.how
        t_gen = time.perf_counter()
        yield from self._write(turn, requested, answer)
        answer.timings = {"retrieve_ms": turn.retrieve_ms, "generate_ms": _ms(t_gen), "total_ms": _ms(t0)}
        yield answer

    # -- step 1-3: context ---------------------------------------------------------------------------------------
    def _snapshot(self) -> Any:
        live = self.live
        if live is None:
            return None
        try:
            if hasattr(live, "snapshot"):
                return live.snapshot()
            if callable(live):
                return live()
        except Exception:  # a live feed that broke must not break answering from the documents
            return None
        return live

    def _live_first(self, question: str, snapshot: Any, answer: Answer,
                    t0: float) -> tuple[Iterator[str | Answer], bool, Any] | None:
        """The answer's pieces when the question is about the car now and the bus answers it, else None; and whether
        the documents' fault answer should lead instead (a health question while codes or lamps are active)."""
        from rag_car.answer.live_first import explanations_for, stream_live_answer

        from rag_car.vehicle.live import LiveSnapshot

        if not isinstance(snapshot, LiveSnapshot):
            return None
        live = self.live_answerer.answer(question, snapshot, self._catalogue())
        if live is None:
            return None

        def search(query: str, sources: list[str] | None) -> list:
            from rag_car.knowledge.retrieve import Filters

            return list(self.retriever.search(query, k=3, filters=Filters(sources=sources) if sources else None).passages)

        resolution = self.profile_for(snapshot)
        if resolution.profile is not None:  # which vehicle's facts this answer used, and why
            answer.vehicle = {"profile": resolution.name, "profile_from": resolution.how}
        defer = live.defer or (live.kind == "health" and bool(live.dtcs or any(l.state != "off" for l in snapshot.lamps)))
        explain = explanations_for(live, snapshot, resolution.profile)
        return stream_live_answer(self.live_answerer, live, answer, search, t0, explain), defer, live

    @property
    def live_answerer(self) -> Any:
        """The LiveAnswerer (rag_car/answer/live_answer.py), with the embedding model when one is configured."""
        if self._live_answerer is None:
            from rag_car.answer.live_answer import LiveAnswerer

            can = self.settings.can
            if self._embedder is None and self._retriever is None:  # the bus may answer before any index is opened
                from rag_car.answer.vectors import QueryCache
                from rag_car.knowledge.embed import load_embedder

                try:
                    self._embedder = QueryCache(load_embedder(self.settings))
                except RagCarError:
                    self._embedder = None
            # the keyword-hashing test embedder carries no meaning: terms alone judge the question then
            meaningful = self.settings.embedding.model.strip() != "hash"
            vectors = self.vectors if self._embedder is not None and meaningful else None
            self._live_answerer = LiveAnswerer(embed=vectors.embed if vectors is not None else None,
                                               stale_factor=can.stale_factor, default_stale_s=can.default_stale_s,
                                               obd_polling=bool(getattr(can, "poll_obd", False)))
        return self._live_answerer

    def _catalogue(self) -> Any:
        """The signal catalogue of the live source's DBC files, built once per DBC set."""
        from rag_car.answer.live_first import catalogue_of

        db = getattr(self.live, "db", None)
        if self._signal_catalogue is None or self._signal_catalogue[0] is not db:
            self._signal_catalogue = (db, catalogue_of(self.live))
        return self._signal_catalogue[1]

    def _prepare(self, question: str, history: History, persona: Persona, vehicle: Any, snapshot: Any,
                 notices: list[str]) -> _Turn:
        from rag_car.knowledge.retrieve import Filters

        if not looks_english(question) and detect_language(question) != "zh":  # Chinese is searched cross-lingually
            notices.append("the question does not look like English; the documents are in English, so ask in English "
                           "for the best answer")
        t0 = time.perf_counter()
        retriever = self.retriever
        resolution = self.profile_for(snapshot)
        profile = resolution.profile
        notices.extend(n for n in resolution.notes if n not in notices)
        filters, vehicle_info = self._filters(vehicle, snapshot, retriever, profile)
        past = [t["content"] for t in history if t.get("role") == "user"]
        result = retriever.search(question, k=self.settings.retrieval.k, filters=filters, history=past)
        notices.extend(n for n in result.notes if n not in notices)
        passages: list[tuple[Any, str]] = [(p, "question") for p in result.passages]
        # the rest of the best passages' sections: a step or value may sit in the next chunk
        passages.extend((p, "section") for p in section_siblings(retriever, self._sections, result.passages))

        # live context: active codes pull their reference entries and the bulletins that apply to this vehicle
        active = [str(getattr(d, "code", "")).upper() for d in live_items(getattr(snapshot, "dtcs", None))
                  if is_current(d)]
        active = list(dict.fromkeys(c for c in active if c))[:MAX_ACTIVE_CODES]
        vin = str((getattr(snapshot, "vehicle", None) or {}).get("vin", "") or "") or None
        year = filters.year if filters else None
        base = filters or Filters()
        # (a code named in the question is already searched for first by the retriever)
        for code in active:
            hits = retriever.search(code, k=3, filters=base.merged(Filters(doc_types=["dtc"]))).passages
            passages.extend((p, f"dtc {code}") for p in hits[:2] if code in [c.upper() for c in p.codes] or code in p.text)
            for bulletin in (profile.bulletins_for(code, year, vin)[:2] if profile is not None else []):
                if not bulletin.doc:
                    continue
                hits = retriever.search(f"{bulletin.number} {bulletin.title} {code}", k=2,
                                        filters=Filters(sources=[bulletin.doc])).passages
                passages.extend((p, f"bulletin {bulletin.number}") for p in hits[:1])

        # for an owner, a code's lamp has its entry in the owner's manual: what to do now, and when to get help
        codes_asked = list(dict.fromkeys(active + dtc_codes(question)))[:MAX_ACTIVE_CODES]
        for code in codes_asked if profile is not None and not persona.workshop_steps else []:
            fact = profile.dtcs.get(code)
            lamp = profile.lamps.get(fact.lamp) if fact is not None and fact.lamp else None
            if lamp is not None and lamp.doc and lamp.section:
                hits = retriever.search(f"{lamp.name} {lamp.section}", k=2,
                                        filters=Filters(sources=[profile.doc_path(lamp.doc)])).passages
                passages.extend((p, f"dtc {code} lamp") for p in hits[:1] if p.section.endswith(lamp.section))

        stops = stop_conditions(snapshot, profile) if snapshot is not None else []
        for stop in stops:
            if stop.doc:
                hits = retriever.search(f"{stop.text} {stop.section} stop", k=2, filters=Filters(sources=[stop.doc])).passages
                passages.extend((p, f"stop {stop.key}") for p in hits[:1])
        retrieve_ms = _ms(t0)

        docs = build_sources(passages)
        if any(d.redacted for d in docs):
            notices.append(f"{sum(d.redacted for d in docs)} sentence(s) in the documents read as instructions to an AI "
                           "model and were ignored")
        lines = live_lines(snapshot, profile.normal_ranges() if profile is not None else None)
        sources = Sources(docs=docs, live=lines, snapshot=snapshot)
        if snapshot is not None and not any(l.kind == "signal" for l in lines):
            notices.append("no live readings: the bus was silent or is not connected")

        query = question if result.query in ("", question) else f"{question} {result.query}"
        vector = None
        sentence_vectors = self.vectors
        cross = self.crosslingual()
        glossed = ""
        if cross is not None and docs and cross.applies(question, list(result.passages)):
            # a question not in English over passages in another: its words cannot meet their sentences, the
            # multilingual model can, and so can a dictionary's English words for its words (the sentences'
            # terms, the values asked and the safety topics)
            vector, sentence_vectors = cross.vector(question), cross.sentences
            glossed = cross.english_terms(question, list(result.passages))
        elif self.embedder is not None and docs:
            try:
                vector = self.embedder.embed_query(result.query or question)
            except Exception:
                vector = None
        ranked_as = query
        query = f"{query} {glossed}".strip()
        focus = set(active) | set(result.codes) | set(dtc_codes(question))
        ranking = rank_sentences(ranked_as, docs, persona, vector, sentence_vectors if vector is not None else None,
                                 focus, max_docs=len(docs), vocabulary=self.vocabulary, glossed=glossed)
        topics = safety_topics(query)  # the question, its rewrite, and the English terms of a Chinese one
        topics += [s.topic for s in stops if s.topic not in topics and s.topic != "vehicle"]
        safety = SafetyCheck(topics=topics, stops=stops)
        live_idx = relevant_live(query, lines, topics)
        return _Turn(question=question, query=result.query or question, persona=persona, sources=sources,
                     ranking=ranking, safety=safety, live_idx=live_idx, history=history, notices=notices,
                     unknown_codes=list(result.unknown_codes), known_codes=[c for c in result.codes
                                                                           if c not in result.unknown_codes],
                     vehicle=vehicle_info, retrieve_ms=retrieve_ms, filters=filters, profile=resolution,
                     vector=vector, passages=list(result.passages),
                     sentence_vectors=sentence_vectors if vector is not None else None)

    def _filters(self, vehicle: Any, snapshot: Any, retriever: Any, profile: Any = None) -> tuple[Any, dict[str, Any]]:
        """The retrieval filter and what it says: the question's ``vehicle`` (--vehicle), else the VIN's vehicle,
        else the profile in force's make and model (documents tagged with another vehicle are left out; untagged
        ones stay), else none."""
        from rag_car.knowledge.retrieve import Filters

        if isinstance(vehicle, Filters):
            return vehicle, {k: v for k, v in vehicle.to_dict().items() if k in ("make", "model", "year")}
        if isinstance(vehicle, dict):
            f = Filters(make=vehicle.get("make"), model=vehicle.get("model"),
                        year=int(vehicle["year"]) if vehicle.get("year") else None)
            return f, {k: v for k, v in f.to_dict().items()}
        if isinstance(vehicle, str) and vehicle.strip():
            from rag_car.knowledge.retrieve.filters import parse_vehicle

            catalog = getattr(getattr(retriever, "lexical", None), "catalog", None)
            f = parse_vehicle(vehicle, catalog)
            return f, {**f.to_dict(), "from": "--vehicle"}
        info = (getattr(snapshot, "vehicle", None) or {}) if snapshot is not None else {}
        make = model = None
        if profile is not None and profile.make:  # the profile's vehicle, which a VIN of another car never selects
            make, model = profile.make, profile.model or None
        if info and info.get("vin_valid") is not False and (info.get("model") or info.get("year")):
            year = info.get("year")
            f = Filters(make=info.get("make") or make, model=info.get("model") or model, year=int(year) if year else None)
            return f, {**f.to_dict(), "vin": info.get("vin", ""), "from": "VIN"}
        if make:
            f = Filters(make=make, model=model)
            return f, {**f.to_dict(), "from": "profile"}
        return None, {}

    # -- step 4: writing ------------------------------------------------------------------------------------
    def _write(self, turn: _Turn, requested: str, answer: Answer) -> Iterator[str]:
        layout = Layout(section_of=lambda n: _section_key(turn.sources.doc(n)))
        details: list[Part] = []
        answer.notices = turn.notices
        checker = GroundingChecker(turn.sources, self.vectors, turn.question)
        lead = self._lead(turn)
        for part in lead:
            yield layout.add(part)
        answer.warnings.extend(f"{s.text}" for s in turn.safety.stops)

        body: list[Part] = []
        unsupported: list[str] = []
        abstain_reason = self._abstain_reason(turn)
        backend_key = requested
        # the extractive body is composed first, so that what it would say is checked against the other sources
        early = (self._extractive_parts(turn, [p.text for p in lead])
                 if abstain_reason is None and requested == "extractive" else None)
        disagree = self._disagreements(turn, early or []) if abstain_reason is None else Disagreements()
        for paragraph in disagree.paragraphs(lambda n: layout.renumber(Part("", (n,))).docs[0]):
            yield layout.add_text(paragraph, role="trust")
        if abstain_reason is None:
            if requested != "extractive":
                generated, failure = yield from self._generate(turn, requested, checker, layout, body, unsupported)
                if failure:
                    answer.fallback = failure
                    turn.notices.append(f"{failure}; the answer below comes from the extractive backend")
                    backend_key = "extractive"
            if backend_key == "extractive":
                parts = early if early is not None else self._extractive_parts(turn, [p.text for p in lead])
                for part in parts:
                    if not disagree.keep(part):
                        continue
                    verdict = checker.check_part(part, generated=False)
                    if verdict.supported and part.detail:
                        details.append(verdict.part)
                    elif verdict.supported:
                        body.append(verdict.part)
                        yield layout.add(verdict.part)
                    elif not verdict.filler:
                        unsupported.append(part.text)
        answer.backend = backend_key
        answer.unsupported = unsupported
        if unsupported and backend_key != "extractive":
            verb = "flagged" if self.settings.llm.unsupported == "flag" else "removed"
            turn.notices.append(f"{len(unsupported)} sentence(s) {verb}: no cited source supports them")

        lang = answer_language(turn.question)
        if body and backend_key == "extractive":
            note = quoted_note(lang, {detect_language(p.text) for p in body})
            if note and note not in turn.notices:
                turn.notices.append(note)  # said once: the quotes are the documents' own words
        abstained = not body and not disagree.found
        closest: dict[int, DocSource] = {}
        if abstained:
            reason = i18n.localise(abstain_reason, lang) if abstain_reason else i18n.text("not_covered", lang)
            yield layout.add_text(reason)
            # the closest sections, each once (two chunks of one section share its number)
            for d in turn.sources.docs:
                if d.reason == "question" and len(closest) < 3:
                    closest.setdefault(layout.renumber(Part("", (d.n,))).docs[0], d)
            if closest:
                listed = "; ".join(f"[{number}] {d.citation().label()}" for number, d in closest.items())
                yield layout.add_text(i18n.text("closest", lang, listed=listed), role="closest")

        # the safety notices that protect what the answer quotes, found by the documents' structure; a code's
        # entry (a table row, no notices of its own) searches the documents once for its topic's warning
        warnings = self._protecting(turn, body)
        if abstained and closest:
            # a refusal still names the closest sections: the notice the closest one holds itself travels with it
            warnings = self._refusal_notice(turn, min(closest.values(), key=lambda d: d.rank))
        topics = list(turn.safety.topics)
        if body and not warnings and topics:
            # quoted sections that hold no notice at all (a forum post, a short note) on a safety topic: the
            # notice of a passage retrieved for the question that names the topic and the question's own things
            best = {d.n for d in turn.sources.docs if d.reason == "question" and d.rank <= TOP_RETRIEVED}
            on_question = {n: s for n, s in ((d.n, d.sentences) for d in turn.sources.docs) if n in best}
            warnings = [w for w in select_warnings(topics, turn.ranking.question_terms, on_question, set(), limit=1)
                        if len(set(terms(w.text)) & turn.ranking.question_terms) >= 2]
        coded = turn.known_codes or dtc_codes(turn.question) or any(d.pulled for d in turn.sources.docs)
        if body and not warnings and coded:
            # a code's entry (a table row, no notices of its own): the notices of what the code pulled in (its
            # lamp's entry in the owner's manual), else one search of the documents for its topic's
            pulled = {d.n: d.sentences for d in turn.sources.docs if d.pulled}
            warnings = select_warnings(topics, turn.ranking.question_terms, pulled, set(pulled), limit=2)
        if body and not warnings and coded:
            for d in turn.sources.docs:
                if d.n in {n for p in body for n in p.docs}:
                    topics += [t for t in safety_topics(d.passage.section) if t not in topics]
            if topics:
                warnings = self._topic_warnings(turn, topics)
        shown = " ".join(p.text for p in body + lead).lower()
        for warning in warnings:
            if warning.text.lower().rstrip(".") in shown:
                continue
            part = Part(warning.text, (warning.n,), False, "warning")
            yield layout.add(part)
            answer.warnings.append(warning.text)

        for i in turn.live_idx:
            line = turn.sources.live[i]
            core = re.sub(r", updated [^,]* ago$", "", line.text)
            if any(core in p.text for p in lead):
                continue
            yield layout.add(Part(line.text, (), True, "live"))

        answer.answer = layout.text
        if details and not abstained:
            aside = layout.aside()
            for part in details:
                aside.add(part)
            answer.more = aside.text
        answer.abstained = abstained
        answer.grounded = bool(body) and (not unsupported or self.settings.llm.unsupported == "remove")
        answer.confidence = turn.support or turn.ranking.confidence
        numbers = layout.numbers
        firsts: dict[int, DocSource] = {}
        for d in turn.sources.docs:  # one citation per section: its first chunk the answer quotes
            if d.n in numbers:
                firsts.setdefault(numbers[d.n], d)
        answer.citations = [firsts[k].citation_as(k) for k in sorted(firsts)]
        shown_live = set(turn.live_idx) | {i for i, l in enumerate(turn.sources.live) if l.flagged}
        answer.signals = turn.sources.signal_citations(shown_live)
        answer.dtcs = turn.sources.dtc_citations()

    def _protecting(self, turn: _Turn, body: list[Part]) -> list[SafetyWarning]:
        """The notices that protect the sections the answer quotes (see rag_car.answer.structure), at most
        MAX_WARNINGS: from the index's headings tree when the retriever keeps one, and from the passages at hand
        in any case. The structure decides which notices may travel (notices of unrelated sections never do);
        among those, the ones closest in meaning to the question come first, a notice nearer in the tree (of the
        leading section rather than another quoted one) counting STRUCTURE_STEP more per level. A notice among the
        best-ranked sentences of a passage retrieved for the question answers it itself and leads; so does the
        notice of such a passage that is closer in meaning to the question than any the structure offers."""
        docs = {d.n: d for d in turn.sources.docs}
        cited = {n for p in body for n in p.docs}
        order: list[tuple[str, str]] = []
        for part in body:
            for n in part.docs:
                d = docs.get(n)
                if d is not None and (d.passage.source, d.passage.section) not in order:
                    order.append((d.passage.source, d.passage.section))
        if not order:
            return []
        # notice key -> (steps away in the structure, reading order, where it is quoted from, text, kind)
        found: dict[str, tuple[int, int, Any, str, str]] = {}
        direct: dict[str, int] = {}  # notice key -> place among the best-ranked sentences

        def offer(steps: int, position: int, text: str, where: Any, kind: str) -> None:
            key = _notice_key(text)
            if key and (key not in found or (steps, position) < found[key][:2]):
                found[key] = (steps, position, where, text, kind)

        for i, (source, section) in enumerate(order[:MAX_PROTECTED_SECTIONS]):
            lead = 0 if i == 0 else 1
            for notice in self._outline.notices_for(self.retriever, source, section):
                if lead and notice.distance > 1:
                    continue  # another quoted section brings its own notices, not its chapter's
                offer(lead + notice.distance, notice.position, notice.text, notice.chunk, "")
            for d in turn.sources.docs:  # the passages at hand (every retriever has these)
                if d.passage.source != source:
                    continue
                distance = relation(section, d.passage.section) if section else (0 if d.n in cited else None)
                if distance is None or (lead and distance > 1):
                    continue
                for sentence in d.sentences:
                    if sentence.is_safety:
                        offer(lead + distance, sentence.position, sentence.text, d, sentence.kind)
        asked = {d.n for d in turn.sources.docs if d.reason in ("question", "section")}
        for place, scored in enumerate(turn.ranking.sentences[:DIRECT_NOTICE_RANK]):
            if scored.sentence.is_safety and scored.n in asked:
                key = _notice_key(scored.sentence.text)
                direct.setdefault(key, place)
                offer(0, scored.sentence.position, scored.sentence.text, docs[scored.n], scored.sentence.kind)
        loose = [(s.n, s.sentence) for s in turn.ranking.sentences if s.sentence.is_safety and s.n in asked
                 and _notice_key(s.sentence.text) not in found]
        texts = [item[3] for item in found.values()] + [sentence.text for _, sentence in loose]
        relevance = self._closeness(turn, texts)
        score = {key: relevance[i] - STRUCTURE_STEP * item[0] for i, (key, item) in enumerate(found.items())}
        if loose and relevance:
            best = max(range(len(found), len(texts)), key=lambda i: relevance[i])
            if relevance[best] > max(relevance[:len(found)], default=0.0):
                n, sentence = loose[best - len(found)]
                key = _notice_key(sentence.text)
                found[key] = (0, sentence.position, docs[n], sentence.text, sentence.kind)
                direct.setdefault(key, DIRECT_NOTICE_RANK)
                score[key] = relevance[best]
        ranked = sorted(found, key=lambda k: (direct.get(k, DIRECT_NOTICE_RANK + 1), -score.get(k, 0.0),
                                              found[k][0], found[k][1]))
        chosen = distinct_notices([(key, found[key][3]) for key in ranked], MAX_WARNINGS)
        out: list[SafetyWarning] = []
        for key in chosen:
            _steps, _position, where, text, kind = found[key]
            out.append(SafetyWarning(self._source_number(turn, where), text, kind or "warning"))
        return out

    def _refusal_notice(self, turn: _Turn, doc: DocSource) -> list[SafetyWarning]:
        """The notice a refusal carries: a notice the closest section ``doc`` holds itself (in its text, its steps
        or its own safety subsection: distance 0 in the headings tree, never its parent's or a neighbour's) that
        the question's own ranking puts among its DIRECT_NOTICE_RANK best sentences and whose meaning alone
        (cosine) is nearer the question than most retrieved sentences are; the best-ranked such notice. A question
        the documents do not answer as asked ("can my kid touch the tailpipe?") may still be asked next to a
        hazard; a notice the question's evidence does not point at stays out of a refusal."""
        source, section = doc.passage.source, doc.passage.section
        candidates: dict[str, tuple[str, Any, str]] = {}  # notice key -> (text, where it is quoted from, kind)
        for notice in self._outline.notices_for(self.retriever, source, section):
            if notice.distance == 0:
                candidates.setdefault(_notice_key(notice.text), (notice.text, notice.chunk, ""))
        for d in turn.sources.docs:  # the passages at hand (every retriever has these)
            if d.passage.source != source or (relation(section, d.passage.section) != 0 if section else d.n != doc.n):
                continue
            for sentence in d.sentences:
                if sentence.is_safety:
                    candidates.setdefault(_notice_key(sentence.text), (sentence.text, d, sentence.kind))
        # its meaning must be nearer the question than the median sentence retrieved for it: a word shared by
        # chance ("supported" for "support") ranks a sentence high without its meaning being near the question's
        if not turn.ranking.sentences:
            return []
        near = float(np.median([s.semantic for s in turn.ranking.sentences]))
        for scored in turn.ranking.sentences[:DIRECT_NOTICE_RANK]:
            found = candidates.get(_notice_key(scored.sentence.text)) if scored.sentence.is_safety else None
            if found is not None and scored.semantic > near:
                text, where, kind = found
                return [SafetyWarning(self._source_number(turn, where), text, kind or "warning")]
        return []

    def _closeness(self, turn: _Turn, texts: list[str]) -> list[float]:
        """How close in meaning each of ``texts`` is to the question (cosine of the sentence vectors, in the space
        the answer's sentences were ranked in), or, without vectors, the share of the question's terms it names."""
        vectors = turn.sentence_vectors
        if texts and vectors is not None and turn.vector is not None:
            try:
                mat = vectors.embed(texts)
                return [float(v) for v in np.clip(mat @ np.asarray(turn.vector, dtype=np.float32), 0.0, 1.0)]
            except Exception:  # a vector cache gone: the words decide
                pass
        wanted = turn.ranking.question_terms
        return [len(set(terms(t)) & wanted) / max(len(wanted), 1) for t in texts]

    def _source_number(self, turn: _Turn, where: Any) -> int:
        """The number of the source ``where`` (a DocSource, or a Chunk read from the index) is, added to the
        answer's sources when it is not there yet."""
        if isinstance(where, DocSource):
            return where.n
        for d in turn.sources.docs:
            if d.passage.chunk_id == where.id:
                return d.n
        from rag_car.knowledge.retrieve import Passage

        passage = Passage(chunk_id=where.id, text=where.text, score=0.0, ranks={}, metadata=dict(where.metadata))
        added = build_sources([(passage, "safety")], start=len(turn.sources.docs) + 1)
        turn.sources.docs.extend(added)
        return added[0].n

    def _topic_warnings(self, turn: _Turn, topics: list[str]) -> list[Any]:
        """A safety answer whose sources hold no WARNING/CAUTION on its topic ("code P0217": an entry with none)
        searches the documents once for one: the warnings found on the topic, their passages added as sources."""
        words = " ".join(dict.fromkeys(w for t in topics for w in SAFETY_TOPICS.get(t, ())[:4]))
        # without codes: a code sends the search to its own entry, the one without a warning
        query = re.sub(r"\b(?:[A-Z]{1,4}-?\d[\w.-]*|code|dtc)\b", " ", f"{words} {turn.query}", flags=re.IGNORECASE)
        try:
            hits = self.retriever.search(f"WARNING {' '.join(query.split())}", k=4, filters=turn.filters).passages
        except RagCarError:
            return []
        have = {d.passage.chunk_id for d in turn.sources.docs}
        extra = build_sources([(p, "safety") for p in hits if p.chunk_id not in have], start=len(turn.sources.docs) + 1)
        warnings = select_warnings(topics, turn.ranking.question_terms, {d.n: d.sentences for d in extra}, set(), limit=1)
        kept = {w.n for w in warnings}
        turn.sources.docs.extend(d for d in extra if d.n in kept)
        return warnings

    def _disagreements(self, turn: _Turn, parts: list[Part]) -> Disagreements:
        """Where the sources the answer draws on disagree on a maintenance or safety fact (#19): what the answer
        would say (``parts``, and the best-ranked sentences) against the other sources, and against the more
        trusted documents found by a search."""
        from rag_car.knowledge.retrieve import Filters
        from rag_car.knowledge.trust import MAKER_DOC_TYPES

        def search(text: str) -> list[Any]:
            try:
                base = turn.filters or Filters()
                return self.retriever.search(text, k=4, filters=base.merged(Filters(doc_types=sorted(MAKER_DOC_TYPES)))).passages
            except RagCarError:
                return []

        candidates = ([(p.docs[0], p.text) for p in parts if p.docs] if parts
                      else [(s.n, s.sentence.text) for s in turn.ranking.sentences[:6]])
        found = find_disagreements(turn.sources.docs, candidates, search)
        turn.sources.docs.extend(found.added)
        return found

    def _abstain_reason(self, turn: _Turn) -> str | None:
        from rag_car.answer.answerability import Evidence, judge, topic_terms

        live_focus = bool(turn.live_idx) and any(d.reason.startswith(("dtc", "bulletin", "stop"))
                                                 for d in turn.sources.docs)
        cross = self.crosslingual()
        if cross is not None and turn.sources.docs and cross.reads(turn.question):
            # a question not in English, whatever the passages' language: its support in the multilingual space,
            # against unrelated probes in its own language
            from rag_car.answer.answerability import Support

            nearest = cross.support(cross.vector(turn.question))
            support, calibration = Support(round(nearest, 4), round(nearest, 4), 0.0), cross.calibration(turn.question)
        else:
            support = self._support(turn.query, turn.passages, turn.vector)
            calibration = self.calibration()
        # the index's own yardstick, never below the floor (an index too small or too odd to calibrate)
        threshold = max(calibration.threshold if calibration is not None else 0.0, self.tuning.answer.abstain_below)
        docs = {d.n: d for d in turn.sources.docs if d.reason in ("question", "section")}
        best = [Evidence(s.sentence.text, docs[s.n].heading_terms)
                for s in turn.ranking.sentences[:QUANTITY_SENTENCES] if s.n in docs]
        lang = detect_language(turn.question)
        if lang == "zh":  # and the best in the question's own language, which alone can name its words
            own = [s for s in turn.ranking.sentences if s.n in docs and detect_language(s.sentence.text) == lang]
            best += [Evidence(s.sentence.text, docs[s.n].heading_terms) for s in own[:QUANTITY_SENTENCES]]
        verdict = judge(turn.question, unknown_codes=turn.unknown_codes, known_codes=turn.known_codes,
                        support=support, threshold=threshold, vehicles=self.vehicles(), live_focus=live_focus,
                        best_sentences=best, about=topic_terms(turn.query, self.vocabulary, self._vehicle_words()),
                        variant=self._unknown_variant(turn.question))
        turn.support = support.score
        if not verdict.answerable:
            return verdict.reason
        if not turn.sources.docs:
            return "The documents do not cover this question, so I will not guess."
        return None

    def _unknown_variant(self, question: str) -> str:
        """The variant of an indexed vehicle an English question names that no document uses ("the Corrin diesel"),
        "" when none (rag_car.answer.variants)."""
        vocabulary = self.vocabulary
        if vocabulary is None or not self.vehicles() or not looks_english(question):
            return ""
        from rag_car.answer.variants import unknown_variant

        return unknown_variant(question, [str(v.get("model") or "") for v in self.vehicles()],
                               lambda word: all(t in vocabulary for t in vocabulary.correct_text(word)))

    def _support(self, question: str, passages: list[Any], vector: Any) -> Any:
        """How well the best of ``passages`` supports ``question`` (rag_car.answer.answerability.Support)."""
        from rag_car.answer.answerability import chunk_cosines, passage_support, salient_terms

        vocabulary = self.vocabulary
        wanted = salient_terms(question, vocabulary, self._vehicle_words())
        idf = vocabulary.idf if vocabulary is not None else (lambda term: 1.0)
        return passage_support(wanted, idf, passages, chunk_cosines(self.retriever, vector))

    def _vehicle_words(self) -> set[str]:
        """The terms of the indexed vehicles' makes and models: a question's name for the car says nothing of its topic."""
        return {t for v in self.vehicles() for k in ("make", "model") for t in terms(str(v.get(k, "")))}

    def crosslingual(self) -> Any:
        """The cross-lingual side of the retriever (rag_car.answer.crosslingual), None when it has none."""
        if self._cross is False:
            from rag_car.answer.crosslingual import for_retriever

            self._cross = for_retriever(self.retriever)
        return self._cross

    def calibration(self) -> Any:
        """The support that questions this index cannot answer get (rag_car.answer.calibration), measured once
        per index generation and cached under the data dir; None for a retriever without an index."""
        from rag_car.answer.calibration import calibrate

        retriever = self.retriever
        store = getattr(retriever, "store", None)
        catalog = getattr(getattr(retriever, "lexical", None), "catalog", None)
        if store is None or catalog is None or not hasattr(catalog, "columns"):
            return None
        try:
            from rag_car.knowledge.manifest import load_generation

            # the ranking values too (the retriever's own, which a caller may have opened with a variant): the
            # probes' support depends on the fusion order, so a ranking change measures the yardstick again
            ranking = retriever.tuning if isinstance(getattr(retriever, "tuning", None), Tuning) else self.tuning
            key: str | None = f"{load_generation(self.settings)}-{store.count()}-{ranking.ranking_key()}"
        except Exception:  # no manifest: measure, but do not cache
            key = None

        def probe(question: str) -> float:
            result = retriever.search(question, k=self.settings.retrieval.k)
            vector = self.embedder.embed_query(result.query or question) if self.embedder is not None else None
            return self._support(result.query or question, result.passages, vector).score

        return self._calibrations.get(self.settings.cache_dir, key, lambda: calibrate(probe))

    def _live_docs(self, turn: _Turn) -> set[int] | None:
        """For a vague question while the vehicle reports faults ("what's wrong with my car?"): the sources
        the live faults pulled in (their DTC entries, bulletins, stop instructions), not whatever the vague
        words happened to match."""
        from rag_car.answer.answerability import salient_terms

        pulled = {d.n for d in turn.sources.docs if d.pulled}
        if not pulled:
            return None
        vague = {"wrong", "problem", "issu", "matter", "status", "ok", "okay", "fine", "safe", "go", "happen", "fault",
                 "check", "now", "warn", "lamp", "dash", "dashboard", "car", "vehicl", "drive", "still"}
        specific = [t for t in salient_terms(turn.question, self.vocabulary, set()) if t not in vague]
        return pulled if len(specific) <= 1 else None

    def _lead(self, turn: _Turn) -> list[Part]:
        """A live stop condition leads: the readings, then the manual's own instruction about them."""
        stops = turn.safety.stops
        if not stops:
            return []
        parts = [Part(i18n.text("stop", answer_language(turn.question)) + "; ".join(s.text for s in stops) + ".", (), True,
                      "lead")]
        seen: set[str] = set()
        for stop in stops:
            instruction = _instruction(turn.sources.docs, stop)
            if instruction is not None and instruction[1] not in seen:
                seen.add(instruction[1])
                parts.append(Part(instruction[1], (instruction[0],), False, "lead"))
        return parts

    def _extractive_parts(self, turn: _Turn, exclude: list[str]) -> list[Part]:
        from rag_car.knowledge.retrieve.rewrite import is_follow_up

        said = [t["content"] for t in turn.history if t.get("role") == "assistant"]
        follow_up = said[-1] if said and is_follow_up(turn.question, True) else ""
        request = Request(question=turn.question, persona=turn.persona, sources=turn.sources, ranking=turn.ranking,
                          live_idx=turn.live_idx, exclude=exclude, only_docs=self._live_docs(turn),
                          follow_up=follow_up)
        backend = self.backend("extractive")
        return backend.compose(request)

    def _generate(self, turn: _Turn, key: str, checker: GroundingChecker, layout: Layout, body: list[Part],
                  unsupported: list[str]):
        """Stream from a generative backend, checking each sentence as it completes. Returns (text, failure):
        failure is None, or why the extractive backend must answer instead."""
        llm = self.settings.llm
        # the sources in the order their best sentence ranks (what a short prompt keeps), those the live faults
        # pulled in always among them; a vague question about live faults sees only those
        best_rank: dict[int, int] = {}
        for i, scored in enumerate(turn.ranking.sentences):
            best_rank.setdefault(scored.n, i)
        only = self._live_docs(turn)
        pool = [d for d in turn.sources.docs if only is None or d.n in only]
        pool.sort(key=lambda d: best_rank.get(d.n, len(best_rank) + d.n))
        pulled = [d for d in pool if d.pulled]
        docs = pool[:6] + [d for d in pulled if d not in pool[:6]]
        live = [turn.sources.live[i] for i in turn.live_idx] or [l for l in turn.sources.live if l.flagged]
        request = Request(
            question=turn.question, persona=turn.persona, sources=turn.sources, ranking=turn.ranking,
            live_idx=turn.live_idx,
            messages=build_messages(turn.question, turn.persona, docs, live, turn.history,
                                    [p.text for p in self._lead(turn)]),
            completion_prompt=build_completion_prompt(turn.question, turn.persona, docs, live, turn.ranking),
            max_tokens=llm.max_tokens, temperature=llm.temperature, timeout_s=llm.timeout_s,
        )
        text = ""
        splitter = SentenceStream()
        try:
            backend = self.backend(key)
            for piece in backend.stream(request):
                text += piece
                for sentence in splitter.feed(piece):
                    yield from self._emit(sentence, checker, layout, body, unsupported)
            for sentence in splitter.flush():
                yield from self._emit(sentence, checker, layout, body, unsupported)
        except BackendTimeout as exc:
            if body:
                turn.notices.append(f"{exc.message}: the answer was cut there")
                return text, None
            return text, f"{key} backend unavailable: {exc.message}"
        except RagCarError as exc:
            return text, f"{key} backend unavailable: {exc.message}"
        except Exception as exc:  # a bug in an adapter or library: still answer, and say what happened
            return text, f"{key} backend failed: {type(exc).__name__}: {str(exc)[:200]}"
        if ABSTAIN_TOKEN in text and not body:
            return text, None  # the model read the sources and found no answer: abstain, as it says
        if not body:
            if not text.strip():
                return text, f"{key} backend returned an empty answer"
            return text, f"{key} backend answered with nothing the sources support"
        return text, None

    def _emit(self, sentence: str, checker: GroundingChecker, layout: Layout, body: list[Part],
              unsupported: list[str]) -> Iterator[str]:
        if ABSTAIN_TOKEN in sentence:
            return
        for part in parse_answer(sentence):
            if any(part.text == p.text for p in layout.parts) or any(part.text == p.text for p in body):
                continue
            verdict = checker.check_part(part)
            if verdict.supported:
                shown = _full_warning(verdict.part, checker.sources)
                if any(shown.text == p.text for p in layout.parts):
                    continue
                body.append(shown)
                yield layout.add(shown)
            elif not verdict.filler:
                unsupported.append(part.text)
                if self.settings.llm.unsupported == "flag":
                    yield layout.add(part, flag="[unsupported]")


def _section_key(doc: DocSource | None) -> Any:
    """What one citation stands for: a section of a document (a chunk without a section stands alone)."""
    if doc is None:
        return None
    return (doc.passage.source, doc.passage.section) if doc.passage.section else ("chunk", doc.n)


def _notice_key(text: str) -> str:
    """One notice however it is cut or punctuated: its words, lower case."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def distinct_notices(ranked: list[tuple[str, str]], limit: int) -> list[str]:
    """The keys of the first ``limit`` notices of ``ranked`` ((key, text), best first) that each say something the
    others chosen do not. A notice with fewer than NEW_NOTICE_TERMS content terms beyond one already chosen is that
    notice again (the manual's variant for another body style: "trunk lid" for "tailgate"); when the chosen one
    is the one with nothing to add (the later notice holds it and more: "In addition, exhaust fumes ..."), the
    later takes its place. Each notice is still quoted whole."""
    chosen: list[tuple[str, set[str]]] = []
    for key, text in ranked:
        own = set(terms(text))
        twin = next((i for i, (_, other) in enumerate(chosen)
                     if len(own - other) < NEW_NOTICE_TERMS or len(other - own) < NEW_NOTICE_TERMS), None)
        if twin is None:
            if len(chosen) < limit:
                chosen.append((key, own))
            continue
        other = chosen[twin][1]
        if len(own - other) >= NEW_NOTICE_TERMS and len(other - own) < NEW_NOTICE_TERMS:
            chosen[twin] = (key, own)  # it says all the chosen one says, and more
    return [key for key, _ in chosen]


def _full_warning(part: Part, sources: Sources) -> Part:
    """A generated WARNING/CAUTION that quotes part of a document's warning becomes the whole of it: a safety
    text is never shown cut short."""
    if part.role != "warning" and not re.match(r"\W{0,3}(WARNING|CAUTION|DANGER)\b", part.text, re.IGNORECASE):
        return part
    quoted = re.sub(r"\W+", " ", part.text.lower()).strip()
    for doc in sources.docs:
        for sentence in doc.sentences:
            if sentence.is_safety and quoted and quoted in re.sub(r"\W+", " ", sentence.text.lower()):
                return Part(sentence.text, (doc.n,), False, "warning")
    return part


def _instruction(docs: list[DocSource], stop: StopCondition) -> tuple[int, str] | None:
    """The sentence of the stop condition's document that tells the driver to stop."""
    topic_terms = set(terms(f"{stop.text} {stop.section} {stop.topic}"))
    best: tuple[float, int, str] | None = None
    for doc in docs:
        if stop.doc and not doc.passage.source.endswith(stop.doc) and not doc.reason.startswith("stop"):
            continue
        for sentence in doc.sentences:
            if not _STOP_WORDS.search(sentence.text):
                continue
            score = len(set(terms(sentence.text)) & topic_terms) + (1 if doc.reason.startswith("stop") else 0)
            if best is None or score > best[0]:
                best = (score, doc.n, sentence.text)
    return (best[1], best[2]) if best and best[0] > 0 else None


def _unanswered(answer: Answer, text: str, t0: float, error: Exception | None = None,
                searched: bool = True) -> Iterator[str | Answer]:
    """The pieces of an answer that could not be attempted (no question, no index, a broken store): ``text``,
    then the Answer saying so."""
    answer.answer = text
    answer.abstained = True
    if error is not None:
        answer.error = str(error)
    answer.timings = {"retrieve_ms": _ms(t0) if searched else 0.0, "generate_ms": 0.0, "total_ms": _ms(t0)}
    yield answer.answer
    yield answer


def _clean(question: Any) -> tuple[str, list[str]]:
    notices: list[str] = []
    text = question if isinstance(question, str) else ("" if question is None else str(question))
    if has_full_width(text):  # a Chinese keyboard's "Ｐ０１７１" is the code P0171 (rag_car.text.lang)
        text = fold_full_width(text)
    text = " ".join(text.split())
    if len(text) > MAX_QUESTION_CHARS:
        notices.append(f"the question was {len(text):,} characters long; only its first {MAX_QUESTION_CHARS:,} were used")
        text = text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUESTION_CHARS]
    return text, notices


def _history(history: Any) -> History:
    out: History = []
    for turn in history or []:
        if isinstance(turn, str):
            out.append({"role": "user", "content": turn})
        elif isinstance(turn, dict):
            out.append({"role": str(turn.get("role", "user")), "content": str(turn.get("content", ""))})
        elif isinstance(turn, (tuple, list)) and len(turn) == 2:
            out.append({"role": str(turn[0]), "content": str(turn[1])})
    return out


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
