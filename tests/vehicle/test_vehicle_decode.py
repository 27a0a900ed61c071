"""Decoding: values equal cantools' own decode frame by frame (real logs), bad frames counted, the decode CLI."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import warnings

import can
import pytest

from rag_car.vehicle.dbc import load_dbc
from rag_car.vehicle.decode import FrameDecoder, jsonl_tail
from rag_car.vehicle.logs import open_log
from vehicle_helpers import BENCH_DBC, FILES, VEHICLE_PAIRS, reference_database, reference_decode


def _db(*paths):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dbc(list(paths))


def _frame(frame_id, data, **kwargs):
    kwargs.setdefault("is_extended_id", frame_id > 0x7FF)
    return can.Message(arbitration_id=frame_id, data=data, check=False, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("vehicle", sorted(VEHICLE_PAIRS))
def test_decode_jsonl_equals_cantools_frame_by_frame(vehicle, shared_data, cli):
    dbc, logs = VEHICLE_PAIRS[vehicle]
    reference = reference_database(shared_data / dbc)
    for log in logs:
        result = cli("decode", "--dbc", str(shared_data / dbc), str(shared_data / log), "--jsonl")
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        expected = []
        for msg in can.LogReader(shared_data / log):
            decoded = reference_decode(reference, msg)
            if decoded is not None:
                expected.append((msg, *decoded))
        assert len(lines) == len(expected) > 0, (log, len(lines), len(expected))
        for line, (msg, message, values) in zip(lines, expected):
            assert line["t"] == msg.timestamp and line["id"] == msg.arbitration_id and line["message"] == message.name
            assert line["signals"] == values and list(line["signals"]) == list(values)
            assert line["channel"] == (None if msg.channel is None else str(msg.channel))
        summary = json.loads(result.stderr.strip().splitlines()[-1])
        assert summary["decoded"] == len(expected)
        assert summary["frames"] == sum(1 for _ in can.LogReader(shared_data / log))
        assert summary["frames"] == summary["decoded"] + summary["unknown"] + summary["errors"] + \
            summary["error_frames"] + summary["remote_frames"]


def test_labels_are_the_choice_texts_cantools_gives(shared_data):
    path = shared_data / "opendbc" / "vw_pq.dbc"
    db = _db(path)
    reference = reference_database(path)
    decoder = FrameDecoder(db)
    labelled = 0
    for msg in can.LogReader(shared_data / "eldominio-canbuslogs" / "audi_a2" / "noecu.trc"):
        entry = decoder.decode(msg)
        if entry is None:
            continue
        with_choices = reference.get_message_by_frame_id(msg.arbitration_id).decode(bytes(msg.data))
        for name, label in entry.labels.items():
            assert str(with_choices[name]) == label
            labelled += 1
        for name, value in with_choices.items():
            if hasattr(value, "name"):
                assert entry.labels[name] == value.name
    assert labelled > 100


def test_multiplexed_branches_give_exactly_their_signals():
    decoder = FrameDecoder(_db(BENCH_DBC))
    page0 = decoder.decode(_frame(512, bytes([0, 0b0110, 0, 0, 0, 0, 0, 0])))
    page1 = decoder.decode(_frame(512, bytes([1, 100, 0, 0, 0, 0, 0, 0])))
    assert set(page0.signals) == {"Page", "DoorFL", "DoorFR"} and page0.labels == {"DoorFL": "Ajar", "DoorFR": "Open"}
    assert set(page1.signals) == {"Page", "CabinTemp"} and page1.signals["CabinTemp"] == 30.0
    assert page0.track != page1.track
    # a multiplexer value the DBC does not define is a counted error
    assert decoder.decode(_frame(512, bytes([7] + [0] * 7))) is None
    assert decoder.counters.per_id[512]["errors"] == 1


def test_extended_multiplexing_equals_cantools(shared_data):
    path = shared_data / "cantools" / "multiplex_2.dbc"
    db = _db(path)
    reference = reference_database(path)
    decoder = FrameDecoder(db)
    checked = 0
    shapes = set()
    for message in reference.messages:
        for seed in range(256):
            data = bytes((seed * 37 + i * 11 + (seed >> 3) * i * i) % 256 for i in range(message.length))
            msg = _frame(message.frame_id, data, is_extended_id=message.is_extended_frame)
            try:
                expected = message.decode(data, decode_choices=False)
            except Exception:
                assert decoder.decode(msg) is None
                continue
            entry = decoder.decode(msg)
            assert entry.signals == expected and list(entry.signals) == list(expected)
            shapes.add((message.name, tuple(expected)))
            checked += 1
    assert checked > 50 and len(shapes) >= 4


def test_bad_frames_are_counted_per_id_and_never_raise():
    decoder = FrameDecoder(_db(BENCH_DBC))
    frames = [
        _frame(256, b""),  # 0 bytes for an 8-byte message
        _frame(256, bytes(9), dlc=9),  # DLC above 8 on classical CAN
        _frame(256, bytes(8), is_remote_frame=True),
        _frame(0, b"", is_error_frame=True),
        _frame(0x7AB, bytes(8)),  # no DBC defines it
        _frame(0x7AB, bytes(8)),
        _frame(256, bytes.fromhex("A00F7D0300140000")),
        _frame(256, bytes.fromhex("A00F7D0300140000AA")),  # longer payload on classical CAN
        _frame(1024, bytes(16), is_fd=True),  # CAN FD message, FD frame: fine
        _frame(1024, bytes(8), is_fd=True),  # too short: its first signal is inside, its second is not
    ]
    results = [decoder.decode(f) for f in frames]
    assert [r is not None for r in results] == [False, False, False, False, False, False, True, False, True, True]
    assert list(results[-1].signals) == ["FdCounter"]
    c = decoder.counters
    assert (c.frames, c.decoded, c.unknown, c.errors, c.error_frames, c.remote_frames) == (10, 3, 2, 3, 1, 1)
    assert c.per_id[0x7AB] == {"unknown": 2}
    assert c.per_id[256]["errors"] == 3 and c.per_id[256]["message"] == "EngineStatus"
    assert "classical CAN frame with 9 data bytes" in decoder.counters.to_json()["per_id"]["0x100"]["last_error"]
    assert c.per_id[1024] == {"message": "FdStatus", "truncated": 1}
    assert c.per_id[256]["remote_frames"] == 1


def test_a_payload_shorter_than_the_dbc_gives_the_signals_inside_it(shared_data):
    # the Yaris sends 0x3B3 (LOW_RES_INDICATORS) with 3 data bytes where the DBC says 8: its engine speed is in the
    # first two bytes, big-endian, so "07 0A 28" reads 0x070A = 1802 rpm
    db = _db(shared_data / "opendbc" / "toyota_iQ_2009_can.dbc")
    decoder = FrameDecoder(db)
    entry = decoder.decode(_frame(0x3B3, bytes.fromhex("070A28")))
    assert entry is not None and entry.signals["LOW_RES_RPM"] == 1802
    assert "LOW_RES_ACC_PEDAL" in entry.signals  # bits 23..17: inside the third byte
    assert decoder.counters.per_id[0x3B3]["truncated"] == 1 and decoder.counters.errors == 0


def test_every_frame_of_a_log_with_bad_lines():
    db = _db(BENCH_DBC)
    decoder = FrameDecoder(db)
    reading = open_log(FILES / "bad_lines.log")
    decoded = [decoder.decode(m) for m in reading]
    # 0x100 three times and 0x200 decode; 0x123 is unknown; 0 bytes, 9 bytes, remote and error frames do not
    assert [d.message.name for d in decoded if d is not None] == ["EngineStatus", "EngineStatus", "BodyMux", "EngineStatus"]
    c = decoder.counters
    assert (c.frames, c.unknown, c.errors, c.remote_frames, c.error_frames) == (9, 1, 2, 1, 1)
    assert reading.report.bad == 2


def test_repeated_payloads_reuse_the_decode_and_values_stay_equal(shared_data):
    db = _db(shared_data / "opendbc" / "hyundai_can.dbc")
    log = shared_data / "eldominio-canbuslogs" / "kona" / "runlog.trc"
    cached, plain = FrameDecoder(db), FrameDecoder(db, cache_size=0)
    first = {}
    for msg in can.LogReader(log):
        a, b = cached.decode(msg), plain.decode(msg)
        assert (a is None) == (b is None)
        if a is not None:
            assert a.signals == b.signals and a.labels == b.labels
            key = (msg.arbitration_id, bytes(msg.data))
            if key in first:
                assert first[key] is a  # the same object: no second decode
            first[key] = a
    assert cached.counters.cache_hits > 0.4 * cached.counters.decoded
    assert plain.counters.cache_hits == 0


def test_cache_is_bounded():
    decoder = FrameDecoder(_db(BENCH_DBC), cache_size=16)
    for i in range(100):
        decoder.decode(_frame(256, bytes([i, 0, 0, 0, 0, 0, 0, 0])))
    assert len(decoder._cache) <= 16


def test_j1939_frames_from_an_mf4_log_decode_by_pgn(shared_data):
    db = _db(shared_data / "css-electronics" / "CSS-Electronics-SAE-J1939-DEMO.dbc")
    decoder = FrameDecoder(db)
    names = set()
    for msg in itertools.islice(open_log(shared_data / "css-electronics" / "j1939_truck_00000001.MF4"), 3000):
        entry = decoder.decode(msg)
        if entry is not None:
            names.add(entry.message.name)
            if entry.message.name == "EEC1":
                assert 0 <= entry.signals["EngineSpeed"] <= 8031.875
                assert entry.frame_id != entry.message.frame_id  # matched by PGN, not by the exact id
    assert "EEC1" in names


def test_jsonl_tail_is_valid_json_and_maps_nan_to_null():
    decoder = FrameDecoder(_db(BENCH_DBC))
    entry = decoder.decode(_frame(256, bytes.fromhex("A00F7D0300140000")))
    line = json.loads('{"t": 1.5, "channel": null, ' + jsonl_tail(entry))
    assert line["message"] == "EngineStatus" and line["labels"] == {"GearPosition": "Drive"}
    assert line["signals"]["EngineSpeed"] == 1000.0 and line["signals"]["CoolantTemp"] == 85
    entry.signals["EngineSpeed"] = float("nan")
    entry.rendered = None
    assert json.loads('{"t": 1, ' + jsonl_tail(entry))["signals"]["EngineSpeed"] is None


def test_decode_table_and_summary(cli, shared_data):
    result = cli("decode", "--dbc", str(shared_data / "opendbc" / "toyota_iQ_2009_can.dbc"),
                 str(shared_data / "eldominio-canbuslogs" / "yaris_09" / "accellog.log"))
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert rows and "=" in rows[0] and rows[0].split()[0].startswith("1672772651.")
    assert "frames:" in result.stderr and "decoded" in result.stderr


def test_decode_filter_and_stdin(cli, shared_data):
    log = shared_data / "eldominio-canbuslogs" / "yaris_09" / "accellog.log"
    dbc = str(shared_data / "opendbc" / "toyota_iQ_2009_can.dbc")
    every = cli("decode", "--dbc", dbc, str(log), "--jsonl")
    names = {json.loads(line)["message"] for line in every.stdout.splitlines()}
    some = sorted(names)[0]
    filtered = cli("decode", "--dbc", dbc, str(log), "--jsonl", "--filter", f"^{some}$")
    assert {json.loads(line)["message"] for line in filtered.stdout.splitlines()} == {some}
    piped = cli("decode", "--dbc", dbc, "-", "--jsonl", input=log.read_text())
    assert piped.returncode == 0 and piped.stdout == every.stdout


def test_decode_bad_inputs_give_clear_errors(cli, tmp_path):
    broken = cli("decode", "--dbc", str(FILES / "broken_signal.dbc"), str(FILES / "bad_lines.log"))
    assert broken.returncode == 1 and "broken_signal.dbc:17:" in broken.stderr and "Traceback" not in broken.stderr
    notes = tmp_path / "notes.bin"
    notes.write_bytes(b"\x00\x01 nothing")
    unknown = cli("decode", "--dbc", str(BENCH_DBC), str(notes))
    assert unknown.returncode == 1 and "unknown format" in unknown.stderr
    missing = cli("decode", "--dbc", str(tmp_path / "none.dbc"), str(FILES / "bad_lines.log"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_decode_of_a_log_with_bad_lines_warns_and_keeps_going(cli):
    result = cli("decode", "--dbc", str(BENCH_DBC), str(FILES / "bad_lines.log"), "--jsonl")
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 4
    stderr = result.stderr.strip().splitlines()
    assert any("bad_lines.log:3:" in line for line in stderr) and any("truncated" in line for line in stderr)
    summary = json.loads(stderr[-1])
    assert summary == {**summary, "frames": 9, "decoded": 4, "bad_lines": 2, "error_frames": 1, "remote_frames": 1}


def test_decode_warns_about_dropped_dbc_lines(cli, shared_data):
    result = cli("decode", "--dbc", str(shared_data / "opendbc" / "hyundai_can.dbc"),
                 str(shared_data / "eldominio-canbuslogs" / "kona" / "runlog.trc"), "--jsonl")
    warnings_ = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any("hyundai_can.dbc:1656: dropped" in line for line in warnings_)
    assert json.loads(result.stderr.splitlines()[-1])["decoded"] > 3000


def test_decode_imports_no_heavy_library(cli_env, shared_data):
    code = (
        "import sys\n"
        "from rag_car.cli.main import run\n"
        f"code = run(['decode', '--dbc', {str(BENCH_DBC)!r}, {str(FILES / 'bad_lines.log')!r}, '--jsonl'])\n"
        "heavy = [m for m in ('torch', 'chromadb', 'unstructured', 'transformers', 'sentence_transformers', 'asammdf', 'pandas')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stderr
