"""Ingest benchmarks: pipeline throughput against a bare SentenceTransformer.encode of the same chunk texts,
re-ingest speed-up, and peak memory while ingesting 10,000 chunks.

    .venv/bin/python benchmarks/bench_ingest.py [--chunks 10000] [--skip-bundled] [--skip-synthetic]

1. Bundled knowledge (knowledge/), in this process: encode() of the chunk texts, the pipeline (load, chunk,
   embed, store, manifest) with the model already loaded and the loaders warmed up, encode() again; the
   texts are exactly what the pipeline gives the model (context line + chunk text), same model object,
   same batch size.
   Then the same ingest with the chunks' sentences embedded for answers (`rag-car ingest`'s default,
   ingest.answer_sentences), into a new index: its time against the pipeline's.
2. A synthetic corpus of manual-like Markdown, text and HTML (>= --chunks chunks), through the real
   `rag-car ingest --no-answer-sentences` in a subprocess: its peak RSS, its throughput (model loading excluded, everything else
   included), then encode() of the same texts here; then the unchanged re-run in a subprocess.
Ratios are pipeline/bare throughput, on wall time and on CPU time (CPU time is steadier when other
processes share the machine). Writes benchmarks/results/ingest.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag_car.offline import apply_offline_env  # noqa: E402

apply_offline_env()

WORDS = (
    "engine coolant thermostat radiator fan relay harness connector voltage ground circuit module sensor pressure "
    "temperature torque bolt gasket pump valve injector ignition coil spark plug misfire catalyst oxygen idle "
    "throttle pedal brake caliper pad rotor fluid hose clamp battery alternator starter fuse wiring software "
    "update inspect replace measure check clean tighten loosen remove install drain fill bleed reset calibrate "
    "transmission clutch gear shift steering suspension wheel tire tread bearing seal leak noise vibration "
    "warning lamp display message driver passenger door window seat belt airbag mirror lamp bulb socket"
).split()


def make_corpus(folder: Path, target_chunks: int, seed: int = 11) -> None:
    """Manual-like documents: ~20 chunks each, mixed Markdown / plain text / HTML, headings, lists, tables, codes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def sentence() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(9, 18))]
        if rng.random() < 0.15:
            words.insert(rng.randint(0, len(words)), f"P0{rng.randint(100, 999)}")
        if rng.random() < 0.1:
            words.append(f"{rng.randint(5, 120)} Nm")
        return " ".join(words).capitalize() + "."

    def paragraph(n: int = 0) -> str:
        return " ".join(sentence() for _ in range(n or rng.randint(3, 7)))

    n_files = max(1, target_chunks // 20 + 1)
    for i in range(n_files):
        kind = ("md", "md", "txt", "html")[i % 4]
        sections = []
        for s in range(8):
            body = [paragraph() for _ in range(rng.randint(3, 5))]
            items = [sentence() for _ in range(rng.randint(2, 4))]
            rows = [(f"{rng.choice(WORDS)} {rng.choice(WORDS)}", f"{rng.randint(1, 300)} {rng.choice(['Nm', 'kPa', 'mm', 'V'])}")
                    for _ in range(rng.randint(3, 6))] if s % 3 == 0 else []
            sections.append((f"{rng.choice(WORDS).capitalize()} {rng.choice(WORDS)} procedure {i}.{s}", body, items, rows))
        title = f"Workshop manual part {i}"
        path = folder / f"manual_{i:05d}.{kind}"
        if kind == "md":
            out = [f"# {title}", ""]
            for heading, body, items, rows in sections:
                out += [f"## {heading}", ""] + [p + "\n" for p in body] + [f"{k + 1}. {t}" for k, t in enumerate(items)] + [""]
                if rows:
                    out += ["| Item | Value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows] + [""]
            path.write_text("\n".join(out), encoding="utf-8")
        elif kind == "txt":
            out = [title, "=" * len(title), ""]
            for heading, body, items, rows in sections:
                out += [heading, "-" * len(heading), ""] + [p + "\n" for p in body] + [f"  {k + 1}. {t}" for k, t in enumerate(items)] + [""]
            path.write_text("\n".join(out), encoding="utf-8")
        else:
            out = [f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"]
            for heading, body, items, rows in sections:
                out.append(f"<h2>{heading}</h2>" + "".join(f"<p>{p}</p>" for p in body)
                           + "<ol>" + "".join(f"<li>{t}</li>" for t in items) + "</ol>")
                if rows:
                    out.append("<table><tr><th>Item</th><th>Value</th></tr>"
                               + "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows) + "</table>")
            out.append("</body></html>")
            path.write_text("\n".join(out), encoding="utf-8")


def settings_for(data_dir: Path):
    from rag_car.settings import load_settings

    return load_settings(overrides={"data_dir": str(data_dir), "embedding": {"model": ""}})


def texts_in_store(settings) -> list[str]:
    from chromadb.api.client import SharedSystemClient

    from rag_car.knowledge.chunk import embedding_text
    from rag_car.knowledge.store import open_store

    SharedSystemClient.clear_system_cache()
    with open_store(settings, create=False) as store:
        return [embedding_text(c) for c in store.iter_all()]


def bare_encode(model, texts: list[str], batch_size: int) -> tuple[float, float]:
    """(wall s, CPU s) of one SentenceTransformer.encode over the texts."""
    wall, cpu = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - wall, time.process_time() - cpu


class _TokenizerOnly:
    """The real model's tokenizer and limits, zero vectors: chunks exactly as the pipeline makes them, no model time."""

    def __init__(self, embedder) -> None:
        self.name, self.dim, self.max_tokens, self.loaded = embedder.name, embedder.dim, embedder.max_tokens, True
        self.count_tokens = embedder.count_tokens

    def embed_documents(self, texts):
        import numpy as np

        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        vectors[:, 0] = 1.0
        return vectors


def bench_bundled(embedder, work: Path) -> dict:
    """bare encode, pipeline, bare encode again (the machine's load drifts): pipeline vs the mean of the two."""
    from rag_car.knowledge.ingest import ingest
    from rag_car.knowledge.load import load_file

    dry = settings_for(work / "bundled-dry")
    ingest(dry, [ROOT / "knowledge"], embedder=_TokenizerOnly(embedder))  # also warms up unstructured and spaCy
    texts = texts_in_store(dry)
    load_file(ROOT / "knowledge" / "service" / "engine_lubrication.txt")
    embedder.embed_documents(["warm up"])
    bare_1 = bare_encode(embedder.model, texts, embedder.batch_size)
    settings = settings_for(work / "bundled")
    wall, cpu = time.perf_counter(), time.process_time()
    report = ingest(settings, [ROOT / "knowledge"], embedder=embedder)
    pipe_wall, pipe_cpu = time.perf_counter() - wall, time.process_time() - cpu
    bare_2 = bare_encode(embedder.model, texts, embedder.batch_size)
    assert sorted(texts_in_store(settings)) == sorted(texts)  # the very same texts went through the model
    bare_wall, bare_cpu = (bare_1[0] + bare_2[0]) / 2, (bare_1[1] + bare_2[1]) / 2
    n = len(texts)
    # the same ingest as `rag-car ingest` runs it by default: with the chunks' sentences embedded for answers
    from rag_car.answer.vectors import ingest_fill

    filled = settings_for(work / "bundled-filled")
    fill = ingest_fill(filled, embedder)
    wall = time.perf_counter()
    ingest(filled, [ROOT / "knowledge"], embedder=embedder, after_add=fill)
    fill_wall = time.perf_counter() - wall
    fill.vectors.close()
    return {
        "with_answer_sentences_s": fill_wall, "answer_sentences": fill.to_json(),
        "answer_sentences_cost": fill_wall / pipe_wall,
        "corpus": "bundled knowledge/", "files": report.count("ingested"), "chunks": n,
        "pipeline_chunks_per_s": n / pipe_wall, "bare_chunks_per_s": n / bare_wall, "ratio_wall": bare_wall / pipe_wall,
        "pipeline_cpu_s": pipe_cpu, "bare_cpu_s": bare_cpu, "ratio_cpu": bare_cpu / pipe_cpu,
        "pipeline_s": pipe_wall, "bare_s": bare_wall, "bare_runs_s": [bare_1[0], bare_2[0]],
    }


def run_cli(args: list[str], env: dict) -> tuple[dict, float, float, float]:
    """Run `rag-car ...` to the end: (JSON summary, wall s, child CPU s, child peak RSS MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "rag_car", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"rag-car {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads(result.stdout), wall, cpu, after.ru_maxrss / 1024


def bench_synthetic(embedder, work: Path, target: int) -> dict:
    corpus = work / "corpus"
    make_corpus(corpus, target)
    data = work / "synthetic"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_CAR_")}
    env["RAG_CAR_DATA_DIR"] = str(data)
    # without the answer sentences: the ratio compares the index work with encode() of the same chunk texts
    first, first_wall, first_cpu, peak_mib = run_cli(["ingest", str(corpus), "--quiet", "--json", "--no-answer-sentences"], env)
    n = first["chunks_added"]
    pipe_s = first["seconds"] - first["model_load_seconds"]
    texts = texts_in_store(settings_for(data))
    assert len(texts) == n
    embedder.embed_documents(["warm up"])
    bare_wall, bare_cpu = bare_encode(embedder.model, texts, embedder.batch_size)
    second, second_wall, _, _ = run_cli(["ingest", str(corpus), "--quiet", "--json"], env)
    assert second["chunks_added"] == 0 and second["embedded"] == 0
    return {
        "corpus": f"synthetic ({first['files_ingested']} files)", "files": first["files_ingested"], "chunks": n,
        "pipeline_chunks_per_s": n / pipe_s, "bare_chunks_per_s": n / bare_wall, "ratio_wall": bare_wall / pipe_s,
        "pipeline_cpu_s": first_cpu, "bare_cpu_s": bare_cpu, "ratio_cpu": bare_cpu / first_cpu,
        "pipeline_s": pipe_s, "bare_s": bare_wall, "model_load_s": first["model_load_seconds"],
        "first_ingest_wall_s": first_wall, "reingest_wall_s": second_wall, "reingest_speedup": first_wall / second_wall,
        "peak_rss_mib": peak_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000, help="size of the synthetic corpus in chunks (default 10000)")
    parser.add_argument("--skip-bundled", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "ingest.json")
    args = parser.parse_args()

    from rag_car.knowledge.embed import load_embedder

    embedder = load_embedder(settings_for(Path(tempfile.gettempdir())))
    load = time.perf_counter()
    embedder.model  # noqa: B018
    load = time.perf_counter() - load
    rows = []
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    with tempfile.TemporaryDirectory(prefix="rag-car-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_bundled:
            rows.append(bench_bundled(embedder, work))
            print(f"bundled: {rows[-1]['chunks']} chunks, ratio {rows[-1]['ratio_wall']:.3f}", flush=True)
        if not args.skip_synthetic:
            rows.append(bench_synthetic(embedder, work, args.chunks))
    load_avg = os.getloadavg()
    result = {"started": started, "cpus": os.cpu_count(), "load_average_at_end": load_avg, "model": embedder.name,
              "batch_size": embedder.batch_size, "model_load_s": load, "rows": rows}
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))

    print(f"\nrag-car ingest benchmark ({embedder.name}, batch {embedder.batch_size}, {os.cpu_count()} CPUs, "
          f"load average at end {load_avg[0]:.1f})")
    print(f"{'corpus':<28} {'chunks':>7} {'pipeline/s':>11} {'bare/s':>8} {'ratio wall':>11} {'ratio CPU':>10}")
    for row in rows:
        print(f"{row['corpus']:<28} {row['chunks']:>7} {row['pipeline_chunks_per_s']:>11.2f} {row['bare_chunks_per_s']:>8.2f} "
              f"{row['ratio_wall']:>11.3f} {row['ratio_cpu']:>10.3f}")
    for row in rows:
        if "answer_sentences" in row:
            a = row["answer_sentences"]
            print(f"{row['corpus']}: with the answer sentences (rag-car ingest's default) {row['with_answer_sentences_s']:.1f} s "
                  f"vs {row['pipeline_s']:.1f} s without ({row['answer_sentences_cost']:.2f}x; {a['embedded']} sentences "
                  f"embedded in {a['seconds']:.1f} s)")
    for row in rows:
        if "reingest_speedup" in row:
            print(f"re-ingest unchanged: {row['first_ingest_wall_s']:.1f} s -> {row['reingest_wall_s']:.2f} s "
                  f"= {row['reingest_speedup']:.0f}x faster (both as `rag-car ingest` subprocesses, startup included)")
            print(f"peak RSS ingesting {row['chunks']} chunks: {row['peak_rss_mib']:.0f} MiB")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
