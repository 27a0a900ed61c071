"""`rag-car simulate` through the real entry point: --list, bad input, a clean stop on SIGTERM, and no heavy imports."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from sim_helpers import REPO


def test_simulator_cli_list_one_line_each(cli):
    result = cli("simulate", "--list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert {"normal", "overheating", "misfire", "low_tire", "charging", "catalyst"} <= set(names)
    assert len(lines) == len(names) and all(len(line.split(None, 1)) == 2 for line in lines)
    assert any("P0217" in line for line in lines if line.startswith("overheating"))


def test_simulator_cli_unknown_scenario_lists_them(cli):
    result = cli("simulate", "--scenario", "flat_tyre", "--duration", "1")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown scenario 'flat_tyre'")
    assert "low_tire" in result.stderr and "Traceback" not in result.stderr


def test_simulator_cli_malformed_scenario_file(cli, tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('summary = "typo"\n\n[[ramp]]\nsignal = "ECM_EngineTemps.CoolantTemp"\nto = "hot"\n', encoding="utf-8")
    result = cli("simulate", "--scenario", str(path), "--duration", "1")
    assert result.returncode == 1
    assert f"error: scenario file {path}, line 5: to must be a number, got 'hot'" in result.stderr


def test_simulator_cli_bad_flags(cli):
    result = cli("simulate", "--speed-profile", "rally", "--duration", "1")
    assert result.returncode == 2 and "rally" in (result.stderr + result.stdout)
    result = cli("simulate", "--serve", "localhost", "--duration", "1")
    assert result.returncode == 1 and "is not HOST:PORT" in result.stderr
    result = cli("simulate", "--scenario", "normal", "--serve", "127.0.0.1:0", "--bus", "socketcan:can0", "--duration", "1")
    assert result.returncode == 1 and "--serve shares a virtual bus" in result.stderr


def test_simulator_cli_sigterm_stops_cleanly(cli_env, tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "rag_car", "simulate", "--scenario", "charging", "--bus", "virtual:sigterm",
                                "--time-scale", "30"], cwd=tmp_path, env=cli_env, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stderr.readline()
        assert first.startswith("simulating 'charging'"), first
        assert "VIN 0AMCG5A23KA100001" in first
        time.sleep(2.5)
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=20)[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, rest
    assert "stopped after" in rest and "DTCs set: P0562" in rest


def test_simulator_cli_imports_nothing_heavy(cli_env, tmp_path):
    code = textwrap.dedent("""
        import sys
        from rag_car.cli.main import run
        code = run(["simulate", "--scenario", "misfire", "--bus", "virtual:light", "--duration", "0.5"])
        heavy = [m for m in ("torch", "chromadb", "unstructured", "sentence_transformers", "transformers") if m in sys.modules]
        print("rc", code, "heavy", heavy)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "rc 0 heavy []", result.stdout + result.stderr
