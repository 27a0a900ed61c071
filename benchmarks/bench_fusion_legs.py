"""Retrieval quality of an English question's third leg (the multilingual companion, USE) in the fusion, side by side.

    .venv/bin/python benchmarks/bench_fusion_legs.py \
        --set tests/eval/real_manual_qa.jsonl=DIR_RM --set tests/eval/real_manual_holdout.jsonl=DIR_RM \
        --set tests/eval/qa.jsonl=DIR_BUNDLED --set tests/eval/real_qa.jsonl=DIR_REAL

Each ``--set QA=DIR`` scores a QA file over a data dir that already indexes its corpus with both embeddings (the
English model and the companion, ``embedding.multilingual``): one retriever per data dir, opened as ``rag-car eval
retrieval`` opens it (the indexed sentences re-rank the candidates), and for every variant of rag_car.tuning the
same questions at k=5 in hybrid mode: recall@5, hit@1, MRR@10 and search p50. Then the cost of the companion's
query embedding for an English question (p50 over the questions, model warm). Results: a table on stdout and
benchmarks/results/fusion_legs.json. The data dirs get caches written: pass copies.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag_car.offline import apply_offline_env  # noqa: E402

apply_offline_env()

from rag_car.settings import load_settings  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"

# label -> RetrievalTuning changes (the default first)
VARIANTS = [
    ("default (MiniLM + BM25)", {}),
    ("+USE x0.25", {"use_weight": 0.25}),
    ("+USE x0.5", {"use_weight": 0.5}),
    ("+USE x1.0", {"use_weight": 1.0}),
    ("+USE x0.5 re-rank only", {"use_weight": 0.5, "use_pool": False}),
    ("+USE x1.0 re-rank only", {"use_weight": 1.0, "use_pool": False}),
    ("rrf k=60", {"fusion": "rrf"}),
    ("rrf k=60 +USE x1.0", {"fusion": "rrf", "use_weight": 1.0}),
    ("rrf k=60 +USE x0.5", {"fusion": "rrf", "use_weight": 0.5}),
]


def main(argv: list[str] | None = None) -> int:
    from rag_car.answer.vectors import open_best_sentences
    from rag_car.knowledge.retrieve import open_retriever
    from rag_car.knowledge.retrieve.evaluate import evaluate, load_qa
    from rag_car.text.lang import detect_language
    from rag_car.tuning import TUNING

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", required=True, metavar="QA=DIR")
    parser.add_argument("--only", action="append", help="only the variants with these labels")
    parser.add_argument("--out", type=Path, default=RESULTS / "fusion_legs.json")
    args = parser.parse_args(argv)
    variants = [v for v in VARIANTS if not args.only or v[0] in args.only]
    by_dir: dict[str, list[Path]] = {}
    for spec in args.set:
        qa, _, data_dir = spec.partition("=")
        by_dir.setdefault(data_dir, []).append(Path(qa))
    results: dict[str, dict] = {}
    embed_ms: list[float] = []
    for data_dir, qa_files in by_dir.items():
        settings = load_settings(overrides={"data_dir": data_dir})
        with open_retriever(settings) as retriever, open_best_sentences(settings, retriever.embedder) as best:
            retriever.sentences = best
            if retriever._cross_ready() is None:
                print(f"{data_dir}: no multilingual companion, the USE variants equal the default")
            for qa in qa_files:
                items = load_qa(qa)
                rows = []
                for label, changes in variants:
                    retriever.tuning = TUNING.with_retrieval(**changes)
                    r = evaluate(retriever, items, k=5, modes=["hybrid"]).modes["hybrid"]
                    rows.append({"variant": label, "n": r.questions, "recall@5": round(r.recall, 4),
                                 "hit@1": round(r.hit_at_1, 4), "mrr@10": round(r.mrr, 4),
                                 "p50_ms": round(r.latency_ms_p50, 1), "misses": [m["id"] for m in r.misses]})
                results[qa.name] = {"qa": str(qa), "rows": rows}
                print(f"\n{qa} ({rows[0]['n']} scored questions)")
                print(f"{'variant':<26} {'R@5':>6} {'hit@1':>6} {'MRR':>6} {'p50':>6}")
                for row in rows:
                    print(f"{row['variant']:<26} {row['recall@5']:>6.3f} {row['hit@1']:>6.3f} {row['mrr@10']:>6.3f} "
                          f"{row['p50_ms']:>6.1f}")
                if retriever.multilingual is not None and retriever._cross_ready() is not None:
                    for item in items:
                        if detect_language(item.question) == "en":
                            t = time.perf_counter()
                            retriever.multilingual.embed_query(item.question)
                            embed_ms.append((time.perf_counter() - t) * 1000)
            retriever.tuning = TUNING
    if embed_ms:
        results["use_query_embed_ms_p50"] = round(statistics.median(embed_ms), 2)
        print(f"\nUSE query embedding of an English question: p50 {statistics.median(embed_ms):.1f} ms "
              f"over {len(embed_ms)} questions")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
