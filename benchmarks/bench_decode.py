"""Decode benchmark: `rag-car decode --jsonl` against a bare cantools loop writing the same JSON lines.

    .venv/bin/python benchmarks/bench_decode.py               # 11 copies of the Kona logs (513,139 frames), 3 rounds
    .venv/bin/python benchmarks/bench_decode.py --copies 3 --rounds 1

Input: the four real Kona logs of ../shared/data (46,649 frames, candump and PCAN .trc) concatenated
``--copies`` times into one candump -L file, each copy's timestamps shifted after the previous one.
Two whole processes per round, start-up included, in alternating order, both writing to a file:

* ours: ``python -m rag_car decode --dbc hyundai_can.dbc big.log --jsonl`` (its parsed-DBC cache warm);
* baseline: a plain script: cantools loads the DBC (its two malformed CM_ lines removed by a regex),
  python-can's LogReader reads the log, and per frame ``Message.decode(data, decode_choices=True)``
  gives values and labels (choice values turned back into numbers as decode_choices=False gives them)
  and ``json.dumps`` writes the line. Both skip python-can's asammdf import, so that start-up
  differences come from the programs, not from that one-second import.

The outputs must be byte-identical (checked by hash). The same is repeated for one copy (the real
logs as they are), where fewer payloads repeat. Results: a table and benchmarks/results/decode.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
KONA = SHARED / "eldominio-canbuslogs" / "kona"
KONA_LOGS = ["turnonlog.log", "keyon.trc", "runlog.trc", "startlog.trc"]
DBC = SHARED / "opendbc" / "hyundai_can.dbc"
RESULTS = ROOT / "benchmarks" / "results"

BASELINE = r'''
import json, re, sys
sys.modules["asammdf"] = None  # python-can's MF4 support, not needed for a candump log
import can, cantools
from cantools.database.namedsignalvalue import NamedSignalValue

dbc, log = sys.argv[1], sys.argv[2]
text = re.sub(r'^CM_ \d+ ".*";\s*$', "", open(dbc, encoding="utf-8").read(), flags=re.M)
db = cantools.database.load_string(text, database_format="dbc")
write = sys.stdout.write
frames = decoded = unknown = errors = 0
for msg in can.LogReader(log):
    frames += 1
    try:
        message = db.get_message_by_frame_id(msg.arbitration_id)
    except KeyError:
        unknown += 1
        continue
    if message.is_extended_frame != msg.is_extended_id:
        unknown += 1
        continue
    try:
        values = message.decode(msg.data, decode_choices=True)
    except Exception:
        errors += 1
        continue
    signals, labels = {}, {}
    for name, value in values.items():
        if isinstance(value, NamedSignalValue):
            labels[name] = value.name
            value = message.get_signal_by_name(name).conversion.raw_to_scaled(value.value, False)
        signals[name] = value
    decoded += 1
    channel = None if msg.channel is None else str(msg.channel)
    write(json.dumps({"t": msg.timestamp, "channel": channel, "id": msg.arbitration_id, "message": message.name,
                      "signals": signals, "labels": labels}, ensure_ascii=False) + "\n")
sys.stdout.flush()
print(json.dumps({"frames": frames, "decoded": decoded, "unknown": unknown, "errors": errors}), file=sys.stderr)
'''


def build_log(path: Path, copies: int) -> int:
    """The Kona logs as one candump -L file, ``copies`` times, timestamps shifted to follow each other."""
    sys.path.insert(0, str(ROOT))
    from rag_car.vehicle.logs import open_log

    frames = [m for name in KONA_LOGS for m in open_log(KONA / name)]
    count = 0
    offset = 0.0
    previous_end = None
    with path.open("w") as out:
        for _copy in range(copies):
            for log in KONA_LOGS:
                log_frames = [m for m in open_log(KONA / log)]
                start = log_frames[0].timestamp
                if previous_end is not None:
                    offset = previous_end + 0.01 - start
                for msg in log_frames:
                    stamp = msg.timestamp + offset
                    ident = f"{msg.arbitration_id:08X}" if msg.is_extended_id else f"{msg.arbitration_id:03X}"
                    out.write(f"({stamp:.6f}) can0 {ident}#{bytes(msg.data).hex().upper()}\n")
                    count += 1
                previous_end = log_frames[-1].timestamp + offset
    assert count == len(frames) * copies
    return count


def timed(command: list[str], out_path: Path, env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    with out_path.open("w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[:4]} failed:\n{result.stderr}")
    return elapsed, result.stderr.strip().splitlines()[-1]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare(log: Path, rounds: int, work: Path, env: dict) -> dict:
    ours_cmd = [sys.executable, "-m", "rag_car", "decode", "--dbc", str(DBC), str(log), "--jsonl"]
    base_cmd = [sys.executable, "-c", BASELINE, str(DBC), str(log)]
    ours_times, base_times = [], []
    summary = None
    for index in range(rounds):
        order = [("ours", ours_cmd), ("base", base_cmd)] if index % 2 == 0 else [("base", base_cmd), ("ours", ours_cmd)]
        for name, command in order:
            elapsed, last = timed(command, work / f"{name}.jsonl", env)
            (ours_times if name == "ours" else base_times).append(elapsed)
            if name == "ours":
                summary = json.loads(last)
    same = digest(work / "ours.jsonl") == digest(work / "base.jsonl")
    ours, base = statistics.median(ours_times), statistics.median(base_times)
    frames = summary["frames"]
    return {
        "frames": frames, "decoded": summary["decoded"], "cache_hits": summary["cache_hits"],
        "hit_rate": round(summary["cache_hits"] / max(1, summary["decoded"]), 3),
        "ours_s": round(ours, 3), "baseline_s": round(base, 3),
        "ours_frames_per_s": round(frames / ours), "baseline_frames_per_s": round(frames / base),
        "ratio": round(base / ours, 2), "identical_output": same,
        "ours_all_s": [round(t, 3) for t in ours_times], "baseline_all_s": [round(t, 3) for t in base_times],
    }


def startup(env: dict, repeats: int = 5) -> dict:
    out = {}
    for label, command in (("python -c pass", [sys.executable, "-c", "pass"]),
                           ("rag-car decode --help", [sys.executable, "-m", "rag_car", "decode", "--help"]),
                           ("rag-car monitor --help", [sys.executable, "-m", "rag_car", "monitor", "--help"])):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
            times.append(time.perf_counter() - started)
        out[label] = round(statistics.median(times), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=11, help="copies of the Kona logs (11 = 513,139 frames)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not DBC.is_file():
        raise SystemExit(f"needs the shared data at {SHARED}")
    with tempfile.TemporaryDirectory(prefix="rag-car-bench-decode-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "RAG_CAR_DATA_DIR": str(work / "data"), "PYTHONPATH": str(ROOT)}
        big, one = work / "kona_big.log", work / "kona_once.log"
        total = build_log(big, args.copies)
        build_log(one, 1)
        # warm the parsed-DBC cache, as after the first use
        cold, _ = timed([sys.executable, "-m", "rag_car", "decode", "--dbc", str(DBC), str(one), "--jsonl"],
                        work / "warm.jsonl", env)
        results = {
            "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
                        "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M")},
            "startup_s": startup(env),
            "first_run_cold_dbc_cache_s": round(cold, 3),
            f"kona_x{args.copies}": compare(big, args.rounds, work, env),
            "kona_x1": compare(one, args.rounds, work, env),
        }
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "decode.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"decode --jsonl vs bare cantools loop (whole processes, median of {args.rounds}); "
          f"load average {results['machine']['load_average_at_start']} -> {results['machine']['load_average_at_end']}")
    print(f"{'input':<12}{'frames':>9}{'reuse':>7}{'ours s':>9}{'base s':>9}{'ours fr/s':>11}{'base fr/s':>11}{'ratio':>7}  same")
    for key in (f"kona_x{args.copies}", "kona_x1"):
        r = results[key]
        print(f"{key:<12}{r['frames']:>9}{r['hit_rate']:>7.0%}{r['ours_s']:>9.2f}{r['baseline_s']:>9.2f}"
              f"{r['ours_frames_per_s']:>11}{r['baseline_frames_per_s']:>11}{r['ratio']:>7.2f}  {r['identical_output']}")
    print("start-up:", ", ".join(f"{k} {v:.2f} s" for k, v in results["startup_s"].items()),
          f"; first decode with a cold DBC cache {results['first_run_cold_dbc_cache_s']:.2f} s")
    print(f"(wrote {RESULTS / 'decode.json'}; {total} frames in the big log)")


if __name__ == "__main__":
    main()
