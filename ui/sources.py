"""A cited document -> a link that opens it (a PDF at the cited page), and the route that serves it.

Only documents rag-car itself knows are served: files of a type it ingests, under the bundled knowledge/
folder, under settings.uploads_dir, or listed as a source in the index. Anything else is a 404, so the
route cannot be used to read arbitrary files of the machine (nor a key or a settings file that sits in
one of those folders).
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from urllib.parse import quote

from rag_car.settings import BUNDLED_KNOWLEDGE

ROUTE = "/rag-car/source"

_TYPES = {".pdf": "application/pdf", ".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
          ".md": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".rst": "text/plain; charset=utf-8",
          ".csv": "text/plain; charset=utf-8", ".tsv": "text/plain; charset=utf-8"}


def source_url(source: str, page: int = 0) -> str:
    """The link for a cited source; ``#page=N`` makes the browser's PDF viewer open at that page."""
    url = f"{ROUTE}?path={quote(str(source), safe='')}"
    if page and str(source).lower().endswith(".pdf"):
        url += f"#page={int(page)}"
    return url


def origin_note(metadata: dict) -> str:
    """How a citation chip marks a source that is not the maker's: "your upload", "unverified", "" otherwise."""
    from rag_car.knowledge.trust import trust_of

    return {"user": "your upload", "unverified": "unverified"}.get(trust_of(metadata), "")


def allowed_roots() -> list[Path]:
    """The folders whose files may be served (the data dir comes from the server's environment)."""
    roots = [BUNDLED_KNOWLEDGE]
    data_dir = os.environ.get("RAG_CAR_DATA_DIR")
    if data_dir:
        roots.append(Path(data_dir).expanduser() / "uploads")
    else:
        from rag_car.settings import default_data_dir

        roots.append(default_data_dir() / "uploads")
    return roots


def resolve_servable(raw: str, roots: list[Path] | None = None, indexed: set[str] | None = None) -> Path | None:
    """The file to serve for ``raw``, or None when it is not a known document."""
    if not raw or "\x00" in raw:
        return None
    try:
        path = Path(raw).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_file() or not _servable_type(path):
        return None
    if indexed and str(path) in indexed:
        return path
    for root in roots if roots is not None else allowed_roots():
        try:
            path.relative_to(Path(root).resolve())
            return path
        except ValueError:
            continue
    return None


def _servable_type(path: Path) -> bool:
    from rag_car.knowledge.load import DATA_EXTENSIONS, DOCUMENT_EXTENSIONS, TABLE_EXTENSIONS

    suffix = path.suffix.lower()
    return suffix in DOCUMENT_EXTENSIONS or suffix in TABLE_EXTENSIONS or suffix in DATA_EXTENSIONS


def content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


async def serve_source(request):  # a starlette endpoint (see ui/server.py)
    from starlette.responses import FileResponse, PlainTextResponse

    path = resolve_servable(request.query_params.get("path", ""))
    if path is None:
        return PlainTextResponse("not a document rag-car knows", status_code=404)
    suffix = path.suffix.lower()
    headers = {"X-Content-Type-Options": "nosniff"}
    if suffix in (".html", ".htm"):
        headers["Content-Security-Policy"] = "sandbox"  # an uploaded page must not run scripts on our origin
    disposition = "attachment" if suffix == ".docx" else "inline"
    return FileResponse(path, media_type=content_type(path), content_disposition_type=disposition,
                        filename=path.name, headers=headers)
