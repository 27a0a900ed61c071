"""The ASGI entry of the web UI: the Streamlit app (ui/app.py), the route that serves cited documents, a warm start.

`rag-car serve` runs ``streamlit run ui/server.py``; Streamlit finds ``app`` and serves both.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import asyncio  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402

import streamlit as st  # noqa: E402
from starlette.routing import Route  # noqa: E402

from ui.sources import ROUTE, serve_source  # noqa: E402


@asynccontextmanager
async def lifespan(_app):
    """Before the server takes connections: start the bus listener and warm the assistant up (bounded),
    so that the first page and the first answer do not wait for them; after it stops: stop the listener."""
    from ui.resources import prepare_server

    await asyncio.get_running_loop().run_in_executor(None, prepare_server)
    yield
    # shutting down (Ctrl-C, SIGTERM): the bus listener stops before its bus, so nothing reads a closed socket
    from ui.resources import stop_server

    stop_server()


app = st.App(str(Path(__file__).resolve().parent / "app.py"), routes=[Route(ROUTE, serve_source)], lifespan=lifespan)
