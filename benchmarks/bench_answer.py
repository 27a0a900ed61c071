"""Answer benchmark: the issue-8 metrics for extractive and llamacpp side by side, and their latency.

    .venv/bin/python benchmarks/bench_answer.py                       # index the bundled knowledge, all backends
    .venv/bin/python benchmarks/bench_answer.py --data-dir DIR        # reuse an index built by an earlier run
    .venv/bin/python benchmarks/bench_answer.py --backends extractive --limit 40

1. The bundled knowledge is indexed with the packaged all-MiniLM-L6-v2 (skipped when --data-dir already holds it).
2. Quality: every question of tests/eval/qa.jsonl through each backend (the persona from each question's tag):
   expected facts present, expected source cited, unanswerable questions abstained, safety warning carried.
3. Latency, warm (models loaded), on this machine: extractive per answer including retrieval, first pass over the
   questions (sentence vectors not cached yet) and second pass (cached); llamacpp (packaged Gemma 3 270M) first
   token and whole answer on the completion prompts of the first --llm-prompts questions.
Side-by-side figures are given as llamacpp/extractive ratios. The load average is recorded: other processes
sharing the 2 cores slow everything down. Writes benchmarks/results/answer.json and prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="data dir with (or for) the index")
    parser.add_argument("--backends", nargs="+", default=["extractive", "llamacpp"])
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--llm-prompts", type=int, default=20, help="prompts timed for llamacpp first token / total")
    parser.add_argument("--out", type=Path, default=RESULTS / "answer.json")
    args = parser.parse_args()

    from rag_car.answer.assistant import Assistant
    from rag_car.answer.evaluate import evaluate_answers, format_reports, load_items, reports_json
    from rag_car.knowledge.ingest import ingest
    from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="rag-car-bench-answer-"))
    settings = load_settings(overrides={"data_dir": str(data_dir)})
    load_before = os.getloadavg()
    t = time.perf_counter()
    report = ingest(settings, [BUNDLED_KNOWLEDGE])
    ingest_s = time.perf_counter() - t
    print(f"index: {data_dir} ({sum(f.chunks for f in report.files)} chunks, {ingest_s:.1f} s)", file=sys.stderr)

    items = load_items(ROOT / "tests" / "eval" / "qa.jsonl")
    if args.limit:
        items = items[: args.limit]
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "load_before": [round(x, 2) for x in load_before]},
                     "questions": len(items), "data_dir": str(data_dir)}
    reports = []
    with Assistant(settings) as assistant:
        chunks = list(assistant.retriever.store.iter_all())
        assistant.ask("warm up: what is the tire pressure?")  # loads the model, BM25, the vocabulary
        for key in args.backends:
            print(f"{key}: {len(items)} questions ...", file=sys.stderr)
            reports.append(evaluate_answers(assistant, items, key, chunks=chunks))
            if key == "extractive":
                # second pass: the sentence vectors of the first are cached now
                again = evaluate_answers(assistant, items, key, chunks=chunks)
                results["extractive_second_pass_ms"] = {
                    "p50": round(statistics.median(i.total_ms for i in again.items), 1),
                    "p95": round(percentile([i.total_ms for i in again.items], 0.95), 1)}
        if "llamacpp" in args.backends:
            results["llamacpp_latency"] = time_llamacpp(assistant, items[: args.llm_prompts])
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results.update(reports_json(reports))

    print("\n## Answer quality (tests/eval/qa.jsonl)\n")
    print(format_reports(reports))
    metrics = {r.backend: r.metrics() for r in reports}
    print("\n## Latency, warm, this machine\n")
    print("| measure | target | value |")
    print("|---|---|---|")
    if "extractive" in metrics:
        m = metrics["extractive"]
        print(f"| extractive p50 per answer, incl. retrieval (first pass) | <= 50 ms | {m['p50_ms']:.1f} ms |")
        second = results.get("extractive_second_pass_ms", {})
        if second:
            print(f"| extractive p50 per answer (second pass, sentence vectors cached) | <= 50 ms | {second['p50']:.1f} ms |")
    lat = results.get("llamacpp_latency")
    if lat:
        print(f"| llamacpp first token p50 (backend) | <= 0.5 s | {lat['first_token_p50_s']:.2f} s |")
        print(f"| llamacpp whole answer p50 (<= {lat['max_tokens']} tokens) | <= 3 s | {lat['total_p50_s']:.2f} s |")
        print(f"| llamacpp tokens per second | | {lat['tokens_per_s']:.1f} |")
    if "extractive" in metrics and "llamacpp" in metrics:
        e, l = metrics["extractive"], metrics["llamacpp"]
        print("\n## llamacpp / extractive\n")
        print("| metric | ratio |")
        print("|---|---|")
        for key in ("facts", "source_cited", "abstain_unanswerable", "safety_warning", "p50_ms"):
            if e.get(key) and l.get(key) is not None:
                print(f"| {key} | {l[key] / e[key]:.2f} |")
    print(f"\nload average before {load_before[0]:.2f}, after {results['load_after'][0]:.2f} "
          f"(2 cores: above 2 means other processes were competing)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def time_llamacpp(assistant, items) -> dict:
    """First token and whole-answer time of the packaged GGUF on the prompts the assistant builds."""
    from rag_car.answer.assistant import _history
    from rag_car.answer.backends import Request
    from rag_car.answer.personas import get_persona
    from rag_car.answer.prompt import build_completion_prompt

    backend = assistant.backend("llamacpp")
    backend.load()
    llm = assistant.settings.llm
    firsts, totals, tokens = [], [], 0
    for item in items:
        persona = get_persona(item.persona)
        turn = assistant._prepare(item.question, _history(item.history), persona, None, None, [])
        prompt = build_completion_prompt(turn.question, persona, turn.sources.docs, [], turn.ranking)
        request = Request(question=turn.question, persona=persona, sources=turn.sources, ranking=turn.ranking,
                          completion_prompt=prompt, max_tokens=llm.max_tokens, temperature=0.0, timeout_s=120)
        start = time.perf_counter()
        first = None
        for _piece in backend.stream(request):
            if first is None:
                first = time.perf_counter() - start
            tokens += 1
        totals.append(time.perf_counter() - start)
        firsts.append(first if first is not None else totals[-1])
    return {"prompts": len(items), "max_tokens": llm.max_tokens, "n_threads": llm.n_threads,
            "first_token_p50_s": round(statistics.median(firsts), 3), "first_token_p95_s": round(percentile(firsts, 0.95), 3),
            "total_p50_s": round(statistics.median(totals), 3), "total_p95_s": round(percentile(totals, 0.95), 3),
            "tokens_per_s": round(tokens / max(sum(totals), 1e-9), 1)}


if __name__ == "__main__":
    raise SystemExit(main())
