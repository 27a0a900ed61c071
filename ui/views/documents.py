"""Documents page: upload -> checks -> ingestion with progress and a per-file result; index status; removal."""

from __future__ import annotations

import math

import streamlit as st

from rag_car.errors import RagCarError
from rag_car.knowledge.load.limits import InputLimits

from rag_car.language import doc_type_name

from ui import labels as words, resources
from ui.uploads import UPLOAD_TYPES, store_upload

RESULTS = "upload_results"
UPLOADER_GEN = "uploader_generation"

settings = resources.settings()
max_mb = settings.ingest.max_file_mb
LANG = words.current(st.session_state)
st.title(words.label("page_documents", LANG))
st.caption(words.label("documents_caption", LANG))

# -- upload -------------------------------------------------------------------------------------

st.subheader(words.label("add_documents_heading", LANG))
generation = st.session_state.setdefault(UPLOADER_GEN, 0)
files = st.file_uploader(
    words.label("upload_label", LANG, mb=f"{max_mb:g}"),
    type=UPLOAD_TYPES, accept_multiple_files=True, key=f"uploader_{generation}",
    max_upload_size=max(1, math.ceil(max_mb)),
)
if st.button(words.label("add_to_index", LANG), type="primary", icon=":material/upload_file:", disabled=not files, key="ingest_uploads"):
    results: list[dict] = []
    stored = []
    for upload in files or []:
        try:
            item = store_upload(upload.name, upload.getvalue(), settings.uploads_dir, int(max_mb * 1_000_000),
                                InputLimits.from_settings(settings.ingest))
        except RagCarError as exc:
            results.append({"file": upload.name, "result": "refused", "detail": str(exc)})
            continue
        stored.append(item)
    if stored:
        bar = st.progress(0.0, text=words.label("indexing", LANG))

        def progress(fraction: float, text: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=text)

        try:
            outcome = resources.ingest_files([item.path for item in stored], progress)
        except RagCarError as exc:
            outcome = {str(item.path): ("failed", str(exc)) for item in stored}
        bar.progress(1.0, text=words.label("done", LANG))
        for item in stored:
            status, detail = outcome.get(str(item.path), ("failed", "no result from the ingestion"))
            if item.duplicate and status == "unchanged":
                detail = f"already uploaded as {item.path.name}; {detail}".rstrip("; ")
            elif item.path.name != item.original_name:
                detail = f"stored as {item.path.name}; {detail}".rstrip("; ")
            results.append({"file": item.original_name, "result": status, "detail": detail})
        resources.clear_index_caches()
    st.session_state[RESULTS] = results
    st.session_state[UPLOADER_GEN] = generation + 1  # empties the uploader
    st.rerun()

for row in st.session_state.get(RESULTS) or []:
    result = words.label(f"result_{row['result']}", LANG) if f"result_{row['result']}" in words.KEYS else row["result"]
    text = f"**{row['file']}**: {result}" + (f" · {row['detail']}" if row["detail"] else "")
    if row["result"] in ("refused", "failed"):
        st.error(text, icon=":material/error:")
    elif row["result"] == "unchanged":
        st.info(text, icon=":material/check:")
    else:
        st.success(text, icon=":material/check_circle:")

# -- what is indexed ----------------------------------------------------------------------------

st.subheader(words.label("index_heading", LANG))
try:
    status = resources.index_status()
except RagCarError as exc:
    st.error(words.label("index_unreadable", LANG, message=exc.message)
             + ("\n\n" + words.label("fix", LANG, fix=exc.fix) if exc.fix else ""), icon=":material/error:")
    st.stop()

documents = status["documents"]
if not documents:
    st.info(words.label("nothing_indexed", LANG), icon=":material/inventory_2:")
    st.stop()

a, b, c = st.columns(3)
a.metric(words.label("m_documents", LANG), len(documents), border=True)
b.metric(words.label("m_passages", LANG), f"{status['chunks']:,}", border=True)
c.metric(words.label("m_vehicles", LANG), len(status["by_vehicle"]), border=True)
col = {key: words.label(f"col_{key}", LANG) for key in ("type", "documents", "passages", "vehicle", "title", "file")}
left, right = st.columns(2)
with left:
    st.markdown(f"**{words.label('by_type', LANG)}**")
    st.dataframe([{col["type"]: doc_type_name(k, LANG), col["documents"]: v["documents"], col["passages"]: v["chunks"]}
                  for k, v in sorted(status["by_type"].items())], hide_index=True, width="stretch")
with right:
    st.markdown(f"**{words.label('by_vehicle', LANG)}**")
    st.dataframe([{col["vehicle"]: k, col["passages"]: v["chunks"]}
                  for k, v in sorted(status["by_vehicle"].items())], hide_index=True, width="stretch")

st.markdown(f"**{words.label('documents_list', LANG)}**")
st.dataframe([{col["title"]: d["title"], col["type"]: doc_type_name(d["doc_type"], LANG), col["vehicle"]: d["vehicle"],
               col["passages"]: d["chunks"], col["file"]: d["source"]} for d in documents], hide_index=True, width="stretch")

with st.form("remove_document", border=True):
    st.markdown(f"**{words.label('remove_heading', LANG)}**")
    labels = {d["source"]: f"{d['title']} ({d['source'].rsplit('/', 1)[-1]})" for d in documents}
    target = st.selectbox(words.label("document", LANG), list(labels), format_func=labels.get, key="remove_target")
    confirm = st.checkbox(words.label("remove_confirm", LANG), key="remove_confirm")
    if st.form_submit_button(words.label("remove", LANG), icon=":material/delete:"):
        if not confirm:
            st.warning(words.label("tick_to_confirm", LANG))
        else:
            try:
                removed = resources.remove_document(target)
            except RagCarError as exc:
                st.error(words.label("could_not_remove", LANG, message=exc.message)
                         + ("\n\n" + words.label("fix", LANG, fix=exc.fix) if exc.fix else ""))
            else:
                resources.clear_index_caches()
                st.session_state[RESULTS] = [{"file": labels[target], "result": "removed",
                                              "detail": words.label("removed_passages", LANG, n=removed)}]
                st.rerun()
