"""The ASGI entry of the web UI: the Streamlit app (ui/app.py), the route that serves cited documents, a warm start,
and the Host/Origin check in front of all of them (ui/host_guard.py).

`rag-car serve` runs ``streamlit run ui/server.py``; Streamlit finds ``app`` and serves both.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

import asyncio  # noqa: E402
import functools  # noqa: E402
from contextlib import asynccontextmanager  # noqa: E402

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.routing import Route  # noqa: E402

from ui.host_guard import HostGuard, allowed_hosts  # noqa: E402
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


@functools.cache
def served_hosts() -> frozenset[str]:
    """The host names this server answers to: loopback, ui.host, ui.allowed_hosts and the bound address."""
    from streamlit import config

    from rag_car.errors import RagCarError
    from ui.resources import settings

    bound = str(config.get_option("server.address") or "")
    try:
        ui = settings().ui
    except RagCarError:  # the app's pages say what is wrong with the settings; loopback still works
        return allowed_hosts(bound)
    return allowed_hosts(ui.host, [*ui.allowed_hosts, bound])


app = st.App(str(Path(__file__).resolve().parent / "app.py"), routes=[Route(ROUTE, serve_source)], lifespan=lifespan,
             middleware=[Middleware(HostGuard, allowed=served_hosts)])
