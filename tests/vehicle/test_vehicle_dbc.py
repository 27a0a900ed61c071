"""DBC loading: strict, relaxed, repaired (named dropped lines), clear errors, several files, J1939 PGNs, cache."""

from __future__ import annotations

import warnings
from pathlib import Path

import cantools
import pytest

from rag_car.errors import DbcError
from rag_car.settings import BUNDLED_DBC_DIR
from rag_car.vehicle.dbc import DbcWarning, load_dbc, pgn_of
from vehicle_helpers import BENCH_DBC, FILES


def _load_quiet(*paths, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        db = load_dbc(list(paths), **kwargs)
    return db, [str(w.message) for w in caught if issubclass(w.category, DbcWarning)]


@pytest.mark.slow
def test_every_shared_dbc_loads_and_says_how(shared_data):
    expected = {
        "hyundai_can.dbc": "repaired", "gm_global_a_powertrain.dbc": "repaired", "tesla_can.dbc": "repaired",
        "vw_mqbevo.dbc": "repaired", "vw_pq.dbc": "relaxed", "vw_golf_mk4.dbc": "relaxed", "Model3CAN.dbc": "relaxed",
        "gwm_haval_h6_phev_2024.dbc": "relaxed", "hyundai_canfd.dbc": "relaxed",
    }
    paths = sorted(shared_data.rglob("*.dbc"))
    assert len(paths) >= 25
    for path in paths:
        db, caught = _load_quiet(path)
        first = db.files[0]
        assert first.database.messages, path
        mode = expected.get(path.name, "strict")
        assert first.report.mode == mode, (path, first.report)
        assert bool(caught) == (mode != "strict"), (path, caught)


def test_hyundai_can_drops_the_two_bare_id_comments_and_names_their_lines(shared_data):
    db, caught = _load_quiet(shared_data / "opendbc" / "hyundai_can.dbc")
    report = db.files[0].report
    assert [d.line for d in report.dropped] == [1656, 1657]
    assert report.dropped[0].text.startswith('CM_ 145 "Contains signal with accelerator pedal press')
    assert any(":1656: dropped malformed CM_ statement: CM_ 145" in text for text in caught)
    assert any(":1657:" in text and "CM_ 512" in text for text in caught)
    # everything else is there: 146 messages, as the file defines
    assert len(db.messages) == 146


def test_unused_value_table_is_dropped_by_line(shared_data):
    db, caught = _load_quiet(shared_data / "opendbc" / "gm_global_a_powertrain.dbc")
    (dropped,) = db.files[0].report.dropped
    assert dropped.line == 345 and dropped.text.startswith("VAL_ 715 GasRegenCmdActiveInv")
    assert "GasRegenCmdActiveInv" in caught[0]


def test_29_bit_ids_without_the_flag_are_read_as_extended(shared_data):
    db, caught = _load_quiet(shared_data / "opendbc" / "vw_mqbevo.dbc")
    message = db.lookup(0x12DD54A7, True)
    assert message is not None and message.name == "CAMERA_NEW_6" and message.is_extended_frame
    assert len(db.files[0].report.reinterpreted) == 10
    assert any("CAMERA_NEW_6" in text and "extended" in text for text in caught)


def test_relaxed_report_lists_every_message_strict_mode_rejects(shared_data):
    db, caught = _load_quiet(shared_data / "opendbc" / "vw_pq.dbc")
    relaxed = db.files[0].report.relaxed
    assert any(item.startswith("Slave_1:") and "overlapping" in item for item in relaxed)
    assert len(relaxed) >= 2
    with pytest.raises(Exception):
        cantools.database.load_file(str(shared_data / "opendbc" / "vw_pq.dbc"))


def test_opendbc_import_loads_the_imported_file(shared_data):
    db, _ = _load_quiet(shared_data / "opendbc" / "hyundai_canfd.dbc")
    assert [f.path.name for f in db.files] == ["hyundai_canfd.dbc", "_hyundai_canfd_common.dbc"]
    assert len(db.messages) == 51 + 37


def test_malformed_comments_in_our_fixture_are_dropped_and_decoding_is_unchanged():
    db, caught = _load_quiet(FILES / "malformed_comments.dbc")
    assert [d.line for d in db.files[0].report.dropped] == [40, 41]
    assert len(caught) == 2 and "malformed_comments.dbc:40:" in caught[0]
    good = cantools.database.load_file(str(BENCH_DBC))
    data = bytes.fromhex("A00F7D0300140000")
    assert db.lookup(256, False).decode(data) == good.get_message_by_frame_id(256).decode(data)


@pytest.mark.parametrize("name, where", [("broken_signal.dbc", ":17:"), ("not_a_dbc.dbc", ":1:1:")])
def test_a_dbc_that_does_not_parse_names_file_and_line(name, where):
    with pytest.raises(DbcError) as info:
        load_dbc(FILES / name)
    text = str(info.value)
    assert f"{name}{where}" in text and "syntax error" in text and info.value.fix


def test_empty_dbc_files_are_errors(tmp_path):
    with pytest.raises(DbcError, match="defines no messages"):
        load_dbc(FILES / "empty.dbc")
    zero = tmp_path / "zero.dbc"
    zero.write_bytes(b"")
    with pytest.raises(DbcError, match="defines no messages"):
        load_dbc(zero)
    with pytest.raises(DbcError, match="does not exist"):
        load_dbc(tmp_path / "missing.dbc")


def test_strict_failure_that_is_not_droppable_is_an_error(tmp_path):
    # a message header without its colon: structural, so it is not dropped
    bad = tmp_path / "bad_message.dbc"
    bad.write_text(BENCH_DBC.read_text().replace("BO_ 512 BodyMux: 8 BODY", "BO_ 512 BodyMux 8 BODY"))
    with pytest.raises(DbcError, match=r"bad_message.dbc:21:\d+: DBC syntax error"):
        load_dbc(bad)


def test_several_files_and_channel_binding(shared_data):
    db, _ = _load_quiet(BENCH_DBC, f"can1={shared_data / 'opendbc' / 'toyota_iQ_2009_can.dbc'}")
    assert db.files[1].channel == "can1" and db.channel_specific
    toyota = cantools.database.load_file(str(shared_data / "opendbc" / "toyota_iQ_2009_can.dbc"))
    some = toyota.messages[0]
    assert db.lookup(some.frame_id, False, channel="can1").name == some.name
    if some.frame_id not in (256, 512, 768, 1024):
        assert db.lookup(some.frame_id, False, channel="can0") is None
    # the file bound to no channel applies everywhere
    assert db.lookup(256, False, channel="can1").name == "EngineStatus"
    assert db.lookup(256, False, channel=None).name == "EngineStatus"


def test_duplicate_ids_across_files_keep_the_first_and_say_so(tmp_path):
    other = tmp_path / "other.dbc"
    other.write_text(BENCH_DBC.read_text().replace("EngineStatus", "OtherEngine"))
    db, caught = _load_quiet(BENCH_DBC, other)
    assert db.lookup(256, False).name == "EngineStatus"
    assert any("already defined as EngineStatus" in text for text in caught)


def test_extended_and_standard_ids_are_told_apart():
    db, _ = _load_quiet(BENCH_DBC)
    assert db.lookup(0x18FEF100, True).name == "TruckSpeed"
    assert db.lookup(0x18FEF100, False) is None
    assert db.lookup(256, True) is None


def test_j1939_matches_by_pgn_whatever_the_source_and_priority(shared_data):
    db, _ = _load_quiet(shared_data / "css-electronics" / "CSS-Electronics-SAE-J1939-DEMO.dbc")
    # EEC1 is defined as 0x0CF004FE (source 0xFE); a real engine sends 0x0CF00400 (source 0x00)
    assert db.lookup(0x0CF00400, True).name == "EEC1"
    assert db.lookup(0x18FEF100, True).name == "CCVS1"
    assert db.lookup(0x18FEF200, True) is None
    # PDU1 (PF < 240): the destination byte is not part of the PGN
    assert pgn_of(0x18EA00F9) == pgn_of(0x18EAFFF9) == 0xEA00
    assert pgn_of(0x18FEF100) == 0xFEF1


def test_can_fd_and_multiplexing_from_cantools_fixtures(shared_data):
    db, _ = _load_quiet(shared_data / "cantools" / "fd_test.dbc", shared_data / "cantools" / "multiplex_2.dbc")
    assert any(m.is_fd for m in db.messages)
    assert any(m.is_multiplexed() for m in db.messages)


def test_bundled_vehicle_dbc_loads_strictly():
    paths = sorted(BUNDLED_DBC_DIR.glob("*.dbc"))
    if not paths:
        pytest.skip("no bundled DBC yet")
    db, caught = _load_quiet(*paths)
    assert caught == []
    assert all(f.report.mode == "strict" for f in db.files)


def test_parsed_databases_are_cached_by_content_and_still_warn(tmp_path, shared_data):
    source = shared_data / "opendbc" / "hyundai_can.dbc"
    first, warned_first = _load_quiet(source, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    second, warned_second = _load_quiet(source, cache_dir=tmp_path)
    assert warned_first == warned_second and len(warned_second) == 2
    data = bytes(8)
    message_a, message_b = first.lookup(0x153, False), second.lookup(0x153, False)
    assert message_a.decode(data, decode_choices=False) == message_b.decode(data, decode_choices=False)
    # another content, another entry
    changed = tmp_path / "changed.dbc"
    changed.write_text(BENCH_DBC.read_text())
    _load_quiet(changed, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.pickle"))) == 2


def test_get_message_lookups_behave_like_cantools():
    db, _ = _load_quiet(BENCH_DBC)
    assert db.get_message_by_name("BodyMux").frame_id == 512
    assert db.get_message_by_frame_id(0x18FEF100).name == "TruckSpeed"
    with pytest.raises(KeyError):
        db.get_message_by_name("Nope")
    with pytest.raises(KeyError):
        db.get_message_by_frame_id(0x7FF)


def test_dbc_path_with_channel_syntax_but_existing_file_is_a_file(tmp_path):
    odd = tmp_path / "a=b.dbc"
    odd.write_text(BENCH_DBC.read_text())
    db, _ = _load_quiet(Path(odd))
    assert db.files[0].channel is None and db.files[0].path == odd


def test_a_few_malformed_statements_are_dropped_but_many_are_an_error(tmp_path):
    text = BENCH_DBC.read_text()
    few = tmp_path / "few.dbc"
    few.write_text(text + "".join(f"CM_ BO_ 256 comment {i} without quotes;\n" for i in range(3)))
    db, caught = _load_quiet(few)
    assert len(db.files[0].report.dropped) == 3 and len(caught) == 3
    many = tmp_path / "many.dbc"
    many.write_text(text + "".join(f"CM_ BO_ 256 comment {i} without quotes;\n" for i in range(30)))
    with pytest.raises(DbcError, match=r"many.dbc:\d+:\d+: DBC syntax error \(after dropping 25 malformed statements\)"):
        load_dbc(many)
