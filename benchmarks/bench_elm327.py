"""ELM327 benchmark: PIDs per second polled from the same emulator, rag-car vs python-OBD side by side, and the time
from connect to the first DTC list and the first live readings.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_elm327.py [--seconds 8] [--rounds 3]

Peers (loopback, each in its own process so that its CPU is not the clients'):

* rag-car's own simulator face (`rag-car simulate --scenario misfire --elm327 127.0.0.1:0`), which answers six PIDs
  per request as J1979 allows;
* elmulator's p0420_basic scenario (`elmulator serve`), which answers one PID per request.

Clients, alternating in rounds over the same peer and the same PIDs (those both support):
rag-car's Elm327 (six PIDs a request where the peer allows it; also forced to one, to compare per request) and
python-OBD 0.7.3 (GPL, measured only, never imported by rag_car/), one `query` per PID.
Results: a table and benchmarks/results/elm327.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag_car.vehicle.elm327.adapter import Elm327  # noqa: E402
from rag_car.vehicle.elm327.feed import Elm327Feed  # noqa: E402
from rag_car.vehicle.elm327.link import open_link  # noqa: E402
from rag_car.vehicle.live import LiveState  # noqa: E402
from rag_car.vehicle.spec import parse_bus_spec  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DBC = ROOT / "dbc" / "aldmoor_corrin.dbc"
# the PIDs both peers answer: engine speed, coolant, vehicle speed, load, throttle, intake air
PIDS = (0x0C, 0x05, 0x0D, 0x04, 0x11, 0x0F)


def start_peer(kind: str) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if kind == "rag-car face":
        command = [sys.executable, "-m", "rag_car", "simulate", "--scenario", "misfire", "--elm327", "127.0.0.1:0"]
        pattern, stream = r"ELM327 adapter face on 127\.0\.0\.1:(\d+)", "stderr"
    else:
        command = [sys.executable, "-m", "elmulator", "serve", "p0420_basic", "--port", "0"]
        pattern, stream = r"LISTENING (\d+)", "stdout"
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pipe = getattr(process, stream)
    for _ in range(10):
        match = re.search(pattern, pipe.readline())
        if match:
            # drain the other pipe in the background so the peer never blocks on a full pipe
            other = process.stdout if stream == "stderr" else process.stderr
            threading.Thread(target=lambda: [None for _ in other], daemon=True).start()
            threading.Thread(target=lambda: [None for _ in pipe], daemon=True).start()
            return process, int(match.group(1))
    process.kill()
    raise RuntimeError(f"{kind} did not start")


def ragcar_rate(port: int, seconds: float, single: bool) -> dict:
    client = Elm327(open_link(parse_bus_spec(f"elm327:socket://127.0.0.1:{port}")), timeout_s=2.0)
    try:
        client.initialise()
        client.supported_pids()
        if not single:
            client.probe_multi_pid(list(PIDS))
        client.pids_per_request = 1 if single else client.pids_per_request
        values = 0
        requests_before = client.requests_sent
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            got, _ = client.read_pids(PIDS)
            values += sum(1 for v in got if v.ecu == 0x7E8)
        elapsed = time.perf_counter() - start
        return {"pids_per_s": round(values / elapsed, 1), "requests_per_s": round((client.requests_sent - requests_before) / elapsed, 1),
                "pids_per_request": client.pids_per_request}
    finally:
        client.close()


def python_obd_rate(port: int, seconds: float) -> dict:
    import obd

    obd.logger.setLevel(obd.logging.CRITICAL)
    connection = obd.OBD(f"socket://127.0.0.1:{port}", baudrate=38400, fast=False, check_voltage=False, timeout=2)
    try:
        commands = [obd.commands[1][pid] for pid in PIDS]
        values = requests = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for command in commands:
                response = connection.query(command, force=True)
                requests += 1
                values += 0 if response.is_null() else 1
        elapsed = time.perf_counter() - start
        return {"pids_per_s": round(values / elapsed, 1), "requests_per_s": round(requests / elapsed, 1), "pids_per_request": 1}
    finally:
        connection.close()


def ragcar_first(port: int) -> dict:
    state = LiveState(str(DBC))
    started = time.perf_counter()
    feed = Elm327Feed(f"elm327:socket://127.0.0.1:{port}", state, timeout_s=2.0).start(timeout_s=20)
    try:
        if not feed.wait_live(30):
            raise RuntimeError(f"rag-car never got its first readings: {state.snapshot().bus}")
        timings = dict(feed.timings)
    finally:
        feed.stop()
    return {"first_dtcs_s": timings["first_dtcs_s"],
            "first_readings_s": timings["first_readings_s"], "live_s": timings["live_s"],
            "wall_s": round(time.perf_counter() - started, 3)}


def python_obd_first(port: int) -> dict:
    import obd

    started = time.perf_counter()
    connection = obd.OBD(f"socket://127.0.0.1:{port}", baudrate=38400, fast=False, check_voltage=False, timeout=2)
    try:
        connected = time.perf_counter() - started
        connection.query(obd.commands.GET_DTC, force=True)
        dtcs = time.perf_counter() - started
        for pid in PIDS:
            connection.query(obd.commands[1][pid], force=True)
        readings = time.perf_counter() - started
    finally:
        connection.close()
    return {"connect_s": round(connected, 3), "first_dtcs_s": round(dtcs, 3), "first_readings_s": round(readings, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="polling time per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "pids": [f"{p:02X}" for p in PIDS], "seconds": args.seconds, "rounds": args.rounds, "peers": {}}
    for peer in ("rag-car face", "elmulator p0420_basic"):
        process, port = start_peer(peer)
        try:
            time.sleep(1.0)
            rows: dict[str, list[dict]] = {"rag-car": [], "rag-car (1 PID/request)": [], "python-OBD": []}
            firsts: dict[str, list[dict]] = {"rag-car": [], "python-OBD": []}
            for _ in range(args.rounds):  # alternate, so that a busy moment of the machine hits both
                rows["rag-car"].append(ragcar_rate(port, args.seconds, single=False))
                rows["rag-car (1 PID/request)"].append(ragcar_rate(port, args.seconds, single=True))
                rows["python-OBD"].append(python_obd_rate(port, args.seconds))
                firsts["rag-car"].append(ragcar_first(port))
                firsts["python-OBD"].append(python_obd_first(port))
        finally:
            process.terminate()
            process.wait(20)
        summary = {name: {"pids_per_s_median": statistics.median(r["pids_per_s"] for r in runs),
                          "requests_per_s_median": statistics.median(r["requests_per_s"] for r in runs),
                          "pids_per_request": runs[0]["pids_per_request"], "runs": runs}
                   for name, runs in rows.items()}
        ratio = summary["rag-car"]["pids_per_s_median"] / max(summary["python-OBD"]["pids_per_s_median"], 1e-9)
        first = {name: {key: statistics.median(r[key] for r in runs) for key in ("first_dtcs_s", "first_readings_s")}
                 for name, runs in firsts.items()}
        results["peers"][peer] = {"rates": summary, "ratio_pids_per_s": round(ratio, 2), "first": first, "first_runs": firsts}
        print(f"\n{peer}: PIDs/s polled ({args.rounds} rounds x {args.seconds:g} s, median)")
        for name, row in summary.items():
            print(f"  {name:26} {row['pids_per_s_median']:8.1f} PIDs/s  {row['requests_per_s_median']:7.1f} requests/s  "
                  f"({row['pids_per_request']} PID/request)")
        print(f"  ratio rag-car / python-OBD: {ratio:.2f}")
        for name, values in first.items():
            print(f"  {name:26} first DTC list {values['first_dtcs_s']:.2f} s, first readings {values['first_readings_s']:.2f} s"
                  " after connect started")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "elm327.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {RESULTS / 'elm327.json'}")


if __name__ == "__main__":
    main()
