"""HOST:PORT -> a python-can-remote server in this process that shares a virtual bus with other processes.

Clients connect with ``remote:ws://HOST:PORT/`` (python-can's ``interface="remote"``). Every client gets
its own virtual Bus on the served channel, so each sees every frame the others send.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from rag_car.errors import BusError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def parse_host_port(text: str, flag: str = "--serve") -> tuple[str, int]:
    """"127.0.0.1:54701" -> ("127.0.0.1", 54701); BusError when it is not HOST:PORT."""
    host, sep, port = (text or "").rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise BusError(f"{flag} {text!r} is not HOST:PORT", f"use e.g. {flag} 127.0.0.1:{54701 if flag == '--serve' else 35000}")
    return host.strip("[]"), int(port)


@contextlib.contextmanager
def open_remote_server(host: str, port: int, channel: str) -> Iterator[tuple[str, int]]:
    """Serve the virtual bus ``channel`` on HOST:PORT until the block ends; yields the bound (host, port).

    Port 0 picks a free port. Raises BusError when the address is taken (another simulator serves there).
    """
    from can_remote import RemoteServer

    for name in ("can_remote", "can_remote.server", "can_remote.websocket"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        server = RemoteServer(host, port, channel=channel, interface="virtual")
    except OSError as exc:
        raise BusError(
            f"cannot serve the simulated bus on {host}:{port} ({exc.strerror or exc})",
            "another simulator (or program) is probably serving there: stop it, or choose another port with --serve HOST:PORT",
        ) from exc
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="can-remote-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[0], server.server_address[1]
    finally:
        server.shutdown()
        for client in list(getattr(server, "clients", [])):
            client.running = False
            with contextlib.suppress(Exception):
                client.close()
        server.server_close()
        thread.join(2)
