"""A question (+ conversation, filters) -> ranked Passages: dense + BM25, fused, code-aware, filtered, de-duplicated.

One search, in order:
1. clean the question (control characters out, length capped) and rewrite a follow-up into a standalone query;
2. resolve the filters: explicit > settings (``retrieval.vehicle``, ``doc_types``, ``sources``) > inferred from the
   question (a vehicle or model year the index knows);
3. recognise codes (DTC, campaign, ODI, bulletin, part numbers); split them into known and unknown to the index;
4. dense (Chroma, the ingest embedder; a narrow filter is searched exactly over the row vectors) and BM25
   (bm25s) candidates under the same filter, fused: by default every candidate gets both exact scores,
   normalised and weighted (``rrf`` is the alternative); a question not in English is searched over the multilingual
   vectors, and a Chinese one meets English chunks' words through a dictionary's glosses of its own (_glossed_english);
5. superseded bulletins, sections for other model years, trouble-code entries for a question not about codes
   and banner chunks are demoted, sections of the kind the question asks for ("fix?") promoted (intent.py);
   chunks that carry a known code of the question go first; when the question is only about unknown codes,
   passages about other codes are dropped instead of offering the nearest-looking one;
6. near-duplicates are folded into the best of their kind, and the top ``k`` are returned.
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Sequence

import numpy as np

from rag_car.errors import EmptyIndexError
from rag_car.tuning import TUNING, Tuning
from rag_car.knowledge.retrieve import filters as filtering
from rag_car.text.codes import Code, candidate_tokens, code_key, find_codes
from rag_car.text.gloss import english_gloss, gloss_senses
from rag_car.text.lang import chinese_words, detect_language
from rag_car.text.typos import english_words
from rag_car.text.words import words
from rag_car.knowledge.retrieve.diversity import fold_duplicates, shingles
from rag_car.knowledge.retrieve.fusion import Fused, fuse
from rag_car.knowledge.retrieve.intent import about_codes, answers_intent, section_intents
from rag_car.knowledge.retrieve.lexical import tokenize, top_rows
from rag_car.knowledge.retrieve.passage import Filters, Passage, SearchResult
from rag_car.knowledge.retrieve.rewrite import LLMRewriter, content_words, rewrite
from rag_car.knowledge.retrieve.sentences import SentenceScores, with_sentences
from rag_car.text.synonyms import expansion
from rag_car.knowledge.retrieve.sync import LexicalState, current_generation, load_or_build

SEARCH_MODES = ("hybrid", "dense", "bm25")
MAX_QUESTION_CHARS = 2000
MAX_QUERY_TOKENS = 64
THIN_TOKENS = 4  # a chunk with fewer search terms of its own is a banner, a page number or "None."
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_SUCCESSOR = re.compile(r"\b(?:replaced|replaces|supersed\w*|successor)\b", re.IGNORECASE)
EMPTY_INDEX_FIX = "run `rag-car ingest knowledge/` (or rag-car ingest FOLDER with your own documents) first"


def clean_question(question: Any) -> tuple[str, list[str]]:
    """(the question without control characters, whitespace runs collapsed, capped; notes about what was changed)."""
    notes: list[str] = []
    text = question if isinstance(question, str) else ("" if question is None else str(question))
    text = " ".join(_CONTROL.sub(" ", text).split())
    if len(text) > MAX_QUESTION_CHARS:
        notes.append(f"the question was {len(text):,} characters long; only its first {MAX_QUESTION_CHARS:,} were searched")
        text = text[:MAX_QUESTION_CHARS].rsplit(" ", 1)[0] or text[:MAX_QUESTION_CHARS]
    return text, notes


class Retriever:
    """Hybrid search over one store. Build it with :func:`open_retriever`; ``close()`` (or ``with``) when done."""

    def __init__(self, settings: Any, store: Any, embedder: Any, rewriter: LLMRewriter | None = None,
                 tuning: Tuning = TUNING, multilingual: Any = None, sentences: SentenceScores | None = None) -> None:
        self.settings = settings
        self.sentences = sentences  # the indexed sentences' vectors (sentences.py), None: chunks alone decide
        self.tuning = tuning
        self.store = store
        self.embedder = embedder
        self.multilingual = multilingual  # the cross-lingual embedder (embed.load_multilingual), or None
        self.rewriter = rewriter
        self._lexical: LexicalState | None = None
        self._default_filters: Filters | None = None
        self._shingles: dict[int, frozenset[int]] = {}  # row -> shingles, for the diversity step

    # -- lifecycle -------------------------------------------------------------------------------------------
    def __enter__(self) -> "Retriever":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._lexical is not None:
            self._lexical.records.close()
        close = getattr(self.store, "close", None)
        if callable(close):
            close()

    @property
    def lexical(self) -> LexicalState:
        """The lexical side as of the last check (see :meth:`sync`)."""
        if self._lexical is None:
            return self.sync()
        return self._lexical

    def sync(self) -> LexicalState:
        """The lexical side, reloaded or rebuilt first when the manifest generation moved since it was loaded."""
        if self._lexical is None or self._lexical.generation != current_generation(self.settings):
            self._replace(load_or_build(self.settings, self.store))
        return self._lexical

    def _replace(self, state: LexicalState) -> None:
        if self._lexical is not None:
            self._lexical.records.close()
        self._lexical = state
        self._default_filters = None
        self._shingles = {}

    def refresh(self) -> LexicalState:
        """Force a rebuild of the lexical side from the store."""
        from rag_car.knowledge.retrieve.sync import build

        self._replace(build(self.settings, self.store, current_generation(self.settings)))
        return self._lexical

    def known_vehicles(self) -> list[dict[str, Any]]:
        return self.sync().catalog.vehicles()

    def default_filters(self) -> Filters:
        """The filters from the settings (retrieval.vehicle parsed against what is indexed, doc_types, sources)."""
        if self._default_filters is None:
            rs = self.settings.retrieval
            base = filtering.parse_vehicle(rs.vehicle, self.lexical.catalog) if rs.vehicle else Filters()
            base.doc_types = list(rs.doc_types)
            base.sources = list(rs.sources)
            self._default_filters = base
        return self._default_filters

    # -- search ----------------------------------------------------------------------------------------------
    def search(self, question: str, k: int | None = None, filters: Filters | None = None,
               history: Sequence[str] | None = None, mode: str = "hybrid") -> SearchResult:
        """The top ``k`` passages for ``question`` (see the module docstring for the steps).

        ``filters`` add to / override the settings' filters; ``history`` is the earlier questions of the
        conversation, oldest first; ``mode`` "hybrid" (default), "dense" or "bm25" (for evaluation).
        Raises EmptyIndexError when nothing is indexed; never raises for a strange question.
        """
        t0 = time.perf_counter()
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}; valid: {', '.join(SEARCH_MODES)}")
        rs = self.settings.retrieval
        k = int(k or rs.k)
        text, notes = clean_question(question)
        lexical = self.sync()  # one generation check per search; the helpers below use self._lexical
        catalog = lexical.catalog
        if catalog.size == 0:
            if self.store.count() == 0:
                raise EmptyIndexError("nothing is indexed yet", EMPTY_INDEX_FIX)
            lexical = self.refresh()
            catalog = lexical.catalog
        if not text:
            return SearchResult(question=question if isinstance(question, str) else "", query="", passages=[],
                                notes=notes + ["the question is empty: type a question or a code such as P0301"],
                                timings={"embed_ms": 0.0, "total_ms": _ms(t0)}, mode=mode)
        clean_history = [clean_question(h)[0] for h in (history or [])]
        query, rewritten_by = rewrite(text, clean_history, self.rewriter, rs.rewrite)
        if rewritten_by not in ("none", "heuristic", "llm"):
            notes.append(f"follow-up rewritten by the {rewritten_by}")

        if detect_language(query) != "en" and self._cross_ready() is None \
                and getattr(self.embedder, "name", "") != "use-multilingual-v3":
            notes.append("this index has no cross-lingual vectors, so a question not in English is searched with the "
                         "English model and finds little: run `rag-car ingest knowledge/` to add them")
        applied, inferred = self._resolve_filters(query, filters, notes)
        codes, known, unknown = self._recognise_codes(query)
        timings: dict[str, float] = {"embed_ms": 0.0}

        passages = self._rank(query, k, applied, known, unknown, mode, timings)
        if not passages and inferred:
            # an inferred filter must never hide everything: search again without it
            notes.append(f"nothing matched the inferred filter ({applied.describe()}); searched without it")
            for name in inferred:
                setattr(applied, name, None)
            inferred = []
            passages = self._rank(query, k, applied, known, unknown, mode, timings)
        if unknown:
            listed = ", ".join(c.text for c in unknown)
            notes.append(f"{listed}: not mentioned in any indexed document")
        timings["total_ms"] = _ms(t0)
        return SearchResult(
            question=question, query=query, passages=passages, filters=applied, codes=[c.key for c in codes],
            unknown_codes=[c.key for c in unknown], timings=timings, inferred=inferred, notes=notes, mode=mode,
        )

    def _resolve_filters(self, query: str, explicit: Filters | None, notes: list[str]) -> tuple[Filters, list[str]]:
        catalog = self.lexical.catalog
        applied = self.default_filters().merged(explicit)
        inferred: list[str] = []
        if self.settings.retrieval.infer_filters:
            guess, fields = filtering.infer_filters(query, catalog)
            # a vehicle named in the question fills only what the user did not set; a make set explicitly
            # excludes a model inferred for another make
            if applied.make and guess.make and not filtering.same_name(applied.make, guess.make):
                fields = [f for f in fields if f == "year"]
            for name in fields:
                if not getattr(applied, name):
                    setattr(applied, name, getattr(guess, name))
                    inferred.append(name)
        bad_types = [d for d in applied.doc_types if d not in filtering.DOC_TYPES]
        if bad_types:
            notes.append(f"unknown doc type {', '.join(bad_types)}: valid are {', '.join(filtering.DOC_TYPES)}")
        explicit_vehicle = Filters(make=applied.make if "make" not in inferred else None,
                                   model=applied.model if "model" not in inferred else None,
                                   year=applied.year if "year" not in inferred else None)
        note = filtering.describe_unknown_vehicle(explicit_vehicle, catalog)
        if note:
            notes.append(note)
        return applied, inferred

    def _recognise_codes(self, query: str) -> tuple[list[Code], list[Code], list[Code]]:
        catalog = self.lexical.catalog
        codes = find_codes(query)
        seen = {c.key for c in codes}
        # bare references ("21-004", "RCL/61") count when a document names them
        for token in candidate_tokens(query):
            key = code_key(token)
            if key not in seen and key in catalog.codes:
                seen.add(key)
                codes.append(Code("ref", token, key))
        known = [c for c in codes if c.key in catalog.codes]
        unknown = [c for c in codes if c.key not in catalog.codes and c.kind != "ref"]
        return codes, known, unknown

    def _rank(self, query: str, k: int, applied: Filters, known: list[Code], unknown: list[Code], mode: str,
              timings: dict[str, float]) -> list[Passage]:
        rs = self.tuning.retrieval
        lexical = self.lexical
        catalog = lexical.catalog
        mask = filtering.row_mask(applied, catalog)
        n_candidates = max(rs.candidates, k * 3)
        rankings: dict[str, list[tuple[str, float]]] = {}
        vector = None
        bm25_scores = None
        cross = self._cross_ready()
        # which vectors a question is searched with: a question not in English over the cross-lingual vectors of
        # every chunk (MiniLM reads English only); an English one over MiniLM's, and the non-English chunks also
        # over the cross-lingual vectors (MiniLM cannot read them)
        cross_all = cross is not None and detect_language(query) != "en"
        cross_foreign = cross is not None and not cross_all and bool(self.lexical.foreign is not None
                                                                      and self.lexical.foreign.any())
        # an English question also over every row's multilingual vector (a third leg, RetrievalTuning.use_weight)
        use_leg = cross is not None and not cross_all and mode == "hybrid" and rs.use_weight > 0
        cross_vector = None
        glossed_english = None

        if mode in ("hybrid", "dense"):
            t = time.perf_counter()
            if cross_all or cross_foreign or use_leg:
                cross_vector = self.multilingual.embed_query(query)
            if not cross_all:
                # the manuals' words for the drivers' words help the embedding too ("engine light" -> "check-engine lamp")
                extra = expansion(query) if rs.expand_synonyms else ""
                vector = self.embedder.embed_query(f"{query} ({extra})" if extra else query)
            timings["embed_ms"] = timings.get("embed_ms", 0.0) + _ms(t)
            t = time.perf_counter()
            if cross_all:
                full = mask if mask is not None else np.ones(catalog.size, dtype=bool)
                rankings["dense"] = [(catalog.ids[row], score) for row, score in
                                     masked_nearest(cross, cross_vector, full, n_candidates)]
            else:
                rankings["dense"] = self._dense(vector, n_candidates, applied, mask)
                if cross_foreign:
                    foreign = self.lexical.foreign if mask is None else (self.lexical.foreign & mask)
                    rankings["cross"] = [(catalog.ids[row], score) for row, score in
                                         masked_nearest(cross, cross_vector, foreign, n_candidates)]
                if use_leg and rs.use_pool:
                    full = mask if mask is not None else np.ones(catalog.size, dtype=bool)
                    rankings["use"] = [(catalog.ids[row], score) for row, score in
                                       masked_nearest(cross, cross_vector, full, n_candidates)]
            timings["dense_ms"] = timings.get("dense_ms", 0.0) + _ms(t)

        if mode in ("hybrid", "bm25"):
            t = time.perf_counter()
            english = english_words()  # a real word is never a typo, even one the documents do not use
            keep = [t for w in set(words(query)) if w in english for t in tokenize(w)] + chinese_words(query)
            tokens = lexical.index.correct(tokenize(query)[:MAX_QUERY_TOKENS], keep)
            if rs.expand_synonyms:
                tokens += [t for t in tokenize(expansion(query)) if t in lexical.index]
            glossed = None
            weight = mask.astype(np.float32) if mask is not None else None
            if mode == "bm25" and detect_language(query) == "zh":
                # without vectors, a Chinese question meets English text only through a dictionary's English words
                # for its words (in hybrid search the multilingual vectors do this: measured on zh_qa and zh_en_qa,
                # the glosses' scores in the fusion lost sections there)
                gloss = list(dict.fromkeys(tokenize(english_gloss(query))))
                found = [t for t in gloss if t in lexical.index]
                glossed = lexical.index.scores(found, weight) if found else None
            bm25_scores = lexical.index.scores(tokens, weight)
            if mode == "hybrid" and cross_all and detect_language(query) == "zh":
                g = time.perf_counter()
                glossed_english = self._glossed_english(query, weight)
                timings["gloss_ms"] = timings.get("gloss_ms", 0.0) + _ms(g)
            if glossed is not None:
                bm25_scores = by_language(bm25_scores, lexical.index.ceiling(tokenize(query)), glossed,
                                          lexical.index.ceiling(gloss), lexical.foreign)
            rankings["bm25"] = [(catalog.ids[row], score) for row, score in top_rows(bm25_scores, n_candidates)]
            timings["bm25_ms"] = timings.get("bm25_ms", 0.0) + _ms(t)

        t = time.perf_counter()
        weights = {"dense": rs.dense_weight, "bm25": rs.bm25_weight, "cross": rs.dense_weight, "use": rs.use_weight}
        if mode == "hybrid" and rs.fusion == "weighted" and (cross_all or lexical.vectors is not None):
            fused = self._fuse_complete(rankings, vector, bm25_scores, weights, cross_vector, cross_all, glossed_english,
                                        use_leg)
        else:
            fused = fuse(rankings, method=rs.fusion, k=rs.rrf_k, weights=weights)
        intents = section_intents(query) if rs.section_intent_factor > 1.0 else []
        if mode == "hybrid":
            fused = self._adjust(fused, applied.year, intents, bool(known) or about_codes(query))
        if mode == "hybrid" and known:
            fused = self._codes_first(fused, known, mask, filtering.doc_type_intent(query), bool(_SUCCESSOR.search(query)),
                                      intents)
        elif unknown and not known and self._only_about_codes(query, unknown):
            # nothing names the code asked about: offering the nearest-looking code would mislead
            fused = [f for f in fused if not self._carries_codes(f.chunk_id)]

        window = fused[: max(k * 4, k + 10)]
        rows_of = {f.chunk_id: catalog.row_of(f.chunk_id) for f in window}
        window = [f for f in window if rows_of[f.chunk_id] is not None]
        chunks = lexical.records.get(rows_of[f.chunk_id] for f in window)
        texts = [chunks[rows_of[f.chunk_id]].text for f in window]
        foreign = lexical.foreign is not None and bool(lexical.foreign[[rows_of[f.chunk_id] for f in window]].any())
        if mode == "hybrid" and not known and vector is not None and self.sentences is not None and window \
                and not foreign:
            # a chunk is as relevant as its best sentence: re-rank the window by it (not a question about a known
            # code: the chunks that carry it go first whatever their sentences; not when a candidate is not in
            # English: the sentence vectors are the English model's)
            t_s = time.perf_counter()
            rescored = with_sentences([f.score for f in window], self.sentences.best(texts, vector), rs.sentence_weight)
            if rescored is not None:
                for f, score in zip(window, rescored):
                    f.score = score
                order = sorted(range(len(window)), key=lambda i: (-window[i].score, i))
                window = [window[i] for i in order]
                texts = [texts[i] for i in order]
            timings["sentences_ms"] = timings.get("sentences_ms", 0.0) + _ms(t_s)
        passages = []

        def signature(i: int) -> frozenset[int]:
            row = rows_of[window[i].chunk_id]
            sig = self._shingles.get(row)
            if sig is None:
                if len(self._shingles) > 20000:
                    self._shingles.clear()
                sig = self._shingles[row] = shingles(texts[i])
            return sig

        for index, folded in fold_duplicates(texts, k, rs.dedup_threshold, signature):
            f = window[index]
            chunk = chunks[rows_of[f.chunk_id]]
            duplicates = []
            for j in folded:
                other = chunks[rows_of[window[j].chunk_id]]
                duplicates.append({"chunk_id": other.id, "source": str(other.metadata.get("source", "")),
                                   "title": str(other.metadata.get("title", "")),
                                   "section": str(other.metadata.get("section", ""))})
            passages.append(Passage(chunk_id=chunk.id, text=chunk.text, score=f.score, ranks=dict(f.ranks),
                                    metadata=dict(chunk.metadata), duplicates=duplicates))
        timings["fuse_ms"] = timings.get("fuse_ms", 0.0) + _ms(t)
        return passages

    def _fuse_complete(self, rankings: dict[str, list[tuple[str, float]]], vector: np.ndarray | None,
                       bm25_scores: np.ndarray | None, weights: dict[str, float],
                       cross_vector: np.ndarray | None = None, cross_all: bool = False,
                       glossed_english: np.ndarray | None = None, use_leg: bool = False) -> list[Fused]:
        """Weighted fusion with both scores known for every candidate: a passage only BM25 found still gets its
        exact cosine (from the row-aligned vectors) and one only the dense side found its BM25 score, so one
        retriever's miss does not count as a zero. ``ranks`` stay those each retriever gave in its own list.
        The cosine is the cross-lingual model's for every row when ``cross_all`` (a question not in English), and
        for the non-English rows when a ``cross_vector`` is given with an English question. ``glossed_english``:
        how much of a Chinese question's dictionary glosses each row matches (:meth:`_glossed_english`), the
        lexical evidence of its English rows. ``use_leg``: an English question's multilingual cosine for every
        candidate is a third normalised score, weighted by ``weights["use"]``."""
        catalog = self.lexical.catalog
        ids = list(dict.fromkeys(cid for ranking in rankings.values() for cid, _ in ranking))
        rows = np.asarray([catalog.row_of(cid) for cid in ids], dtype=np.int64)
        cross = self.lexical.cross_vectors
        if cross_all:
            dense = np.asarray(cross[rows] @ np.asarray(cross_vector, dtype=np.float32), dtype=np.float64)
        else:
            dense = np.asarray(self.lexical.vectors[rows] @ np.asarray(vector, dtype=np.float32), dtype=np.float64)
            if cross_vector is not None and self.lexical.foreign is not None:
                foreign = self.lexical.foreign[rows]
                if foreign.any():
                    dense[foreign] = cross[rows[foreign]] @ np.asarray(cross_vector, dtype=np.float32)
        lexical = bm25_scores[rows].astype(np.float64) if bm25_scores is not None else np.zeros(len(ids))
        total = np.zeros(len(ids))
        normalised = []
        for values in (dense, lexical):
            span = values.max() - values.min() if len(values) else 0.0
            normalised.append((values - values.min()) / span if span > 0 else np.zeros(len(values)))
        if cross_all and self.lexical.foreign is not None:
            # BM25 cannot match words across languages: for a chunk in English, a question's Chinese words say
            # nothing, so its lexical part is its dense part instead of a zero that would rank every English
            # chunk below every Chinese one
            english = ~self.lexical.foreign[rows]
            bridge = normalised[0]
            if glossed_english is not None:
                # the dictionary's words are a rough translation (every sense of every word): they share the
                # English rows' lexical half with the vectors rather than replace them (measured in the README's
                # Chinese section: the glosses alone found fewer sections). As the share of the glossed question
                # a row matches, not stretched over the candidates: a row matching one stray word of an
                # uncovered question stays low
                share = self.tuning.retrieval.gloss_share
                bridge = share * glossed_english[rows].astype(np.float64) + (1 - share) * normalised[0]
            normalised[1] = np.where(english, bridge, normalised[1])
        use = None
        if use_leg and cross_vector is not None and cross is not None:
            use = np.asarray(cross[rows] @ np.asarray(cross_vector, dtype=np.float32), dtype=np.float64)
            span = use.max() - use.min() if len(use) else 0.0
            normalised.append((use - use.min()) / span if span > 0 else np.zeros(len(use)))
        for w, values in zip((weights.get("dense", 1.0), weights.get("bm25", 1.0), weights.get("use", 0.0)), normalised):
            total += w * values
        found = {name: {cid: rank for rank, (cid, _) in enumerate(ranking, 1)} for name, ranking in rankings.items()}
        fused = []
        for i, cid in enumerate(ids):
            ranks = {name: r[cid] for name, r in found.items() if cid in r}
            raw = {"dense": float(dense[i]), "bm25": float(lexical[i])}
            if use is not None:
                raw["use"] = float(use[i])
            fused.append(Fused(cid, float(total[i]), ranks, raw))
        return sorted(fused, key=lambda f: (-f.score, min(f.ranks.values()) if f.ranks else 1 << 30, f.chunk_id))

    def _glossed_english(self, query: str, weight: np.ndarray | None) -> np.ndarray | None:
        """How much of a Chinese question each English row matches (0..1) through the question's words as CC-CEDICT
        translates them (rag_car.text.gloss): their BM25 with each word counting once however many senses it has
        (LexicalIndex.grouped_scores), over the score of a row matching all of them; 0 for the rows not in English
        (their own words matched the question's). None when no glossed word is indexed."""
        index = self.lexical.index
        groups = [[tokenize(sense) for sense in word_senses] for _, word_senses in gloss_senses(query)]
        scores = index.grouped_scores(groups, weight)
        ceiling = index.grouped_ceiling(groups)
        if scores is None or ceiling <= 0:
            return None
        if self.lexical.foreign is not None:
            scores[self.lexical.foreign] = 0.0
        return np.minimum(scores / ceiling, 1.0)

    def _cross_ready(self) -> np.ndarray | None:
        """The row-aligned cross-lingual vectors when this retriever can use them (an embedder and every row's vector)."""
        if self.multilingual is None:
            return None
        return self.lexical.cross_vectors

    def _adjust(self, fused: list[Fused], year: int | None, intents: Sequence[str] = (),
                about_codes: bool = True) -> list[Fused]:
        """Demote, without removing: passages of a document a newer indexed one supersedes; passages whose
        heading names model years that exclude the year asked about ("TP-02 ..., 2022-2024" for a 2020 car);
        trouble-code reference entries when the question is not about codes (``about_codes`` False); chunks
        with almost no text of their own (a banner, "Page 1": they only match through their headings).
        Promote sections of the kind the question asks for (``intents``, see intent.py)."""
        catalog = self.lexical.catalog
        rs = self.tuning.retrieval
        thin = catalog.text_tokens if catalog.text_tokens.size == catalog.size else None
        changed = False
        for item in fused:
            row = catalog.row_of(item.chunk_id)
            if row is None:
                continue
            factor = 1.0
            if catalog.is_superseded(row):
                factor *= rs.superseded_factor
            if year:
                years = catalog.heading_years(row)
                if years is not None and not years[0] <= year <= years[1]:
                    factor *= rs.year_mismatch_factor
            if not about_codes and catalog.columns["doc_type"][row] == "dtc":
                factor *= rs.code_reference_factor
            if thin is not None and thin[row] < THIN_TOKENS:
                factor *= rs.thin_chunk_factor
            if intents and answers_intent(catalog.columns["section"][row].rsplit(" > ", 1)[-1], list(intents)):
                factor *= rs.section_intent_factor
            if factor != 1.0:
                item.score *= factor
                changed = True
        if not changed:
            return fused
        return sorted(fused, key=lambda f: (-f.score, min(f.ranks.values()) if f.ranks else 1 << 30, f.chunk_id))

    def _dense(self, vector: np.ndarray, n: int, applied: Filters, mask: np.ndarray | None) -> list[tuple[str, float]]:
        """Dense candidates under the filter. Chroma's metadata pre-filter is slow (hundreds of milliseconds at
        100,000 chunks), so a filter is never sent to it when the row-aligned vectors are loaded: a filter that
        keeps most rows is applied afterwards to a larger unfiltered result, any other is searched exactly over
        the rows it keeps. ``where`` goes to Chroma only for a store that cannot give its vectors back."""
        catalog = self.lexical.catalog
        query = getattr(self.store, "query_ids", None)
        if query is None:  # a store without the ids-only path
            query = lambda v, k, where=None: [(c.id, s) for c, s in self.store.query(v, k, where=where)]  # noqa: E731
        if mask is None:
            return query(vector, n)
        allowed = int(mask.sum())
        if allowed == 0:
            return []
        share = allowed / max(catalog.size, 1)
        if share >= 0.5:
            fetched = query(vector, min(catalog.size, int(n / share) + 10))
            kept = [(cid, score) for cid, score in fetched if (row := catalog.row_of(cid)) is not None and mask[row]]
            if len(kept) >= min(n, allowed):
                return kept[:n]
        vectors = self.lexical.vectors
        if vectors is not None:
            return [(catalog.ids[row], score) for row, score in masked_nearest(vectors, vector, mask, n)]
        return query(vector, min(n, allowed), filtering.chroma_where(applied, catalog))

    def _codes_first(self, fused: list[Fused], known: list[Code], mask: np.ndarray | None,
                     doc_types: set[str], successor: bool = False, intents: Sequence[str] = ()) -> list[Fused]:
        """Chunks carrying the question's known codes go first, ordered by: how many of the codes they carry;
        whether their doc type is the one the question asks for ("any bulletin for P0420?"); where the code
        sits (the innermost heading, i.e. the entry *about* the code, then the title, then the metadata, then
        only the text); whether the section is of the kind the question asks for ("P0420, any fix?" -> the
        repair procedure); chunks with almost no text of their own (a banner) after the others; then section
        by section in fused order (a section's best passage decides), each section's passages in reading
        order, so that an entry starts with its description."""
        catalog = self.lexical.catalog
        carriers: dict[str, int] = {}
        for code in known:
            for row in catalog.codes.get(code.key, []):
                if mask is None or mask[row]:
                    carriers.setdefault(catalog.ids[row], row)
        if not carriers:
            return fused
        position = {f.chunk_id: i for i, f in enumerate(fused)}
        by_id = {f.chunk_id: f for f in fused}
        section_of = {cid: (catalog.columns["source"][row], catalog.columns["section"][row]) for cid, row in carriers.items()}
        section_best: dict[tuple[str, str], int] = {}
        for cid, sec in section_of.items():
            section_best[sec] = min(section_best.get(sec, len(fused)), position.get(cid, len(fused)))

        def strength(row: int, key: str) -> int:
            section = catalog.columns["section"][row].rsplit(" > ", 1)[-1]
            if key in catalog.heading_keys_of(section):
                return 3
            if key in catalog.heading_keys_of(catalog.columns["title"][row]):
                return 2
            return 1 if row in catalog.code_in_metadata.get(key, ()) else 0

        thin = catalog.text_tokens if catalog.text_tokens.size == catalog.size else None

        # successor ("what replaced ASB-21-015?"): the answer is the document that names it, not the one it titles

        def order(chunk_id: str) -> tuple:
            row = carriers[chunk_id]
            carried = [c for c in known if row in catalog.code_rows(c.key)]
            wanted_type = 1 if catalog.columns["doc_type"][row] in doc_types else 0
            best = max(strength(row, c.key) for c in carried)
            if successor:
                best = -best
            asked = 1 if intents and answers_intent(section_of[chunk_id][1].rsplit(" > ", 1)[-1], list(intents)) else 0
            banner = 1 if thin is not None and thin[row] < THIN_TOKENS else 0
            return (-len(carried), -wanted_type, -best, -asked, banner, section_best[section_of[chunk_id]],
                    section_of[chunk_id], int(catalog.chunk_index[row]), chunk_id)

        ordered = sorted(carriers, key=order)
        first = []
        for rank, chunk_id in enumerate(ordered, 1):
            item = by_id.get(chunk_id) or Fused(chunk_id, 0.0)
            item.ranks["code"] = rank
            first.append(item)
        rest = [f for f in fused if f.chunk_id not in carriers]
        top = fused[0].score if fused else 0.0
        # keep the fused scores monotonic so that a caller sorting by score sees the same order
        for i, item in enumerate(first):
            item.score = max(item.score, top) + (len(first) - i) * 1e-6
        return first + rest

    def _carries_codes(self, chunk_id: str) -> bool:
        row = self.lexical.catalog.row_of(chunk_id)
        return row is not None and int(self.lexical.catalog.code_count[row]) > 0

    @staticmethod
    def _only_about_codes(query: str, unknown: list[Code]) -> bool:
        rest = query
        for code in unknown:
            rest = rest.replace(code.text, " ")
        words = [w for w in content_words(rest) if w.lower() not in {"code", "codes", "dtc", "obd", "error", "fault"}]
        return len(words) <= 3


MAX_RUNS = 64  # above this many runs of kept rows, gathering them beats scoring slice by slice


def masked_nearest(vectors: np.ndarray, vector: np.ndarray, mask: np.ndarray, n: int) -> list[tuple[int, float]]:
    """The ``n`` rows of ``mask`` whose vectors are nearest to ``vector`` (cosine: the vectors are normalised),
    best first, as (row, similarity). Exact. The kept rows are scored run by run (rows are grouped by vehicle,
    so a vehicle filter keeps few runs) without copying them."""
    rows = np.flatnonzero(mask)
    if rows.size == 0 or n <= 0:
        return []
    q = np.asarray(vector, dtype=np.float32)
    cuts = np.flatnonzero(np.diff(rows) != 1) + 1
    if cuts.size < MAX_RUNS:
        starts = rows[np.concatenate(([0], cuts))]
        ends = rows[np.concatenate((cuts - 1, [rows.size - 1]))] + 1
        scores = np.concatenate([vectors[a:b] @ q for a, b in zip(starts.tolist(), ends.tolist())])
    else:
        scores = vectors[rows] @ q
    n = min(n, rows.size)
    top = np.argpartition(-scores, n - 1)[:n] if n < rows.size else np.arange(rows.size)
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(rows[i]), float(scores[i])) for i in top]


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def open_retriever(settings: Any, embedder: Any = None, rewriter: LLMRewriter | Callable[[str], str] | None = None,
                   warm: bool = True, tuning: Tuning = TUNING) -> Retriever:
    """A Retriever over the configured store, with the ingest embedder (loaded when not given).

    ``rewriter``: an LLMRewriter, or a ``complete(prompt) -> text`` function of a generative backend, used to
    rewrite follow-ups when ``retrieval.rewrite`` is "auto" or "llm"; without it the heuristic rewriter is used.
    ``warm``: load the embedding model now (default) rather than in the first search.
    ``tuning``: the ranking weights and factors (rag_car.tuning; a benchmark passes a variant).
    Raises EmptyIndexError when nothing is indexed, StoreError when the store cannot be opened.
    """
    from rag_car.knowledge.embed import load_embedder, load_multilingual
    from rag_car.knowledge.store import open_store

    if embedder is None:
        embedder = load_embedder(settings)
    if rewriter is not None and not isinstance(rewriter, LLMRewriter):
        rewriter = LLMRewriter(rewriter)
    store = open_store(settings, embedder.dim)
    if store.count() == 0:
        raise EmptyIndexError("nothing is indexed yet", EMPTY_INDEX_FIX)
    multilingual = load_multilingual(settings)
    if multilingual is not None:
        store.open_multilingual(multilingual.name, multilingual.dim, create=False)
    retriever = Retriever(settings, store, embedder, rewriter, tuning, multilingual)
    retriever.sync()  # load or rebuild the BM25 side now rather than in the first search
    if warm:
        embedder.embed_query("warm up")  # load the model now, so that the first search's timings are its own
        if retriever._cross_ready() is not None:
            multilingual.embed_query("warm up")
            english_gloss("预热")  # and read the dictionary (~0.6 s) now rather than in the first Chinese question
    return retriever


def known_vehicles(settings: Any) -> list[dict[str, Any]]:
    """What is indexed, for a vehicle picker: [{make, model, year_min, year_max}] (empty when nothing is).

    Reads the saved lexical catalog when it is current, so no embedding model is loaded.
    """
    from rag_car.knowledge.retrieve.sync import load_saved

    state = load_saved(settings)
    if state is not None:
        return state.catalog.vehicles()
    try:
        retriever = open_retriever(settings, warm=False)
    except EmptyIndexError:
        return []
    with retriever:
        return retriever.known_vehicles()


def by_language(own: np.ndarray | None, own_ceiling: float, glossed: np.ndarray, gloss_ceiling: float,
                foreign: np.ndarray | None) -> np.ndarray:
    """BM25 of a Chinese question per language of the chunk, as the share of the query a chunk matches (its score
    over the query's ceiling, LexicalIndex.ceiling): the question's own words over chunks not in English
    (``foreign``), the dictionary's English words for them over English chunks. Summed, the glosses (many words
    where the question has a few) would rank every English chunk above every Chinese one; as shares, a chunk that
    matches most of either query ranks high whatever its language, and one that matches a stray word does not."""
    english = ~foreign if foreign is not None else np.ones(len(glossed), dtype=bool)
    out = np.zeros(len(glossed), dtype=np.float32)
    if gloss_ceiling > 0:
        out[english] = glossed[english] / gloss_ceiling
    if own is not None and own_ceiling > 0 and foreign is not None:
        out[foreign] = own[foreign] / own_ceiling
    return out
