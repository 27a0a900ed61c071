"""A request's Host and Origin -> served, or refused before any route sees it (DNS rebinding, cross-site sockets).

A web page on another site can point its own name at 127.0.0.1 (DNS rebinding) and then read whatever the
loopback server answers, because the browser thinks it talks to the page's own site. Such a request still
carries the page's name in ``Host`` (and in ``Origin``), so the server answers only to the names it is
configured for: the loopback names, ``ui.host`` and ``ui.allowed_hosts``. Everything else gets 421 (a Host
this server does not serve) or 403 (an Origin of another site), on every route: Streamlit's pages, static
files and health check, its websocket, the upload endpoint and /rag-car/source.
"""

from __future__ import annotations

import ipaddress
from typing import Awaitable, Callable, Iterable, MutableMapping
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_WILDCARD_BINDS = {"", "0.0.0.0", "::"}  # binding every interface names no host a browser would use

Scope = MutableMapping[str, object]
Receive = Callable[[], Awaitable[MutableMapping[str, object]]]
Send = Callable[[MutableMapping[str, object]], Awaitable[None]]


def allowed_hosts(ui_host: str = "", extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names (lower case, no port, IPv6 without brackets) the UI answers to."""
    names = set(LOOPBACK_NAMES)
    for name in (ui_host, *extra):
        name = _normal(name)
        if name and name not in _WILDCARD_BINDS:
            names.add(name)
    return frozenset(names)


def host_name(authority: str) -> str | None:
    """``host[:port]`` (``[v6]:port`` for IPv6) -> the host name, or None when it is not a plain authority
    (user info, a path, a bad port)."""
    if not authority or any(c in authority for c in "@/?#\\ \t"):
        return None
    try:
        parts = urlsplit(f"//{authority}")
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return None
    return _normal(parts.hostname or "") or None


def origin_host(origin: str) -> str | None:
    """An ``Origin`` header (scheme://host[:port]) -> its host name; None for ``null`` or anything else."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return host_name(parts.netloc)


def verdict(host: str | None, origin: str | None, allowed: frozenset[str]) -> tuple[int, str] | None:
    """None when the request may be served, else (status, reason)."""
    name = host_name(host or "")
    if name is None or name not in allowed:
        return 421, f"this server does not answer to the host name {host!r}; open it as http://127.0.0.1 or http://localhost"
    if origin is not None:
        source = origin_host(origin)
        if source is None or source not in allowed:
            return 403, f"requests from the origin {origin!r} are not accepted"
    return None


class HostGuard:
    """ASGI middleware: :func:`verdict` on every HTTP request and websocket handshake."""

    def __init__(self, app, allowed: Callable[[], frozenset[str]]) -> None:
        self.app = app
        self.allowed = allowed  # called per request: cheap, and the settings are read once by the caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        refused = verdict(headers.get("host"), headers.get("origin"), self.allowed())
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, reason = refused
        if scope["type"] == "websocket":
            # Refused during the handshake: an HTTP answer instead of the upgrade (ASGI websocket denial
            # response when the server supports it, else a plain close, which is a 403 too).
            if "websocket.http.response" in scope.get("extensions", {}) or {}:
                await send({"type": "websocket.http.response.start", "status": status,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "websocket.http.response.body", "body": reason.encode()})
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        body = reason.encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                                (b"x-content-type-options", b"nosniff")]})
        await send({"type": "http.response.body", "body": body})


def _headers(scope: Scope) -> dict[str, str]:
    """The request's Host and Origin (latin-1, as HTTP headers are); a header sent twice counts as a bad one,
    since a proxy or framework further on might read the other copy."""
    found: dict[str, str] = {}
    for key, value in scope.get("headers", []) or []:  # type: ignore[union-attr]
        name = key.decode("latin-1").lower()
        if name in ("host", "origin"):
            found[name] = "" if name in found else value.decode("latin-1")
    return found


def _normal(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        return name
