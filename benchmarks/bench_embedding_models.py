"""Embedding models side by side: retrieval quality of each candidate on every question set, and its speed.

    .venv/bin/python benchmarks/bench_embedding_models.py                      # MiniLM and USE multilingual v3
    .venv/bin/python benchmarks/bench_embedding_models.py --sets bundled,zh-en --models minilm,use

For each model the corpora are ingested once with that model (the same chunking, so only the vectors differ)
and every question set is scored dense-only and hybrid (dense + BM25, default fusion): recall@5, hit@1, MRR.
Sets: bundled (tests/eval/qa.jsonl over knowledge/), zh-en (Chinese questions over the same English documents,
tests/eval/zh_en_qa.jsonl), real (tests/eval/real_qa.jsonl over ../shared/data NHTSA, DTC and OVMS files) and
real-manual (tests/eval/real_manual_qa.jsonl over ../shared/data/real-manual, when both exist).
Speed: one short question embedded, p50 over all questions; chunks embedded per second during ingest.
Results: a table on stdout and benchmarks/results/embedding-models.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag_car.offline import apply_offline_env  # noqa: E402

apply_offline_env()

from rag_car.settings import load_settings  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
EVAL = ROOT / "tests" / "eval"
MODELS = {"minilm": "", "use": "use-multilingual-v3"}
SETS = {
    "bundled": (EVAL / "qa.jsonl", "bundled", [ROOT / "knowledge"]),
    "zh-en": (EVAL / "zh_en_qa.jsonl", "bundled", [ROOT / "knowledge"]),
    "real": (EVAL / "real_qa.jsonl", "real", [SHARED / p for p in ("nhtsa", "dtc", "ovms-docs")]),
    "real-manual": (EVAL / "real_manual_qa.jsonl", "real-manual", [SHARED / "real-manual" / "manual_md"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--work", type=Path, default=None, help="keep the indexes here (reused when present)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "embedding-models.json")
    args = parser.parse_args()

    from rag_car.knowledge.ingest import ingest
    from rag_car.knowledge.retrieve import open_retriever
    from rag_car.knowledge.retrieve.evaluate import evaluate, load_qa

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-embed-"))
    sets = [s for s in args.sets.split(",") if SETS[s][0].is_file() and all(p.exists() for p in SETS[s][2])]
    results: dict = {"sets": sets, "models": {}}
    for key in args.models.split(","):
        model = MODELS[key]
        corpora: dict[str, dict] = {}
        rows = {}
        for name in sets:
            qa_path, corpus, sources = SETS[name]
            data_dir = work / f"{key}-{corpus}"
            settings = load_settings(overrides={"data_dir": str(data_dir), "embedding": {"model": model},
                                                "ingest": {"answer_sentences": False}})
            if corpus not in corpora:
                t = time.perf_counter()
                report = ingest(settings, sources)
                seconds = time.perf_counter() - t
                chunks = sum(f.chunks_added for f in report.files)
                corpora[corpus] = {"ingest_s": round(seconds, 1), "chunks_added": chunks}
            items = load_qa(qa_path)
            with open_retriever(settings) as retriever:
                report = evaluate(retriever, items, k=5, modes=["dense", "hybrid"])
                embed_ms = []
                for item in items:
                    t = time.perf_counter()
                    retriever.embedder.embed_query(item.question)
                    embed_ms.append((time.perf_counter() - t) * 1000)
            rows[name] = {mode: {"n": r.questions, "recall@5": round(r.recall, 3), "hit@1": round(r.hit_at_1, 3),
                                 "mrr": round(r.mrr, 3), "misses": [m["id"] for m in r.misses]}
                          for mode, r in report.modes.items()}
            rows[name]["query_embed_p50_ms"] = round(statistics.median(embed_ms), 2)
            print(f"{key:<7} {name:<12} " + "  ".join(
                f"{mode}: R@5 {v['recall@5']:.3f} hit@1 {v['hit@1']:.3f} MRR {v['mrr']:.3f} (n={v['n']})"
                for mode, v in rows[name].items() if isinstance(v, dict)) + f"  embed p50 {rows[name]['query_embed_p50_ms']} ms",
                flush=True)
        results["models"][key] = {"model": model or "all-MiniLM-L6-v2", "corpora": corpora, "sets": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
