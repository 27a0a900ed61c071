"""Simulator and scan-tool benchmark: what the simulated vehicle costs, how fast OBD-II answers come, time to a fault.

    .venv/bin/python benchmarks/bench_simulator.py

Parts:

* vehicle model: SimulatedVehicle stepped at the runtime's 10 ms tick with every due frame encoded, no bus:
  CPU seconds per simulated second (the running simulator's own load) and frames built per second;
* OBD-II round trip through the real can-isotp stack, client and simulated ECM, in-process virtual bus vs.
  across processes over `rag-car simulate --serve` (python-can-remote on loopback): median and p95 per request
  for a single-frame answer (service 01 PID 0C) and a multi-frame one (service 09 PID 02, the VIN), as a ratio;
* time to fault: each bundled fault scenario at --time-scale 20 on an in-process virtual bus, from start until
  the live snapshot shows its DTC from the broadcast and from service 03, its lamp and its out-of-range signal;
* J1939 transport protocol: frames per second through the reassembler on the real CSS Electronics TP log.
Results: a table and benchmarks/results/simulator.json.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "simulator"))

from rag_car.vehicle.pycan import enable_mf4, import_can  # noqa: E402

can = import_can()

from rag_car.vehicle.diagnostics.ecu import ObdEcu  # noqa: E402
from rag_car.vehicle.diagnostics.j1939 import TransportReassembler  # noqa: E402
from rag_car.vehicle.diagnostics.obd import ObdClient  # noqa: E402
from rag_car.vehicle.simulator.runtime import build_vehicle, open_simulator  # noqa: E402
from sim_helpers import DBC, FACTS, FAULT_SCENARIOS, free_port, new_live_state, shows_fault, wait_for  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
TP_LOG = ROOT.parent / "shared" / "data" / "css-electronics" / "j1939_tp_FCBF0606_00000001.MF4"


def bench_model(seconds: float = 60.0) -> dict:
    vehicle = build_vehicle("normal", dbc=DBC, vehicle=FACTS)
    frames = 0
    start = time.process_time()
    now = 0.0
    for _ in range(int(seconds / 0.01)):
        now += 0.01
        vehicle.advance(0.01)
        frames += len(vehicle.frames_due(now))
    cpu = time.process_time() - start
    return {"simulated_s": seconds, "cpu_s": round(cpu, 3), "cpu_per_simulated_s": round(cpu / seconds, 4),
            "frames": frames, "frames_per_s_simulated": round(frames / seconds, 1), "frames_built_per_cpu_s": round(frames / cpu)}


def _round_trips(client: ObdClient, payload: bytes, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        responses = client.request(payload)
        times.append(time.perf_counter() - start)
        assert responses and responses[0].positive, responses
    return times


def _stats(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2)}


def bench_obd(n: int = 60) -> dict:
    results = {}
    # in-process: the simulated ECM on one virtual Bus, the scan tool on another
    channel = f"bench-{uuid.uuid4().hex[:6]}"
    ecu_bus, tester_bus = can.Bus(interface="virtual", channel=channel), can.Bus(interface="virtual", channel=channel)
    vehicle = build_vehicle("normal", dbc=DBC, vehicle=FACTS)
    ecu = ObdEcu(ecu_bus.send, vehicle.ecu_view("ECM")).start()
    client = ObdClient(tester_bus.send, settle_s=0.0, min_interval_s=0.0).start()
    notifiers = [can.Notifier(ecu_bus, [ecu.feed], timeout=0.01), can.Notifier(tester_bus, [client.feed], timeout=0.01)]
    try:
        results["virtual"] = {"pid_0c": _stats(_round_trips(client, b"\x01\x0c", n)),
                              "vin": _stats(_round_trips(client, b"\x09\x02", n))}
    finally:
        for notifier in notifiers:
            notifier.stop()
        client.stop()
        ecu.stop()
        ecu_bus.shutdown()
        tester_bus.shutdown()
    # across processes: `rag-car simulate --serve`, the scan tool here over remote:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_CAR_")}
    child = subprocess.Popen([sys.executable, "-m", "rag_car", "simulate", "--scenario", "normal", "--serve", f"127.0.0.1:{port}",
                              "--duration", "120"], cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                bus = can.Bus(interface="remote", channel=f"ws://127.0.0.1:{port}/")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        client = ObdClient(bus.send, settle_s=0.0, min_interval_s=0.0, timeout_s=1.0).start()
        notifier = can.Notifier(bus, [client.feed], timeout=0.01)
        try:
            warm = time.monotonic() + 20  # the served simulator listens for another sender before its ECUs start
            while not any(r.positive for r in client.request(b"\x01\x00")) and time.monotonic() < warm:
                time.sleep(0.2)
            results["remote"] = {"pid_0c": _stats(_round_trips(client, b"\x01\x0c", n)),
                                 "vin": _stats(_round_trips(client, b"\x09\x02", n))}
        finally:
            notifier.stop()
            client.stop()
            bus.shutdown()
    finally:
        child.terminate()
        child.wait(15)
    for kind in ("pid_0c", "vin"):
        results[f"{kind}_remote_over_virtual"] = round(results["remote"][kind]["median_ms"] / results["virtual"][kind]["median_ms"], 2)
    return results


def bench_time_to_fault() -> dict:
    out = {}
    for scenario in FAULT_SCENARIOS:
        channel = f"ttf-{uuid.uuid4().hex[:6]}"
        vehicle_bus, listener_bus = can.Bus(interface="virtual", channel=channel), can.Bus(interface="virtual", channel=channel)
        state, session = new_live_state()
        notifier = can.Notifier(listener_bus, [state, *session.listeners], timeout=0.02)
        try:
            start = time.monotonic()
            with open_simulator(vehicle_bus, scenario, dbc=DBC, vehicle=FACTS, time_scale=20.0, probe_s=0.1):
                session.start_polling(listener_bus.send)
                ok = wait_for(lambda state=state, scenario=scenario: not shows_fault(state, scenario), timeout_s=20.0, step_s=0.05)
                out[scenario] = round(time.monotonic() - start, 2) if ok else None
        finally:
            session.stop()
            notifier.stop()
            vehicle_bus.shutdown()
            listener_bus.shutdown()
    return out


def bench_tp() -> dict:
    if not TP_LOG.is_file() or not enable_mf4():
        return {"skipped": "CSS Electronics TP log or asammdf not available"}
    frames = list(can.MF4Reader(str(TP_LOG)))
    reassembler = TransportReassembler()
    start = time.perf_counter()
    for _ in range(20):
        for frame in frames:
            for _group in reassembler.feed(frame):
                pass
    elapsed = time.perf_counter() - start
    return {"frames": len(frames) * 20, "frames_per_s": round(len(frames) * 20 / elapsed), "transfers": reassembler.completed}


def main() -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    report = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_1min_at_start": load},
              "model": bench_model(), "obd": bench_obd(), "time_to_fault_s": bench_time_to_fault(), "j1939_tp": bench_tp()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "simulator.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    m, o = report["model"], report["obd"]
    print(f"load average at start: {load}")
    print("| measure | value |\n|---|---|")
    print(f"| vehicle model CPU per simulated second | {m['cpu_per_simulated_s'] * 1000:.1f} ms ({m['frames_per_s_simulated']:.0f} frames/s) |")
    for kind, label in (("pid_0c", "OBD 01 0C (1 frame)"), ("vin", "OBD 09 02 VIN (3 frames)")):
        v, r = o["virtual"][kind], o["remote"][kind]
        print(f"| {label}, virtual | median {v['median_ms']} ms, p95 {v['p95_ms']} ms |")
        print(f"| {label}, remote across processes | median {r['median_ms']} ms, p95 {r['p95_ms']} ms "
              f"(x{o[kind + '_remote_over_virtual']}) |")
    for scenario, seconds in report["time_to_fault_s"].items():
        print(f"| time to fault, {scenario} at x20 | {seconds} s |")
    tp = report["j1939_tp"]
    if "frames_per_s" in tp:
        print(f"| J1939 TP reassembly, real CSS log | {tp['frames_per_s']:,} frames/s |")
    print(f"results: {RESULTS / 'simulator.json'}")


if __name__ == "__main__":
    main()
