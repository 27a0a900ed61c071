"""The pipeline in process: idempotent, incremental, crash-safe at every step of the journal."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from ingest_helpers import copy_files, make_settings, store_ids, write_corpus
from rag_car.errors import IngestError
from rag_car.knowledge.embed import HashEmbedder
from rag_car.knowledge.ingest import IngestOptions, ingest
from rag_car.knowledge.manifest import ingest_lock, load_generation, open_manifest
from rag_car.knowledge.store import open_store
from rag_car.knowledge.tags import parse_vehicle


def consistent(settings) -> set[str]:
    """The store holds exactly what the manifest committed, and the journal is empty; returns the ids."""
    with open_manifest(settings) as manifest:
        committed = manifest.all_chunk_ids()
        assert not manifest.pending_ids() and not manifest.garbage_ids()
    assert store_ids(settings) == committed
    return committed


def test_a_rerun_adds_nothing_and_embeds_nothing(tmp_path, settings):
    corpus = write_corpus(tmp_path / "corpus", 6)
    embedder = HashEmbedder()
    first = ingest(settings, [corpus[0].parent], embedder=embedder)
    assert first.ok and first.count("ingested") == 6 and first.chunks_added > 0
    assert embedder.encode_calls == first.chunks_added == first.embedded
    generation = load_generation(settings)
    ids = consistent(settings)

    again = ingest(settings, [corpus[0].parent], embedder=embedder)
    assert again.count("unchanged") == 6 and again.chunks_added == again.chunks_removed == again.embedded == 0
    assert embedder.encode_calls == first.chunks_added  # not one more text through the model
    assert consistent(settings) == ids
    assert load_generation(settings) == generation  # nothing changed, so retrieval need not rebuild


def test_a_touched_but_unchanged_file_is_not_re_read(tmp_path, settings):
    corpus = write_corpus(tmp_path / "corpus", 2)
    embedder = HashEmbedder()
    ingest(settings, [corpus[0].parent], embedder=embedder)
    calls = embedder.encode_calls
    later = time.time() + 5
    os.utime(corpus[0], (later, later))
    report = ingest(settings, [corpus[0].parent], embedder=embedder)
    assert report.count("unchanged") == 2 and embedder.encode_calls == calls


def test_a_changed_file_replaces_only_its_changed_chunks(tmp_path, settings):
    corpus = write_corpus(tmp_path / "corpus", 3)
    embedder = HashEmbedder()
    ingest(settings, [corpus[0].parent], embedder=embedder)
    with open_manifest(settings) as manifest:
        old = manifest.chunk_ids(str(corpus[1]))
    text = corpus[1].read_text()
    last = text.rstrip().rsplit("\n", 1)[-1]
    corpus[1].write_text(text.replace(last, "The thermostat housing bolt is torqued to 10 Nm."))
    calls = embedder.encode_calls
    report = ingest(settings, [corpus[0].parent], embedder=embedder)
    changed = next(f for f in report.files if f.path == str(corpus[1]))
    assert changed.status == "ingested" and report.count("unchanged") == 2
    with open_manifest(settings) as manifest:
        new = manifest.chunk_ids(str(corpus[1]))
    assert 0 < len(new - old) == report.chunks_added == embedder.encode_calls - calls <= 2  # only the last chunk(s)
    assert len(old - new) == report.chunks_removed
    assert not (old - new) & store_ids(settings)
    consistent(settings)


def test_deleted_files_leave_the_index_on_a_folder_re_ingest_and_by_index_remove(tmp_path, settings):
    from rag_car.knowledge.index import remove

    corpus = write_corpus(tmp_path / "corpus", 4)
    ingest(settings, [corpus[0].parent])
    corpus[0].unlink()
    only_one = ingest(settings, [corpus[1]])  # a single file named: the deleted one is not looked for
    assert only_one.count("removed") == 0
    report = ingest(settings, [corpus[0].parent])
    removed = [f for f in report.files if f.status == "removed"]
    assert [f.path for f in removed] == [str(corpus[0])] and removed[0].chunks_removed > 0
    assert report.ok
    ids = consistent(settings)
    with open_manifest(settings) as manifest:
        assert manifest.file(str(corpus[0])) is None
        gone = manifest.chunk_ids(str(corpus[2]))
    result = remove(settings, [str(corpus[2]), str(tmp_path / "never-ingested.md")])
    assert result["removed"] == [str(corpus[2])] and result["chunks_removed"] == len(gone)
    assert result["not_indexed"] == [str(tmp_path / "never-ingested.md")]
    assert consistent(settings) == ids - gone
    result = remove(settings, [str(corpus[0].parent)])  # a folder: everything under it
    assert sorted(result["removed"]) == [str(corpus[1]), str(corpus[3])]
    assert consistent(settings) == set()


def test_new_vehicle_or_doc_type_updates_metadata_without_re_embedding(files, tmp_path, settings):
    copy_files(["tavo_service.md"], tmp_path / "docs")
    embedder = HashEmbedder()
    ingest(settings, [tmp_path / "docs"], embedder=embedder)
    calls = embedder.encode_calls
    options = IngestOptions(vehicle=parse_vehicle("Brenner/Tavo/2020-2023"), doc_type="service_manual")
    report = ingest(settings, [tmp_path / "docs"], options, embedder=embedder)
    assert report.chunks_updated > 0 and report.chunks_added == 0 and embedder.encode_calls == calls
    with open_store(settings, create=False) as store:
        metas = [c.metadata for c in store.iter_all()]
    assert {(m["make"], m["model"], m["year_min"], m["year_max"], m["doc_type"]) for m in metas} == {
        ("Brenner", "Tavo", 2020, 2023, "service_manual")}


def test_a_facts_file_gives_the_folder_its_vehicle(files, tmp_path, settings):
    folder = tmp_path / "kb"
    copy_files(["tavo_lamps.html"], folder / "owner")
    (folder / "facts.toml").write_text('[vehicle]\nmake = "Brenner"\nmodel = "Tavo"\nyears = [2020, 2023]\n')
    ingest(settings, [folder])
    with open_store(settings, create=False) as store:
        metas = [c.metadata for c in store.iter_all()]
    assert metas and all((m["make"], m["year_min"], m["year_max"], m["doc_type"]) == ("Brenner", 2020, 2023, "owner_manual")
                         for m in metas)


class _Crash(Exception):
    """The process 'dies' here."""


class CrashingStore:
    """The real store, dying at one step of the journal protocol (a real object, not a mock)."""

    def __init__(self, store, at: str) -> None:
        self._store, self.at = store, at

    def __getattr__(self, name):
        return getattr(self._store, name)

    def add(self, chunks, vectors):
        if self.at == "mid-add":
            half = len(chunks) // 2
            self._store.add(chunks[:half], vectors[:half])
            raise _Crash()
        self._store.add(chunks, vectors)
        if self.at == "after-add":
            raise _Crash()

    def delete(self, ids):
        if self.at == "before-delete" and ids:
            raise _Crash()
        self._store.delete(ids)


@pytest.mark.parametrize("at", ["mid-add", "after-add", "before-delete"])
def test_a_crash_at_any_step_ends_in_the_same_index_after_a_re_run(tmp_path, at):
    corpus = write_corpus(tmp_path / "corpus", 5)
    reference = make_settings(tmp_path / "reference")
    victim = make_settings(tmp_path / "victim")
    for settings in (reference, victim):
        ingest(settings, [corpus[0].parent])
    # version 2: two files change (chunks added and removed), one is deleted, one is new
    for path in corpus[:2]:
        path.write_text(path.read_text().replace("## Step group", "## Changed step group"))
    corpus[4].unlink()
    write_corpus(tmp_path / "extra", 1, seed=99)[0].rename(corpus[0].parent / "proc_new.md")

    expected = (ingest(reference, [corpus[0].parent]), consistent(reference))[1]
    embedder = HashEmbedder()
    with open_store(victim, embedder.dim, embedder.name) as real:
        with pytest.raises(_Crash):
            ingest(victim, [corpus[0].parent], embedder=embedder, store=CrashingStore(real, at))
    with open_manifest(victim) as manifest:
        assert manifest.pending_ids() or manifest.garbage_ids()  # the crash left work in the journal
    report = ingest(victim, [corpus[0].parent])
    assert report.ok
    assert consistent(victim) == expected
    again = ingest(victim, [corpus[0].parent])
    assert again.chunks_added == again.chunks_removed == 0


def test_a_lost_store_is_rebuilt_from_the_files(tmp_path, settings):
    from chromadb.api.client import SharedSystemClient

    corpus = write_corpus(tmp_path / "corpus", 3)
    ingest(settings, [corpus[0].parent])
    ids = consistent(settings)
    SharedSystemClient.clear_system_cache()
    shutil.rmtree(settings.index_dir / "chroma")
    report = ingest(settings, [corpus[0].parent])
    assert report.recovered["missing"] == len(ids) and report.recovered["files_to_reread"] == 3
    assert report.count("ingested") == 3 and consistent(settings) == ids


def test_one_writer_at_a_time(tmp_path, settings):
    corpus = write_corpus(tmp_path / "corpus", 1)
    with ingest_lock(settings):
        with pytest.raises(IngestError, match=f"pid {os.getpid()}"):
            ingest(settings, corpus)
    assert ingest(settings, corpus).ok


def test_a_different_embedding_model_is_refused_not_mixed(tmp_path, settings):
    from rag_car.errors import StoreError

    corpus = write_corpus(tmp_path / "corpus", 1)
    ingest(settings, corpus)

    class OtherModel(HashEmbedder):
        name = "other-model"

    with pytest.raises(StoreError, match="was built with the embedding model hash"):
        ingest(settings, corpus, embedder=OtherModel())


def test_editing_facts_toml_re_tags_its_documents_without_re_embedding(files, tmp_path, settings):
    folder = tmp_path / "kb"
    copy_files(["tavo_lamps.html"], folder)
    facts = folder / "facts.toml"
    facts.write_text('[vehicle]\nmake = "Brenner"\nmodel = "Tavo"\nyears = [2020, 2023]\n')
    embedder = HashEmbedder()
    ingest(settings, [folder], embedder=embedder)
    calls = embedder.encode_calls
    facts.write_text('[vehicle]\nmake = "Brenner"\nmodel = "Tavo"\nyears = [2020, 2024]\n')
    report = ingest(settings, [folder], embedder=embedder)
    assert report.chunks_updated > 0 and embedder.encode_calls == calls
    with open_store(settings, create=False) as store:
        assert {c.metadata["year_max"] for c in store.iter_all()} == {2024}


def test_force_re_reads_but_does_not_re_embed_unchanged_chunks(tmp_path, settings):
    corpus = write_corpus(tmp_path / "corpus", 2)
    embedder = HashEmbedder()
    ingest(settings, [corpus[0].parent], embedder=embedder)
    calls = embedder.encode_calls
    report = ingest(settings, [corpus[0].parent], IngestOptions(force=True), embedder=embedder)
    assert report.count("ingested") == 2 and report.chunks_added == 0 and embedder.encode_calls == calls


def test_the_progress_bar_follows_a_run(tmp_path, settings):
    import io

    from rich.console import Console

    from rag_car.cli.ingest import _Bar

    corpus = write_corpus(tmp_path / "corpus", 3)
    bar = _Bar()
    out = io.StringIO()
    bar.console = Console(file=out, force_terminal=True, width=160)
    bar.progress.live.console = bar.console
    report = ingest(settings, [corpus[0].parent], progress=bar)
    bar.close()
    task = bar.progress.tasks[0]
    assert task.completed == task.total == sum(f.size for f in report.files)
    assert bar.chunks == report.chunks_added and bar.files_done == 3


def test_after_add_sees_each_committed_batch_and_its_failure_is_a_note_not_a_failed_ingest(tmp_path):
    folder = tmp_path / "docs"
    write_corpus(folder, 6)
    settings = make_settings(tmp_path / "data", ingest={"commit_chunks": 8})
    seen: list[list[str]] = []

    def after_add(chunks):
        seen.append([c.id for c in chunks])
        if len(seen) == 2:
            raise OSError("disk full")

    report = ingest(settings, [folder], after_add=after_add)
    assert report.ok and len(seen) >= 3  # the ingest went on after the failing call
    assert sorted(i for batch in seen for i in batch) == sorted(store_ids(settings))
    assert report.notes == ["after the chunks were indexed: OSError: disk full"]
    assert report.to_json()["notes"] == report.notes
    calls = len(seen)
    again = ingest(settings, [folder], after_add=after_add)
    assert again.chunks_added == 0 and len(seen) == calls and not again.notes  # nothing new: not called
