"""A QA file + an Assistant -> the answer metrics of issues 8 and 15, per backend: expected facts present, expected
source cited (anywhere, and among the first 5 citations), answerable questions wrongly refused, unanswerable questions
refused, safety warnings carried or kept, latency. The same rules score every set.

QA file: the JSON lines of tests/eval/qa.jsonl (see rag_car.knowledge.retrieve.evaluate), read here with the
fields answers need: ``facts`` (strings the answer must contain; numbers and units compared loosely),
``safety`` (the answer must carry a WARNING/CAUTION text; ``warning``, when given, a substring of it),
``answerable``, ``history``, ``persona``. A set over a section-marked manual (tests/eval/real_manual_qa.jsonl) names
its expected section by ``gold_section_id`` and the warning a safe answer must keep by ``warning_id`` (from the
warnings file its header names).

A warning is *kept* (:func:`warning_kept`) when the answer states its hazard and its instruction: the warning text is
cut after its first risk sentence ("There is a risk of accident."; the warnings file lists them; a warning without
one is cut after its first sentence) into the hazard (what happens, and the risk) and the instruction (what to do).
Both halves are compared as sets of content words (normalised as :func:`normalise` does, stopwords dropped, no
stemming or synonyms): at least ``KEEP_SHARE`` (0.8) of each half's words, and every content word of the risk
sentence, must be in the answer text. Quoting the warning whole passes; naming the topic without its instruction,
or an instruction without its hazard, does not.
"""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from rag_car.errors import ConfigError
from rag_car.knowledge.marked_manual import ManualWarning, load_warnings
from rag_car.knowledge.retrieve.evaluate import SetInfo, expected_of, is_header, read_set_info

KEEP_SHARE = 0.8  # share of a warning's hazard words, and of its instruction words, an answer must state


@dataclass
class AnswerItem:
    id: str
    question: str
    expected: list[dict[str, str]] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    answerable: bool = True
    safety: bool = False
    warning: str = ""
    persona: str | None = None
    tags: list[str] = field(default_factory=list)
    kind: str = ""  # "warning", "fact", "uncovered" in a set that says so
    warning_id: str = ""  # the warning (of the set's warnings file) a safe answer must keep


@dataclass
class AnswerSet:
    """A QA file's questions, what its header says, and the warnings its questions refer to by id."""

    path: Path
    items: list[AnswerItem]
    info: SetInfo = field(default_factory=SetInfo)
    warnings: dict[str, ManualWarning] = field(default_factory=dict)


def load_set(path: Path, data_root: Path | None = None) -> AnswerSet:
    """The QA file with its header's corpus and warnings resolved (``data_root``: where the header's relative
    paths start, default the header's own ``data_root``). Raises ConfigError for a bad line, a missing corpus or a
    warning id the warnings file lacks."""
    path = Path(path)
    info = read_set_info(path, data_root)
    items = load_items(path, data_root, info=info)
    warnings = load_warnings(info.warnings) if info.warnings is not None else {}
    missing = [i.id for i in items if i.warning_id and i.warning_id not in warnings]
    if missing:
        raise ConfigError(f"QA file {path}: questions {', '.join(missing[:5])} name warnings that "
                          f"{info.warnings or 'no warnings file'} does not hold",
                          'set the header\'s "warnings" to the warnings file the ids come from')
    return AnswerSet(path=path, items=items, info=info, warnings=warnings)


def load_items(path: Path, data_root: Path | None = None, info: SetInfo | None = None) -> list[AnswerItem]:
    """Read the QA JSON lines; raises ConfigError naming the first bad line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"QA file {path} does not exist", "pass a JSON-lines file with --qa, e.g. tests/eval/qa.jsonl")
    info = info if info is not None else read_set_info(path, data_root)
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if is_header(raw):
                continue
            facts = raw.get("facts") or []
            items.append(AnswerItem(
                id=str(raw.get("id") or f"line{number}"), question=str(raw["question"]),
                expected=expected_of(raw, info),
                facts=[str(f) for f in (facts if isinstance(facts, list) else [facts])],
                history=[str(h) for h in raw.get("history") or []],
                answerable=bool(raw.get("answerable", True)), safety=bool(raw.get("safety", False)),
                warning=str(raw.get("warning", "") or ""),
                # the persona the question is written as: explicit, else its "owner"/"technician" tag
                persona=raw.get("persona") or next((t for t in raw.get("tags") or [] if t in ("owner", "technician")), None),
                tags=[str(t) for t in raw.get("tags") or []],
                kind=str(raw.get("kind") or ""), warning_id=str(raw.get("warning_id") or ""),
            ))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"QA file {path} line {number} is not a valid entry ({type(exc).__name__}: {exc})",
                              'each line must be a JSON object with at least "question"') from exc
    return items


# -- matching ---------------------------------------------------------------------------------------------------
_UNIT_FOLDS = [
    (r"n\s*[·\-.]?\s*m\b", "nm"), (r"°\s*c\b", "c"), (r"\bdeg\s*c\b", "c"), (r"degc\b", "c"), (r"°\s*f\b", "f"),
    (r"\blb\s*[-·]?\s*ft\b", "lbft"), (r"\bft\s*[-·]?\s*lb\b", "lbft"), (r"\bkm\s*/\s*h\b", "kmh"),
    (r"\bliters?\b|\blitres?\b", "l"), (r"\btyres?\b", "tire"),
]


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2212", "-")
    for pattern, repl in _UNIT_FOLDS:
        text = re.sub(pattern, repl, text)
    text = re.sub(r"(\d),(\d{3})\b", r"\1\2", text)
    text = re.sub(r"(\d)\s+(?=[a-z%])", r"\1", text)  # "120 nm" -> "120nm"
    return " ".join(re.sub(r"[^\w%.+-]+", " ", text).split())


def fact_present(fact: str, answer: str) -> bool:
    """True when the answer states the fact: as a (normalised) substring, or with every number and content
    word of the fact present."""
    a, f = normalise(answer), normalise(fact)
    if not f or f in a:
        return True
    from rag_car.answer.sentences import normalise_term, terms

    a_tokens = set(a.split()) | {normalise_term(t) for t in terms(a)}
    wanted = [t for t in f.split() if any(ch.isdigit() for ch in t)]
    wanted += [normalise_term(t) for t in terms(f) if not any(ch.isdigit() for ch in t)]
    return bool(wanted) and all(t in a_tokens for t in wanted)


def source_cited(citations: Iterable[Any], expected: list[dict[str, str]]) -> bool:
    from rag_car.knowledge.retrieve.evaluate import is_hit

    # a citation of a text the documents print in several sections cites each of them (it names them: also_in),
    # as a retrieved passage's folded duplicates count for retrieval (rag_car.knowledge.retrieve.evaluate)
    return any(_hit(is_hit, c.source, c.section, e, c.title, c.text)
               or any(_hit(is_hit, ref.source, ref.section, e, ref.title, c.text) for ref in getattr(c, "also_in", ()))
               for c in citations for e in expected)


def _hit(is_hit: Any, source: str, section: str, expected: dict[str, str], title: str, text: str) -> bool:
    try:
        return is_hit(source, section, expected, title=title, text=text)
    except TypeError:  # an is_hit without title/text
        return is_hit(source, section, expected)


_SAFETY_INSTRUCTION = re.compile(r"\b(?:WARNING|CAUTION|DANGER|STOP:|stop|do not|don't|never|towed|call for assistance|"
                                 r"have (?:it|the vehicle|the system|the brakes?) (?:checked|inspected|towed|repaired)|"
                                 r"(?:drive|go) (?:carefully |directly )?to (?:a|the nearest) dealer)\b", re.IGNORECASE)


def expected_warnings(chunks: list[Any], expected: list[dict[str, str]]) -> list[str]:
    """The WARNING/CAUTION texts of the expected sections (what a safety answer must carry)."""
    from rag_car.answer.sentences import split_sentences
    from rag_car.knowledge.retrieve.evaluate import is_hit

    out: list[str] = []
    for chunk in chunks:
        meta = chunk.metadata or {}
        if any(_hit(is_hit, str(meta.get("source", "")), str(meta.get("section", "")), e, str(meta.get("title", "")),
                    chunk.text) for e in expected):
            out.extend(u.text for u in split_sentences(chunk.text) if u.is_safety and u.text not in out)
    return out


def carries_warning(answer: Any, warnings: list[str], wanted: str = "") -> bool:
    """A safety answer passes when it holds one of the expected sections' WARNING/CAUTION texts (``warnings``),
    or, when those sections have none, a safety instruction (stop, do not, never, have it towed or checked)."""
    text = normalise(answer.answer)
    if wanted:
        return normalise(wanted) in text
    if warnings:
        return any(normalise(w)[:80] in text for w in warnings)
    return bool(_SAFETY_INSTRUCTION.search(answer.answer))


@dataclass(frozen=True)
class WarningCheck:
    """How much of one warning an answer states: the shares of its hazard and instruction words found, whether
    every word of its risk sentence is there, and the verdict."""

    hazard: float
    instruction: float
    risk: bool
    kept: bool


def _content_words(text: str) -> set[str]:
    from rag_car.text.words import STOPWORDS

    # a sentence's last word keeps no full stop: "voltage." in the warning is "voltage [2]." in a cited answer
    words = (w.rstrip(".") for w in normalise(text).split())
    return {w for w in words if w and w not in STOPWORDS and (len(w) > 1 or w.isdigit())}


def warning_parts(warning: ManualWarning) -> tuple[str, str, list[str]]:
    """(hazard, instruction, risk sentences) of a warning: the text cut after its first risk sentence (after its first
    sentence when it names no risk)."""
    from rag_car.answer.sentences import split_sentences

    text = " ".join(warning.text.split())
    risks = [r for r in warning.risk_sentences if r and r in text]
    if risks:
        cut = min(text.index(r) + len(r) for r in risks[:1])
    else:
        first = split_sentences(text)
        cut = text.index(first[0].text) + len(first[0].text) if first and first[0].text in text else len(text)
    return text[:cut].strip(), text[cut:].strip(), risks


def warning_kept(warning: ManualWarning, answer_text: str) -> WarningCheck:
    """Does ``answer_text`` state the warning's hazard and instruction? (the rule is in the module docstring)"""
    have = _content_words(answer_text)
    hazard, instruction, risks = warning_parts(warning)

    def share(part: str) -> float:
        wanted = _content_words(part)
        return len(wanted & have) / len(wanted) if wanted else 1.0

    h, i = share(hazard), share(instruction)
    risk = all(_content_words(r) <= have for r in risks)
    return WarningCheck(hazard=round(h, 3), instruction=round(i, 3), risk=risk,
                        kept=h >= KEEP_SHARE and i >= KEEP_SHARE and risk)


def section_in_top(citations: Iterable[Any], expected: list[dict[str, str]], top: int = 5) -> bool:
    """Is an expected section among the first ``top`` citations?"""
    return source_cited(list(citations)[:top], expected)


# -- the run ----------------------------------------------------------------------------------------------------
@dataclass
class ItemResult:
    id: str
    question: str
    answerable: bool
    safety: bool
    abstained: bool
    facts_ok: bool | None
    facts_found: int
    facts_total: int
    source_ok: bool | None
    warning_ok: bool | None
    grounded: bool
    backend: str
    fallback: str | None
    total_ms: float
    generate_ms: float
    answer: str
    confidence: float = 0.0
    kind: str = ""
    warning_kept: bool | None = None  # a warning_id question: its warning's hazard and instruction stated
    warning_shares: tuple[float, float] | None = None  # (hazard, instruction) word shares found
    section_top5: bool | None = None  # an expected section among the first 5 citations
    retrieved_top5: bool | None = None  # an expected section among the first 5 retrieved passages
    warned: bool = False  # the answer carries a safety warning (on an uncovered question: a warning out of place)


@dataclass
class BackendReport:
    backend: str
    items: list[ItemResult] = field(default_factory=list)
    seconds: float = 0.0

    def _share(self, values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 4) if values else None

    def metrics(self) -> dict[str, Any]:
        answerable = [i for i in self.items if i.answerable]
        with_facts = [i for i in answerable if i.facts_total]
        with_source = [i for i in answerable if i.source_ok is not None]
        unanswerable = [i for i in self.items if not i.answerable]
        safety = [i for i in self.items if i.safety]
        kept = [i for i in self.items if i.warning_kept is not None]
        top5 = [i for i in answerable if i.section_top5 is not None]
        retrieved = [i for i in answerable if i.retrieved_top5 is not None]
        totals = sorted(i.total_ms for i in self.items)
        gens = sorted(i.generate_ms for i in self.items)
        return {
            "backend": self.backend,
            "questions": len(self.items),
            "facts": self._share([bool(i.facts_ok) for i in with_facts]),
            "fact_recall": round(sum(i.facts_found for i in with_facts) / max(1, sum(i.facts_total for i in with_facts)), 4)
            if with_facts else None,
            "source_cited": self._share([bool(i.source_ok) for i in with_source]),
            "abstain_unanswerable": self._share([i.abstained for i in unanswerable]),
            "false_abstain": self._share([i.abstained for i in answerable]),
            "safety_warning": self._share([bool(i.warning_ok) for i in safety]),
            "warnings_kept": self._share([bool(i.warning_kept) for i in kept]),
            "section_top5": self._share([bool(i.section_top5) for i in top5]),
            "retrieved_top5": self._share([bool(i.retrieved_top5) for i in retrieved]),
            "uncovered_warned": self._share([i.warned for i in unanswerable]),
            "grounded": self._share([i.grounded for i in answerable]),
            "fallbacks": sum(1 for i in self.items if i.fallback),
            "p50_ms": round(statistics.median(totals), 1) if totals else None,
            "p95_ms": round(totals[min(len(totals) - 1, int(0.95 * len(totals)))], 1) if totals else None,
            "generate_p50_ms": round(statistics.median(gens), 1) if gens else None,
            "counts": {"answerable": len(answerable), "with_facts": len(with_facts), "unanswerable": len(unanswerable),
                       "safety": len(safety), "with_warning_id": len(kept), "with_section": len(top5)},
        }

    def misses(self) -> list[dict[str, Any]]:
        out = []
        for i in self.items:
            problems = []
            if i.answerable and i.facts_ok is False:
                problems.append(f"facts {i.facts_found}/{i.facts_total}")
            if i.answerable and i.source_ok is False:
                problems.append("source not cited")
            if i.answerable and i.abstained:
                problems.append("abstained")
            if not i.answerable and not i.abstained:
                problems.append("answered an unanswerable question")
            if i.safety and not i.warning_ok:
                problems.append("no warning" if i.warning_shares is None else
                                f"warning not kept (hazard {i.warning_shares[0]:.0%}, instruction {i.warning_shares[1]:.0%})")
            if i.answerable and i.section_top5 is False and i.source_ok is not False:
                problems.append("section not in the first 5 citations")
            if problems:
                out.append({"id": i.id, "question": i.question, "problems": problems, "answer": i.answer[:400]})
        return out


def evaluate_answers(assistant: Any, items: list[AnswerItem], backend: str, progress: Any = None,
                     chunks: list[Any] | None = None, warnings: dict[str, ManualWarning] | None = None,
                     retrieval: bool = True) -> BackendReport:
    """Ask every item through ``backend``; never raises for one bad answer (it is counted as a miss).
    ``chunks``: every indexed chunk (default: read from the assistant's store), to know the expected warnings;
    ``warnings``: the set's warnings by id (items with a ``warning_id`` are scored by :func:`warning_kept`);
    ``retrieval``: also search each answerable question (k=5) to score the expected section among the passages."""
    if chunks is None:
        store = getattr(assistant.retriever, "store", None)
        chunks = list(store.iter_all()) if store is not None and hasattr(store, "iter_all") else []
    report = BackendReport(backend=backend)
    t0 = time.perf_counter()
    for item in items:
        history = [{"role": "user", "content": h} for h in item.history]
        answer = assistant.ask(item.question, history=history, persona=item.persona, backend=backend)
        retrieved = None
        if retrieval and item.answerable and item.expected:
            retrieved = assistant.retriever.search(item.question, k=5, history=item.history).passages[:5]
        report.items.append(score_answer(item, answer, chunks=chunks, warnings=warnings, retrieved=retrieved))
        if progress is not None:
            progress(item, answer)
    report.seconds = time.perf_counter() - t0
    return report


def score_answer(item: AnswerItem, answer: Any, chunks: list[Any], warnings: dict[str, ManualWarning] | None = None,
                 retrieved: list[Any] | None = None) -> ItemResult:
    """One item's scores for one ``Answer`` (and the passages retrieved for it, None: not searched)."""
    from rag_car.knowledge.retrieve.evaluate import first_hit_rank

    warnings = warnings or {}
    found = sum(1 for f in item.facts if fact_present(f, answer.answer))
    check = warning_kept(warnings[item.warning_id], answer.answer) if item.warning_id in warnings else None
    scored = bool(item.expected and item.answerable)
    return ItemResult(
        id=item.id, question=item.question, answerable=item.answerable, safety=item.safety,
        abstained=answer.abstained, facts_ok=(found == len(item.facts)) if item.facts else None,
        facts_found=found, facts_total=len(item.facts),
        source_ok=source_cited(answer.citations, item.expected) if scored else None,
        warning_ok=(check.kept if check is not None else
                    carries_warning(answer, expected_warnings(chunks, item.expected), item.warning))
        if item.safety else None,
        grounded=answer.grounded, backend=answer.backend, fallback=answer.fallback,
        total_ms=answer.timings.get("total_ms", 0.0), generate_ms=answer.timings.get("generate_ms", 0.0),
        answer=answer.answer, confidence=round(answer.confidence, 4), kind=item.kind,
        warning_kept=check.kept if check is not None else None,
        warning_shares=(check.hazard, check.instruction) if check is not None else None,
        section_top5=section_in_top(answer.citations, item.expected) if scored else None,
        retrieved_top5=(first_hit_rank(retrieved[:5], item.expected) is not None)
        if (scored and retrieved is not None) else None,
        warned=bool(answer.warnings),
    )


TARGETS = {"facts": 0.90, "source_cited": 0.95, "abstain_unanswerable": 0.90, "safety_warning": 0.95,
           "warnings_kept": 0.90, "section_top5": 0.95}
CEILINGS = {"false_abstain": 0.05}  # at most


def format_reports(reports: list[BackendReport]) -> str:
    """A markdown table, one column per backend."""
    rows = [("expected facts present (answerable)", "facts", True), ("fact recall", "fact_recall", True),
            ("expected source cited", "source_cited", True), ("unanswerable abstained", "abstain_unanswerable", True),
            ("answerable wrongly abstained", "false_abstain", True), ("safety warning carried", "safety_warning", True),
            ("warning kept (hazard + instruction)", "warnings_kept", True),
            ("expected section in first 5 citations", "section_top5", True),
            ("expected section in top 5 retrieved", "retrieved_top5", True),
            ("uncovered answers carrying a warning", "uncovered_warned", True),
            ("answers fully grounded", "grounded", True), ("fallbacks to extractive", "fallbacks", False),
            ("p50 latency ms", "p50_ms", False), ("p95 latency ms", "p95_ms", False),
            ("generate p50 ms", "generate_p50_ms", False)]
    metrics = [r.metrics() for r in reports]
    head = "| metric | target | " + " | ".join(m["backend"] for m in metrics) + " |"
    lines = [head, "|" + "---|" * (2 + len(metrics))]
    for label, key, share in rows:
        target = TARGETS.get(key)
        cells = []
        for m in metrics:
            value = m.get(key)
            cells.append("-" if value is None else (f"{value:.1%}" if share else f"{value:g}"))
        ceiling = CEILINGS.get(key)
        bound = f">= {target:.0%}" if target else (f"<= {ceiling:.0%}" if ceiling is not None else "")
        lines.append(f"| {label} | {bound} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reports_json(reports: list[BackendReport]) -> dict[str, Any]:
    return {"backends": [{"metrics": r.metrics(), "misses": r.misses(), "seconds": round(r.seconds, 2),
                          "items": [asdict(i) for i in r.items]} for r in reports]}
