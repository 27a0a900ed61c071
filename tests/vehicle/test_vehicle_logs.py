"""Log files -> can.Message through python-can's readers: every fixture format, bad lines counted, nothing lost."""

from __future__ import annotations

import gzip
import itertools

import can
import pytest

from rag_car.errors import LogFormatError
from rag_car.vehicle.logs import detect_format, open_log
from vehicle_helpers import FILES

PYTHON_CAN_FIXTURES = [
    "logfile.asc", "issue_1256.asc", "test_CanErrorFrames.asc", "test_CanFdMessage.asc", "test_CanFdMessage64.asc",
    "test_CanMessage.asc.gz", "test_CanMessage.blf", "test_CanFdMessage.blf", "test_CanFdMessage64.blf",
    "test_CanMessage.trc", "test_CanMessage_V1_1.trc", "test_CanMessage_V2_1.trc",
]


def _same(a: can.Message, b: can.Message) -> bool:
    return a.equals(b, timestamp_delta=1e-9)


@pytest.mark.parametrize("name", PYTHON_CAN_FIXTURES)
def test_python_can_fixtures_read_as_python_can_reads_them(shared_data, name):
    path = shared_data / "python-can" / name
    ours = list(open_log(path))
    theirs = list(can.LogReader(path))
    assert ours and len(ours) == len(theirs)
    assert all(_same(a, b) for a, b in zip(ours, theirs))


def test_fd_error_and_remote_frames_come_through(shared_data):
    frames = list(open_log(shared_data / "python-can" / "logfile.asc"))
    assert sum(m.is_error_frame for m in frames) == 4
    assert sum(m.is_remote_frame for m in frames) == 4
    assert any(m.is_fd and len(m.data) == 64 for m in frames)


def test_real_logs_read_completely(shared_data):
    for path in sorted((shared_data / "eldominio-canbuslogs").rglob("*")):
        if path.suffix not in (".log", ".trc"):
            continue
        reading = open_log(path)
        frames = sum(1 for _ in reading)
        assert frames == sum(1 for _ in can.LogReader(path)), path
        assert reading.report.bad == 0, path


def test_bad_candump_lines_are_counted_and_reading_goes_on():
    reading = open_log(FILES / "bad_lines.log")
    frames = list(reading)
    # 11 lines: one is prose, the last is cut off mid-line; every other line is a frame
    assert len(frames) == 9
    assert reading.report.bad == 2
    assert [p.where for p in reading.report.problems] == ["3", "11"]
    assert reading.report.truncated
    assert any("truncated" in w for w in reading.report.warnings())
    assert frames[-1].timestamp == pytest.approx(1700000000.08)


def test_bad_asc_line_is_skipped_and_the_header_still_applies():
    reading = open_log(FILES / "bad_lines.asc")
    frames = list(reading)
    assert [round(m.timestamp, 3) for m in frames] == [0.01, 0.02, 0.04, 0.05, 0.06]
    assert reading.report.bad == 1 and reading.report.problems[0].where == "9"
    assert frames[-1].is_extended_id and frames[-1].arbitration_id == 0x18FEF100 and frames[-1].channel == 1


def test_bad_trc_line_mid_file_keeps_start_time(shared_data, tmp_path):
    lines = (shared_data / "eldominio-canbuslogs" / "kona" / "runlog.trc").read_text().splitlines(keepends=True)
    header = [i for i, line in enumerate(lines) if not line.startswith(";")][0]
    # a byte that is not hex (the reader raises) and a frame with fewer bytes than its DLC (it warns)
    broken = (lines[: header + 10] + ["   901)      2000.5  Rx         0386  8  00 C0 ZZ 80 00 40 00 80\n"]
              + lines[header + 10: header + 20] + ["   902)      2001.5  Rx         0386  8  00\n"] + lines[header + 20:])
    path = tmp_path / "broken.trc"
    path.write_text("".join(broken))
    good = list(can.LogReader(shared_data / "eldominio-canbuslogs" / "kona" / "runlog.trc"))
    reading = open_log(path)
    ours = list(reading)
    assert len(ours) == len(good)
    assert all(_same(a, b) for a, b in zip(ours, good))
    assert reading.report.bad == 2
    assert [p.where for p in reading.report.problems] == [str(header + 11), str(header + 22)]


def test_log_truncated_mid_line_keeps_every_complete_frame(shared_data, tmp_path):
    source = (shared_data / "eldominio-canbuslogs" / "kona" / "turnonlog.log").read_bytes()
    cut = source[: len(source) // 2]
    cut = cut[: cut.rfind(b"\n") + 12]  # a dozen characters into the next line
    path = tmp_path / "cut.log"
    path.write_bytes(cut)
    reading = open_log(path)
    frames = list(reading)
    assert len(frames) == cut.count(b"\n")
    assert reading.report.truncated and reading.report.bad == 1


def test_unknown_format_is_a_clear_error(tmp_path):
    notes = tmp_path / "notes.xyz"
    notes.write_text("hello\nworld\n")
    with pytest.raises(LogFormatError, match="unknown format") as info:
        open_log(notes)
    assert "candump" in info.value.fix
    with pytest.raises(LogFormatError, match="does not exist"):
        open_log(tmp_path / "missing.log")


def test_a_text_file_named_log_is_not_a_candump_log(tmp_path):
    prose = tmp_path / "prose.log"
    prose.write_text("".join(f"line {i} of a text file, not frames\n" for i in range(40)))
    with pytest.raises(LogFormatError, match="not a readable candump log"):
        list(open_log(prose))


def test_format_is_sniffed_when_the_suffix_says_nothing(shared_data, tmp_path):
    for name, fmt in (("eldominio-canbuslogs/kona/turnonlog.log", "candump"), ("python-can/test_CanMessage.trc", "trc"),
                      ("python-can/logfile.asc", "asc"), ("python-can/test_CanMessage.blf", "blf")):
        copy = tmp_path / f"capture_{fmt}.dat"
        copy.write_bytes((shared_data / name).read_bytes())
        assert detect_format(copy) == fmt
        assert sum(1 for _ in open_log(copy)) == sum(1 for _ in can.LogReader(shared_data / name))


def test_gzip_candump(shared_data, tmp_path):
    source = shared_data / "eldominio-canbuslogs" / "yaris_09" / "accellog.log"
    packed = tmp_path / "accellog.log.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    assert sum(1 for _ in open_log(packed)) == sum(1 for _ in can.LogReader(source))


def _blf_with_small_containers(path, count: int) -> list[can.Message]:
    messages = [can.Message(timestamp=1700000000 + i * 0.01, arbitration_id=0x100 + (i % 5), data=bytes([i % 256] * 8),
                            is_extended_id=False, channel=0) for i in range(count)]
    with can.BLFWriter(path, channel=1) as writer:
        writer.max_container_size = 256  # many small containers, so that one corrupt object is a small loss
        for message in messages:
            writer.on_message_received(message)
    return messages


def test_blf_with_a_corrupt_object_keeps_the_rest(tmp_path):
    path = tmp_path / "drive.blf"
    written = _blf_with_small_containers(path, 400)
    data = bytearray(path.read_bytes())
    # the third object's signature: after the file header, find LOBJ occurrences
    positions = [i for i in range(len(data)) if data[i:i + 4] == b"LOBJ"]
    assert len(positions) > 10
    data[positions[3]: positions[3] + 4] = b"XXXX"
    path.write_bytes(bytes(data))
    with pytest.raises(Exception):
        list(can.LogReader(path))  # python-can alone stops there
    reading = open_log(path)
    frames = list(reading)
    assert reading.report.bad == 1 and "corrupt BLF object" in reading.report.problems[0].error
    assert len(written) - 40 < len(frames) < len(written)
    ids = {(m.arbitration_id, bytes(m.data)) for m in written}
    assert all((m.arbitration_id, bytes(m.data)) in ids for m in frames)


def test_blf_cut_short_stops_cleanly(tmp_path):
    path = tmp_path / "cut.blf"
    _blf_with_small_containers(path, 200)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    frames = list(open_log(path))
    assert 50 < len(frames) < 200


def test_not_a_blf_is_a_clear_error(tmp_path):
    fake = tmp_path / "fake.blf"
    fake.write_bytes(b"NOPE" + bytes(200))
    with pytest.raises(LogFormatError, match="not a BLF file"):
        list(open_log(fake))


def test_mf4_j1939_log_reads(shared_data):
    frames = list(itertools.islice(open_log(shared_data / "css-electronics" / "j1939_truck_00000001.MF4"), 2000))
    assert len(frames) == 2000 and sum(m.is_extended_id for m in frames) > 1500
