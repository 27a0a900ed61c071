"""Decompression and parser bombs: time to refusal and peak RSS of each, in a fresh child process.

    .venv/bin/python benchmarks/bench_bombs.py
    .venv/bin/python benchmarks/bench_bombs.py --unguarded 20     # also each bomb with the limits raised, killed after 20 s

The bombs are made at run time in a temporary folder (tests/ingest/bombs.py): a DOCX whose document.xml unpacks
to 400 MB, one whose central directory understates it, one of 3,000 parts, HTML nested 1,000,000 levels deep,
a PDF of 20,000 pages, one whose /Count says 1 for 20,000 pages, a PDF page drawing 5 million characters, a
40 MB single-line text file. Each runs in its own child process through ``load_file`` (what ``rag-car ingest``
calls per file) and through the web UI's upload check (``check_upload``); the child's peak RSS comes from
``os.wait4`` (ru_maxrss), the time from the child's own clock around the call. A baseline child that only
imports the same modules gives the RSS the bombs add. Targets (issue #19): refused, under 5 s, under 1 GB.
``--unguarded S``: the same bombs with every limit raised 1000 times, each child stopped after S seconds
(and capped at 3 GB of address space), to show what the limits save.
Results: a table on stdout and benchmarks/results/bombs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ingest"))

BOMBS = {
    "docx-400MB": ("bomb.docx", lambda b, p: b.make_docx(p, ["A real paragraph."], padding_mb=400)),
    "docx-forged-size": ("forged.docx", lambda b, p: b.make_lying_docx(p, real_mb=200)),
    "docx-3000-parts": ("parts.docx", lambda b, p: b.make_docx(p, ["A real paragraph."], extra_members=3000)),
    "html-1M-deep": ("deep.html", lambda b, p: b.make_html_nesting_bomb(p, 1_000_000)),
    "pdf-20000-pages": ("pages.pdf", lambda b, p: b.make_pdf_pages_bomb(p, 20_000)),
    "pdf-forged-count": ("forged.pdf", lambda b, p: b.make_pdf_pages_bomb(p, 20_000, declared_count=1)),
    "pdf-5M-chars-page": ("text.pdf", lambda b, p: b.make_pdf_text_bomb(p, 5_000_000)),
    "text-40MB-line": ("huge.txt", lambda b, p: b.make_text_bomb(p, 40)),
}
UNGUARDED = {"max_unpacked_mb": 1e5, "max_zip_members": 10**7, "max_html_depth": 10**7, "max_html_elements": 10**9,
             "max_pdf_pages": 10**7, "max_page_chars": 10**9, "max_text_mb": 1e5}


def child(path: str, how: str, unguarded: bool) -> None:
    """In the child: read one file the way ingest (``load``) or the upload check (``upload``) does; print JSON."""
    from rag_car.errors import IngestError
    from rag_car.knowledge.load import load_file
    from rag_car.knowledge.load.limits import InputLimits
    from ui.uploads import check_upload

    limits = InputLimits(**UNGUARDED) if unguarded else InputLimits()
    data_path = Path(path)
    started = time.perf_counter()
    try:
        if how == "upload":
            check_upload(data_path.name, data_path.read_bytes(), 10**9, limits)
        else:
            load_file(data_path, max_bytes=10**9, limits=limits)
        outcome, message = "accepted", ""
    except IngestError as exc:
        outcome, message = "refused", str(exc)
    except Exception as exc:  # noqa: BLE001 - reported, the benchmark goes on
        outcome, message = "crashed", f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    print(json.dumps({"outcome": outcome, "seconds": round(seconds, 3), "message": message[:300]}))


def run_child(args: list[str], timeout: float | None, address_cap: int | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def limit() -> None:
        if address_cap:
            resource.setrlimit(resource.RLIMIT_AS, (address_cap, address_cap))

    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, preexec_fn=limit if address_cap else None)
    killed = False
    deadline = started + timeout if timeout else None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if deadline and time.perf_counter() > deadline:
            process.kill()
            killed = True
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - started
    out = process.stdout.read().decode("utf-8", "replace").strip().splitlines()
    err = process.stderr.read().decode("utf-8", "replace").strip().splitlines()
    process.stdout.close()
    process.stderr.close()
    row = json.loads(out[-1]) if out and out[-1].startswith("{") else {
        "outcome": "killed" if killed else "died", "seconds": round(wall, 3), "message": (err[-1] if err else "")[:300]}
    row["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # kilobytes on Linux
    row["child_wall_s"] = round(wall, 3)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unguarded", type=float, default=0, metavar="S",
                        help="also run each bomb with the limits raised, killed after S seconds (0: skip)")
    parser.add_argument("--child", nargs=3, metavar=("PATH", "HOW", "UNGUARDED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child[0] == "-":  # the baseline: imports only
            from rag_car.knowledge.load import load_file  # noqa: F401
            from ui.uploads import check_upload  # noqa: F401
            import pypdf  # noqa: F401

            print(json.dumps({"outcome": "baseline", "seconds": 0.0, "message": ""}))
            return 0
        child(args.child[0], args.child[1], args.child[2] == "1")
        return 0

    import bombs

    out = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_at_start": os.getloadavg()[0]},
           "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "baseline": run_child(["--child", "-", "load", "0"], 120),
           "bombs": []}
    print(f"baseline child (imports only): peak RSS {out['baseline']['peak_rss_mb']} MB; load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="rag-car-bombs-") as tmp:
        for key, (name, make) in BOMBS.items():
            path = make(bombs, Path(tmp) / name)
            row = {"bomb": key, "file_mb": round(path.stat().st_size / 1e6, 2)}
            for how in ("load", "upload"):
                result = run_child(["--child", str(path), how, "0"], 120)
                row[how] = result
                ok = result["outcome"] == "refused" and result["seconds"] < 5 and result["peak_rss_mb"] < 1024
                row[f"{how}_within_targets"] = ok
            if args.unguarded:
                row["unguarded"] = run_child(["--child", str(path), "load", "1"], args.unguarded, address_cap=3 * 1024**3)
            out["bombs"].append(row)
            load, upload = row["load"], row["upload"]
            line = (f"{key:<18} {row['file_mb']:>6.2f} MB | ingest: {load['outcome']} in {load['seconds']:.2f} s, "
                    f"peak {load['peak_rss_mb']:.0f} MB | upload: {upload['outcome']} in {upload['seconds']:.2f} s, "
                    f"peak {upload['peak_rss_mb']:.0f} MB")
            if args.unguarded:
                u = row["unguarded"]
                line += f" | unguarded: {u['outcome']} after {u['seconds']:.1f} s, peak {u['peak_rss_mb']:.0f} MB"
            print(line)
            path.unlink()
    out["all_within_targets"] = all(r["load_within_targets"] and r["upload_within_targets"] for r in out["bombs"])
    out["loadavg_at_end"] = os.getloadavg()[0]
    print(f"all refused under 5 s and 1 GB: {out['all_within_targets']}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bombs.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    print(f"wrote {RESULTS / 'bombs.json'}")
    return 0 if out["all_within_targets"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
