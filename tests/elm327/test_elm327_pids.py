"""The one J1979 service 01 table: formulas against the standard's worked examples, sizes, round trips."""

from __future__ import annotations

import pytest

from rag_car.vehicle.diagnostics.obd import PIDS, PID_SIZES, parse_dtc_answer, parse_pid_records
from rag_car.vehicle.diagnostics.readings import reading_name

# (request PID, answer bytes after "41 PID", expected value): SAE J1979 / ELM327 data sheet examples and
# values worked by hand from the standard's formulas
VECTORS = [
    (0x0C, "1A F8", 1726.0),     # ELM327 data sheet: 41 0C 1A F8 -> 1726 rpm
    (0x05, "7B", 83.0),          # 41 05 7B -> 123 - 40 = 83 degC
    (0x0D, "3C", 60.0),          # 60 km/h
    (0x04, "FF", 100.0),         # engine load A*100/255
    (0x06, "80", 0.0),           # fuel trim (A-128)*100/128: 128 is 0 %
    (0x06, "00", -100.0),
    (0x07, "FF", 99.21875),
    (0x0A, "64", 300.0),         # fuel pressure 3*A kPa
    (0x0E, "00", -64.0),         # timing advance A/2 - 64
    (0x0E, "8C", 6.0),
    (0x10, "01 F4", 5.0),        # MAF (256A+B)/100 g/s
    (0x14, "5A FF", 0.45),       # O2 sensor voltage A/200 (B: trim, FF = not used)
    (0x1F, "01 2C", 300.0),      # run time 256A+B s
    (0x2F, "80", 50.19607843),   # fuel level A*100/255
    (0x3C, "0F A0", 360.0),      # catalyst temperature (256A+B)/10 - 40
    (0x42, "2E E0", 12.0),       # control module voltage (256A+B)/1000
    (0x43, "00 FF", 100.0),      # absolute load 100(256A+B)/255
    (0x44, "80 00", 1.0),        # commanded equivalence ratio 2(256A+B)/65536
    (0x46, "3C", 20.0),          # ambient 60 - 40
    (0x5C, "82", 90.0),          # oil temperature A - 40
    (0x5E, "00 64", 5.0),        # fuel rate (256A+B)/20 L/h
]


@pytest.mark.parametrize("pid,raw,expected", VECTORS, ids=[f"{p:02X}-{r}" for p, r, _ in VECTORS])
def test_elm327_pid_formula_matches_the_standard(pid, raw, expected):
    spec = PIDS[pid]
    assert spec.decode(bytes.fromhex(raw)) == pytest.approx(expected, abs=1e-6)
    # and back: encoding the value gives the same bytes (the first byte of two-quantity PIDs)
    assert spec.encode(expected)[:spec.raw_size or spec.size] == bytes.fromhex(raw)[:spec.raw_size or spec.size]


def test_elm327_pid_table_is_one_model():
    keys = [p.key for p in PIDS.values()]
    assert len(keys) == len(set(keys)), "two PIDs share a key"
    assert len(PIDS) >= 50
    for pid, spec in PIDS.items():
        assert spec.pid == pid and PID_SIZES[pid] == spec.size
        assert spec.minimum < spec.maximum
        assert spec.encode(spec.maximum + 1e6) == spec.encode(spec.maximum)  # clamped, never wraps
    with pytest.raises(ValueError):
        PIDS[0x0C].decode(b"\x1a")  # one byte of a two-byte PID
    # the readings keep the bundled DBC's names where it has the quantity, so its documented ranges apply
    assert reading_name("engine_speed") == "EngineSpeed" and reading_name("oil_temp") == "EngineOilTemp"
    assert reading_name("commanded_egr") == "CommandedEgr" and reading_name("catalyst_temp_b1s2") == "CatalystTempB1S2"
    assert reading_name("o2_b2s1_voltage") == "O2B2S1Voltage"


def test_elm327_multi_pid_answer_parses_past_undecoded_pids():
    # 41 | 0C 1A F8 | 03 02 00 (fuel system status, not decoded, 2 bytes) | 05 7B
    records = parse_pid_records(bytes.fromhex("0C1AF80302000 57B".replace(" ", "")))
    assert [(pid, raw.hex()) for pid, raw in records] == [(0x0C, "1af8"), (0x03, "0200"), (0x05, "7b")]


def test_elm327_dtc_answers_with_a_count_byte():
    assert parse_dtc_answer(bytes.fromhex("02 03 03 04 20".replace(" ", "")), counted=True) == ["P0303", "P0420"]
    assert parse_dtc_answer(bytes.fromhex("00"), counted=True) == []
    assert parse_dtc_answer(bytes.fromhex("04200303"), counted=True) == ["P0420", "P0303"]  # no count byte (ELM327-emulator)
    with pytest.raises(ValueError, match="announces 1"):
        parse_dtc_answer(bytes.fromhex("0104"), counted=True)  # elmulator's malformed 0A: half a DTC
    # padding after the announced codes is ignored on CAN
    assert parse_dtc_answer(bytes.fromhex("0101430000"), counted=True) == ["P0143"]
