"""A QA file + a retriever -> recall@k, MRR, nDCG@k and exact-code hit@1 per retrieval mode, with the misses.

QA file: JSON lines, one question each::

    {"id": "oil-01", "question": "...", "history": ["earlier question", ...],
     "expected": [{"source": "owner_manual.md", "section": "Engine oil"}],
     "facts": [...], "safety": false, "answerable": true, "tags": ["maintenance"]}

A passage is a *hit* for an expected item when its metadata ``source`` ends with the expected source and its
heading path contains the expected section, both case-insensitive (an empty section matches any). The heading
path is the document title, then the section path (``title > section``): the chunker leaves a document's own
title out of ``section``, so text right under the top heading has an empty section. An optional expected
``title`` must also be contained in the passage title (NHTSA records have no sections: their title names the
campaign or bulletin), and an optional ``text`` in the passage text (a row of a DTC table: "P0118:").
Near-duplicates folded into a passage count as that passage. Unanswerable questions and questions without ``expected`` are
left out of the ranking metrics.

A set over a section-marked manual (tests/eval/real_manual_qa.jsonl) opens with a header line
``{"meta": {"data_root": "../../../shared/data", "corpus": "real-manual/manual_md", "warnings": "..."}}`` (paths
relative to the set file, then to data_root) and names its expected sections by id: ``gold_section_id`` (and
``alt_section_ids``). These resolve to ``{"source": "<chapter>.md", "path": "<heading path>"}``: a passage hits when
it comes from that chapter file and its section path is that path or lies below it (rag_car.knowledge.marked_manual).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from rag_car.errors import ConfigError
from rag_car.knowledge.marked_manual import ManualSection, load_sections

MODES = ("hybrid", "dense", "bm25")
MRR_DEPTH = 10


@dataclass
class QAItem:
    id: str
    question: str
    expected: list[dict[str, str]]
    history: list[str] = field(default_factory=list)
    answerable: bool = True
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SetInfo:
    """What a QA file's header line says: the corpus its questions are about and the warnings file (None: not
    given), and the corpus's marked sections by id (empty when the corpus is not a section-marked manual)."""

    corpus: Path | None = None
    warnings: Path | None = None
    sections: dict[str, ManualSection] = field(default_factory=dict)


def read_set_info(path: Path, data_root: Path | None = None) -> SetInfo:
    """The header of a QA file (``{"meta": {...}}`` on its first line), its paths resolved against ``data_root``
    (default: the header's ``data_root``, relative to the QA file). Raises ConfigError when the header names a
    corpus that is not there."""
    meta = _header(Path(path))
    if not meta:
        return SetInfo()
    root = Path(data_root) if data_root else (Path(path).parent / str(meta.get("data_root", "."))).resolve()
    corpus = root / str(meta["corpus"]) if meta.get("corpus") else None
    warnings = root / str(meta["warnings"]) if meta.get("warnings") else None
    if corpus is not None and not corpus.exists():
        raise ConfigError(f"the corpus of QA file {path} is not at {corpus}",
                          "pass --data-root with the folder that holds it (the set names it relative to that folder)")
    sections = load_sections(corpus) if corpus is not None and corpus.is_dir() and any(corpus.glob("*.md")) else {}
    return SetInfo(corpus=corpus, warnings=warnings, sections=sections)


def _header(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                try:
                    raw = json.loads(line)
                except ValueError:
                    return {}
                meta = raw.get("meta") if isinstance(raw, dict) else None
                return meta if isinstance(meta, dict) else {}
    return {}


def is_header(raw: Any) -> bool:
    """Is this parsed QA line the set's header rather than a question?"""
    return isinstance(raw, dict) and "meta" in raw and "question" not in raw


def expected_of(raw: dict[str, Any], info: SetInfo) -> list[dict[str, str]]:
    """A QA line's expected passages: its ``expected`` list, or its gold section ids resolved through the set's
    marked manual. Raises KeyError for a section id the manual does not have."""
    expected = [
        {"source": str(e.get("source", "")), "section": str(e.get("section", "") or ""),
         **{key: str(e[key]) for key in ("title", "text", "path") if e.get(key) is not None}}
        for e in raw.get("expected") or []
    ]
    ids = [raw["gold_section_id"]] if raw.get("gold_section_id") else []
    for section_id in ids + list(raw.get("alt_section_ids") or []):
        if section_id not in info.sections:
            raise KeyError(f"section id {section_id} is not in the set's corpus {info.corpus}")
        section = info.sections[section_id]
        expected.append({"source": section.source, "section": "", "path": section.path})
    return expected


def load_qa(path: Path, data_root: Path | None = None) -> list[QAItem]:
    """Read a QA JSON-lines file; raises ConfigError naming the line of the first bad entry."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"QA file {path} does not exist", "pass a JSON-lines file with --qa, e.g. tests/eval/qa.jsonl")
    info = read_set_info(path, data_root)
    items: list[QAItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if is_header(raw):
                continue
            question = raw["question"]
            if not isinstance(question, str):
                raise TypeError("question is not a string")
            expected = expected_of(raw, info)
            items.append(QAItem(
                id=str(raw.get("id") or f"line{number}"), question=question, expected=expected,
                history=[str(h) for h in raw.get("history") or []], answerable=bool(raw.get("answerable", True)),
                tags=[str(t) for t in raw.get("tags") or []],
            ))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"QA file {path} line {number} is not a valid entry ({type(exc).__name__}: {exc})",
                'each line must be a JSON object with at least "question" and "expected": [{"source", "section"}]',
            ) from exc
    return items


def _norm_path(text: str) -> str:
    return text.replace("\\", "/").lower().strip()


def is_hit(source: str, section: str, expected: dict[str, str], title: str = "", text: str | None = None) -> bool:
    """Does a passage with this source, section path, title (and text) satisfy one expected item?"""
    if "path" in expected:  # a marked manual's section: that chapter file, at or below that heading path
        return ManualSection("", Path(expected.get("source", "")).name, expected["path"], 0).holds(source, section)
    want_source = _norm_path(expected.get("source", ""))
    want_section = (expected.get("section") or "").lower().strip()
    want_title = (expected.get("title") or "").lower().strip()
    if want_source and not _norm_path(source).endswith(want_source):
        return False
    if want_title and want_title not in (title or "").lower():
        return False
    want_text = (expected.get("text") or "").lower().strip()
    if want_text and (text is None or want_text not in text.lower()):
        return False
    heading_path = f"{title or ''} > {section or ''}".lower()
    return not want_section or want_section in heading_path


def _matches(passage: Any, expected: dict[str, str]) -> bool:
    if is_hit(passage.source, passage.section, expected, passage.title, passage.text):
        return True
    return any(is_hit(d.get("source", ""), d.get("section", ""), expected, d.get("title", ""), d.get("text"))
               for d in getattr(passage, "duplicates", []))


def first_hit_rank(passages: Sequence[Any], expected: Sequence[dict[str, str]]) -> int | None:
    """1-based rank of the first passage that satisfies any expected item (None: none does)."""
    for rank, passage in enumerate(passages, 1):
        if any(_matches(passage, e) for e in expected):
            return rank
    return None


def recall_at_k(passages: Sequence[Any], expected: Sequence[dict[str, str]], k: int) -> float:
    """Share of the expected items that some passage of the top ``k`` satisfies."""
    if not expected:
        return 0.0
    top = passages[:k]
    found = sum(1 for e in expected if any(_matches(p, e) for p in top))
    return found / len(expected)


def reciprocal_rank(passages: Sequence[Any], expected: Sequence[dict[str, str]], depth: int = MRR_DEPTH) -> float:
    rank = first_hit_rank(passages[:depth], expected)
    return 1.0 / rank if rank else 0.0


def ndcg_at_k(passages: Sequence[Any], expected: Sequence[dict[str, str]], k: int) -> float:
    """Binary-gain nDCG: a passage gains 1 when it satisfies an expected item no earlier passage satisfied."""
    if not expected:
        return 0.0
    credited: set[int] = set()
    dcg = 0.0
    for i, passage in enumerate(passages[:k], 1):
        for j, e in enumerate(expected):
            if j not in credited and _matches(passage, e):
                credited.add(j)
                dcg += 1.0 / math.log2(i + 1)
                break
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(expected), k) + 1))
    return dcg / ideal if ideal else 0.0


@dataclass
class ModeReport:
    mode: str
    questions: int = 0
    recall: float = 0.0
    hit_at_1: float = 0.0
    mrr: float = 0.0
    ndcg: float = 0.0
    code_questions: int = 0
    code_hit_at_1: float = 0.0
    code_doc_hit_at_1: float = 0.0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class EvalReport:
    k: int
    qa_file: str
    modes: dict[str, ModeReport]
    unanswerable: int = 0
    unknown_code_flagged: int = 0
    unknown_code_questions: int = 0
    skipped: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "k": self.k, "qa_file": self.qa_file, "mrr_depth": MRR_DEPTH,
            "unanswerable": self.unanswerable, "skipped": self.skipped,
            "unknown_code_questions": self.unknown_code_questions, "unknown_code_flagged": self.unknown_code_flagged,
            "modes": {name: report.to_json() for name, report in self.modes.items()},
        }


def _carries(passage: Any, keys: Sequence[str]) -> bool:
    """Does the passage's text, title, section or code metadata name one of these code keys?"""
    from rag_car.text.codes import code_key, find_codes, split_delimited

    meta = passage.metadata
    found = {c.key for c in find_codes(f"{passage.text}\n{passage.title}\n{passage.section}")}
    found |= {code_key(c) for c in split_delimited(meta.get("codes")) + split_delimited(meta.get("refs"))}
    return any(key in found for key in keys)


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def evaluate(retriever: Any, items: Iterable[QAItem], k: int = 5, modes: Sequence[str] = MODES) -> EvalReport:
    """Search every question in every mode and score the rankings (see the module docstring)."""
    items = list(items)
    depth = max(k, MRR_DEPTH)
    # exact-code questions: those tagged "code" when the file uses the tag, else those naming a code the index knows
    tagged = any("code" in item.tags for item in items)
    reports = {mode: ModeReport(mode) for mode in modes}
    sums = {mode: {"recall": 0.0, "hit1": 0.0, "rr": 0.0, "ndcg": 0.0, "code": 0.0, "code_doc": 0.0} for mode in modes}
    latencies: dict[str, list[float]] = {mode: [] for mode in modes}
    report = EvalReport(k=k, qa_file="", modes=reports)
    for item in items:
        if not item.answerable:
            report.unanswerable += 1
        for mode in modes:
            start = time.perf_counter()
            result = retriever.search(item.question, k=depth, history=item.history, mode=mode)
            latencies[mode].append((time.perf_counter() - start) * 1000)
            if mode == modes[0] and not item.answerable and result.codes:
                report.unknown_code_questions += 1
                report.unknown_code_flagged += int(bool(result.unknown_codes) and set(result.unknown_codes) == set(result.codes))
            if not item.answerable or not item.expected:
                continue
            r = reports[mode]
            r.questions += 1
            passages = result.passages
            rank = first_hit_rank(passages[:depth], item.expected)
            s = sums[mode]
            s["recall"] += recall_at_k(passages, item.expected, k)
            s["hit1"] += 1.0 if rank == 1 else 0.0
            s["rr"] += reciprocal_rank(passages, item.expected, depth)
            s["ndcg"] += ndcg_at_k(passages, item.expected, k)
            known_codes = [c for c in result.codes if c not in result.unknown_codes]
            if ("code" in item.tags) if tagged else bool(known_codes):
                r.code_questions += 1
                s["code"] += 1.0 if rank == 1 else 0.0
                top = passages[0] if passages else None
                same_doc = top is not None and any(
                    is_hit(top.source, "", {"source": e["source"]}) for e in item.expected)
                s["code_doc"] += 1.0 if same_doc and _carries(top, known_codes) else 0.0
            if rank is None or rank > k:
                r.misses.append({
                    "id": item.id, "question": item.question, "query": result.query,
                    "expected": item.expected, "rank": rank,
                    "got": [f"{p.source.rsplit('/', 1)[-1]} :: {p.title} > {p.section}" for p in passages[:3]],
                })
    if not any(r.questions for r in reports.values()):
        report.skipped = len(items)
    for mode, r in reports.items():
        n = r.questions or 1
        s = sums[mode]
        r.recall, r.hit_at_1, r.mrr, r.ndcg = s["recall"] / n, s["hit1"] / n, s["rr"] / n, s["ndcg"] / n
        r.code_hit_at_1 = s["code"] / r.code_questions if r.code_questions else 0.0
        r.code_doc_hit_at_1 = s["code_doc"] / r.code_questions if r.code_questions else 0.0
        r.latency_ms_p50 = statistics.median(latencies[mode]) if latencies[mode] else 0.0
        r.latency_ms_p95 = _percentile(latencies[mode], 0.95)
    return report


def format_report(report: EvalReport) -> str:
    """A plain-text table of the modes side by side, then the misses of each mode."""
    k = report.k
    header = (f"{'mode':<8} {'n':>4} {f'recall@{k}':>9} {'hit@1':>6} {f'MRR@{MRR_DEPTH}':>7} {f'nDCG@{k}':>7} "
              f"{'code@1':>9} {'codedoc@1':>9} {'p50 ms':>7}")
    lines = [header, "-" * len(header)]
    for r in report.modes.values():
        code = f"{r.code_hit_at_1:.3f}/{r.code_questions}" if r.code_questions else "-"
        code_doc = f"{r.code_doc_hit_at_1:.3f}" if r.code_questions else "-"
        lines.append(f"{r.mode:<8} {r.questions:>4} {r.recall:>9.3f} {r.hit_at_1:>6.3f} {r.mrr:>7.3f} {r.ndcg:>7.3f} "
                     f"{code:>9} {code_doc:>9} {r.latency_ms_p50:>7.1f}")
    lines.append(f"(MRR looks {MRR_DEPTH} deep; code@1: exact-code questions whose first passage is an expected section; "
                 "codedoc@1: whose first passage is from an expected document and names the code)")
    if report.unanswerable:
        lines.append(f"unanswerable questions: {report.unanswerable} (left out of the metrics); "
                     f"with codes: {report.unknown_code_questions}, flagged as unknown: {report.unknown_code_flagged}")
    for r in report.modes.values():
        if r.misses:
            lines.append(f"\nmisses of {r.mode} (not in the top {k}): {len(r.misses)}")
            for miss in r.misses:
                want = "; ".join(f"{e['source']} :: {e['section']}" for e in miss["expected"])
                lines.append(f"  [{miss['id']}] {miss['question']}")
                lines.append(f"      expected {want} (rank {miss['rank'] or '>' + str(MRR_DEPTH)})")
                for got in miss["got"]:
                    lines.append(f"      got      {got}")
    return "\n".join(lines)
