"""Documents and Settings pages through AppTest: upload (good, bad, duplicate), index status, removal, health."""

from __future__ import annotations

from ui_apptest import indexed_copy, indexed_data, new_app, page_text, ui_env  # noqa: F401  (fixtures)

from ui import conversation

NOTE = b"""# Roof rack

The Corrin roof rails carry at most 75 kg, including the rack. Spread the load evenly and
re-tighten the cross bar clamps to 6 N m after the first 50 km.
"""


def _documents(at):
    return at.switch_page("views/documents.py").run()


def _upload(at, *files):
    at.file_uploader[0].set_value(list(files)).run()
    at.button(key="ingest_uploads").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_upload_ingests_shows_results_and_the_chat_finds_it(ui_env, indexed_copy):
    state = ui_env(indexed_copy)
    at = _documents(new_app().run())
    before = {m.label: m.value for m in at.metric}
    assert int(before["Documents"]) > 0 and "By document type" in page_text(at)

    _upload(at, ("roof_rack.md", NOTE, "text/markdown"),
            ("../../evil.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf"))
    successes = " ".join(s.value for s in at.success)
    errors = " ".join(e.value for e in at.error)
    assert "**roof_rack.md**: ingested" in successes and "passages" in successes
    assert "**../../evil.pdf**: refused" in errors and "content is" in errors
    stored = sorted(p.name for p in (state["data_dir"] / "uploads").iterdir())
    assert stored == ["roof_rack.md"]  # the refused file was never written, nothing escaped the folder
    after = {m.label: m.value for m in at.metric}
    assert int(after["Documents"]) == int(before["Documents"]) + 1

    # the same file again is recognised; another file with that name does not overwrite it
    _upload(at, ("roof_rack.md", NOTE, "text/markdown"))
    assert any("already uploaded" in i.value or "unchanged" in i.value for i in at.info)
    _upload(at, ("roof_rack.md", NOTE.replace(b"75 kg", b"80 kg"), "text/markdown"))
    assert any("stored as roof_rack-2.md" in s.value for s in at.success)
    assert sorted(p.name for p in (state["data_dir"] / "uploads").iterdir()) == ["roof_rack-2.md", "roof_rack.md"]

    # the chat can answer from the upload
    at.switch_page("views/chat.py").run()
    at.chat_input[0].set_value("How much weight can the roof rails carry?").run()
    turn = at.session_state[conversation.TURNS][-1]
    assert turn.ok and any("roof_rack" in c.source for c in turn.answer.citations)


def test_remove_an_uploaded_document(ui_env, indexed_copy):
    state = ui_env(indexed_copy)
    at = _upload(_documents(new_app().run()), ("roof_rack.md", NOTE, "text/markdown"))
    count = int({m.label: m.value for m in at.metric}["Documents"])
    target = str((state["data_dir"] / "uploads" / "roof_rack.md").resolve())
    at.selectbox(key="remove_target").set_value(target)
    at.button(key="FormSubmitter:remove_document-Remove").click().run()
    assert any("Tick the box" in w.value for w in at.warning)  # nothing happens without the confirmation
    at.selectbox(key="remove_target").set_value(target)
    at.checkbox(key="remove_confirm").check()
    at.button(key="FormSubmitter:remove_document-Remove").click().run()
    assert not at.exception
    assert any(": removed" in s.value for s in at.success)
    assert int({m.label: m.value for m in at.metric}["Documents"]) == count - 1
    assert not (state["data_dir"] / "uploads" / "roof_rack.md").exists()


def test_empty_index_and_oversized_upload(ui_env):
    ui_env(RAG_CAR_INGEST__MAX_FILE_MB="0.001")
    at = _documents(new_app().run())
    assert "Nothing is indexed yet" in page_text(at)
    _upload(at, ("big.txt", b"word " * 400, "text/plain"))
    assert any("over the" in e.value and "limit" in e.value for e in at.error)


def test_settings_page_shows_backend_store_bus_and_health(ui_env, indexed_data):
    ui_env(indexed_data)
    at = new_app().run().switch_page("views/settings.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Answer backend": "extractive", "Vector store": "embedded", "CAN bus": "virtual"}
    text = page_text(at)
    for name in ("embedding model", "vector store", "LLM backend (extractive)", "CAN bus", "free disk"):
        assert f"**{name}**" in text
    assert "RAG_CAR_LLM__BACKEND" in text and "rag_car.toml" in text
    assert "**live feed**: listening to `virtual:ui-" in text and "**index**: " in text and " passages " in text
