"""The rag-car web UI (Streamlit): the frame around the four pages (Chat, Live vehicle, Documents, Settings).

Run it with `rag-car serve` (or `streamlit run ui/server.py`). The pages are in ui/views/; what they
share (settings, assistant, live feed) comes from ui/resources.py, the conversation from
ui/conversation.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `ui` is imported as a package from the repository root
    sys.path.insert(0, str(_ROOT))

import streamlit as st  # noqa: E402

from rag_car.errors import RagCarError  # noqa: E402
from rag_car.offline import apply_offline_env  # noqa: E402
from rag_car.settings import PERSONAS  # noqa: E402

apply_offline_env()
# A local file, not ":material/...": Streamlit turns a material page icon into a favicon fetched from a font
# server on the internet; an SVG file becomes a data: URL, so the page makes no request off this machine.
st.set_page_config(page_title="rag-car", page_icon=str(Path(__file__).resolve().parent / "assets" / "car.svg"), layout="wide")

from ui import conversation, labels, resources  # noqa: E402

try:
    settings = resources.settings()
except RagCarError as exc:
    st.error(f"The settings could not be loaded: {exc.message}")
    if exc.fix:
        st.info(f"Fix: {exc.fix}")
    st.stop()

conversation.init_session(settings.llm.persona)
LANG = labels.ui_language(settings.ui.language, getattr(st.context, "locale", None))
st.session_state[labels.SESSION_KEY] = LANG
# Started once per server: the bus listener and the assistant warm-up run in the background.
try:
    resources.live_feed()
except RagCarError:
    pass  # the live page explains; the chat still works without live data
resources.assistant_builder()

_VIEWS = Path(__file__).resolve().parent / "views"
PAGES = {
    "chat": st.Page(_VIEWS / "chat.py", title=labels.label("page_chat", LANG), icon=":material/chat:", url_path="chat", default=True),
    "live": st.Page(_VIEWS / "live.py", title=labels.label("page_live", LANG), icon=":material/speed:", url_path="live"),
    "documents": st.Page(_VIEWS / "documents.py", title=labels.label("page_documents", LANG), icon=":material/description:", url_path="documents"),
    "settings": st.Page(_VIEWS / "settings.py", title=labels.label("page_settings", LANG), icon=":material/settings:", url_path="settings"),
}
page = st.navigation(list(PAGES.values()))

with st.sidebar:
    st.markdown("### :material/directions_car: rag-car")
    st.caption(labels.label("tagline", LANG))
    st.segmented_control(
        labels.label("answer_for", LANG), options=list(PERSONAS), key=conversation.bind(conversation.PERSONA),
        on_change=conversation.store, args=(conversation.PERSONA,),
        format_func=lambda p: labels.persona(p, LANG), help=labels.label("answer_for_help", LANG),
    )
    vehicles = {resources.vehicle_label(v): v for v in resources.known_vehicles()}
    options = [conversation.ANY_VEHICLE, *sorted(vehicles)]
    if st.session_state.get(conversation.VEHICLE) not in options:
        st.session_state[conversation.VEHICLE] = conversation.ANY_VEHICLE
    picked = st.selectbox(labels.label("vehicle", LANG), options, key=conversation.bind(conversation.VEHICLE),
                          on_change=conversation.store, args=(conversation.VEHICLE,),
                          format_func=lambda v: labels.label("any_vehicle", LANG) if v == conversation.ANY_VEHICLE else v,
                          help=labels.label("vehicle_help", LANG))
    years = resources.vehicle_years(vehicles.get(picked))
    if years:
        year_options = [conversation.ANY_YEAR, *years]
        if st.session_state.get(conversation.YEAR) not in year_options:
            st.session_state[conversation.YEAR] = conversation.ANY_YEAR
        st.selectbox(labels.label("model_year", LANG), year_options, key=conversation.bind(conversation.YEAR),
                     on_change=conversation.store, args=(conversation.YEAR,),
                     format_func=lambda y: labels.label("any_year", LANG) if y == conversation.ANY_YEAR else str(y))
    conversation.set_vehicle_filter(vehicles.get(picked), st.session_state.get(conversation.YEAR) if years else None)
    st.toggle(labels.label("use_live", LANG), key=conversation.bind(conversation.USE_LIVE),
              on_change=conversation.store, args=(conversation.USE_LIVE,),
              help=labels.label("use_live_help", LANG))
    st.caption(labels.label("backend_bus", LANG, backend=settings.llm.backend, bus=settings.can.bus))

page.run()
