"""Settings page: the active backend, store and bus with their health (the doctor checks), and how to change them."""

from __future__ import annotations

import streamlit as st

from rag_car.errors import RagCarError
from rag_car.health import run_checks

from ui import labels, resources

settings = resources.settings()
LANG = labels.current(st.session_state)
st.title(labels.label("page_settings", LANG))
st.caption(labels.label("settings_caption", LANG))


@st.cache_data(ttl=10, show_spinner=labels.label("checking", LANG))
def _checks(_key: str):
    return run_checks(resources.settings(), timeout_s=1.0)


if st.button(labels.label("check_again", LANG), icon=":material/refresh:", key="recheck"):
    _checks.clear()
checks = _checks(str(settings.data_dir))

a, b, c = st.columns(3)
a.metric(labels.label("m_backend", LANG), settings.llm.backend, border=True)
b.metric(labels.label("m_store", LANG), settings.store.mode, border=True,
         help=f"Chroma server at {settings.store.host}:{settings.store.port}" if settings.store.mode == "server"
         else f"embedded under {settings.index_dir}")
c.metric(labels.label("m_bus", LANG), settings.can.bus.split(":", 1)[0], border=True, help=settings.can.bus)
st.caption(labels.label("language_setting", LANG, setting=settings.ui.language, now=LANG))

st.subheader(labels.label("health", LANG))
for check in checks:
    if check.ok:
        st.success(f"**{check.name}**: {check.detail}", icon=":material/check_circle:")
    else:
        st.error(f"**{check.name}**: {check.detail}" + (f"\n\nFix: {check.fix}" if check.fix else ""), icon=":material/error:")

snapshot, feed = resources.live_snapshot()
if feed.reachable:
    st.success(f"**live feed**: listening to `{feed.spec}`, {feed.frames:,} frames received", icon=":material/sensors:")
else:
    st.error(f"**live feed**: `{feed.spec}` {feed.state}" + (f" ({feed.error})" if feed.error else "")
             + (f"\n\nFix: {feed.fix}" if feed.fix else ""), icon=":material/sensors_off:")
try:
    index = resources.index_status()
    if index["documents"]:
        st.success(f"**index**: {len(index['documents'])} documents, {index['chunks']:,} passages "
                   f"(generation {resources.index_generation()})", icon=":material/inventory_2:")
    else:
        st.warning("**index**: nothing is indexed yet. Fix: add documents on the Documents page, "
                   "or run `rag-car ingest knowledge/`", icon=":material/inventory_2:")
except RagCarError as exc:
    st.error(f"**index**: {exc.message}" + (f"\n\nFix: {exc.fix}" if exc.fix else ""), icon=":material/error:")
built = resources.assistant_builder().ready
warm = resources.SENTENCES
if not built:
    st.caption("The assistant is still loading (first start).")
elif warm["state"] == "done":
    st.caption(f"The assistant is loaded and warm ({warm['sentences']:,} indexed sentences embedded in "
               f"{warm['seconds']:g} s, cached for the next start).")
else:
    st.caption(f"The assistant is answering; the indexed sentences are being embedded in the background "
               f"({warm['state']}), which makes the first answers a little slower until it is done.")

st.subheader(labels.label("vehicle_profile", LANG))
st.caption("What rag-car knows about the vehicle on the bus (normal ranges, lamps, trouble codes, bulletins) comes "
           "from its profile only: the one whose VIN pattern matches the VIN heard on the bus, else the one picked "
           "here, else none. Add profiles with `rag-car vehicle add NAME --dbc FILE`.")
try:
    garage = resources.vehicle_profiles()
except RagCarError as exc:
    garage = None
    st.error(f"**vehicle profiles**: {exc.message}" + (f"\n\nFix: {exc.fix}" if exc.fix else ""), icon=":material/error:")
if garage is not None:
    in_force = getattr(snapshot, "profile", None) if snapshot is not None else None
    how = {"vin": "from the VIN on the bus", "picked": "picked", "dbc": "its DBC files are the ones in use",
           "none": ""}.get(getattr(snapshot, "profile_how", "none"), "")
    if in_force is not None:
        st.success(f"**in force**: {in_force.name} ({in_force.label()}), {how}", icon=":material/directions_car:")
    else:
        st.warning("**in force**: none: answers use the documents and the DBC alone, no vehicle's ranges or rules",
                   icon=":material/directions_car:")
    for note in getattr(snapshot, "profile_notes", ()) or ():
        st.info(note, icon=":material/info:")
    for problem in garage.problems:
        st.error(f"**{problem.source}**: {problem.message}", icon=":material/error:")
    names = ["(none)"] + garage.names()
    current = in_force.name if in_force is not None and in_force.name in names else "(none)"
    chosen = st.selectbox(labels.label("pick_profile", LANG), names, index=names.index(current), key="vehicle_profile",
                          help="Applied when the bus sends no VIN that matches a profile.")
    if chosen != current and st.button(labels.label("use_profile", LANG), key="use_profile"):
        resolution = resources.pick_profile(None if chosen == "(none)" else chosen)
        if resolution is not None and resolution.name != ("" if chosen == "(none)" else chosen):
            st.warning("; ".join(resolution.notes) or "the bus's VIN selects another profile", icon=":material/info:")
        st.rerun()
    st.dataframe([{"profile": p.name, "vehicle": p.label(), "DBC files": len(p.dbc), "ranges": len(p.ranges),
                   "lamps": len(p.lamps), "codes": len(p.dtcs),
                   "VINs": p.identity.vin_pattern.text if p.identity.vin_pattern else ", ".join(p.identity.wmi)}
                  for p in garage.profiles], hide_index=True)

st.subheader(labels.label("how_to_change", LANG))
st.markdown(f"""
Settings are read once when the server starts, highest precedence first: command-line flags, environment
variables (`RAG_CAR_` prefix, `__` between section and key), `rag_car.toml` in the working directory
(or `--config FILE`), then the defaults. Restart `rag-car serve` after a change.

| what | now | environment | rag_car.toml |
|---|---|---|---|
| answer backend (`extractive`, `llamacpp`, `ollama`, `openai`) | `{settings.llm.backend}` | `RAG_CAR_LLM__BACKEND=ollama` | `[llm]` `backend = "ollama"` |
| default persona | `{settings.llm.persona}` | `RAG_CAR_LLM__PERSONA=technician` | `[llm]` `persona = "technician"` |
| vector store (`embedded`, `server`) | `{settings.store.mode}` | `RAG_CAR_STORE__MODE=server` | `[store]` `mode = "server"`, `host`, `port` |
| CAN bus or OBD-II adapter | `{settings.can.bus}` | `RAG_CAR_CAN__BUS=socketcan:can0` or `elm327:/dev/ttyUSB0` | `[can]` `bus = "remote:ws://127.0.0.1:54701/"` |
| vehicle profile picked | `{settings.vehicle.profile or "(none)"}` | `RAG_CAR_VEHICLE__PROFILE=kona` | `[vehicle]` `profile = "kona"` |
| data folder | `{settings.data_dir}` | `RAG_CAR_DATA_DIR=/srv/rag-car` | `data_dir = "/srv/rag-car"` |
| UI language (`auto`, `en`, `zh`) | `{settings.ui.language}` | `RAG_CAR_UI__LANGUAGE=zh` | `[ui]` `language = "zh"` |
| upload size limit | {settings.ingest.max_file_mb:g} MB | `RAG_CAR_INGEST__MAX_FILE_MB=100` | `[ingest]` `max_file_mb = 100` |

On the command line: `rag-car serve --bus remote:ws://127.0.0.1:54701/`, `rag-car serve --with-simulator`,
`rag-car --data-dir DIR serve`. `rag-car config` prints the resolved values, `rag-car doctor` runs the checks above.
""")

with st.expander(labels.label("all_settings", LANG), icon=":material/data_object:"):
    st.json(settings.masked(), expanded=False)
