"""The vehicle's own broadcasts -> DTCs, lamps, VIN (names from facts.toml, layout from the DBC), frame by frame."""

from __future__ import annotations

import cantools
import can

from rag_car.vehicle.diagnostics.broadcast import BroadcastDecoder
from rag_car.vehicle.diagnostics.dtc import encode_dtc
from rag_car.vehicle.diagnostics.session import DiagnosticsSession
from rag_car.vehicle.live import LiveState
from sim_helpers import CORRIN, DBC


def _frame(db, name: str, **values) -> can.Message:
    message = db.get_message_by_name(name)
    full = {s.name: 0 for s in message.signals if not s.multiplexer_ids}
    full.update(values)
    return can.Message(arbitration_id=message.frame_id, data=message.encode(full, strict=False), is_extended_id=False)


def test_simulator_broadcast_dtc_list_round_robin():
    db = cantools.database.load_file(str(DBC))
    decoder = BroadcastDecoder(db, CORRIN)
    assert decoder.missing == [] and not decoder.dtc_list_seen
    for index, code in enumerate(("P0303", "P0420")):
        decoder.feed(_frame(db, "GW_DtcBroadcast", DtcCount=2, DtcIndex=index, DtcCode=encode_dtc(code), DtcEcu=16,
                            DtcStatus=3, DtcOccurrences=4))
    assert [(d.code, d.status, d.ecu, d.occurrences) for d in decoder.dtcs()] == [
        ("P0303", "confirmed, mil on", "ECM", 4), ("P0420", "confirmed, mil on", "ECM", 4)]
    # the list shrinks: the entry at index 1 is dropped, then "no DTC" clears it
    assert decoder.feed(_frame(db, "GW_DtcBroadcast", DtcCount=1, DtcIndex=0, DtcCode=encode_dtc("P0303"), DtcEcu=16, DtcStatus=1)) == "dtcs"
    assert [(d.code, d.status) for d in decoder.dtcs()] == [("P0303", "pending")]
    decoder.feed(_frame(db, "GW_DtcBroadcast", DtcCount=0))
    assert decoder.dtcs() == [] and decoder.dtc_list_seen
    # a frame that does not fit the DBC is counted, not raised
    short = can.Message(arbitration_id=db.get_message_by_name("GW_DtcBroadcast").frame_id, data=b"\x01", is_extended_id=False)
    assert decoder.feed(short) is None and decoder.errors == 1


def test_simulator_broadcast_lamps_and_vin():
    db = cantools.database.load_file(str(DBC))
    facts = CORRIN
    decoder = BroadcastDecoder(db, facts)
    assert decoder.feed(_frame(db, "IPC_WarningLamps", CheckEngineLamp=2, TpmsLamp=1, AirbagLamp=3)) == "lamps"
    lamps = decoder.lamps()
    assert lamps["check_engine"] == "flashing" and lamps["tpms"] == "on" and lamps["coolant_temp"] == "off"
    assert "airbag" not in lamps  # 3 = "Not available"
    vin = "0AMCG5A23KA100001"
    pages = [vin[0:7], vin[7:14], vin[14:17]]
    names = facts.vin_broadcast["signals"]
    results = [decoder.feed(_frame(db, "BCM_VinBroadcast", VinPage=page, **{names[page]: int.from_bytes(text.encode(), "big")}))
               for page, text in enumerate(pages)]
    assert results == [None, None, "vin"] and decoder.vin() == vin


def test_simulator_broadcast_session_fills_live_state():
    db = cantools.database.load_file(str(DBC))
    state = LiveState(db)
    session = DiagnosticsSession(state, CORRIN, db=state.db)
    session.on_message_received(_frame(db, "GW_DtcBroadcast", DtcCount=1, DtcIndex=0, DtcCode=encode_dtc("P0217"), DtcEcu=16, DtcStatus=2))
    session.on_message_received(_frame(db, "IPC_WarningLamps", CoolantTempLamp=1))
    snap = state.snapshot()
    assert [(d.code, d.source, d.description, d.ecu) for d in snap.dtcs] == [
        ("P0217", "broadcast", "Engine coolant overtemperature condition", "ECM")]
    lit = [(lamp.key, lamp.name, lamp.state) for lamp in snap.lamps if lamp.state != "off"]
    assert lit == [("coolant_temp", "Coolant temperature warning lamp", "on")]
    assert "P0217 Engine coolant overtemperature condition (broadcast" in snap.to_text()
