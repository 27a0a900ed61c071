"""XML entities in a Word package (issue 19, what a reviewer of a document pipeline checks): an external entity
(XXE) must not pull a file of the machine into the index, and an entity bomb must not blow up."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rag_car.errors import IngestError
from rag_car.knowledge.load import load_file

VISIBLE = "Check the tire pressures monthly when the tires are cold."


def _with_doctype(path: Path, doctype: str, entity_text: str) -> Path:
    """A python-docx package whose document.xml gets ``doctype`` and a paragraph holding ``entity_text``."""
    import docx

    document = docx.Document()
    document.add_paragraph(VISIBLE)
    document.add_paragraph("MARKER")
    buffer = io.BytesIO()
    document.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "word/document.xml":
                text = body.decode("utf-8")
                head, _, rest = text.partition("?>")
                text = f"{head}?>{doctype}{rest}".replace("MARKER", entity_text)
                body = text.encode("utf-8")
            target.writestr(info, body)
    path.write_bytes(out.getvalue())
    return path


def test_an_external_entity_reads_no_file_of_the_machine(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("PRIVATE-KEY-MATERIAL", encoding="utf-8")
    path = _with_doctype(tmp_path / "xxe.docx", f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>', "&xxe;")
    try:
        loaded = load_file(path)
    except IngestError:
        return  # refused as a broken package: nothing read either
    text = "\n".join(e.text for d in loaded.documents for e in d.elements)
    assert "PRIVATE-KEY-MATERIAL" not in text
    assert VISIBLE in text


def test_an_entity_bomb_is_not_expanded(tmp_path):
    entities = '<!ENTITY a0 "lolololololololololo">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    path = _with_doctype(tmp_path / "bomb.docx", f"<!DOCTYPE w:document [{entities}]>", "&a9;")
    with pytest.raises(IngestError) as refused:  # libxml2's amplification limit, said as a broken package
        load_file(path)
    assert "bomb.docx" in str(refused.value)
