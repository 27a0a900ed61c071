"""Live vehicle page: the bus status, key signals, charts, lamps and trouble codes, refreshed every second."""

from __future__ import annotations

import time

import streamlit as st

from rag_car.language import with_unit

from ui import conversation, labels, resources
from ui.live_model import catalogue_for, find_key_signals, signal_history, signal_options, split_snapshot

REFRESH_S = 1.0
PICKED = "live_signals"
SHOW_ALL = "live_show_all"

settings = resources.settings()
LANG = labels.current(st.session_state)
st.title(labels.label("live_title", LANG))


def _status_banner(status) -> None:
    if status.progress and status.state in ("connecting", "connected") and status.progress != "live":
        # an OBD-II adapter takes seconds to come up: show which step it is at (connect -> codes -> readings)
        steps = max(status.progress_steps, status.progress_step + 1)
        st.progress(status.progress_step / steps,
                    text=labels.label("obd_progress", LANG, spec=status.spec, step=status.progress,
                                      n=status.progress_step + 1, total=steps))
        if status.error:  # e.g. no ECU answers 01 00 yet: say why it waits, and what to do
            st.caption(f"{status.error}" + (f" · {status.fix}" if status.fix else ""))
        return
    if status.progress == "live" and status.state == "connected":
        st.success(labels.label("obd_reading", LANG, spec=status.spec), icon=":material/sensors:")
        return
    if status.state == "connected":
        if status.receiving:
            st.success(labels.label("bus_connected", LANG, spec=status.spec, frames=f"{status.frames:,}"),
                       icon=":material/sensors:")
        else:
            age = labels.label("no_frame_yet", LANG) if status.last_frame_age_s is None \
                else labels.label("last_frame", LANG, age=f"{status.last_frame_age_s:.0f}")
            st.warning(labels.label("bus_silent", LANG, spec=status.spec, age=age), icon=":material/sensors_off:")
    elif status.state == "connecting":
        st.info(labels.label("bus_connecting", LANG, spec=status.spec), icon=":material/sync:")
    else:
        text = labels.label("bus_unreachable", LANG, spec=status.spec,
                            error=status.error or labels.label("no_connection", LANG))
        if status.fix:
            text += "\n\n" + labels.label("fix", LANG, fix=status.fix)
        text += "\n\n" + labels.label("bus_retrying", LANG)
        st.error(text, icon=":material/sensors_off:")


def _format(reading) -> str:
    value = reading.value
    if reading.label:
        return str(reading.label)
    if isinstance(value, float):
        value = f"{value:.1f}" if abs(value) < 100 else f"{value:,.0f}"
    return with_unit(str(value), reading.unit, LANG)  # the unit named in the page's language, the number as read


# tiles per row: narrow enough columns cut a metric's value ("28.8 k...", "1,259 r..."), so a row holds at most this many
TILES_PER_ROW = 3


_STATUS_COLOUR = {"ok": "green", "low": "orange", "high": "red", "stale": "gray"}


def _metrics(found: dict) -> None:
    tires = [title for title in found if title.startswith("Tire")]
    first = [title for title in found if title not in tires]
    if tires and all(found[t] is None for t in tires):
        tires = []  # a car whose bus sends no tire pressures: no empty row of dashes
    for group in (first, tires):
        for start in range(0, len(group), TILES_PER_ROW):
            row = group[start:start + TILES_PER_ROW]
            columns = st.columns(TILES_PER_ROW)
            for n, title in enumerate(row):
                _metric(columns[n], title, found[title])


def _metric(column, title: str, reading) -> None:
    """One key signal: its value, and its status as a coloured note (green normal ... grey stale)."""
    with column:
        if reading is None:
            st.metric(labels.tile(title, LANG), "–", delta=labels.label("no_data", LANG), delta_color="gray",
                      delta_arrow="off", border=True)
            return
        note = labels.status(reading.status, LANG)
        if reading.status == "stale" and reading.age_s is not None:
            note = f"{note} ({with_unit(f'{reading.age_s:.1f}', 's', LANG)})"
        st.metric(labels.tile(title, LANG), _format(reading), delta=note, delta_color=_STATUS_COLOUR.get(reading.status, "gray"),
                  delta_arrow="off", border=True, help=f"{reading.message}.{reading.name}")


@st.fragment(run_every=REFRESH_S)
def live_panel() -> None:
    snapshot, status = resources.live_snapshot()
    _status_banner(status)
    now = time.time()
    st.caption(labels.label("updated", LANG, time=f"{time.strftime('%H:%M:%S', time.localtime(now))}.{int(now * 10) % 10}",
                            every=f"{REFRESH_S:g}"))
    if snapshot is None:
        return
    parts = split_snapshot(snapshot)
    info = parts.vehicle
    if info.get("vin"):
        name = " ".join(str(info.get(k) or "") for k in ("make", "model", "year")).strip() or "Vehicle"
        variant = f" · {info['variant']}" if info.get("variant") else ""
        valid = "" if info.get("vin_valid", True) else " (check digit invalid)"
        st.markdown(f"**{name}**{variant} · VIN `{info['vin']}`{valid}")

    st.subheader(labels.label("key_signals", LANG))
    _metrics(find_key_signals(parts.signals, catalogue_for(resources.live_feed().live)))

    lamps_col, dtc_col = st.columns(2)
    with lamps_col:
        st.subheader(labels.label("warning_lamps", LANG))
        lit = [lamp for lamp in parts.lamps if lamp.state in ("on", "flashing")]
        if not lit:
            st.caption(labels.label("no_lamp", LANG))
        for lamp in lit:
            flashing = labels.label("flashing", LANG) if lamp.state == "flashing" else ""
            st.error(f"**{lamp.name}**{flashing}", icon=":material/emergency_home:")
    with dtc_col:
        st.subheader(labels.label("trouble_codes", LANG))
        if not parts.dtcs:
            st.caption(labels.label("no_dtc", LANG))
        for n, dtc in enumerate(parts.dtcs):
            with st.container(border=True):
                st.markdown(f"**{dtc.code}** · {dtc.description or labels.label('no_dtc_description', LANG)}")
                st.caption(labels.label("dtc_read_via", LANG, status=dtc.status, source=dtc.source)
                           + (f" · ECU {dtc.ecu}" if dtc.ecu else ""))
                if st.button(labels.label("ask_about_this", LANG), key=f"ask_dtc_{dtc.code}_{n}", icon=":material/forum:"):
                    conversation.ask_from_elsewhere(  # asked in the page's language, so the answer comes in it
                        labels.label("ask_dtc_described", LANG, code=dtc.code, description=dtc.description)
                        if dtc.description else labels.label("ask_dtc", LANG, code=dtc.code))
                    st.switch_page("views/chat.py")

    flagged = [r for r in parts.signals if r.status != "ok"]
    if flagged:
        st.subheader(labels.label("out_of_range", LANG))
        st.dataframe(_highlighted(_rows(flagged, keep_status=True)), hide_index=True, width="stretch",
                     height=min(38 + 35 * len(flagged), 250))


@st.fragment(run_every=REFRESH_S)
def history_panel(options: dict[str, str], show_all: bool) -> None:
    picked = [key for key in st.session_state.get(PICKED) or [] if key in options]
    if not picked and not show_all:
        return
    snapshot, _status = resources.live_snapshot()
    for key, series in signal_history(resources.live_state_or_none(), snapshot, picked).items():
        st.markdown(f"**{options.get(key, key)}**")
        if series:
            st.line_chart(series, x="seconds ago", y="value", height=180, x_label=labels.label("seconds_ago_axis", LANG),
                          y_label="")
        else:
            st.caption(labels.label("no_readings_yet", LANG))
    if show_all:
        readings = split_snapshot(snapshot).signals
        st.markdown(f"**{labels.label('all_signals', LANG, n=len(readings))}**")
        st.dataframe(_rows(readings), hide_index=True, width="stretch", height=400)


_ROW_COLOUR = {"high": "background-color: #fde2e1", "low": "background-color: #fff1d6",
               "stale": "background-color: #ececec; color: #6b6b6b"}


def _highlighted(rows: list[dict]):
    """The rows as a pandas Styler: high red, low orange, stale grey."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    colours = [_ROW_COLOUR.get(row["_status"], "") for row in rows]  # by the status key, whatever the column says
    return frame.drop(columns="_status").style.apply(lambda row: [colours[row.name]] * len(row), axis=1)


def _rows(readings, keep_status: bool = False) -> list[dict]:
    """One table row per reading, the columns named in the page's language (``keep_status``: also ``_status``, the
    status key that colours the row)."""
    rows = []
    for r in readings:
        row = {labels.label("col_message", LANG): r.message, labels.label("col_signal", LANG): r.name,
               labels.label("col_value", LANG): _format(r), labels.label("col_status", LANG): labels.status(r.status, LANG),
               labels.label("col_age", LANG): None if r.age_s is None else round(r.age_s, 1)}
        if keep_status:
            row["_status"] = r.status
        rows.append(row)
    return rows


live_panel()

st.subheader(labels.label("signal_history", LANG))
snapshot, _status = resources.live_snapshot()
options = signal_options(snapshot, resources.live_state_or_none())
st.session_state.setdefault(PICKED, [])
st.session_state.setdefault(SHOW_ALL, False)
st.multiselect(
    labels.label("signals_to_chart", LANG), options=list(options),
    format_func=lambda key: options.get(key, key), key=conversation.bind(PICKED),
    on_change=conversation.store, args=(PICKED,), placeholder=labels.label("signals_placeholder", LANG),
)
show_all = st.toggle(labels.label("show_all_signals", LANG), key=conversation.bind(SHOW_ALL),
                     on_change=conversation.store, args=(SHOW_ALL,))
history_panel(options, bool(show_all))
