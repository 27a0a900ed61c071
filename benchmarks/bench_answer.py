"""Answer benchmark: the issue-8 metrics for extractive and llamacpp side by side, and their latency.

    .venv/bin/python benchmarks/bench_answer.py                       # index the bundled knowledge, all backends
    .venv/bin/python benchmarks/bench_answer.py --data-dir DIR        # reuse an index built by an earlier run
    .venv/bin/python benchmarks/bench_answer.py --backends extractive --limit 40

1. The bundled knowledge is indexed with the packaged all-MiniLM-L6-v2 (skipped when --data-dir already holds it).
2. Quality: every question of tests/eval/qa.jsonl through each backend (the persona from each question's tag):
   expected facts present, expected source cited, unanswerable questions abstained, safety warning carried.
3. Latency, warm (models loaded), on this machine: extractive per answer including retrieval, first pass over the
   questions on the new index (whose sentences `rag-car ingest` embedded, unless --no-answer-sentences), second
   pass, and, side by side in the same run, a first pass with an empty sentence cache (sentences embedded on the
   fly, as over an index built without them); llamacpp (packaged Gemma 3 270M) first
   token and whole answer on the completion prompts of the first --llm-prompts questions, through our backend and,
   alternating on the same model and prompts, through llama_cpp's create_completion alone (the raw baseline, with
   the ratio), and the OpenMP facts that decide llama.cpp's threading speed (--latency-only: just this part).
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


def ms_figures(report) -> dict:
    """p50/p95 of a BackendReport's per-answer total_ms."""
    values = [i.total_ms for i in report.items]
    return {"p50": round(statistics.median(values), 1), "p95": round(percentile(values, 0.95), 1)}


def main() -> int:
    from rag_car.offline import apply_offline_env

    apply_offline_env()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="data dir with (or for) the index")
    parser.add_argument("--backends", nargs="+", default=["extractive", "llamacpp"])
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--llm-prompts", type=int, default=20, help="prompts timed for llamacpp first token / total")
    parser.add_argument("--latency-only", action="store_true",
                        help="skip the quality pass: only the llamacpp latency (backend vs raw llama_cpp)")
    parser.add_argument("--no-answer-sentences", action="store_true",
                        help="index without embedding the chunks' sentences for answers (rag-car ingest "
                             "--no-answer-sentences): the extractive first pass then embeds them on the fly")
    parser.add_argument("--out", type=Path, default=RESULTS / "answer.json")
    args = parser.parse_args()

    from rag_car.answer.assistant import Assistant
    from rag_car.answer.evaluate import evaluate_answers, format_reports, load_items, reports_json
    from rag_car.answer.vectors import SentenceVectors, ingest_fill
    from rag_car.knowledge.embed import load_embedder
    from rag_car.knowledge.ingest import ingest
    from rag_car.settings import BUNDLED_KNOWLEDGE, load_settings

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="rag-car-bench-answer-"))
    settings = load_settings(overrides={"data_dir": str(data_dir),
                                        "ingest": {"answer_sentences": not args.no_answer_sentences}})
    load_before = os.getloadavg()
    # the index as `rag-car ingest` builds it (with the answer sentences unless --no-answer-sentences)
    embedder = load_embedder(settings)
    fill = ingest_fill(settings, embedder)
    t = time.perf_counter()
    report = ingest(settings, [BUNDLED_KNOWLEDGE], embedder=embedder, after_add=fill)
    ingest_s = time.perf_counter() - t
    if fill is not None:
        fill.vectors.close()
    sentences = fill.to_json() if fill is not None else None
    print(f"index: {data_dir} ({sum(f.chunks for f in report.files)} chunks, {report.chunks_added} new, {ingest_s:.1f} s"
          + (f", of which {sentences['seconds']:.1f} s embedding {sentences['embedded']} answer sentences" if sentences else "")
          + ")", file=sys.stderr)

    items = load_items(ROOT / "tests" / "eval" / "qa.jsonl")
    if args.limit:
        items = items[: args.limit]
    results: dict = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "load_before": [round(x, 2) for x in load_before]},
                     "questions": len(items), "data_dir": str(data_dir),
                     "index": {"new": report.chunks_added > 0, "chunks_added": report.chunks_added,
                               "ingest_s": round(ingest_s, 1), "answer_sentences": sentences}}
    reports = []
    with Assistant(settings) as assistant:
        chunks = list(assistant.retriever.store.iter_all())
        assistant.ask("warm up: what is the tire pressure?")  # loads the model, BM25, the vocabulary
        for key in ([] if args.latency_only else args.backends):
            print(f"{key}: {len(items)} questions ...", file=sys.stderr)
            reports.append(evaluate_answers(assistant, items, key, chunks=chunks))
            if key == "extractive":
                # second pass: every sentence vector of the first is cached now
                again = evaluate_answers(assistant, items, key, chunks=chunks)
                results["extractive_second_pass_ms"] = ms_figures(again)
                # side by side, same index and run: a first pass with an empty sentence cache (what an index built
                # with --no-answer-sentences, or by another machine, costs until the cache fills)
                assistant.embedder.clear()  # no question vector left over either
                cold = Assistant(settings, retriever=assistant.retriever,
                                 vectors=SentenceVectors(assistant.embedder, cache_path=None))
                cold.ask("warm up: what is the tire pressure?")
                results["extractive_empty_cache_ms"] = ms_figures(evaluate_answers(cold, items, key, chunks=chunks))
        if "llamacpp" in args.backends or args.latency_only:
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
        built = ("a new index" if report.chunks_added else "a reused index (cache state unknown)") + (
            ", sentences embedded at ingest" if sentences else ", sentences not embedded at ingest")
        print(f"| extractive p50 per answer, incl. retrieval (first pass, {built}) | <= 50 ms | {m['p50_ms']:.1f} ms |")
        second = results.get("extractive_second_pass_ms", {})
        if second:
            print(f"| extractive p50 per answer (second pass, sentence vectors cached) | <= 50 ms | {second['p50']:.1f} ms |")
        empty = results.get("extractive_empty_cache_ms", {})
        if empty:
            print(f"| extractive p50 per answer (first pass, empty sentence cache: sentences embedded on the fly) "
                  f"| <= 50 ms | {empty['p50']:.1f} ms |")
            print(f"| ratio first pass / empty-cache first pass (p50) | | {m['p50_ms'] / empty['p50']:.2f} |")
    lat = results.get("llamacpp_latency")
    if lat:
        print(f"| llamacpp first token p50 / p95 (backend) | <= 0.5 s | {lat['first_token_p50_s']:.2f} / "
              f"{lat['first_token_p95_s']:.2f} s |")
        print(f"| llamacpp whole answer p50 / p95 (<= {lat['max_tokens']} tokens) | <= 3 s | {lat['total_p50_s']:.2f} / "
              f"{lat['total_p95_s']:.2f} s |")
        print(f"| llamacpp tokens per second, prompt included / decoding only | | {lat['tokens_per_s']:.1f} / "
              f"{lat['decode_tokens_per_s']:.1f} |")
        print(f"\n## llamacpp: our backend vs raw llama_cpp, same model and prompts, alternating "
              f"({lat['prompts']} prompts, {lat['prompt_tokens_p50']:.0f} prompt tokens p50)\n")
        print("| measure | backend | raw llama_cpp | backend / raw |")
        print("|---|---|---|---|")
        print(f"| first token p50 | {lat['first_token_p50_s']:.3f} s | {lat['raw_first_token_p50_s']:.3f} s | "
              f"{lat['ratio_first_token_p50']:.2f} |")
        print(f"| first token p95 | {lat['first_token_p95_s']:.3f} s | {lat['raw_first_token_p95_s']:.3f} s | |")
        print(f"| decoding tokens/s | {lat['decode_tokens_per_s']:.1f} | {lat['raw_decode_tokens_per_s']:.1f} | "
              f"{lat['ratio_decode_tokens_per_s']:.2f} |")
        print(f"| tokens per answer (the backend stops after 3 sentences or a blank line) | "
              f"{lat['tokens_per_answer']:.0f} | {lat['raw_tokens_per_answer']:.0f} | |")
        print(f"| whole answer p50 | {lat['total_p50_s']:.2f} s | {lat['raw_total_p50_s']:.2f} s | |")
        omp = lat["openmp"]
        print(f"\nllama.cpp OpenMP: {omp['uses_openmp']}, OMP_WAIT_POLICY={omp['OMP_WAIT_POLICY']}, "
              f"GOMP_SPINCOUNT={omp['GOMP_SPINCOUNT']}, libgomp: {', '.join(omp['libgomp_loaded']) or 'none'}")
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
    """First token and whole-answer time of the packaged GGUF on the prompts the assistant builds, through our
    backend and, side by side on the same loaded model and prompts, through llama_cpp's own create_completion
    (the raw baseline). Each prompt runs once each way, the order alternating; the KV cache is cleared before each
    run so that neither reuses the other's prompt. Retrieval and prompt building happen before the clock starts;
    the grounding check is not part of the backend (it runs in the assistant)."""
    from rag_car.answer.assistant import _history
    from rag_car.answer.backends import Request
    from rag_car.answer.backends.llamacpp import REPEAT_PENALTY, STOP
    from rag_car.answer.backends.llamacpp import prompt_tokens as llamacpp_prompt_tokens
    from rag_car.answer.personas import get_persona
    from rag_car.answer.prompt import build_completion_prompt

    backend = assistant.backend("llamacpp")
    model = backend.load()
    llm = assistant.settings.llm
    requests = []
    for item in items:
        persona = get_persona(item.persona)
        turn = assistant._prepare(item.question, _history(item.history), persona, None, None, [])
        prompt = build_completion_prompt(turn.question, persona, turn.sources.docs, [], turn.ranking)
        requests.append(Request(question=turn.question, persona=persona, sources=turn.sources, ranking=turn.ranking,
                                completion_prompt=prompt, max_tokens=llm.max_tokens, temperature=0.0, timeout_s=120))

    def raw(request):
        chunks = model.create_completion(prompt=request.completion_prompt, max_tokens=request.max_tokens,
                                         temperature=0.0, repeat_penalty=REPEAT_PENALTY, stop=STOP, seed=0,
                                         stream=True)
        return (c["choices"][0].get("text") or "" for c in chunks)

    def timed(pieces, request) -> tuple[float, float, int]:
        """(first piece s, whole s, tokens generated): a piece may hold several tokens, so tokens are counted
        from the model's KV cache (cleared before the run): evaluated tokens less the prompt, plus the last one."""
        start = time.perf_counter()
        first = None
        for _piece in pieces:
            if first is None:
                first = time.perf_counter() - start
        total = time.perf_counter() - start
        generated = model.n_tokens - prompt_tokens[id(request)] + 1
        return (first if first is not None else total), total, max(generated, 0)

    prompt_tokens = {id(r): len(llamacpp_prompt_tokens(model, r.completion_prompt)) for r in requests}
    model.reset()
    list(backend.stream(requests[0]))  # first run of the model: compute buffers, weight pages
    runs: dict[str, list[tuple[float, float, int]]] = {"backend": [], "raw": []}
    for i, request in enumerate(requests):
        for way in (("backend", "raw") if i % 2 == 0 else ("raw", "backend")):
            model.reset()
            runs[way].append(timed(backend.stream(request) if way == "backend" else raw(request), request))
    out: dict = {"prompts": len(requests), "max_tokens": llm.max_tokens, "n_threads": llm.n_threads,
                 "prompt_tokens_p50": statistics.median(prompt_tokens.values()),
                 "openmp": openmp_facts()}
    for way, rows in runs.items():
        firsts, totals = [r[0] for r in rows], [r[1] for r in rows]
        tokens = sum(r[2] for r in rows)
        prefix = "" if way == "backend" else "raw_"
        out.update({
            f"{prefix}first_token_p50_s": round(statistics.median(firsts), 3),
            f"{prefix}first_token_p95_s": round(percentile(firsts, 0.95), 3),
            f"{prefix}total_p50_s": round(statistics.median(totals), 3),
            f"{prefix}total_p95_s": round(percentile(totals, 0.95), 3),
            f"{prefix}tokens_per_answer": round(tokens / len(rows), 1),
            # tokens over the whole time, prompt included (the figure reported before the raw baseline was added)
            f"{prefix}tokens_per_s": round(tokens / max(sum(totals), 1e-9), 1),
            # tokens after the first over the time after the first piece: the decoding speed alone
            f"{prefix}decode_tokens_per_s": round(sum(r[2] - 1 for r in rows if r[2] > 1)
                                                  / max(sum(r[1] - r[0] for r in rows if r[2] > 1), 1e-9), 1)})
    out["ratio_first_token_p50"] = round(out["first_token_p50_s"] / out["raw_first_token_p50_s"], 2)
    out["ratio_decode_tokens_per_s"] = round(out["decode_tokens_per_s"] / out["raw_decode_tokens_per_s"], 2)
    return out


def openmp_facts() -> dict:
    """What decides llama.cpp's threading speed here: whether its CPU library uses OpenMP, the wait policy and
    spin count it inherits, and which libgomp serves it (torch's when torch was loaded first)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        maps = ""
    libgomp = sorted({line.split()[-1] for line in maps.splitlines() if "libgomp" in line})
    return {"system_info": info.strip(), "uses_openmp": "OPENMP = 1" in info,
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"), "GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"),
            "libgomp_loaded": libgomp}


if __name__ == "__main__":
    raise SystemExit(main())
