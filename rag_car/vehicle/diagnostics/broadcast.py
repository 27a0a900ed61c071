"""The vehicle's own frames -> DTCs, lamps and VIN: the gateway's DTC broadcast, the cluster's lamp signals, the VIN broadcast.

Which message and signals carry them comes from the vehicle profile in force ([dtc_broadcast], [[lamp]],
[vin_broadcast] of its TOML); the DBC gives their frame IDs, layout and value tables. Passive: nothing is sent.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import can

from rag_car.vehicle.diagnostics.dtc import decode_dtc

if TYPE_CHECKING:
    from rag_car.vehicle.profile import Lamp, VehicleProfile


@dataclass(frozen=True)
class BroadcastDtc:
    code: str
    status: str  # the DBC's label for DtcStatus, lower case: "pending", "confirmed", "confirmed, mil on", "permanent"
    ecu: str
    occurrences: int
    index: int


def _choice_label(signal, raw: int) -> str:
    choices = getattr(signal, "choices", None) or {}
    label = choices.get(raw)
    return str(label) if label is not None else str(raw)


class BroadcastDecoder:
    """Frames -> the broadcast DTC list, the lamp states and the broadcast VIN of one vehicle.

    ``db``: a cantools Database holding the profile's messages. Messages the profile names but the DBC lacks
    are left out (see ``missing``); frames that do not decode are counted in ``errors``, never raised.
    ``profile`` None (no vehicle profile in force): nothing is decoded.
    """

    def __init__(self, db, profile: "VehicleProfile | None") -> None:
        self.profile = profile
        self._dtc_spec: dict[str, Any] = dict(profile.dtc_broadcast) if profile else {}
        self._vin_spec: dict[str, Any] = dict(profile.vin_broadcast) if profile else {}
        self.missing: list[str] = []
        self.errors = 0
        self._lock = threading.Lock()
        self._by_id: dict[int, Any] = {}
        self._dtc_message = self._message(self._dtc_spec.get("message"), db)
        self._vin_message = self._message(self._vin_spec.get("message"), db)
        self._lamps_by_message: dict[str, list[Lamp]] = {}
        for lamp in (profile.lamps.values() if profile else ()):
            if self._message(lamp.message, db) is not None:
                self._lamps_by_message.setdefault(lamp.message, []).append(lamp)
        self._dtc_slots: dict[int, BroadcastDtc] = {}
        self._dtc_count: int | None = None
        self._lamp_states: dict[str, str] = {}
        self._vin_pages: dict[int, str] = {}

    def _message(self, name: str | None, db):
        if not name:
            return None
        try:
            message = db.get_message_by_name(name)
        except KeyError:
            self.missing.append(name)
            return None
        self._by_id[message.frame_id] = message
        return message

    @property
    def frame_ids(self) -> set[int]:
        return set(self._by_id)

    def feed(self, msg: can.Message) -> str | None:
        """Take one frame; returns "dtcs", "lamps" or "vin" when that part changed, else None."""
        if msg.is_extended_id or msg.is_error_frame:
            return None
        message = self._by_id.get(msg.arbitration_id)
        if message is None:
            return None
        try:
            values = message.decode(bytes(msg.data), decode_choices=False, scaling=True)
        except Exception:  # a frame that does not decode is counted, never raised
            self.errors += 1
            return None
        with self._lock:
            if message is self._dtc_message:
                return "dtcs" if self._take_dtc(message, values) else None
            if message is self._vin_message:
                return "vin" if self._take_vin(values) else None
            return "lamps" if self._take_lamps(message.name, values) else None

    # --- the three parts ---------------------------------------------------------------------------
    def _take_dtc(self, message, values: dict[str, Any]) -> bool:
        spec = self._dtc_spec
        count = int(values.get(spec.get("count_signal", "DtcCount"), 0))
        index = int(values.get(spec.get("index_signal", "DtcIndex"), 0))
        raw_code = int(values.get(spec.get("code_signal", "DtcCode"), 0))
        before = (self._dtc_count, dict(self._dtc_slots))
        self._dtc_count = count
        for stale in [i for i in self._dtc_slots if i >= count]:
            del self._dtc_slots[stale]
        if count and index < count and raw_code:
            status_name = spec.get("status_signal", "DtcStatus")
            ecu_name = spec.get("ecu_signal", "DtcEcu")
            status_raw = int(values.get(status_name, 0))
            ecu_raw = int(values.get(ecu_name, 0))
            self._dtc_slots[index] = BroadcastDtc(
                code=decode_dtc(raw_code),
                status=_choice_label(message.get_signal_by_name(status_name), status_raw).lower()
                if status_name in values else "active",
                ecu=_choice_label(message.get_signal_by_name(ecu_name), ecu_raw) if ecu_name in values else "",
                occurrences=int(values.get(spec.get("occurrences_signal", "DtcOccurrences"), 0)),
                index=index,
            )
        return before != (self._dtc_count, self._dtc_slots)

    def _take_lamps(self, message_name: str, values: dict[str, Any]) -> bool:
        changed = False
        for lamp in self._lamps_by_message.get(message_name, []):
            if lamp.signal not in values:
                continue
            state = lamp.state_of(int(values[lamp.signal]))
            if state is None:
                changed = changed or lamp.key in self._lamp_states
                self._lamp_states.pop(lamp.key, None)
            elif self._lamp_states.get(lamp.key) != state:
                self._lamp_states[lamp.key] = state
                changed = True
        return changed

    def _take_vin(self, values: dict[str, Any]) -> bool:
        spec = self._vin_spec
        page_signal = spec.get("page_signal", "VinPage")
        names = spec.get("signals", [])
        page = int(values.get(page_signal, -1))
        if not 0 <= page < len(names) or names[page] not in values:
            return False
        raw = int(values[names[page]])
        width = 7 if page < 2 else 3
        text = raw.to_bytes(width, "big").decode("ascii", errors="replace")
        changed = self._vin_pages.get(page) != text
        self._vin_pages[page] = text
        return changed and len(self._vin_pages) == len(names)

    # --- results -----------------------------------------------------------------------------------
    def dtcs(self) -> list[BroadcastDtc]:
        """The active DTC list as broadcast (complete once every index has come round)."""
        with self._lock:
            return [self._dtc_slots[i] for i in sorted(self._dtc_slots)]

    @property
    def dtc_list_seen(self) -> bool:
        """True once at least one broadcast frame came (so an empty list means "no DTC", not "not heard")."""
        return self._dtc_count is not None

    def lamps(self) -> dict[str, str]:
        """Lamp key -> "on"/"off"/"flashing" for every lamp whose signal was seen."""
        with self._lock:
            return dict(self._lamp_states)

    def vin(self) -> str | None:
        with self._lock:
            if len(self._vin_pages) < len(self._vin_spec.get("signals", [])) or not self._vin_pages:
                return None
            return "".join(self._vin_pages[i] for i in sorted(self._vin_pages)).strip("\x00 ")
