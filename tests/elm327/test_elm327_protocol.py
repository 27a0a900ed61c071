"""ELM327 reply text -> lines and each ECU's answer: every shape the data sheet and real adapters give."""

from __future__ import annotations

from rag_car.vehicle.elm327.protocol import UNKNOWN_ECU, assemble, split_reply


def _answers(raw: str, command: str, service: int):
    reply = split_reply(raw, command)
    responses, garbage = assemble(reply, service)
    return reply, responses, garbage


def test_elm327_headers_single_frames_from_two_ecus():
    reply, responses, garbage = _answers("SEARCHING...\r7E8 06 41 00 BE 3E B8 11\r7E9 06 41 00 80 00 00 01\r\r", "0100", 1)
    assert reply.info == ["SEARCHING..."] and not garbage
    assert [(r.ecu, r.data.hex(" ")) for r in responses] == [(0x7E8, "00 be 3e b8 11"), (0x7E9, "00 80 00 00 01")]


def test_elm327_multi_frame_vin_with_headers_and_without():
    with_headers = "7E8 10 14 49 02 01 31 43 34\r7E8 21 52 4A 46 42 47 38 46\r7E8 22 43 31 32 33 34 35 36\r\r"
    _, responses, _ = _answers(with_headers, "0902", 9)
    assert responses[0].data[2:].decode() == "1C4RJFBG8FC123456"
    headerless = "014\r0: 49 02 01 31 43 34\r1: 52 4A 46 42 47 38 46\r2: 43 31 32 33 34 35 36\r\r"
    _, responses, _ = _answers(headerless, "0902", 9)
    assert responses[0].ecu == UNKNOWN_ECU and responses[0].data[2:].decode() == "1C4RJFBG8FC123456"
    # consecutive frames out of order: an error, not a made-up VIN
    _, responses, _ = _answers("7E8 10 14 49 02 01 31 43 34\r7E8 22 43 31 32 33 34 35 36\r", "0902", 9)
    assert responses[0].error and not responses[0].positive
    # cut off after the first frame
    _, responses, _ = _answers("7E8 10 14 49 02 01 31 43 34\r", "0902", 9)
    assert "cut off" in responses[0].error


def test_elm327_echo_spaces_off_29_bit_and_legacy_headers():
    # a clone echoes despite ATE0, spaces off
    _, responses, garbage = _answers("010C\r7E804410C1AF8\r\r", "010C", 1)
    assert responses[0].data.hex() == "0c1af8" and not garbage
    # CAN 29-bit: 18 DA F1 <ECU> PCI data
    _, responses, _ = _answers("18 DA F1 10 04 41 0C 1A F8\r", "010C", 1)
    assert responses[0].ecu == 0x18DAF110 and responses[0].data.hex() == "0c1af8"
    # J1850 / ISO 9141 with headers: 48 6B 10 | 41 0C 1A F8 | checksum
    _, responses, _ = _answers("48 6B 10 41 0C 1A F8 C5\r", "010C", 1)
    assert responses[0].ecu == 0x10 and responses[0].data.hex() == "0c1af8"


def test_elm327_status_lines_and_garbage():
    for raw, status in (("NO DATA\r\r", "NODATA"), ("CAN ERROR\r", "CANERROR"), ("BUS INIT: ...ERROR\r", "BUSINIT:"),
                        ("?\r", "?"), ("STOPPED\r", "STOPPED"), ("UNABLE TO CONNECT\r", "UNABLETOCONNECT"),
                        ("\x00\x00BUFFER FULL\r", "BUFFERFULL")):
        reply = split_reply(raw, "010C")
        assert reply.status == status and not reply.data, raw
    assert split_reply("BUS INIT: ...OK\r41 0C 1A F8\r", "010C").status is None
    reply, responses, garbage = _answers("41 00 BE 3E\rGARBAGE@@\r\xfe\xff\r", "0100", 1)
    assert "GARBAGE@@" in garbage and len(garbage) == 2
    assert responses[0].data.hex() == "00be3e"  # kept as it came: too short for a bitmap, the caller drops it
    # a single frame shorter than its length byte is cut off
    _, responses, _ = _answers("7E8 06 41 01 00 07 E5\r", "0101", 1)
    assert "cut off" in responses[0].error
    # "47 0" is not hex bytes and no length line
    _, responses, garbage = _answers("47 0\r", "07", 7)
    assert responses == [] and garbage == ["47 0"]


def test_elm327_negative_answer_and_padding():
    _, responses, _ = _answers("7E8 03 7F 04 22\r", "04", 4)
    assert responses[0].nrc == 0x22
    # a freeze frame answer with a pad byte beyond its length (elmulator p0301_basic)
    _, responses, _ = _answers("7E8 05 42 02 00 03 01 00\r", "020200", 2)
    assert responses[0].data.hex() == "02000301"


def test_elm327_headers_off_second_answers_are_not_merged():
    # two ECUs answering with headers off: the first answer is kept, the other is not glued onto it
    _, responses, garbage = _answers("41 0D 3C\r41 0D 3B\r", "010D", 1)
    assert [r.data.hex() for r in responses] == ["0d3c"] and len(garbage) == 1
    # a legacy (ISO 9141) VIN with headers off: 49 02 <line> and four bytes per line
    lines = "49 02 01 00 00 00 31\r49 02 02 43 34 52 4A\r49 02 03 46 42 47 38\r49 02 04 46 43 31 32\r49 02 05 33 34 35 36\r"
    _, responses, _ = _answers(lines, "0902", 9)
    assert responses[0].data[2:].replace(b"\x00", b"").decode() == "1C4RJFBG8FC123456"
