"""Live-path benchmark: bus -> python-can Notifier -> decode -> LiveState, with real Kona frames.

    .venv/bin/python benchmarks/bench_live.py                     # everything; the loss runs last 60 s each
    .venv/bin/python benchmarks/bench_live.py --loss-seconds 10   # shorter loss runs

Parts (the receiving process is pinned to one core; the frames are the 46,649 frames of the four real
Kona logs in ../shared/data, decoded with opendbc's hyundai_can.dbc):

* state only: LiveState.on_frame in a loop (first pass, and steady state when every payload was seen);
* live path, one core: frames queued on a python-can virtual bus, then drained through a real
  Notifier into the LiveState (the bus is the driver's receive queue);
* one process, one core: a sender thread and the receiving path share the core (python-can's virtual
  bus deep-copies every frame it sends, which costs more than the receiving side);
* loss (not pinned unless --pin-paced): frames sent at a paced 8,000 frames/s for --loss-seconds, sent vs received counted, over the
  in-process virtual bus and across processes over a real python-can-remote server on loopback;
* latency: 2,000 frames/s for --latency-seconds; latency is from the frame's bus timestamp (set when
  it is put on the bus) to the moment the LiveState has it, measured by a listener after the state.
Results: a table and benchmarks/results/live.json (--output). On a shared machine, --nice -10 (root) keeps
other work from preempting the receiving threads; the results say which was used.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag_car.vehicle.pycan import import_can  # noqa: E402

can = import_can()

from rag_car.vehicle.dbc import load_dbc  # noqa: E402
from rag_car.vehicle.feed import open_feed  # noqa: E402
from rag_car.vehicle.live import LiveState  # noqa: E402
from rag_car.vehicle.logs import open_log  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
KONA = SHARED / "eldominio-canbuslogs" / "kona"
KONA_LOGS = ["turnonlog.log", "keyon.trc", "runlog.trc", "startlog.trc"]
DBC = SHARED / "opendbc" / "hyundai_can.dbc"
RESULTS = ROOT / "benchmarks" / "results"

PACED_SENDER = r'''
import sys, time
sys.modules["asammdf"] = None
import can
url, rate, seconds, log_list = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
frames = [m for name in log_list for m in can.LogReader(name)]
bus = can.Bus(interface="remote", channel=url)
print("ready", flush=True)
sys.stdin.readline()
sent, total = 0, int(rate * seconds)
start = time.perf_counter()
while sent < total:
    due = min(total, int((time.perf_counter() - start) * rate) + 1)
    while sent < due:
        bus.send(frames[sent % len(frames)])
        sent += 1
    time.sleep(0.0005)
elapsed = time.perf_counter() - start
print(f"sent {sent} {elapsed:.3f}", flush=True)
time.sleep(0.5)
bus.shutdown()
'''

SERVER_MAIN = (
    "import runpy, sys\n"
    "sys.modules['asammdf'] = None\n"
    "sys.argv[0] = 'can_remote'\n"
    "runpy.run_module('can_remote', run_name='__main__', alter_sys=True)\n"
)


class LatencyProbe(can.Listener):
    """Listed after the LiveState in the Notifier: sees each frame right after the state has it."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.active = True

    def on_message_received(self, msg) -> None:
        if self.active:
            self.samples.append(time.time() - msg.timestamp)


def kona_frames():
    return [m for name in KONA_LOGS for m in open_log(KONA / name)]


def new_state(db) -> LiveState:
    return LiveState(db)


ALL_CPUS = set(os.sched_getaffinity(0))


def unpinned() -> None:
    """For the server and sender processes: any core, not the receiver's pinned one only."""
    os.sched_setaffinity(0, ALL_CPUS)


def pin_one_core() -> int:
    cpus = sorted(ALL_CPUS)
    core = cpus[-1]
    os.sched_setaffinity(0, {core})
    return core


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def state_only(db, frames) -> dict:
    state = new_state(db)
    started = time.perf_counter()
    for msg in frames:
        state.on_frame(msg)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for msg in frames:
        state.on_frame(msg)
    steady = time.perf_counter() - started
    return {"first_pass_frames_per_s": round(len(frames) / first), "steady_frames_per_s": round(len(frames) / steady)}


def live_path_drain(db, frames, passes: int = 5) -> dict:
    state = new_state(db)
    channel = "bench-drain"
    rx = can.Bus(interface="virtual", channel=channel)
    tx = can.Bus(interface="virtual", channel=channel)
    total = len(frames) * passes
    for _ in range(passes):
        for msg in frames:
            tx.send(msg)
    started = time.perf_counter()
    notifier = can.Notifier(rx, [state], timeout=0.1)
    while state.counters.frames < total:
        time.sleep(0.001)
    elapsed = time.perf_counter() - started
    notifier.stop()
    rx.shutdown()
    tx.shutdown()
    return {"frames": total, "seconds": round(elapsed, 3), "frames_per_s": round(total / elapsed),
            "cache_hit_rate": round(state.counters.cache_hits / max(1, state.counters.decoded), 3)}


def one_process(db, frames, passes: int = 3) -> dict:
    state = new_state(db)
    total = len(frames) * passes
    with open_feed("virtual:bench-one-process", state):
        tx = can.Bus(interface="virtual", channel="bench-one-process")
        started = time.perf_counter()
        for _ in range(passes):
            for msg in frames:
                tx.send(msg)
        while state.counters.frames < total:
            time.sleep(0.001)
        elapsed = time.perf_counter() - started
        tx.shutdown()
    return {"frames": total, "frames_per_s": round(total / elapsed)}


def paced_virtual(db, frames, rate: float, seconds: float) -> dict:
    state = new_state(db)
    probe = LatencyProbe()
    channel = f"bench-paced-{rate:.0f}"
    sent = 0
    with open_feed(f"virtual:{channel}", state, listeners=[probe]):
        tx = can.Bus(interface="virtual", channel=channel)
        total = int(rate * seconds)
        started = time.perf_counter()
        while sent < total:
            due = min(total, int((time.perf_counter() - started) * rate) + 1)
            while sent < due:
                tx.send(frames[sent % len(frames)])
                sent += 1
            time.sleep(0.0005)
        send_time = time.perf_counter() - started
        deadline = time.monotonic() + 30
        while state.counters.frames < sent and time.monotonic() < deadline:
            time.sleep(0.01)
        received = state.counters.frames
        tx.shutdown()
    return summarize("virtual (in-process)", rate, seconds, sent, received, send_time, probe.samples)


def paced_remote(db, rate: float, seconds: float) -> dict:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER_MAIN, "-i", "virtual", "-c", "bench", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              preexec_fn=unpinned)
    try:
        wait_port(port)
        url = f"ws://127.0.0.1:{port}/"
        state = new_state(db)
        probe = LatencyProbe()
        with open_feed(f"remote:{url}", state, listeners=[probe]):
            sender = subprocess.Popen([sys.executable, "-c", PACED_SENDER, url, str(rate), str(seconds),
                                       *[str(KONA / name) for name in KONA_LOGS]],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, preexec_fn=unpinned)
            assert sender.stdout.readline().strip() == "ready"
            sender.stdin.write("go\n")
            sender.stdin.flush()
            line = sender.stdout.readline().split()
            sent, send_time = int(line[1]), float(line[2])
            deadline = time.monotonic() + 60
            while state.counters.frames < sent and time.monotonic() < deadline:
                time.sleep(0.01)
            received = state.counters.frames
            sender.wait(30)
        return summarize("remote (across processes)", rate, seconds, sent, received, send_time, probe.samples)
    finally:
        server.kill()
        server.wait()


def summarize(bus: str, rate: float, seconds: float, sent: int, received: int, send_time: float, samples) -> dict:
    ms = [s * 1000 for s in samples]
    return {"bus": bus, "target_frames_per_s": rate, "seconds": seconds, "sent": sent, "received": received,
            "lost": sent - received, "achieved_send_rate": round(sent / send_time),
            "latency_ms": {"p50": _round(percentile(ms, 0.50)), "p99": _round(percentile(ms, 0.99)),
                           "max": _round(max(ms) if ms else None)}}


def _round(value):
    return None if value is None else round(value, 3)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("python-can-remote server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loss-seconds", type=float, default=60.0)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--skip-remote", action="store_true")
    parser.add_argument("--pin-paced", action="store_true", help="keep the paced (loss, latency) runs on the one core too")
    parser.add_argument("--nice", type=int, default=0,
                        help="run at this nice value (e.g. -10 as root) so that other work on a shared machine "
                             "does not preempt the receiving threads; reported with the results")
    parser.add_argument("--output", default="live.json", help="file name under benchmarks/results/")
    args = parser.parse_args()
    if not DBC.is_file():
        raise SystemExit(f"needs the shared data at {SHARED}")
    warnings.simplefilter("ignore")
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # threads started later inherit it
    with tempfile.TemporaryDirectory() as cache:
        db = load_dbc(DBC, cache_dir=Path(cache))
    frames = kona_frames()
    # the DBC and the frames live as long as the process: keep the cyclic GC from walking them
    # (a full collection over them is a pause of tens of ms; rag-car monitor does the same)
    gc.collect()
    gc.freeze()
    core = pin_one_core()
    results: dict = {"machine": {"cpus": os.cpu_count(), "pinned_core": core, "python": platform.python_version(),
                                 "nice": args.nice,
                                 "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
                                 "date": time.strftime("%Y-%m-%d %H:%M")}}
    results["state_only"] = state_only(db, frames)
    results["live_path_one_core"] = live_path_drain(db, frames)
    results["one_process_one_core"] = one_process(db, frames)
    if not args.pin_paced:
        unpinned()  # the paced runs measure loss and latency of a normal process, not of one core
    results["machine"]["paced_runs_pinned"] = args.pin_paced
    runs = [paced_virtual(db, frames, 8000, args.loss_seconds), paced_virtual(db, frames, 2000, args.latency_seconds)]
    if not args.skip_remote:
        runs += [paced_remote(db, 8000, args.loss_seconds), paced_remote(db, 2000, args.latency_seconds)]
    results["paced"] = runs
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / args.output).write_text(json.dumps(results, indent=2) + "\n")

    print(f"live path on one core (core {core}, nice {args.nice}); load average {results['machine']['load_average_at_start']} -> "
          f"{results['machine']['load_average_at_end']}")
    print(f"  state only:          {results['state_only']['first_pass_frames_per_s']:>7} frames/s first pass, "
          f"{results['state_only']['steady_frames_per_s']} steady")
    print(f"  live path (drain):   {results['live_path_one_core']['frames_per_s']:>7} frames/s "
          f"(bus -> Notifier -> decode -> state, {results['live_path_one_core']['frames']} frames)")
    print(f"  one process:         {results['one_process_one_core']['frames_per_s']:>7} frames/s (sender on the same core)")
    print(f"  {'bus':<27}{'rate':>6}{'s':>5}{'sent':>9}{'received':>9}{'lost':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for run in runs:
        lat = run["latency_ms"]
        print(f"  {run['bus']:<27}{run['target_frames_per_s']:>6.0f}{run['seconds']:>5.0f}{run['sent']:>9}{run['received']:>9}"
              f"{run['lost']:>6}{lat['p50']:>9.2f}{lat['p99']:>9.2f}{lat['max']:>9.1f}")
    print(f"(wrote {RESULTS / args.output})")


if __name__ == "__main__":
    main()
