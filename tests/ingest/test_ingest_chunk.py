"""Chunking: token budgets, overlap, one section per chunk, whole tables, stable ids, the metadata contract."""

from __future__ import annotations

from pathlib import Path

from rag_car.knowledge.chunk import Chunk, chunk_document, delimited, embedding_text, find_codes, find_refs
from rag_car.knowledge.embed import HashEmbedder
from rag_car.knowledge.load import LIST, RECORD, TABLE, TEXT, TITLE, Document, Element

EMBEDDER = HashEmbedder()
count = EMBEDDER.count_tokens
CONTRACT = {
    "source": str, "title": str, "doc_type": str, "make": str, "model": str, "year_min": int, "year_max": int,
    "section": str, "page": int, "codes": str, "refs": str, "content_hash": str, "ingested_at": str, "chunk_index": int,
}
BASE = {"source": "/docs/manual.md", "doc_type": "service_manual", "make": "Brenner", "model": "Tavo",
        "year_min": 2020, "year_max": 2023, "ingested_at": "2026-12-01T00:00:00Z"}


def sentence(i: int, words: int = 12) -> str:
    return f"Sentence {i} " + " ".join(f"w{i}x{j}" for j in range(words)) + "."


def doc(*elements: Element, title: str = "Manual") -> Document:
    return Document(source=Path("/docs/manual.md"), title=title, elements=list(elements))


def test_chunks_respect_the_token_budgets_and_overlap():
    text = " ".join(sentence(i) for i in range(60))
    chunks = chunk_document(doc(Element(TITLE, "Manual"), Element(TITLE, "Long", 1), Element(TEXT, text)), BASE, count,
                            chunk_tokens=80, overlap=20, max_tokens=120)
    assert len(chunks) > 5
    for chunk in chunks:
        assert count(chunk.text) <= 80
        assert count(embedding_text(chunk)) <= 120
    for a, b in zip(chunks, chunks[1:]):
        last_sentence = a.text.rsplit(". ", 1)[-1]
        assert b.text.startswith(last_sentence.rstrip(".")), "the next chunk repeats the end of the previous one"
    words = " ".join(c.text for c in chunks)
    assert all(f"Sentence {i} " in words for i in range(60))  # nothing lost


def test_a_chunk_never_mixes_two_sections():
    elements = [Element(TITLE, "Manual")]
    for s in range(4):
        elements += [Element(TITLE, f"Section {s}", 1), Element(TEXT, " ".join(f"s{s}word{j}." for j in range(7)))]
    elements += [Element(TITLE, "Deep", 2), Element(TEXT, "Only deep text here.")]
    chunks = chunk_document(doc(*elements), BASE, count, chunk_tokens=200, overlap=32)
    assert [c.metadata["section"] for c in chunks] == ["Section 0", "Section 1", "Section 2", "Section 3", "Section 3 > Deep"]
    for chunk in chunks[:4]:
        marker = chunk.metadata["section"].split()[-1]
        assert all(word.startswith(f"s{marker}word") for word in chunk.text.replace(".", "").split())


def test_tables_stay_whole_or_split_by_rows_with_the_header():
    small = "Item | Value\n" + "\n".join(f"Row {i} | {i} Nm" for i in range(5))
    big = "Part | Number | Torque\n" + "\n".join(f"Part {i} | PN-{i:04d} | {i} Nm" for i in range(120))
    chunks = chunk_document(doc(Element(TITLE, "Specs", 1), Element(TEXT, "Torques:"), Element(TABLE, small),
                                Element(TABLE, big)), BASE, count, chunk_tokens=60, overlap=10, max_tokens=200)
    assert chunks[0].text == "Torques:\n" + small  # a short lead-in stays with its table
    parts = chunks[1:]
    assert len(parts) > 1
    assert all(p.text.startswith("Part | Number | Torque\n") for p in parts)
    assert all(count(embedding_text(p)) <= 200 for p in parts)
    rows = [row for p in parts for row in p.text.splitlines()[1:]]
    assert rows == big.splitlines()[1:]


def test_records_and_list_items():
    chunks = chunk_document(doc(Element(TITLE, "Codes", 1), Element(RECORD, "P0101: Air flow range"),
                                Element(RECORD, "P0102: Air flow low"), Element(LIST, "Check the hose."),
                                Element(LIST, "Replace the sensor.")), BASE, count)
    assert [c.text for c in chunks] == ["P0101: Air flow range", "P0102: Air flow low", "- Check the hose.\n- Replace the sensor."]
    assert chunks[0].metadata["codes"] == ",P0101,"


def test_a_label_on_its_own_line_opens_the_paragraph_after_it():
    body = "Unplug the module at once if the dashboard behaves oddly. Never leave it connected then."
    chunks = chunk_document(doc(Element(TITLE, "Installation", 1), Element(TEXT, "**Warning!**"), Element(TEXT, body),
                                Element(TEXT, "Fix the module with hook-and-loop tape."), Element(TEXT, "CAUTION"),
                                Element(TITLE, "Wiring", 1), Element(TEXT, "Route the cable under the mat.")), BASE, count)
    assert chunks[0].text.startswith(f"**Warning!** {body}")  # the label and its text are one notice
    assert "CAUTION" in chunks[0].text and "CAUTION Route" not in chunks[1].text  # a label never reaches past a heading


def test_ids_come_from_content_and_position():
    def run(texts):
        elements = [Element(TITLE, "T", 1)] + [Element(RECORD, t) for t in texts]
        return [c.id for c in chunk_document(doc(*elements), BASE, count)]

    first = run(["alpha", "beta", "gamma"])
    assert run(["alpha", "beta", "gamma"]) == first  # deterministic
    assert len(set(run(["same", "same"]))) == 2  # the same text at two positions: two chunks
    changed = run(["alpha", "BETA", "gamma"])
    assert changed[0] == first[0] and changed[2] == first[2] and changed[1] != first[1]
    other_file = [c.id for c in chunk_document(doc(Element(RECORD, "alpha")), {**BASE, "source": "/docs/other.md"}, count)]
    assert other_file[0] != first[0]


def test_every_chunk_carries_the_contract_metadata(files):
    from rag_car.knowledge.load import load_file

    for name in ("tavo_service.md", "handbook.pdf", "bulletin.docx", "dtc_messy.csv"):
        loaded = load_file(files / name)
        for document in loaded.documents:
            for chunk in chunk_document(document, BASE, count):
                assert isinstance(chunk, Chunk)
                for key, kind in CONTRACT.items():
                    assert isinstance(chunk.metadata[key], kind), (name, key, chunk.metadata[key])
                for key in ("codes", "refs"):
                    value = chunk.metadata[key]
                    assert value == "" or (value.startswith(",") and value.endswith(",")), value
                assert len(chunk.metadata["content_hash"]) == 16 and len(chunk.id) == 32


def test_codes_and_reference_numbers():
    text = ("P0301 and P0A93 are set; see TSB 21-004, bulletin no. ASB-22-011, recall 21V123000, part number 44-118-02, "
            "and campaign 94V-129. Not codes: P12, PX301, p0301.")
    assert find_codes(text) == ["P0301", "P0A93"]
    refs = set(find_refs(text))
    assert {"21-004", "ASB-22-011", "21V123000", "44-118-02", "94V-129"} <= refs
    assert delimited(["P0303", "P0301", "P0301", ""]) == ",P0301,P0303,"
    assert delimited([]) == ""
