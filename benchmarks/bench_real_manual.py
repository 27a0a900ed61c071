"""Real-manual benchmark (#15): `rag-car eval answers` on all three sets with default settings, and the extractive
answer latency, this code side by side with a baseline revision's (default: 82e4a7d, main before issue 15).

    .venv/bin/python benchmarks/bench_real_manual.py                                  # index the three corpora
    .venv/bin/python benchmarks/bench_real_manual.py --index manual=/work/coord/rm-data   # reuse an index (copied)
    .venv/bin/python benchmarks/bench_real_manual.py --sets manual --baseline none        # this code only

Sets: ``bundled`` tests/eval/qa.jsonl over knowledge/; ``real`` tests/eval/real_qa.jsonl over ../shared/data
nhtsa, dtc and ovms-docs; ``manual`` tests/eval/real_manual_qa.jsonl over the corpus its header names
(../shared/data/real-manual/manual_md). Each corpus is indexed once by `rag-car ingest` with default settings (this
code's ingest; both sides answer from that same index). Each side answers in its own process (``--worker``, with
only that side's rag_car on PYTHONPATH): a warm-up question, then every question twice (first pass, then warm: the
sentence and query caches filled), and a top-5 search per question; the sides take turns going first. All answers are scored here by this code's
rules (rag_car.answer.evaluate), so the two sides differ only in how they answer. Latency is the assistant's own
``total_ms`` (retrieval included). The load average is recorded: other processes sharing the 2 cores slow every
figure down. Writes benchmarks/results/real_manual.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
BASELINE = "82e4a7d"
WARM_UP = "How do I open the hood?"
ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "true", "SCARF_NO_ANALYTICS": "true",
       "ANONYMIZED_TELEMETRY": "False"}


def set_paths() -> dict[str, tuple[Path, list[Path]]]:
    """Set name -> (QA file, the corpus paths `rag-car ingest` indexes for it)."""
    from rag_car.knowledge.retrieve.evaluate import read_set_info

    manual_qa = ROOT / "tests" / "eval" / "real_manual_qa.jsonl"
    info = read_set_info(manual_qa) if (SHARED / "real-manual").is_dir() else None
    return {
        "bundled": (ROOT / "tests" / "eval" / "qa.jsonl", [ROOT / "knowledge"]),
        "real": (ROOT / "tests" / "eval" / "real_qa.jsonl", [SHARED / "nhtsa", SHARED / "dtc", SHARED / "ovms-docs"]),
        "manual": (manual_qa, [info.corpus] if info and info.corpus else []),
    }


# -- the worker: runs with one side's rag_car; uses only what both sides have (Assistant.ask, Answer.to_json) -------
def worker(data_dir: Path, qa: Path, out: Path) -> None:
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    import rag_car
    from rag_car.answer.assistant import Assistant
    from rag_car.settings import load_settings

    questions = [raw for raw in (json.loads(line) for line in qa.read_text(encoding="utf-8").splitlines() if line.strip())
                 if "question" in raw]

    def persona(raw: dict) -> str | None:
        return raw.get("persona") or next((t for t in raw.get("tags") or [] if t in ("owner", "technician")), None)

    with Assistant(load_settings(overrides={"data_dir": str(data_dir)})) as assistant:
        t = time.perf_counter()
        assistant.ask(WARM_UP)
        warm_up_s = time.perf_counter() - t
        passes = []
        for _ in range(2):
            passes.append([assistant.ask(q["question"], history=[{"role": "user", "content": h} for h in q.get("history") or []],
                                         persona=persona(q), backend="extractive").to_json() for q in questions])
        retrieved = []
        for q in questions:
            result = assistant.retriever.search(q["question"], k=5, history=q.get("history") or [])
            retrieved.append([{"source": p.source, "section": p.section, "title": p.title, "text": p.text}
                              for p in result.passages[:5]])
    out.write_text(json.dumps({"rag_car": rag_car.__file__, "warm_up_s": round(warm_up_s, 2), "passes": passes,
                               "retrieved": retrieved}), encoding="utf-8")


# -- scoring the workers' answers with this code's rules ----------------------------------------------------------
@dataclass(frozen=True)
class Cited:
    source: str
    section: str
    title: str
    text: str
    duplicates: tuple = ()


@dataclass
class Replayed:
    """An answer read back from a worker's JSON (the fields the scoring reads)."""

    answer: str
    abstained: bool
    grounded: bool
    backend: str
    fallback: str | None
    confidence: float
    timings: dict[str, float]
    citations: list[Cited] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Replayed":
        return cls(answer=data.get("answer", ""), abstained=bool(data.get("abstained")), grounded=bool(data.get("grounded")),
                   backend=str(data.get("backend", "")), fallback=data.get("fallback"),
                   confidence=float(data.get("confidence") or 0.0), timings=dict(data.get("timings") or {}),
                   citations=[Cited(c.get("source", ""), c.get("section", ""), c.get("title", ""), c.get("text", ""))
                              for c in data.get("citations") or []])


def score(qa_set, answers: list[dict], retrieved: list[list[dict]], chunks: list[Any], label: str):
    from rag_car.answer.evaluate import BackendReport, score_answer

    report = BackendReport(backend=label)
    for item, answer, passages in zip(qa_set.items, answers, retrieved):
        report.items.append(score_answer(item, Replayed.from_json(answer), chunks=chunks, warnings=qa_set.warnings,
                                         retrieved=[Cited(**p) for p in passages]))
    return report


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


# -- the run --------------------------------------------------------------------------------------------------------
def build_index(name: str, corpus: list[Path], work: Path, reuse: dict[str, Path]) -> tuple[Path, dict]:
    data_dir = work / f"index-{name}"
    if name in reuse:
        shutil.copytree(reuse[name], data_dir, ignore=shutil.ignore_patterns("*.lock", "READY", "BUILDING"))
        return data_dir, {"reused": str(reuse[name])}
    t = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "rag_car", "--data-dir", str(data_dir), "ingest", *map(str, corpus)],
                            env={**os.environ, **ENV, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"ingest of {name} failed: {result.stderr[-2000:]}")
    return data_dir, {"ingest_s": round(time.perf_counter() - t, 1)}


def run_worker(code: Path, data_dir: Path, qa: Path, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_CAR_")}
    env.update(ENV, PYTHONPATH=str(code))
    t = time.perf_counter()
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", "--data-dir", str(data_dir),
                             "--qa", str(qa), "--out", str(out)], env=env, cwd=code, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"worker on {code} failed: {result.stderr[-3000:]}")
    data = json.loads(out.read_text(encoding="utf-8"))
    data["seconds"] = round(time.perf_counter() - t, 1)
    return data


def baseline_tree(rev: str, work: Path) -> Path:
    """The baseline revision's files (git archive), to put its rag_car on a worker's PYTHONPATH."""
    tree = work / f"baseline-{rev}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


ROWS = [("warning kept (hazard + instruction)", "warnings_kept"), ("safety warning carried", "safety_warning"),
        ("expected facts stated", "facts"), ("answerable wrongly refused", "false_abstain"),
        ("uncovered / unanswerable refused", "abstain_unanswerable"), ("expected source cited", "source_cited"),
        ("expected section in first 5 citations", "section_top5"), ("expected section in top 5 retrieved", "retrieved_top5")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--qa", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sets", nargs="+", default=["bundled", "real", "manual"], choices=["bundled", "real", "manual"])
    parser.add_argument("--index", action="append", default=[], metavar="SET=DIR",
                        help="reuse a data dir whose index holds that set's corpus (copied first)")
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare with, or 'none'")
    parser.add_argument("--out", type=Path, default=RESULTS / "real_manual.json")
    args = parser.parse_args()
    if args.worker:
        worker(args.data_dir, args.qa, args.out)
        return 0

    sys.path.insert(0, str(ROOT))
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    from rag_car.answer.evaluate import format_reports, load_set
    from rag_car.knowledge.retrieve import open_retriever
    from rag_car.settings import load_settings

    reuse = dict((k, Path(v)) for k, v in (spec.split("=", 1) for spec in args.index))
    work = Path(tempfile.mkdtemp(prefix="rag-car-bench-real-manual-"))
    sides = {"this": ROOT}
    if args.baseline != "none":
        sides[args.baseline] = baseline_tree(args.baseline, work)
    load_before = os.getloadavg()
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "load_before": [round(x, 2) for x in load_before]},
                               "baseline": args.baseline, "sets": {}}
    paths = set_paths()
    for number, name in enumerate(args.sets):
        qa, corpus = paths[name]
        if not corpus or not all(p.exists() for p in corpus):
            print(f"{name}: corpus not found, skipped", file=sys.stderr)
            continue
        qa_set = load_set(qa)
        data_dir, index_info = build_index(name, corpus, work, reuse)
        with open_retriever(load_settings(overrides={"data_dir": str(data_dir)})) as retriever:
            chunks = list(retriever.store.iter_all())
        entry: dict[str, Any] = {"qa": str(qa.relative_to(ROOT)), "questions": len(qa_set.items), "chunks": len(chunks),
                                 "index": index_info, "sides": {}}
        reports = []
        # the sides take turns going first (the first process of a set may meet colder caches and a busier machine)
        order = list(sides.items()) if number % 2 == 0 else list(sides.items())[::-1]
        for label, code in order:
            print(f"{name}: {label} answering {len(qa_set.items)} questions twice ...", file=sys.stderr)
            copy = work / f"run-{name}-{label}"
            shutil.copytree(data_dir, copy)  # each side starts from the same index and empty answer caches
            data = run_worker(code, copy, qa, work / f"answers-{name}-{label}.json")
            first = score(qa_set, data["passes"][0], data["retrieved"], chunks, label)
            warm = [a["timings"].get("total_ms", 0.0) for a in data["passes"][1]]
            reports.append(first)
            # the answers quote third-party manuals: the results file keeps ids and problems, never their text
            misses = [{k: v for k, v in miss.items() if k != "answer"} for miss in first.misses()]
            entry["sides"][label] = {"metrics": first.metrics(), "misses": misses,
                                     "first_pass_p50_ms": p50([a["timings"].get("total_ms", 0.0) for a in data["passes"][0]]),
                                     "warm_p50_ms": p50(warm), "warm_p95_ms": round(sorted(warm)[int(0.95 * (len(warm) - 1))], 1),
                                     "warm_up_s": data["warm_up_s"], "seconds": data["seconds"], "rag_car": data["rag_car"]}
        reports.sort(key=lambda r: list(sides).index(r.backend))
        entry["sides"] = {label: entry["sides"][label] for label in sides}
        results["sets"][name] = entry
        print(f"\n## {name}: {entry['qa']} ({entry['questions']} questions, {entry['chunks']} chunks)\n")
        print(format_reports(reports))
        print("\n| latency, extractive, incl. retrieval | target | " + " | ".join(entry["sides"]) + " |")
        print("|---|---|" + "---|" * len(entry["sides"]))
        for key, label in (("first_pass_p50_ms", "p50 first pass ms"), ("warm_p50_ms", "p50 warm ms"),
                           ("warm_p95_ms", "p95 warm ms")):
            target = "<= 50 ms" if key == "warm_p50_ms" else ""
            print(f"| {label} | {target} | " + " | ".join(f"{s[key]:.1f}" for s in entry["sides"].values()) + " |")
        if len(entry["sides"]) == 2:
            this, base = entry["sides"]["this"], entry["sides"][args.baseline]
            print(f"| ratio this / {args.baseline}, p50 warm | | {this['warm_p50_ms'] / base['warm_p50_ms']:.2f} |")
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print("\n## Summary (this code)\n")
    print("| measure | " + " | ".join(results["sets"]) + " |")
    print("|---|" + "---|" * len(results["sets"]))
    for label, key in ROWS:
        cells = []
        for entry in results["sets"].values():
            value = entry["sides"]["this"]["metrics"].get(key)
            cells.append("-" if value is None else f"{value:.1%}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\nload average before {load_before[0]:.2f}, after {results['load_after'][0]:.2f} "
          "(2 cores: above 2 means other processes were competing)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
