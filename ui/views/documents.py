"""Documents page: upload -> checks -> ingestion with progress and a per-file result; index status; removal."""

from __future__ import annotations

import math

import streamlit as st

from rag_car.errors import RagCarError
from rag_car.knowledge.load.limits import InputLimits

from ui import resources
from ui.uploads import UPLOAD_TYPES, store_upload

RESULTS = "upload_results"
UPLOADER_GEN = "uploader_generation"

settings = resources.settings()
max_mb = settings.ingest.max_file_mb
st.title("Documents")
st.caption("Owner's and service manuals, DTC tables, bulletins, recalls and NHTSA files. "
           "Everything added here is searched by the chat.")

# -- upload -------------------------------------------------------------------------------------

st.subheader("Add documents")
generation = st.session_state.setdefault(UPLOADER_GEN, 0)
files = st.file_uploader(
    f"PDF, HTML, DOCX, Markdown, text, reStructuredText, DTC CSV or NHTSA flat files (tab-separated), up to {max_mb:g} MB each",
    type=UPLOAD_TYPES, accept_multiple_files=True, key=f"uploader_{generation}",
    max_upload_size=max(1, math.ceil(max_mb)),
)
if st.button("Add to the index", type="primary", icon=":material/upload_file:", disabled=not files, key="ingest_uploads"):
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
        bar = st.progress(0.0, text="Indexing…")

        def progress(fraction: float, text: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=text)

        try:
            outcome = resources.ingest_files([item.path for item in stored], progress)
        except RagCarError as exc:
            outcome = {str(item.path): ("failed", str(exc)) for item in stored}
        bar.progress(1.0, text="Done")
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
    text = f"**{row['file']}**: {row['result']}" + (f" · {row['detail']}" if row["detail"] else "")
    if row["result"] in ("refused", "failed"):
        st.error(text, icon=":material/error:")
    elif row["result"] == "unchanged":
        st.info(text, icon=":material/check:")
    else:
        st.success(text, icon=":material/check_circle:")

# -- what is indexed ----------------------------------------------------------------------------

st.subheader("Index")
try:
    status = resources.index_status()
except RagCarError as exc:
    st.error(f"The index cannot be read: {exc.message}" + (f"\n\nFix: {exc.fix}" if exc.fix else ""), icon=":material/error:")
    st.stop()

documents = status["documents"]
if not documents:
    st.info("Nothing is indexed yet: add documents above, or run `rag-car ingest knowledge/` for the bundled manuals.",
            icon=":material/inventory_2:")
    st.stop()

a, b, c = st.columns(3)
a.metric("Documents", len(documents), border=True)
b.metric("Passages", f"{status['chunks']:,}", border=True)
c.metric("Vehicles", len(status["by_vehicle"]), border=True)
left, right = st.columns(2)
with left:
    st.markdown("**By document type**")
    st.dataframe([{"type": k.replace("_", " "), "documents": v["documents"], "passages": v["chunks"]}
                  for k, v in sorted(status["by_type"].items())], hide_index=True, width="stretch")
with right:
    st.markdown("**By vehicle**")
    st.dataframe([{"vehicle": k, "passages": v["chunks"]}
                  for k, v in sorted(status["by_vehicle"].items())], hide_index=True, width="stretch")

st.markdown("**Documents**")
st.dataframe([{"title": d["title"], "type": d["doc_type"].replace("_", " "), "vehicle": d["vehicle"],
               "passages": d["chunks"], "file": d["source"]} for d in documents], hide_index=True, width="stretch")

with st.form("remove_document", border=True):
    st.markdown("**Remove a document**")
    labels = {d["source"]: f"{d['title']} ({d['source'].rsplit('/', 1)[-1]})" for d in documents}
    target = st.selectbox("Document", list(labels), format_func=labels.get, key="remove_target")
    confirm = st.checkbox("Yes, remove it from the index (uploaded files are deleted too)", key="remove_confirm")
    if st.form_submit_button("Remove", icon=":material/delete:"):
        if not confirm:
            st.warning("Tick the box to confirm the removal.")
        else:
            try:
                removed = resources.remove_document(target)
            except RagCarError as exc:
                st.error(f"Could not remove it: {exc.message}" + (f"\n\nFix: {exc.fix}" if exc.fix else ""))
            else:
                resources.clear_index_caches()
                st.session_state[RESULTS] = [{"file": labels[target], "result": "removed",
                                              "detail": f"{removed} passages taken out of the index"}]
                st.rerun()
