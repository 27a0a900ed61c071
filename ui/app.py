"""The rag-car web UI (Streamlit): talks only to the assistant and the settings."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from rag_car.offline import apply_offline_env
from rag_car.settings import load_settings

apply_offline_env()
st.set_page_config(page_title="rag-car", page_icon=":car:", layout="wide")


@st.cache_resource
def _settings():
    config = os.environ.get("RAG_CAR_CONFIG_FILE")
    return load_settings(Path(config) if config else None)


settings = _settings()
st.title("rag-car")
st.caption("Vehicle knowledge assistant: manuals, DTC references, bulletins and the live CAN bus.")

st.header("Health")
from rag_car.health import run_checks  # noqa: E402  (cheap: no torch, no chromadb)

for check in run_checks(settings):
    line = f"**{check.name}**: {check.detail}"
    if check.ok:
        st.success(line)
    else:
        st.error(f"{line}. Fix: {check.fix}")

st.header("Settings")
st.json(settings.masked(), expanded=False)
