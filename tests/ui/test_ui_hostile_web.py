"""The real `rag-car serve` against a hostile web (issue #19): DNS rebinding, cross-site websockets, and a page
that must render without one request off the machine.

The server is the real one (ui_server.serve); requests go over real sockets: http.client for plain HTTP (what
curl sends) and a hand-written websocket handshake, so the exact Host and Origin headers are on the wire.
"""

from __future__ import annotations

import base64
import http.client
import os
import re
import shutil
import socket
from urllib.parse import urlsplit

import pytest

from ui.host_guard import allowed_hosts, host_name, origin_host, verdict
from ui_apptest import indexed_data  # noqa: F401  (fixture)
from ui_server import CHROMIUM, base_env, browser, serve, submit_question, wait_idle

REBOUND = "evil.example.com"
KNOWLEDGE = "knowledge"


# -- the rule itself ---------------------------------------------------------------------------------

def test_only_configured_host_names_and_their_origins_pass():
    allowed = allowed_hosts("", ["carpc.local"])
    assert allowed == {"127.0.0.1", "localhost", "::1", "carpc.local"}
    for host in ("127.0.0.1:8501", "localhost:8501", "LOCALHOST", "[::1]:8501", "carpc.local:80", "localhost."):
        assert verdict(host, None, allowed) is None, host
        assert verdict(host, "http://localhost:8501", allowed) is None, host
    for host in (f"{REBOUND}:8501", REBOUND, "127.0.0.1.nip.io", "user@127.0.0.1", "127.0.0.1:99999", "127.0.0.1/x", "", None):
        assert verdict(host, None, allowed)[0] == 421, host
    for origin in (f"http://{REBOUND}", "null", "file://", "http://127.0.0.1.evil.example.com", "ftp://localhost", ""):
        assert verdict("127.0.0.1:8501", origin, allowed)[0] == 403, origin
    assert allowed_hosts("0.0.0.0") == allowed_hosts("")  # a wildcard bind names no host
    assert "192.168.1.5" in allowed_hosts("192.168.1.5")
    assert host_name("[::1]:80") == "::1" and origin_host("https://LocalHost:1") == "localhost"


# -- the real server ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory, indexed_data):  # noqa: F811
    """The UI and the simulated vehicle over a copy of the indexed bundled knowledge."""
    root = tmp_path_factory.mktemp("ui-hostile")
    shutil.copytree(indexed_data, root / "data")
    env = base_env(root / "data")
    # a user's environment that turns Streamlit's own protections off: `rag-car serve` must pin them on
    env.update({"STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION": "false", "STREAMLIT_SERVER_ENABLE_CORS": "false"})
    with serve(env, root / "serve.log") as (url, proc):
        yield url, root
        log = (root / "serve.log").read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


def _get(url: str, path: str, host: str | None = None, origin: str | None = None) -> tuple[int, bytes]:
    """One HTTP GET with exactly these Host/Origin headers (http.client, like curl -H 'Host: ...')."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        if origin is not None:
            connection.putheader("Origin", origin)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _websocket_handshake(url: str, host: str, origin: str | None) -> int:
    """The status of a websocket upgrade to Streamlit's /_stcore/stream (101 = the socket was opened)."""
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: streamlit"]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                break
            head += data
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    assert match, head[:200]
    return int(match.group(1))


def _a_bundled_document() -> str:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / KNOWLEDGE
    return str(next(p for p in sorted(root.rglob("*.md"))))


@pytest.mark.browser
@pytest.mark.slow
def test_a_rebinding_host_name_gets_nothing(server):
    url, _ = server
    port = urlsplit(url).port
    document = "/rag-car/source?path=" + _a_bundled_document().replace("/", "%2F")
    for path in ("/", "/_stcore/health", "/favicon.png", "/manifest.json", document):
        status, body = _get(url, path, host=f"{REBOUND}:{port}")
        assert status == 421, (path, status, body[:200])
        assert len(body) < 200 and b"<html" not in body.lower()  # the refusal, nothing of the page or document
    # the same requests under the configured names are served
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, body = _get(url, document, host=host)
        assert status == 200 and len(body) > 100, (host, status)
        assert _get(url, "/_stcore/health", host=host)[0] == 200
    # a page of another site calling the server by its loopback name: refused by Origin
    status, body = _get(url, document, host=f"127.0.0.1:{port}", origin=f"http://{REBOUND}")
    assert status == 403 and b"origin" in body


@pytest.mark.browser
@pytest.mark.slow
def test_websocket_upgrades_need_a_configured_host_and_origin(server):
    url, _ = server
    port = urlsplit(url).port
    assert _websocket_handshake(url, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 101
    assert _websocket_handshake(url, f"localhost:{port}", f"http://localhost:{port}") == 101
    # rebinding: the page's own name in both headers (Streamlit's same-origin check alone lets this through)
    assert _websocket_handshake(url, f"{REBOUND}:{port}", f"http://{REBOUND}:{port}") in (403, 421)
    # another site's page opening a socket to 127.0.0.1 directly
    assert _websocket_handshake(url, f"127.0.0.1:{port}", f"http://{REBOUND}") == 403


def _request(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.browser
@pytest.mark.slow
def test_uploads_need_the_xsrf_token_and_no_other_site_is_let_in(server):
    """Though the environment turns XSRF and CORS off: a PUT to the upload endpoint without the page's token is
    refused (403), the token's cookie is same-site strict, and no response invites another origin."""
    url, _ = server
    port = urlsplit(url).port
    host = {"Host": f"127.0.0.1:{port}"}
    status, headers, _ = _request(url, "GET", "/_stcore/health", host)  # where the page fetches its token
    assert status == 200
    cookie = headers.get("set-cookie", "")
    assert "_streamlit_xsrf=" in cookie and "samesite=strict" in cookie.lower(), cookie
    boundary = "rag-car-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\n"
            f"Content-Type: text/markdown\r\n\r\n# A\n\nText.\r\n--{boundary}--\r\n").encode()
    form = {**host, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, _, answer = _request(url, "PUT", "/_stcore/upload_file/some-session/some-file", form, body)
    assert status == 403 and b"XSRF" in answer, (status, answer[:200])
    status, headers, _ = _request(url, "OPTIONS", "/_stcore/upload_file/s/f", {**host, "Origin": f"http://127.0.0.1:{port}"})
    assert headers.get("access-control-allow-origin", "") != "*", headers


@pytest.mark.browser
@pytest.mark.slow
def test_the_source_route_serves_documents_only(server):
    """A file that is no document, in a folder the route serves (the uploads folder), and a path that climbs out
    of it, are not served; the documents are."""
    url, root = server
    uploads = root / "data" / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (uploads / "server.key").write_text("private key")
    (uploads / "manual.md").write_text("# Manual\n\nCheck the oil.\n")
    port = urlsplit(url).port
    for path, expected in ((uploads / "server.key", 404), (uploads / ".." / "uploads" / "server.key", 404),
                           (uploads / ".." / "rag_car.toml", 404), (uploads / "manual.md", 200)):
        status, body = _get(url, "/rag-car/source?path=" + str(path).replace("/", "%2F"), host=f"127.0.0.1:{port}")
        assert status == expected, (path, status, body[:100])
        assert b"private" not in body


# -- offline in a browser ----------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install -y chromium)")
def test_a_full_session_makes_no_request_off_the_machine(server, tmp_path):
    url, _ = server
    requests: list[str] = []
    with browser() as chromium:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        context.on("request", lambda request: requests.append(request.url))
        context.on("websocket", lambda ws: requests.append(ws.url))
        page = context.new_page()
        try:
            page.goto(url + "/")
            page.get_by_role("heading", name="Ask about your vehicle").wait_for(timeout=30_000)
            submit_question(page, "What does the coolant temperature warning lamp mean?")
            page.get_by_test_id("stChatMessage").nth(1).get_by_text(re.compile("Answered by")).wait_for(timeout=60_000)
            for link, heading in (("Live vehicle", "Live vehicle"), ("Documents", None), ("Settings", None)):
                page.get_by_role("link", name=link).click()
                if heading:
                    page.get_by_role("heading", name=heading).wait_for(timeout=30_000)
                    page.get_by_test_id("stMetric").first.wait_for(timeout=30_000)
                wait_idle(page)
                page.wait_for_timeout(1500)  # late fetches (icons, fonts, images) of the page
            page.get_by_role("link", name="Chat").click()
            wait_idle(page)
            page.wait_for_timeout(1000)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            context.close()
    assert len(requests) > 20, requests  # the recorder saw the session
    off_machine = [u for u in requests if not _loopback(u)]
    assert off_machine == [], off_machine


def _loopback(address: str) -> bool:
    parts = urlsplit(address)
    if parts.scheme in ("data", "blob", "about"):
        return True  # never leaves the browser
    return parts.scheme in ("http", "https", "ws", "wss") and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
