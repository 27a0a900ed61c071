"""J1939 DM1 decoding (SPN, FMI, occurrence count, lamps) and its transport protocol: on the real CSS Electronics
CANedge logs (skipped when ../shared/data is absent) and over a real virtual bus into the live snapshot."""

from __future__ import annotations

import uuid

import can
import pytest

from rag_car.vehicle.diagnostics.j1939 import (
    DM1_PGN, TP_CM_PGN, TP_DT_PGN, VEHICLE_ID_PGN, Dm1Listener, J1939Dtc, TransportReassembler, bam_frames, decode_dm1,
    decode_vehicle_identification, encode_dm1, make_id, parse_id,
)
from rag_car.vehicle.diagnostics.vin import decode_vin
from rag_car.vehicle.pycan import enable_mf4
from sim_helpers import new_live_state, wait_for

THREE = [J1939Dtc(110, 0, 3), J1939Dtc(100, 1, 1), J1939Dtc(524287, 31, 126)]


def _frames(path):
    if not enable_mf4():
        pytest.skip("asammdf is not installed (MF4 logs need it)")
    return can.MF4Reader(str(path))


@pytest.mark.slow  # the log's DM1s sit near its end: ~140,000 frames are read first (~5-10 s)
def test_simulator_j1939_real_truck_dm1_with_zero_dtcs(shared_data):
    """The truck log's DM1 from source 0x2F says "no DTC" (SPN 0 FMI 0), amber warning lamp off, others not fitted."""
    listener = Dm1Listener()
    seen = 0
    for msg in _frames(shared_data / "css-electronics" / "j1939_truck_00000001.MF4"):
        seen += len(listener.feed(msg))
        if seen >= 5:  # one DM1 a second; five are enough
            break
    assert seen >= 5
    assert set(listener.latest) == {0x2F}
    dm1 = listener.latest[0x2F]
    assert dm1.dtcs == ()
    assert dm1.lamps == {"amber_warning": "off"}
    assert listener.malformed == 0


def test_simulator_j1939_real_transport_protocol(shared_data):
    """The TP sample's BAM sessions reassemble: Engine Configuration 1 (28 bytes) and Vehicle Identification."""
    reassembler = TransportReassembler()
    long_groups = {}
    for msg in _frames(shared_data / "css-electronics" / "j1939_tp_FCBF0606_00000001.MF4"):
        for group in reassembler.feed(msg):
            if len(group.data) > 8:
                long_groups[group.pgn] = group
    assert reassembler.completed >= 10 and reassembler.dropped == 0
    assert len(long_groups[65251].data) == 28  # EC1: size from the TP.CM announcement
    vin = decode_vehicle_identification(long_groups[VEHICLE_ID_PGN].data)
    assert vin == "1L06130RELP969468"
    info = decode_vin(vin)
    # position 9 is 'E': this VIN carries no check digit; that is said, and the VIN is not called invalid
    assert info.check_digit_ok is None and info.valid and not info.problems
    assert "not a check digit" in info.notes[0] and info.vin == vin
    assert info.maker and info.region == "North America"  # from the WMI table (vininfo)


def test_simulator_j1939_dm1_fields():
    single = decode_dm1(bytes([0x44, 0xFF, 0x6E, 0x00, 0x00, 0x03, 0xFF, 0xFF]), source=0x00)
    assert single.lamps == {"mil": "on", "red_stop": "off", "amber_warning": "on", "protect": "off"}
    assert [(d.spn, d.fmi, d.occurrences, d.code) for d in single.dtcs] == [(110, 0, 3, "SPN 110 FMI 0")]
    assert "Engine coolant temperature" in single.dtcs[0].describe()
    flashing = decode_dm1(bytes([0x40, 0x3F, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF]))
    assert flashing.lamps["mil"] == "flashing" and flashing.dtcs == ()
    round_trip = decode_dm1(encode_dm1(THREE, {"amber_warning": "on"}))
    assert round_trip.dtcs == tuple(THREE) and round_trip.lamps["amber_warning"] == "on"
    with pytest.raises(ValueError):
        decode_dm1(bytes([0x00, 0xFF, 0x00]))
    assert parse_id(make_id(DM1_PGN, 0x17)) == (6, DM1_PGN, 0x17, 0xFF)
    assert parse_id(make_id(TP_CM_PGN, 0x17, 0x21)) == (6, TP_CM_PGN, 0x17, 0x21)


def test_simulator_j1939_rts_cts_followed_passively_and_lost_packets_dropped():
    payload = encode_dm1(THREE)
    size, packets = len(payload), (len(payload) + 6) // 7
    rts = bytes([0x10, size, 0, packets, 0xFF, 0xCA, 0xFE, 0x00])
    cts = bytes([0x11, packets, 1, 0xFF, 0xFF, 0xCA, 0xFE, 0x00])
    frames = [can.Message(arbitration_id=make_id(TP_CM_PGN, 0x00, 0xF9), data=rts, timestamp=1.0),
              can.Message(arbitration_id=make_id(TP_CM_PGN, 0xF9, 0x00), data=cts, timestamp=1.01)]
    for n in range(packets):
        frames.append(can.Message(arbitration_id=make_id(TP_DT_PGN, 0x00, 0xF9), timestamp=1.02 + n * 0.01,
                                  data=bytes([n + 1]) + payload[n * 7:(n + 1) * 7].ljust(7, b"\xff")))
    listener = Dm1Listener()
    found = [dm1 for frame in frames for dm1 in listener.feed(frame)]
    assert [d.dtcs for d in found] == [tuple(THREE)]
    # the same transfer with a gap longer than T1 (750 ms) before the last packet is dropped, not half-decoded
    late = [*frames[:-1], can.Message(arbitration_id=frames[-1].arbitration_id, data=frames[-1].data, timestamp=5.0)]
    listener = Dm1Listener()
    assert [dm1 for frame in late for dm1 in listener.feed(frame)] == []
    assert listener.reassembler.dropped == 1


def test_simulator_j1939_dm1_over_bus_into_live_snapshot():
    """Three DTCs over BAM on a real virtual bus reach the live snapshot with source j1939-dm1, lamps too."""
    channel = f"j1939-{uuid.uuid4().hex[:8]}"
    sender = can.Bus(interface="virtual", channel=channel)
    receiver = can.Bus(interface="virtual", channel=channel)
    state, session = new_live_state()
    notifier = can.Notifier(receiver, [state, *session.listeners], timeout=0.02)
    try:
        for frame in bam_frames(DM1_PGN, 0x00, encode_dm1(THREE, {"amber_warning": "on", "red_stop": "flashing"})):
            sender.send(frame)
        found = wait_for(lambda: [d for d in state.snapshot().dtcs if d.source == "j1939-dm1"], timeout_s=3.0)
        assert [(d.code, d.ecu) for d in found] == [("SPN 110 FMI 0", "SA 0x00"), ("SPN 100 FMI 1", "SA 0x00"),
                                                    ("SPN 524287 FMI 31", "SA 0x00")]
        assert "occurred 3 times" in found[0].description
        lamps = {lamp.key: lamp.state for lamp in state.snapshot().lamps}
        assert lamps["j1939_amber_warning_00"] == "on" and lamps["j1939_red_stop_00"] == "flashing"
        # the source then reports no DTC: a single-frame DM1 with the all-zero record clears the list
        for frame in bam_frames(DM1_PGN, 0x00, encode_dm1([])):
            sender.send(frame)
        assert wait_for(lambda: not [d for d in state.snapshot().dtcs if d.source == "j1939-dm1"], timeout_s=3.0)
    finally:
        notifier.stop()
        sender.shutdown()
        receiver.shutdown()
