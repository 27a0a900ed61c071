"""Bus spec -> an open python-can bus (virtual, remote, socketcan, udp, replay); errors say what to do.

A small registry maps each spec kind to a factory, imported lazily, after python-can's own
``interfaces`` table: ``virtual`` (in this process), ``remote`` (python-can-remote over loopback),
``socketcan``, ``udp`` (python-can's udp_multicast) and ``replay`` (a log file, see replay.py). ``elm327`` is
no CAN bus: rag_car.vehicle.elm327 polls it, and opening it here says so.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from rag_car.errors import BusError, RagCarError
from rag_car.vehicle.pycan import import_can
from rag_car.vehicle.spec import BUS_KINDS, BusSpec, parse_bus_spec

can = import_can()


def _virtual(spec: BusSpec, **kwargs: Any) -> "can.BusABC":
    from can.interfaces.virtual import VirtualBus

    return VirtualBus(channel=spec.channel, **kwargs)


def _remote(spec: BusSpec, **kwargs: Any) -> "can.BusABC":
    try:
        from can_remote import RemoteBus
    except ImportError as exc:
        raise BusError("a remote: bus needs the python-can-remote package", "pip install python-can-remote==0.3.0") from exc
    kwargs.pop("receive_own_messages", None)  # the server decides; its virtual bus does not echo
    host, port = spec.host_port
    try:
        return RemoteBus(spec.channel, **kwargs)
    except (OSError, can.CanError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise BusError(
            f"remote bus {spec.channel} is not reachable ({reason})",
            f"start a vehicle there (rag-car simulate --serve {host}:{port}) or a bus server "
            f"(python -m can_remote -i virtual -c rag-car -H {host} -p {port}), or use another --bus",
        ) from exc


def _socketcan(spec: BusSpec, **kwargs: Any) -> "can.BusABC":
    try:
        from can.interfaces.socketcan import SocketcanBus

        return SocketcanBus(channel=spec.channel, fd=spec.flag("fd"), **kwargs)
    except (OSError, can.CanError, AttributeError) as exc:  # AttributeError: no AF_CAN on this system
        raise BusError(
            f"SocketCAN interface {spec.channel} cannot be opened ({getattr(exc, 'strerror', None) or exc})",
            f"check that it exists and is up (ip link set {spec.channel} up type can bitrate 500000), "
            "or use another --bus",
        ) from exc


def _udp(spec: BusSpec, **kwargs: Any) -> "can.BusABC":
    try:
        from can.interfaces.udp_multicast import UdpMulticastBus

        options: dict[str, Any] = {"fd": spec.flag("fd") if "fd" in spec.options else True}
        if "port" in spec.options:
            options["port"] = int(spec.options["port"])
        if "hop_limit" in spec.options:
            options["hop_limit"] = int(spec.options["hop_limit"])
        return UdpMulticastBus(channel=spec.channel, **options, **kwargs)
    except ValueError as exc:
        raise BusError(f"bus spec {spec}: {exc}", "udp:GROUP takes an IPv4/IPv6 multicast group, e.g. udp:239.74.163.2") from exc
    except (OSError, can.CanError, ImportError) as exc:
        raise BusError(f"UDP multicast bus {spec.channel} cannot be opened ({exc})",
                       "udp_multicast needs msgpack and a multicast route; use it in a loopback-only namespace") from exc


def _replay(spec: BusSpec, **kwargs: Any) -> "can.BusABC":
    from rag_car.vehicle.replay import ReplayBus

    kwargs.pop("receive_own_messages", None)
    return ReplayBus(spec.channel, speed=spec.speed, loop=spec.loop, **kwargs)


def _elm327(spec: BusSpec, **kwargs: Any) -> "can.BusABC":
    raise BusError(f"{spec} is an OBD-II adapter, not a CAN bus: it gives OBD-II answers, not frames",
                   "read it with rag-car monitor, ask --bus, chat --bus or serve --bus; "
                   "commands that need CAN frames (decode, replay --to, simulate --bus) need a CAN bus")


BUS_FACTORIES: dict[str, Callable[..., "can.BusABC"]] = {
    "virtual": _virtual,
    "remote": _remote,
    "socketcan": _socketcan,
    "udp": _udp,
    "replay": _replay,
    "elm327": _elm327,
}
assert tuple(BUS_FACTORIES) == BUS_KINDS


def create_bus(spec: str | BusSpec, **kwargs: Any) -> "can.BusABC":
    """Open the bus a spec names; the caller shuts it down. Raises BusError (LogFormatError for replay logs).

    ``kwargs`` go to the python-can bus (e.g. ``receive_own_messages=True`` on a virtual bus).
    """
    if not isinstance(spec, BusSpec):
        spec = parse_bus_spec(spec)
    factory = BUS_FACTORIES[spec.kind]
    try:
        return factory(spec, **kwargs)
    except RagCarError:
        raise
    except (OSError, can.CanError) as exc:
        raise BusError(f"bus {spec} cannot be opened ({exc})", "check the bus spec and that the bus is there") from exc


@contextlib.contextmanager
def open_bus(spec: str | BusSpec, **kwargs: Any) -> Iterator["can.BusABC"]:
    """A context manager around :func:`create_bus` that shuts the bus down on exit."""
    bus = create_bus(spec, **kwargs)
    try:
        yield bus
    finally:
        shutdown_quietly(bus)


def shutdown_quietly(bus: "can.BusABC") -> None:
    """Shut a bus down even when its connection is already gone.

    python-can-remote's shutdown() raises on a dead socket before marking the bus shut down, and
    python-can then retries (and complains) when the object is collected; the base class's
    shutdown() marks it done.
    """
    try:
        bus.shutdown()
    except Exception:  # the transport is gone; nothing left to close
        can.BusABC.shutdown(bus)
