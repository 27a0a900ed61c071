"""OpenMP wait policy benchmark: query and small-batch embedding with torch's threads spinning or sleeping.

    .venv/bin/python benchmarks/bench_threads.py [--queries 40] [--busy 2]

rag_car.offline sets OMP_WAIT_POLICY=PASSIVE for every entry point. This measures why, side by side in one run:
the packaged all-MiniLM-L6-v2 embeds --queries short questions one at a time and a batch of 64 sentences five
times, in a fresh process per policy (the policy is read once, when torch loads OpenMP), --rounds times
alternating, the median of the rounds reported; first on an idle
machine, then with --busy processes spinning on the cores (what another program, a test run or a second
rag-car does to a 2-core machine). Results: a table and benchmarks/results/threads.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, statistics, sys, time
from rag_car.offline import embedding_model_path
from sentence_transformers import SentenceTransformer
model = SentenceTransformer(embedding_model_path(), device="cpu")
model.encode("warm up")
queries = [f"what torque for bolt {i} of the rear brake caliper?" for i in range(int(sys.argv[1]))]
single = []
for q in queries:
    t = time.perf_counter(); model.encode(q); single.append((time.perf_counter() - t) * 1000)
sentences = [f"Tighten wheel nut {i} in a star pattern to 110 Nm and check it again after 50 km." for i in range(64)]
batch = []
for _ in range(5):
    t = time.perf_counter(); model.encode(sentences, batch_size=64); batch.append((time.perf_counter() - t) * 1000)
print(json.dumps({"query_p50_ms": statistics.median(single), "query_p95_ms": sorted(single)[int(0.95 * len(single))],
                  "batch64_ms": statistics.median(batch)}))
"""


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _measure(policy: str, queries: int) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY=policy, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, str(queries)], env=env, capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--busy", type=int, default=2, help="spinning processes for the loaded runs")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per policy and machine state, alternating")
    args = parser.parse_args()
    results: dict = {"cores": os.cpu_count(), "load_average_before": [round(x, 2) for x in os.getloadavg()],
                     "busy_processes": args.busy, "runs": []}
    for loaded in (False, True):
        stop = mp.Event()
        spinners = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(args.busy if loaded else 0)]
        for proc in spinners:
            proc.start()
        time.sleep(0.5 if loaded else 0)
        try:
            rounds: dict[str, list[dict]] = {"ACTIVE": [], "PASSIVE": []}
            for _ in range(args.rounds):
                for policy in rounds:
                    rounds[policy].append(_measure(policy, args.queries))
            for policy, runs in rounds.items():  # the median of the rounds, measure by measure
                row = {"machine": "busy" if loaded else "idle", "policy": policy, "rounds": len(runs)}
                row.update({k: statistics.median(r[k] for r in runs) for k in runs[0]})
                results["runs"].append(row)
        finally:
            stop.set()
            for proc in spinners:
                proc.join(timeout=5)
    print(f"{os.cpu_count()} cores, load average {results['load_average_before'][0]:.1f} at start; busy = {args.busy} spinning processes")
    print(f"{'machine':8} {'OMP_WAIT_POLICY':16} {'query p50 ms':>13} {'query p95 ms':>13} {'64 sentences ms':>16}")
    for row in results["runs"]:
        print(f"{row['machine']:8} {row['policy']:16} {row['query_p50_ms']:13.1f} {row['query_p95_ms']:13.1f} {row['batch64_ms']:16.1f}")
    by = {(r["machine"], r["policy"]): r for r in results["runs"]}
    for machine in ("idle", "busy"):
        active, passive = by[(machine, "ACTIVE")], by[(machine, "PASSIVE")]
        ratio = {k: round(active[k] / passive[k], 2) for k in ("query_p50_ms", "batch64_ms")}
        results[f"{machine}_active_over_passive"] = ratio
        print(f"{machine}: ACTIVE / PASSIVE time, query p50 {ratio['query_p50_ms']:.2f}x, 64 sentences {ratio['batch64_ms']:.2f}x")
    out = ROOT / "benchmarks" / "results" / "threads.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
